"""Installs mixgan's packages: ``general_tools``, ``deep_learning`` and
``experiment_spec`` (the recipes and flag set, importable without
TensorFlow)."""

from setuptools import find_packages, setup

setup(
    name="mixgan",
    version="0.1.0",
    description=(
        "TensorFlow 2 / Keras 3 toolkit for GAN research centred on mixtures "
        "of generators (HMoG, MoG, MEGAN, MADGAN, MGAN), BEGAN, GM-GAN and "
        "MMD-GAN with the repulsive loss."
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["general_tools", "general_tools.*",
                                    "deep_learning", "deep_learning.*",
                                    "experiment_spec", "experiment_spec.*"]),
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3",
        # TF >= 2.16 no longer pulls TensorBoard in; without it tf.summary
        # writes nothing at all, silently.
        "tensorboard>=2.16",
        "tensorflow-datasets>=4.9",
        # tfds needs it to download and prepare datasets but does not declare
        # it on every Python version.
        "importlib_resources",
        "numpy",
        "scipy",
        "absl-py",
        "pillow",
        "matplotlib",
    ],
    extras_require={
        "test": ["pytest>=7", "pytest-xdist"],
    },
)

"""
Title: BEGAN on CelebA (64x64)
Author: mixgan
Date created: 2025/11/23
Last modified: 2025/11/23
Description: Boundary equilibrium GAN with the auto-encoder discriminator,
    the k_t equilibrium control and M_global-driven learning-rate halving.

Berthelot, Schumm & Metz, "BEGAN: Boundary Equilibrium Generative
Adversarial Networks", arXiv 1703.10717 (2017); defaults follow the paper
where known and carpedm20/BEGAN-tensorflow otherwise:

* networks: 3x3 convs + ELU, n = 128 filters growing linearly per stage in
  the encoder, stride-2 conv down-sampling, nearest-neighbour up-sampling,
  8x8 bottleneck, N_h = N_z = 64, linear output, images in [-1, 1];
* gamma = 0.5, lambda_k = 0.001, k_0 = 0, L1 auto-encoder loss (eta = 1),
  z ~ U[-1, 1], batch 16;
* Adam, lr 1e-4 for both networks (the paper's range is [5e-5, 1e-4];
  carpedm20 uses 8e-5), beta_1 = 0.9 (carpedm20 parses 0.5 but never passes
  it to Adam), beta_2 = 0.999, epsilon = 1e-8;
* learning rate halved when M_global stops improving (the paper), checked
  once per epoch of ``--steps_per_epoch`` steps; ``--lr_policy=step`` is
  carpedm20's x0.5 every 100k steps with a floor of 2e-5.

The paper trained on 360K celebrity faces (not CelebA); carpedm20 crops
CelebA to 128x128 at (50, 25) before resizing, ``load_dataset('celeb_a')``
takes the centred 108x108 crop.

Usage:

```
python my_tests/my_test_began_celeba.py --steps=200000 --gamma=0.5
python my_tests/my_test_began_celeba.py --lr_policy=step
```

TensorBoard (``<root>/<run>/logs``): ``began/d_real`` = L(x),
``began/d_fake`` = L(G(z)), ``began/k``, ``began/m_global``,
``began/balance``, ``loss/d``, ``loss/g``, ``lr/d``, ``lr/g``, samples
from a fixed z, and ``began/real_reconstruction`` /
``began/fake_reconstruction`` panels (inputs in the top row, D's
reconstructions below). ``my_test_began_mnist.py`` reuses this script's
runner with a small MNIST configuration.
"""

import os
import sys

ARCHITECTURE = {
    "input": (64, 64, 3),
    "code": 64,           # N_z
    "hidden": 128,        # n: encoder stage i has i * n filters
    "embedding": 64,      # N_h
    "repeats": 2,         # 3x3 ELU convs per stage
    "skip": False,        # skip connections (paper Sec. 3.5)
    "downsample": "conv",  # 'conv' (stride 2), 'avg' or 'max'
    "out_act": "linear",  # carpedm20: linear output, data in [-1, 1]
}

DEFAULTS = {
    "dataset": "celeb_a", "steps": 200000, "batch_size": 16, "lr": 1e-4,
    "gamma": 0.5, "lambda_k": 0.001, "eta": 1.0, "beta_1": 0.9,
    "beta_2": 0.999, "lr_policy": "plateau", "plateau_patience": 5,
    "min_lr": 2e-5, "decay_steps": 100000, "steps_per_epoch": 1000,
    "checkpoint_every": 5000, "scalar_every": 100, "image_every": 2500,
    "latent": "uniform",
}


def build_specs(architecture):
    """``(generator spec, discriminator spec)`` from the dict."""
    from deep_learning.models import began_networks

    size = architecture["input"][0]
    channels = architecture["input"][2]
    gen = began_networks.began_generator(size, architecture["hidden"], channels,
                                architecture["repeats"], architecture["skip"],
                                architecture["out_act"])
    dis = began_networks.began_autoencoder(
        size, architecture["hidden"], architecture["embedding"], channels,
        architecture["repeats"], architecture["skip"],
        architecture["downsample"], architecture["out_act"])
    return gen, dis


def run(architecture, *, dataset, steps, batch_size, lr, gamma, lambda_k,
        eta, beta_1, beta_2, lr_policy, plateau_patience, min_lr,
        decay_steps, steps_per_epoch, checkpoint_every, scalar_every,
        image_every, latent="uniform", data_dir=None, root="Results",
        run_dir=None, seed=0, precision="float32", num_images=16,
        verbose=1):
    """Trains BEGAN; returns ``deep_learning.engine.training.TrainResult``."""
    import numpy as np

    from deep_learning.engine import training
    from deep_learning.engine.callbacks import ImageSummary
    from deep_learning.engine.schedules import StepDecay
    from deep_learning.models import began
    from deep_learning.engine.schedules import make_adam
    from general_tools.data import load_dataset

    if lr_policy not in ("plateau", "step", "constant"):
        raise ValueError(f"`lr_policy` must be 'plateau', 'step' or "
                         f"'constant'. Received: lr_policy={lr_policy!r}")
    height, width, channels = architecture["input"]
    gen_spec, dis_spec = build_specs(architecture)
    images = load_dataset(dataset, image_size=(height, width),
                          data_dir=data_dir, seed=seed, deterministic=True)
    if images.element_spec.shape[-1] != channels:
        raise ValueError(
            f"'{dataset}' has {images.element_spec.shape[-1]} channels; the "
            f"architecture expects {channels}.")

    def learning_rate():
        if lr_policy == "step":
            return StepDecay(lr, decay_steps, 0.5, min_lr)
        return lr

    def build():
        model = began.BEGAN(gen_spec, dis_spec, architecture["code"],
                            gamma=gamma, lambda_k=lambda_k, eta=eta,
                            latent=latent, seed=seed)
        opts = [make_adam(None if lr_policy == "step" else lr,
                          beta_1=beta_1, beta_2=beta_2, name=f"adam_{n}",
                          schedule=learning_rate() if lr_policy == "step"
                          else None)
                for n in ("d", "g")]
        model.compile(*opts)
        return model

    hp = {"dataset": dataset, "batch_size": batch_size, "lr": lr,
          "gamma": gamma, "lambda_k": lambda_k, "eta": eta,
          "beta_1": beta_1, "beta_2": beta_2, "lr_policy": lr_policy,
          "plateau_patience": plateau_patience, "min_lr": min_lr,
          "decay_steps": decay_steps, "latent": latent}
    config = {"architecture": architecture, "generator": gen_spec,
              "discriminator": dis_spec, "settings": hp}
    if run_dir is None:
        run_dir = os.path.join(root, training.run_name(
            "began", dataset, f"g{gamma:g}", lr, lr, 1, batch_size, seed,
            suffix=lr_policy))
    paths_logs = os.path.join(run_dir, "logs")
    real = np.concatenate([b.numpy() for b in images.batch(num_images)
                           .take(1)])
    z_fixed = []

    def panels(model):
        if not z_fixed:
            z_fixed.append(model.latent_codes(num_images, seed=1234))
        return began.began_image_panels(model, real, z_fixed[0])

    options = {"checkpoint_every": checkpoint_every,
               "scalar_every": scalar_every, "image_every": image_every,
               "num_images": num_images}
    if lr_policy == "plateau":
        options["plateau"] = {"monitor": "began/m_global", "factor": 0.5,
                              "patience": plateau_patience,
                              "min_lr": min_lr}
    image_cb = ImageSummary(paths_logs, panels, every=image_every,
                                  rows=2, samples_dir=os.path.join(
                                      run_dir, "samples"))
    return training.train(
        build, images, steps=steps, config=config, run_dir=run_dir,
        model_tag="began", batch_size=batch_size,
        steps_per_epoch=steps_per_epoch, seed=seed, precision=precision,
        callback_options=options, callbacks=[image_cb], verbose=verbose)


def define_flags(defaults):
    """Defines the absl flags with ``defaults`` (call once)."""
    from absl import flags

    d = defaults
    flags.DEFINE_string("dataset", d["dataset"], "load_dataset name.")
    flags.DEFINE_string("data_dir", None, "Data folder.")
    flags.DEFINE_integer("steps", d["steps"], "Generator steps.")
    flags.DEFINE_integer("batch_size", d["batch_size"], "Batch size.")
    flags.DEFINE_float("lr", d["lr"], "Learning rate of D and G.")
    flags.DEFINE_float("gamma", d["gamma"], "Diversity ratio gamma.")
    flags.DEFINE_float("lambda_k", d["lambda_k"], "Gain of the k update.")
    flags.DEFINE_float("eta", d["eta"], "Exponent of the auto-encoder "
                       "loss (1: L1).")
    flags.DEFINE_float("beta_1", d["beta_1"], "Adam beta_1.")
    flags.DEFINE_float("beta_2", d["beta_2"], "Adam beta_2.")
    flags.DEFINE_enum("lr_policy", d["lr_policy"],
                      ["plateau", "step", "constant"],
                      "Halve on M_global plateaus, every --decay_steps, or "
                      "never.")
    flags.DEFINE_integer("plateau_patience", d["plateau_patience"],
                         "Epochs without M improvement before halving.")
    flags.DEFINE_float("min_lr", d["min_lr"], "Learning-rate floor.")
    flags.DEFINE_integer("decay_steps", d["decay_steps"], "Step-decay "
                         "period.")
    flags.DEFINE_enum("latent", d["latent"], ["uniform", "normal"],
                      "z distribution (paper: uniform).")
    flags.DEFINE_integer("steps_per_epoch", d["steps_per_epoch"],
                         "Steps per epoch (plateau checks).")
    flags.DEFINE_integer("checkpoint_every", d["checkpoint_every"],
                         "Checkpoint period.")
    flags.DEFINE_integer("scalar_every", d["scalar_every"],
                         "Scalar summary period.")
    flags.DEFINE_integer("image_every", d["image_every"],
                         "Image summary period.")
    flags.DEFINE_string("root", "Results", "Parent folder of run folders.")
    flags.DEFINE_string("run_dir", None, "Explicit run folder.")
    flags.DEFINE_integer("seed", 0, "Seed.")
    flags.DEFINE_enum("precision", "float32", ["float32", "mixed_float16",
                                               "mixed_bfloat16", "auto"],
                      "Compute precision.")


def main(architecture, argv):
    """Runs :func:`run` with the parsed flags."""
    from absl import flags

    if len(argv) > 1:
        raise ValueError(f"Unexpected arguments: {argv[1:]}")
    f = flags.FLAGS
    names = ["dataset", "data_dir", "steps", "batch_size", "lr", "gamma",
             "lambda_k", "eta", "beta_1", "beta_2", "lr_policy",
             "plateau_patience", "min_lr", "decay_steps", "latent",
             "steps_per_epoch", "checkpoint_every", "scalar_every",
             "image_every", "root", "run_dir", "seed", "precision"]
    result = run(architecture, **{n: getattr(f, n) for n in names})
    print(f"Run folder: {result.paths.root} (step {result.step})")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
        __file__))))
    from absl import app

    define_flags(DEFAULTS)
    app.run(lambda argv: main(ARCHITECTURE, argv))

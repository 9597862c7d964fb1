"""Clustering real images with a trained GM-GAN (Ben-Yosef & Weinshall 2018).

A K-way classifier is trained on generated images labelled by the Gaussian
they were drawn from; it assigns real images to clusters, scored under the
best one-to-one cluster/label mapping (``general_tools.clustering``).
For the supervised objectives, :func:`conditional_accuracy` asks the other
way round how often a classifier of real images reads class ``y`` in a
sample of Gaussian ``y``.
"""

from __future__ import annotations

import keras
import numpy as np

from deep_learning.network.builder import build_network
from deep_learning.tools.evaluate import make_extractor
from general_tools.clustering import clustering_accuracy

__all__ = ["classifier_spec", "train_component_classifier",
           "assign_clusters", "gmgan_clustering_accuracy",
           "conditional_accuracy"]


def classifier_spec(num_classes, widths=(32, 64)):
    """A small conv classifier (k4 s2 convs + leaky ReLU, dense logits)."""
    spec = [{"name": f"cls{i + 1}", "op": "c", "out": w, "kernel": 4,
             "strides": 2, "act": ["lrelu", 0.2]}
            for i, w in enumerate(widths)]
    spec[-1]["out_reshape"] = [-1]
    spec.append({"name": "cls_logits", "op": "d", "out": int(num_classes)})
    return spec


def train_component_classifier(model, num_samples=10000, spec=None, epochs=5,
                               batch_size=128, learning_rate=1e-3, seed=0,
                               sigma_scale=None, verbose=0):
    """Trains a K-way classifier on generated images labelled by Gaussian.

    Args:
        model: a trained :class:`GMGAN`.
        num_samples: int. Generated training images. Defaults to 10000.
        spec: list or None. Classifier spec (:func:`classifier_spec` by
            default).
        epochs: int. Defaults to 5.
        batch_size: int. Defaults to 128.
        learning_rate: float. Adam's. Defaults to 1e-3.
        seed: int. Seed of the codes and the shuffling. Defaults to 0.
        sigma_scale: float or None. Test-time scale for the samples.
        verbose: int. ``fit`` verbosity. Defaults to 0.

    Returns:
        the trained ``keras.Model`` (logits).
    """
    k = model.num_components
    per = -(-int(num_samples) // k)
    images = model.component_samples(per, seed=seed, sigma_scale=sigma_scale)
    labels = np.repeat(np.arange(k), per)
    net = build_network(spec or classifier_spec(k), model.image_shape,
                        name="component_classifier")
    net.compile(keras.optimizers.Adam(learning_rate),
                keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    order = np.random.default_rng(seed).permutation(len(labels))
    net.fit(images[order], labels[order], batch_size=batch_size,
            epochs=epochs, verbose=verbose, shuffle=True)
    return net


def assign_clusters(classifier, images, batch_size=256):
    """Cluster (argmax logit) of each image, int64 ``(N,)``."""
    logits = classifier.predict(np.asarray(images, np.float32),
                                batch_size=batch_size, verbose=0)
    return np.argmax(logits, axis=-1).astype(np.int64)


def gmgan_clustering_accuracy(model, images, labels, classifier=None,
                              **classifier_kwargs):
    """Clustering accuracy of a GM-GAN on labelled real images.

    Args:
        model: :class:`GMGAN`.
        images: array ``(N, H, W, C)`` in [-1, 1].
        labels: int array ``(N,)``.
        classifier: a trained classifier, or None to train one with
            :func:`train_component_classifier` (``classifier_kwargs``).

    Returns:
        ``(accuracy, clusters, classifier)``.
    """
    if classifier is None:
        classifier = train_component_classifier(model, **classifier_kwargs)
    clusters = assign_clusters(classifier, images)
    labels = np.asarray(labels).astype(np.int64)
    acc = clustering_accuracy(labels, clusters,
                              num_clusters=model.num_components)
    return acc, clusters, classifier


def conditional_accuracy(model, image_size, n_per_component=200, seed=0,
                         extractor=None, dataset="mnist_bundled"):
    """Fraction of the samples of Gaussian ``y`` that a classifier labels
    ``y`` (class-conditional generation of a supervised GM-GAN).

    Args:
        model: a trained :class:`GMGAN` whose Gaussian ``y`` stands for
            class ``y``.
        image_size: int or ``(h, w)``. The domain classifier's input size
            (the generator's); unused with ``extractor``.
        n_per_component: int. Samples per Gaussian. Defaults to 200.
        seed: int. Seed of the codes. Defaults to 0.
        extractor: anything with ``extract(images, outputs=['logits'])``
            returning ``{'logits': (N, classes)}``; None is the domain
            classifier of ``dataset`` at ``image_size``
            (``tools.evaluate.make_extractor``: trained and cached when
            missing). Defaults to None.
        dataset: str. The domain classifier's dataset. Defaults to
            ``'mnist_bundled'``.

    Returns:
        float in [0, 1].
    """
    if extractor is None:
        extractor = make_extractor("domain", dataset=dataset,
                                   image_size=image_size)
    images = np.asarray(model.component_samples(n_per_component, seed=seed))
    logits = extractor.extract(images, outputs=["logits"])["logits"]
    wanted = np.repeat(np.arange(model.num_components), int(n_per_component))
    return float(np.mean(np.argmax(logits, axis=1) == wanted))

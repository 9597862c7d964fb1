"""Samples and scores of a model trained on a 2-D toy mixture.

The toy study of the HMoG paper (Sec. IV-A) scores each model by the modes
it covers and the share of high-quality samples (within 3 standard
deviations of a centre, ``general_tools.toy_metrics``), the 5-NN
leave-one-out two-sample test and the Frechet distance on raw coordinates,
and counts the generators that draw at least one sample. The same numbers
come from the toy study script and from ``python -m deep_learning.evaluate``
on a toy run folder, which reads the mixture from the run's
``config.json``.
"""

from __future__ import annotations

import numpy as np

from deep_learning.models import generator_assignment
from general_tools.data import load_dataset
from general_tools.data.toy import TOY_DATASETS, toy_mixture
from general_tools.metrics import frechet_distance, knn_two_sample
from general_tools.toy_metrics import mode_statistics

__all__ = ["TOY_METRICS", "is_toy", "toy_reference", "toy_samples",
           "toy_scores"]

#: The scores of :func:`toy_scores`.
TOY_METRICS = ("modes_covered", "high_quality", "knn_accuracy",
               "knn_fake_fraction", "knn_real_fraction", "frechet",
               "generators_used")


def is_toy(data):
    """Whether a run's ``config.json`` ``data`` entry names a 2-D toy."""
    return isinstance(data, dict) and data.get("name") in TOY_DATASETS


def toy_reference(data, split="test"):
    """``(points (N, 2), (means, stds))`` of the toy a run trained on.

    Args:
        data: dict. The run's ``config.json`` ``data`` entry (``name``,
            ``data_seed``, ``source_options``).
        split: str. Defaults to the held-out ``'test'`` split.
    """
    if not is_toy(data):
        raise ValueError(f"not a 2-D toy dataset: {data!r}")
    options = dict(data.get("source_options") or {})
    seed = int(data.get("data_seed", 2019))
    points = np.concatenate(list(load_dataset(
        data["name"], split=split, batch_size=500, shuffle=False,
        drop_remainder=False, data_seed=seed,
        source_options=options or None).as_numpy_iterator()))
    options.pop("points_per_component", None)
    return points, toy_mixture(data["name"], seed, **options)


def toy_samples(model, n, seed):
    """``n`` points of the model in raw coordinates and the generator that
    drew each. Multi-head models send ``ceil(n / K)`` codes through all K
    heads and keep ``n`` of the outputs at random, as the authors sample."""
    heads = generator_assignment.assignment_kind(model) == "heads"
    k = generator_assignment.num_generators(model)
    codes = model.latent_codes(-(-n // k) if heads else n, seed=seed)
    points, generators = generator_assignment.outputs_and_generators(model,
                                                                     codes)
    if heads:
        keep = np.random.default_rng(seed).permutation(len(points))[:n]
        points, generators = points[keep], generators[keep]
    return points, generators


def toy_scores(points, generators, real, mixture, k=5):
    """The toy study's scores of ``points`` against held-out ``real``.

    Args:
        points: array (N, 2). Generated points.
        generators: int array (N,). The generator of each point.
        real: array (M, 2). Held-out data.
        mixture: ``(means, stds)`` of the toy.
        k: int. Neighbours of the two-sample test. Defaults to 5.

    Returns:
        dict of :data:`TOY_METRICS`.
    """
    knn = knn_two_sample(real, points, k=k)
    modes = mode_statistics(points, *mixture)
    return {"modes_covered": int(modes["modes_covered"]),
            "high_quality": float(modes["high_quality"]),
            "knn_accuracy": float(knn["accuracy"]),
            "knn_fake_fraction": float(knn["fake_fraction"]),
            "knn_real_fraction": float(knn["real_fraction"]),
            "frechet": float(frechet_distance(real, points)),
            "generators_used": int(len(np.unique(generators)))}

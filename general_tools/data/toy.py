"""2-D Gaussian mixtures for the toy experiments.

- `toy_gmm`: the HMoG authors' toy data (Ahmetoglu & Alpaydin, HMoG,
  `gan_toy.py -dataset gmm`): 5 components of 500 points each (2,500
  points), each with a random mean from U(-12, 12)^2 and a random diagonal
  standard deviation from U(0.5, 2.5) per axis. Their script draws these
  from an unseeded generator (the seed defaults to a random integer), so
  the paper's centres are unknown; here they follow from `data_seed`.
- `toy_gmm_fixed`: the same scale with fixed centres: 5 components on a
  regular pentagon of radius 8, isotropic std 1.
- `toy_ring`: 8 components on a circle of radius 2, std 0.02 (the ring of
  Metz et al., Unrolled GANs, 2017, and Srivastava et al., VEEGAN, 2017).
- `toy_grid`: 25 components on the 5x5 grid {-4, -2, 0, 2, 4}^2, std 0.05
  (the grid of VEEGAN and Lin et al., PacGAN, 2018).

Points are float32 in the data's own coordinates (not scaled to [-1, 1]),
labelled with their component. Every random draw comes from numpy
generators seeded by `data_seed`: mixture parameters from
`default_rng([data_seed, 0])`, the `"train"` points from
`default_rng([data_seed, 1])` and an independent `"test"` sample of the same
mixture from `default_rng([data_seed, 2])`.
"""

import numpy as np
import tensorflow as tf

from general_tools.data.source import RawSource


def gmm_mixture(num_components=5, mean_range=12.0, std_range=(0.5, 2.5),
                seed=2019):
    """Random means and diagonal stds of the HMoG toy mixture.

    mean_k ~ U(-mean_range, mean_range)^2, std_k ~ U(std_range)^2 (one std
    per axis), drawn in that order from `default_rng([seed, 0])`.

    Args:
        num_components: int. K. Defaults to 5.
        mean_range: float. half-width of the box of means. Defaults to 12.
        std_range: tuple of 2 floats. range of the per-axis stds. Defaults
            to (0.5, 2.5).
        seed: int. Defaults to 2019.

    Returns:
        `(means, stds)`: float64 arrays of shape `(K, 2)`.
    """
    if num_components < 1:
        raise ValueError(
            f"`num_components` must be >= 1. Received: "
            f"num_components={num_components}")
    low, high = std_range
    if not 0 < low <= high:
        raise ValueError(
            f"`std_range` must satisfy 0 < low <= high. Received: "
            f"std_range={std_range}")
    rng = np.random.default_rng([seed, 0])
    means = rng.uniform(-mean_range, mean_range, size=(num_components, 2))
    stds = rng.uniform(low, high, size=(num_components, 2))
    return means, stds


def fixed_mixture(num_components=5, radius=8.0, std=1.0):
    """Fixed-centre variant of the HMoG toy: ``num_components`` Gaussians
    on a regular polygon of radius ``radius`` (first centre on the positive
    x axis), isotropic std ``std``. Same scale as `toy_gmm`, no randomness.

    Returns:
        `(means, stds)`: float64 arrays of shape `(K, 2)`.
    """
    angles = 2 * np.pi * np.arange(num_components) / num_components
    means = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return means, np.full_like(means, std)


def ring_mixture(num_components=8, radius=2.0, std=0.02):
    """Means `radius * (cos 2 pi k / K, sin 2 pi k / K)`, isotropic `std`.

    Args:
        num_components: int. K. Defaults to 8.
        radius: float. Defaults to 2.
        std: float. per-axis std. Defaults to 0.02.

    Returns:
        `(means, stds)`: float64 arrays of shape `(K, 2)`.
    """
    angles = 2.0 * np.pi * np.arange(num_components) / num_components
    means = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return means, np.full_like(means, std)


def grid_mixture(grid_size=5, spacing=2.0, std=0.05):
    """Means on a centred `grid_size x grid_size` grid, isotropic `std`.

    Component `k` sits at row `k // grid_size`, column `k % grid_size`:
    `((k // n) - (n - 1) / 2, (k % n) - (n - 1) / 2) * spacing`.

    Args:
        grid_size: int. points per side. Defaults to 5.
        spacing: float. distance between neighbours. Defaults to 2.
        std: float. per-axis std. Defaults to 0.05.

    Returns:
        `(means, stds)`: float64 arrays of shape `(grid_size**2, 2)`.
    """
    offsets = (np.arange(grid_size) - (grid_size - 1) / 2.0) * spacing
    rows, cols = np.meshgrid(offsets, offsets, indexing="ij")
    means = np.stack([rows.ravel(), cols.ravel()], axis=1)
    return means, np.full_like(means, std)


def sample_mixture(means, stds, points_per_component, seed):
    """Draws the same number of points from every diagonal Gaussian.

    Args:
        means: array `(K, 2)`.
        stds: array `(K, 2)`.
        points_per_component: int. n.
        seed: int or sequence of ints. seed of `numpy.random.default_rng`.

    Returns:
        `(points, labels)`: float32 `(K * n, 2)` grouped by component, and
        int32 `(K * n,)` component indices.
    """
    if points_per_component < 1:
        raise ValueError(
            f"`points_per_component` must be >= 1. Received: "
            f"points_per_component={points_per_component}")
    rng = np.random.default_rng(seed)
    k = len(means)
    noise = rng.standard_normal((k, points_per_component, 2))
    points = means[:, None, :] + stds[:, None, :] * noise
    labels = np.repeat(np.arange(k, dtype=np.int32), points_per_component)
    return points.reshape(-1, 2).astype(np.float32), labels


#: name -> (mixture function, its keyword defaults, default points per
#: component).
TOY_DATASETS = {
    "toy_gmm": (gmm_mixture, {"num_components": 5, "mean_range": 12.0,
                              "std_range": (0.5, 2.5)}, 500),
    "toy_gmm_fixed": (fixed_mixture, {"num_components": 5, "radius": 8.0,
                                      "std": 1.0}, 500),
    "toy_ring": (ring_mixture, {"num_components": 8, "radius": 2.0,
                                "std": 0.02}, 500),
    "toy_grid": (grid_mixture, {"grid_size": 5, "spacing": 2.0,
                                "std": 0.05}, 100),
}


def toy_mixture(name, data_seed=2019, **options):
    """Means and stds of a named toy mixture.

    Args:
        name: str. a key of `TOY_DATASETS`.
        data_seed: int. seed of `toy_gmm`'s random parameters. Defaults to
            2019.
        **options: overrides of the mixture's keyword defaults.

    Returns:
        `(means, stds)`.
    """
    fn, defaults, _ = TOY_DATASETS[name]
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise ValueError(
            f"Unknown option(s) {unknown} for '{name}'; it takes "
            f"{sorted(defaults) + ['points_per_component']}.")
    kwargs = {**defaults, **options}
    if fn is gmm_mixture:
        kwargs["seed"] = data_seed
    return fn(**kwargs)


def toy_source(name, split="train", data_seed=2019, options=None):
    """`RawSource` of points `(2,)` float32 and component labels.

    Args:
        name: str. `"toy_gmm"`, `"toy_ring"` or `"toy_grid"`.
        split: str. `"train"` or `"test"` (an independent sample of the same
            mixture). Defaults to "train".
        data_seed: int. seed of parameters and samples. Defaults to 2019.
        options: dict or None. mixture options (see the mixture functions)
            and `points_per_component`. Defaults to None.

    Returns:
        `RawSource` with `kind="points"`.
    """
    options = dict(options or {})
    per_component = options.pop("points_per_component", TOY_DATASETS[name][2])
    if split not in ("train", "test"):
        raise ValueError(
            f"Toy dataset '{name}' has splits 'train' and 'test'. Received: "
            f"split={split!r}")
    means, stds = toy_mixture(name, data_seed, **options)
    stream = 1 if split == "train" else 2
    points, labels = sample_mixture(means, stds, per_component,
                                    [data_seed, stream])
    return RawSource(
        records=tf.data.Dataset.from_tensor_slices((points, labels)),
        decode=None, decode_batch=None, num_examples=len(points),
        image_shape=None, description=f"toy dataset '{name}'",
        has_labels=True, num_classes=len(means), kind="points")

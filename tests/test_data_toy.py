"""2-D toy mixtures: parameters, component statistics, seeds."""

import numpy as np
import pytest

from general_tools.data import (gmm_mixture, grid_mixture, load_dataset,
                                ring_mixture, sample_mixture, toy_mixture)


def _check_components(points, labels, means, stds):
    """Per-component sample mean and std agree with the parameters within
    5 standard errors (mean: s/sqrt(n); std: s/sqrt(2n))."""
    for k in range(len(means)):
        pts = points[labels == k].astype(np.float64)
        n = len(pts)
        np.testing.assert_array_less(np.abs(pts.mean(0) - means[k]),
                                     5 * stds[k] / np.sqrt(n))
        np.testing.assert_array_less(np.abs(pts.std(0) - stds[k]),
                                     5 * stds[k] / np.sqrt(2 * n))


def test_hmog_gmm_parameters_and_statistics():
    means, stds = gmm_mixture(seed=5)
    assert means.shape == (5, 2) and stds.shape == (5, 2)
    assert np.all(np.abs(means) <= 12) and np.all((stds >= 0.5)
                                                  & (stds <= 2.5))
    # the draws are U(-12, 12) then U(0.5, 2.5) from default_rng([seed, 0])
    rng = np.random.default_rng([5, 0])
    np.testing.assert_array_equal(means, rng.uniform(-12, 12, (5, 2)))
    np.testing.assert_array_equal(stds, rng.uniform(0.5, 2.5, (5, 2)))
    points, labels = sample_mixture(means, stds, 20_000, seed=1)
    assert points.dtype == np.float32 and points.shape == (100_000, 2)
    assert np.bincount(labels).tolist() == [20_000] * 5
    _check_components(points, labels, means, stds)


def test_ring_and_grid_closed_forms():
    means, stds = ring_mixture()
    for k in range(8):
        angle = k * np.pi / 4
        np.testing.assert_allclose(means[k], [2 * np.cos(angle),
                                              2 * np.sin(angle)], atol=1e-12)
    assert np.all(stds == 0.02)
    gmeans, gstds = grid_mixture()
    assert {tuple(m) for m in gmeans} == {
        (float(a), float(b)) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0,
                                                                   2, 4)}
    assert np.all(gstds == 0.05)
    points, labels = sample_mixture(gmeans, gstds, 4000, seed=2)
    _check_components(points, labels, gmeans, gstds)


def test_toy_datasets_through_load_dataset():
    ds = load_dataset("toy_gmm", batch_size=100, with_labels=True,
                      shuffle=False, data_seed=11)
    batches = list(ds.as_numpy_iterator())
    assert len(batches) == 25  # 5 x 500 points
    points = np.concatenate([p for p, _ in batches])
    labels = np.concatenate([y for _, y in batches])
    assert np.bincount(labels).tolist() == [500] * 5
    means, stds = toy_mixture("toy_gmm", data_seed=11)
    ref_points, ref_labels = sample_mixture(means, stds, 500, [11, 1])
    np.testing.assert_array_equal(points, ref_points)
    np.testing.assert_array_equal(labels, ref_labels)
    test = next(iter(load_dataset("toy_gmm", split="test", batch_size=2500,
                                  shuffle=False, data_seed=11))).numpy()
    assert test.shape == (2500, 2) and not np.allclose(test, points)
    other = next(iter(load_dataset("toy_gmm", batch_size=2500, shuffle=False,
                                   data_seed=12))).numpy()
    assert not np.allclose(other, points)
    ring = next(iter(load_dataset(
        "toy_ring", batch_size=40, shuffle=False,
        source_options={"num_components": 4,
                        "points_per_component": 10}))).numpy()
    assert ring.shape == (40, 2)
    np.testing.assert_allclose(np.linalg.norm(ring, axis=1), 2, atol=0.2)


def test_toy_errors():
    with pytest.raises(ValueError, match="radius"):
        load_dataset("toy_gmm", source_options={"radius": 3})
    with pytest.raises(ValueError, match="image_size"):
        load_dataset("toy_ring", image_size=32)
    with pytest.raises(ValueError, match="splits 'train' and 'test'"):
        load_dataset("toy_grid", split="all")
    with pytest.raises(ValueError, match="std_range"):
        gmm_mixture(std_range=(0.0, 1.0))

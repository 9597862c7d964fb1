"""Tests for general_tools.mmd against numpy double loops."""

import functools

import numpy as np
import pytest
import tensorflow as tf

from general_tools import mmd


def np_sq_dist(x, y):
    x = x.reshape(len(x), -1).astype(np.float64)
    y = y.reshape(len(y), -1).astype(np.float64)
    out = np.zeros((len(x), len(y)))
    for i in range(len(x)):
        for j in range(len(y)):
            out[i, j] = np.sum((x[i] - y[j]) ** 2)
    return out


def np_offdiag_mean(k):
    n = k.shape[0]
    total = 0.0
    for i in range(n):
        for j in range(n):
            if i != j:
                total += k[i, j]
    return total / (n * (n - 1))


def np_gauss(d, sigma):
    return np.exp(-d / (2.0 * sigma ** 2))


def np_rq(d, alpha):
    return (1.0 + d / (2.0 * alpha)) ** (-alpha)


def test_squared_distances_match_loops(rng):
    x = rng.normal(size=(5, 3)).astype(np.float32)
    y = rng.normal(size=(7, 3)).astype(np.float32)
    out = mmd.squared_distances(x, y)
    assert out.dtype == tf.float32 and out.shape == (5, 7)
    np.testing.assert_allclose(out.numpy(), np_sq_dist(x, y), rtol=1e-5,
                               atol=1e-5)


def test_squared_distances_1d_images_and_float16(rng):
    x = rng.normal(size=(4,)).astype(np.float16)
    out = mmd.squared_distances(x, x)
    assert out.dtype == tf.float32
    np.testing.assert_allclose(out.numpy(), np_sq_dist(x[:, None], x[:, None]),
                               rtol=1e-5, atol=1e-6)
    imgs = rng.normal(size=(3, 2, 2, 2)).astype(np.float32)
    np.testing.assert_allclose(mmd.squared_distances(imgs, imgs).numpy(),
                               np_sq_dist(imgs, imgs), rtol=1e-5, atol=1e-5)


def test_squared_distances_clamped_non_negative():
    # Large, identical rows: the matmul form rounds to tiny negatives.
    x = np.full((4, 64), 1000.0, np.float32) + np.float32(1e-3) * np.arange(
        4, dtype=np.float32)[:, None]
    out = mmd.squared_distances(x, x).numpy()
    assert out.min() >= 0.0


def test_offdiagonal_mean(rng):
    k = rng.normal(size=(6, 6))
    np.testing.assert_allclose(mmd.offdiagonal_mean(k).numpy(),
                               np_offdiag_mean(k), rtol=1e-5)


@pytest.mark.parametrize("sigma", [1.0, (1.0, 2.0 ** 0.5, 2.0)])
def test_gaussian_kernel(sigma):
    d = np.array([[0.0, 0.5], [2.0, 9.0]], np.float32)
    sigmas = np.atleast_1d(sigma)
    want = sum(np_gauss(d.astype(np.float64), s) for s in sigmas)
    np.testing.assert_allclose(mmd.gaussian_kernel(d, sigma).numpy(), want,
                               rtol=1e-6)


def test_rational_quadratic_kernel():
    d = np.array([0.0, 0.3, 4.0, 50.0], np.float32)
    alphas = (0.2, 0.5, 1.0, 2.0, 5.0)
    want = sum(np_rq(d.astype(np.float64), a) for a in alphas)
    np.testing.assert_allclose(
        mmd.rational_quadratic_kernel(d, alphas).numpy(), want, rtol=1e-5)


def test_bounded_gaussian_kernel():
    d = np.array([0.1, 1.0, 9.0], np.float32)
    out = mmd.bounded_gaussian_kernel(d, sigma=2.0, lower=0.25, upper=4.0)
    want = np_gauss(np.array([0.25, 1.0, 4.0]), 2.0)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-6)


@pytest.mark.parametrize("bad", [0.0, -1.0, (), (1.0, -2.0), "a"])
def test_kernel_rejects_bad_bandwidth(bad):
    with pytest.raises(ValueError, match="sigma"):
        mmd.gaussian_kernel(np.ones((2, 2), np.float32), bad)


def test_bounded_kernel_rejects_bad_bounds_and_sigma_list():
    with pytest.raises(ValueError, match="lower"):
        mmd.bounded_gaussian_kernel(np.ones(2), lower=5.0, upper=4.0)
    with pytest.raises(ValueError, match="single"):
        mmd.bounded_gaussian_kernel(np.ones(2), sigma=(1.0, 2.0))


@pytest.mark.parametrize("shape", [(6,), (6, 4)])
def test_kernel_means_and_mmd2_match_loops(rng, shape):
    x = rng.normal(size=shape).astype(np.float32)
    y = (rng.normal(size=shape) + 0.5).astype(np.float32)
    kern = functools.partial(mmd.gaussian_kernel, sigma=1.5)
    kxx, kyy, kxy = mmd.kernel_means(x, y, kern)
    xs, ys = x.reshape(6, -1), y.reshape(6, -1)
    want_xx = np_offdiag_mean(np_gauss(np_sq_dist(xs, xs), 1.5))
    want_yy = np_offdiag_mean(np_gauss(np_sq_dist(ys, ys), 1.5))
    want_xy = np_offdiag_mean(np_gauss(np_sq_dist(xs, ys), 1.5))
    np.testing.assert_allclose([kxx, kyy, kxy], [want_xx, want_yy, want_xy],
                               rtol=1e-5)
    # Gretton et al.'s U-statistic with h(z_i, z_j), i != j.
    n, total = 6, 0.0
    for i in range(n):
        for j in range(n):
            if i != j:
                k = lambda a, b: np.exp(-np.sum((a - b) ** 2) / (2 * 1.5 ** 2))
                total += (k(xs[i], xs[j]) + k(ys[i], ys[j])
                          - k(xs[i], ys[j]) - k(xs[j], ys[i]))
    np.testing.assert_allclose(mmd.mmd2(x, y, kern).numpy(),
                               total / (n * (n - 1)), rtol=1e-4, atol=1e-6)


def test_mmd2_of_identical_samples_is_zero(rng):
    x = rng.normal(size=(8, 3)).astype(np.float32)
    kern = functools.partial(mmd.rational_quadratic_kernel, alpha=1.0)
    assert abs(float(mmd.mmd2(x, x, kern))) < 1e-6


def test_separate_kernels_per_term(rng):
    x = rng.normal(size=(5, 2)).astype(np.float32)
    y = rng.normal(size=(5, 2)).astype(np.float32)
    k_lo = functools.partial(mmd.bounded_gaussian_kernel, lower=1.0)
    k_hi = functools.partial(mmd.bounded_gaussian_kernel, upper=1.0)
    kxx, kyy, kxy = mmd.kernel_means(x, y, k_lo, kernel_fn_yy=k_hi)
    np.testing.assert_allclose(
        [kxx, kyy, kxy],
        [np_offdiag_mean(np.exp(-np.maximum(np_sq_dist(x, x), 1.0) / 2)),
         np_offdiag_mean(np.exp(-np.minimum(np_sq_dist(y, y), 1.0) / 2)),
         np_offdiag_mean(np.exp(-np.maximum(np_sq_dist(x, y), 1.0) / 2))],
        rtol=1e-5)


def test_unequal_batch_sizes_rejected():
    kern = mmd.gaussian_kernel
    with pytest.raises(ValueError, match="equal size"):
        mmd.kernel_means(np.ones((4, 2)), np.ones((5, 2)), kern)
    with pytest.raises(ValueError, match="at least 2"):
        mmd.mmd2(np.ones((1, 2)), np.ones((1, 2)), kern)


def test_witness_matches_numpy(rng):
    p = rng.normal(size=(3, 2)).astype(np.float32)
    x = rng.normal(size=(4, 2)).astype(np.float32)
    y = rng.normal(size=(6, 2)).astype(np.float32)
    out = mmd.witness(p, x, y, mmd.gaussian_kernel)
    want = (np_gauss(np_sq_dist(p, x), 1.0).mean(1)
            - np_gauss(np_sq_dist(p, y), 1.0).mean(1))
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-5, atol=1e-7)

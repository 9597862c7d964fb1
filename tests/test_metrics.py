"""Tests of general_tools.metrics against closed forms and brute-force numpy
re-implementations written here."""

import numpy as np
import pytest
import scipy.linalg
import tensorflow as tf
from scipy.spatial.distance import cdist

from general_tools import metrics


# --------------------------------------------------------------------- FID
def _random_spd(rng, dim):
    a = rng.standard_normal((dim, dim))
    return a @ a.T / dim + 0.1 * np.eye(dim)


@pytest.mark.parametrize("method", ["eigh", "scipy"])
def test_frechet_from_stats_diagonal_closed_form(method):
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.5])
    var1, var2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    # Commuting covariances: Tr((S1 S2)^1/2) = sum sqrt(v1 v2), so
    # d^2 = |mu1 - mu2|^2 + sum (sqrt v1 - sqrt v2)^2 = 7.25 + 4 + 1 + 0.
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(
        (np.sqrt(var1) - np.sqrt(var2)) ** 2)
    assert expected == pytest.approx(12.25)
    value = metrics.frechet_distance_from_stats(
        mu1, np.diag(var1), mu2, np.diag(var2), method=method)
    assert value == pytest.approx(expected, rel=1e-10, abs=1e-10)


@pytest.mark.parametrize("method", ["eigh", "scipy"])
def test_trace_sqrt_product_matches_direct_sqrtm(method):
    rng = np.random.default_rng(1)
    s1, s2 = _random_spd(rng, 7), _random_spd(rng, 7)
    reference = np.trace(scipy.linalg.sqrtm(s1 @ s2)).real
    assert metrics.trace_sqrt_product(s1, s2, method=method) == pytest.approx(
        reference, rel=1e-9)


def test_frechet_distance_of_gaussian_samples_matches_closed_form():
    rng = np.random.default_rng(2)
    dim, num = 3, 200_000
    mu1, mu2 = np.array([0.0, 0.5, -1.0]), np.array([1.0, 0.0, 0.0])
    s1, s2 = _random_spd(rng, dim), _random_spd(rng, dim) * 3.0
    # Analytic value, written out independently of the library.
    root = scipy.linalg.sqrtm(s1 @ s2).real
    analytic = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2.0 * root)
    real = rng.multivariate_normal(mu1, s1, size=num).astype(np.float32)
    fake = rng.multivariate_normal(mu2, s2, size=num).astype(np.float32)
    assert metrics.frechet_distance(real, fake) == pytest.approx(
        analytic, rel=0.02)
    assert metrics.frechet_distance(real, fake, method="scipy") == \
        pytest.approx(metrics.frechet_distance(real, fake), rel=1e-8)


def test_frechet_distance_is_zero_for_identical_sets():
    rng = np.random.default_rng(3)
    full_rank = rng.standard_normal((500, 16)) * 3.0 + 1.0
    assert abs(metrics.frechet_distance(full_rank, full_rank)) < 1e-9
    # Fewer samples than features: singular covariance. The square root
    # lifts rounding noise of the 35 null eigenvalues to ~1e-8 each.
    singular = rng.standard_normal((30, 64))
    scale = np.trace(np.cov(singular, rowvar=False))
    assert abs(metrics.frechet_distance(singular, singular)) < 1e-7 * scale


def test_feature_statistics_match_numpy_with_small_blocks():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((53, 5)).astype(np.float32) * 2.0 + 3.0
    mu, sigma = metrics.feature_statistics(x, block_size=7)
    assert mu.dtype == np.float64 and sigma.dtype == np.float64
    np.testing.assert_allclose(mu, x.astype(np.float64).mean(0), rtol=1e-12)
    np.testing.assert_allclose(
        sigma, np.cov(x.astype(np.float64), rowvar=False), rtol=1e-10)


def test_frechet_rejects_bad_inputs():
    with pytest.raises(ValueError, match="same number of features"):
        metrics.frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="at least 2 samples"):
        metrics.feature_statistics(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="NaN"):
        metrics.frechet_distance(np.full((5, 3), np.nan), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="`method`"):
        metrics.frechet_distance_from_stats(
            np.zeros(2), np.eye(2), np.zeros(2), np.eye(2), method="svd")


# --------------------------------------------------------------------- KID
def _numpy_unbiased_mmd2(x, y):
    x, y = x.astype(np.float64), y.astype(np.float64)
    dim, m = x.shape[1], x.shape[0]
    k_xx = (x @ x.T / dim + 1.0) ** 3
    k_yy = (y @ y.T / dim + 1.0) ** 3
    k_xy = (x @ y.T / dim + 1.0) ** 3
    return ((k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy))
            / (m * (m - 1)) - 2.0 * k_xy.sum() / m**2)


def test_kernel_distance_whole_sets_match_numpy():
    rng = np.random.default_rng(5)
    real = rng.standard_normal((80, 12))
    fake = rng.standard_normal((80, 12)) * 1.3 + 0.2
    reference = _numpy_unbiased_mmd2(real, fake)
    # One subset of all samples is a permutation of the sets: the estimate is
    # permutation invariant, so it equals the full-set value; subset_size
    # above the set sizes is clipped.
    mean, std = metrics.kernel_distance(real, fake, subsets=1,
                                        subset_size=5000, seed=0)
    assert mean == pytest.approx(reference, rel=1e-5)
    assert std == 0.0


def test_kernel_distance_subsets_match_numpy():
    rng = np.random.default_rng(6)
    real = rng.standard_normal((70, 6)).astype(np.float32)
    fake = (rng.standard_normal((50, 6)) + 0.5).astype(np.float32)
    mean, std = metrics.kernel_distance(real, fake, subsets=5,
                                        subset_size=30, seed=11)
    draws = np.random.default_rng(11)
    values = []
    for _ in range(5):
        r = real[draws.choice(70, 30, replace=False)]
        f = fake[draws.choice(50, 30, replace=False)]
        values.append(_numpy_unbiased_mmd2(r, f))
    assert mean == pytest.approx(np.mean(values), rel=1e-5)
    assert std == pytest.approx(np.std(values), rel=1e-4)


def test_kernel_distance_is_unbiased_for_one_distribution():
    rng = np.random.default_rng(7)
    real = rng.standard_normal((20_000, 16)).astype(np.float32)
    fake = rng.standard_normal((20_000, 16)).astype(np.float32)
    subsets = 200
    mean, std = metrics.kernel_distance(real, fake, subsets=subsets,
                                        subset_size=50, seed=0)
    # Subsets of 50 from 20k barely overlap: the mean of 200 nearly
    # independent unbiased estimates is within 4 standard errors of 0, while
    # the biased (V-statistic) estimate would sit near +0.2 here.
    assert abs(mean) < 4.0 * std / np.sqrt(subsets)
    shifted_mean, shifted_std = metrics.kernel_distance(
        real, fake + 1.0, subsets=20, subset_size=50, seed=0)
    assert shifted_mean > 10.0 * shifted_std


def test_kernel_distance_rejects_bad_inputs():
    with pytest.raises(ValueError, match="at least 2 samples"):
        metrics.kernel_distance(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="`subsets`"):
        metrics.kernel_distance(np.zeros((5, 3)), np.zeros((5, 3)), subsets=0)


# ---------------------------------------------------------------------- IS
def _numpy_inception_score(logits, parts):
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    scores = []
    for start, stop in parts:
        p = probs[start:stop]
        py = p.mean(0)
        scores.append(np.exp(np.mean(np.sum(p * (np.log(p) - np.log(py)), 1))))
    return np.mean(scores), np.std(scores)


def test_inception_score_hand_made_logits():
    assert metrics.inception_score(np.zeros((40, 7)), splits=4) == \
        pytest.approx((1.0, 0.0))
    # Confident one-hot predictions, every class once in each split: IS = n.
    labels = np.arange(100) % 10
    logits = 60.0 * np.eye(10)[labels]
    mean, std = metrics.inception_score(logits, splits=10)
    assert mean == pytest.approx(10.0, rel=1e-12)
    assert std == pytest.approx(0.0, abs=1e-9)
    # All samples confidently in one class: p(y|x) = p(y), IS = 1.
    assert metrics.inception_score(60.0 * np.eye(10)[np.zeros(50, int)],
                                   splits=5)[0] == pytest.approx(1.0)


def test_inception_score_splits_match_numpy():
    rng = np.random.default_rng(8)
    logits = rng.standard_normal((10, 6)) * 3.0
    expected = _numpy_inception_score(logits, [(0, 3), (3, 6), (6, 10)])
    assert metrics.inception_score(logits, splits=3) == pytest.approx(
        expected, rel=1e-10)
    single = _numpy_inception_score(logits, [(0, 10)])
    assert metrics.inception_score(logits, splits=1) == pytest.approx(
        (single[0], 0.0), rel=1e-10)
    probs = scipy.special.softmax(logits, axis=1)
    assert metrics.inception_score(probs, splits=3, from_logits=False) == \
        pytest.approx(expected, rel=1e-10)
    with pytest.raises(ValueError, match="`splits`"):
        metrics.inception_score(logits, splits=11)


# --------------------------------------------------------------- k-NN based
def _brute_knn(real, fake, k):
    pooled = np.concatenate([real, fake]).astype(np.float64)
    is_fake = np.r_[np.zeros(len(real), bool), np.ones(len(fake), bool)]
    dist = cdist(pooled, pooled, "sqeuclidean")
    np.fill_diagonal(dist, np.inf)  # leave-one-out
    # Nearest first; exact ties go to the sample's own set.
    neighbours = np.stack([
        np.lexsort((is_fake != is_fake[i], dist[i]))[:k]
        for i in range(len(pooled))])
    fake_neighbours = is_fake[neighbours].sum(1)
    same = np.where(is_fake, fake_neighbours, k - fake_neighbours)
    correct = np.where(2 * same > k, 1.0, np.where(2 * same == k, 0.5, 0.0))
    return {
        "fake_fraction": np.mean(fake_neighbours[is_fake] / k),
        "real_fraction": np.mean((k - fake_neighbours[~is_fake]) / k),
        "accuracy": correct.mean(),
        "real_accuracy": correct[~is_fake].mean(),
        "fake_accuracy": correct[is_fake].mean(),
    }


def _brute_prdc(real, fake, k):
    d_rr, d_ff = cdist(real, real), cdist(fake, fake)
    d_rf = cdist(real, fake)
    radii_r = np.sort(d_rr, axis=1)[:, k]  # column 0 is the sample itself
    radii_f = np.sort(d_ff, axis=1)[:, k]
    inside_real = d_rf <= radii_r[:, None]  # fake j in the ball of real i
    return {
        "precision": np.mean(inside_real.any(axis=0)),
        "recall": np.mean((d_rf <= radii_f[None, :]).any(axis=1)),
        "density": inside_real.sum() / (k * fake.shape[0]),
        "coverage": np.mean(d_rf.min(axis=1) <= radii_r),
    }


@pytest.fixture
def overlapping_sets():
    rng = np.random.default_rng(9)
    real = rng.standard_normal((90, 8)).astype(np.float32) + 5.0
    fake = (rng.standard_normal((70, 8)) * 1.2 + 5.4).astype(np.float32)
    return real, fake


@pytest.mark.parametrize("k", [1, 4, 5])
def test_knn_two_sample_matches_brute_force(overlapping_sets, k):
    real, fake = overlapping_sets
    result = metrics.knn_two_sample(real, fake, k=k, block_size=16)
    expected = _brute_knn(real, fake, k)
    assert result.keys() == expected.keys()
    for key, value in expected.items():
        assert result[key] == pytest.approx(value, abs=1e-12), key
    assert 0.5 < result["accuracy"] < 0.9  # the sets do differ a little


@pytest.mark.parametrize("k", [3, 5])
def test_precision_recall_density_coverage_match_brute_force(
        overlapping_sets, k):
    real, fake = overlapping_sets
    expected = _brute_prdc(real, fake, k)
    pr = metrics.precision_recall(real, fake, k=k, block_size=13)
    dc = metrics.density_coverage(real, fake, k=k, block_size=13)
    for key in ("precision", "recall"):
        assert pr[key] == pytest.approx(expected[key], abs=1e-12), key
    for key in ("density", "coverage"):
        assert dc[key] == pytest.approx(expected[key], abs=1e-12), key
    assert 0.0 < expected["precision"] < 1.0


def test_neighbour_metrics_equal_separate_calls(overlapping_sets):
    real, fake = overlapping_sets
    fused = metrics.neighbour_metrics(real, fake, k=5, block_size=32)
    separate = {**metrics.knn_two_sample(real, fake),
                **metrics.precision_recall(real, fake),
                **metrics.density_coverage(real, fake)}
    assert fused == pytest.approx(separate, abs=1e-12)


def test_duplicates_are_neighbours_but_self_is_left_out():
    # Exact ties are only exact if every float32 distance is: features on a
    # grid of 1/4 and 64 reals (so the real mean the engine centres on is a
    # multiple of 1/256) keep every product and sum exactly representable,
    # whatever order the matmul kernel adds them in. With arbitrary floats
    # the two copies' distances can round differently (seen under load).
    rng = np.random.default_rng(11)
    real = (np.round(rng.standard_normal((64, 6)) * 4) / 4).astype(np.float32)
    fake = (np.round(rng.standard_normal((50, 6)) * 4) / 4).astype(np.float32)
    real[10] = real[3]  # a duplicate inside the real set
    fake[7] = real[20]  # a fake copying a real: exact ties for others
    for k in (1, 5):
        result = metrics.neighbour_metrics(real, fake, k=k, block_size=8)
        expected = {**_brute_knn(real, fake, k), **_brute_prdc(real, fake, k)}
        assert result == pytest.approx(expected, abs=1e-12)


def test_neighbour_metrics_on_disjoint_sets():
    rng = np.random.default_rng(10)
    real = rng.standard_normal((40, 4))
    fake = rng.standard_normal((30, 4)) + 100.0
    result = metrics.neighbour_metrics(real, fake, k=5, block_size=9)
    for key in ("fake_fraction", "real_fraction", "accuracy"):
        assert result[key] == 1.0
    for key in ("precision", "recall", "density", "coverage"):
        assert result[key] == 0.0


def test_neighbour_metrics_reject_bad_k():
    real, fake = np.zeros((5, 3)), np.ones((8, 3))
    with pytest.raises(ValueError, match="`k`"):
        metrics.precision_recall(real, fake, k=5)
    with pytest.raises(ValueError, match="`k`"):
        metrics.knn_two_sample(real, fake, k=0)
    with pytest.raises(ValueError, match="same number of features"):
        metrics.knn_two_sample(real, np.ones((8, 2)))


def test_tensor_float_32_setting_is_restored(overlapping_sets):
    before = tf.config.experimental.tensor_float_32_execution_enabled()
    metrics.knn_two_sample(*overlapping_sets)
    assert tf.config.experimental.tensor_float_32_execution_enabled() == before


# ------------------------------------------------------------ all at once
@pytest.mark.parametrize("block_size", [7, None])
def test_feature_metrics_match_single_metric_functions(block_size):
    rng = np.random.default_rng(12)
    real = (rng.standard_normal((90, 8)) + 1.0).astype(np.float32)
    fake = (rng.standard_normal((70, 8)) * 1.2 + 1.3).astype(np.float32)
    result = metrics.feature_metrics(
        real, fake, k=4, kid_subsets=6, kid_subset_size=40, seed=3,
        block_size=block_size, fuse_kid=True)
    expected = {
        "fid": metrics.frechet_distance(real, fake),
        **metrics.knn_two_sample(real, fake, k=4),
        **metrics.precision_recall(real, fake, k=4),
        **metrics.density_coverage(real, fake, k=4),
    }
    expected["kid"], expected["kid_std"] = metrics.kernel_distance(
        real, fake, subsets=6, subset_size=40, seed=3)
    assert result.keys() == expected.keys()
    for key in expected:
        tolerance = 1e-5 * abs(expected[key]) + 1e-7 if "kid" in key \
            else 1e-9
        assert result[key] == pytest.approx(expected[key], abs=tolerance), key
    assert expected["kid"] > 10 * expected["kid_std"] / np.sqrt(6)


def test_feature_metrics_subsets_and_kid_paths():
    rng = np.random.default_rng(13)
    real = rng.standard_normal((40, 5))
    fake = rng.standard_normal((30, 5))
    only = metrics.feature_metrics(real, fake, metrics="kid,dc",
                                   kid_subsets=3, kid_subset_size=20, seed=1,
                                   fuse_kid=False)
    fused = metrics.feature_metrics(real, fake, metrics=["kid", "dc"],
                                    kid_subsets=3, kid_subset_size=20, seed=1,
                                    fuse_kid=True)
    assert set(only) == {"kid", "kid_std", "density", "coverage"}
    assert fused == pytest.approx(only, rel=1e-5, abs=1e-8)
    with pytest.raises(ValueError, match="`metrics`"):
        metrics.feature_metrics(real, fake, metrics=("fid", "is"))

"""Tests for general_tools.losses against numpy re-implementations."""

import numpy as np
import pytest
import tensorflow as tf

from general_tools import losses

SIGMAS = (1.0, 2.0 ** 0.5, 2.0, 8.0 ** 0.5, 4.0)
ALPHAS = (0.2, 0.5, 1.0, 2.0, 5.0)


# ---------------------------------------------------------------------------
# Independent numpy references.


def np_softplus(x):
    return np.logaddexp(0.0, x)


def np_classic(name, r, f):
    r, f = r.astype(np.float64), f.astype(np.float64)
    if name == "logistic":
        return np_softplus(f).mean() + np_softplus(-r).mean(), \
            np_softplus(-f).mean()
    if name == "minimax":
        sig = 1.0 / (1.0 + np.exp(-f))
        return np_softplus(f).mean() + np_softplus(-r).mean(), \
            np.log(1.0 - sig).mean()
    if name == "hinge":
        return np.maximum(0, 1 - r).mean() + np.maximum(0, 1 + f).mean(), \
            -f.mean()
    if name == "wasserstein":
        return f.mean() - r.mean(), -f.mean()
    if name == "lsgan":
        return 0.5 * ((r - 1) ** 2).mean() + 0.5 * (f ** 2).mean(), \
            0.5 * ((f - 1) ** 2).mean()
    raise KeyError(name)


def np_points(s):
    s = np.asarray(s, np.float64)
    return s[:, None] if s.ndim == 1 else s


def np_offdiag_kernel_mean(a, b, kern):
    """Mean of kern(||a_i - b_j||^2) over i != j, by explicit loops."""
    n, total = len(a), 0.0
    for i in range(n):
        for j in range(n):
            if i != j:
                total += kern(np.sum((a[i] - b[j]) ** 2))
    return total / (n * (n - 1))


def np_means(g, r, k_gg, k_rr=None, k_gr=None):
    g, r = np_points(g), np_points(r)
    k_rr = k_rr or k_gg
    k_gr = k_gr or k_gg
    return (np_offdiag_kernel_mean(g, g, k_gg),
            np_offdiag_kernel_mean(r, r, k_rr),
            np_offdiag_kernel_mean(g, r, k_gr))


def gauss(sigmas):
    return lambda d: sum(np.exp(-d / (2.0 * s * s)) for s in np.atleast_1d(
        sigmas))


def rq(alphas):
    return lambda d: sum((1.0 + d / (2.0 * a)) ** (-a) for a in alphas)


def assert_close(actual, desired, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(np.asarray(actual, np.float64), desired,
                               rtol=rtol, atol=atol)


SHAPES = [(8,), (8, 16)]


# ---------------------------------------------------------------------------
# Classic losses.


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "name", ["logistic", "minimax", "hinge", "wasserstein", "lsgan"])
def test_classic_losses_match_numpy(rng, name, shape):
    r = rng.normal(size=shape).astype(np.float32) * 2.0
    f = rng.normal(size=shape).astype(np.float32) * 2.0
    loss_d, loss_g, metrics = losses.gan_loss(name, r, f)
    want_d, want_g = np_classic(name, r, f)
    assert loss_d.dtype == tf.float32 and loss_d.shape == ()
    assert loss_g.dtype == tf.float32 and loss_g.shape == ()
    assert_close(loss_d, want_d)
    assert_close(loss_g, want_g)
    assert_close(metrics["d_real"], r.astype(np.float64).mean())
    assert_close(metrics["d_fake"], f.astype(np.float64).mean())


def test_lsgan_custom_targets(rng):
    r = rng.normal(size=(8,)).astype(np.float32)
    f = rng.normal(size=(8,)).astype(np.float32)
    loss_d, loss_g, _ = losses.gan_loss(
        "lsgan", r, f, fake_target=-1.0, real_target=1.0, gen_target=0.0)
    assert_close(loss_d, 0.5 * ((r - 1.0) ** 2).mean()
                 + 0.5 * ((f + 1.0) ** 2).mean())
    assert_close(loss_g, 0.5 * (f ** 2).mean())


def test_float16_scores_give_float32_losses(rng):
    r = rng.normal(size=(8, 4)).astype(np.float16)
    f = rng.normal(size=(8, 4)).astype(np.float16)
    for name in losses.available_losses():
        loss_d, loss_g, metrics = losses.gan_loss(name, r, f)
        assert loss_d.dtype == tf.float32, name
        assert loss_g.dtype == tf.float32, name
        assert all(v.dtype == tf.float32 for v in metrics.values()), name


# ---------------------------------------------------------------------------
# MMD losses.


def check_mmd_metrics(metrics, kxx, kyy, kxy):
    assert_close(metrics["kxx"], kxx)
    assert_close(metrics["kyy"], kyy)
    assert_close(metrics["kxy"], kxy)
    assert_close(metrics["mmd2"], kxx + kyy - 2 * kxy, atol=1e-5)


@pytest.mark.parametrize("shape", SHAPES)
def test_mmd_gaussian_mixture(rng, shape):
    r = rng.normal(size=shape).astype(np.float32)
    f = (rng.normal(size=shape) * 1.3 + 0.4).astype(np.float32)
    loss_d, loss_g, metrics = losses.gan_loss("mmd", r, f)
    kxx, kyy, kxy = np_means(f, r, gauss(SIGMAS))
    mmd2 = kxx + kyy - 2 * kxy
    assert mmd2 > 1e-3  # the samples differ
    assert_close(loss_d, -mmd2, atol=1e-5)
    assert_close(loss_g, mmd2, atol=1e-5)
    check_mmd_metrics(metrics, kxx, kyy, kxy)


def test_mmd_custom_sigmas(rng):
    r = rng.normal(size=(6, 3)).astype(np.float32)
    f = rng.normal(size=(6, 3)).astype(np.float32)
    _, loss_g, _ = losses.gan_loss("mmd", r, f, sigmas=(0.5, 3.0))
    kxx, kyy, kxy = np_means(f, r, gauss((0.5, 3.0)))
    assert_close(loss_g, kxx + kyy - 2 * kxy, atol=1e-5)


@pytest.mark.parametrize("shape", SHAPES)
def test_mmd_rational_quadratic(rng, shape):
    r = rng.normal(size=shape).astype(np.float32)
    f = (rng.normal(size=shape) - 0.5).astype(np.float32)
    loss_d, loss_g, metrics = losses.gan_loss("mmd_t", r, f)
    kxx, kyy, kxy = np_means(f, r, rq(ALPHAS))
    assert_close(loss_d, -(kxx + kyy - 2 * kxy), atol=1e-5)
    assert_close(loss_g, kxx + kyy - 2 * kxy, atol=1e-5)
    check_mmd_metrics(metrics, kxx, kyy, kxy)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("weights", [(0.0, -1.0), (2.0, 1.0), (-1.0, -2.0)])
def test_rep(rng, shape, weights):
    scale = 1.0 if len(shape) == 1 else 0.25  # keep kernel means mid-range
    r = (rng.normal(size=shape) * scale).astype(np.float32)
    f = (rng.normal(size=shape) * scale + 0.2).astype(np.float32)
    loss_d, loss_g, metrics = losses.gan_loss("rep", r, f,
                                              rep_weights=weights)
    kxx, kyy, kxy = np_means(f, r, gauss(1.0))
    assert 0.05 < kyy < 0.95 and 0.05 < kxx < 0.95
    w0, w1 = weights
    mmd2 = kxx + kyy - 2 * kxy
    assert_close(loss_d, w0 * kxy - kxx - w1 * kyy)
    assert_close(loss_g, mmd2, atol=1e-5)
    check_mmd_metrics(metrics, kxx, kyy, kxy)
    if weights == (0.0, -1.0):
        assert_close(loss_d, kyy - kxx)  # E k(r, r') - E k(g, g')
    if weights == (2.0, 1.0):
        assert_close(loss_d, -mmd2, atol=1e-5)  # attractive MMD-GAN


def rmb_scores():
    """Scores with squared distances both below 0.25 and above 4."""
    real = np.array([[0.0, 0.0], [0.1, 0.0], [3.0, 0.0], [0.0, 3.0],
                     [-3.0, 0.0], [0.2, 0.3]], np.float32)
    fake = np.array([[1.0, 1.0], [1.1, 1.0], [1.0, 1.2], [2.5, -1.0],
                     [-0.5, 2.0], [0.8, 0.6]], np.float32)
    return real, fake


@pytest.mark.parametrize("weights", [(0.0, -1.0), (-1.0, -2.0), (2.0, 1.0)])
def test_rmb_bounded_kernel(weights):
    r, f = rmb_scores()
    d_rr = np.sum((r[:, None] - r[None]) ** 2, -1)[~np.eye(6, dtype=bool)]
    d_gg = np.sum((f[:, None] - f[None]) ** 2, -1)[~np.eye(6, dtype=bool)]
    # The clipping is active on both sides.
    assert (d_rr > 4.0).any() and (d_rr < 0.25).any()
    assert (d_gg < 0.25).any()
    loss_d, loss_g, metrics = losses.gan_loss("rmb", r, f,
                                              rep_weights=weights)
    w0, w1 = weights
    k_gg_b = lambda d: np.exp(-max(d, 0.25) / 2.0)
    if w1 <= 0:
        k_rr_b = lambda d: np.exp(-min(d, 4.0) / 2.0)
    else:
        k_rr_b = lambda d: np.exp(-max(d, 0.25) / 2.0)
    kxx_b, kyy_b, _ = np_means(f, r, k_gg_b, k_rr_b)
    kxx, kyy, kxy = np_means(f, r, gauss(1.0))
    assert abs(kxx_b - kxx) > 1e-3 and abs(kyy_b - kyy) > 1e-3
    # Cross term unbounded (see the rmb docstring).
    assert_close(loss_d, w0 * kxy - kxx_b - w1 * kyy_b)
    assert_close(loss_g, kxx + kyy - 2 * kxy, atol=1e-5)
    check_mmd_metrics(metrics, kxx, kyy, kxy)
    assert_close(metrics["kxx_b"], kxx_b)
    assert_close(metrics["kyy_b"], kyy_b)


def test_rmb_custom_bounds_and_sigma():
    r, f = rmb_scores()
    loss_d, _, _ = losses.gan_loss("rmb", r, f, sigma=2.0, lower_bound=0.5,
                                   upper_bound=2.0)
    kxx_b, kyy_b, _ = np_means(
        f, r, lambda d: np.exp(-max(d, 0.5) / 8.0),
        lambda d: np.exp(-min(d, 2.0) / 8.0))
    assert_close(loss_d, kyy_b - kxx_b)


def test_rmb_defaults_equal_rep_without_clipping(rng):
    # All squared distances within [0.25, 4]: rmb == rep.
    ang = np.linspace(0, 2 * np.pi, 7)[:-1]
    r = np.stack([np.cos(ang), np.sin(ang)], 1).astype(np.float32) * 0.8
    f = (r * 0.7 + 0.05).astype(np.float32)
    d_rep = losses.gan_loss("rep", r, f)[0]
    d_rmb = losses.gan_loss("rmb", r, f)[0]
    assert_close(d_rmb, float(d_rep))


@pytest.mark.parametrize("name", ["mmd", "rmb", "hinge"])
def test_losses_in_tf_function_match_eager(rng, name):
    r = rng.normal(size=(8, 4)).astype(np.float32)
    f = rng.normal(size=(8, 4)).astype(np.float32)
    fn = tf.function(lambda a, b: losses.gan_loss(name, a, b)[:2])
    for eager, graph in zip(losses.gan_loss(name, r, f)[:2], fn(r, f)):
        assert_close(graph, float(eager))


def test_mmd_generator_gradient_matches_finite_differences(rng):
    # Two identical generated rows: the clamped distance is exactly 0 there.
    r = rng.normal(size=(5, 2)).astype(np.float32)
    f0 = rng.normal(size=(5, 2)).astype(np.float32)
    f0[1] = f0[0]
    f = tf.Variable(f0)
    with tf.GradientTape() as tape:
        loss_g = losses.gan_loss("rep", r, f)[1]
    grad = tape.gradient(loss_g, f).numpy()

    def np_mmd2(g):
        kxx, kyy, kxy = np_means(g, r, gauss(1.0))
        return kxx + kyy - 2 * kxy

    eps, num = 1e-4, np.zeros_like(grad, np.float64)
    for idx in np.ndindex(*f0.shape):
        up, down = f0.astype(np.float64), f0.astype(np.float64)
        up[idx] += eps
        down[idx] -= eps
        num[idx] = (np_mmd2(up) - np_mmd2(down)) / (2 * eps)
    assert np.abs(num).max() > 1e-2
    np.testing.assert_allclose(grad, num, rtol=1e-3, atol=1e-4)


# ---------------------------------------------------------------------------
# Registry and errors.


def test_available_losses():
    names = losses.available_losses()
    assert set(names) >= {"logistic", "minimax", "hinge", "wasserstein",
                          "lsgan", "mmd", "mmd_t", "rep", "rmb"}
    assert names == sorted(names)
    assert losses.loss_parameters("rmb") == {
        "rep_weights": (0.0, -1.0), "sigma": 1.0, "lower_bound": 0.25,
        "upper_bound": 4.0}


def test_unknown_loss_name():
    with pytest.raises(ValueError, match="'nope'.*hinge"):
        losses.gan_loss("nope", np.zeros(2), np.zeros(2))


def test_unknown_params():
    with pytest.raises(ValueError, match=r"\['sigmaa'\].*'rep'"):
        losses.gan_loss("rep", np.zeros(4), np.zeros(4), sigmaa=1.0)
    with pytest.raises(ValueError, match="margin"):
        losses.gan_loss("hinge", np.zeros(4), np.zeros(4), margin=1.0)


@pytest.mark.parametrize("weights", [(1.0, 1.0), (0.0, 1.0), (1.0,), "ab"])
def test_bad_rep_weights(weights):
    for name in ("rep", "rmb"):
        with pytest.raises(ValueError, match="rep_weights"):
            losses.gan_loss(name, np.zeros(4), np.ones(4),
                            rep_weights=weights)


def test_bad_hyper_parameters():
    z = np.zeros((4, 2), np.float32)
    with pytest.raises(ValueError, match="sigma"):
        losses.gan_loss("mmd", z, z, sigmas=(1.0, 0.0))
    with pytest.raises(ValueError, match="alpha"):
        losses.gan_loss("mmd_t", z, z, alphas=-1.0)
    with pytest.raises(ValueError, match="lower_bound"):
        losses.gan_loss("rmb", z, z, lower_bound=5.0, upper_bound=4.0)


def test_mmd_losses_need_equal_batches():
    with pytest.raises(ValueError, match="equal size"):
        losses.gan_loss("rep", np.zeros((4, 2)), np.zeros((5, 2)))


def test_register_loss_rejects_duplicates_and_bad_names():
    with pytest.raises(ValueError, match="already registered"):
        losses.register_loss("hinge", g_reads_real=False)(
            lambda s_real, s_fake: None)
    with pytest.raises(ValueError, match="name"):
        losses.register_loss("", g_reads_real=False)
    with pytest.raises(ValueError, match="g_reads_real"):
        losses.register_loss("x", g_reads_real="no")
    with pytest.raises(ValueError, match="metrics"):
        losses.register_loss("x", g_reads_real=False, metrics=("a", "a"))


@pytest.mark.parametrize("name", losses.available_losses())
def test_each_loss_returns_the_metrics_it_declared(name):
    rng = np.random.default_rng(0)
    s_real, s_fake = rng.normal(size=(2, 6, 3)).astype("float32")
    _, _, metrics = losses.gan_loss(name, s_real, s_fake)
    assert list(metrics) == list(losses.loss_info(name).metrics)


def test_a_loss_returning_undeclared_metrics_is_refused():
    @losses.register_loss("_test_undeclared", g_reads_real=False)
    def undeclared(s_real, s_fake):
        return 0.0, 0.0, {"d_real": 0.0, "extra": 1.0}

    try:
        with pytest.raises(ValueError, match="'extra'.*declared"):
            losses.gan_loss("_test_undeclared", np.zeros(2), np.zeros(2))
    finally:
        losses._LOSSES.pop("_test_undeclared")

"""Tests of deep_learning.models.gan: the train step against independent
recomputations, EMA, truncated sampling, data layouts and argument checks."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from deep_learning.models.gan import GAN
from general_tools.losses import available_losses, gan_loss, loss_info

LATENT, DIM, LR = 3, 2, 0.05


def _linear_nets(seed=0):
    """G: z (3,) -> x (2,) and D: x (2,) -> score (1,), both affine."""
    rng = np.random.default_rng(seed)
    g = keras.Sequential([keras.Input((LATENT,)), keras.layers.Dense(DIM)])
    d = keras.Sequential([keras.Input((DIM,)), keras.layers.Dense(1)])
    g.set_weights([rng.normal(size=(LATENT, DIM)), rng.normal(size=DIM)])
    d.set_weights([rng.normal(size=(DIM, 1)), rng.normal(size=1)])
    return g, d


def _codes(seed, step, stream, n):
    """The engine's documented seed scheme: (seed, step*1024 + stream)."""
    return tf.random.stateless_normal(
        (n, LATENT), tf.constant([seed, step * 1024 + stream], tf.int64),
        alg="philox").numpy().astype(np.float64)


def test_wgan_gp_step_matches_numpy_recomputation():
    """Two critic steps (WGAN-GP) + one generator step of affine nets,
    recomputed with closed-form gradients and SGD in numpy."""
    g, d = _linear_nets()
    wg, bg = [w.astype(np.float64) for w in g.get_weights()]
    wd, bd = [w.astype(np.float64) for w in d.get_weights()]
    gan = GAN(g, d, gan_loss="wasserstein", n_critic=2, gp_weight=10.0,
              seed=7)
    gan.compile(keras.optimizers.SGD(LR), keras.optimizers.SGD(LR),
                run_eagerly=False)
    b = 6
    real = np.random.default_rng(1).normal(size=(2 * b, DIM))
    logs = gan.train_on_batch(real.astype(np.float32), return_dict=True)

    d_losses, gps = [], []
    for i in range(2):
        x = real[i * b:(i + 1) * b]
        z = _codes(7, 0, 2 * i, b)
        fake = z @ wg + bg
        s_r, s_f = x @ wd + bd, fake @ wd + bd
        d_losses.append(s_f.mean() - s_r.mean())
        # A linear critic has grad_x D = w everywhere: GP = 10 (|w| - 1)^2.
        norm = np.sqrt((wd ** 2).sum() + 1e-12)
        gps.append(10.0 * (norm - 1.0) ** 2)
        grad_w = (fake.mean(0) - x.mean(0))[:, None] \
            + 20.0 * (norm - 1.0) * wd / norm
        wd = wd - LR * grad_w            # the bias gradient is 0
    z = _codes(7, 0, 4, b)
    loss_g = -((z @ wg + bg) @ wd + bd).mean()
    wg = wg - LR * (-(z.mean(0)[:, None] @ wd.T))
    bg = bg - LR * (-wd[:, 0])

    np.testing.assert_allclose(logs["loss/d"], np.mean(d_losses), rtol=1e-5)
    np.testing.assert_allclose(logs["penalty/gp"], np.mean(gps), rtol=1e-5)
    np.testing.assert_allclose(logs["loss/g"], loss_g, rtol=1e-5)
    np.testing.assert_allclose(d.get_weights()[0], wd, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(d.get_weights()[1], bd, atol=1e-6)
    np.testing.assert_allclose(g.get_weights()[0], wg, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g.get_weights()[1], bg, rtol=1e-5, atol=1e-6)
    assert int(gan.step) == 1
    assert int(gan.d_optimizer.iterations) == 2
    assert int(gan.g_optimizer.iterations) == 1
    np.testing.assert_allclose(logs["lr/d"], LR, rtol=1e-6)


def test_simultaneous_step_uses_one_forward_pass():
    """update='simultaneous' (MMD-GAN repo): both gradients at the old
    weights, recomputed here with an explicit tape."""
    g, d = _linear_nets(3)
    d2 = keras.Sequential([keras.Input((DIM,)), keras.layers.Dense(4)])
    d2.set_weights([np.random.default_rng(4).normal(size=(DIM, 4)),
                    np.zeros(4)])
    g_w = [w.copy() for w in g.get_weights()]
    d_w = [w.copy() for w in d2.get_weights()]
    gan = GAN(g, d2, gan_loss="rep", update="simultaneous", seed=3,
              d_joint_forward=True)
    gan.compile(keras.optimizers.SGD(LR), keras.optimizers.SGD(LR))
    real = np.random.default_rng(5).normal(size=(8, DIM)).astype(np.float32)
    logs = gan.train_on_batch(real, return_dict=True)

    z = tf.constant(_codes(3, 0, 0, 8), tf.float32)
    gv = [tf.Variable(w) for w in g_w]
    dv = [tf.Variable(w) for w in d_w]
    with tf.GradientTape(persistent=True) as tape:
        fake = z @ gv[0] + gv[1]
        loss_d, loss_g, metrics = gan_loss("rep", real @ dv[0] + dv[1],
                                           fake @ dv[0] + dv[1])
    gd = tape.gradient(loss_d, dv)
    gg = tape.gradient(loss_g, gv)
    np.testing.assert_allclose(logs["loss/d"], loss_d.numpy(), rtol=1e-5)
    np.testing.assert_allclose(logs["loss/g"], loss_g.numpy(), rtol=1e-5)
    np.testing.assert_allclose(logs["rep/kxy"], metrics["kxy"].numpy(),
                               rtol=1e-5)
    for var, w, grad in zip(d2.get_weights(), d_w, gd):
        np.testing.assert_allclose(var, w - LR * grad.numpy(), atol=1e-6)
    for var, w, grad in zip(g.get_weights(), g_w, gg):
        np.testing.assert_allclose(var, w - LR * grad.numpy(), atol=1e-6)


@pytest.mark.parametrize("name", available_losses())
def test_each_loss_declares_whether_its_generator_loss_reads_real(name):
    """The generator step skips D(real) when a loss declares that its
    loss_g ignores the real scores: the declaration must be true both ways
    (moving the real scores moves loss_g exactly when it says so)."""
    rng = np.random.default_rng(0)
    fake = tf.constant(rng.normal(size=(5, 1)), tf.float32)
    a = gan_loss(name, tf.constant(rng.normal(size=(5, 1)), tf.float32),
                 fake)[1]
    b = gan_loss(name, tf.constant(rng.normal(size=(5, 1)) + 3.0,
                                   tf.float32), fake)[1]
    assert (float(a) != float(b)) == loss_info(name).g_reads_real


def test_stacked_and_flat_layouts_give_the_same_step():
    """(n*B, ...) flat split and (B, n, ...) stacked feed the same rows."""
    real = np.random.default_rng(2).normal(size=(3, 4, DIM)).astype(
        np.float32)
    flat = real.reshape(12, DIM)                     # critic i: rows 4i..
    stacked = real.transpose(1, 0, 2)                # (4, 3, DIM)
    results = []
    for batch in (flat, stacked):
        g, d = _linear_nets(1)
        gan = GAN(g, d, gan_loss="hinge", n_critic=3, seed=1)
        gan.compile(keras.optimizers.SGD(LR), keras.optimizers.SGD(LR))
        results.append((gan.train_on_batch(batch, return_dict=True),
                        d.get_weights()[0]))
    assert results[0][0]["loss/d"] == pytest.approx(results[1][0]["loss/d"])
    np.testing.assert_allclose(results[0][1], results[1][1], atol=1e-7)


def test_ema_follows_the_recursion_and_drives_sampling():
    g, d = _linear_nets(2)
    gan = GAN(g, d, gan_loss="hinge", ema_decay=0.8, ema_start=2, seed=0)
    gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
    real = np.random.default_rng(0).normal(size=(4, DIM)).astype(np.float32)
    ema = [w.copy() for w in g.get_weights()]
    for t in range(1, 6):
        gan.train_on_batch(real)
        w = g.get_weights()
        ema = w if t <= 2 else [0.8 * e + 0.2 * x for e, x in zip(ema, w)]
        ema = [np.array(e) for e in ema]
    for shadow, ref in zip(gan.ema.values(), ema):
        np.testing.assert_allclose(shadow.numpy(), ref, rtol=1e-5)
    z = gan.latent_codes(5, seed=3).numpy()
    expected = np.clip(z @ ema[0] + ema[1], -1.0, 1.0)
    np.testing.assert_allclose(gan.generate_images(z), expected, rtol=1e-5,
                               atol=1e-6)
    raw = np.clip(z @ g.get_weights()[0] + g.get_weights()[1], -1, 1)
    np.testing.assert_allclose(gan.generate_images(z, use_ema=False), raw,
                               rtol=1e-5, atol=1e-6)


def test_truncated_latents_keep_the_most_likely_fraction():
    g, d = _linear_nets()
    gan = GAN(g, d)
    t = 0.25
    limit = stats.chi2.ppf(1.0 - t, LATENT)
    z = gan.latent_codes(4000, seed=5, truncation=t).numpy()
    assert z.shape == (4000, LATENT)
    assert (np.sum(z ** 2, 1) <= limit).all()
    full = gan.latent_codes(20000, seed=6).numpy()
    # The rejected share of untruncated N(0, I) draws is ~25%.
    assert np.mean(np.sum(full ** 2, 1) > limit) == pytest.approx(t, abs=0.01)
    # Same seed, same draw; images are clipped into [-1, 1].
    np.testing.assert_array_equal(gan.sample(7, seed=1), gan.sample(7, seed=1))
    assert np.abs(gan.sample(50, seed=2)).max() <= 1.0
    with pytest.raises(ValueError, match="truncation"):
        GAN(*_linear_nets(), latent="uniform").sample(3, truncation=0.5)


def test_uniform_and_callable_latents():
    g, d = _linear_nets()
    z = GAN(g, d, latent="uniform").latent_codes(1000, seed=0).numpy()
    assert z.min() >= -1.0 and z.max() <= 1.0 and z.std() > 0.5

    def sphere(n, seed):
        x = tf.random.stateless_normal((n, LATENT), seed)
        return x / tf.norm(x, axis=1, keepdims=True)

    z = GAN(*_linear_nets(), latent=sphere).latent_codes(10, seed=0).numpy()
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, rtol=1e-5)


def test_spec_networks_and_config_round_trip():
    g_spec = [{"name": "g1", "op": "d", "out": 16, "act": "relu",
               "out_reshape": [4, 4, 1]}]
    d_spec = [{"name": "d1", "op": "c", "out": 2, "kernel": 3,
               "out_reshape": [32]},
              {"name": "d2", "op": "d", "out": 1}]
    gan = GAN(g_spec, d_spec, latent_dim=5, n_critic=2, gp_weight=1.0,
              ema_decay=0.5, seed=4)
    assert gan.image_shape == (4, 4, 1) and gan.score_shape == (1,)
    clone = GAN.from_config(gan.get_config())
    assert clone.hparams() == gan.hparams()
    assert clone.generator.count_params() == gan.generator.count_params()


@pytest.mark.parametrize("kwargs, match", [
    ({"n_critic": 0}, "n_critic"),
    ({"gan_loss": "nope"}, "gan_loss"),
    ({"update": "both"}, "update"),
    ({"critic_data": "x"}, "critic_data"),
    ({"gp_weight": -1.0}, "gp_weight"),
    ({"ema_decay": 1.0}, "ema_decay"),
    ({"latent": "cauchy"}, "latent"),
    ({"loss_params": {"sigma": 2.0}}, "sigma"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GAN(*_linear_nets(), **kwargs)


def test_compile_and_batch_errors():
    gan = GAN(*_linear_nets(), n_critic=3)
    with pytest.raises(ValueError, match="d_optimizer"):
        gan.compile("adam", keras.optimizers.SGD())
    opt = keras.optimizers.SGD()
    with pytest.raises(ValueError, match="different"):
        gan.compile(opt, opt)
    gan.compile(keras.optimizers.SGD(), keras.optimizers.SGD())
    with pytest.raises(ValueError, match="multiple of n_critic"):
        gan.train_on_batch(np.zeros((4, DIM), np.float32))


def test_generator_step_scores_real_data_only_when_needed():
    class Custom(GAN):
        def loss_terms(self, record):
            return super().loss_terms(record)

    assert not GAN(*_linear_nets(), gan_loss="hinge").g_loss_needs_real()
    assert GAN(*_linear_nets(), gan_loss="rmb").g_loss_needs_real()
    assert Custom(*_linear_nets(), gan_loss="hinge").g_loss_needs_real()


@pytest.mark.parametrize("update", ["alternating", "simultaneous"])
def test_trainable_latent_layer_receives_generator_gradients(update):
    """A `latent=` layer is part of G: its weights must move with G's."""
    gen = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
    dis = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    latent = keras.layers.Dense(3, name="latent_map")
    gan = GAN(gen, dis, latent=latent, gan_loss="logistic", update=update)
    gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
    before = latent.kernel.numpy().copy()
    data = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    gan.fit(data, batch_size=8, epochs=1, verbose=0)
    assert np.abs(latent.kernel.numpy() - before).max() > 0
    # and the eager path takes numpy input
    gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1),
                run_eagerly=True)
    gan.train_on_batch(data)

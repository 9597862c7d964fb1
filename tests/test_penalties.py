"""Tests for general_tools.penalties: closed forms, numpy and XLA."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from general_tools import penalties

SHAPE = (5, 4, 4, 3)


def draw_u(batch, seed):
    """The interpolation coefficients the penalty is documented to draw."""
    return keras.random.uniform((batch,), dtype="float32", seed=seed).numpy()


def linear_critic(a):
    a = tf.constant(a)
    return lambda x: tf.reduce_sum(a * x, axis=list(range(1, x.shape.rank)))


def quadratic_critic(q):
    """f(x) = 1/2 sum(q x^2): gradient q * x."""
    q = tf.constant(q)
    return lambda x: 0.5 * tf.reduce_sum(q * tf.square(x),
                                         axis=list(range(1, x.shape.rank)))


def test_linear_critic_closed_form(rng):
    a = rng.normal(size=SHAPE[1:]).astype(np.float32) * 0.3
    real = rng.normal(size=SHAPE).astype(np.float32)
    fake = rng.normal(size=SHAPE).astype(np.float32)
    norm = np.linalg.norm(a.astype(np.float64))
    gp = penalties.gradient_penalty(linear_critic(a), real, fake, seed=1)
    assert gp.dtype == tf.float32 and gp.shape == ()
    np.testing.assert_allclose(gp.numpy(), 10.0 * (norm - 1.0) ** 2,
                               rtol=1e-5)
    gp = penalties.gradient_penalty(linear_critic(a), real, fake, target=0.5,
                                    weight=1.0, seed=1)
    np.testing.assert_allclose(gp.numpy(), (norm - 0.5) ** 2, rtol=1e-5)


def test_quadratic_critic_at_interpolates(rng):
    q = rng.uniform(0.5, 1.5, size=SHAPE[1:]).astype(np.float32)
    real = rng.normal(size=SHAPE).astype(np.float32)
    fake = rng.normal(size=SHAPE).astype(np.float32)
    gp = penalties.gradient_penalty(quadratic_critic(q), real, fake, seed=7)
    u = draw_u(SHAPE[0], 7).astype(np.float64)[:, None, None, None]
    assert 0.0 < u.min() and u.max() < 1.0 and u.std() > 0.05
    x_hat = u * real + (1.0 - u) * fake
    norms = np.sqrt(((q * x_hat) ** 2).reshape(SHAPE[0], -1).sum(1))
    np.testing.assert_allclose(gp.numpy(), 10.0 * np.mean((norms - 1) ** 2),
                               rtol=1e-5)
    # per_pixel: norm over channels only, mean over B * H * W (HMoG quirk).
    gp_pix = penalties.gradient_penalty(quadratic_critic(q), real, fake,
                                        per_pixel=True, seed=7)
    pix_norms = np.sqrt(((q * x_hat) ** 2).sum(-1))
    assert pix_norms.shape == SHAPE[:3]
    np.testing.assert_allclose(gp_pix.numpy(),
                               10.0 * np.mean((pix_norms - 1) ** 2),
                               rtol=1e-5)
    assert abs(gp_pix.numpy() - gp.numpy()) > 1e-2


def test_per_pixel_equals_standard_on_vectors(rng):
    q = rng.uniform(0.5, 1.5, size=(6,)).astype(np.float32)
    real = rng.normal(size=(4, 6)).astype(np.float32)
    fake = rng.normal(size=(4, 6)).astype(np.float32)
    args = (quadratic_critic(q), real, fake)
    np.testing.assert_allclose(
        penalties.gradient_penalty(*args, per_pixel=True, seed=3).numpy(),
        penalties.gradient_penalty(*args, seed=3).numpy(), rtol=1e-6)


def test_multi_output_critic_sums_scores(rng):
    a = rng.normal(size=(3, 8)).astype(np.float32) * 0.4
    critic = lambda x: tf.matmul(x, a, transpose_b=True)  # (B, 3)
    real = rng.normal(size=(4, 8)).astype(np.float32)
    fake = rng.normal(size=(4, 8)).astype(np.float32)
    norm = np.linalg.norm(a.astype(np.float64).sum(0))
    gp = penalties.gradient_penalty(critic, real, fake, seed=0)
    np.testing.assert_allclose(gp.numpy(), 10.0 * (norm - 1) ** 2, rtol=1e-5)


def test_r1_penalty_quadratic(rng):
    q = rng.uniform(0.5, 1.5, size=SHAPE[1:]).astype(np.float32)
    real = rng.normal(size=SHAPE).astype(np.float32)
    r1 = penalties.r1_penalty(quadratic_critic(q), real, gamma=4.0)
    sq = ((q * real.astype(np.float64)) ** 2).reshape(SHAPE[0], -1).sum(1)
    np.testing.assert_allclose(r1.numpy(), 2.0 * sq.mean(), rtol=1e-5)


def test_training_flag_reaches_critic(rng):
    seen = []

    def critic(x, training=None):
        seen.append(training)
        return tf.reduce_sum(x, axis=1)

    x = rng.normal(size=(3, 2)).astype(np.float32)
    penalties.gradient_penalty(critic, x, x, seed=0)
    penalties.r1_penalty(critic, x, training=False)
    assert seen == [True, False]


def test_seeds_reproducible_and_generator_advances(rng):
    q = rng.uniform(0.5, 1.5, size=(6,)).astype(np.float32)
    real = rng.normal(size=(8, 6)).astype(np.float32)
    fake = rng.normal(size=(8, 6)).astype(np.float32)
    c = quadratic_critic(q)
    first = penalties.gradient_penalty(c, real, fake, seed=11).numpy()
    assert penalties.gradient_penalty(c, real, fake, seed=11).numpy() == first
    gen = keras.random.SeedGenerator(11)
    a = penalties.gradient_penalty(c, real, fake, seed=gen).numpy()
    b = penalties.gradient_penalty(c, real, fake, seed=gen).numpy()
    assert a != b


def make_critic():
    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input((6, 6, 2)),
        keras.layers.Conv2D(4, 3, strides=2, padding="same",
                            activation="tanh"),
        keras.layers.Flatten(),
        keras.layers.Dense(1),
    ])


def test_xla_double_backprop_matches_eager(rng):
    """One XLA call: penalties and their weight gradients equal eager.

    TensorFlow's XLA and CPU kernels draw different random streams for the
    same seed, so the XLA call returns its interpolation coefficients and
    the eager reference reuses them.
    """
    critic = make_critic()
    real = rng.normal(size=(4, 6, 6, 2)).astype(np.float32)
    fake = rng.normal(size=(4, 6, 6, 2)).astype(np.float32)
    a = rng.normal(size=(6, 6, 2)).astype(np.float32) * 0.2
    linear = linear_critic(a)
    seed_gen = keras.random.SeedGenerator(3)

    def penalties_and_grads(x_hat):
        with tf.GradientTape() as tape:
            gp = penalties.gradient_norm_penalty(critic, x_hat)
            r1 = penalties.r1_penalty(critic, real)
            total = gp + r1
        return gp, r1, tape.gradient(total, critic.trainable_weights)

    @tf.function(jit_compile=True)
    def xla_step(real, fake):
        x_hat, u = penalties.random_interpolation(real, fake, seed=seed_gen)
        gp_linear = penalties.gradient_penalty(linear, real, fake,
                                               seed=seed_gen)
        return penalties_and_grads(x_hat), u, gp_linear

    (gp_x, r1_x, grads_x), u, gp_linear = xla_step(real, fake)
    u = u.numpy()[:, None, None, None]
    gp_e, r1_e, grads_e = penalties_and_grads(u * real + (1 - u) * fake)
    assert np.isfinite(gp_e.numpy()) and gp_e.numpy() > 0
    np.testing.assert_allclose(gp_x.numpy(), gp_e.numpy(), rtol=1e-4)
    np.testing.assert_allclose(r1_x.numpy(), r1_e.numpy(), rtol=1e-4)
    # The last bias does not affect input gradients: its gradient is None.
    assert grads_x[-1] is None and grads_e[-1] is None
    for g_x, g_e in zip(grads_x[:-1], grads_e[:-1]):
        assert np.abs(g_e.numpy()).max() > 0
        np.testing.assert_allclose(g_x.numpy(), g_e.numpy(), rtol=1e-3,
                                   atol=1e-6)
    # gradient_penalty itself under XLA with a SeedGenerator: closed form.
    norm = np.linalg.norm(a.astype(np.float64))
    np.testing.assert_allclose(gp_linear.numpy(), 10.0 * (norm - 1) ** 2,
                               rtol=1e-5)


def test_errors(rng):
    x = rng.normal(size=(3, 4, 4, 2)).astype(np.float32)
    c = quadratic_critic(np.ones((4, 4, 2), np.float32))
    with pytest.raises(ValueError, match="same shape"):
        penalties.gradient_penalty(c, x, x[:, :2])
    with pytest.raises(ValueError, match="weight"):
        penalties.gradient_penalty(c, x, x, weight=-1.0)
    with pytest.raises(ValueError, match="gamma"):
        penalties.r1_penalty(c, x, gamma=-1.0)
    with pytest.raises(ValueError, match="seed"):
        penalties.gradient_penalty(c, x, x, seed=1.5)
    with pytest.raises(ValueError, match="channel_axis"):
        penalties.gradient_penalty(c, x, x, per_pixel=True, channel_axis=0)
    with pytest.raises(ValueError, match="does not depend"):
        penalties.r1_penalty(lambda v: tf.zeros([3]), x)

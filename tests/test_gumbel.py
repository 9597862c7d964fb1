"""Tests for general_tools.gumbel: noise, straight-through gradients and the
Gumbel-max sampling frequencies."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from general_tools import gumbel

EULER_GAMMA = 0.5772156649


def np_softmax(z):
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def test_sample_gumbel_formula_and_moments():
    u = keras.random.uniform((4000,), dtype="float32", seed=5).numpy()
    want = -np.log(-np.log(u.astype(np.float64) + 1e-20) + 1e-20)
    g = gumbel.sample_gumbel((4000,), seed=5)
    assert g.dtype == tf.float32
    np.testing.assert_allclose(g.numpy(), want, rtol=1e-5, atol=1e-5)
    # Standard Gumbel: mean = Euler's gamma, variance = pi^2 / 6.
    big = gumbel.sample_gumbel((100000,), seed=1).numpy()
    assert abs(big.mean() - EULER_GAMMA) < 0.02
    assert abs(big.var() - np.pi ** 2 / 6) < 0.05


def test_hard_forward_is_exact_one_hot(rng):
    logits = rng.normal(size=(64, 5)).astype(np.float32)
    out = gumbel.gumbel_softmax(logits, temperature=0.7, seed=3).numpy()
    assert set(np.unique(out)) <= {0.0, 1.0}
    np.testing.assert_array_equal(out.sum(-1), np.ones(64))
    noise = gumbel.sample_gumbel((64, 5), seed=3).numpy()
    np.testing.assert_array_equal(out.argmax(-1), (logits + noise).argmax(-1))


def test_soft_sample_matches_formula(rng):
    logits = rng.normal(size=(6, 4)).astype(np.float32)
    out = gumbel.gumbel_softmax(logits, temperature=0.5, hard=False, seed=9)
    noise = gumbel.sample_gumbel((6, 4), seed=9).numpy().astype(np.float64)
    np.testing.assert_allclose(out.numpy(),
                               np_softmax((logits + noise) / 0.5), rtol=1e-5,
                               atol=1e-7)


@pytest.mark.parametrize("temperature", [1.0, 0.5])
def test_straight_through_gradient_is_soft_gradient(rng, temperature):
    logits = tf.Variable(rng.normal(size=(5, 4)).astype(np.float32))
    w = tf.constant(rng.normal(size=(5, 4)).astype(np.float32))
    noise = gumbel.sample_gumbel((5, 4), seed=4)
    with tf.GradientTape(persistent=True) as tape:
        hard = gumbel.gumbel_softmax(logits, temperature, hard=True, seed=4)
        soft = tf.nn.softmax((logits + noise) / temperature)
        loss_hard = tf.reduce_sum(w * hard)
        loss_soft = tf.reduce_sum(w * soft)
    g_hard = tape.gradient(loss_hard, logits).numpy()
    g_soft = tape.gradient(loss_soft, logits).numpy()
    np.testing.assert_allclose(g_hard, g_soft, rtol=1e-5, atol=1e-7)
    # Analytic softmax Jacobian: d/dl sum(w y) = y (w - sum(w y)) / T.
    y = np_softmax((logits.numpy() + noise.numpy()).astype(np.float64)
                   / temperature)
    wn = w.numpy().astype(np.float64)
    want = y * (wn - (wn * y).sum(-1, keepdims=True)) / temperature
    assert np.abs(want).max() > 1e-2
    np.testing.assert_allclose(g_hard, want, rtol=1e-4, atol=1e-6)


def test_gumbel_max_frequencies_match_softmax():
    logits = np.array([1.0, 0.0, -1.0, 2.0], np.float32)
    n = 20000
    out = gumbel.gumbel_softmax(np.tile(logits, (n, 1)), seed=123).numpy()
    freq = out.mean(0)
    # Binomial std <= sqrt(0.25 / n) = 0.0035.
    np.testing.assert_allclose(freq, np_softmax(logits.astype(np.float64)),
                               atol=0.015)


def test_dtype_preserved_and_explicit_noise(rng):
    logits = rng.normal(size=(8, 3)).astype(np.float16)
    out = gumbel.gumbel_softmax(logits, seed=0)
    assert out.dtype == tf.float16
    assert set(np.unique(out.numpy())) <= {0.0, 1.0}
    # Zero noise, hard: argmax of the logits.
    out = gumbel.gumbel_softmax_with_noise(logits, np.zeros((8, 3)))
    np.testing.assert_array_equal(out.numpy().argmax(-1), logits.argmax(-1))


def test_seed_generator_inside_tf_function(rng):
    logits = rng.normal(size=(16, 6)).astype(np.float32)
    seed_gen = keras.random.SeedGenerator(7)
    sample = tf.function(lambda l: gumbel.gumbel_softmax(l, seed=seed_gen))
    a, b = sample(logits).numpy(), sample(logits).numpy()
    assert not np.array_equal(a, b)  # fresh noise at every call
    # A fresh generator with the same seed replays the first draw eagerly.
    np.testing.assert_array_equal(
        gumbel.gumbel_softmax(logits, seed=keras.random.SeedGenerator(7)),
        a)
    # An int seed repeats the same noise.
    np.testing.assert_array_equal(gumbel.gumbel_softmax(logits, seed=2),
                                  gumbel.gumbel_softmax(logits, seed=2))


def test_errors():
    with pytest.raises(ValueError, match="temperature"):
        gumbel.gumbel_softmax(np.zeros((2, 3)), temperature=0.0)
    with pytest.raises(ValueError, match="seed"):
        gumbel.sample_gumbel((2,), seed="abc")
    with pytest.raises(ValueError, match="seed"):
        gumbel.gumbel_softmax(np.zeros((2, 3)), seed=True)

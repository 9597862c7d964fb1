"""Tests for deep_learning.network.layers: FlatLayerNormalization computes Keras'
layer normalisation (values and first derivatives) with exact second
derivatives (checked against autodiff of the textbook formula and finite
differences)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from deep_learning.network.builder import build_network
from deep_learning.network.layers import FlatLayerNormalization, flat_layer_norm

SHAPE = (4, 6, 5, 3)
AXES = [1, 2, 3]


def _pair(rng, shape=SHAPE, axis=AXES, **kwargs):
    """A FlatLayerNormalization and a Keras LayerNormalization with the same
    random (non-trivial) gamma and beta."""
    ours = FlatLayerNormalization(axis=axis, **kwargs)
    ref = keras.layers.LayerNormalization(axis=axis, **kwargs)
    ours.build(shape)
    ref.build(shape)
    weights = [rng.normal(1.0, 0.3, w.shape).astype(np.float32)
               for w in ref.weights]
    ref.set_weights(weights)
    ours.set_weights(weights)
    return ours, ref


def _numpy_ln(x, gamma, beta, eps):
    x = x.astype(np.float64)
    flat = x.reshape(x.shape[0], -1)
    mean = flat.mean(1, keepdims=True)
    var = ((flat - mean) ** 2).mean(1, keepdims=True)
    n = ((flat - mean) / np.sqrt(var + eps)).reshape(x.shape)
    return n * gamma + beta


def _close(a, b, tol=1e-5):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = max(1.0, float(np.abs(b).max()))
    np.testing.assert_allclose(a, b, rtol=0, atol=tol * scale)


def test_forward_matches_numpy_and_keras(rng):
    ours, ref = _pair(rng)
    x = rng.normal(2.0, 3.0, SHAPE).astype(np.float32)
    gamma, beta = [w.numpy() for w in ours.weights]
    expected = _numpy_ln(x, gamma, beta, 1e-3)
    _close(ours(x), expected)
    _close(ours(x), ref(x))
    # Zero-mean, unit-variance samples before the affine map.
    plain = FlatLayerNormalization(axis=AXES, center=False, scale=False)
    out = plain(x).numpy().reshape(SHAPE[0], -1).astype(np.float64)
    np.testing.assert_allclose(out.mean(1), 0.0, atol=1e-5)
    var = x.reshape(SHAPE[0], -1).astype(np.float64).var(1)
    np.testing.assert_allclose(out.var(1), var / (var + 1e-3), rtol=1e-5)


def _first_order(layer, x, c):
    """Gradients of sum(c * lrelu(LN(x))) w.r.t. x, gamma and beta."""
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = tf.reduce_sum(c * tf.nn.leaky_relu(layer(x), 0.2))
    return tape.gradient(score, [x] + layer.trainable_weights)


@pytest.mark.parametrize("mode", ["eager", "function"])
def test_first_order_gradients_match_keras(rng, mode):
    ours, ref = _pair(rng)
    x = rng.normal(0.5, 2.0, SHAPE).astype(np.float32)
    c = tf.constant(rng.normal(size=SHAPE).astype(np.float32))
    fn = _first_order if mode == "eager" else tf.function(_first_order)
    for a, b in zip(fn(ours, x, c), fn(ref, x, c)):
        assert np.abs(b.numpy()).max() > 1e-3
        _close(a, b)


class _TextbookLN:
    """Reference: the layer-norm formula in plain TF ops. Unlike
    ``tf.nn.moments`` (used by Keras' layer), it puts no stop_gradient on
    the mean, so autodiff gives exact derivatives of every order."""

    def __init__(self, gamma, beta, eps=1e-3):
        self.gamma, self.beta, self.eps = gamma, beta, eps
        self.trainable_weights = [gamma, beta]

    def __call__(self, x):
        axes = list(range(1, x.shape.rank))
        mean = tf.reduce_mean(x, axes, keepdims=True)
        var = tf.reduce_mean(tf.square(x - mean), axes, keepdims=True)
        return ((x - mean) * tf.math.rsqrt(var + self.eps) * self.gamma
                + self.beta)


def _penalty_gradients(ln_a, ln_b, w, x):
    """A two-layer critic ``sum(lrelu(LN_b(tanh(LN_a(x)) * w)))`` and the
    gradients of its WGAN-GP-like penalty ``sum(||dD/dx||^2)`` w.r.t. x,
    w and both layers' weights (double backward). The second layer norm
    makes the penalty depend on the first one's statistics."""
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            score = tf.reduce_sum(tf.nn.leaky_relu(
                ln_b(tf.tanh(ln_a(x)) * w), 0.2))
        g = inner.gradient(score, x)
        penalty = tf.reduce_sum(tf.square(g))
    sources = ([x, w] + list(ln_a.trainable_weights)
               + list(ln_b.trainable_weights))
    return outer.gradient(penalty, sources, unconnected_gradients="zero")


def _textbook_twin(layer):
    return _TextbookLN(*layer.trainable_weights, eps=layer.epsilon)


@pytest.mark.parametrize("mode", ["eager", "function", "xla"])
def test_second_order_gradients_are_exact(rng, mode):
    shape = (3, 4, 4, 2) if mode == "xla" else SHAPE
    ln_a, _ = _pair(rng, shape)
    ln_b, _ = _pair(rng, shape)
    w = tf.Variable(rng.normal(size=shape[1:]).astype(np.float32))
    x = rng.normal(0.5, 2.0, shape).astype(np.float32)
    fn = _penalty_gradients
    if mode != "eager":
        fn = tf.function(fn, jit_compile=mode == "xla")
    got = fn(ln_a, ln_b, w, x)
    want = _penalty_gradients(_textbook_twin(ln_a), _textbook_twin(ln_b),
                              w, x)
    # Sources: x, w, gamma_a, beta_a, gamma_b, beta_b. The penalty does not
    # depend on beta_b (a leaky ReLU follows it); every other one matters.
    for i, (a, b) in enumerate(zip(got, want)):
        if i != 5:
            assert np.abs(b.numpy()).max() > 1e-3
        _close(a, b)


def test_second_order_against_finite_differences(rng):
    # float64, independent of autodiff for the outer derivative: central
    # differences of the penalty, whose first-order gradient is exact.
    n, eps = 6, 1e-3
    x = tf.constant(rng.normal(size=(3, n)))
    c = tf.constant(rng.normal(size=(3, n)))
    w = tf.constant(rng.normal(size=(n, n)))
    gamma = rng.normal(1.0, 0.3, n)
    beta_a = tf.Variable(rng.normal(0.0, 0.3, n))

    def penalty(ln):
        with tf.GradientTape() as tape:
            tape.watch(x)
            h = tf.matmul(tf.tanh(ln(x, gamma, beta_a)), w)
            score = tf.reduce_sum(c * tf.tanh(ln(h, gamma, 0.0 * gamma)))
        return tf.reduce_sum(tf.square(tape.gradient(score, x)))

    ours = lambda v, g, b: flat_layer_norm(v, g, b, eps)  # noqa: E731
    with tf.GradientTape() as tape:
        p = penalty(ours)
    got = tape.gradient(p, beta_a).numpy()
    base, step = beta_a.numpy(), 1e-5
    numeric = np.zeros(n)
    for i in range(n):
        beta_a.assign(base + step * np.eye(n)[i])
        plus = penalty(ours).numpy()
        beta_a.assign(base - step * np.eye(n)[i])
        numeric[i] = (plus - penalty(ours).numpy()) / (2 * step)
    beta_a.assign(base)
    assert np.abs(numeric).max() > 1e-2
    np.testing.assert_allclose(got, numeric, rtol=0,
                               atol=1e-6 * np.abs(numeric).max())


def test_closed_form_gradient_against_numerical_jacobian(rng):
    # An independent check of the custom gradient: central differences in
    # float64 of the numpy formula.
    x = rng.normal(size=(2, 5)).astype(np.float32)
    gamma = rng.normal(1.0, 0.5, 5).astype(np.float32)
    beta = rng.normal(size=5).astype(np.float32)
    dy = rng.normal(size=(2, 5)).astype(np.float32)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = flat_layer_norm(xt, tf.constant(gamma), tf.constant(beta), 1e-3)
    dx = tape.gradient(y, xt, output_gradients=tf.constant(dy)).numpy()
    numeric = np.zeros_like(x, dtype=np.float64)
    h = 1e-6
    for i in np.ndindex(x.shape):
        xp, xm = x.astype(np.float64), x.astype(np.float64)
        xp[i] += h
        xm[i] -= h
        numeric[i] = np.sum(dy * (_numpy_ln(xp, gamma, beta, 1e-3)
                                  - _numpy_ln(xm, gamma, beta, 1e-3))) / (2 * h)
    np.testing.assert_allclose(dx, numeric, atol=1e-4)


@pytest.mark.parametrize("center,scale", [(False, True), (True, False),
                                          (False, False)])
def test_center_and_scale_options(rng, center, scale):
    ours, ref = _pair(rng, center=center, scale=scale)
    assert len(ours.weights) == len(ref.weights) == center + scale
    x = rng.normal(size=SHAPE).astype(np.float32)
    c = tf.constant(rng.normal(size=SHAPE).astype(np.float32))
    for a, b in zip(_first_order(ours, x, c), _first_order(ref, x, c)):
        _close(a, b)
    ln_b, _ = _pair(rng)
    w = tf.constant(rng.normal(size=SHAPE[1:]).astype(np.float32))
    got = _penalty_gradients(ours, ln_b, w, x)
    textbook = _TextbookLN(ours.gamma if scale else 1.0,
                           ours.beta if center else 0.0)
    textbook.trainable_weights = ours.trainable_weights
    want = _penalty_gradients(textbook, _textbook_twin(ln_b), w, x)
    for a, b in zip(got, want):
        _close(a, b)


def test_trailing_axis_of_a_sequence(rng):
    shape = (2, 7, 6)
    ours, ref = _pair(rng, shape, axis=-1)
    assert tuple(ours.gamma.shape) == (6,)
    x = rng.normal(size=shape).astype(np.float32)
    _close(ours(x), ref(x))


def test_weights_names_and_checkpoints_are_keras_compatible(rng, tmp_path):
    ours, ref = _pair(rng)
    assert [w.name for w in ours.weights] == [w.name for w in ref.weights]
    assert [w.shape for w in ours.weights] == [w.shape for w in ref.weights]
    inputs = keras.Input(SHAPE[1:])
    model = keras.Model(inputs, FlatLayerNormalization(
        axis=AXES, epsilon=1e-5, name="ln")(inputs))
    model.get_layer("ln").set_weights(ours.get_weights())
    path = str(tmp_path / "ln.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    layer = loaded.get_layer("ln")
    assert isinstance(layer, FlatLayerNormalization)
    assert layer.epsilon == 1e-5 and layer.axis == AXES
    x = rng.normal(size=SHAPE).astype(np.float32)
    _close(loaded(x), model(x), tol=0)


def test_mixed_precision_computes_statistics_in_float32(rng):
    x = rng.normal(3.0, 2.0, SHAPE).astype(np.float32)
    layer = FlatLayerNormalization(axis=AXES, dtype="mixed_bfloat16")
    out = layer(tf.constant(x, tf.bfloat16))
    assert out.dtype == tf.bfloat16
    assert layer.gamma.dtype == "float32"
    expected = _numpy_ln(x.astype(tf.bfloat16.as_numpy_dtype).astype(
        np.float32), 1.0, 0.0, 1e-3)
    np.testing.assert_allclose(out.numpy().astype(np.float32), expected,
                               atol=2e-2)


@pytest.mark.parametrize("axis", [[1, 3], 0, [0, 1, 2, 3], [2, 2, 3], 4])
def test_invalid_axes_raise(axis):
    layer = FlatLayerNormalization(axis=axis)
    with pytest.raises(ValueError, match="axis"):
        layer.build(SHAPE)


def test_invalid_epsilon_raises():
    with pytest.raises(ValueError, match="epsilon"):
        FlatLayerNormalization(epsilon=0.0)


def test_builder_layer_norm_uses_the_flat_layer(rng):
    spec = [{"op": "c", "out": 4, "kernel": 4, "strides": 2, "act_nm": "ln"}]
    net = build_network(spec, (8, 8, 1))
    layer = net.get_layer("l0_ln")
    assert isinstance(layer, FlatLayerNormalization)
    assert layer.axis == [1, 2, 3] and layer.epsilon == 1e-3
    ref = keras.layers.LayerNormalization(axis=[1, 2, 3])
    h = net.get_layer("l0_conv")(rng.normal(size=(3, 8, 8, 1)).astype(
        np.float32))
    ref.build(h.shape)
    layer.set_weights([rng.normal(1, 0.3, (4, 4, 4)).astype(np.float32),
                       rng.normal(0, 0.3, (4, 4, 4)).astype(np.float32)])
    ref.set_weights(layer.get_weights())
    _close(layer(h), ref(h))

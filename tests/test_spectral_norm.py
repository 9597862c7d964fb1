"""Tests for general_tools.spectral_norm against explicit operator matrices."""

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from general_tools.spectral_norm import (
    SpectralNormalization,
    estimate_operator_norm,
    spectral_norm_sigmas,
)

IN_SHAPE = (6, 6, 2)
C_OUT = 3


def _apply(x, kernel, strides, padding, transposed, output_padding=None):
    """The bias-free op, computed by TF / Keras directly (the reference)."""
    if transposed:  # Keras's own transposed conv defines the output shape.
        return keras.ops.conv_transpose(
            x, kernel, strides=strides, padding=padding,
            output_padding=output_padding, data_format="channels_last")
    return tf.nn.conv2d(x, kernel, strides=strides, padding=padding.upper())


def _explicit_matrix(kernel, in_shape, strides, padding, transposed,
                     output_padding=None):
    """Matrix M of the op: op(x).ravel() == x.ravel() @ M."""
    size = int(np.prod(in_shape))
    basis = np.eye(size, dtype="float32").reshape((size,) + tuple(in_shape))
    out = np.asarray(_apply(basis, kernel, strides, padding, transposed,
                            output_padding))
    return out.reshape(size, -1), out.shape[1:]


def _top_singular_value(matrix):
    return float(np.linalg.svd(np.asarray(matrix, "float64"),
                               compute_uv=False)[0])


def _kernel(rng, size, transposed, c_in=IN_SHAPE[2], c_out=C_OUT):
    shape = (size, size, c_out, c_in) if transposed else (size, size, c_in,
                                                          c_out)
    return rng.standard_normal(shape).astype("float32")


GRID = [(transposed, strides, padding, size)
        for transposed in (False, True) for strides in (1, 2)
        for padding in ("same", "valid") for size in (3, 4)]


@pytest.mark.parametrize("transposed,strides,padding,size", GRID)
def test_estimate_operator_norm_matches_svd(rng, transposed, strides, padding,
                                            size):
    kernel = _kernel(rng, size, transposed)
    matrix, _ = _explicit_matrix(kernel, IN_SHAPE, strides, padding,
                                 transposed)
    exact = _top_singular_value(matrix)
    estimate = estimate_operator_norm(kernel, IN_SHAPE, strides=strides,
                                      padding=padding.upper(),
                                      transposed=transposed, iterations=1000)
    assert isinstance(estimate, float)
    assert estimate == pytest.approx(exact, rel=1e-3)


def test_estimate_operator_norm_dense_and_bad_input(rng):
    for shape in ((7, 4), (3, 9)):
        kernel = rng.standard_normal(shape).astype("float32")
        assert estimate_operator_norm(kernel, None) == pytest.approx(
            _top_singular_value(kernel), rel=1e-3)
    with pytest.raises(ValueError, match="channels"):
        estimate_operator_norm(_kernel(rng, 3, False), (6, 6, 5))
    with pytest.raises(ValueError, match="padding"):
        estimate_operator_norm(_kernel(rng, 3, False), IN_SHAPE,
                               padding="full")


def _wrapped_conv(transposed, strides, padding, size, **layer_kwargs):
    cls = keras.layers.Conv2DTranspose if transposed else keras.layers.Conv2D
    return cls(C_OUT, size, strides=strides, padding=padding,
               bias_initializer="random_normal", **layer_kwargs)


@pytest.mark.parametrize("transposed,strides,padding,size",
                         [g for g in GRID if g[3] == (4 if g[0] else 3)])
def test_conv_mode_sigma_and_output(rng, transposed, strides, padding, size):
    layer = _wrapped_conv(transposed, strides, padding, size,
                          activation="relu")
    multiplier = 64 ** (1 / 8)
    # Conv spectra cluster near the top, so use 1000 steps in all (traced
    # once with tf.function, which also covers graph-mode assignment).
    sn = SpectralNormalization(layer, multiplier=multiplier,
                               power_iterations=250)
    train_call = tf.function(lambda inputs: sn(inputs, training=True))
    x = rng.standard_normal((2,) + IN_SHAPE).astype("float32")
    for _ in range(4):
        y = train_call(x)
    kernel = layer.kernel.numpy()
    matrix, out_shape = _explicit_matrix(kernel, IN_SHAPE, strides, padding,
                                         transposed)
    assert float(sn.sigma) == pytest.approx(_top_singular_value(matrix),
                                            rel=1e-3)
    assert tuple(sn.vector.shape) == (1,) + IN_SHAPE
    # Forward formula: relu(x M * C / sigma + b), sigma = the value the call
    # used and stored.
    expected = (x.reshape(2, -1) @ matrix).reshape((2,) + out_shape)
    expected = expected * multiplier / float(sn.sigma) + layer.bias.numpy()
    np.testing.assert_allclose(np.asarray(y), np.maximum(expected, 0.0),
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("transposed,strides,padding,size,output_padding", [
    (True, 2, "same", 4, None), (True, 2, "valid", 3, None),
    (True, 1, "valid", 4, None), (True, 2, "same", 3, 1),
    (True, 2, "valid", 4, 1), (False, 2, "same", 4, None),
    (False, 2, "valid", 3, None),
])
def test_output_equals_unwrapped_layer_when_multiplier_is_sigma(
        rng, transposed, strides, padding, size, output_padding):
    extra = {"output_padding": output_padding} if transposed else {}
    layer = _wrapped_conv(transposed, strides, padding, size, **extra)
    in_shape = (5, 7, 2)
    layer.build((None,) + in_shape)
    matrix, _ = _explicit_matrix(layer.kernel.numpy(), in_shape, strides,
                                 padding, transposed, output_padding)
    _, singular, vh = np.linalg.svd(matrix.T.astype("float64"))
    sn = SpectralNormalization(layer, multiplier=float(singular[0]))
    x = rng.standard_normal((3,) + in_shape).astype("float32")
    sn.build(x.shape)
    # Stored vector = exact top right-singular vector => sigma is exact.
    sn.vector.assign(vh[0].reshape((1,) + in_shape).astype("float32"))
    wrapped = np.asarray(sn(x, training=False))
    plain = np.asarray(layer(x))
    assert wrapped.shape == plain.shape
    np.testing.assert_allclose(wrapped, plain, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kind", ["conv", "conv_transpose", "dense_wide",
                                  "dense_tall"])
def test_matrix_mode_matches_reshaped_kernel_svd(rng, kind):
    if kind == "conv":
        layer, x = keras.layers.Conv2D(5, 3), np.zeros((1, 6, 6, 2))
    elif kind == "conv_transpose":
        layer, x = keras.layers.Conv2DTranspose(5, 4, strides=2), np.zeros(
            (1, 6, 6, 2))
    elif kind == "dense_wide":
        layer, x = keras.layers.Dense(9), np.zeros((1, 4))
    else:
        layer, x = keras.layers.Dense(3), np.zeros((1, 8))
    sn = SpectralNormalization(layer, mode="matrix", power_iterations=100)
    for _ in range(2):
        sn(x.astype("float32"), training=True)
    kernel = layer.kernel.numpy()
    matrix = kernel.reshape(-1, kernel.shape[-1])
    assert tuple(sn.vector.shape) == (1, min(matrix.shape))
    assert float(sn.sigma) == pytest.approx(_top_singular_value(matrix),
                                            rel=1e-3)


def test_dense_ignores_conv_mode(rng):
    layer = keras.layers.Dense(6)
    sn = SpectralNormalization(layer, mode="conv", power_iterations=50)
    sn(np.ones((2, 4), "float32"), training=True)
    assert tuple(sn.vector.shape) == (1, 4)
    assert float(sn.sigma) == pytest.approx(
        _top_singular_value(layer.kernel.numpy()), rel=1e-3)


def test_inference_does_not_update_and_training_does(rng):
    sn = SpectralNormalization(keras.layers.Conv2D(3, 3, strides=2))
    x = rng.standard_normal((2,) + IN_SHAPE).astype("float32")
    sn(x, training=False)
    vector, sigma = sn.vector.numpy().copy(), float(sn.sigma)
    for _ in range(3):
        sn(x, training=False)
        sn(x)
    np.testing.assert_array_equal(sn.vector.numpy(), vector)
    assert float(sn.sigma) == sigma == 1.0  # the initial value
    sn(x, training=True)
    assert not np.allclose(sn.vector.numpy(), vector)
    assert float(sn.sigma) != sigma
    assert np.linalg.norm(sn.vector.numpy()) == pytest.approx(1.0, rel=1e-5)


def _unit(v):
    return v / tf.norm(v)


def _conv_case():
    layer = keras.layers.Conv2D(3, 3, strides=2, padding="same")

    def reference_sigma(kernel, v):
        return tf.norm(tf.nn.conv2d(v, kernel, 2, "SAME"))

    def reference_op(x, kernel):
        return tf.nn.conv2d(x, kernel, 2, "SAME") + layer.bias

    return layer, (2,) + IN_SHAPE, reference_sigma, reference_op


def _dense_case(units, features):
    layer = keras.layers.Dense(units)

    def reference_sigma(kernel, v):
        if features <= units:  # vector on the input side
            return tf.norm(tf.matmul(v, kernel))
        return tf.norm(tf.matmul(kernel, v, transpose_b=True))

    def reference_op(x, kernel):
        return tf.matmul(x, kernel) + layer.bias

    return layer, (2, features), reference_sigma, reference_op


@pytest.mark.parametrize("case", ["conv", "dense_wide", "dense_tall"])
def test_gradient_flows_through_sigma_with_constant_vector(rng, case):
    if case == "conv":
        layer, x_shape, ref_sigma, ref_op = _conv_case()
    else:
        layer, x_shape, ref_sigma, ref_op = _dense_case(
            *((7, 4) if case == "dense_wide" else (3, 6)))
    multiplier = 1.82
    sn = SpectralNormalization(layer, multiplier=multiplier)
    x = tf.constant(rng.standard_normal(x_shape).astype("float32"))
    sn.build(x.shape)
    weights = tf.constant(rng.standard_normal(
        sn.compute_output_shape(x.shape)).astype("float32"))
    v = _unit(tf.constant(sn.vector.numpy()))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(sn(x, training=True) * weights)
    grad = tape.gradient(loss, layer.kernel)
    kernel = tf.Variable(layer.kernel.numpy())
    with tf.GradientTape(persistent=True) as ref_tape:
        sigma = ref_sigma(kernel, v)
        ref_loss = tf.reduce_sum(
            ref_op(x, kernel * multiplier / sigma) * weights)
        frozen_loss = tf.reduce_sum(ref_op(
            x, kernel * multiplier / tf.stop_gradient(sigma)) * weights)
    ref_grad = ref_tape.gradient(ref_loss, kernel)
    frozen_grad = ref_tape.gradient(frozen_loss, kernel)
    assert float(sn.sigma) == pytest.approx(float(sigma), rel=1e-5)
    assert float(loss) == pytest.approx(float(ref_loss), rel=1e-5)
    assert np.abs(grad.numpy()).max() > 1e-3
    np.testing.assert_allclose(grad.numpy(), ref_grad.numpy(), rtol=1e-4,
                               atol=1e-5)
    # The sigma term really contributes to the gradient.
    assert not np.allclose(grad.numpy(), frozen_grad.numpy(), atol=1e-3)


_MIRRORED_SCRIPT = textwrap.dedent("""
    import json, os
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from general_tools.spectral_norm import SpectralNormalization
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        layer = keras.layers.Conv2D(3, 3, strides=2, padding="same")
        sn = SpectralNormalization(layer, multiplier=1.5)
        sn.build((None, 6, 6, 2))
        optimizer = keras.optimizers.SGD(0.1)
        optimizer.build(sn.trainable_variables)
    v0 = sn.vector.numpy()
    w0 = layer.kernel.numpy()
    x = np.random.default_rng(0).standard_normal((4, 6, 6, 2)).astype("f4")

    @tf.function
    def step(batch):
        def replica_fn(inputs):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(sn(inputs, training=True) ** 2)
            grads = tape.gradient(loss, sn.trainable_variables)
            optimizer.apply(grads, sn.trainable_variables)
            return loss
        return strategy.run(replica_fn, args=(batch,))

    dataset = strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices(x).batch(4))
    step(next(iter(dataset)))
    v = v0 / np.linalg.norm(v0)
    u = tf.nn.conv2d(v, w0, 2, "SAME")
    sigma = float(tf.norm(u))
    v_new = tf.nn.conv2d_transpose(u / tf.norm(u), w0, v.shape, 2, "SAME")
    v_new = (v_new / tf.norm(v_new)).numpy()
    print(json.dumps({
        "replicas": strategy.num_replicas_in_sync,
        "sigma": float(sn.sigma.numpy()), "sigma_ref": sigma,
        "vector_err": float(np.abs(sn.vector.numpy() - v_new).max()),
        "kernel_moved": float(np.abs(layer.kernel.numpy() - w0).max()),
        "replica_vectors_equal": bool(all(np.array_equal(
            t.numpy(), sn.vector.numpy())
            for t in sn.vector.value.values)),
    }))
""")


def test_mirrored_strategy_training_step():
    result = subprocess.run(
        [sys.executable, "-c", _MIRRORED_SCRIPT], capture_output=True,
        text=True, timeout=120,
        env={**__import__("os").environ,
             "PYTHONPATH": str(__import__("pathlib").Path(
                 __file__).resolve().parents[1])})
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2
    assert report["sigma"] == pytest.approx(report["sigma_ref"], rel=1e-5)
    assert report["vector_err"] < 1e-5
    assert report["kernel_moved"] > 0.0
    assert report["replica_vectors_equal"]


def test_mixed_precision_keeps_power_iteration_in_float32(rng):
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        layer = keras.layers.Conv2D(4, 3, padding="same")
        sn = SpectralNormalization(layer, multiplier=1.5)
        x = rng.standard_normal((2, 6, 6, 2)).astype("float32")
        sn.build(x.shape)
        v = _unit(tf.constant(sn.vector.numpy()))
        y = sn(x, training=True)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    kernel = layer.kernel.numpy()
    assert layer.kernel.dtype == "float32"
    assert sn.vector.dtype == "float32" and sn.sigma.dtype == "float32"
    assert y.dtype == tf.bfloat16
    sigma = float(tf.norm(tf.nn.conv2d(v, kernel, 1, "SAME")))
    # bf16 rounding of the kernel would give ~1e-3 relative errors.
    assert float(sn.sigma) == pytest.approx(sigma, rel=1e-6)
    expected = tf.nn.conv2d(x, kernel * 1.5 / sigma, 1, "SAME") + layer.bias
    np.testing.assert_allclose(np.asarray(tf.cast(y, tf.float32)),
                               expected.numpy(), rtol=3e-2, atol=3e-2)


def _tiny_model():
    inputs = keras.Input((8, 8, 3))
    h = SpectralNormalization(keras.layers.Conv2D(4, 4, strides=2,
                                                  padding="same"),
                              multiplier=1.3, name="sn_conv")(inputs)
    h = SpectralNormalization(keras.layers.Conv2DTranspose(
        2, 3, strides=2, padding="same", activation="relu"), mode="matrix",
        name="sn_tconv")(h)
    h = keras.layers.Flatten()(h)
    outputs = SpectralNormalization(keras.layers.Dense(5),
                                    power_iterations=2, name="sn_dense")(h)
    return keras.Model(inputs, outputs)


def test_config_round_trip_and_keras_save_load(rng, tmp_path):
    sn = SpectralNormalization(keras.layers.Conv2D(4, 3), mode="MATRIX",
                               multiplier=1.82, power_iterations=3,
                               epsilon=1e-8, name="sn")
    config = sn.get_config()
    assert {k: config[k] for k in ("mode", "multiplier", "power_iterations",
                                   "epsilon")} == {
        "mode": "matrix", "multiplier": 1.82, "power_iterations": 3,
        "epsilon": 1e-8}
    clone = SpectralNormalization.from_config(json.loads(json.dumps(config)))
    assert clone.get_config() == config
    assert isinstance(clone.layer, keras.layers.Conv2D)

    model = _tiny_model()
    x = rng.standard_normal((2, 8, 8, 3)).astype("float32")
    for _ in range(3):
        model(x, training=True)
    path = tmp_path / "sn_model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(np.asarray(loaded(x, training=False)),
                                  np.asarray(model(x, training=False)))
    for name in ("sn_conv", "sn_tconv", "sn_dense"):
        old, new = model.get_layer(name), loaded.get_layer(name)
        np.testing.assert_array_equal(new.vector.numpy(), old.vector.numpy())
        assert float(new.sigma) == float(old.sigma)


def test_spectral_norm_sigmas_finds_nested_layers(rng):
    inner = _tiny_model()
    inputs = keras.Input((8, 8, 3))
    outputs = SpectralNormalization(keras.layers.Dense(1), name="head")(
        inner(inputs))
    outer = keras.Model(inputs, outputs)
    outer(rng.standard_normal((2, 8, 8, 3)).astype("float32"), training=True)
    sigmas = spectral_norm_sigmas(outer)
    assert sorted(sigmas) == ["head", "sn_conv", "sn_dense", "sn_tconv"]
    assert sigmas["sn_conv"] is inner.get_layer("sn_conv").sigma
    assert float(sigmas["head"]) == pytest.approx(
        np.linalg.norm(outer.get_layer("head").layer.kernel.numpy()),
        rel=1e-5)  # a one-column matrix: the first step is exact


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="Conv1D"):
        SpectralNormalization(keras.layers.Conv1D(2, 3))
    with pytest.raises(ValueError, match="DepthwiseConv2D"):
        SpectralNormalization(keras.layers.DepthwiseConv2D(3))
    with pytest.raises(ValueError, match="mode='spectral'"):
        SpectralNormalization(keras.layers.Dense(2), mode="spectral")
    with pytest.raises(ValueError, match="dilation_rate"):
        SpectralNormalization(keras.layers.Conv2D(2, 3, dilation_rate=2))
    with pytest.raises(ValueError, match="channels_last"):
        SpectralNormalization(keras.layers.Conv2D(
            2, 3, data_format="channels_first"))
    with pytest.raises(ValueError, match="power_iterations"):
        SpectralNormalization(keras.layers.Dense(2), power_iterations=0)
    sn = SpectralNormalization(keras.layers.Conv2D(2, 3))
    with pytest.raises(ValueError, match="static spatial"):
        sn.build((None, None, None, 3))

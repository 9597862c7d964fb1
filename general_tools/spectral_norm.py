"""Spectral normalisation of dense, convolution and transposed-convolution
layers, on the layer's linear operator (MMD-GAN repulsive) or on the reshaped
kernel matrix (Miyato et al.).

Method
------
A layer ``y = F_W(x) + b`` with a linear part ``F_W`` is made (C-)Lipschitz by
dividing its kernel by the largest singular value of ``F_W``::

    W_sn = W * C / sigma(W),   sigma(W) = max_{x != 0} ||F_W(x)|| / ||x||.

``sigma`` is tracked by power iteration with one stored vector ``v`` that is
carried over from one training step to the next, so one iteration per step is
enough (Miyato et al., 2018). One step, with ``n(z) = z / (||z||_2 + eps)``::

    u = F_W(n(v))                 # forward operator
    sigma = ||u||_2               # uses the OLD vector; v is a constant here
    v' = n(F_W^T(n(u)))           # adjoint operator; stored for the next step

``v`` is a non-trainable variable, so gradients reach ``W`` through both the
kernel and ``sigma``; this is the gradient of Miyato et al. Note that ``v`` is
normalised when it is read: the stored vector starts as an unnormalised
N(0, 1) draw (as in the authors' code), and reading it through ``n`` makes
the very first ``sigma`` correctly scaled; afterwards ``v`` is already a unit
vector, so the step above is exactly the authors' step.

Two ways to choose ``F_W`` (``mode``):

* ``'conv'`` (default; "PICO", power iteration on the convolution operator,
  Wang, Sun & Halgamuge, ICLR 2019, "Improving MMD-GAN training with repulsive
  loss function"). ``F_W`` is the convolution itself, with the layer's
  strides and padding, acting on a whole ``(1, H, W, C_in)`` feature map, and
  ``F_W^T`` is its exact adjoint (``conv2d_transpose`` for a convolution,
  ``conv2d`` for a transposed convolution). The convolution *is* the linear map
  ``R^{H*W*C_in} -> R^{H'*W'*C_out}`` that the network applies, so ``sigma``
  converges to its true l2 operator norm, i.e. the layer's Lipschitz constant.
  The norm depends on the spatial size, which is therefore fixed when the
  layer is built.
* ``'matrix'`` ("PIM", Miyato et al., ICLR 2018, "Spectral normalization for
  generative adversarial networks"). ``F_W`` is the kernel reshaped to the
  matrix ``W_mat`` of shape ``(-1, kernel.shape[-1])``. This is only a proxy
  for the operator norm: each output pixel applies ``W_mat`` to one
  ``kh * kw * C_in`` patch and each input pixel lies in at most ``kh * kw``
  patches, so ``||F_W|| <= sqrt(kh * kw) * sigma(W_mat)`` (Tsuzuku et al.,
  2018), and the two generally differ; the normalised layer is then not
  exactly C-Lipschitz.

Dense layers always use the matrix iteration (there ``F_W`` is ``W_mat``).
For matrices the stored vector lives on the smaller side of ``W_mat``, as in
the authors' code; the singular values are the same either way.

Multiplier
----------
``C`` (``multiplier``, the authors' ``act_k``) rescales the normalised
kernel, so each layer has Lipschitz constant ``C`` and an ``L``-layer
discriminator at most ``C^L``. The paper's main text uses ``C = 1.82``; the
authors' scripts use ``C = 64^(1/L)`` (``L`` = number of discriminator layers,
e.g. ``64^(1/8) ~= 1.682`` for the CIFAR-10 DCGAN), which the README reports
as more stable. The bias is not scaled.

Numerics
--------
The power iteration and ``sigma`` always run in float32; under a mixed
precision policy only the final op ``F_{W_sn}(x) + b`` runs in the compute
dtype.
"""

import keras
import numpy as np
import tensorflow as tf

try:  # Keras 3 has no public way to read a variable without autocasting.
    from keras.src.backend import AutocastScope as _AutocastScope
except ImportError:  # pragma: no cover - the mixed-precision test guards it
    _AutocastScope = None

_MODES = ("conv", "matrix")
_PADDINGS = ("same", "valid")


def _pair(value, name):
    """Returns `value` (an int or a pair) as two positive ints."""
    if isinstance(value, (int, np.integer)):
        value = (int(value), int(value))
    value = tuple(int(v) for v in value)
    if len(value) != 2 or min(value) < 1:
        raise ValueError(
            f"`{name}` must be a positive int or a pair of positive ints. "
            f"Received: {name}={value}"
        )
    return value


def _check_padding(padding):
    if not isinstance(padding, str) or padding.lower() not in _PADDINGS:
        raise ValueError(
            f"`padding` must be one of {_PADDINGS} (any case). "
            f"Received: padding={padding!r}"
        )
    return padding.lower()


def _read_float32(variable):
    """Reads `variable` as float32, bypassing mixed-precision autocasting."""
    if _AutocastScope is None:
        return tf.cast(variable, tf.float32)
    with _AutocastScope(None):
        return tf.cast(tf.convert_to_tensor(variable), tf.float32)


def _l2_normalize(z, epsilon):
    """z / (||z||_2 + epsilon), the norm taken over all entries."""
    return z / (tf.norm(z) + epsilon)


def transposed_output_length(length, kernel_size, stride, padding,
                             output_padding=None):
    """Spatial output length of a Keras 3 ``Conv2DTranspose`` (dilation 1).

    Args:
        length: int or scalar tensor. Input length.
        kernel_size: int. Kernel length.
        stride: int. Stride.
        padding: str. ``'same'`` or ``'valid'``.
        output_padding: int or None. Keras's ``output_padding``. Defaults to
            None (Keras's inferred length).

    Returns:
        The output length, an int when `length` is an int.
    """
    if padding == "valid":
        if output_padding is None:
            return length * stride + max(kernel_size - stride, 0)
        return (length - 1) * stride + kernel_size + output_padding
    if output_padding is None:
        return length * stride
    return (length - 1) * stride + kernel_size % 2 + output_padding


def _conv(x, kernel, strides, padding, transposed, output_padding=None):
    """Applies the (transposed) convolution F_W to a NHWC batch, no bias."""
    tf_strides = (1, strides[0], strides[1], 1)
    if not transposed:
        return tf.nn.conv2d(x, kernel, tf_strides, padding.upper())
    dynamic = tf.shape(x)
    sizes = [x.shape[i] if x.shape[i] is not None else dynamic[i]
             for i in (1, 2)]
    output_padding = output_padding or (None, None)
    out_hw = [transposed_output_length(sizes[i], kernel.shape[i], strides[i],
                                       padding, output_padding[i])
              for i in (0, 1)]
    output_shape = tf.stack([dynamic[0], out_hw[0], out_hw[1],
                             kernel.shape[2]])
    return tf.nn.conv2d_transpose(x, kernel, output_shape, tf_strides,
                                  padding.upper())


def _conv_adjoint(y, kernel, input_shape, strides, padding, transposed):
    """Applies F_W^T, the adjoint of `_conv`, mapping back to `input_shape`."""
    tf_strides = (1, strides[0], strides[1], 1)
    if transposed:
        return tf.nn.conv2d(y, kernel, tf_strides, padding.upper())
    return tf.nn.conv2d_transpose(y, kernel, input_shape, tf_strides,
                                  padding.upper())


def _matrix_operator(matrix):
    """(forward, adjoint, vector_length) for the smaller side of `matrix`."""
    rows, cols = matrix.shape
    if rows <= cols:  # v in R^rows: F(v) = v W, F^T(u) = u W^T.
        return (lambda v: tf.matmul(v, matrix),
                lambda u: tf.matmul(u, matrix, transpose_b=True), rows)
    return (lambda v: tf.matmul(v, matrix, transpose_b=True),
            lambda u: tf.matmul(u, matrix), cols)


def estimate_operator_norm(kernel, input_shape, strides=1, padding="same",
                           transposed=False, iterations=100,
                           output_padding=None, seed=0):
    """Largest singular value of a dense, conv or transposed-conv operator.

    Runs `iterations` power-iteration steps ``v <- n(F^T(n(F(v))))`` from a
    seeded N(0, 1) start on the linear operator itself (no kernel reshaping)
    and returns ``||F(n(v))||_2``.

    Args:
        kernel: array-like. A 2-D dense kernel ``(in, out)``; a Conv2D kernel
            ``(kh, kw, c_in, c_out)``; or, with ``transposed=True``, a
            Conv2DTranspose kernel ``(kh, kw, c_out, c_in)``.
        input_shape: tuple ``(H, W, C)`` of the op's input, or None for a
            dense kernel.
        strides: int or pair of ints. Conv strides. Defaults to 1.
        padding: str. ``'same'`` or ``'valid'``, any case. Defaults to
            ``'same'``.
        transposed: bool. Whether `kernel` is a transposed convolution's.
            Defaults to False.
        iterations: int. Number of power-iteration steps. Defaults to 100.
        output_padding: None or pair of ints. Conv2DTranspose's
            ``output_padding``. Defaults to None.
        seed: int. Seed of the starting vector. Defaults to 0.

    Returns:
        float. The estimated operator norm (a lower bound that converges to
        it). Convolution spectra cluster near the top, so 100 steps can be
        ~1e-3 low; use ~1000 for a tighter value.

    Example:

    >>> w = np.eye(3, dtype="float32") * [1.0, 2.0, 3.0]
    >>> round(estimate_operator_norm(w, None), 4)
    3.0
    """
    if not isinstance(iterations, (int, np.integer)) or iterations < 1:
        raise ValueError(
            f"`iterations` must be a positive int. Received: "
            f"iterations={iterations!r}"
        )
    kernel = tf.convert_to_tensor(kernel, dtype=tf.float32)
    if kernel.shape.rank == 2:
        forward, adjoint, length = _matrix_operator(kernel)
        shape = (1, length)
    elif kernel.shape.rank == 4:
        strides = _pair(strides, "strides")
        padding = _check_padding(padding)
        if input_shape is None or len(input_shape) != 3:
            raise ValueError(
                "`input_shape` must be (H, W, C) for a conv kernel. "
                f"Received: input_shape={input_shape}"
            )
        channels = kernel.shape[3] if transposed else kernel.shape[2]
        if input_shape[2] != channels:
            raise ValueError(
                f"`input_shape` has {input_shape[2]} channels but the kernel "
                f"of shape {tuple(kernel.shape)} (transposed={transposed}) "
                f"expects {channels}. Received: input_shape={input_shape}"
            )
        shape = (1,) + tuple(int(d) for d in input_shape)
        if output_padding is not None:
            output_padding = _pair(output_padding, "output_padding")

        def forward(v):
            return _conv(v, kernel, strides, padding, transposed,
                         output_padding)

        def adjoint(u):
            return _conv_adjoint(u, kernel, shape, strides, padding,
                                 transposed)
    else:
        raise ValueError(
            "`kernel` must be 2-D (dense) or 4-D (conv). Received: "
            f"kernel.shape={tuple(kernel.shape)}"
        )
    tiny = 1e-30  # only guards a zero kernel against 0 / 0

    @tf.function(autograph=False)
    def run():
        def body(i, v):
            u = _l2_normalize(forward(v), tiny)
            return i + 1, _l2_normalize(adjoint(u), tiny)

        v = tf.random.stateless_normal(shape, seed=(int(seed), 0))
        _, v = tf.while_loop(lambda i, _: i < int(iterations), body,
                             (tf.constant(0), v))
        return tf.norm(forward(_l2_normalize(v, tiny)))

    return float(run())


@keras.saving.register_keras_serializable(package="mixgan")
class SpectralNormalization(keras.layers.Wrapper):
    """Spectral normalisation wrapper for Dense, Conv2D and Conv2DTranspose.

    The wrapped layer's kernel ``W`` is used as ``W * multiplier / sigma``,
    where ``sigma`` is a power-iteration estimate of the largest singular
    value of the layer's linear operator (``mode='conv'``, Wang et al. 2019)
    or of the reshaped kernel (``mode='matrix'``, Miyato et al. 2018); see
    the module docstring for the formulas. The wrapper computes
    ``activation(op(x, W * multiplier / sigma) + bias)`` itself with the
    wrapped layer's variables and settings and never writes into them.

    With ``training=True`` each call runs `power_iterations` steps, updates
    the stored vector and the ``sigma`` variable; otherwise ``sigma`` is
    recomputed from the stored vector and nothing is assigned. The stored
    vector (``vector``) has shape ``(1, H, W, C_in)`` in conv mode (``H, W``
    fixed at build time) and ``(1, min(rows, cols))`` for the matrix
    iteration. ``sigma`` is a float32 scalar variable for logging.

    Args:
        layer: ``keras.layers.Dense``, ``keras.layers.Conv2D`` or
            ``keras.layers.Conv2DTranspose`` (channels_last, dilation 1,
            groups 1), built or not.
        mode: str. ``'conv'`` (operator power iteration) or ``'matrix'``
            (reshaped kernel). Dense layers always use the matrix iteration.
            Defaults to ``'conv'``.
        multiplier: float. The Lipschitz constant ``C`` given to the layer
            (the authors' ``act_k``). Defaults to 1.0.
        power_iterations: int. Power-iteration steps per training call.
            Defaults to 1.
        epsilon: float. Added to norms before dividing. Defaults to 1e-10.
        **kwargs: base layer arguments (``name``, ``dtype``, ...).

    Example:

    >>> conv = keras.layers.Conv2D(8, 4, strides=2, padding="same")
    >>> sn = SpectralNormalization(conv, multiplier=64 ** (1 / 8))
    >>> y = sn(np.ones((2, 16, 16, 3), "float32"), training=True)
    >>> tuple(y.shape), tuple(sn.vector.shape)
    ((2, 8, 8, 8), (1, 16, 16, 3))
    """

    def __init__(self, layer, mode="conv", multiplier=1.0, power_iterations=1,
                 epsilon=1e-10, **kwargs):
        supported = (keras.layers.Dense, keras.layers.Conv2D,
                     keras.layers.Conv2DTranspose)
        if not isinstance(layer, supported):
            raise ValueError(
                "`SpectralNormalization` wraps Dense, Conv2D or "
                f"Conv2DTranspose layers. Received: layer of type "
                f"{type(layer).__name__}"
            )
        if not isinstance(mode, str) or mode.lower() not in _MODES:
            raise ValueError(
                f"`mode` must be one of {_MODES}. Received: mode={mode!r}"
            )
        if not isinstance(power_iterations, (int, np.integer)) or (
                power_iterations < 1):
            raise ValueError(
                "`power_iterations` must be a positive int. Received: "
                f"power_iterations={power_iterations!r}"
            )
        if not float(multiplier) > 0.0:
            raise ValueError(
                f"`multiplier` must be positive. Received: "
                f"multiplier={multiplier!r}"
            )
        if not float(epsilon) >= 0.0:
            raise ValueError(
                f"`epsilon` must be >= 0. Received: epsilon={epsilon!r}"
            )
        if not isinstance(layer, keras.layers.Dense):
            _check_conv_layer(layer)
        super().__init__(layer, **kwargs)
        self.mode = mode.lower()
        self.multiplier = float(multiplier)
        self.power_iterations = int(power_iterations)
        self.epsilon = float(epsilon)
        self._is_dense = isinstance(layer, keras.layers.Dense)
        self._transposed = isinstance(layer, keras.layers.Conv2DTranspose)

    @property
    def uses_operator_iteration(self):
        """True when ``sigma`` is the conv operator's norm (conv mode)."""
        return self.mode == "conv" and not self._is_dense

    def build(self, input_shape):
        super().build(input_shape)
        kernel_shape = tuple(self.layer.kernel.shape)
        if self.uses_operator_iteration:
            height, width = input_shape[1], input_shape[2]
            if height is None or width is None:
                raise ValueError(
                    "mode='conv' needs a static spatial input size to fix "
                    f"the operator. Received: input_shape={input_shape} "
                    f"(layer '{self.name}')"
                )
            channels = kernel_shape[3] if self._transposed else (
                kernel_shape[2])
            vector_shape = (1, int(height), int(width), int(channels))
        else:
            rows = int(np.prod(kernel_shape[:-1]))
            vector_shape = (1, min(rows, int(kernel_shape[-1])))
        self.vector = self.add_weight(
            name="sn_vector", shape=vector_shape, dtype="float32",
            initializer=keras.initializers.RandomNormal(0.0, 1.0),
            trainable=False, autocast=False,
            aggregation="only_first_replica")
        self.sigma = self.add_weight(
            name="sigma", shape=(), dtype="float32", initializer="ones",
            trainable=False, autocast=False,
            aggregation="only_first_replica")
        self.built = True

    def _operator(self, kernel):
        """(forward, adjoint) of the power iteration for a float32 kernel."""
        if not self.uses_operator_iteration:
            matrix = tf.reshape(kernel, (-1, kernel.shape[-1]))
            forward, adjoint, _ = _matrix_operator(matrix)
            return forward, adjoint
        layer = self.layer
        strides = tuple(layer.strides)
        output_padding = getattr(layer, "output_padding", None)
        shape = tuple(self.vector.shape)

        def forward(v):
            return _conv(v, kernel, strides, layer.padding, self._transposed,
                         output_padding)

        def adjoint(u):
            return _conv_adjoint(u, kernel, shape, strides, layer.padding,
                                 self._transposed)
        return forward, adjoint

    def _sigma_and_vector(self, kernel, training):
        """Returns ``(sigma, new_vector)`` in float32 without assigning.

        ``sigma`` carries the gradient w.r.t. the float32 `kernel` (the
        vector is a constant). With ``training=False`` no power-iteration
        step is run and ``new_vector`` is the normalised stored vector.
        """
        frozen = tf.stop_gradient(kernel)
        v = tf.stop_gradient(_l2_normalize(_read_float32(self.vector),
                                           self.epsilon))
        if training and self.power_iterations > 1:
            forward_sg, adjoint_sg = self._operator(frozen)

            def body(i, v):
                u = _l2_normalize(forward_sg(v), self.epsilon)
                return i + 1, _l2_normalize(adjoint_sg(u), self.epsilon)

            _, v = tf.while_loop(
                lambda i, _: i < self.power_iterations - 1, body,
                (tf.constant(0), v))
        forward, _ = self._operator(kernel)
        u = forward(v)
        sigma = tf.norm(u)
        if not training:
            return sigma, v
        _, adjoint_sg = self._operator(frozen)
        new_v = adjoint_sg(_l2_normalize(tf.stop_gradient(u), self.epsilon))
        new_norm = tf.norm(new_v)
        # Keep the old direction if the kernel annihilates it (e.g. W = 0),
        # otherwise the stored vector would stay zero forever.
        new_v = tf.where(new_norm > 0.0, new_v / (new_norm + self.epsilon), v)
        return sigma, new_v

    def call(self, inputs, training=None):
        training = bool(training)
        layer = self.layer
        kernel = _read_float32(layer.kernel)
        sigma, new_vector = self._sigma_and_vector(kernel, training)
        if training:
            self.vector.assign(new_vector)
            self.sigma.assign(sigma)
        dtype = self.compute_dtype
        scale = self.multiplier / tf.maximum(sigma, self.epsilon)
        kernel = tf.cast(kernel * scale, dtype)
        x = tf.cast(inputs, dtype)
        if self._is_dense:
            outputs = tf.matmul(x, kernel)
        else:
            outputs = _conv(x, kernel, tuple(layer.strides), layer.padding,
                            self._transposed,
                            getattr(layer, "output_padding", None))
        if layer.use_bias:
            outputs = outputs + tf.cast(_read_float32(layer.bias), dtype)
        if layer.activation is not None:
            outputs = layer.activation(outputs)
        return outputs

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({
            "mode": self.mode,
            "multiplier": self.multiplier,
            "power_iterations": self.power_iterations,
            "epsilon": self.epsilon,
        })
        return config


def _check_conv_layer(layer):
    """Rejects conv settings the wrapper does not reproduce."""
    name = getattr(layer, "name", type(layer).__name__)
    if layer.data_format != "channels_last":
        raise ValueError(
            "SpectralNormalization supports channels_last convolutions only. "
            f"Received: data_format={layer.data_format!r} (layer '{name}')"
        )
    if tuple(layer.dilation_rate) != (1, 1):
        raise ValueError(
            "SpectralNormalization supports dilation_rate=1 only. Received: "
            f"dilation_rate={layer.dilation_rate} (layer '{name}')"
        )
    if getattr(layer, "groups", 1) != 1:
        raise ValueError(
            "SpectralNormalization supports groups=1 only. Received: "
            f"groups={layer.groups} (layer '{name}')"
        )


def spectral_norm_sigmas(model):
    """Maps each `SpectralNormalization` layer of `model` to its ``sigma``.

    Nested models and layers are searched recursively. A name met twice (only
    possible across nested models) gets a ``'_2'``, ``'_3'``, ... suffix.

    Args:
        model: ``keras.layers.Layer``. A model or layer, possibly nested.

    Returns:
        dict. ``{layer.name: layer.sigma}``; the values are float32 scalar
        variables holding the estimate of the last training call.
    """
    if not isinstance(model, keras.layers.Layer):
        raise ValueError(
            "`model` must be a Keras layer or model. Received: "
            f"model of type {type(model).__name__}"
        )
    sigmas = {}
    for layer in model._flatten_layers(include_self=True, recursive=True):
        if not isinstance(layer, SpectralNormalization) or not layer.built:
            continue
        key, count = layer.name, 1
        while key in sigmas:
            count += 1
            key = f"{layer.name}_{count}"
        sigmas[key] = layer.sigma
    return sigmas

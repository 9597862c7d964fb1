"""Gradient regularisers for the discriminator: WGAN-GP and R1.

Both differentiate the critic with respect to its *input* inside a nested
`tf.GradientTape`, so the caller's outer tape can differentiate the penalty
with respect to the critic's weights (double backpropagation). They work in
eager mode, inside `tf.function` and with `jit_compile=True`.

The penalties compute in float32: the inputs are cast to float32 before the
critic sees them and the critic's scores are cast to float32 before they are
summed, so they are safe under a mixed-precision policy (Keras layers cast
the float32 input to their compute dtype themselves).

Random draws accept `seed=None`, an int, or a `keras.random.SeedGenerator`.
Inside a `train_step` pass a `SeedGenerator` created in the model's
`__init__`: an int seed gives the same draw at every step. A given seed gives
the same draw eagerly and inside a plain `tf.function`, but not under
`jit_compile=True`: TensorFlow's XLA kernels for stateless random numbers
produce a different stream than its CPU/GPU kernels.
"""

import inspect
import numbers

import keras
import tensorflow as tf

from general_tools.seeds import check_seed as _check_seed

_NORM_EPS = 1e-12


def _check_non_negative(value, name):
    if isinstance(value, numbers.Real) and not value >= 0.0:
        raise ValueError(
            f"`{name}` must be non-negative. Received: {name}={value}")


def _call_critic(critic, x, training):
    """Calls `critic(x, training=training)` when the critic accepts it."""
    if isinstance(critic, keras.Layer):
        return critic(x, training=training)
    try:
        params = inspect.signature(critic).parameters.values()
    except (TypeError, ValueError):
        return critic(x)
    accepts_training = any(
        p.name == "training" or p.kind == inspect.Parameter.VAR_KEYWORD
        for p in params)
    return critic(x, training=training) if accepts_training else critic(x)


def _input_gradients(critic, x, training):
    """Gradient of `sum(critic(x))` with respect to `x`, in float32.

    Summing over all score elements (the batch axis included) gives, for
    each sample, the gradient of the sum of its own scores, as long as the
    critic treats samples independently (no batch normalisation).
    """
    with tf.GradientTape() as tape:
        tape.watch(x)
        scores = _call_critic(critic, x, training)
        total = tf.reduce_sum(tf.cast(scores, tf.float32))
    grads = tape.gradient(total, x)
    if grads is None:
        raise ValueError(
            "The critic's output does not depend on its input; no gradient "
            "penalty can be computed.")
    return tf.cast(grads, tf.float32)


def random_interpolation(real, fake, seed=None):
    """Random points on the segments between real and generated samples.

    `x_hat = u x + (1 - u) x_g` with one `u ~ U(0, 1)` per sample, drawn as
    `keras.random.uniform((B,), seed=seed)` (Gulrajani et al. 2017, Alg. 1).

    Args:
        real: tensor `(B, ...)`. real samples.
        fake: tensor of the same shape. generated samples.
        seed: None, int or `keras.random.SeedGenerator`. Defaults to None.

    Returns:
        tuple `(x_hat, u)`: float32 tensors `(B, ...)` and `(B,)`.
    """
    seed = _check_seed(seed)
    real = tf.cast(tf.convert_to_tensor(real), tf.float32)
    fake = tf.cast(tf.convert_to_tensor(fake), tf.float32)
    if not real.shape.is_compatible_with(fake.shape):
        raise ValueError(
            "`real` and `fake` must have the same shape. "
            f"Received: real.shape={real.shape}, fake.shape={fake.shape}")
    batch = real.shape[0] if real.shape[0] is not None else tf.shape(real)[0]
    u = keras.random.uniform((batch,), dtype="float32", seed=seed)
    u_b = tf.reshape(u, [-1] + [1] * (real.shape.rank - 1))
    return u_b * real + (1.0 - u_b) * fake, u


def gradient_norm_penalty(critic, points, target=1.0, weight=10.0,
                          per_pixel=False, channel_axis=-1, training=True):
    """Penalty on the critic's input-gradient norm at given points.

    `weight * mean_i (||grad_x D(x_i)||_2 - target)^2`, the norm taken per
    sample over all non-batch axes (or per pixel, see `gradient_penalty`).
    `gradient_penalty` evaluates it at random interpolates; other schemes
    (e.g. perturbed real points) can call it directly.

    Args:
        critic: callable. maps a `(B, ...)` float32 tensor to scores `(B,)`
            or `(B, d)`; called with `training=training` when it accepts it.
        points: tensor `(B, ...)`. where the gradient is taken.
        target: float. target gradient norm. Defaults to 1.0.
        weight: float. penalty weight. Defaults to 10.0.
        per_pixel: bool. norm over `channel_axis` only (HMoG quirk).
            Defaults to False.
        channel_axis: int. channel axis used when `per_pixel=True`.
            Defaults to -1.
        training: bool or None. passed to the critic. Defaults to True.

    Returns:
        float32 scalar.
    """
    _check_non_negative(weight, "weight")
    points = tf.cast(tf.convert_to_tensor(points), tf.float32)
    rank = points.shape.rank
    if per_pixel and (not -rank <= channel_axis < rank
                      or channel_axis % rank == 0):
        raise ValueError(
            "`channel_axis` must be a non-batch axis of the inputs (rank "
            f"{rank}). Received: channel_axis={channel_axis}")
    grads = _input_gradients(critic, points, training)
    if per_pixel:
        sq_norms = tf.reduce_sum(tf.square(grads), axis=channel_axis)
    else:
        flat = tf.reshape(grads, [tf.shape(grads)[0], -1])
        sq_norms = tf.reduce_sum(tf.square(flat), axis=1)
    norms = tf.sqrt(sq_norms + _NORM_EPS)
    penalty = tf.reduce_mean(tf.square(norms - target))
    return tf.cast(weight, tf.float32) * penalty


def gradient_penalty(critic, real, fake, target=1.0, weight=10.0,
                     per_pixel=False, channel_axis=-1, seed=None,
                     training=True):
    """WGAN-GP gradient penalty (Gulrajani et al. 2017, eq. 3).

    Returns `weight * E_{x_hat} (||grad_x D(x_hat)||_2 - target)^2` at
    random interpolates `x_hat = u x + (1 - u) x_g`, `u ~ U(0, 1)` per
    sample (see `random_interpolation`). The norm is the standard per-sample
    norm over all non-batch axes. The weight `lambda = 10` of the paper is
    applied here, so the caller adds the result to the critic loss as is.
    Gradients flow into `real` and `fake` as given; stop them at the call
    site if needed.

    If the critic outputs several scores per sample, `(B, d)`, the gradient
    is that of the sum of the sample's scores.

    `per_pixel=True` reproduces a quirk of the HMoG authors' code
    (alper111/sdt-generative and alper111/hmog, `utils.gradient_penalty`):
    PyTorch's `gradients.norm(2, dim=1)` on a `(B, C, H, W)` gradient takes
    the norm over the channel axis only, so the penalty is applied per pixel,
    `(||dD/dx[b, i, j, :]|| - target)^2`, and averaged over `B H W`. It is
    not the WGAN-GP of the paper; use it only to match HMoG numbers. For
    2-D inputs `(B, D)` the two variants agree. Inputs are channels-last
    here, hence `channel_axis=-1`.

    The norm is computed as `sqrt(sum g^2 + 1e-12)` so that a zero gradient
    does not produce a NaN in the double backward pass.

    Args:
        critic: callable. maps a `(B, ...)` float32 tensor to scores `(B,)`
            or `(B, d)`. Keras layers and callables with a `training`
            argument (or `**kwargs`) are called with `training=training`.
        real: tensor `(B, ...)`. real samples.
        fake: tensor of the same shape. generated samples.
        target: float. target gradient norm. Defaults to 1.0.
        weight: float. penalty weight lambda. Defaults to 10.0.
        per_pixel: bool. norm over `channel_axis` only (HMoG quirk).
            Defaults to False.
        channel_axis: int. channel axis used when `per_pixel=True`.
            Defaults to -1.
        seed: None, int or `keras.random.SeedGenerator`. seed of the
            interpolation coefficients. Defaults to None.
        training: bool or None. passed to the critic. Defaults to True.

    Returns:
        float32 scalar.
    """
    x_hat, _ = random_interpolation(real, fake, seed=seed)
    return gradient_norm_penalty(
        critic, x_hat, target=target, weight=weight, per_pixel=per_pixel,
        channel_axis=channel_axis, training=training)


def r1_penalty(critic, real, gamma=10.0, training=True):
    """R1 regulariser (Mescheder, Geiger and Nowozin 2018, eq. 9).

    `gamma / 2 * E_x ||grad_x D(x)||^2` on real samples, the squared norm
    taken over all non-batch axes. For a critic with `(B, d)` outputs the
    gradient is that of the sum of the sample's scores.

    Args:
        critic: callable. maps `(B, ...)` inputs to scores `(B,)` or
            `(B, d)`; called with `training=training` when it accepts it.
        real: tensor `(B, ...)`. real samples.
        gamma: float. regularisation weight. Defaults to 10.0.
        training: bool or None. passed to the critic. Defaults to True.

    Returns:
        float32 scalar.
    """
    _check_non_negative(gamma, "gamma")
    real = tf.cast(tf.convert_to_tensor(real), tf.float32)
    grads = _input_gradients(critic, real, training)
    flat = tf.reshape(grads, [tf.shape(grads)[0], -1])
    return 0.5 * tf.cast(gamma, tf.float32) * tf.reduce_mean(
        tf.reduce_sum(tf.square(flat), axis=1))

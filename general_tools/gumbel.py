"""Gumbel noise and the (straight-through) Gumbel-softmax.

Used by the MEGAN gating network (Park et al. 2018, arXiv 1805.02481), which
selects one generator per sample with the straight-through Gumbel-softmax of
Jang, Gu and Poole (2017, "Categorical Reparameterization with
Gumbel-Softmax", arXiv 1611.01144, Sec. 2.2).

The noise formula follows the MEGAN re-implementation used by the HMoG
authors (alper111/sdt-generative, `utils.gumbel_softmax`):
`g = -log(-log(u + 1e-20) + 1e-20)`, `u ~ U[0, 1)`.

Everything is computed in float32 and returned in the dtype of the logits.
Seeds may be None, an int, or a `keras.random.SeedGenerator`; inside a
`train_step` use a `SeedGenerator` (an int seed repeats the same noise at
every call). A seed gives the same noise eagerly and in a plain
`tf.function`, but a different stream under `jit_compile=True` (TensorFlow's
XLA kernels for stateless random numbers differ from its CPU/GPU kernels).
"""

import numbers

import keras
import tensorflow as tf

from general_tools.seeds import check_seed as _check_seed

_EPS = 1e-20


def _check_temperature(temperature):
    if isinstance(temperature, numbers.Real) and not temperature > 0.0:
        raise ValueError(
            "`temperature` must be positive. "
            f"Received: temperature={temperature}")


def sample_gumbel(shape, seed=None):
    """Standard Gumbel noise, `g = -log(-log(u + 1e-20) + 1e-20)`.

    Args:
        shape: tuple of ints or 1-D int tensor. output shape.
        seed: None, int or `keras.random.SeedGenerator`. Defaults to None.

    Returns:
        float32 tensor of the given shape. `u` is drawn as
        `keras.random.uniform(shape, dtype="float32", seed=seed)`.
    """
    seed = _check_seed(seed)
    u = keras.random.uniform(shape, dtype="float32", seed=seed)
    return -tf.math.log(-tf.math.log(u + _EPS) + _EPS)


def gumbel_softmax_with_noise(logits, noise, temperature=1.0, hard=True):
    """Gumbel-softmax with explicit noise (deterministic given `noise`).

    The soft sample is `y = softmax((logits + noise) / T)` over the last
    axis. With `hard=True` the output is `one_hot(argmax y)` in the forward
    pass and has the gradient of `y` (straight-through estimator). The
    reference writes this as `(y_hard - y).detach() + y`; we compute
    `y_hard + (y - stop_gradient(y))`, which has the same gradient and is
    exactly one-hot in the forward pass (no rounding from `1 - y + y`).

    Args:
        logits: tensor `(..., K)`. unnormalised log-probabilities.
        noise: tensor broadcastable to `logits`. Gumbel noise.
        temperature: float or scalar tensor. softmax temperature `T > 0`.
            Defaults to 1.0.
        hard: bool. return one-hot samples with straight-through gradients.
            Defaults to True.

    Returns:
        tensor of the shape and dtype of `logits`.
    """
    _check_temperature(temperature)
    logits = tf.convert_to_tensor(logits)
    out_dtype = logits.dtype
    z = (tf.cast(logits, tf.float32) + tf.cast(noise, tf.float32)) / tf.cast(
        temperature, tf.float32)
    y = tf.nn.softmax(z, axis=-1)
    if hard:
        y_hard = tf.one_hot(tf.argmax(y, axis=-1), depth=tf.shape(y)[-1],
                            dtype=tf.float32)
        y = y_hard + (y - tf.stop_gradient(y))
    return tf.cast(y, out_dtype)


def gumbel_softmax(logits, temperature=1.0, hard=True, seed=None):
    """Samples from the (straight-through) Gumbel-softmax distribution.

    `y = softmax((logits + g) / T)` with fresh Gumbel noise `g` (see
    `sample_gumbel`). `hard=True` returns `one_hot(argmax y)` with the
    gradient of `y`; since `argmax y = argmax(logits + g)`, the hard samples
    are exact draws from `softmax(logits)` (Gumbel-max trick). MEGAN uses
    `T = 1` without annealing.

    Args:
        logits: tensor `(..., K)`. unnormalised log-probabilities.
        temperature: float or scalar tensor. softmax temperature `T > 0`.
            Defaults to 1.0.
        hard: bool. straight-through one-hot output. Defaults to True.
        seed: None, int or `keras.random.SeedGenerator`. Defaults to None.

    Returns:
        tensor of the shape and dtype of `logits`.
    """
    logits = tf.convert_to_tensor(logits)
    if logits.shape.is_fully_defined():
        shape = tuple(logits.shape.as_list())
    else:
        shape = tf.shape(logits)
    noise = sample_gumbel(shape, seed=seed)
    return gumbel_softmax_with_noise(logits, noise, temperature=temperature,
                                     hard=hard)

"""Helpers shared by the feature-space metrics: input checks, block sizes,
exact float32 matmuls and blocked squared Euclidean distances.

Private module: the public API lives in the sibling modules and is
re-exported by ``general_tools.metrics``.
"""

import contextlib

import numpy as np
import tensorflow as tf

# One row block of a distance matrix holds at most this many float32 values
# (128 MiB). With 50,000 columns a block is 671 rows; the peak memory of a
# blocked pass is a small multiple of one block, whatever the set sizes.
DEFAULT_BLOCK_ELEMENTS = 2**25


def as_feature_matrix(features, name, keep_float64=False):
    """Checks and converts one feature set to a float numpy matrix.

    Args:
        features: array-like or `tf.Tensor` of shape `(num_samples,
            num_features)`.
        name: str. argument name used in error messages.
        keep_float64: bool. return float64 input unchanged instead of
            casting it to float32. Defaults to False.

    Returns:
        `np.ndarray` of shape `(num_samples, num_features)`, float32 (or
        float64 when `keep_float64` and the input is float64).
    """
    if tf.is_tensor(features):
        array = features.numpy()
    else:
        array = np.asarray(features)
    if array.ndim != 2:
        raise ValueError(
            f"`{name}` must be a 2-D array of shape (num_samples, "
            f"num_features); received shape {array.shape}.")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(
            f"`{name}` must hold at least one sample and one feature; "
            f"received shape {array.shape}.")
    if not np.issubdtype(array.dtype, np.number):
        raise ValueError(
            f"`{name}` must be numeric; received dtype {array.dtype}.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"`{name}` contains NaN or infinite values.")
    dtype = np.float64 if keep_float64 and array.dtype == np.float64 \
        else np.float32
    return np.ascontiguousarray(array, dtype=dtype)


def check_same_width(real, fake):
    """Raises ValueError when the two feature sets differ in dimension."""
    if real.shape[1] != fake.shape[1]:
        raise ValueError(
            "`real` and `fake` must have the same number of features; "
            f"received {real.shape[1]} and {fake.shape[1]}.")


def check_positive_int(value, name):
    """Returns `value` as int after checking that it is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or value < 1:
        raise ValueError(
            f"`{name}` must be an integer >= 1; received {value!r}.")
    return int(value)


def block_rows(block_size, num_rows, num_cols):
    """Number of rows per block for a `(num_rows, num_cols)` distance matrix.

    Args:
        block_size: int or None. rows per block; None picks the largest block
            with at most `DEFAULT_BLOCK_ELEMENTS` entries.
        num_rows: int. rows of the full matrix.
        num_cols: int. columns of the full matrix.

    Returns:
        int in `[1, num_rows]`.
    """
    if block_size is None:
        block = max(1, DEFAULT_BLOCK_ELEMENTS // max(num_cols, 1))
    else:
        block = check_positive_int(block_size, "block_size")
    return min(block, num_rows)


@contextlib.contextmanager
def exact_float32_matmul():
    """Turns TensorFloat-32 off for the duration of the block.

    On Ampere and newer GPUs TensorFlow runs float32 matmuls in TF32 (10-bit
    mantissa) by default, which moves distances by ~1e-3 relative and can
    reorder nearest neighbours. The previous setting is restored on exit.
    """
    enabled = tf.config.experimental.tensor_float_32_execution_enabled()
    if enabled:
        tf.config.experimental.enable_tensor_float_32_execution(False)
    try:
        yield
    finally:
        if enabled:
            tf.config.experimental.enable_tensor_float_32_execution(True)


def to_device(array):
    """Copies a numpy array to the default device (the GPU when present), so
    that repeated block ops do not copy it from host memory each time."""
    return tf.identity(tf.constant(array))


def augment_rows(x):
    """Row-side operand of `neg_sq_distances`: [2x, -|x|^2, -1], float32."""
    sq = tf.reduce_sum(tf.square(x), axis=1, keepdims=True)
    return tf.concat([2.0 * x, -sq, -tf.ones_like(sq)], axis=1)


def augment_cols(x):
    """Column-side operand of `neg_sq_distances`: [x, 1, |x|^2], float32."""
    sq = tf.reduce_sum(tf.square(x), axis=1, keepdims=True)
    return tf.concat([x, tf.ones_like(sq), sq], axis=1)


def neg_sq_distances(rows_aug, cols_aug):
    """Negated squared Euclidean distances -||a_i - b_j||^2 in one matmul.

    With rows [2a, -|a|^2, -1] and columns [b, 1, |b|^2] the dot product is
    2 a.b - |a|^2 - |b|^2, so no elementwise pass over the (m, n) block is
    needed, and the sign suits `tf.math.top_k` (largest = nearest). Values
    carry the usual float32 cancellation error (~1e-7 |a|^2); they are not
    clamped, which changes no ordering or comparison made here.

    Args:
        rows_aug: float32 tensor `(m, d + 2)` from `augment_rows`.
        cols_aug: float32 tensor `(n, d + 2)` from `augment_cols`.

    Returns:
        float32 tensor `(m, n)`.
    """
    return tf.matmul(rows_aug, cols_aug, transpose_b=True)


def largest_k(values, k):
    """The k largest entries of each row, descending; pads with -inf.

    Args:
        values: float32 tensor `(m, n)`.
        k: int. entries to keep per row.

    Returns:
        float32 tensor `(m, k)`; when `n < k` the missing entries are -inf.
    """
    n = values.shape[1]
    if n < k:
        pad = tf.fill([tf.shape(values)[0], k - n], np.float32(-np.inf))
        values = tf.concat([values, pad], axis=1)
    return tf.math.top_k(values, k=k, sorted=True).values

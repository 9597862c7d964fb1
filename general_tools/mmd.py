"""Pairwise distances, kernels and maximum mean discrepancy (MMD) estimates.

These are the building blocks of the MMD-GAN losses in
`general_tools.losses` (Li et al. 2017, "MMD GAN: Towards Deeper
Understanding of Moment Matching Network", arXiv 1705.08584; Binkowski et al.
2018, "Demystifying MMD GANs", arXiv 1801.01401; Wang, Sun and Halgamuge
2019, "Improving MMD-GAN Training with Repulsive Loss Function",
ICLR, openreview HygjqjR9Km).

Conventions:

- Samples are 2-D tensors `(n, d)`. A 1-D tensor `(n,)` is read as `n`
  points in one dimension and a tensor of rank > 2 is flattened to
  `(n, prod(rest))`.
- Everything is computed in float32, whatever the input dtype (mixed
  precision keeps kernels and means accurate).
- Kernel functions map a matrix of *squared* Euclidean distances to a kernel
  matrix of the same shape, e.g. `functools.partial(gaussian_kernel,
  sigma=2.0)`.
- Every kernel mean excludes the pairs `i == j`, in the two within-sample
  terms **and in the cross term**, as the repulsive-loss reference code does.
  With equal sample sizes this makes `mmd2` exactly the unbiased
  U-statistic `MMD^2_u` of Gretton et al. (2012, JMLR 13, eq. 4):
  `1 / (m (m - 1)) sum_{i != j} h(z_i, z_j)` with
  `h(z_i, z_j) = k(x_i, x_j) + k(y_i, y_j) - k(x_i, y_j) - k(x_j, y_i)`.
  The cross-term exclusion needs both samples to have the same size; a
  `ValueError` is raised otherwise.
"""

import numbers

import tensorflow as tf


def _as_points(x, name):
    """Casts to float32 and reshapes to `(n, d)`."""
    x = tf.cast(tf.convert_to_tensor(x), tf.float32)
    rank = x.shape.rank
    if rank is None:
        raise ValueError(
            f"`{name}` must have a statically known rank. "
            f"Received: {name}.shape={x.shape}"
        )
    if rank == 0:
        raise ValueError(
            f"`{name}` must have a batch axis (rank >= 1). "
            f"Received: {name}.shape={x.shape}"
        )
    if rank == 1:
        return x[:, tf.newaxis]
    if rank > 2:
        return tf.reshape(x, [tf.shape(x)[0], -1])
    return x


def _check_same_size(x, y, what):
    """Raises if two point sets cannot share a diagonal."""
    nx, ny = x.shape[0], y.shape[0]
    if nx is not None and ny is not None and nx != ny:
        raise ValueError(
            f"{what} excludes the pairs i == j from the cross term, which "
            f"needs samples of equal size. Received: x.shape[0]={nx}, "
            f"y.shape[0]={ny}"
        )
    if nx is not None and nx < 2:
        raise ValueError(
            f"{what} averages over pairs i != j, which needs at least 2 "
            f"points per sample. Received: batch size {nx}"
        )


def squared_distances(x, y):
    """Pairwise squared Euclidean distances, `D[i, j] = ||x_i - y_j||^2`.

    Uses the matrix-product form `|x_i|^2 + |y_j|^2 - 2 x_i . y_j`, which is
    one matmul instead of an `(n, m, d)` difference tensor, and clamps the
    result at 0 to remove the small negative values that rounding produces
    for (nearly) coincident points.

    Args:
        x: tensor `(n,)`, `(n, d)` or `(n, ...)`. first sample.
        y: tensor with the same trailing size as `x`. second sample.

    Returns:
        float32 tensor `(n, m)`.
    """
    x = _as_points(x, "x")
    y = _as_points(y, "y")
    x_sq = tf.reduce_sum(tf.square(x), axis=1)
    y_sq = tf.reduce_sum(tf.square(y), axis=1)
    cross = tf.matmul(x, y, transpose_b=True)
    dist = x_sq[:, tf.newaxis] + y_sq[tf.newaxis, :] - 2.0 * cross
    return tf.maximum(dist, 0.0)


def offdiagonal_mean(matrix):
    """Mean of a square matrix over its off-diagonal entries `i != j`.

    Args:
        matrix: tensor `(n, n)` with `n >= 2`.

    Returns:
        float32 scalar `sum_{i != j} M[i, j] / (n (n - 1))`.
    """
    matrix = tf.cast(tf.convert_to_tensor(matrix), tf.float32)
    n = tf.shape(matrix)[0]
    mask = 1.0 - tf.eye(n, dtype=tf.float32)
    n_float = tf.cast(n, tf.float32)
    return tf.reduce_sum(matrix * mask) / (n_float * (n_float - 1.0))


def _as_float_list(value, name):
    """Reads a positive float or a non-empty sequence of positive floats."""
    if isinstance(value, numbers.Real):
        values = [float(value)]
    else:
        try:
            values = [float(v) for v in value]
        except (TypeError, ValueError):
            raise ValueError(
                f"`{name}` must be a positive number or a sequence of "
                f"positive numbers. Received: {name}={value!r}"
            ) from None
    if not values or any(not v > 0.0 for v in values):
        raise ValueError(
            f"`{name}` must be a positive number or a non-empty sequence of "
            f"positive numbers. Received: {name}={value!r}"
        )
    return values


def gaussian_kernel(sq_dist, sigma=1.0):
    """Gaussian kernel `k = exp(-d / (2 sigma^2))` of squared distances `d`.

    With a sequence of bandwidths the kernels are summed,
    `k = sum_s exp(-d / (2 s^2))`, the mixture kernel of Li et al. (2017);
    the MMD of a sum of kernels is the sum of the MMDs.

    Args:
        sq_dist: tensor. squared distances.
        sigma: float or sequence of floats. bandwidth(s). Defaults to 1.0.

    Returns:
        float32 tensor of the shape of `sq_dist`.
    """
    sigmas = _as_float_list(sigma, "sigma")
    sq_dist = tf.cast(sq_dist, tf.float32)
    kernel = 0.0
    for s in sigmas:
        kernel = kernel + tf.exp(-sq_dist / (2.0 * s * s))
    return kernel


def rational_quadratic_kernel(sq_dist, alpha=1.0):
    """Rational-quadratic kernel `k = (1 + d / (2 alpha))^(-alpha)`.

    With a sequence of `alpha` the kernels are summed (Binkowski et al. 2018
    use `alpha in {0.2, 0.5, 1, 2, 5}`).

    Args:
        sq_dist: tensor. squared distances.
        alpha: float or sequence of floats. shape parameter(s). Defaults to
            1.0.

    Returns:
        float32 tensor of the shape of `sq_dist`.
    """
    alphas = _as_float_list(alpha, "alpha")
    sq_dist = tf.cast(sq_dist, tf.float32)
    kernel = 0.0
    for a in alphas:
        kernel = kernel + tf.pow(1.0 + sq_dist / (2.0 * a), -a)
    return kernel


def bounded_gaussian_kernel(sq_dist, sigma=1.0, lower=None, upper=None):
    """Gaussian kernel of clipped distances, `exp(-clip(d, lower, upper) /
    (2 sigma^2))`.

    The bounds act on the squared distance before the bandwidth is applied,
    as in the repulsive loss with bounded kernel (Wang et al. 2019, eq. 6):
    a lower bound stops pulling points closer than `lower`, an upper bound
    stops pushing them further apart than `upper` (the clipped entries get
    zero gradient).

    Args:
        sq_dist: tensor. squared distances.
        sigma: float. bandwidth. Defaults to 1.0.
        lower: float or None. smallest distance seen by the kernel. Defaults
            to None (no lower bound).
        upper: float or None. largest distance seen by the kernel. Defaults
            to None (no upper bound).

    Returns:
        float32 tensor of the shape of `sq_dist`.
    """
    sigmas = _as_float_list(sigma, "sigma")
    if len(sigmas) != 1:
        raise ValueError(
            "`sigma` of the bounded kernel must be a single positive number. "
            f"Received: sigma={sigma!r}")
    sigma = sigmas[0]
    if lower is not None and upper is not None and lower > upper:
        raise ValueError(
            "`lower` must not exceed `upper`. "
            f"Received: lower={lower}, upper={upper}"
        )
    sq_dist = tf.cast(sq_dist, tf.float32)
    if lower is not None:
        sq_dist = tf.maximum(sq_dist, float(lower))
    if upper is not None:
        sq_dist = tf.minimum(sq_dist, float(upper))
    return tf.exp(-sq_dist / (2.0 * sigma * sigma))


def pairwise_squared_distances(x, y):
    """The three distance matrices an MMD estimate needs.

    Args:
        x: tensor `(n, ...)`. first sample.
        y: tensor `(n, ...)`. second sample, same size.

    Returns:
        tuple of float32 tensors `(d_xx, d_yy, d_xy)`, each `(n, n)`.
    """
    x = _as_points(x, "x")
    y = _as_points(y, "y")
    _check_same_size(x, y, "The MMD estimate")
    if x.shape[0] is None or y.shape[0] is None:
        tf.debugging.assert_equal(
            tf.shape(x)[0], tf.shape(y)[0],
            message="The MMD estimate needs x and y of equal batch size")
    return squared_distances(x, x), squared_distances(y, y), \
        squared_distances(x, y)


def kernel_means_from_distances(d_xx, d_yy, d_xy, kernel_fn,
                                kernel_fn_yy=None, kernel_fn_xy=None):
    """Off-diagonal kernel means from precomputed squared distances.

    Args:
        d_xx: tensor `(n, n)`. squared distances within x.
        d_yy: tensor `(n, n)`. squared distances within y.
        d_xy: tensor `(n, n)`. squared distances between x and y.
        kernel_fn: callable. kernel of squared distances, used for the
            x-x term (and the others unless given).
        kernel_fn_yy: callable or None. kernel for the y-y term. Defaults to
            None (use `kernel_fn`).
        kernel_fn_xy: callable or None. kernel for the cross term. Defaults
            to None (use `kernel_fn`).

    Returns:
        tuple of float32 scalars `(E k(x, x'), E k(y, y'), E k(x, y'))`, each
        averaged over the pairs `i != j`.
    """
    kernel_fn_yy = kernel_fn if kernel_fn_yy is None else kernel_fn_yy
    kernel_fn_xy = kernel_fn if kernel_fn_xy is None else kernel_fn_xy
    kxx = offdiagonal_mean(kernel_fn(d_xx))
    kyy = offdiagonal_mean(kernel_fn_yy(d_yy))
    kxy = offdiagonal_mean(kernel_fn_xy(d_xy))
    return kxx, kyy, kxy


def kernel_means(x, y, kernel_fn, kernel_fn_yy=None, kernel_fn_xy=None):
    """Off-diagonal kernel means `E k(x, x')`, `E k(y, y')`, `E k(x, y')`.

    Each mean is over the pairs `i != j` of an `(n, n)` kernel matrix,
    including the cross term, so `x` and `y` must have the same batch size.

    Args:
        x: tensor `(n,)`, `(n, d)` or `(n, ...)`. first sample.
        y: tensor of the same shape. second sample.
        kernel_fn: callable. kernel of squared distances, e.g.
            `functools.partial(gaussian_kernel, sigma=1.0)`.
        kernel_fn_yy: callable or None. kernel for the y-y term. Defaults to
            None (use `kernel_fn`).
        kernel_fn_xy: callable or None. kernel for the cross term. Defaults
            to None (use `kernel_fn`).

    Returns:
        tuple of three float32 scalars `(kxx, kyy, kxy)`.
    """
    d_xx, d_yy, d_xy = pairwise_squared_distances(x, y)
    return kernel_means_from_distances(
        d_xx, d_yy, d_xy, kernel_fn, kernel_fn_yy, kernel_fn_xy)


def mmd2(x, y, kernel_fn):
    """Unbiased squared MMD, `E k(x, x') + E k(y, y') - 2 E k(x, y')`.

    All three means exclude `i == j` (see the module docstring), which makes
    this Gretton et al.'s U-statistic `MMD^2_u`; it can be slightly negative.

    Args:
        x: tensor `(n, ...)`. first sample.
        y: tensor `(n, ...)`. second sample, same size.
        kernel_fn: callable. kernel of squared distances.

    Returns:
        float32 scalar.
    """
    kxx, kyy, kxy = kernel_means(x, y, kernel_fn)
    return kxx + kyy - 2.0 * kxy


def witness(points, x, y, kernel_fn):
    """Empirical MMD witness function `f(p) = mean_j k(p, x_j) - mean_j
    k(p, y_j)`.

    Positive where `x` is denser than `y`. Used, for instance, by the MMD
    gradient penalty of Binkowski et al. (2018). `points` are new points, so
    no pair is excluded and `x`, `y` may differ in size.

    Args:
        points: tensor `(p, ...)`. where to evaluate the witness.
        x: tensor `(n, ...)`. first sample.
        y: tensor `(m, ...)`. second sample.
        kernel_fn: callable. kernel of squared distances.

    Returns:
        float32 tensor `(p,)`.
    """
    k_px = kernel_fn(squared_distances(points, x))
    k_py = kernel_fn(squared_distances(points, y))
    return tf.reduce_mean(k_px, axis=1) - tf.reduce_mean(k_py, axis=1)

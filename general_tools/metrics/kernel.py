"""Kernel Inception Distance (KID): the unbiased squared MMD with a cubic
polynomial kernel, averaged over random subsets.

Binkowski, Sutherland, Arbel & Gretton, "Demystifying MMD GANs", ICLR 2018
(arXiv:1801.01401), section 4 / appendix: with k(x, y) = (gamma x.y + c)^p,
gamma = 1/d, c = 1, p = 3, and m samples X from one set and Y from the other,

    MMD^2_u = 1/(m(m-1)) sum_{i != j} [k(x_i, x_j) + k(y_i, y_j)]
              - 2/m^2 sum_{i, j} k(x_i, y_j).

The estimate is unbiased (it can be negative), and the score is the mean
over `subsets` random subsets of size m drawn without replacement; the std
is `np.std` (ddof 0) of the per-subset estimates, which the authors'
`polynomial_mmd_averages` returns.
"""

import numpy as np
import tensorflow as tf

from general_tools.metrics._common import as_feature_matrix
from general_tools.metrics._common import check_positive_int
from general_tools.metrics._common import check_same_width
from general_tools.metrics._common import exact_float32_matmul
from general_tools.metrics._common import to_device


def _polynomial_kernel(a, b, gamma, coef0, degree):
    """(gamma a.b + coef0)^degree for sets `(m, d)`, `(n, d)` -> `(m, n)`."""
    base = gamma * tf.matmul(a, b, transpose_b=True) + coef0
    kernel = base
    for _ in range(degree - 1):  # integer power, exact sign for base < 0
        kernel = kernel * base
    return kernel


def _sum_float64(kernel):
    """Sum of an `(m, n)` matrix: float32 row sums, float64 total."""
    return tf.reduce_sum(tf.cast(tf.reduce_sum(kernel, axis=1), tf.float64))


def _unbiased_mmd2(x, y, gamma, coef0, degree):
    """Unbiased MMD^2 of one subset pair; x, y float32 `(m, d)`.

    Two-dimensional matmuls per subset: TensorFlow's batched matmul is
    ~2x slower than a loop of 2-D ones on CPU.
    """
    m = tf.cast(tf.shape(x)[0], tf.float64)
    k_xx = _polynomial_kernel(x, x, gamma, coef0, degree)
    k_yy = _polynomial_kernel(y, y, gamma, coef0, degree)
    k_xy = _polynomial_kernel(x, y, gamma, coef0, degree)
    diagonals = tf.reduce_sum(tf.cast(tf.linalg.diag_part(k_xx), tf.float64)) \
        + tf.reduce_sum(tf.cast(tf.linalg.diag_part(k_yy), tf.float64))
    within = _sum_float64(k_xx) + _sum_float64(k_yy) - diagonals
    return within / (m * (m - 1.0)) - 2.0 * _sum_float64(k_xy) / (m * m)


def draw_subset_indices(num_real, num_fake, subsets, subset_size, seed=None):
    """Index draws used by `kernel_distance`.

    For each subset in turn: `rng.choice(num_real, m, replace=False)` then
    `rng.choice(num_fake, m, replace=False)`, with
    `rng = np.random.default_rng(seed)` (the authors' code draws the
    generated subset first, with the legacy `np.random.choice`).

    Args:
        num_real: int. size of the real set.
        num_fake: int. size of the fake set.
        subsets: int. number of subsets.
        subset_size: int. m, already clipped to both set sizes.
        seed: int, `np.random.Generator` or None. Defaults to None.

    Returns:
        Tuple of two int arrays of shape `(subsets, subset_size)`.
    """
    rng = np.random.default_rng(seed)
    real_idx = np.empty((subsets, subset_size), dtype=np.int64)
    fake_idx = np.empty((subsets, subset_size), dtype=np.int64)
    for s in range(subsets):
        real_idx[s] = rng.choice(num_real, subset_size, replace=False)
        fake_idx[s] = rng.choice(num_fake, subset_size, replace=False)
    return real_idx, fake_idx


def _kid_setup(real, fake, subsets, subset_size, degree, gamma, seed):
    """Validates KID arguments; returns (m, gamma, real_idx, fake_idx)."""
    subsets = check_positive_int(subsets, "subsets")
    subset_size = check_positive_int(subset_size, "subset_size")
    check_positive_int(degree, "degree")
    m = min(subset_size, real.shape[0], fake.shape[0])
    if m < 2:
        raise ValueError(
            "KID needs subsets of at least 2 samples; `subset_size` clipped "
            f"to the set sizes ({real.shape[0]}, {fake.shape[0]}) gives {m}.")
    gamma = 1.0 / real.shape[1] if gamma is None else float(gamma)
    real_idx, fake_idx = draw_subset_indices(
        real.shape[0], fake.shape[0], subsets, m, seed)
    return m, gamma, real_idx, fake_idx


def _summarise(within_real, within_fake, cross, m):
    """(mean, std) over subsets of the unbiased MMD^2 from kernel sums."""
    values = (within_real + within_fake) / (m * (m - 1.0)) \
        - 2.0 * cross / (m * m)
    return float(values.mean()), float(values.std())


def kernel_distance(real, fake, subsets=100, subset_size=1000, degree=3,
                    gamma=None, coef0=1.0, seed=None):
    """Kernel distance (KID when the features are Inception pool_3).

    Costs `3 subsets m^2 d` multiply-adds (6e11 for the defaults and
    d = 2048). `feature_metrics` gets the same numbers almost for free
    from the distance blocks of the k-NN metrics.

    Args:
        real: array-like `(n_real, d)`. reference features.
        fake: array-like `(n_fake, d)`. generated features.
        subsets: int. number of random subsets. Defaults to 100 (clean-fid;
            the authors' `polynomial_mmd_averages` defaults to 50).
        subset_size: int. samples per subset, clipped to
            `min(n_real, n_fake)`; must end up >= 2. Defaults to 1000.
        degree: int. polynomial degree p. Defaults to 3.
        gamma: float or None. scale of the dot product; None means 1/d.
            Defaults to None.
        coef0: float. additive constant c. Defaults to 1.0.
        seed: int, `np.random.Generator` or None. subset draws; see
            `draw_subset_indices`. Defaults to None.

    Returns:
        Tuple `(mean, std)` of floats over subsets. Papers usually report
        the mean, often multiplied by 1000 (x 10^3).
    """
    real = as_feature_matrix(real, "real")
    fake = as_feature_matrix(fake, "fake")
    check_same_width(real, fake)
    m, gamma, real_idx, fake_idx = _kid_setup(
        real, fake, subsets, subset_size, degree, gamma, seed)
    values = np.empty(len(real_idx), dtype=np.float64)
    with exact_float32_matmul():
        real_t = to_device(real)
        fake_t = to_device(fake)
        for s in range(len(real_idx)):
            values[s] = _unbiased_mmd2(
                tf.gather(real_t, real_idx[s]), tf.gather(fake_t, fake_idx[s]),
                np.float32(gamma), np.float32(coef0), int(degree)).numpy()
    return float(values.mean()), float(values.std())


class SubsetKernelSums:
    """KID accumulated from the distance blocks of the k-NN engine.

    With indicator matrices S (n, subsets), S[i, s] = 1 when sample i is in
    subset s, the kernel sums of subset s are diagonal entries of
    S_r^T K_rr S_r (without i = j), S_f^T K_ff S_f and S_r^T K_rf S_f. Each
    row block of K is built from the block of negated squared distances,
    x.y = (|x|^2 + |y|^2 - ||x - y||^2) / 2, and multiplied by S (a
    `subsets`-column matmul), so KID costs about `subsets / d` of the
    distance passes instead of `3 subsets m^2 d` multiply-adds. The subsets
    are those of `kernel_distance` with the same arguments.

    Args:
        real: float32 array `(n_real, d)`. raw (uncentred) real features.
        fake: float32 array `(n_fake, d)`. raw fake features.
        subsets, subset_size, degree, gamma, coef0, seed: as in
            `kernel_distance`.
    """

    def __init__(self, real, fake, subsets=100, subset_size=1000, degree=3,
                 gamma=None, coef0=1.0, seed=None):
        self.subset_size, self.gamma, real_idx, fake_idx = _kid_setup(
            real, fake, subsets, subset_size, degree, gamma, seed)
        self.degree = int(degree)
        self.coef0 = float(coef0)
        self._select, self._half_sq, self._sums = {}, {}, {}
        for name, features, index in (("real", real, real_idx),
                                      ("fake", fake, fake_idx)):
            select = np.zeros((features.shape[0], len(index)), np.float32)
            select[index.T, np.arange(len(index))[None, :]] = 1.0
            self._select[name] = to_device(select)
            half_sq = 0.5 * np.sum(np.square(features, dtype=np.float64), 1)
            self._half_sq[name] = to_device(half_sq.astype(np.float32))
            self._sums[name] = np.zeros(len(index))
        self._sums["cross"] = np.zeros(len(real_idx))

    @staticmethod
    def cost(num_real, num_fake, subsets):
        """Multiply-adds of the fused path, with ~10 per entry for the
        elementwise kernel, to compare with `3 subsets m^2 d`."""
        entries = 0.5 * (num_real**2 + num_fake**2) + num_real * num_fake
        return entries * (subsets + 10)

    def _kernel(self, close, rows_half_sq, cols_half_sq):
        # gamma x.y + c with x.y = close / 2 + |x|^2 / 2 + |y|^2 / 2.
        base = close * np.float32(0.5 * self.gamma) \
            + (self.gamma * rows_half_sq + self.coef0)[:, None] \
            + (self.gamma * cols_half_sq)[None, :]
        kernel = base
        for _ in range(self.degree - 1):
            kernel = kernel * base
        return kernel

    def _add(self, name, select_rows, weighted):
        self._sums[name] += tf.reduce_sum(
            tf.cast(select_rows * weighted, tf.float64), axis=0).numpy()

    def add_within(self, which, start, stop, close):
        """Adds an upper-triangle strip of one set.

        Args:
            which: str. "real" or "fake".
            start: int. first row (and column) of the strip.
            stop: int. end of the strip's rows.
            close: float32 tensor `(stop - start, n - start)`. negated
                squared distances of rows start:stop to rows start:n, with
                the diagonal not yet masked.
        """
        select, half = self._select[which], self._half_sq[which]
        rows = stop - start
        kernel = self._kernel(close, half[start:stop], half[start:])
        kernel = tf.linalg.set_diag(kernel, tf.zeros([rows]))  # no i == j
        # The square block holds both (i, j) and (j, i); the pairs to the
        # right of it appear once, so they count twice.
        weighted = tf.matmul(kernel[:, :rows], select[start:stop]) + 2.0 * \
            tf.matmul(kernel[:, rows:], select[stop:])
        self._add(which, select[start:stop], weighted)

    def add_cross(self, start, stop, close):
        """Adds real rows start:stop against all fakes (negated squared
        distances `close`, shape `(stop - start, n_fake)`)."""
        kernel = self._kernel(close, self._half_sq["real"][start:stop],
                              self._half_sq["fake"])
        self._add("cross", self._select["real"][start:stop],
                  tf.matmul(kernel, self._select["fake"]))

    def result(self):
        """Tuple `(mean, std)` of the unbiased MMD^2 over subsets."""
        return _summarise(self._sums["real"], self._sums["fake"],
                          self._sums["cross"], self.subset_size)

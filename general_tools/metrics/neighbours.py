"""k-nearest-neighbour metrics between a real and a generated feature set.

All share one blocked engine: negated squared Euclidean distances come from
one float32 matmul per row block (TF32 off; see `neg_sq_distances`), and
only the running k nearest per row (and per column for the real x fake
block) are kept, so memory is O(block x n + n k) rather than O(n^2): 50k x
50k x 2048 runs with blocks of ~128 MiB. Within one set only the upper
triangle is computed, each strip feeding both its rows and, transposed, the
later rows. Both sets are centred on the real mean first (distances are
translation invariant; centring shrinks the float32 cancellation error).

Metrics (the ideal value for identical distributions in brackets):

* 5-NN two-sample test of the HMoG paper (Ahmetoglu & Alpaydin, "Hierarchical
  Mixtures of Generators for Adversarial Learning", ICPR 2020), after
  Lopez-Paz & Oquab (ICLR 2017) and Xu et al. (arXiv:1806.07755): pool both
  sets; for every sample take its k nearest neighbours in the pool,
  leaving itself out. `fake_fraction` is the mean over fakes of the fraction
  of their neighbours that are fake, `real_fraction` the same for reals
  counting real neighbours (both 0.5), and `accuracy` the leave-one-out
  accuracy of the k-NN majority vote over both sets (0.5; a vote tied at
  k/2 counts as half right, the expectation of a coin flip).
* Improved precision and recall (Kynkaanniemi et al., NeurIPS 2019,
  arXiv:1904.06991): the real manifold is the union of balls around each
  real sample with radius the distance to its k-th nearest real neighbour
  (itself excluded); precision is the fraction of fakes inside it, recall
  the fraction of reals inside the fake manifold (both 1).
* Density and coverage (Naeem et al., ICML 2020, arXiv:2002.09797):
  density = 1/(k M) sum_j sum_i 1[Y_j in B(X_i, NND_k(X_i))] (about 1),
  coverage = 1/N sum_i 1[exists j: Y_j in B(X_i, NND_k(X_i))] (1).

Balls are closed (distance <= radius), as in Kynkaanniemi et al.'s code; the
`prdc` package uses `<`, which differs only on exact ties such as duplicated
samples. Ties between equal distances in the 5-NN vote go to the sample's
own set.

Argument order is always `(real, fake)`. Beware when porting numbers: the
HMoG paper-era code defines `nn_accuracy(p_fake, p_real)` and returns the
fractions as `(fake, real)`, while the later HMoG repository defines
`nn_accuracy(p_real, p_fake)` returning `(real, fake)`; swapping the inputs
of either swaps the two numbers. Here the dict keys remove the ambiguity.
"""

import numpy as np
import tensorflow as tf

from general_tools.metrics._common import as_feature_matrix
from general_tools.metrics._common import augment_cols
from general_tools.metrics._common import augment_rows
from general_tools.metrics._common import block_rows
from general_tools.metrics._common import check_positive_int
from general_tools.metrics._common import check_same_width
from general_tools.metrics._common import exact_float32_matmul
from general_tools.metrics._common import largest_k
from general_tools.metrics._common import neg_sq_distances
from general_tools.metrics._common import to_device

KNN_KEYS = ("fake_fraction", "real_fraction", "accuracy", "real_accuracy",
            "fake_accuracy")
PR_KEYS = ("precision", "recall")
DC_KEYS = ("density", "coverage")


def _merge(running, new, k):
    """Row-wise k largest of two (n, k) arrays, descending."""
    both = np.concatenate([running, new], axis=1)
    return -np.sort(-both, axis=1)[:, :k]


def _within_set_knn(x, x_cols, k, block, kernel_sums=None, which=None):
    """k largest negated squared distances from each row of x to the other
    rows, descending; the sample itself is left out by index, so exact
    duplicates elsewhere in the set still count. Each strip is also handed
    to `kernel_sums.add_within(which, ...)` when given."""
    num = x.shape[0]
    running = np.full((num, k), -np.inf, dtype=np.float32)
    for start in range(0, num, block):
        stop = min(start + block, num)
        # Upper-triangle strip: rows start:stop against columns start:num.
        close = neg_sq_distances(augment_rows(x[start:stop]), x_cols[start:])
        if kernel_sums is not None:
            kernel_sums.add_within(which, start, stop, close)
        close = tf.linalg.set_diag(
            close, tf.fill([stop - start], np.float32(-np.inf)))
        running[start:stop] = _merge(running[start:stop],
                                     largest_k(close, k).numpy(), k)
        if stop < num:  # the same distances seen from the later rows
            later = largest_k(tf.transpose(close[:, stop - start:]), k)
            running[stop:] = _merge(running[stop:], later.numpy(), k)
    return running


def _cross_pass(real, fake_cols, block, row_k, col_k, real_kth, fake_kth,
                kernel_sums=None):
    """One blocked pass over the real x fake (negated squared) distances.

    Args:
        real: float32 tensor (n_real, d), centred.
        fake_cols: `augment_cols` of the centred fakes.
        block: int. rows per block.
        row_k: int. nearest fakes kept per real.
        col_k: int. nearest reals kept per fake; 0 skips them.
        real_kth: (n_real,) float32 or None. negated squared k-NN radius of
            each real; enables `fake_counts`.
        fake_kth: (n_fake,) float32 or None. same for fakes; enables
            `real_in_fake`.
        kernel_sums: `SubsetKernelSums` or None. also fed each block.

    Returns:
        dict of numpy arrays: `real_knn` (n_real, row_k), `fake_knn`
        (n_fake, col_k) or None, `fake_counts` (n_fake,) reals whose ball
        holds each fake, `real_in_fake` (n_real,) bool or None.
    """
    num_real, num_fake = real.shape[0], fake_cols.shape[0]
    real_knn, real_in_fake = [], []
    fake_knn = np.full((num_fake, col_k), -np.inf, np.float32)
    fake_counts = tf.zeros([num_fake], tf.int32)
    fake_kth_t = None if fake_kth is None else tf.constant(fake_kth)[None, :]
    for start in range(0, num_real, block):
        stop = min(start + block, num_real)
        close = neg_sq_distances(augment_rows(real[start:stop]), fake_cols)
        if kernel_sums is not None:
            kernel_sums.add_cross(start, stop, close)
        real_knn.append(largest_k(close, row_k).numpy())
        if fake_kth_t is not None:  # recall: real inside some fake's ball
            real_in_fake.append(
                tf.reduce_any(close >= fake_kth_t, axis=1).numpy())
        if real_kth is not None:  # fake inside real i's ball
            inside = close >= tf.constant(real_kth[start:stop, None])
            fake_counts += tf.reduce_sum(tf.cast(inside, tf.int32), axis=0)
        if col_k:
            fake_knn = _merge(
                fake_knn, largest_k(tf.transpose(close), col_k).numpy(),
                col_k)
    return {
        "real_knn": np.concatenate(real_knn, axis=0),
        "fake_knn": fake_knn if col_k else None,
        "fake_counts": fake_counts.numpy(),
        "real_in_fake": np.concatenate(real_in_fake) if real_in_fake
        else None,
    }


def _same_set_votes(same_knn, other_knn, k):
    """Number of own-set samples among the k pooled nearest neighbours."""
    candidates = np.concatenate([same_knn, other_knn], axis=1)
    # Stable sort: on exact ties the own-set entries (listed first) win.
    order = np.argsort(-candidates, axis=1, kind="stable")[:, :k]
    return np.sum(order < k, axis=1)


def _majority_correct(same_votes, k):
    """1 for an own-set majority, 0.5 for a tie, 0 otherwise."""
    return np.where(2 * same_votes > k, 1.0,
                    np.where(2 * same_votes == k, 0.5, 0.0))


def run_neighbour_passes(real, fake, k, block_size, want_knn, want_pr,
                         want_dc, kernel_sums=None):
    """Blocked engine behind every public function of this module.

    Args:
        real: array-like `(n_real, d)`. reference features.
        fake: array-like `(n_fake, d)`. generated features.
        k: int. neighbours.
        block_size: int or None. rows per distance block.
        want_knn: bool. compute the `KNN_KEYS`.
        want_pr: bool. compute the `PR_KEYS`.
        want_dc: bool. compute the `DC_KEYS`.
        kernel_sums: `SubsetKernelSums` or None. fed every distance block
            (fused KID; the fake x fake pass then always runs). Defaults to
            None.

    Returns:
        dict of floats with the requested keys.
    """
    real = as_feature_matrix(real, "real")
    fake = as_feature_matrix(fake, "fake")
    check_same_width(real, fake)
    k = check_positive_int(k, "k")
    num_real, num_fake = real.shape[0], fake.shape[0]
    if (want_pr or want_dc) and k >= num_real:
        raise ValueError(
            f"`k` ({k}) must be smaller than the number of real samples "
            f"({num_real}) for the k-NN radii.")
    if want_pr and k >= num_fake:
        raise ValueError(
            f"`k` ({k}) must be smaller than the number of fake samples "
            f"({num_fake}) for the k-NN radii.")
    if want_knn and k > num_real + num_fake - 1:
        raise ValueError(
            f"`k` ({k}) must be at most n_real + n_fake - 1 "
            f"({num_real + num_fake - 1}).")
    centre = real.mean(axis=0, dtype=np.float64).astype(np.float32)
    results = {}
    with exact_float32_matmul():
        real_t = to_device(real - centre)
        fake_t = to_device(fake - centre)
        fake_cols = augment_cols(fake_t)
        real_real = _within_set_knn(
            real_t, augment_cols(real_t), k,
            block_rows(block_size, num_real, num_real), kernel_sums, "real")
        fake_fake = None
        if want_knn or want_pr or kernel_sums is not None:
            fake_fake = _within_set_knn(
                fake_t, fake_cols, k,
                block_rows(block_size, num_fake, num_fake), kernel_sums,
                "fake")
        real_kth = real_real[:, k - 1] if (want_pr or want_dc) else None
        fake_kth = fake_fake[:, k - 1] if want_pr else None
        cross = _cross_pass(
            real_t, fake_cols, block_rows(block_size, num_real, num_fake),
            row_k=k if want_knn else 1, col_k=k if want_knn else 0,
            real_kth=real_kth, fake_kth=fake_kth, kernel_sums=kernel_sums)

    if want_knn:
        real_votes = _same_set_votes(real_real, cross["real_knn"], k)
        fake_votes = _same_set_votes(fake_fake, cross["fake_knn"], k)
        real_correct = _majority_correct(real_votes, k)
        fake_correct = _majority_correct(fake_votes, k)
        results["fake_fraction"] = float(fake_votes.mean() / k)
        results["real_fraction"] = float(real_votes.mean() / k)
        results["accuracy"] = float(
            (real_correct.sum() + fake_correct.sum()) / (num_real + num_fake))
        results["real_accuracy"] = float(real_correct.mean())
        results["fake_accuracy"] = float(fake_correct.mean())
    counts = cross["fake_counts"]
    if want_pr:
        results["precision"] = float(np.mean(counts > 0))
        results["recall"] = float(np.mean(cross["real_in_fake"]))
    if want_dc:
        results["density"] = float(counts.mean() / k)
        results["coverage"] = float(
            np.mean(cross["real_knn"][:, 0] >= real_kth))
    return results


def knn_two_sample(real, fake, k=5, block_size=None):
    """k-NN two-sample test of the HMoG paper (leave-one-out, pooled set).

    Args:
        real: array-like `(n_real, d)`. reference features.
        fake: array-like `(n_fake, d)`. generated features.
        k: int. neighbours per sample. Defaults to 5 (the paper's 5-NN).
        block_size: int or None. rows of the distance matrix per block; None
            keeps each block near 128 MiB. Defaults to None.

    Returns:
        dict of floats: `fake_fraction`, `real_fraction` (the paper's soft
        vote fractions), `accuracy` (majority vote over both sets),
        `real_accuracy` and `fake_accuracy` (majority vote per set). All
        are 0.5 when the two distributions match and approach 1 when they
        separate.
    """
    return run_neighbour_passes(real, fake, k, block_size, True, False, False)


def precision_recall(real, fake, k=5, block_size=None):
    """Improved precision and recall (Kynkaanniemi et al., 2019).

    Args:
        real: array-like `(n_real, d)`. reference features, n_real > k.
        fake: array-like `(n_fake, d)`. generated features, n_fake > k.
        k: int. neighbour index of the manifold radii. Defaults to 5 (as
            StudioGAN's PRDC; the paper's own default is 3).
        block_size: int or None. rows per distance block. Defaults to None.

    Returns:
        dict with floats `precision` (fidelity: fakes inside the real
        manifold) and `recall` (diversity: reals inside the fake manifold).
    """
    return run_neighbour_passes(real, fake, k, block_size, False, True, False)


def density_coverage(real, fake, k=5, block_size=None):
    """Density and coverage (Naeem et al., 2020).

    Args:
        real: array-like `(n_real, d)`. reference features, n_real > k.
        fake: array-like `(n_fake, d)`. generated features.
        k: int. neighbour index of the real radii. Defaults to 5 (the
            paper's choice).
        block_size: int or None. rows per distance block. Defaults to None.

    Returns:
        dict with floats `density` (unbounded, about 1 for matching
        distributions) and `coverage` (in [0, 1]).
    """
    return run_neighbour_passes(real, fake, k, block_size, False, False, True)


def neighbour_metrics(real, fake, k=5, block_size=None):
    """All k-NN metrics of this module from one set of distance passes.

    One set of blocked passes (real x real and fake x fake upper triangles,
    real x fake) serves the two-sample test, precision/recall and
    density/coverage together, about twice as fast as calling the three
    functions separately.

    Args:
        real: array-like `(n_real, d)`. reference features, n_real > k.
        fake: array-like `(n_fake, d)`. generated features, n_fake > k.
        k: int. neighbours for every metric. Defaults to 5.
        block_size: int or None. rows per distance block. Defaults to None.

    Returns:
        dict of floats with the keys of `knn_two_sample`,
        `precision_recall` and `density_coverage`.
    """
    return run_neighbour_passes(real, fake, k, block_size, True, True, True)

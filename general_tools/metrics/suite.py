"""Several feature-space metrics in one call, sharing their expensive parts.

`feature_metrics` computes FID from the float64 feature statistics and runs
the blocked distance passes once for the k-NN two-sample test,
precision/recall, density/coverage and, folded into the same blocks, KID
(see `SubsetKernelSums`). Values equal those of the single-metric functions
called with the same arguments (KID to float32 rounding: its kernel sums
come from distance blocks instead of per-subset Gram matrices).
"""

from general_tools.metrics._common import as_feature_matrix
from general_tools.metrics._common import check_positive_int
from general_tools.metrics._common import check_same_width
from general_tools.metrics.frechet import frechet_distance
from general_tools.metrics.kernel import SubsetKernelSums
from general_tools.metrics.kernel import kernel_distance
from general_tools.metrics.neighbours import run_neighbour_passes

METRICS = ("fid", "kid", "knn", "pr", "dc")


def feature_metrics(real, fake, metrics=METRICS, k=5, kid_subsets=100,
                    kid_subset_size=1000, seed=None, block_size=None,
                    fid_method="eigh", fuse_kid=None):
    """FID, KID, k-NN two-sample test, precision/recall, density/coverage.

    Args:
        real: array-like `(n_real, d)`. reference features.
        fake: array-like `(n_fake, d)`. generated features.
        metrics: sequence of str. any of `"fid"`, `"kid"`, `"knn"`, `"pr"`,
            `"dc"`. Defaults to all five.
        k: int. neighbours of the k-NN metrics. Defaults to 5.
        kid_subsets: int. KID subsets. Defaults to 100.
        kid_subset_size: int. KID subset size (clipped to the set sizes).
            Defaults to 1000.
        seed: int or None. seed of the KID subset draws. Defaults to None.
        block_size: int or None. rows per distance block. Defaults to None.
        fid_method: str. `"eigh"` or `"scipy"`; see `frechet_distance`.
            Defaults to "eigh".
        fuse_kid: bool or None. compute KID inside the distance passes
            (needs a k-NN metric too) rather than with `kernel_distance`;
            None picks the cheaper by multiply-add count: fused for
            10k x 10k (~30x fewer), about even at 50k x 50k. Defaults to
            None.

    Returns:
        dict of floats: `fid`; `kid` and `kid_std`; the keys of
        `knn_two_sample`, `precision_recall` and `density_coverage` for
        "knn", "pr" and "dc".
    """
    if isinstance(metrics, str):
        metrics = [m.strip() for m in metrics.split(",") if m.strip()]
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise ValueError(
            f"`metrics` must be a non-empty subset of {METRICS}; received "
            f"{metrics!r}.")
    real = as_feature_matrix(real, "real", keep_float64=True)
    fake = as_feature_matrix(fake, "fake", keep_float64=True)
    check_same_width(real, fake)
    kid_subsets = check_positive_int(kid_subsets, "kid_subsets")
    kid_subset_size = check_positive_int(kid_subset_size, "kid_subset_size")
    results = {}
    if "fid" in metrics:
        results["fid"] = frechet_distance(real, fake, method=fid_method)
    want = {name: name in metrics for name in ("knn", "pr", "dc")}
    kernel_sums = None
    if "kid" in metrics:
        if fuse_kid is None:
            m = min(kid_subset_size, real.shape[0], fake.shape[0])
            fuse_kid = SubsetKernelSums.cost(
                real.shape[0], fake.shape[0], kid_subsets) \
                < 3 * kid_subsets * m * m * real.shape[1]
        if fuse_kid and any(want.values()):
            kernel_sums = SubsetKernelSums(
                real, fake, subsets=kid_subsets, subset_size=kid_subset_size,
                seed=seed)
        else:
            results["kid"], results["kid_std"] = kernel_distance(
                real, fake, subsets=kid_subsets, subset_size=kid_subset_size,
                seed=seed)
    if any(want.values()):
        results.update(run_neighbour_passes(
            real, fake, k, block_size, want["knn"], want["pr"], want["dc"],
            kernel_sums))
        if kernel_sums is not None:
            results["kid"], results["kid_std"] = kernel_sums.result()
    return results

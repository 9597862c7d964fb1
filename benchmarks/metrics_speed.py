"""Speed of the feature-space metrics on random features.

Times FID, KID, the 5-NN two-sample test, precision/recall and
density/coverage on `--num-real` x `--num-fake` features of `--dim`
dimensions (the issue's target: 10,000 vs 10,000 2048-d features), then
`neighbour_metrics` (the three k-NN metrics sharing their distance passes)
and `feature_metrics` (FID + KID + all k-NN metrics, KID folded into the
same passes). TensorFlow runs the distance and kernel blocks on the GPU when
one is visible.

    python benchmarks/metrics_speed.py
    python benchmarks/metrics_speed.py --num-real 50000 --num-fake 50000
    python benchmarks/metrics_speed.py --metrics fid,kid --num-real 2000
"""

import argparse
import os
import pathlib
import sys
import time

import numpy as np
import tensorflow as tf

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from general_tools import metrics  # noqa: E402
from general_tools.machine import describe_cpu  # noqa: E402

ALL_METRICS = ("fid", "kid", "knn", "pr", "dc", "fused", "all")


def _features(rng, num, dim, shift, scale):
    # Non-negative and skewed like Inception pool_3 activations.
    return np.abs(rng.standard_normal((num, dim)) * scale + shift).astype(
        np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-real", type=int, default=10_000)
    parser.add_argument("--num-fake", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--kid-subsets", type=int, default=100)
    parser.add_argument("--kid-subset-size", type=int, default=1000)
    parser.add_argument("--block-size", type=int, default=None,
                        help="rows per distance block (default: ~128 MiB)")
    parser.add_argument("--fid-method", default="eigh",
                        choices=("eigh", "scipy"))
    parser.add_argument("--metrics", default=",".join(ALL_METRICS),
                        help=f"comma-separated subset of {ALL_METRICS}")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    chosen = [m.strip() for m in args.metrics.split(",") if m.strip()]
    unknown = sorted(set(chosen) - set(ALL_METRICS))
    if unknown:
        parser.error(f"unknown metrics {unknown}; choose from {ALL_METRICS}")

    rng = np.random.default_rng(args.seed)
    real = _features(rng, args.num_real, args.dim, 0.5, 1.0)
    fake = _features(rng, args.num_fake, args.dim, 0.52, 1.0)
    gpus = tf.config.list_logical_devices("GPU")
    print(f"{args.num_real} real x {args.num_fake} fake x {args.dim}-d, "
          f"k={args.k}; TF {tf.__version__} on "
          f"{'GPU ' + gpus[0].name if gpus else 'CPU'} "
          f"(CPU: {describe_cpu()})")

    block = args.block_size
    runs = {
        "fid": ("FID", lambda: metrics.frechet_distance(
            real, fake, method=args.fid_method)),
        "kid": (f"KID ({args.kid_subsets} x {args.kid_subset_size})",
                lambda: metrics.kernel_distance(
                    real, fake, subsets=args.kid_subsets,
                    subset_size=args.kid_subset_size, seed=args.seed)),
        "knn": (f"{args.k}-NN two-sample", lambda: metrics.knn_two_sample(
            real, fake, k=args.k, block_size=block)),
        "pr": ("precision/recall", lambda: metrics.precision_recall(
            real, fake, k=args.k, block_size=block)),
        "dc": ("density/coverage", lambda: metrics.density_coverage(
            real, fake, k=args.k, block_size=block)),
        "fused": ("k-NN + PR + DC fused", lambda: metrics.neighbour_metrics(
            real, fake, k=args.k, block_size=block)),
        "all": ("feature_metrics (all five)", lambda: metrics.feature_metrics(
            real, fake, k=args.k, kid_subsets=args.kid_subsets,
            kid_subset_size=args.kid_subset_size, seed=args.seed,
            block_size=block, fid_method=args.fid_method)),
    }
    metrics.knn_two_sample(real[:64], fake[:64], k=args.k)  # warm-up
    # Process CPU time divided by the cores gives the wall time an idle
    # machine would show; wall time on a shared machine can be far longer.
    print(f"{'':>28s}  {'wall s':>8s}  {'CPU s':>8s}")
    totals, cpu_totals = {}, {}
    for key in chosen:
        label, run = runs[key]
        start, cpu_start = time.perf_counter(), time.process_time()
        value = run()
        totals[key] = time.perf_counter() - start
        cpu_totals[key] = time.process_time() - cpu_start
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v:.6g}" for k, v in value.items())
        elif isinstance(value, tuple):
            value = f"{value[0]:.6f} +- {value[1]:.6f}"
        else:
            value = f"{value:.4f}"
        print(f"{label:>28s}: {totals[key]:8.2f}  {cpu_totals[key]:8.2f}"
              f"   {value}")
    suite = [k for k in ("fid", "kid", "fused") if k in totals]
    if len(suite) > 1:  # the separate route to what "all" does at once
        print(f"{' + '.join(suite) + ' total':>28s}: "
              f"{sum(totals[k] for k in suite):8.2f}  "
              f"{sum(cpu_totals[k] for k in suite):8.2f}")


if __name__ == "__main__":
    main()

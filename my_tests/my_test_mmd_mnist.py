"""
Title: the repulsive MMD-GAN's loss comparison on MNIST 32x32
Date: 2026-11-23
Paper: Wang, Sun & Halgamuge, "Improving MMD-GAN Training with Repulsive
    Loss Function", ICLR 2019 (richardwth/MMD-GAN), Table 1's comparison of
    losses with one spectrally normalised DCGAN.
Purpose: train the same spectrally normalised DCGAN with ``rep``, ``rmb``,
    ``mmd`` (attractive, Gaussian kernels sigma in {1, sqrt 2, 2, sqrt 8,
    4}) and ``hinge`` over several seeds on the bundled MNIST (8,000
    training images), score each run on the 2,000 held-out images (FID and
    5-NN on the domain classifier's features) and count the runs that
    diverged (a non-finite loss stops a run).

    # the grid, split over two processes of one thread each (2-core CPU)
    python my_tests/my_test_mmd_mnist.py --shard 0/2 &
    python my_tests/my_test_mmd_mnist.py --shard 1/2 &
    wait
    python my_tests/my_test_mmd_mnist.py --report    # table and its JSON

Everything goes under ``--out``: run folders in ``runs/``, one score file
per run in ``scores/<loss>_s<seed>.json`` (a run whose file holds the same
settings is skipped, so seeds can be added later; a file of other settings
stops the grid and stays as it is), the table in ``mmd_mnist.json``.
``--publish`` reads and writes the published scores and table in
``docs/results/`` instead (``--list`` says which runs are done).

A 4-layer version of the repository's CIFAR-10 DCGAN fits a CPU: generator
z in R^128 -> 4x4x256 -> ConvT k4 s2 128 -> 64 -> 1 (batch norm, ReLU,
tanh); discriminator Conv k4 s2 64 -> 128 -> 256 (leaky ReLU 0.1), dense
16-d score, every layer spectrally normalised on the convolution operator
with the scripts' multiplier C = 64^(1/L) (L = 4). The repository's
CIFAR-10 settings otherwise: batch 64, Adam (0.5, 0.999), TTUR 5e-4 / 2e-4,
both networks updated from one forward pass.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from experiment_spec import cli  # noqa: E402
from experiment_spec.flags import (ExperimentParser, UsageError,  # noqa: E402
                                   choice_list, non_negative_int,
                                   positive_int)
from experiment_spec.mmd import DATASET_LR, MMD_LOSSES  # noqa: E402

# ---- architecture (edit here) ----------------------------------------------
C = 64 ** (1 / 4)
SN = {"w_nm": "s", "act_k": C}
LRELU = ["lrelu", 0.1]
ARCHITECTURE = {
    "input": (32, 32, 1),
    "code": 128,
    "generator": [
        {"name": "g1", "op": "d", "out": 4 * 4 * 256,
         "out_reshape": [4, 4, 256]},
        {"name": "g2_up", "op": "tc", "out": 128, "kernel": 4, "strides": 2,
         "act": "relu", "act_nm": "bn"},
        {"name": "g3_up", "op": "tc", "out": 64, "kernel": 4, "strides": 2,
         "act": "relu", "act_nm": "bn"},
        {"name": "g4_up", "op": "tc", "out": 1, "kernel": 4, "strides": 2,
         "act": "tanh"},
    ],
    "discriminator": [
        {"name": "d1_ds", "op": "c", "out": 64, "kernel": 4, "strides": 2,
         "act": LRELU, **SN},
        {"name": "d2_ds", "op": "c", "out": 128, "kernel": 4, "strides": 2,
         "act": LRELU, **SN},
        {"name": "d3_ds", "op": "c", "out": 256, "kernel": 4, "strides": 2,
         "act": LRELU, "out_reshape": [4 * 4 * 256], **SN},
        {"name": "d4_s", "op": "d", "out": 16, **SN},
    ],
}
LR_D, LR_G = DATASET_LR["cifar10"]  # the repository's CIFAR-10 TTUR

# The published grid, in the repository's docs/ (written with --publish).
PUBLISHED = dict(
    published_scores=os.path.join(ROOT, "docs/results/mmd_mnist_scores"),
    published_table=os.path.join(ROOT, "docs/results/mmd_mnist.json"))

PARSER = ExperimentParser(
    __doc__, common=("out", "seed", "steps", "batch_size", "precision", "jit",
                     "scalar_every", "image_every", "publish"),
    defaults={"out": "Results/mmd_mnist", "seed": [0, 1, 2], "steps": 300,
              "batch_size": 64, "image_every": 300}, seed_list=True)
PARSER.add_argument("--losses", type=choice_list(MMD_LOSSES),
                    default=["rep", "rmb", "mmd", "hinge"],
                    help="GAN losses of the grid (and the table's order)")
PARSER.add_argument("--num", type=positive_int, default=2000,
                    help="generated images per score")
PARSER.add_argument("--shard", default="0/1",
                    help="I/N: run every N-th job from the I-th")
PARSER.add_argument("--threads", type=non_negative_int, default=1,
                    help="intra-op threads (0: TensorFlow's)")
action = PARSER.add_mutually_exclusive_group()
action.add_argument("--report", action="store_true",
                    help="only summarise the scores (table and its JSON)")
action.add_argument("--list", action="store_true",
                    help="only list this shard's runs: done, to run or of "
                         "other settings")


@PARSER.add_check
def _check(args):
    index, _, count = args.shard.partition("/")
    if not (index.isdigit() and count.isdigit() and int(index) < int(count)):
        raise UsageError(f"argument --shard: must be I/N with 0 <= I < N; "
                         f"received {args.shard!r}")


def main(argv=None):
    args = PARSER.parse(argv)
    from deep_learning.experiments import mmd_study, study
    paths = study.study_paths(args.out, args.publish, name="mmd_mnist",
                              **PUBLISHED)
    if args.report:
        mmd_study.report(paths.scores, paths.table, args.losses)
        return 0
    todo = study.shard(mmd_study.jobs(args.losses, args.seed), args.shard)
    if args.list:
        digest = study.architecture_digest(ARCHITECTURE)
        for job in todo:
            settings = mmd_study.settings_of(
                job, steps=args.steps, batch_size=args.batch_size,
                lr_d=LR_D, lr_g=LR_G, num=args.num, precision=args.precision,
                architecture=digest)
            print(f"{job.name}: "
                  f"{mmd_study.status(job, paths.scores, settings)}")
        return 0
    records = mmd_study.run_grid(
        ARCHITECTURE, todo, scores_dir=paths.scores, runs_dir=paths.runs,
        steps=args.steps, batch_size=args.batch_size, lr_d=LR_D, lr_g=LR_G,
        num=args.num, precision=args.precision, jit=args.jit,
        scalar_every=args.scalar_every, image_every=args.image_every,
        threads=args.threads)
    stopped = [r["name"] for r in records if r.get("stopped")]
    if stopped:
        print(f"stopped on non-finite values: {', '.join(stopped)}",
              file=sys.stderr)
    return 1 if stopped else 0


if __name__ == "__main__":
    sys.exit(cli.run(main))

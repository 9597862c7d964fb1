"""
Title: the MNIST mixture comparison (HMoG paper, Sec. IV-B and Fig. 9)
Date: 2026-11-23
Paper: Ahmetoglu & Alpaydin, "Hierarchical Mixtures of Generators for
    Adversarial Learning" (seed 004).
Purpose: train FC, MoG, HMoG, MEGAN, MADGAN and MGAN with 8 and 16
    generators over several seeds on the bundled MNIST (8,000 training
    images, 32x32), all for the same number of generator iterations, score
    each on the 2,000 held-out images and write the table and the
    score-vs-parameters figure.

    # the grid, split over two processes of one thread each (2-core CPU)
    python my_tests/my_test_mixtures_study.py --shard 0/2 &
    python my_tests/my_test_mixtures_study.py --shard 1/2 &
    wait
    python my_tests/my_test_mixtures_study.py --report   # table, JSON, figure

The networks are those of ``my_test_mixtures_mnist.py`` (its B_s and D
dicts, each model's recipe: WGAN-GP n_critic 5 for FC/MoG/HMoG,
non-saturating n_critic 5 with load balancing for MEGAN, (K+1)-way D with
n_critic 1 for MADGAN and MGAN; Adam-amsgrad 1e-4). Scores: FID and the
5-NN leave-one-out real/fake fractions on the domain classifier's features
(a CNN trained on the 8,000 training images), MS-SSIM between random
sample pairs. Everything goes under ``--out``: run folders in ``runs/``,
one score file per run in ``scores/`` (a run whose file holds the same
settings is skipped; one of other settings stops the grid), the table in
``mnist_mixtures.json`` and the figure. ``--publish`` writes the scores,
table and figure into ``docs/`` instead, where the published grid's files
are (the grid adds up over sessions: ``--list`` says what is done).
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "my_tests"))
sys.path.insert(0, ROOT)

import my_test_mixtures_mnist as arch  # noqa: E402  (B_S, D, H_SHAPE, CONFIG)
from experiment_spec import cli, recipes  # noqa: E402
from experiment_spec.flags import (ExperimentParser, UsageError,  # noqa: E402
                                   check_k_for_models, int_list,
                                   mixture_models, non_negative_int,
                                   positive_int)

# The published grid, in the repository's docs/ (written with --publish).
PUBLISHED = dict(
    published_scores=os.path.join(ROOT, "docs/results/mnist_study_scores"),
    published_table=os.path.join(ROOT, "docs/results/mnist_mixtures.json"),
    published_figure=os.path.join(ROOT, "docs/figures/mnist_mixtures_fid.png"))

PARSER = ExperimentParser(
    __doc__, common=("out", "seed", "steps", "batch_size", "precision", "jit",
                     "scalar_every", "image_every", "publish"),
    defaults={"out": "Results/mnist_study", "seed": [0, 1, 2], "steps": 400,
              "batch_size": 64}, seed_list=True)
PARSER.add_argument("--models", type=mixture_models(allow_empty=True),
                    default=recipes.names(), help="models of the grid")
PARSER.add_argument("--ks", type=int_list(2), default=[8, 16],
                    help="numbers of generators (FC: one run)")
PARSER.add_argument("--variants", default="", help="extra cells "
                    "MODEL:OBJECTIVE, comma-separated, e.g. megan:wasserstein"
                    " (MEGAN with WGAN-GP instead of its own loss), run for "
                    "every K and seed of the grid")
PARSER.add_argument("--num", type=positive_int, default=2000,
                    help="generated images per score")
PARSER.add_argument("--msssim_pairs", type=positive_int, default=250,
                    help="sample pairs for MS-SSIM")
PARSER.add_argument("--shard", default="0/1",
                    help="I/N: run every N-th job from the I-th")
PARSER.add_argument("--threads", type=non_negative_int, default=1,
                    help="intra-op threads (0: TensorFlow's)")
PARSER.add_argument("--figure_runs", default="hmog16_s0,mog16_s0,megan16_s0,"
                    "madgan16_s0,mgan16_s0,fc_s0",
                    help="runs whose interpretability figures are written")
action = PARSER.add_mutually_exclusive_group()
action.add_argument("--report", action="store_true",
                    help="only summarise the scores (table, JSON, figure)")
action.add_argument("--list", action="store_true",
                    help="only list this shard's runs, done or to run")


@PARSER.add_check
def _check(args):
    args.variants = [tuple(v.split(":", 1)) for v in args.variants.split(",")
                     if v.strip()]
    for variant in args.variants:
        if len(variant) != 2:
            raise UsageError("argument --variants: entries are "
                             f"MODEL:OBJECTIVE; received {variant[0]!r}")
        try:
            recipes.objective_of(*variant)
        except ValueError as error:
            raise UsageError(f"argument --variants: {error}") from None
    check_k_for_models(args.models + [m for m, _ in args.variants], args.ks,
                       "--ks")
    index, _, count = args.shard.partition("/")
    if not (index.isdigit() and count.isdigit() and int(index) < int(count)):
        raise UsageError(f"argument --shard: must be I/N with 0 <= I < N; "
                         f"received {args.shard!r}")
    if not (args.models or args.variants):
        raise UsageError("argument --models: the grid is empty (give "
                         "--models or --variants)")


def main(argv=None):
    args = PARSER.parse(argv)
    from deep_learning.experiments import mixture_study as grid
    from deep_learning.experiments import study
    paths = study.study_paths(args.out, args.publish, name="mnist_mixtures",
                              **PUBLISHED)
    if args.report:
        grid.report(paths.scores, paths.table, paths.figure)
        return 0
    todo = study.shard(grid.jobs(args.models, args.ks, args.seed,
                                 args.variants), args.shard)
    if args.list:
        for job in todo:
            done = os.path.exists(os.path.join(paths.scores,
                                               f"{job.name}.json"))
            print(f"{job.name}: {'done' if done else 'to run'}")
        return 0
    study.limit_threads(args.threads)
    grid.prepare_extractor()
    records = [grid.run_job(
        job, arch.B_S, arch.D, arch.H_SHAPE, scores_dir=paths.scores,
        runs_dir=paths.runs, steps=args.steps, batch_size=args.batch_size,
        lr=arch.CONFIG["lr"], latent_dim=arch.CONFIG["latent_dim"],
        num=args.num, msssim_pairs=args.msssim_pairs,
        figures_for=args.figure_runs.split(","), precision=args.precision,
        jit=args.jit, scalar_every=args.scalar_every,
        image_every=args.image_every) for job in todo]
    stopped = [r["name"] for r in records if r.get("stopped")]
    if stopped:
        print(f"stopped on non-finite values: {', '.join(stopped)}",
              file=sys.stderr)
    return 1 if stopped else 0


if __name__ == "__main__":
    sys.exit(cli.run(main))

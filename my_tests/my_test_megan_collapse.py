"""
Title: why MEGAN collapses on MNIST under its own objective
Date: 2026-12-01
Paper: Park et al., "MEGAN: Mixture of Experts of Generative Adversarial
    Networks for Multimodal Image Generation" (IJCAI-18, seed 000), as
    trained by the HMoG authors (seed 004, ``train_megan.py``).
Purpose: in the MNIST mixture study (``my_test_mixtures_study.py``) MEGAN
    with the authors' objective (non-saturating loss, n_critic 5, no
    normalisation in G) draws only black images. This script follows the
    first iterations of that run and of three controls, so the cause can be
    read off: the same MEGAN with one critic step, the FC generator under
    MEGAN's objective, and MEGAN under WGAN-GP.

    python my_tests/my_test_megan_collapse.py                  # all four, 200 iterations
    python my_tests/my_test_megan_collapse.py --cases megan,fc_logistic --steps 300

Every ``--every`` generator iterations it draws 256 images from fixed codes
and records pixel statistics and the critic's scores
(``deep_learning/experiments/megan_probe.py`` says which). Networks, data,
batch and optimiser are the study's (B_s and D of
``my_test_mixtures_mnist.py``, the bundled 8,000 training digits, batch 64,
Adam-amsgrad 1e-4). One JSON file per case under ``--out`` (with
``--publish``: ``docs/results/megan_collapse/``, the published probes); a
case whose file holds the same settings is read, not re-run.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "my_tests"))
sys.path.insert(0, ROOT)

import my_test_mixtures_mnist as arch  # noqa: E402  (B_S, D, H_SHAPE, CONFIG)
from experiment_spec import cli  # noqa: E402
from experiment_spec.flags import (ExperimentParser, choice_list,  # noqa: E402
                                   non_negative_int, positive_int)

CASES = ("megan", "megan_nc1", "fc_logistic", "megan_wgan")
PUBLISHED = os.path.join(ROOT, "docs/results/megan_collapse")

PARSER = ExperimentParser(
    __doc__, common=("out", "seed", "steps", "batch_size", "publish"),
    defaults={"out": "Results/megan_collapse", "steps": 200,
              "batch_size": 64})
PARSER.add_argument("--cases", type=choice_list(CASES), default=list(CASES),
                    help="cases to probe: MEGAN-16 with its own objective, "
                         "with n_critic 1, FC under MEGAN's objective, "
                         "MEGAN-16 under WGAN-GP")
PARSER.add_argument("--every", type=positive_int, default=10,
                    help="generator iterations between two probes")
PARSER.add_argument("--threads", type=non_negative_int, default=1,
                    help="intra-op threads (0: TensorFlow's)")


def main(argv=None):
    args = PARSER.parse(argv)
    from deep_learning.experiments import megan_probe, study
    study.limit_threads(args.threads)
    out = PUBLISHED if args.publish else args.out
    results = [megan_probe.run_case(
        case, arch.B_S, arch.D, arch.H_SHAPE, out=out,
        runs_dir=os.path.join(args.out, "runs"), steps=args.steps,
        every=args.every, batch_size=args.batch_size, seed=args.seed,
        lr=arch.CONFIG["lr"], latent_dim=arch.CONFIG["latent_dim"])
        for case in args.cases]
    megan_probe.print_table(results)
    return 1 if any(r["stopped"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(cli.run(main))

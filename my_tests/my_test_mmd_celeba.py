"""
Title: the repulsive MMD-GAN on CelebA
Date: 2026-11-23
Paper: Wang, Sun & Halgamuge, "Improving MMD-GAN Training with Repulsive
    Loss Function", ICLR 2019 (richardwth/MMD-GAN, ``my_test_celeba.py``).
Purpose: train the repository's CelebA MMD-GAN (64x64, DCGAN generator
    from 4x4x1024, spectrally normalised 10-layer discriminator with a 16-d
    score, TTUR 1e-4 / 2e-4) with one of the paper's losses.

    python my_tests/my_test_mmd_celeba.py --loss rmb

The architecture is the dict below, an editable copy of
``deep_learning.network.architectures.mmd_generator('celeba')`` /
``mmd_discriminator('celeba')``; every other setting is a flag
(``--help``; defaults: the repository's, ``experiment_spec/mmd.py``).
Without ``--steps`` a run takes the repository's 100,000 generator steps.
Data: ``load_dataset('celeb_a')`` (tensorflow-datasets; see
``datasets/README.md``).

Reported: the paper's Table 1 CelebA FIDs were not retrieved (see
``/work/shared/reference/mmd_gan_repulsive.md``). The authors' sweep
(``Results_rep.xlsx``, best cell, FID): rep 6.81, rmb 6.42, hinge 8.95,
attractive MMD 12.54; ``rep`` diverged in about half of the cells, ``rmb``
in very few.

TensorBoard (``<out>/<run>/logs``): ``loss/d``, ``loss/g``, the kernel
means ``<loss>/kxx``, ``kyy``, ``kxy`` and ``mmd2``, every layer's
``sigma/discriminator/<layer>``, ``lr/d`` (1e-4), ``lr/g`` (2e-4) and
sample grids.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from experiment_spec import cli  # noqa: E402
from experiment_spec.mmd import FULL_STEPS, make_parser  # noqa: E402

# ---- architecture (edit here) ----------------------------------------------
# Spectral-norm multiplier of the scripts: C = 64^(1/L), L = 10 layers in D.
C = 64 ** (1 / 10)
SN = {"w_nm": "s", "act_k": C}
LRELU = ["lrelu", 0.1]

ARCHITECTURE = {
    "input": (64, 64, 3),
    "code": 128,
    "generator": [
        {"name": "l1", "op": "d", "out": 4 * 4 * 1024,
         "out_reshape": [4, 4, 1024], "act": "relu", "act_nm": "bn"},
        {"name": "l2_up", "op": "tc", "out": 512, "kernel": 4, "strides": 2,
         "act": "relu", "act_nm": "bn"},
        {"name": "l3_up", "op": "tc", "out": 256, "kernel": 4, "strides": 2,
         "act": "relu", "act_nm": "bn"},
        {"name": "l4_up", "op": "tc", "out": 128, "kernel": 4, "strides": 2,
         "act": "relu", "act_nm": "bn"},
        {"name": "l5_up", "op": "tc", "out": 64, "kernel": 4, "strides": 2,
         "act": "relu", "act_nm": "bn"},
        {"name": "l6_t64", "op": "c", "out": 3, "kernel": 3, "act": "tanh"},
    ],
    "discriminator": [
        {"name": "l1", "op": "c", "out": 64, "kernel": 3,
         "act": LRELU, **SN},
        {"name": "l2_ds", "op": "c", "out": 128, "kernel": 4, "strides": 2,
         "act": LRELU, **SN},
        {"name": "l3", "op": "c", "out": 128, "kernel": 3,
         "act": LRELU, **SN},
        {"name": "l4_ds", "op": "c", "out": 256, "kernel": 4, "strides": 2,
         "act": LRELU, **SN},
        {"name": "l5", "op": "c", "out": 256, "kernel": 3,
         "act": LRELU, **SN},
        {"name": "l6_ds", "op": "c", "out": 512, "kernel": 4, "strides": 2,
         "act": LRELU, **SN},
        {"name": "l7", "op": "c", "out": 512, "kernel": 3,
         "act": LRELU, **SN},
        {"name": "l8_ds", "op": "c", "out": 1024, "kernel": 4, "strides": 2,
         "act": LRELU, **SN},
        {"name": "l9", "op": "c", "out": 1024, "kernel": 3,
         "act": LRELU, "out_reshape": [4 * 4 * 1024], **SN},
        {"name": "l10_s", "op": "d", "out": 16, **SN},
    ],
}

DATASET = "celeba"
PARSER = make_parser(__doc__, DATASET)


def main(argv=None):
    args = PARSER.parse(argv)
    PARSER.announce(args.steps, FULL_STEPS)
    from deep_learning.experiments import mmd
    return mmd.run_script(ARCHITECTURE, DATASET, args, "my_test_mmd_celeba")


if __name__ == "__main__":
    sys.exit(cli.run(main))

"""The repulsive MMD-GAN repository's per-dataset settings and the flag set
of its ``my_tests/my_test_mmd_*`` scripts (standard library only: the
scripts check their flags with it before TensorFlow loads).

Wang, Sun & Halgamuge, "Improving MMD-GAN Training with Repulsive Loss
Function", ICLR 2019 (richardwth/MMD-GAN). Settings of the repository's
``my_test_*`` scripts:

| dataset key | ``load_dataset`` name | lr_D | lr_G |
|---|---|---|---|
| cifar10 | ``cifar10`` | 5e-4 | 2e-4 |
| stl10 | ``stl10`` | 2e-4 | 2e-4 |
| celeba | ``celeb_a`` | 1e-4 | 2e-4 |
| lsun | ``lsun/church_outdoor`` | 2e-4 | 1e-4 |

with batch 64, 100,000 generator steps (8 x 12,500), the spectral-norm
multiplier ``C = 64^(1/L)`` of the scripts or the paper's 1.82.
``deep_learning.models.mmd_gan`` takes its constants from here.
"""

from __future__ import annotations

import argparse

from experiment_spec.flags import (ExperimentParser, positive_float,
                                   positive_int, real_or_choice)

__all__ = ["DATASET_LR", "DATA_NAMES", "FULL_STEPS", "MMD_LOSSES",
           "PAPER_MULTIPLIER", "SN_MODES", "make_parser"]

#: (lr_D, lr_G) of the repository's ``my_test_*`` scripts.
DATASET_LR = {"cifar10": (5e-4, 2e-4), "stl10": (2e-4, 2e-4),
              "celeba": (1e-4, 2e-4), "lsun": (2e-4, 1e-4)}
#: The ``general_tools.data.load_dataset`` name of each dataset key.
DATA_NAMES = {"cifar10": "cifar10", "stl10": "stl10", "celeba": "celeb_a",
              "lsun": "lsun/church_outdoor"}
#: The losses of the paper's comparison.
MMD_LOSSES = ("rep", "rmb", "mmd", "hinge", "logistic")
#: The multiplier C of the paper's main text (about 1 / 0.55).
PAPER_MULTIPLIER = 1.82
#: Spectral norm of the convolution operator, or of the reshaped kernel
#: (Miyato et al.).
SN_MODES = ("conv", "matrix")
#: Generator steps of the repository's runs (8 x 12,500).
FULL_STEPS = 100_000

_COMMON = ("out", "seed", "steps", "batch_size", "precision", "jit",
           "strategy", "scalar_every", "image_every", "data_dir")


def _data_name(text):
    """A non-empty ``load_dataset`` name."""
    if not str(text).strip():
        raise argparse.ArgumentTypeError(
            f"must name a load_dataset dataset; received {text!r}")
    return str(text).strip()


def make_parser(doc, dataset, prog=None):
    """The parser of the ``my_test_mmd_<dataset>`` scripts.

    Own flags: ``--loss``, ``--lr_d``, ``--lr_g`` (default: the dataset's),
    ``--multiplier``, ``--sn_mode``, ``--dataset`` (a ``load_dataset``
    name instead of the dataset key's), ``--steps_per_epoch``,
    ``--checkpoint_every``; and the common flags but ``--publish``
    (``--steps`` defaults to :data:`FULL_STEPS`, ``--batch_size`` to 64).

    Args:
        doc: str. The script's docstring.
        dataset: str. A key of :data:`DATASET_LR`.
        prog: str or None. Program name (default: the script's file name).

    Returns:
        ``experiment_spec.flags.ExperimentParser``.
    """
    if dataset not in DATASET_LR:
        raise ValueError(f"`dataset` must be one of {sorted(DATASET_LR)}. "
                         f"Received: dataset={dataset!r}")
    lr_d, lr_g = DATASET_LR[dataset]
    parser = ExperimentParser(doc, common=_COMMON,
                              defaults={"batch_size": 64,
                                        "image_every": 2500},
                              paper_steps=FULL_STEPS, prog=prog)
    add = parser.add_argument
    add("--loss", choices=MMD_LOSSES, default="rep", help="GAN loss")
    add("--lr_d", type=positive_float, default=lr_d,
        help=f"discriminator learning rate ({dataset}: the repository's)")
    add("--lr_g", type=positive_float, default=lr_g,
        help=f"generator learning rate ({dataset}: the repository's)")
    add("--multiplier", type=real_or_choice("scripts", "paper"),
        default="scripts", help="spectral-norm multiplier C: 'scripts' "
        "(64^(1/L), L = layers of D), 'paper' (1.82) or a number > 0")
    add("--sn_mode", choices=SN_MODES, default="conv",
        help="spectral norm of the convolution operator or of the reshaped "
             "kernel (Miyato et al.)")
    add("--dataset", type=_data_name, default=DATA_NAMES[dataset],
        help="load_dataset name of the training data (grey images are "
             "tiled to the architecture's channels)")
    add("--steps_per_epoch", type=positive_int, default=500,
        help="generator steps per Keras epoch (progress bar)")
    add("--checkpoint_every", type=positive_int, default=5000,
        help="checkpoint period (generator steps)")
    return parser

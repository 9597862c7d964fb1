"""
Title: BEGAN on CelebA 64x64
Date: 2025-11-23
Paper: Berthelot, Schumm & Metz, "BEGAN: Boundary Equilibrium Generative
    Adversarial Networks", arXiv 1703.10717 (2017); where the paper is
    silent, carpedm20/BEGAN-tensorflow.
Purpose: train BEGAN (an auto-encoder discriminator, the k_t equilibrium
    control, M_global) on 64x64 faces, with the learning rate halved when
    M_global stops improving, and watch D's reconstructions of real and
    generated faces.

    python my_tests/my_test_began_celeba.py --steps 200000 --gamma 0.5
    python my_tests/my_test_began_celeba.py --lr_policy step --out Results/began_step

Setup (defaults follow the paper where known, carpedm20 otherwise):
networks of 3x3 convolutions + ELU, n = 128 filters growing linearly per
stage in the encoder, stride-2 convolutions down, nearest-neighbour
up-sampling, 8x8 bottleneck, N_h = N_z = 64, linear output, images in
[-1, 1]; gamma = 0.5, lambda_k = 0.001, k_0 = 0, L1 auto-encoder loss
(eta = 1), z ~ U[-1, 1], batch 16; Adam with lr 1e-4 for both networks (the
paper's range is [5e-5, 1e-4]; carpedm20 uses 8e-5), beta_1 = 0.9
(carpedm20 parses 0.5 but never passes it to Adam), beta_2 = 0.999,
epsilon = 1e-8. The learning rate is halved when M_global has not improved
for --plateau_patience epochs of --steps_per_epoch steps (the paper);
--lr_policy step is carpedm20's x0.5 every 100k steps with a floor of 2e-5.
The paper trained on 360K celebrity faces (not CelebA); carpedm20 crops
CelebA to 128x128 at (50, 25) before resizing, load_dataset('celeb_a')
takes the centred 108x108 crop. The default 200,000 steps is a paper-scale
run; --steps N runs fewer.

TensorBoard (<out>/<run>/logs): began/d_real = L(x), began/d_fake =
L(G(z)), began/k, began/m_global, began/balance, loss/d, loss/g, lr/d, lr/g,
samples from a fixed z, and the began/real_reconstruction and
began/fake_reconstruction panels (inputs in the top row, D's
reconstructions below; also PNGs in <run>/samples). The run folder's name
starts with began-g<gamma>, so runs of several gammas share one --out.
my_test_began_mnist.py shares this
script's flags with a small MNIST architecture.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from experiment_spec import cli  # noqa: E402
from experiment_spec.flags import (ExperimentParser, UsageError,  # noqa: E402
                                   positive_float, positive_int)

# ---- architecture (edit here) ----------------------------------------------
ARCHITECTURE = {
    "input": (64, 64, 3),
    "code": 64,            # N_z
    "hidden": 128,         # n: encoder stage i has i * n filters
    "embedding": 64,       # N_h
    "repeats": 2,          # 3x3 ELU convolutions per stage
    "skip": False,         # skip connections (paper Sec. 3.5)
    "downsample": "conv",  # 'conv' (stride 2), 'avg' or 'max'
    "out_act": "linear",   # carpedm20: linear output, data in [-1, 1]
}
PAPER_STEPS = 200_000
DEFAULTS = {
    "steps": PAPER_STEPS, "batch_size": 16, "scalar_every": 100,
    "image_every": 2500, "lr": 1e-4, "gamma": 0.5, "lambda_k": 0.001,
    "eta": 1.0, "beta_1": 0.9, "beta_2": 0.999, "lr_policy": "plateau",
    "plateau_patience": 5, "min_lr": 2e-5, "decay_steps": 100_000,
    "latent": "uniform", "dataset": "celeb_a", "steps_per_epoch": 1000,
    "checkpoint_every": 5000,
}
COMMON = ("out", "seed", "steps", "batch_size", "precision", "jit",
          "strategy", "scalar_every", "image_every", "data_dir")


def _number(text, ok, what):
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not ok(value):
        raise argparse.ArgumentTypeError(
            f"must be a number {what}; received {text!r}")
    return value


def unit_interval(text):
    """A number in [0, 1]."""
    return _number(text, lambda v: 0.0 <= v <= 1.0, "in [0, 1]")


def adam_decay(text):
    """A number in [0, 1)."""
    return _number(text, lambda v: 0.0 <= v < 1.0, "in [0, 1)")


def non_negative_float(text):
    """A finite number >= 0."""
    return _number(text, lambda v: 0.0 <= v < float("inf"), ">= 0")


def make_parser(doc, defaults, datasets, paper_steps=None):
    """The parser of the BEGAN scripts (TensorFlow-free).

    Args:
        doc: str. The script's docstring.
        defaults: dict. Defaults of the common flags ``steps``,
            ``batch_size``, ``scalar_every``, ``image_every`` and of every
            BEGAN flag (``DEFAULTS`` here).
        datasets: list of str. The ``--dataset`` choices (data with the
            architecture's channels).
        paper_steps: int or None. The paper-scale schedule, announced
            before such a run starts. Defaults to None.
    """
    d = dict(defaults)
    parser = ExperimentParser(
        doc, common=COMMON, paper_steps=paper_steps,
        defaults={k: d.pop(k) for k in ("steps", "batch_size",
                                        "scalar_every", "image_every")})
    add = parser.add_argument_group("BEGAN flags").add_argument
    add("--dataset", choices=datasets, default=d.pop("dataset"),
        help="training data (load_dataset name)")
    add("--gamma", type=unit_interval, default=d.pop("gamma"),
        help="diversity ratio gamma = E[L(G(z))] / E[L(x)] at equilibrium")
    add("--lambda_k", type=non_negative_float, default=d.pop("lambda_k"),
        help="gain of the k_t update")
    add("--eta", type=positive_float, default=d.pop("eta"),
        help="exponent of the auto-encoder loss (1: L1)")
    add("--lr", type=positive_float, default=d.pop("lr"),
        help="initial learning rate of D and G")
    add("--beta_1", type=adam_decay, default=d.pop("beta_1"),
        help="Adam beta_1")
    add("--beta_2", type=adam_decay, default=d.pop("beta_2"),
        help="Adam beta_2")
    add("--lr_policy", choices=["plateau", "step", "constant"],
        default=d.pop("lr_policy"),
        help="halve the learning rates when M_global plateaus, every "
             "--decay_steps, or never")
    add("--plateau_patience", type=positive_int,
        default=d.pop("plateau_patience"),
        help="epochs without a lower M_global before halving (plateau)")
    add("--min_lr", type=non_negative_float, default=d.pop("min_lr"),
        help="learning-rate floor (plateau, step)")
    add("--decay_steps", type=positive_int, default=d.pop("decay_steps"),
        help="steps between halvings (step)")
    add("--latent", choices=["uniform", "normal"], default=d.pop("latent"),
        help="z ~ U[-1, 1] (the paper) or N(0, I)")
    add("--steps_per_epoch", type=positive_int,
        default=d.pop("steps_per_epoch"),
        help="generator steps per epoch (one plateau check each)")
    add("--checkpoint_every", type=positive_int,
        default=d.pop("checkpoint_every"), help="checkpoint period (steps)")
    if d:
        raise ValueError(f"defaults for flags the parser lacks: {sorted(d)}")

    @parser.add_check
    def _floor_below_lr(args):
        if args.min_lr > args.lr:
            raise UsageError(f"argument --min_lr: must not exceed --lr "
                             f"({args.lr:g}); received {args.min_lr:g}")
    return parser


def runner_settings(args):
    """``deep_learning.experiments.began.train_began``'s keyword arguments:
    every flag, by its own name (``--out`` as ``root``)."""
    settings = dict(vars(args))
    settings["root"] = settings.pop("out")
    return settings


PARSER = make_parser(__doc__, DEFAULTS, ["celeb_a", "cifar10", "stl10",
                                         "lsun/church_outdoor",
                                         "oxford_flowers102", "ut_zap50k"],
                     paper_steps=PAPER_STEPS)


def main(argv=None):
    args = PARSER.parse(argv)
    PARSER.announce(args.steps)
    from deep_learning.experiments import began, common
    result = began.train_began(ARCHITECTURE, **runner_settings(args))
    return common.exit_status(result)


if __name__ == "__main__":
    sys.exit(cli.run(main))

"""
Title: mixtures of generators on MNIST / FashionMNIST 32x32
Date: 2026-11-23
Paper: Ahmetoglu & Alpaydin, "Hierarchical Mixtures of Generators for
    Adversarial Learning" (seed 004), Sec. IV-B and Fig. 9.
Purpose: train one of FC, MoG, HMoG, MEGAN, MADGAN, MGAN with K generators
    (HMoG depth log2 K) on 32x32 digits or clothes, with the authors'
    objectives and optimiser, and write the interpretability figures.

    python my_tests/my_test_mixtures_mnist.py --model hmog --k 16 --steps 2000
    python my_tests/my_test_mixtures_mnist.py --model madgan --k 8 --dataset fashion_mnist

Setup (the authors' code): z ~ N(0, I_100); h = 256x4x4; B_s = ConvT k4 s2
256->128->64->1 with ReLU, then tanh; D = Conv k4 s2 64-128-256 with layer
norm and leaky ReLU 0.2, then dense. The recipe of each model
(experiment_spec/recipes.py) adds the rest: FC/MoG/HMoG WGAN-GP (lambda 10)
with n_critic 5; MEGAN non-saturating with n_critic 5 and load balancing;
MADGAN/MGAN batch norm after the ReLU in B_s and D, K+1 outputs, n_critic 1.
All: Adam-amsgrad (0.5, 0.999), lr 1e-4, batch 128. Without --steps a run
takes the authors' schedule (23,250 generator steps for FC/MoG/HMoG: 250
epochs of 60k images). Offline, ``mnist`` falls back to the 10,000 bundled
MNIST test images (the run folder then says mnist_bundled).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from experiment_spec import cli, recipes  # noqa: E402
from experiment_spec.flags import ExperimentParser  # noqa: E402
from experiment_spec.flags import add_mixture_flags  # noqa: E402

# ---- architecture (edit here) ----------------------------------------------
H_SHAPE = [4, 4, 256]  # h = 4096
B_S = [
    {"name": "bs1_up", "op": "tc", "out": 128, "kernel": 4, "strides": 2,
     "act": "relu", "init": "dcgan", "in_reshape": H_SHAPE},
    {"name": "bs2_up", "op": "tc", "out": 64, "kernel": 4, "strides": 2,
     "act": "relu", "init": "dcgan"},
    {"name": "bs3_out", "op": "tc", "out": 1, "kernel": 4, "strides": 2,
     "act": "tanh", "init": "dcgan"},
]
D = [
    {"name": "d1_ds", "op": "c", "out": 64, "kernel": 4, "strides": 2,
     "act": ["lrelu", 0.2], "act_nm": "ln", "init": "dcgan"},
    {"name": "d2_ds", "op": "c", "out": 128, "kernel": 4, "strides": 2,
     "act": ["lrelu", 0.2], "act_nm": "ln", "init": "dcgan"},
    {"name": "d3_ds", "op": "c", "out": 256, "kernel": 4, "strides": 2,
     "act": ["lrelu", 0.2], "act_nm": "ln", "init": "dcgan",
     "out_reshape": [-1]},
    {"name": "d_out", "op": "d", "out": 1, "init": "dcgan"},
]
CONFIG = dict(latent_dim=100, lr=1e-4, image_size=32)

PARSER = ExperimentParser(__doc__, defaults={"batch_size": 128,
                                             "steps": None})
add_mixture_flags(PARSER)
PARSER.add_argument("--dataset", default="mnist",
                    choices=["mnist", "mnist_bundled", "fashion_mnist"],
                    help="training data")


def main(argv=None):
    args = PARSER.parse(argv)
    recipe = recipes.get(args.model)
    steps = args.steps or recipe.mnist_steps
    PARSER.announce(steps, recipe.mnist_steps)
    from deep_learning.experiments import common, mixtures
    run = mixtures.train_mixture(
        args.model, args.k, B_S, D, H_SHAPE, dataset=args.dataset,
        steps=steps, image_size=CONFIG["image_size"],
        batch_size=args.batch_size, lr=CONFIG["lr"],
        latent_dim=CONFIG["latent_dim"], seed=args.seed, root=args.out,
        jit=args.jit, precision=args.precision, figures=args.figures,
        data_dir=args.data_dir, objective=args.objective,
        scalar_every=args.scalar_every, image_every=args.image_every,
        strategy=args.strategy,
        config={"script": "my_test_mixtures_mnist"})
    return common.exit_status(run)


if __name__ == "__main__":
    sys.exit(cli.run(main))

"""
Title: mixtures of generators on MNIST / FashionMNIST 32x32
Date: 2026-11-23
Paper: Ahmetoglu & Alpaydin, "Hierarchical Mixtures of Generators for
    Adversarial Learning" (seed 004), Sec. IV-B and Fig. 9.
Purpose: train one of FC, MoG, HMoG, MEGAN, MADGAN, MGAN with K generators
    (HMoG depth log2 K) on 32x32 digits or clothes, with the authors'
    objectives and optimiser, and write the interpretability figures.

    python my_tests/my_test_mixtures_mnist.py --model hmog --k 16
    python my_tests/my_test_mixtures_mnist.py --model madgan --k 8 --dataset fashion_mnist

Setup (the authors' code): z ~ N(0, I_100); h = 256x4x4; B_s = ConvT k4 s2
256->128->64->1 with ReLU, then tanh; D = Conv k4 s2 64-128-256 with layer
norm and leaky ReLU 0.2, then dense. FC/MoG/HMoG: WGAN-GP (lambda 10),
n_critic 5, 250 epochs of the 60k training images = 23,250 generator steps.
MADGAN/MGAN: batch norm after the ReLU in B_s and D, n_critic 1, 50 epochs.
MEGAN: non-saturating loss, n_critic 5, load balancing. All: Adam-amsgrad
(0.5, 0.999), lr 1e-4, batch 128. Offline, ``mnist`` falls back to the
10,000 bundled MNIST test images (with a notice).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

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
CONFIG = dict(latent_dim=100, batch_size=128, lr=1e-4, image_size=32)
# Generator steps of the authors' runs (epochs x 60,000 // (128 x n_critic)).
PAPER_STEPS = {"fc": 23_250, "mog": 23_250, "hmog": 23_250, "megan": 4_650,
               "madgan": 23_400, "mgan": 23_400}

FLAGS = flags.FLAGS
flags.DEFINE_enum("model", "hmog", list(PAPER_STEPS), "mixture model")
flags.DEFINE_integer("k", 16, "generators (leaves); HMoG depth = log2 k")
flags.DEFINE_enum("dataset", "mnist", ["mnist", "mnist_bundled",
                                       "fashion_mnist"], "training data")
flags.DEFINE_integer("steps", None, "generator steps (default: the paper's)")
flags.DEFINE_integer("seed", 0, "seed")
flags.DEFINE_string("out", "Results", "parent folder of the run folder")
flags.DEFINE_bool("jit", False, "XLA-compile the train step")
flags.DEFINE_enum("precision", "float32", ["float32", "mixed_float16",
                                           "mixed_bfloat16", "auto"],
                  "dtype policy")
flags.DEFINE_bool("figures", True, "write the interpretability figures")


def main(argv):
    del argv
    from deep_learning.experiments.mixtures import run_mixture_study
    run_mixture_study(
        FLAGS.model, FLAGS.k, B_S, D, H_SHAPE, dataset=FLAGS.dataset,
        steps=FLAGS.steps or PAPER_STEPS[FLAGS.model],
        image_size=CONFIG["image_size"], batch_size=CONFIG["batch_size"],
        lr=CONFIG["lr"], latent_dim=CONFIG["latent_dim"], seed=FLAGS.seed,
        root=FLAGS.out, jit=FLAGS.jit, precision=FLAGS.precision,
        figures=FLAGS.figures, config={"script": "my_test_mixtures_mnist"})


if __name__ == "__main__":
    app.run(main)

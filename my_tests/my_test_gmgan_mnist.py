"""
Title: GM-GAN on MNIST: unsupervised clustering and two supervised objectives
Date: 2025-11-23
Paper: Ben-Yosef & Weinshall, "Gaussian Mixture Generative Adversarial
    Networks for Diverse Datasets, and the Unsupervised Clustering of
    Images", arXiv 1808.10356 (2018); both supervised objectives as in the
    student presentation of seed 002.
Purpose: train a DCGAN whose latent prior is a mixture of K Gaussians
    (static, or learned with --dynamic) without labels, or with labels
    through a (K+1)-way discriminator or a split class / real-fake head;
    then cluster held-out real images with it.

    python my_tests/my_test_gmgan_mnist.py --objective unsupervised
    python my_tests/my_test_gmgan_mnist.py --objective k_plus_one --dynamic
    python my_tests/my_test_gmgan_mnist.py --objective split --class_weight 2

Objectives: ``unsupervised``, any classic GAN loss (default non-saturating
logistic); ``k_plus_one``, D has K+1 logits (index K = fake),
L_D = CE(D(x), y) + CE(D(G(z_y)), K), L_G = CE(D(G(z_y)), y); ``split``,
logits 0..K-1 a class head (cross-entropy on real images, also on fakes
with --d_class_on_fake), logit K real/fake (binary cross-entropy), weighted
by --class_weight and --adversarial_weight. After training, a classifier
trained on generated images labelled by their Gaussian clusters the
held-out real images; the accuracy under the best one-to-one
cluster/label mapping goes to <run>/results_<step>.json with, for the
supervised objectives on MNIST, the conditional accuracy (how often the
MNIST domain classifier reads digit y in a sample of Gaussian y). One
component grid per --sigma_scales value shows the quality/diversity
trade-off. Defaults the sources leave open: c = 3, sigma = 1 (a standard
deviation; seed 002 used c in {1, 3}, sigma in {0.7, 1, 1.7}), d = 100,
Adam 2e-4 with beta_1 = 0.5, batch 64.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from experiment_spec import cli  # noqa: E402
from experiment_spec.flags import (COMMON, ExperimentParser,  # noqa: E402
                                   UsageError, non_negative_int,
                                   positive_float, positive_int)

# ---- architecture (edit here) ----------------------------------------------
ARCHITECTURE = {
    "image_size": (32, 32),
    "code": 100,         # d
    "components": 10,    # K
    # The last layers' widths are set by the runner: G's to the images'
    # channels, D's to 1 (unsupervised) or K + 1 (supervised).
    "generator": [
        {"name": "g1", "op": "d", "out": 4 * 4 * 256, "act": "relu",
         "act_nm": "bn", "out_reshape": [4, 4, 256]},
        {"name": "g2_up", "op": "tc", "out": 128, "kernel": 4, "strides": 2,
         "act": "relu", "act_nm": "bn"},
        {"name": "g3_up", "op": "tc", "out": 64, "kernel": 4, "strides": 2,
         "act": "relu", "act_nm": "bn"},
        {"name": "g4_out", "op": "tc", "out": 1, "kernel": 4, "strides": 2,
         "act": "tanh"},
    ],
    "discriminator": [
        {"name": "d1_ds", "op": "c", "out": 64, "kernel": 4, "strides": 2,
         "act": ["lrelu", 0.2]},
        {"name": "d2_ds", "op": "c", "out": 128, "kernel": 4, "strides": 2,
         "act": ["lrelu", 0.2], "act_nm": "bn"},
        {"name": "d3_ds", "op": "c", "out": 256, "kernel": 4, "strides": 2,
         "act": ["lrelu", 0.2], "act_nm": "bn", "out_reshape": [-1]},
        {"name": "d_out", "op": "d", "out": 1},
    ],
}
# general_tools.losses' classic losses (listed here: TensorFlow is not
# imported before the flags are checked).
GAN_LOSSES = ("logistic", "minimax", "hinge", "wasserstein", "lsgan")
CLASSES = {"mnist": 10, "mnist_bundled": 10, "fashion_mnist": 10,
           "cifar10": 10}  # the labelled datasets


def non_negative_float(text):
    """A finite number >= 0 (0 is a valid c or loss weight)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(
            f"must be a number >= 0; received {text!r}")
    return value


def number_list(text):
    """Comma-separated numbers > 0."""
    return [positive_float(item) for item in str(text).split(",")]


PARSER = ExperimentParser(__doc__, common=COMMON, defaults={
    "steps": 5000, "batch_size": 64, "scalar_every": 50, "image_every": 500})
add = PARSER.add_argument
add("--objective", default="unsupervised",
    choices=["unsupervised", "k_plus_one", "split"], help="GM-GAN variant")
add("--lr_d", type=positive_float, default=2e-4, help="D's learning rate")
add("--lr_g", type=positive_float, default=2e-4, help="G's learning rate")
add("--c", type=non_negative_float, default=3.0, help="means start from "
    "U[-c, c]^d")
add("--sigma", type=positive_float, default=1.0,
    help="initial scale of every Gaussian")
add("--sigma_is", choices=["std", "variance"], default="std",
    help="read --sigma as a standard deviation or a variance")
add("--covariance", choices=["scalar", "diag"], default="scalar",
    help="one scale per Gaussian, or per Gaussian and axis")
add("--dynamic", action="store_true", help="learn the means and scales")
add("--class_weight", type=non_negative_float, default=1.0,
    help="--objective split: weight of the class term")
add("--adversarial_weight", type=non_negative_float, default=1.0,
    help="--objective split: weight of the real/fake term")
add("--d_class_on_fake", action="store_true",
    help="--objective split: train D's class head on fakes too")
add("--gan_loss", choices=GAN_LOSSES, default="logistic",
    help="--objective unsupervised: the GAN loss (the classic losses "
         "registered in general_tools.losses)")
add("--dataset", default="mnist", choices=list(CLASSES) + ["celeb_a"],
    help="training data; labelled for the supervised objectives and the "
         "clustering")
add("--steps_per_epoch", type=positive_int, default=500,
    help="generator steps per Keras epoch")
add("--checkpoint_every", type=positive_int, default=2500,
    help="checkpoint period (generator steps)")
add("--cluster_samples", type=positive_int, default=10000,
    help="generated images the clustering classifier trains on")
add("--cluster_epochs", type=positive_int, default=5,
    help="epochs of the clustering classifier")
add("--eval_images", type=non_negative_int, default=2000,
    help="held-out real images clustered; 0 skips the evaluation")
add("--sigma_scales", type=number_list, default="0.5,1,2",
    help="test-time sigma scales of the final component grids, "
         "comma-separated numbers > 0")


@PARSER.add_check
def _check(args):
    def changed(*names):
        return [n for n in names if getattr(args, n) != PARSER.get_default(n)]

    split_only = changed("class_weight", "adversarial_weight",
                         "d_class_on_fake")
    if split_only and args.objective != "split":
        raise UsageError(f"argument --{split_only[0]}: only --objective "
                         f"split has it; received --objective "
                         f"{args.objective}")
    if changed("gan_loss") and args.objective != "unsupervised":
        raise UsageError(f"argument --gan_loss: --objective {args.objective} "
                         f"uses cross-entropy; --gan_loss is for "
                         f"--objective unsupervised")
    supervised = args.objective != "unsupervised"
    if args.dataset not in CLASSES and (supervised or args.eval_images):
        raise UsageError(
            f"argument --dataset: {args.dataset!r} has no labels; the "
            f"supervised objectives and the clustering (--eval_images > 0) "
            f"need one of {', '.join(CLASSES)}")
    if supervised and CLASSES[args.dataset] != ARCHITECTURE["components"]:
        raise UsageError(
            f"argument --objective: {args.objective} needs one Gaussian per "
            f"class; ARCHITECTURE has {ARCHITECTURE['components']}, "
            f"{args.dataset} {CLASSES[args.dataset]} classes")
    unused = changed("cluster_samples", "cluster_epochs")
    if unused and not args.eval_images:
        raise UsageError(f"argument --{unused[0]}: --eval_images 0 skips "
                         f"the clustering")


def main(argv=None):
    args = PARSER.parse(argv)
    from deep_learning.experiments import common, gmgan
    kwargs = vars(args)  # every flag is a train_gmgan argument
    root = kwargs.pop("out")
    result, _ = gmgan.train_gmgan(ARCHITECTURE, root=root, **kwargs)
    return common.exit_status(result)


if __name__ == "__main__":
    sys.exit(cli.run(main))

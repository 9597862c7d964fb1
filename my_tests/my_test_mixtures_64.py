"""
Title: mixtures of generators on the 64x64 datasets
Date: 2026-11-23
Paper: Ahmetoglu & Alpaydin, "Hierarchical Mixtures of Generators for
    Adversarial Learning" (seed 004), Sec. IV-B (CelebA, UT-Zap50K, Oxford
    Flowers, LSUN church).
Purpose: train one of FC, MoG, HMoG, MEGAN, MADGAN, MGAN at 64x64 with the
    authors' objectives, and write the interpretability figures (the paper's
    Figs. 11-13 use a 16-leaf HMoG on CelebA).

    python my_tests/my_test_mixtures_64.py --dataset celeb_a --model hmog --k 16
    python my_tests/my_test_mixtures_64.py --dataset ut_zap50k --data_dir /data/zap50k --steps 5000

Choices the paper leaves open (it says only "the (transposed) convolutional
part of DCGAN"; the authors' code has no 64x64 configuration): h = 512x4x4,
B_s = ConvT k4 s2 512->256->128->64->3 with ReLU then tanh, D = Conv k4 s2
64-128-256-512 with layer norm (batch norm after the activation for
MADGAN/MGAN) and leaky ReLU 0.2. The DCGAN paper's 1024x4x4 start would make
each linear leaf 1.6M parameters; 512 keeps a 16-leaf HMoG at 13.2M. The
hold-out (10,000 images, 1,000 for Oxford Flowers' 8,189) and crop sizes are
the data loader's defaults (datasets/README.md). The number of steps is not
recorded for these datasets; the default here is the MNIST runs' 23,250.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from experiment_spec import cli  # noqa: E402
from experiment_spec.flags import ExperimentParser, UsageError  # noqa: E402
from experiment_spec.flags import add_mixture_flags  # noqa: E402

# ---- architecture (edit here) ----------------------------------------------
H_SHAPE = [4, 4, 512]  # h = 8192
B_S = [
    {"name": "bs1_up", "op": "tc", "out": 256, "kernel": 4, "strides": 2,
     "act": "relu", "init": "dcgan", "in_reshape": H_SHAPE},
    {"name": "bs2_up", "op": "tc", "out": 128, "kernel": 4, "strides": 2,
     "act": "relu", "init": "dcgan"},
    {"name": "bs3_up", "op": "tc", "out": 64, "kernel": 4, "strides": 2,
     "act": "relu", "init": "dcgan"},
    {"name": "bs4_out", "op": "tc", "out": 3, "kernel": 4, "strides": 2,
     "act": "tanh", "init": "dcgan"},
]
D = [
    {"name": f"d{i + 1}_ds", "op": "c", "out": width, "kernel": 4,
     "strides": 2, "act": ["lrelu", 0.2], "act_nm": "ln", "init": "dcgan"}
    for i, width in enumerate([64, 128, 256, 512])
]
D[-1]["out_reshape"] = [-1]
D.append({"name": "d_out", "op": "d", "out": 1, "init": "dcgan"})
CONFIG = dict(latent_dim=100, lr=1e-4, image_size=64)
# The number of steps is not recorded for these datasets; the default is the
# MNIST runs' 23,250.
PAPER_STEPS = 23_250
DATASETS = ["celeb_a", "ut_zap50k", "oxford_flowers102", "lsun/church_outdoor"]

PARSER = ExperimentParser(__doc__, defaults={"batch_size": 128},
                          paper_steps=PAPER_STEPS)
add_mixture_flags(PARSER)
PARSER.add_argument("--dataset", choices=DATASETS, default="celeb_a",
                    help="training data (tensorflow-datasets, or an image "
                         "folder / TFRecord shards in --data_dir for "
                         "ut_zap50k)")


@PARSER.add_check
def _check(args):
    if args.dataset == "ut_zap50k" and args.data_dir is None:
        raise UsageError("argument --data_dir: ut_zap50k has no "
                         "tensorflow-datasets builder; give its image or "
                         "TFRecord folder (datasets/README.md)")


def main(argv=None):
    args = PARSER.parse(argv)
    PARSER.announce(args.steps)
    from deep_learning.experiments import common, mixtures
    run = mixtures.train_mixture(
        args.model, args.k, B_S, D, H_SHAPE, dataset=args.dataset,
        steps=args.steps, image_size=CONFIG["image_size"],
        batch_size=args.batch_size, lr=CONFIG["lr"],
        latent_dim=CONFIG["latent_dim"], seed=args.seed, root=args.out,
        jit=args.jit, precision=args.precision, figures=args.figures,
        data_dir=args.data_dir, objective=args.objective,
        scalar_every=args.scalar_every, image_every=args.image_every,
        strategy=args.strategy,
        config={"script": "my_test_mixtures_64"})
    return common.exit_status(run)


if __name__ == "__main__":
    sys.exit(cli.run(main))

"""
Title: BEGAN on MNIST 32x32, a CPU-sized run
Date: 2025-11-23
Paper: Berthelot, Schumm & Metz, "BEGAN: Boundary Equilibrium Generative
    Adversarial Networks", arXiv 1703.10717 (2017).
Purpose: the BEGAN of my_test_began_celeba.py (same losses, k_t control,
    M_global plateau halving and flags) scaled down to 32x32 grey digits
    (n = 16, N_h = N_z = 32) so that a run finishes on a laptop CPU; watch
    how gamma sets k_t and the samples' diversity.

    python my_tests/my_test_began_mnist.py
    python my_tests/my_test_began_mnist.py --gamma 0.7 --steps 4500 --out Results/began_mnist

The data are the MNIST test images bundled in datasets/mnist
(load_dataset('mnist_bundled'): 8,000 training images resized to 32x32);
--dataset mnist uses the full set through tensorflow-datasets. Each gamma
gets its own run folder (began-g<gamma>_...).

Measured (docs/results.md, 4,500 steps, batch 16): M_global falls from
about 1 to 0.07 at gamma 0.3 and 0.7 alike; with gamma = 0.7 k_t rises to
about 0.05 and the generator draws clean but collapsed digits (mostly
ones); with gamma = 0.3 k_t stays clipped at 0 and the samples are blobs.
Diverse digits need far longer runs.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from experiment_spec import cli  # noqa: E402
from my_test_began_celeba import DEFAULTS as CELEBA_DEFAULTS  # noqa: E402
from my_test_began_celeba import make_parser, runner_settings  # noqa: E402

# ---- architecture (edit here) ----------------------------------------------
ARCHITECTURE = {
    "input": (32, 32, 1),
    "code": 32,            # N_z
    "hidden": 16,          # n: encoder stage i has i * n filters
    "embedding": 32,       # N_h
    "repeats": 2,          # 3x3 ELU convolutions per stage
    "skip": False,         # skip connections (paper Sec. 3.5)
    "downsample": "conv",  # 'conv' (stride 2), 'avg' or 'max'
    "out_act": "linear",   # linear output, data in [-1, 1]
}
DEFAULTS = {**CELEBA_DEFAULTS, "dataset": "mnist_bundled", "steps": 3000,
            "steps_per_epoch": 250, "plateau_patience": 3,
            "checkpoint_every": 1000, "scalar_every": 25,
            "image_every": 500}

PARSER = make_parser(__doc__, DEFAULTS,
                     ["mnist_bundled", "mnist", "fashion_mnist"])


def main(argv=None):
    args = PARSER.parse(argv)
    from deep_learning.experiments import began, common
    result = began.train_began(ARCHITECTURE, **runner_settings(args))
    return common.exit_status(result)


if __name__ == "__main__":
    sys.exit(cli.run(main))

"""
Title: BEGAN on MNIST (32x32), a CPU-sized run
Author: mixgan
Date created: 2025/11/23
Last modified: 2025/11/23
Description: The BEGAN of ``my_test_began_celeba.py`` scaled down to
    32x32 grey digits (n = 16, N_h = N_z = 32) so that a full run finishes
    on a laptop CPU.

Berthelot, Schumm & Metz, arXiv 1703.10717 (2017). Same losses, k_t
control and M_global plateau halving as the CelebA script (whose runner
this script reuses); only the architecture dict and the defaults differ.
The data are the MNIST test images bundled in ``datasets/mnist``
(``load_dataset('mnist_bundled')``: 8,000 training images resized to 32x32;
``--dataset=mnist`` uses the full set through tensorflow-datasets).

Measured (docs/results.md, 4,500 steps, batch 16): L(x) and M_global fall
steadily; with gamma = 0.7 k_t rises to about 0.05 and the generator
produces clean but collapsed digits (mostly ones); with gamma = 0.3 k_t stays
at 0 and the samples are blobs. Diverse digits need longer runs.

Usage:

```
python my_tests/my_test_began_mnist.py
python my_tests/my_test_began_mnist.py --gamma=0.3 --steps=5000
```
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from my_test_began_celeba import DEFAULTS as _CELEBA_DEFAULTS  # noqa: E402
from my_test_began_celeba import define_flags, main, run  # noqa: E402,F401

ARCHITECTURE = {
    "input": (32, 32, 1),
    "code": 32,           # N_z
    "hidden": 16,         # n: encoder stage i has i * n filters
    "embedding": 32,      # N_h
    "repeats": 2,         # 3x3 ELU convs per stage
    "skip": False,        # skip connections (paper Sec. 3.5)
    "downsample": "conv",  # 'conv' (stride 2), 'avg' or 'max'
    "out_act": "linear",  # linear output, data in [-1, 1]
}

DEFAULTS = {**_CELEBA_DEFAULTS, "dataset": "mnist_bundled", "steps": 3000,
            "steps_per_epoch": 250, "plateau_patience": 3,
            "checkpoint_every": 1000, "scalar_every": 25,
            "image_every": 500}

if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
        __file__))))
    from absl import app

    define_flags(DEFAULTS)
    app.run(lambda argv: main(ARCHITECTURE, argv))

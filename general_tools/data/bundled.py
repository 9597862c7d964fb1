"""The MNIST test images bundled in the repository (`datasets/mnist/`).

The 10,000 images of the MNIST test set (LeCun, Cortes and Burges, 1998) in
their original IDX gzip files, so that mixgan trains and evaluates with no
network. Label counts per digit 0-9: 980, 1135, 1032, 1010, 982, 892, 958,
1028, 974, 1009.

`mnist_bundled` splits them by a seeded random hold-out (default 2,000 for
`"test"`, 8,000 for `"train"`, seed 2019). The file is ordered by source:
its first 5,000 images come from NIST's SD-3 (Census Bureau employees) and
are cleaner and easier than the last 5,000 (SD-1, high-school students), as
the MNIST page notes, and within each half the digits come in runs by
writer; a split by index would not be a sample of the whole.
"""

import os

import numpy as np

from general_tools.data import idx as idx_lib
from general_tools.data.readers import _array_source, _as_nhwc

IMAGES_FILE = "t10k-images-idx3-ubyte.gz"
LABELS_FILE = "t10k-labels-idx1-ubyte.gz"
#: Default size of the seeded hold-out of `mnist_bundled`.
BUNDLED_HOLDOUT = 2_000


def bundled_mnist_dir():
    """The repository's `datasets/mnist` folder (may be absent when mixgan
    is installed without its repository)."""
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "datasets",
                                         "mnist"))


def read_bundled_mnist(data_dir=None):
    """The bundled images and labels as numpy arrays.

    Args:
        data_dir: str or None. folder with `t10k-images-idx3-ubyte.gz` and
            `t10k-labels-idx1-ubyte.gz`. Defaults to `bundled_mnist_dir()`.

    Returns:
        `(images, labels)`: uint8 `(10000, 28, 28)` and uint8 `(10000,)`.
    """
    folder = data_dir or bundled_mnist_dir()
    images_path = os.path.join(folder, IMAGES_FILE)
    if not os.path.exists(images_path):
        raise FileNotFoundError(
            f"Bundled MNIST file '{images_path}' does not exist. It ships in "
            "the repository's datasets/mnist/; with an installed copy of "
            "mixgan pass data_dir=<folder with the two t10k IDX files>.")
    images = idx_lib.read_idx(images_path)
    labels = idx_lib.read_idx(os.path.join(folder, LABELS_FILE))
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"Bundled MNIST in '{folder}': {images.shape[0]} images but "
            f"{labels.shape[0]} labels.")
    return images, labels


def bundled_source(split="train", *, data_dir=None,
                   holdout_size=BUNDLED_HOLDOUT, data_seed=2019):
    """`RawSource` of the bundled MNIST test images.

    Args:
        split: str. `"train"` (the 8,000 not held out), `"test"` (the 2,000
            held out) or `"all"` (10,000). Defaults to "train".
        data_dir: str or None. see `read_bundled_mnist`. Defaults to None.
        holdout_size: int. Defaults to `BUNDLED_HOLDOUT` (2,000).
        data_seed: int. hold-out seed. Defaults to 2019.

    Returns:
        `RawSource` of uint8 `(28, 28, 1)` images and int32 labels.
    """
    images, labels = read_bundled_mnist(data_dir)
    return _array_source(
        _as_nhwc(images, "bundled MNIST"), labels.astype(np.int32),
        "the bundled MNIST test images", split, holdout_size, data_seed)

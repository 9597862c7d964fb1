"""Named datasets and their defaults.

The table of names, sources, sizes, crops and splits, and how to obtain
each dataset, is in `datasets/README.md`. The choices in short:

- 32x32 for MNIST and Fashion-MNIST: the HMoG paper resizes both to 32x32
  (`Resize((32, 32))`).
- 48x48 for STL-10 (`train` + `unlabelled`): the size of the SNGAN (Miyato
  et al., 2018) and MMD-GAN repulsive-loss experiments.
- CelebA: centre crop 108 of the 218x178 aligned images, then 64x64; the
  crop of DCGAN-tensorflow (carpedm20), kept by WGAN-GP, MMD-GAN (Li et al.
  2017) and most 64x64 CelebA FID tables. The HMoG authors did not record
  theirs; pass `crop_size=140` for the looser crop some papers use.
- LSUN church, Oxford Flowers, UT Zap50K: largest centred square, 64x64.
- Hold-outs: the HMoG paper holds out a random 10,000 of each 64x64 set
  (of all its images) for evaluation; the tfds splits are pooled to do the
  same. Oxford Flowers has 8,189 images, so 1,000 are held out (leaving
  7,189; an FID on 1,000 real images is biased upwards, so compare Flowers
  FIDs only among themselves). `mnist_bundled` holds out 2,000 of its
  10,000. MNIST, Fashion-MNIST, CIFAR-10 and STL-10 keep their official
  test splits.
"""

import dataclasses
import types
from typing import Mapping, Optional, Tuple

#: The HMoG authors' default seed; the default `data_seed`.
DEFAULT_DATA_SEED = 2019


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """Defaults of one named dataset.

    Args:
        name: str. the name `load_dataset` takes.
        source: str. `"tfds"`, `"bundled"`, `"folder"` or `"toy"`.
        tfds_name: str or None. tensorflow-datasets builder name.
        image_size: tuple `(h, w)` or None. default output size.
        crop_size: tuple `(ch, cw)` or None. default centre crop; None is
            the largest centred window of the output's aspect ratio.
        channels: int or None. image channels.
        splits: mapping. `load_dataset` split name -> tfds split
            expression. With `holdout_size > 0`, `splits["all"]` is the pool
            that `"train"` / `"test"` are cut from.
        holdout_size: int. size of the seeded random hold-out (0: the
            dataset has its own test split).
        num_classes: int or None. number of classes, None if unlabelled.
        note: str. one line for `available_datasets(verbose=True)`.
    """

    name: str
    source: str
    tfds_name: Optional[str] = None
    image_size: Optional[Tuple[int, int]] = None
    crop_size: Optional[Tuple[int, int]] = None
    channels: Optional[int] = None
    splits: Mapping[str, str] = dataclasses.field(default_factory=dict)
    holdout_size: int = 0
    num_classes: Optional[int] = None
    note: str = ""


def _official(train="train", test="test"):
    return {"train": train, "test": test, "all": f"{train}+{test}"}


_SPECS = (
    DatasetSpec("mnist", "tfds", "mnist", (32, 32), None, 1, _official(),
                0, 10, "HMoG: resized 28 -> 32; bundled test set offline"),
    DatasetSpec("fashion_mnist", "tfds", "fashion_mnist", (32, 32), None, 1,
                _official(), 0, 10, "HMoG: resized 28 -> 32"),
    DatasetSpec("cifar10", "tfds", "cifar10", (32, 32), None, 3,
                _official(), 0, 10, "native 32x32"),
    DatasetSpec("stl10", "tfds", "stl10", (48, 48), None, 3,
                {"train": "train+unlabelled", "test": "test",
                 "labelled": "train", "all": "train+unlabelled+test"},
                0, 10, "96 -> 48 as in SNGAN / MMD-GAN; unlabelled have -1"),
    DatasetSpec("celeb_a", "tfds", "celeb_a", (64, 64), (108, 108), 3,
                {"all": "train+validation+test"}, 10_000, None,
                "centre crop 108 -> 64; random 10,000 held out"),
    DatasetSpec("lsun/church_outdoor", "tfds", "lsun/church_outdoor",
                (64, 64), None, 3, {"all": "train+validation"}, 10_000, None,
                "centre square -> 64; random 10,000 held out"),
    DatasetSpec("oxford_flowers102", "tfds", "oxford_flowers102", (64, 64),
                None, 3, {"all": "train+validation+test"}, 1_000, 102,
                "centre square -> 64; random 1,000 held out"),
    DatasetSpec("ut_zap50k", "folder", None, (64, 64), None, 3, {}, 10_000,
                None, "image folder in data_dir; random 10,000 held out"),
    DatasetSpec("mnist_bundled", "bundled", None, (32, 32), None, 1, {},
                2_000, 10, "the bundled 10,000 MNIST test images"),
    DatasetSpec("toy_gmm", "toy", note="HMoG toy: 5 random 2-D Gaussians"),
    DatasetSpec("toy_ring", "toy", note="8 Gaussians on a circle, r=2"),
    DatasetSpec("toy_grid", "toy", note="25 Gaussians on a 5x5 grid"),
    DatasetSpec("toy_gmm_fixed", "toy",
                note="5 Gaussians on a fixed pentagon of radius 8, std 1"),
)

DATASETS = types.MappingProxyType({spec.name: spec for spec in _SPECS})

#: Prefixes of generic sources: `"image_folder:PATH"`, `"idx:PATH"`,
#: `"npz:PATH"`, `"tfrecord:PATH"`, `"tfds:NAME"`.
GENERIC_SOURCES = ("image_folder", "idx", "npz", "tfrecord", "tfds")


def available_datasets(verbose=False):
    """Names `load_dataset` accepts (besides the generic `PREFIX:PATH`).

    Args:
        verbose: bool. return `{name: one-line description}` instead.
            Defaults to False.

    Returns:
        sorted list of str, or dict.
    """
    if verbose:
        return {n: DATASETS[n].note for n in sorted(DATASETS)}
    return sorted(DATASETS)


def get_spec(name):
    """The `DatasetSpec` of a named dataset.

    Args:
        name: str. a name from `available_datasets()`.

    Returns:
        `DatasetSpec`.
    """
    if name not in DATASETS:
        raise ValueError(
            f"Unknown dataset '{name}'. Known names: "
            f"{', '.join(available_datasets())}; or a generic source "
            f"{', '.join(p + ':PATH' for p in GENERIC_SOURCES)}. "
            f"Received: name={name!r}")
    return DATASETS[name]

"""What every reader hands to the pipeline, and the seeded hold-out split.

A reader (`readers.py`, `tfds_sources.py`, `bundled.py`, `toy.py`) turns a
dataset name and split into a `RawSource`: a `tf.data.Dataset` of *records*
(file paths, serialised examples, encoded bytes or array rows) plus a
`decode` function that turns one record into `(image, label)` with a uint8
`(H, W, C)` image and an int32 label (-1 where there is none), and, for
sources of one fixed image shape, a `decode_batch` doing the same for a
batch of records. Keeping the
records undecoded until after the hold-out filter means an evaluation split
of 10,000 images never decodes the other 190,000.

The hold-out split of a dataset without its own test split is a seeded
random subset (`holdout_mask`), never a slice by index: MNIST's test images,
for example, come in runs by writer, so the last 2,000 would not be a sample
of the whole.
"""

import dataclasses
from typing import Callable, Optional, Tuple

import numpy as np
import tensorflow as tf

#: Split names every pooled source understands (see `select_split`).
POOL_SPLITS = ("train", "test", "all")


@dataclasses.dataclass(frozen=True)
class RawSource:
    """A dataset before cropping, resizing, caching, shuffling and batching.

    Args:
        records: `tf.data.Dataset`. one element per example, in a fixed
            order (the hold-out split relies on it).
        decode: callable or None. maps one record to `(image, label)`:
            uint8 `(H, W, C)` and int32 scalar (-1 when unlabelled); None
            when the records already are such pairs. For point sources
            (`kind="points"`) `image` is a float32 vector.
        num_examples: int. number of records.
        image_shape: tuple or None. `(H, W, C)` with `None` for a size that
            varies between examples; None when unknown.
        description: str. where the data comes from, for messages.
        has_labels: bool. whether `decode` returns real labels.
        num_classes: int or None. number of classes when labelled.
        kind: str. `"images"` or `"points"` (2-D toy data, not normalised).
        decode_batch: callable or None. like `decode` but on a batch of
            records (a leading axis), for sources whose images all have one
            static shape; the pipeline then decodes chunks of records at a
            time, which costs far less per image (e.g. one
            `tf.io.parse_example` instead of one `parse_single_example`
            per record). Defaults to None.
    """

    records: tf.data.Dataset
    decode: Callable
    num_examples: int
    image_shape: Optional[Tuple[Optional[int], Optional[int], int]]
    description: str
    has_labels: bool = False
    num_classes: Optional[int] = None
    kind: str = "images"
    decode_batch: Optional[Callable] = None


def holdout_mask(num_examples, holdout_size, data_seed):
    """Boolean mask of a seeded random hold-out set.

    Exactly `holdout_size` of the `num_examples` positions are True, chosen
    by `numpy.random.default_rng(data_seed).permutation(num_examples)`; the
    same arguments always give the same mask, on every platform.

    Args:
        num_examples: int. size of the pool.
        holdout_size: int. number of held-out examples, `0 <= holdout_size
            < num_examples`.
        data_seed: int. seed of the permutation.

    Returns:
        numpy bool array of shape `(num_examples,)`.
    """
    num_examples = int(num_examples)
    if not 0 <= holdout_size < num_examples:
        raise ValueError(
            f"`holdout_size` must be in [0, {num_examples}) for a pool of "
            f"{num_examples} examples. Received: holdout_size={holdout_size}")
    order = np.random.default_rng(data_seed).permutation(num_examples)
    mask = np.zeros(num_examples, dtype=bool)
    mask[order[:holdout_size]] = True
    return mask


def split_keep(num_examples, split, holdout_size, data_seed, description):
    """Which examples of a pool of `num_examples` belong to `split`.

    - `"all"`: every example.
    - `"train"`: the examples not held out (all of them when
      `holdout_size` is 0).
    - `"test"`: the `holdout_size` held-out examples of `holdout_mask`.

    Args:
        num_examples: int. size of the pool.
        split: str. one of `POOL_SPLITS`.
        holdout_size: int. size of the hold-out set.
        data_seed: int. seed of `holdout_mask`.
        description: str. the source, for error messages.

    Returns:
        numpy bool array `(num_examples,)`, or None for every example.
    """
    if split not in POOL_SPLITS:
        raise ValueError(
            f"{description} has no split '{split}'; it is one pool, split "
            f"into {POOL_SPLITS} by a seeded hold-out. Received: "
            f"split={split!r}")
    if split == "all" or (split == "train" and holdout_size == 0):
        return None
    if holdout_size == 0:
        raise ValueError(
            f"{description} has no test split of its own; pass "
            f"`holdout_size` > 0 to hold out a seeded random subset. "
            f"Received: split='test', holdout_size=0")
    mask = holdout_mask(num_examples, holdout_size, data_seed)
    return mask if split == "test" else ~mask


def split_description(description, split, keep, data_seed):
    """`description` annotated with the split taken from it."""
    if keep is None:
        return description
    return (f"{description} [{split}: {int(keep.sum())} of {len(keep)}, "
            f"hold-out seed {data_seed}]")


def select_split(source, split, holdout_size, data_seed):
    """Restricts a pooled source to `split` (see `split_keep`).

    The selection runs on the undecoded records, by zipping them with the
    mask and filtering, and the result keeps a known cardinality. Readers
    holding their records in numpy (arrays, file lists) index them with
    `split_keep` directly instead, which is cheaper per example.

    Args:
        source: `RawSource`. the pool, in a fixed order.
        split: str. one of `POOL_SPLITS`.
        holdout_size: int. size of the hold-out set.
        data_seed: int. seed of `holdout_mask`.

    Returns:
        `RawSource` with the selected records.
    """
    keep = split_keep(source.num_examples, split, holdout_size, data_seed,
                      source.description)
    if keep is None:
        return source
    count = int(keep.sum())
    flags = tf.data.Dataset.from_tensor_slices(keep)
    records = tf.data.Dataset.zip((source.records, flags)).filter(
        _second).map(_first)
    records = records.apply(tf.data.experimental.assert_cardinality(count))
    return dataclasses.replace(
        source, records=records, num_examples=count,
        description=split_description(source.description, split, keep,
                                      data_seed))


@tf.autograph.experimental.do_not_convert
def _first(record, flag):
    del flag
    return record


@tf.autograph.experimental.do_not_convert
def _second(record, flag):
    del record
    return flag

"""Checking TFRecord shards record by record before training reads them.

TensorFlow reads a shard lazily, so a bad record only fails when the
pipeline reaches it, mid-training, with an error that names no file
(`corrupted record at 537`, `Could not parse example input`, `Input to
reshape is a tensor with 320 values`); and a record of another shape with
the same byte count (4x16x1 among 8x8x1) decodes without error into a
scrambled image. `check_shard` reads a shard once, up front, and raises a
ValueError naming the shard, the record index and what is wrong:

- framing and CRC32C of every record (TensorFlow's own reader);
- every record is a `tf.train.Example` with the features of
  `tfrecord_format.FEATURES`, each holding one value of its type;
- the image holds `height * width * channels` bytes;
- the shape is `dataset_info.json`'s `image_shape` when there is one, and
  the label lies in `[-1, num_classes)`.

How: TensorFlow reads the shard in batches of `BATCH` records and parses
each batch with one `tf.io.parse_example` into a summary row per record
(image byte count, height, width, channels, label) that numpy checks. Only
when a batch fails are its records read again one at a time and parsed in
Python, to say which record is bad and why. The cost per 10,000 records is
in `datasets/README.md`.
"""

import dataclasses
from typing import Dict, Tuple

import numpy as np
import tensorflow as tf

from general_tools.data import tfrecord_format
from general_tools.data.tf_errors import tf_message

#: Records parsed together in the fast pass.
BATCH = 1024

_INT_KEYS = ("height", "width", "channels")
# Default of a missing int feature in the fast pass: no real value is this.
_MISSING = -(2 ** 62)
_SUMMARY_FEATURES = {
    "image": tf.io.FixedLenFeature([], tf.string, default_value=""),
    **{k: tf.io.FixedLenFeature([], tf.int64, default_value=_MISSING)
       for k in _INT_KEYS},
    "label": tf.io.FixedLenFeature([], tf.int64, default_value=-1),
}


@dataclasses.dataclass(frozen=True)
class ShardSummary:
    """What a checked shard holds.

    Args:
        path: str. the shard.
        num_records: int. records in it.
        shapes: dict. each `(height, width, channels)` found -> index of
            the first record of that shape.
    """

    path: str
    num_records: int
    shapes: Dict[Tuple[int, int, int], int]


def _shape_text(shape):
    return "x".join(str(int(s)) for s in shape)


def record_problem(data, shape=None, num_classes=None,
                   shape_origin="the dataset"):
    """What is wrong with one serialised record, or None if nothing.

    Args:
        data: bytes. one record.
        shape: tuple `(H, W, C)` or None. the shape it must have.
        num_classes: int or None. labels must lie in `[-1, num_classes)`.
        shape_origin: str. where `shape` comes from, for the message.

    Returns:
        str or None.
    """
    try:
        example = tf.train.Example.FromString(data)
    except Exception as e:  # protobuf's DecodeError
        return (f"it is not a tf.train.Example ({type(e).__name__}: {e}); "
                "not mixgan's image layout")
    feature = example.features.feature
    missing = [k for k in ("image",) + _INT_KEYS if k not in feature]
    if missing:
        return (f"it lacks the feature(s) {missing} (it has "
                f"{sorted(feature)}); not mixgan's image layout, write it "
                "with datasets/prepare_image_folder.py")
    kinds = {"image": "bytes_list", "label": "int64_list",
             **{k: "int64_list" for k in _INT_KEYS}}
    for key, kind in kinds.items():
        if key not in feature:
            continue
        found = feature[key].WhichOneof("kind")
        count = len(getattr(feature[key], kind).value) if found == kind \
            else None
        if count != 1:
            what = (f"{count} values" if count is not None
                    else f"a {found or 'empty'} value")
            return (f"its feature '{key}' must hold one "
                    f"{kind.split('_')[0]} value; it holds {what}")
    dims = tuple(feature[k].int64_list.value[0] for k in _INT_KEYS)
    if min(dims) < 1:
        return f"its shape {dims} has a dimension below 1"
    size = len(feature["image"].bytes_list.value[0])
    need = dims[0] * dims[1] * dims[2]
    if size != need:
        return (f"its image has {size} bytes, not height * width * channels "
                f"= {_shape_text(dims)} = {need}")
    if shape is not None and dims != tuple(shape):
        return (f"its shape is {_shape_text(dims)}, not the "
                f"{_shape_text(shape)} of {shape_origin}")
    label = feature["label"].int64_list.value[0] if "label" in feature \
        else -1
    if label < -1 or (num_classes is not None and label >= num_classes):
        top = "" if num_classes is None else f", {num_classes}"
        return f"its label {label} is outside [-1{top})"
    return None


def first_record_shape(path):
    """The `(H, W, C)` of a shard's first record, checked by
    `record_problem` (the cheap check of `verify="none"`).

    Args:
        path: str. a non-empty TFRecord file.

    Returns:
        tuple of 3 ints.
    """
    raw = next(iter(tf.data.TFRecordDataset(path).take(1))).numpy()
    problem = record_problem(raw)
    if problem:
        raise ValueError(f"TFRecord file '{path}', record 0: {problem}.")
    feature = tf.train.Example.FromString(raw).features.feature
    return tuple(int(feature[k].int64_list.value[0]) for k in _INT_KEYS)


@tf.autograph.experimental.do_not_convert
def _summarise(serialized):
    parsed = tf.io.parse_example(serialized, _SUMMARY_FEATURES)
    size = tf.cast(tf.strings.length(parsed["image"]), tf.int64)
    return tf.stack([size] + [parsed[k] for k in _INT_KEYS]
                    + [parsed["label"]], axis=1)


def _find_bad_record(path, start, checks=None):
    """`(index, problem)` of the first bad record from `start` on, read one
    at a time, or None if every one passes; `checks` are the keyword
    arguments of `record_problem` (None: only TensorFlow's framing and CRC
    check)."""
    records = iter(tf.data.TFRecordDataset(path).skip(start))
    index = start
    while True:
        try:
            raw = next(records).numpy()
        except StopIteration:
            return None
        except tf.errors.DataLossError as e:
            return index, (
                "its bytes do not match their CRC32C checksum, or its "
                "framing is broken: the file was damaged after it was "
                f"written (TensorFlow: {tf_message(e)})")
        problem = None if checks is None else record_problem(raw, **checks)
        if problem:
            return index, problem
        index += 1


def count_records(path):
    """`tfrecord_format.count_records`, but when the framing walk fails
    after a record whose length field fails its CRC (a flipped byte in a
    length makes the walk go astray later), that record is named instead.

    Args:
        path: str. the file.

    Returns:
        int. number of records.
    """
    try:
        return tfrecord_format.count_records(path)
    except tfrecord_format.FramingError as error:
        found = _find_bad_record(path, 0)
        if found is None or found[0] >= error.record:
            raise
        raise ValueError(f"TFRecord file '{path}', record {found[0]}: "
                         f"{found[1]}.") from error


def _bad_rows(rows, shape, num_classes):
    """Boolean mask of the summary rows that fail a check."""
    size, h, w, c, label = rows.T
    bad = (np.minimum(np.minimum(h, w), c) < 1) | (size != h * w * c)
    if shape is not None:
        bad |= (h != shape[0]) | (w != shape[1]) | (c != shape[2])
    bad |= label < -1
    if num_classes is not None:
        bad |= label >= num_classes
    return bad


def check_shard(path, shape=None, num_classes=None,
                shape_origin="the dataset"):
    """Checks every record of one shard (see the module docstring).

    Args:
        path: str. an uncompressed TFRecord file whose framing
            `count_records` has walked.
        shape: tuple `(H, W, C)` or None. the shape every record must
            have. Defaults to None (any).
        num_classes: int or None. labels must lie in `[-1, num_classes)`.
            Defaults to None.
        shape_origin: str. where `shape` comes from, for messages (e.g.
            the `dataset_info.json` path). Defaults to "the dataset".

    Returns:
        `ShardSummary`.
    """
    shape = None if shape is None else tuple(int(s) for s in shape)
    checks = dict(shape=shape, num_classes=num_classes,
                  shape_origin=shape_origin)
    summaries = tf.data.TFRecordDataset(path, buffer_size=1 << 22).batch(
        BATCH).map(_summarise, num_parallel_calls=tf.data.AUTOTUNE,
                   deterministic=True).prefetch(2)
    done, shapes = 0, {}
    found = None
    rows_iter = iter(summaries)
    while True:
        try:
            rows = next(rows_iter).numpy()
        except StopIteration:
            break
        except (tf.errors.OpError, UnicodeDecodeError) as e:
            # (TensorFlow's message quotes the bad record, which may not be
            # UTF-8; then Python cannot even build the error.)
            found = _find_bad_record(path, done, checks) or (
                done, f"TensorFlow cannot read it: {tf_message(e)}")
            break
        bad = np.flatnonzero(_bad_rows(rows, shape, num_classes))
        if bad.size:
            found = _find_bad_record(path, done + int(bad[0]), checks)
            if found is None:  # the Python parser saw nothing: say why
                size, h, w, c, label = rows[bad[0]]
                found = (done + int(bad[0]),
                         f"its image has {size} bytes for shape "
                         f"{h}x{w}x{c}, label {label}")
            break
        for dims, first in zip(*np.unique(rows[:, 1:4], axis=0,
                                          return_index=True)):
            shapes.setdefault(tuple(int(d) for d in dims), done + int(first))
        done += len(rows)
    if found is not None:
        index, problem = found
        raise ValueError(f"TFRecord file '{path}', record {index}: "
                         f"{problem}.")
    return ShardSummary(path=path, num_records=done, shapes=shapes)


def merge_shapes(summaries):
    """The one `(H, W, C)` of all checked shards; `(None, None, C)` when
    sizes differ. Raises ValueError naming two records of different
    channel counts.

    Args:
        summaries: list of `ShardSummary`.

    Returns:
        tuple.
    """
    where = {}
    for summary in summaries:
        for dims, index in summary.shapes.items():
            where.setdefault(dims, (summary.path, index))
    if not where:
        return (None, None, None)
    channels = {dims[2]: place for dims, place in where.items()}
    if len(channels) > 1:
        (c1, (f1, i1)), (c2, (f2, i2)) = sorted(channels.items())[:2]
        raise ValueError(
            f"TFRecord records have mixed channels: record {i1} of '{f1}' "
            f"has {c1}, record {i2} of '{f2}' has {c2}.")
    if len(where) == 1:
        return next(iter(where))
    return (None, None, next(iter(channels)))

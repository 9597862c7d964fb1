"""The TFRecord layout written by `datasets/prepare_image_folder.py`.

One `tf.train.Example` per image with the features

- `image` (bytes): the raw uint8 pixels, `height * width * channels`
  bytes in HWC order;
- `height`, `width`, `channels` (int64): the image shape;
- `label` (int64): class index (first-level sub-folder), -1 when
  unlabelled.

Raw pixels rather than PNG: decoding is a copy, as in the HMoG authors'
`BinaryDataset` (a flat uint8 file of preprocessed 64x64 images). A 64x64
RGB image takes 12 KiB, so CelebA's 202,599 images take 2.4 GiB.

Shards are named `{split}-{index:05d}-of-{count:05d}.tfrecord` and a
`dataset_info.json` beside them records the splits, counts, shape and how
they were made. Shards are uncompressed.
"""

import glob
import json
import os
import struct

import tensorflow as tf

INFO_FILE = "dataset_info.json"
FORMAT_NAME = "mixgan-image-tfrecord"
FORMAT_VERSION = 1

FEATURES = {
    "image": tf.io.FixedLenFeature([], tf.string),
    "height": tf.io.FixedLenFeature([], tf.int64),
    "width": tf.io.FixedLenFeature([], tf.int64),
    "channels": tf.io.FixedLenFeature([], tf.int64),
    "label": tf.io.FixedLenFeature([], tf.int64, default_value=-1),
}


def shard_name(split, index, count):
    """File name of shard `index` (0-based) of `count` for `split`."""
    return f"{split}-{index:05d}-of-{count:05d}.tfrecord"


def encode_example(image, label=-1):
    """Serialises one uint8 `(H, W, C)` numpy image as a `tf.train.Example`.

    Args:
        image: numpy uint8 array of shape `(H, W, C)`.
        label: int. class index, -1 when unlabelled. Defaults to -1.

    Returns:
        bytes.
    """
    if image.dtype.name != "uint8" or image.ndim != 3:
        raise ValueError(
            f"`image` must be uint8 of shape (H, W, C). Received: dtype="
            f"{image.dtype}, shape={image.shape}")

    def i64(v):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(v)]))

    h, w, c = image.shape
    feature = {
        "image": tf.train.Feature(
            bytes_list=tf.train.BytesList(value=[image.tobytes()])),
        "height": i64(h), "width": i64(w), "channels": i64(c),
        "label": i64(label),
    }
    return tf.train.Example(
        features=tf.train.Features(feature=feature)).SerializeToString()


def decode_example(serialized, shape=None):
    """Parses one serialised example into `(image, label)` (graph op).

    Args:
        serialized: scalar string tensor.
        shape: tuple `(H, W, C)` of ints or None. the shape every record is
            known to have (from `dataset_info.json`); then the shape
            features are not parsed. Defaults to None.

    Returns:
        `(image, label)`: uint8 `(H, W, C)` and int32 scalar.
    """
    if shape is not None and None not in shape:
        keys = ("image", "label")
        ex = tf.io.parse_single_example(
            serialized, {k: FEATURES[k] for k in keys})
        image = tf.reshape(tf.io.decode_raw(ex["image"], tf.uint8), shape)
        return image, tf.cast(ex["label"], tf.int32)
    ex = tf.io.parse_single_example(serialized, FEATURES)
    dims = tf.stack([ex["height"], ex["width"], ex["channels"]])
    image = tf.reshape(tf.io.decode_raw(ex["image"], tf.uint8), dims)
    if shape is not None:
        image.set_shape(shape)
    return image, tf.cast(ex["label"], tf.int32)


def decode_examples(serialized, shape):
    """Parses a batch of serialised examples of one known shape.

    Args:
        serialized: string tensor `(N,)`.
        shape: tuple `(H, W, C)` of ints. the shape of every record.

    Returns:
        `(images, labels)`: uint8 `(N, H, W, C)` and int32 `(N,)`.
    """
    ex = tf.io.parse_example(
        serialized, {k: FEATURES[k] for k in ("image", "label")})
    images = tf.reshape(tf.io.decode_raw(ex["image"], tf.uint8),
                        (-1,) + tuple(shape))
    return images, tf.cast(ex["label"], tf.int32)


class FramingError(ValueError):
    """A TFRecord file whose record lengths do not reach exactly its end;
    `record` is the index of the record where the walk failed."""

    def __init__(self, message, record):
        super().__init__(message)
        self.record = record


def count_records(path):
    """Counts the records of an uncompressed TFRecord file by its framing.

    Each record is `uint64 length, uint32 crc(length), data[length],
    uint32 crc(data)`; this walks the lengths with seeks (the CRCs are not
    checked) and fails if the file ends inside a record, which is what a
    truncated copy looks like (`FramingError`).

    Args:
        path: str. the file.

    Returns:
        int. number of records.
    """
    size = os.path.getsize(path)
    count, pos = 0, 0
    with open(path, "rb") as f:
        while pos < size:
            head = f.read(12)
            if len(head) < 12:
                raise FramingError(
                    f"TFRecord file '{path}' is truncated: it ends inside the "
                    f"header of record {count} (byte {pos} of {size}).", count)
            (length,) = struct.unpack("<Q", head[:8])
            end = pos + 12 + length + 4
            if end > size:
                raise FramingError(
                    f"TFRecord file '{path}' is truncated or not a TFRecord "
                    f"file: record {count} at byte {pos} claims {length} "
                    f"bytes, past the end of the file ({size} bytes).", count)
            f.seek(end)
            pos = end
            count += 1
    return count


def _info_error(path, what):
    return ValueError(
        f"'{path}' is not a valid {INFO_FILE}: {what}. Rewrite the folder "
        "with datasets/prepare_image_folder.py, or remove the file to read "
        "the shards without it.")


def _positive_int(value):
    return (isinstance(value, int) and not isinstance(value, bool)
            and value > 0)


def read_info(folder):
    """The parsed `dataset_info.json` of `folder`, or None if it has none.

    The fields the loader relies on are checked: `image_shape` (three
    positive ints or null), `num_classes` (a positive int or null) and
    `splits` (`{split: {"num_examples": int, "shards": [names]}}`).

    Args:
        folder: str. a folder of shards.

    Returns:
        dict or None.
    """
    path = os.path.join(folder, INFO_FILE)
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            info = json.load(f)
    except UnicodeDecodeError as e:
        raise _info_error(path, f"it is not UTF-8 text ({e})") from e
    except json.JSONDecodeError as e:
        raise _info_error(
            path, f"it is not valid JSON, perhaps truncated ({e.msg} at "
            f"line {e.lineno}, column {e.colno})") from e
    if not isinstance(info, dict):
        raise _info_error(path, f"it holds a {type(info).__name__}, not an "
                                "object")
    shape = info.get("image_shape")
    if shape is not None and not (isinstance(shape, list) and len(shape) == 3
                                  and all(map(_positive_int, shape))):
        raise _info_error(path, "`image_shape` must be [height, width, "
                                f"channels] of positive ints; it is {shape!r}")
    classes = info.get("num_classes")
    if classes is not None and not _positive_int(classes):
        raise _info_error(path, "`num_classes` must be a positive int or "
                                f"null; it is {classes!r}")
    splits = info.get("splits", {})
    if not isinstance(splits, dict):
        raise _info_error(path, f"`splits` must be an object; it is "
                                f"{splits!r}")
    for name, entry in splits.items():
        if not (isinstance(entry, dict)
                and isinstance(entry.get("num_examples", 0), int)
                and isinstance(entry.get("shards", []), list)):
            raise _info_error(
                path, f"`splits['{name}']` must be {{\"num_examples\": int, "
                      f"\"shards\": [file names]}}; it is {entry!r}")
    return info


def find_shards(path, split):
    """The TFRecord files of `split` under `path` and whether the folder
    defines splits.

    `path` may be a file, a glob pattern or a folder. In a folder, shards
    named `{split}-*-of-*.tfrecord` form that split; a folder without such
    names is one pool of all its `*.tfrecord` / `*.tfrecords` files.

    Args:
        path: str. file, pattern or folder.
        split: str. requested split.

    Returns:
        `(files, has_splits, info)`: sorted list of str, bool, and the
        parsed `dataset_info.json` (or None).
    """
    path = os.fspath(path)
    info = None
    if os.path.isdir(path):
        info = read_info(path)
        files = sorted(glob.glob(os.path.join(path, "*.tfrecord"))
                       + glob.glob(os.path.join(path, "*.tfrecords")))
        if not files:
            raise ValueError(f"Folder '{path}' contains no .tfrecord files.")
        named = [f for f in files if "-of-" in os.path.basename(f)]
        splits = sorted({os.path.basename(f).split("-")[0] for f in named})
        if named and len(named) == len(files):
            chosen = [f for f in files
                      if os.path.basename(f).startswith(f"{split}-")]
            if not chosen and split != "all":
                raise ValueError(
                    f"Folder '{path}' has no TFRecord shards for split "
                    f"'{split}'; it has splits {splits}.")
            return (chosen or files), True, info
        return files, False, info
    if os.path.exists(path):
        return [path], False, info
    files = sorted(glob.glob(path))
    if not files:
        raise FileNotFoundError(
            f"TFRecord path '{path}' matches no file or folder.")
    return files, False, info

"""Readers of local data: image folders, IDX files, `.npz` archives and
TFRecord shards. Each returns a `RawSource` for one split.

Split rules. A source that defines its own splits (an IDX folder with
`train-*` and `t10k-*` files, an `.npz` with `x_train` / `x_test`, a
TFRecord folder with `train-*` / `test-*` shards) serves them by name. Any
other source is one pool: `split="all"` is all of it, and `"train"` /
`"test"` are the complement / the members of a seeded random hold-out of
`holdout_size` examples (`source.split_keep`); with `holdout_size=0`,
`"train"` is the whole pool.

Readers only read: nothing is written next to the data.
"""

import os
import zipfile

import numpy as np
import tensorflow as tf

from general_tools.data import idx as idx_lib
from general_tools.data import image_decode, image_files
from general_tools.data import tfrecord_check, tfrecord_format
from general_tools.data.source import (RawSource, select_split,
                                      split_description, split_keep)


def _array_source(images, labels, description, split="all", holdout_size=0,
                  data_seed=2019):
    """`RawSource` of in-memory uint8 images `(N, H, W, C)` and labels,
    restricted to `split` of the pool (see `source.split_keep`)."""
    keep = split_keep(len(images), split, holdout_size, data_seed,
                      description)
    has_labels = labels is not None
    if labels is None:
        labels = np.full(len(images), -1, np.int32)
    labels = labels.astype(np.int32)
    num_classes = int(labels.max()) + 1 if has_labels and len(labels) else None
    if keep is not None:
        images, labels = images[keep], labels[keep]
        description = split_description(description, split, keep, data_seed)
    identity = lambda image, label: (image, label)  # noqa: E731
    return RawSource(
        records=tf.data.Dataset.from_tensor_slices((images, labels)),
        decode=None, decode_batch=identity, num_examples=len(images),
        image_shape=tuple(images.shape[1:]), description=description,
        has_labels=has_labels, num_classes=num_classes)


def _as_nhwc(images, where):
    """uint8 `(N, H, W)` or `(N, H, W, C)` -> `(N, H, W, C)`."""
    if images.dtype != np.uint8:
        raise ValueError(
            f"{where}: images must be uint8 in [0, 255]; got dtype "
            f"{images.dtype}. Convert with `(x * 255).round().astype("
            "np.uint8)` for images in [0, 1].")
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4):
        raise ValueError(
            f"{where}: images must have shape (N, H, W) or (N, H, W, C) with "
            f"C in (1, 3, 4); got shape {images.shape}.")
    if len(images) == 0:
        raise ValueError(f"{where}: contains no images (shape "
                         f"{images.shape}).")
    return images


def _check_labels(labels, num, where):
    if labels is None:
        return None
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != num or labels.dtype.kind not in "iu":
        raise ValueError(
            f"{where}: labels must be {num} integers (one per image); got "
            f"dtype {labels.dtype}, shape {labels.shape}.")
    return labels


def read_image_folder(path, split="train", *, holdout_size=0, data_seed=2019,
                      channels=None, need_same_size=True, verify="header",
                      with_labels=False):
    """An image folder (PNG, JPEG, BMP, GIF; searched recursively).

    Args:
        path: str. the folder.
        split: str. `"train"`, `"test"` or `"all"`. Defaults to "train".
        holdout_size: int. seeded random hold-out. Defaults to 0.
        data_seed: int. hold-out seed. Defaults to 2019.
        channels: int or None. decode every image to 1, 3 or 4 channels;
            None requires them all to have the same. Defaults to None.
        need_same_size: bool. raise if sizes differ (no resize asked).
            Defaults to True.
        verify: str. `"header"`, `"full"` or `"none"`; see
            `image_files`. Defaults to "header".
        with_labels: bool. labels are the first-level sub-folders; every
            image must be in one. Defaults to False.

    Returns:
        `RawSource`.
    """
    path = os.fspath(path)
    paths, labels, class_names = image_files.list_image_files(path)
    if with_labels and -1 in labels:
        stray = paths[labels.index(-1)]
        raise ValueError(
            f"Image folder '{path}': labels come from first-level "
            f"sub-folders, but '{stray}' is not in one. Received: "
            "with_labels=True")
    if verify == "none":
        infos = None
    else:
        infos = image_files.scan_images(paths, labels, verify=verify)
    if channels is None:
        if infos is None:
            raise ValueError(
                "`channels` must be given when `verify='none'` (the files "
                "are not inspected). Received: channels=None")
        channels = image_files.common_channels(infos, path)
    elif channels not in (1, 3, 4):
        raise ValueError(
            f"`channels` must be 1, 3, 4 or None. Received: "
            f"channels={channels!r}")
    size = image_files.common_size(infos, path) if infos else None
    if need_same_size and infos and size is None:
        raise image_files.mixed_size_error(infos, path)
    shape = (size[0], size[1], channels) if size else (None, None, channels)

    description = f"image folder '{path}'"
    paths, labels = np.array(paths), np.array(labels, np.int32)
    keep = split_keep(len(paths), split, holdout_size, data_seed,
                      description)
    if keep is not None:
        paths, labels = paths[keep], labels[keep]
    return RawSource(
        records=image_decode.decoded_files(paths.tolist(), labels, channels,
                                           shape),
        decode=None, num_examples=len(paths), image_shape=shape,
        description=split_description(description, split, keep, data_seed),
        has_labels=bool(class_names) and -1 not in labels,
        num_classes=len(class_names) or None)


def _read_idx_pair(path, with_labels):
    """Images `(N, H, W, C)` of an IDX file and its labels (or None)."""
    images = _as_nhwc(idx_lib.read_idx(path), f"IDX file '{path}'")
    label_path = idx_lib.labels_path_for(path)
    if os.path.exists(label_path) and label_path != path:
        return images, _check_labels(idx_lib.read_idx(label_path),
                                     len(images),
                                     f"IDX label file '{label_path}'")
    if with_labels:
        raise FileNotFoundError(
            f"IDX label file '{label_path}' (for '{path}') does not exist. "
            "Received: with_labels=True")
    return images, None


def _concat(pairs):
    """Concatenates `(images, labels)` pairs; labels None unless all have
    them."""
    images = np.concatenate([p[0] for p in pairs])
    if any(p[1] is None for p in pairs):
        return images, None
    return images, np.concatenate([p[1] for p in pairs])


def read_idx_source(path, split="train", *, holdout_size=0, data_seed=2019,
                    with_labels=False):
    """MNIST-style IDX files (gzip or raw).

    `path` is an image file (`*-images-idx3-ubyte[.gz]`; its labels are the
    matching `*-labels-idx1-ubyte[.gz]`) or a folder. In a folder holding
    `train-images*` and `t10k-images*` files those are the `"train"` and
    `"test"` splits (`"all"` is both); a folder with one `*idx3*` file is
    one pool.

    Args:
        path: str. file or folder.
        split: str. Defaults to "train".
        holdout_size: int. hold-out for a single pool. Defaults to 0.
        data_seed: int. hold-out seed. Defaults to 2019.
        with_labels: bool. also read the label file (must exist). Defaults
            to False.

    Returns:
        `RawSource`.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        names = sorted(n for n in os.listdir(path) if "idx3" in n)
        by_split = {s: [n for n in names if n.startswith(prefix)]
                    for s, prefix in (("train", "train-"), ("test", "t10k-"))}
        if all(len(v) == 1 for v in by_split.values()):
            chosen = {"all": ["train", "test"]}.get(split, [split])
            if chosen[0] not in by_split:
                raise ValueError(
                    f"IDX folder '{path}' has splits 'train', 'test' and "
                    f"'all'. Received: split={split!r}")
            pairs = [_read_idx_pair(os.path.join(path, by_split[s][0]),
                                    with_labels) for s in chosen]
            return _array_source(*_concat(pairs),
                                 f"IDX folder '{path}' [{split}]")
        if len(names) != 1:
            raise ValueError(
                f"IDX folder '{path}' must hold one images file (*idx3*) or "
                f"one train-* and one t10k-* file; found {names or 'none'}.")
        path = os.path.join(path, names[0])
    elif not os.path.exists(path):
        raise FileNotFoundError(f"IDX path '{path}' does not exist.")
    return _array_source(*_read_idx_pair(path, with_labels),
                         f"IDX file '{path}'", split, holdout_size, data_seed)


def _npz_corrupt(path, error):
    return ValueError(
        f"npz file '{path}' is corrupt or not an npz archive: "
        f"{type(error).__name__}: {error}")


def read_npz(path, split="train", *, holdout_size=0, data_seed=2019,
             image_key=None, label_key=None):
    """A numpy `.npz` archive of uint8 images.

    Keys, in order of preference: `image_key` / `label_key` if given; the
    Keras layout `x_{split}` / `y_{split}` (e.g. `x_train`, `x_test`; these
    are then the splits, and `"all"` is both); `images` / `labels`; `x` /
    `y`; or the only array in the archive.

    Args:
        path: str. the file.
        split: str. Defaults to "train".
        holdout_size: int. hold-out for a single pool. Defaults to 0.
        data_seed: int. hold-out seed. Defaults to 2019.
        image_key: str or None. key of the images. Defaults to None.
        label_key: str or None. key of the labels. Defaults to None.

    Returns:
        `RawSource`.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"npz file '{path}' does not exist.")
    errors = (zipfile.BadZipFile, ValueError, OSError, EOFError)
    try:
        # (mmap: a large .npy is not read just to be refused.)
        archive = np.load(path, allow_pickle=False, mmap_mode="r")
    except errors as e:
        raise _npz_corrupt(path, e) from e
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(
            f"npz file '{path}' is a single .npy array of shape "
            f"{archive.shape}, not an .npz archive; write one with "
            "numpy.savez(path, images=array[, labels=...]).")
    try:
        with archive:
            arrays = {k: archive[k] for k in archive.files}
    except errors as e:
        raise _npz_corrupt(path, e) from e
    if image_key is None and split == "all" and "x_train" in arrays:
        parts = [s for s in ("train", "test") if f"x_{s}" in arrays]
        where = f"npz file '{path}' [x_train + x_test]"
        pairs = [(_as_nhwc(arrays[f"x_{s}"], where),
                  arrays.get(f"y_{s}")) for s in parts]
        pairs = [(x, _check_labels(y, len(x), where)) for x, y in pairs]
        return _array_source(*_concat(pairs), where)
    pooled = True
    if image_key is None:
        if f"x_{split}" in arrays:
            image_key, label_key, pooled = f"x_{split}", f"y_{split}", False
        elif "images" in arrays:
            image_key, label_key = "images", label_key or "labels"
        elif "x" in arrays:
            image_key, label_key = "x", label_key or "y"
        elif len(arrays) == 1:
            image_key = next(iter(arrays))
        else:
            raise ValueError(
                f"npz file '{path}': cannot tell which array holds the "
                f"images (keys {sorted(arrays)}); expected 'x_{split}', "
                "'images' or 'x', or pass `image_key`.")
    if image_key not in arrays:
        raise ValueError(
            f"npz file '{path}' has no array '{image_key}' (keys "
            f"{sorted(arrays)}).")
    where = f"npz file '{path}' [{image_key}]"
    images = _as_nhwc(arrays[image_key], where)
    labels = _check_labels(arrays.get(label_key) if label_key else None,
                           len(images), where)
    if not pooled:
        return _array_source(images, labels, where)
    return _array_source(images, labels, where, split, holdout_size,
                         data_seed)


def _check_split_counts(info, files, counts, split, folder):
    """Raises ValueError when `dataset_info.json` disagrees with the shards
    found for `split` (a listed shard missing, another record count)."""
    info_path = os.path.join(folder, tfrecord_format.INFO_FILE)
    listed = info.get("splits") or {}
    names = sorted(listed) if split == "all" else [split]
    if not all(n in listed for n in names):
        return
    found = {os.path.basename(f) for f in files}
    for name in names:
        for shard in listed[name].get("shards", []):
            if shard not in found:
                raise ValueError(
                    f"'{info_path}' lists shard '{shard}' of split '{name}', "
                    f"which is not in '{folder}'.")
    expected = sum(listed[n].get("num_examples", 0) for n in names)
    if "num_examples" in listed[names[0]] and expected != sum(counts):
        raise ValueError(
            f"'{info_path}' gives split '{split}' {expected} examples, but "
            f"its shards hold {sum(counts)} records.")


def read_tfrecord(path, split="train", *, holdout_size=0, data_seed=2019,
                  verify="header"):
    """TFRecord shards in the layout of `tfrecord_format` (written by
    `datasets/prepare_image_folder.py`).

    Checked up front, each failure naming the file (and record): the
    framing of every file must reach exactly its end (a truncated copy
    fails); a `dataset_info.json` beside the shards must be valid and agree
    with them (shards, counts); and, unless `verify="none"`, every record
    is read once by `tfrecord_check.check_shard` (CRC, Example parse, byte
    count, shape, label). With `verify="none"` only the first record of
    each file is parsed.

    Args:
        path: str. a folder of shards, one file or a glob pattern.
        split: str. Defaults to "train".
        holdout_size: int. hold-out when the files define no splits.
            Defaults to 0.
        data_seed: int. hold-out seed. Defaults to 2019.
        verify: str. `"header"` or `"full"` (both check every record) or
            `"none"` (framing and first records only). Defaults to
            "header".

    Returns:
        `RawSource`.
    """
    path = os.fspath(path)
    if verify not in image_files.VERIFY_MODES:
        raise ValueError(
            f"`verify` must be one of {image_files.VERIFY_MODES}. Received: "
            f"verify={verify!r}")
    if not any(c in path for c in "*?[") and not os.path.exists(path):
        raise FileNotFoundError(f"TFRecord path '{path}' does not exist.")
    files, has_splits, info = tfrecord_format.find_shards(path, split)
    counts = [tfrecord_check.count_records(f) for f in files]
    total = sum(counts)
    if total == 0:
        raise ValueError(
            f"TFRecord path '{path}' holds no records (files: {files}).")
    info = info or {}
    if has_splits:
        _check_split_counts(info, files, counts, split, path)
    num_classes = info.get("num_classes")
    if info.get("image_shape"):
        expected = tuple(info["image_shape"])
        origin = (f"'{os.path.join(path, tfrecord_format.INFO_FILE)}' "
                  "(its image_shape)")
    else:
        expected, origin = None, "the dataset"
    if verify == "none":
        shapes = {tfrecord_check.first_record_shape(f)
                  for f, n in zip(files, counts) if n}
        found = shapes.pop() if len(shapes) == 1 else (None, None, None)
    else:
        summaries = [tfrecord_check.check_shard(f, expected, num_classes,
                                                origin)
                     for f, n in zip(files, counts) if n]
        found = tfrecord_check.merge_shapes(summaries)
    shape = expected or found

    def decode(serialized):
        return tfrecord_format.decode_example(serialized, shape)

    def decode_batch(serialized):
        return tfrecord_format.decode_examples(serialized, shape)

    records = tf.data.TFRecordDataset(files).apply(
        tf.data.experimental.assert_cardinality(total))
    source = RawSource(
        records=records, decode=decode, num_examples=total,
        image_shape=shape,
        decode_batch=decode_batch if None not in shape else None,
        description=f"TFRecord data '{path}'", has_labels=bool(num_classes),
        num_classes=num_classes)
    if has_splits:
        return source
    return select_split(source, split, holdout_size, data_seed)

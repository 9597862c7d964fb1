"""`load_dataset`: one entry point for every dataset mixgan trains on."""

import json
import logging
import os
import weakref

from general_tools.data import bundled, readers, specs, toy
from general_tools.data.pipeline import build_pipeline
from general_tools.data.tfds_sources import (DatasetUnavailableError,
                                             tfds_source)

_logger = logging.getLogger(__name__)

_NPZ_OPTIONS = ("image_key", "label_key")
# What each dataset load_dataset returned was made from (weakly held).
_IDENTITIES = weakref.WeakKeyDictionary()


def _pair(value, arg):
    """int or (int, int) -> (int, int)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    if (isinstance(value, (tuple, list)) and len(value) == 2
            and all(isinstance(v, int) and v > 0 for v in value)):
        return tuple(value)
    raise ValueError(
        f"`{arg}` must be a positive int or a (height, width) pair of "
        f"positive ints. Received: {arg}={value!r}")


def _resolve_image_size(image_size, default):
    if image_size is None:
        return default
    if image_size == "native":
        return None
    return _pair(image_size, "image_size")


def _resolve_crop_size(crop_size, default):
    if crop_size is None:
        return default
    if crop_size == "auto":
        return None
    return _pair(crop_size, "crop_size")


def _parse_name(name):
    """-> (spec or None, generic prefix or None, path or None)."""
    if not isinstance(name, str) or not name:
        raise ValueError(
            f"`name` must be a non-empty str. Received: name={name!r}")
    prefix, sep, rest = name.partition(":")
    if sep and prefix in specs.GENERIC_SOURCES:
        if not rest:
            raise ValueError(
                f"`{prefix}:` needs a path or name after the colon. "
                f"Received: name={name!r}")
        return None, prefix, os.path.expanduser(rest) if prefix != "tfds" \
            else rest
    return specs.get_spec(name), None, None


def _check_options(options, allowed, name):
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(
            f"`source_options` {unknown} are not understood by '{name}'; it "
            f"takes {sorted(allowed)}.")


def _bundled_fallback(split, error, data_seed):
    """The bundled MNIST in place of tfds's, announced in one log line."""
    if split not in ("train", "test", "all"):
        raise error
    source = bundled.bundled_source(split, data_seed=data_seed)
    _logger.warning(
        "mixgan: tensorflow-datasets cannot provide 'mnist' (%s); using the "
        "bundled MNIST test images (%s) instead: split '%s' = %d images.",
        str(error).split(";")[0], bundled.bundled_mnist_dir(), split,
        source.num_examples)
    return source


def _raw_source(name, split, *, data_dir, channels, holdout_size, data_seed,
                download, verify, need_same_size, with_labels,
                source_options):
    """Dispatches `name` to its reader; returns `(RawSource, spec, used)`
    with `used` the name of the data actually read (`mnist_bundled` when
    `mnist` fell back to the bundled images)."""
    spec, prefix, path = _parse_name(name)
    options = dict(source_options or {})
    if spec is not None and spec.source == "toy":
        _check_options(options, list(toy.TOY_DATASETS[name][1])
                       + ["points_per_component"], name)
        return toy.toy_source(name, split, data_seed, options), spec, name
    _check_options(options, _NPZ_OPTIONS if prefix == "npz" else (), name)
    holdout = holdout_size
    if holdout is None:
        holdout = spec.holdout_size if spec is not None else 0
    kw = dict(holdout_size=holdout, data_seed=data_seed)
    if spec is None:
        if prefix == "image_folder":
            source = readers.read_image_folder(
                path, split, channels=channels, verify=verify,
                need_same_size=need_same_size, with_labels=with_labels, **kw)
        elif prefix == "idx":
            source = readers.read_idx_source(path, split,
                                             with_labels=with_labels, **kw)
        elif prefix == "npz":
            source = readers.read_npz(path, split, **options, **kw)
        elif prefix == "tfrecord":
            source = readers.read_tfrecord(path, split, verify=verify,
                                           **kw)
        else:  # tfds
            source = tfds_source(path, split, data_dir=data_dir,
                                 download=download, channels=channels, **kw)
        return source, None, name
    if spec.source == "bundled":
        return (bundled.bundled_source(split, data_dir=data_dir, **kw), spec,
                name)
    if spec.source == "folder":
        if data_dir is None:
            raise ValueError(
                f"'{name}' has no tensorflow-datasets builder: pass "
                "`data_dir`, a folder of its images or of TFRecord shards "
                "made by datasets/prepare_image_folder.py (see "
                "datasets/README.md). Received: data_dir=None")
        if os.path.isdir(data_dir) and any(
                f.endswith((".tfrecord", ".tfrecords"))
                for f in os.listdir(data_dir)):
            source = readers.read_tfrecord(data_dir, split, verify=verify,
                                           **kw)
            return source, spec, name
        return readers.read_image_folder(
            data_dir, split, channels=channels or spec.channels,
            verify=verify, need_same_size=need_same_size,
            with_labels=with_labels, **kw), spec, name
    try:
        source = tfds_source(
            spec.tfds_name, split, data_dir=data_dir, download=download,
            splits=spec.splits, channels=channels or spec.channels, **kw)
    except DatasetUnavailableError as e:
        if spec.name != "mnist":
            raise
        return _bundled_fallback(split, e, data_seed), spec, "mnist_bundled"
    return source, spec, name


def load_dataset(name, split="train", image_size=None, batch_size=None,
                 data_dir=None, with_labels=False, shuffle=True, seed=None,
                 deterministic=False, drop_remainder=True, repeat=False,
                 cache="auto", crop_size=None, channels=None,
                 holdout_size=None, data_seed=specs.DEFAULT_DATA_SEED,
                 shuffle_buffer=None, download="auto", verify="header",
                 source_options=None):
    """Loads a dataset as a `tf.data.Dataset` of images in [-1, 1].

    Images are float32 NHWC (or HWC unbatched) in [-1, 1], computed as
    `uint8 / 127.5 - 1` after an optional centre crop and a bilinear,
    antialiased resize rounded to uint8 (see `pipeline`). Toy datasets give
    float32 points `(2,)` in their own coordinates.

    Names (defaults in `specs` and `datasets/README.md`): `mnist`,
    `fashion_mnist`, `cifar10`, `stl10`, `celeb_a`, `lsun/church_outdoor`,
    `oxford_flowers102` (tensorflow-datasets), `ut_zap50k` (image folder or
    TFRecords in `data_dir`), `mnist_bundled` (the MNIST test images shipped
    in `datasets/mnist`), `toy_gmm`, `toy_gmm_fixed`, `toy_ring`, `toy_grid`; and generic
    sources `image_folder:PATH`, `idx:PATH`, `npz:PATH`, `tfrecord:PATH`,
    `tfds:NAME`. When tensorflow-datasets cannot provide `mnist` (offline,
    not prepared), the bundled images are used with a one-line warning.

    Example:

    ```python
    ds = load_dataset("mnist_bundled", batch_size=128, seed=0, repeat=True)
    images = next(iter(ds))          # (128, 32, 32, 1) float32 in [-1, 1]
    ds = load_dataset("image_folder:/data/zap", image_size=64, split="test",
                      holdout_size=10_000)
    ```

    Args:
        name: str. dataset name or `PREFIX:PATH`.
        split: str. `"train"`, `"test"` or `"all"`; for tfds datasets also
            any tfds split expression. Datasets without a test split of
            their own hold out a seeded random `holdout_size` examples.
            Defaults to "train".
        image_size: int, `(h, w)`, `"native"` or None. output size; None is
            the dataset's default (native size for generic sources);
            `"native"` skips resizing. Defaults to None.
        batch_size: int or None. None yields single examples. Defaults to
            None.
        data_dir: str or None. tfds data folder; for `ut_zap50k` the image
            or TFRecord folder; for `mnist_bundled` a folder with the two
            t10k IDX files. Defaults to None.
        with_labels: bool. yield `(images, labels)` with int32 labels.
            Defaults to False.
        shuffle: bool. shuffle (reshuffled each epoch). Defaults to True.
        seed: int or None. shuffle seed. Defaults to None.
        deterministic: bool. same order for the same seed (needs `seed`
            when shuffling); `shuffle=False` always keeps the stored order.
            Defaults to False.
        drop_remainder: bool. drop a last, smaller batch. With
            `repeat=False`, a `batch_size` above the number of examples is
            then an error naming both (it would yield no batch). Defaults
            to True.
        repeat: bool. repeat forever. Defaults to False.
        cache: bool, `"auto"` or str. cache the uint8 images: `"auto"` in
            memory when they take at most 4 GiB; True in memory; a str is a
            cache file prefix; False none. Defaults to "auto".
        crop_size: int, `(h, w)`, `"auto"` or None. centre crop before the
            resize; `"auto"` is the largest centred window of the output's
            aspect ratio; None the dataset default (108 for `celeb_a`,
            `"auto"` otherwise). Defaults to None.
        channels: int or None. decode to 1, 3 or 4 channels; None keeps
            the dataset's (image folders must then agree). Defaults to
            None.
        holdout_size: int or None. size of the seeded random hold-out;
            None is the dataset default (10,000 for the 64x64 sets, 1,000
            for `oxford_flowers102`, 2,000 for `mnist_bundled`, 0 for
            generic sources). Defaults to None.
        data_seed: int. seed of the hold-out and of the toy data, kept
            apart from `seed` so that the data do not change with the
            training seed. Defaults to 2019 (the HMoG code's seed).
        shuffle_buffer: int or None. Defaults to None (see `pipeline`).
        download: bool or `"auto"`. let tfds download (`"auto"`: only if
            the network answers). Defaults to "auto".
        verify: str. how much of the data is checked before anything is
            read: `"header"`, `"full"` or `"none"`. Image folders: see
            `image_files`. TFRecord shards: `"header"` and `"full"` check
            every record (`tfrecord_check`), `"none"` only the framing and
            each file's first record. Defaults to "header".
        source_options: dict or None. toy mixture options (e.g.
            `{"num_components": 8, "points_per_component": 1000}`) or npz
            keys (`image_key`, `label_key`). Defaults to None.

    Returns:
        `tf.data.Dataset` of images, or of `(images, labels)` when
        `with_labels`.
    """
    spec, _, _ = _parse_name(name)
    is_toy = spec is not None and spec.source == "toy"
    if is_toy and (image_size is not None or crop_size is not None):
        raise ValueError(
            f"'{name}' is 2-D points; `image_size` and `crop_size` do not "
            f"apply. Received: image_size={image_size!r}, "
            f"crop_size={crop_size!r}")
    if (with_labels and spec is not None and spec.source == "tfds"
            and spec.num_classes is None):
        raise ValueError(
            f"'{name}' has no class labels. Received: with_labels=True")
    size = _resolve_image_size(image_size, spec.image_size if spec else None)
    crop = _resolve_crop_size(crop_size, spec.crop_size if spec else None)
    if channels is not None and channels not in (1, 3, 4):
        raise ValueError(
            f"`channels` must be 1, 3, 4 or None. Received: "
            f"channels={channels!r}")
    source, spec, used = _raw_source(
        name, split, data_dir=data_dir, channels=channels,
        holdout_size=holdout_size, data_seed=data_seed, download=download,
        verify=verify, need_same_size=size is None and crop is None,
        with_labels=with_labels, source_options=source_options)
    dataset = build_pipeline(
        source, image_size=size, crop_size=crop, channels=channels,
        with_labels=with_labels, batch_size=batch_size, shuffle=shuffle,
        seed=seed, deterministic=deterministic,
        drop_remainder=drop_remainder, repeat=repeat, cache=cache,
        shuffle_buffer=shuffle_buffer)
    identity = {"name": used, "split": split,
                "image_size": None if size is None else list(size),
                "crop_size": None if crop is None else list(crop),
                "channels": channels, "with_labels": bool(with_labels),
                "holdout_size": holdout_size, "data_seed": int(data_seed),
                "source_options": dict(source_options or {})}
    if used != name:
        identity["requested"] = name
    _IDENTITIES[dataset] = identity
    return dataset


def dataset_identity(dataset):
    """What `load_dataset` returned ``dataset`` for, or None for a dataset
    made otherwise (or transformed since): ``name`` (the data actually read,
    e.g. ``'mnist_bundled'`` for an offline ``'mnist'``, which is then
    ``requested``), ``split``, ``image_size``, ``crop_size``, ``channels``,
    ``with_labels``, ``holdout_size``, ``data_seed``, ``source_options``.
    Run folders record it."""
    identity = _IDENTITIES.get(dataset)
    return None if identity is None else json.loads(json.dumps(identity))

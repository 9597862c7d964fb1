"""Datasets from tensorflow-datasets (tfds).

`tfds_source` builds the tfds builder, prepares it if needed and reads the
requested split *without decoding* (`tfds.decode.SkipDecoding`), so that a
hold-out filter runs before any JPEG or PNG is decoded; the pipeline then
decodes in parallel. Files are read in their stored order
(`shuffle_files=False`), which makes the seeded hold-out reproducible; the
pipeline shuffles the decoded (cached) images instead.

Downloading. `download="auto"` first checks, with a 3-second connection
attempt to `storage.googleapis.com`, that the network is reachable: offline,
tfds would otherwise retry each file for about three minutes before failing.
`download=True` skips the check; `download=False` only reads data already
prepared in `data_dir`. A dataset that cannot be prepared raises
`DatasetUnavailableError` (`load_dataset` then falls back to the bundled
MNIST for `mnist`).

Tests run this path offline with `tfds.testing.mock_data` and
`download=True`, which replaces the download and the stored examples.
"""

import socket

import tensorflow as tf

from general_tools.data.source import RawSource, select_split

PROBE_HOST = "storage.googleapis.com"


class DatasetUnavailableError(RuntimeError):
    """tensorflow-datasets could not provide a dataset (offline, not
    prepared, manual download needed, ...)."""


def network_reachable(host=PROBE_HOST, port=443, timeout=3.0):
    """Whether a TCP connection to `host:port` opens within `timeout` s.

    Args:
        host: str. Defaults to `PROBE_HOST`.
        port: int. Defaults to 443.
        timeout: float. seconds. Defaults to 3.

    Returns:
        bool.
    """
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _builder(tfds_name, data_dir, download):
    import tensorflow_datasets as tfds  # slow import, only when needed

    try:
        builder = tfds.builder(tfds_name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError as e:
        raise ValueError(
            f"tensorflow-datasets has no dataset '{tfds_name}'. Received: "
            f"name='tfds:{tfds_name}'") from e
    if builder.is_prepared():
        return builder
    where = data_dir or "the default tfds data_dir (~/tensorflow_datasets)"
    if download is False:
        raise DatasetUnavailableError(
            f"tfds dataset '{tfds_name}' is not prepared in {where} and "
            "download=False; see datasets/README.md.")
    if download == "auto" and not network_reachable():
        raise DatasetUnavailableError(
            f"tfds dataset '{tfds_name}' is not prepared in {where} and "
            f"{PROBE_HOST} is unreachable (offline?); see datasets/README.md.")
    try:
        builder.download_and_prepare()
    except Exception as e:  # network, checksum, manual-download, import...
        raise DatasetUnavailableError(
            f"tfds could not download and prepare '{tfds_name}' in {where}: "
            f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
            "; see datasets/README.md.") from e
    return builder


def tfds_source(tfds_name, split="train", *, data_dir=None, download="auto",
                splits=None, holdout_size=0, data_seed=2019, channels=None):
    """`RawSource` of one split of a tfds dataset with an `image` feature.

    Args:
        tfds_name: str. builder name, e.g. `"mnist"`, `"lsun/church_outdoor"`.
        split: str. `"train"`, `"test"`, `"all"`, a key of `splits`, or any
            tfds split expression (e.g. `"train[:10%]"`). Defaults to
            "train".
        data_dir: str or None. tfds data folder. Defaults to None.
        download: bool or `"auto"`. see the module docstring. Defaults to
            "auto".
        splits: mapping or None. split name -> tfds split expression; with
            `holdout_size > 0`, `splits["all"]` is the pool. Defaults to
            None.
        holdout_size: int. seeded random hold-out taken from the pool for
            `"train"` / `"test"`. Defaults to 0.
        data_seed: int. hold-out seed. Defaults to 2019.
        channels: int or None. decode to this many channels; None keeps the
            dataset's. Defaults to None.

    Returns:
        `RawSource`.
    """
    import tensorflow_datasets as tfds

    splits = dict(splits or {})
    builder = _builder(tfds_name, data_dir, download)
    features = builder.info.features
    if "image" not in features:
        raise ValueError(
            f"tfds dataset '{tfds_name}' has no 'image' feature (features: "
            f"{sorted(features.keys())}).")
    pooled = holdout_size > 0 and split in ("train", "test", "all")
    tfds_split = splits.get("all", split) if pooled else splits.get(split,
                                                                     split)
    try:
        ds = builder.as_dataset(
            split=tfds_split, shuffle_files=False,
            decoders={"image": tfds.decode.SkipDecoding()})
    except (ValueError, KeyError) as e:
        known = sorted(builder.info.splits.keys()) if builder.info.splits \
            else "unknown"
        raise ValueError(
            f"tfds dataset '{tfds_name}' cannot read split '{tfds_split}' "
            f"(its splits: {known}; mixgan names: "
            f"{sorted(set(splits) | {'train', 'test', 'all'})}). "
            f"Received: split={split!r}") from e
    has_labels = "label" in features
    num_classes = getattr(features["label"], "num_classes", None) \
        if has_labels else None
    height, width, stored_channels = features["image"].shape
    channels = channels or stored_channels
    shape = (height, width, channels)

    def select(example):
        label = (tf.cast(example["label"], tf.int32) if has_labels
                 else tf.constant(-1, tf.int32))
        return example["image"], label

    def decode(encoded, label):
        image = tf.io.decode_image(encoded, channels=channels,
                                   expand_animations=False)
        image.set_shape(shape)
        return image, label

    count = int(ds.cardinality())
    if count < 0:
        count = builder.info.splits[tfds_split].num_examples
    records = ds.map(select).apply(
        tf.data.experimental.assert_cardinality(count))
    source = RawSource(
        records=records, decode=decode, num_examples=count,
        image_shape=shape,
        description=f"tfds dataset '{tfds_name}' ({tfds_split})",
        has_labels=has_labels, num_classes=num_classes)
    if not pooled:
        return source
    return select_split(source, split, holdout_size, data_seed)

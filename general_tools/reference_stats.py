"""Reference statistics of real images, cached on disk per dataset, split,
resolution, extractor and preprocessing.

FID needs the mean and covariance of the real features; KID, the k-NN
two-sample test, precision/recall and density/coverage need the real
feature matrix itself. Computing them means running the extractor over
thousands of images, so `reference_stats` stores them once in a cache
folder (`$MIXGAN_CACHE_DIR` or `~/.cache/mixgan`, subfolder
`reference_stats/`) and reuses them.

Cache key. Every choice that changes the features is part of the key, as in
StudioGAN's moments cache (see `gan_toolkits_and_fid.md`, section 4):
dataset name, split, image resolution `(H, W)` and channels the images are
loaded at, number of images, and the extractor's `get_config()` -- its name,
input size, resize method, quantisation, value range, input scaling and an
identity of its weights (graph file name, ImageNet weights, or the weights
fingerprint of a domain classifier) -- plus `extractor_id` for anything the
config cannot see. The file names read
`<dataset>_<split>_<H>x<W>_<extractor>_<resize>_<digest>.npz` (+ `.json`),
`digest` being the first 16 hex digits of the SHA-256 of the canonical JSON
key.

Integrity. The arrays go to an `.npz` file and the key, shapes and the
SHA-256 of the `.npz` to a JSON sidecar; both are written through a
temporary file and `os.replace`, the sidecar last. On loading, a missing or
unreadable sidecar, a different key, a checksum mismatch or inconsistent
shapes trigger a warning and a recomputation: a damaged cache is never used
silently. An entry without the feature matrix is recomputed (without
warning) when the features are needed.
"""

import dataclasses
import io
import hashlib
import json
import os
import re
import time
import warnings

import numpy as np

from general_tools.atomic_io import write_bytes_atomic  # noqa: F401  (re-exported)

from general_tools.data.loader import load_dataset
from general_tools.features.inception_graph import default_cache_dir
from general_tools.metrics import feature_statistics

CACHE_SUBDIR = "reference_stats"
FORMAT_VERSION = 1
_SPLIT_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?"
                            r"(\+[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?)*$")
_GENERIC_PREFIXES = ("image_folder", "idx", "npz", "tfrecord", "tfds")


def file_sha256(path):
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def parse_reference(text, default_split="test"):
    """Splits `"DATASET[:SPLIT]"` into `(dataset, split)`.

    The split is the text after the last colon outside brackets when it
    looks like a split expression (`test`, `train[:50%]`, `train+test`);
    otherwise the whole text is the dataset (e.g. `image_folder:/data/x`).
    `PREFIX:PATH:SPLIT` works for generic sources.

    Args:
        text: str. reference specification.
        default_split: str. split when none is given. Defaults to "test".

    Returns:
        `(dataset, split)` strings.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(
            f"`reference` must be 'DATASET[:SPLIT]'; received {text!r}.")
    text = text.strip()
    depth, cut = 0, -1
    for i, char in enumerate(text):
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == ":" and depth == 0:
            cut = i
    if cut > 0:
        head, tail = text[:cut], text[cut + 1:]
        generic_without_path = head in _GENERIC_PREFIXES
        if _SPLIT_PATTERN.match(tail) and not generic_without_path:
            return head, tail
    return text, default_split


@dataclasses.dataclass
class ReferenceStats:
    """Features of a reference (real) image set.

    Attributes:
        mu: float64 `(d,)` feature mean.
        sigma: float64 `(d, d)` unbiased feature covariance.
        features: float32 `(n, d)` features, or None when not kept.
        logits: float32 `(n, classes)` logits, or None.
        metadata: dict. the cache key and what was stored (`num_images`,
            `feature_dim`, ...).
    """

    mu: np.ndarray
    sigma: np.ndarray
    features: np.ndarray = None
    logits: np.ndarray = None
    metadata: dict = dataclasses.field(default_factory=dict)

    @property
    def num_images(self):
        """Number of images the statistics come from."""
        return int(self.metadata.get("num_images", 0)) or (
            None if self.features is None else len(self.features))


def compute_reference_stats(images, extractor, batch_size=100,
                            keep_features=True, keep_logits=True,
                            metadata=None):
    """Runs `extractor` over `images` and returns their statistics.

    Args:
        images: images or batches accepted by `FeatureExtractor.extract`
            (array, tensor, dataset, or iterable of batches).
        extractor: a `general_tools.features.FeatureExtractor`.
        batch_size: int. extractor batch size. Defaults to 100.
        keep_features: bool. keep the feature matrix. Defaults to True.
        keep_logits: bool. keep the logits when the extractor has them.
            Defaults to True.
        metadata: dict or None. stored in the result. Defaults to None.

    Returns:
        `ReferenceStats`.
    """
    outputs = [name for name in extractor.output_names
               if name == "features" or (keep_logits and name == "logits")]
    result = extractor.extract(images, batch_size=batch_size, outputs=outputs)
    features = result["features"]
    mu, sigma = feature_statistics(features)
    info = dict(metadata or {})
    info.update(num_images=int(features.shape[0]),
                feature_dim=int(features.shape[1]))
    return ReferenceStats(mu=mu, sigma=sigma,
                          features=features if keep_features else None,
                          logits=result.get("logits"), metadata=info)


def reference_images(dataset, split="test", image_size=None, channels=None,
                     num=None, batch_size=100, data_dir=None):
    """Yields batches of reference images (float32 in [-1, 1]) in the
    dataset's stored order, `num` images in all (None: the whole split).

    Args:
        dataset: str. `load_dataset` name.
        split: str. split. Defaults to "test".
        image_size: int, `(h, w)` or None. load size. Defaults to None.
        channels: int or None. channels to decode. Defaults to None.
        num: int or None. number of images. Defaults to None.
        batch_size: int. batch size. Defaults to 100.
        data_dir: str or None. `load_dataset`'s data folder. Defaults to
            None.

    Yields:
        numpy arrays `(n, H, W, C)`.
    """
    ds = load_dataset(dataset, split=split, image_size=image_size,
                      batch_size=batch_size, shuffle=False,
                      drop_remainder=False, channels=channels,
                      data_dir=data_dir)
    left = None if num is None else int(num)
    for batch in ds:
        if isinstance(batch, (tuple, list)):
            batch = batch[0]
        batch = batch.numpy()
        if left is not None:
            batch = batch[:left]
            left -= len(batch)
        if len(batch):
            yield batch
        if left is not None and left <= 0:
            return


def _canonical(obj):
    return json.loads(json.dumps(obj, sort_keys=True, default=str))


def cache_key(dataset, split, image_size, channels, num, extractor,
              extractor_id=None):
    """The JSON-friendly dict that identifies a cache entry."""
    size = None if image_size is None else (
        [int(image_size)] * 2 if np.isscalar(image_size)
        else [int(s) for s in image_size])
    return _canonical({
        "format": FORMAT_VERSION, "dataset": dataset, "split": split,
        "image_size": size, "channels": channels,
        "num": None if num is None else int(num),
        "extractor": extractor.get_config(), "extractor_id": extractor_id,
    })


def cache_paths(key, cache_dir=None):
    """`(npz_path, json_path)` of the cache entry of `key`."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode(
        "utf-8")).hexdigest()[:16]
    config = key["extractor"]
    size = key["image_size"]
    parts = [key["dataset"], key["split"],
             "native" if size is None else f"{size[0]}x{size[1]}",
             config.get("extractor", "extractor"),
             config.get("resize", "none"), digest]
    stem = "_".join(re.sub(r"[^A-Za-z0-9_.-]+", "-", str(p)).strip("-")
                    for p in parts)
    folder = os.path.join(cache_dir or default_cache_dir(), CACHE_SUBDIR)
    return os.path.join(folder, stem + ".npz"), os.path.join(
        folder, stem + ".json")


def save_reference_stats(stats, npz_path, json_path, key):
    """Writes `stats` to the cache (arrays first, sidecar last)."""
    arrays = {"mu": stats.mu, "sigma": stats.sigma}
    if stats.features is not None:
        arrays["features"] = stats.features
    if stats.logits is not None:
        arrays["logits"] = stats.logits
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    data = buffer.getvalue()
    write_bytes_atomic(npz_path, data)
    sidecar = {
        "key": key, "npz_sha256": hashlib.sha256(data).hexdigest(),
        "arrays": {name: list(value.shape) for name, value in arrays.items()},
        "num_images": stats.metadata.get("num_images"),
        "feature_dim": stats.metadata.get("feature_dim"),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    write_bytes_atomic(json_path, (json.dumps(sidecar, indent=2,
                                              sort_keys=True) + "\n").encode())


def load_cached_stats(npz_path, json_path, key, need_features=False,
                      need_logits=False):
    """Reads a cache entry; returns `(stats, problem)`.

    `stats` is None when the entry is absent, damaged, for another key or
    lacks the requested arrays; `problem` is then a message (None for a
    plain miss or missing arrays, which need no warning).
    """
    if not os.path.exists(json_path) and not os.path.exists(npz_path):
        return None, None
    try:
        with open(json_path, encoding="utf-8") as handle:
            sidecar = json.load(handle)
        shapes = sidecar["arrays"]
        expected_sha = sidecar["npz_sha256"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        return None, f"unreadable metadata {json_path!r} ({error})"
    if sidecar.get("key") != key:
        return None, (f"metadata {json_path!r} belongs to another key "
                      "(dataset, split, size, extractor or preprocessing)")
    if (need_features and "features" not in shapes) or (
            need_logits and "logits" not in shapes):
        return None, None
    try:
        actual_sha = file_sha256(npz_path)
    except OSError as error:
        return None, f"unreadable arrays {npz_path!r} ({error})"
    if actual_sha != expected_sha:
        return None, f"checksum mismatch of {npz_path!r}"
    try:
        with np.load(npz_path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError) as error:
        return None, f"unreadable arrays {npz_path!r} ({error})"
    if {k: list(v.shape) for k, v in arrays.items()} != shapes:
        return None, f"array shapes of {npz_path!r} differ from its metadata"
    d = arrays["mu"].shape[0] if arrays["mu"].ndim == 1 else -1
    bad = arrays["sigma"].shape != (d, d) or any(
        arrays[name].ndim != 2 or
        arrays[name].shape[0] != sidecar.get("num_images")
        for name in ("features", "logits") if name in arrays) or (
        "features" in arrays and arrays["features"].shape[1] != d)
    if bad:
        return None, f"inconsistent array shapes in {npz_path!r}"
    metadata = dict(key, num_images=sidecar.get("num_images"),
                    feature_dim=sidecar.get("feature_dim"),
                    cache_file=os.path.basename(npz_path))
    return ReferenceStats(mu=arrays["mu"], sigma=arrays["sigma"],
                          features=arrays.get("features"),
                          logits=arrays.get("logits"),
                          metadata=metadata), None


def reference_stats(dataset, extractor, split="test", image_size=None,
                    channels=None, num=None, cache_dir=None,
                    keep_features=True, keep_logits=True, batch_size=100,
                    data_dir=None, extractor_id=None, use_cache=True,
                    images=None):
    """Reference statistics of a dataset split, from the cache when valid.

    Args:
        dataset: str. `load_dataset` name (e.g. "mnist_bundled").
        extractor: `general_tools.features.FeatureExtractor`.
        split: str. split of the reference images (the HMoG protocol uses a
            held-out test split). Defaults to "test".
        image_size: int, `(h, w)` or None. resolution the real images are
            loaded at; give the generator's so that both sets meet the
            extractor at the same size. None is the dataset default.
            Defaults to None.
        channels: int or None. channels to decode. Defaults to None.
        num: int or None. number of images (the first `num` in stored
            order); None takes the whole split. Defaults to None.
        cache_dir: str or None. cache root; None is `$MIXGAN_CACHE_DIR` or
            `~/.cache/mixgan`. Defaults to None.
        keep_features: bool. keep (and cache) the feature matrix, needed by
            KID, k-NN, PR and DC; FID alone needs only the moments. Defaults
            to True.
        keep_logits: bool. keep the logits when the extractor has them.
            Defaults to True.
        batch_size: int. loading and extractor batch size. Defaults to 100.
        data_dir: str or None. `load_dataset` data folder. Defaults to None.
        extractor_id: str or None. extra identity added to the key (e.g. a
            hash of user model weights). Defaults to None.
        use_cache: bool. read and write the cache; False always recomputes
            and writes nothing. Defaults to True.
        images: array or iterable or None. images to use instead of loading
            `dataset` (then `dataset`/`split` only name them in the key).
            Defaults to None.

    Returns:
        `ReferenceStats`; `metadata` holds the key, `num_images` and, when
        read from the cache, `cache_file`.
    """
    key = cache_key(dataset, split, image_size, channels, num, extractor,
                    extractor_id)
    npz_path, json_path = cache_paths(key, cache_dir)
    if use_cache:
        stats, problem = load_cached_stats(
            npz_path, json_path, key, need_features=keep_features,
            need_logits=keep_logits and "logits" in extractor.output_names)
        if stats is not None:
            return stats
        if problem:
            warnings.warn(f"Reference statistics cache: {problem}; "
                          "recomputing.", stacklevel=2)
    source = images if images is not None else reference_images(
        dataset, split, image_size, channels, num, batch_size, data_dir)
    stats = compute_reference_stats(source, extractor, batch_size,
                                    keep_features, keep_logits,
                                    metadata=key)
    if use_cache:
        save_reference_stats(stats, npz_path, json_path, key)
        stats.metadata["cache_file"] = os.path.basename(npz_path)
    return stats


__all__ = [
    "ReferenceStats", "cache_key", "cache_paths", "compute_reference_stats",
    "file_sha256", "load_cached_stats", "parse_reference",
    "reference_images", "reference_stats", "save_reference_stats",
    "write_bytes_atomic",
]

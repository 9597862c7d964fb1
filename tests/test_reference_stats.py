"""Reference statistics: values against a numpy re-implementation of a
linear extractor, the cache (hit, key separation, atomic files) and its
defences (corrupt or mismatched entries are recomputed with a warning)."""

import json
import os
import warnings

import keras
import numpy as np
import pytest

from general_tools import reference_stats as ref
from general_tools.features import KerasModelExtractor

SHAPE = (8, 8, 1)


@pytest.fixture(scope="module")
def linear_model():
    """Flatten + Dense(6) with fixed weights: features = x_flat W + b."""
    rng = np.random.default_rng(0)
    model = keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(),
                              keras.layers.Dense(6, name="proj")],
                             name="linear_probe")
    weights = [rng.normal(size=(64, 6)).astype(np.float32),
               rng.normal(size=6).astype(np.float32)]
    model.get_layer("proj").set_weights(weights)
    return model, weights


def _extractor(model, resize="tf_bilinear"):
    return KerasModelExtractor(model, resize=resize)


def _numpy_features(images, weights):
    levels = np.floor(np.clip((images.astype(np.float64) + 1) * 127.5,
                              0, 255) + 0.5)
    flat = (levels / 127.5 - 1.0).reshape(len(images), -1)
    return flat @ weights[0] + weights[1]


@pytest.fixture
def images():
    return np.random.default_rng(1).uniform(
        -1, 1, (40,) + SHAPE).astype(np.float32)


def test_parse_reference():
    assert ref.parse_reference("mnist_bundled") == ("mnist_bundled", "test")
    assert ref.parse_reference("mnist_bundled:train") == \
        ("mnist_bundled", "train")
    assert ref.parse_reference("mnist:train[:50%]") == \
        ("mnist", "train[:50%]")
    assert ref.parse_reference("stl10:train+test") == ("stl10", "train+test")
    assert ref.parse_reference("image_folder:/data/zap") == \
        ("image_folder:/data/zap", "test")
    assert ref.parse_reference("image_folder:data") == \
        ("image_folder:data", "test")
    assert ref.parse_reference("image_folder:/data/zap:all") == \
        ("image_folder:/data/zap", "all")
    assert ref.parse_reference("cifar10", default_split="train") == \
        ("cifar10", "train")
    with pytest.raises(ValueError, match="DATASET"):
        ref.parse_reference("")


def test_statistics_match_numpy(linear_model, images):
    model, weights = linear_model
    stats = ref.compute_reference_stats(images, _extractor(model),
                                        batch_size=16)
    want = _numpy_features(images, weights)
    np.testing.assert_allclose(stats.features, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(stats.mu, want.mean(0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(stats.sigma, np.cov(want, rowvar=False),
                               rtol=1e-4, atol=1e-4)
    assert stats.mu.dtype == np.float64 and stats.sigma.dtype == np.float64
    assert stats.num_images == 40 and stats.metadata["feature_dim"] == 6
    only_moments = ref.compute_reference_stats(
        images, _extractor(model), batch_size=16, keep_features=False)
    assert only_moments.features is None
    np.testing.assert_array_equal(only_moments.mu, stats.mu)


def test_cache_hit_and_keys(linear_model, images, tmp_path, monkeypatch):
    model, weights = linear_model
    extractor = _extractor(model)
    kwargs = dict(split="test", image_size=8, channels=1,
                  cache_dir=str(tmp_path), images=images)
    first = ref.reference_stats("toyset", extractor, **kwargs)
    folder = tmp_path / ref.CACHE_SUBDIR
    files = sorted(os.listdir(folder))
    assert len(files) == 2 and files[0].endswith(".json") \
        and files[1].endswith(".npz")
    assert files[1].startswith("toyset_test_8x8_KerasModelExtractor_"
                               "tf_bilinear_")
    sidecar = json.loads((folder / files[0]).read_text())
    assert sidecar["key"]["dataset"] == "toyset"
    assert sidecar["key"]["extractor"]["resize"] == "tf_bilinear"
    assert sidecar["num_images"] == 40

    def fail(*args, **kw):
        raise AssertionError("recomputed although the cache is valid")

    with monkeypatch.context() as patch:
        patch.setattr(ref, "compute_reference_stats", fail)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            second = ref.reference_stats("toyset", extractor, **kwargs)
    np.testing.assert_array_equal(second.features, first.features)
    np.testing.assert_array_equal(second.sigma, first.sigma)
    assert second.metadata["cache_file"] == files[1]
    np.testing.assert_allclose(second.mu,
                               _numpy_features(images, weights).mean(0),
                               rtol=1e-5, atol=1e-5)
    # Every part of the key gives its own entry.
    ref.reference_stats("toyset", extractor, **{**kwargs, "split": "train"})
    ref.reference_stats("toyset", _extractor(model, "pil_bicubic"), **kwargs)
    ref.reference_stats("toyset", extractor, num=40, **kwargs)
    ref.reference_stats("toyset", extractor, extractor_id="v2", **kwargs)
    names = os.listdir(folder)
    assert len(names) == 10
    assert not [n for n in names if n.startswith(".tmp")]
    assert any("_pil_bicubic_" in n for n in names)


def test_corrupt_or_mismatched_cache_is_recomputed(linear_model, images,
                                                   tmp_path):
    model, _ = linear_model
    extractor = _extractor(model)
    kwargs = dict(image_size=8, cache_dir=str(tmp_path), images=images)
    good = ref.reference_stats("toyset", extractor, **kwargs)
    key = ref.cache_key("toyset", "test", 8, None, None, extractor)
    npz_path, json_path = ref.cache_paths(key, str(tmp_path))

    # 1. Flipped bytes in the arrays: checksum mismatch.
    data = bytearray(open(npz_path, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(npz_path, "wb").write(bytes(data))
    with pytest.warns(UserWarning, match="checksum mismatch"):
        again = ref.reference_stats("toyset", extractor, **kwargs)
    np.testing.assert_array_equal(again.features, good.features)
    assert ref.file_sha256(npz_path) == json.load(
        open(json_path))["npz_sha256"]

    # 2. Unreadable sidecar.
    open(json_path, "w").write("{not json")
    with pytest.warns(UserWarning, match="unreadable metadata"):
        ref.reference_stats("toyset", extractor, **kwargs)

    # 3. A sidecar whose key differs (e.g. copied from another entry).
    sidecar = json.load(open(json_path))
    sidecar["key"]["split"] = "train"
    open(json_path, "w").write(json.dumps(sidecar))
    with pytest.warns(UserWarning, match="another key"):
        ref.reference_stats("toyset", extractor, **kwargs)

    # 4. Arrays gone, sidecar left.
    os.remove(npz_path)
    with pytest.warns(UserWarning, match="unreadable arrays"):
        again = ref.reference_stats("toyset", extractor, **kwargs)
    np.testing.assert_array_equal(again.mu, good.mu)

    # 5. Consistent checksum but shapes that contradict the metadata.
    sidecar = json.load(open(json_path))
    sidecar["num_images"] = 39
    open(json_path, "w").write(json.dumps(sidecar))
    with pytest.warns(UserWarning, match="inconsistent array shapes"):
        ref.reference_stats("toyset", extractor, **kwargs)


def test_moments_only_entry_is_upgraded_without_warning(linear_model, images,
                                                        tmp_path):
    model, _ = linear_model
    extractor = _extractor(model)
    kwargs = dict(image_size=8, cache_dir=str(tmp_path), images=images)
    moments = ref.reference_stats("toyset", extractor, keep_features=False,
                                  **kwargs)
    assert moments.features is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        full = ref.reference_stats("toyset", extractor, **kwargs)
        assert full.features.shape == (40, 6)
        # Now the entry has features; a moments-only request reuses it.
        reused = ref.reference_stats("toyset", extractor,
                                     keep_features=False, **kwargs)
    np.testing.assert_array_equal(reused.mu, moments.mu)


def test_loads_the_dataset_split(linear_model, tmp_path):
    model, weights = linear_model
    from general_tools.data import load_dataset
    stats = ref.reference_stats("mnist_bundled", _extractor(model),
                                split="test", image_size=8, num=150,
                                cache_dir=str(tmp_path), batch_size=64)
    ds = load_dataset("mnist_bundled", split="test", image_size=8,
                      batch_size=150, shuffle=False)
    first = next(iter(ds)).numpy()
    assert stats.num_images == 150
    np.testing.assert_allclose(stats.features,
                               _numpy_features(first, weights),
                               rtol=1e-4, atol=1e-4)
    batches = list(ref.reference_images("mnist_bundled", "test", 8, None,
                                        num=130, batch_size=64))
    assert [len(b) for b in batches] == [64, 64, 2]
    np.testing.assert_array_equal(np.concatenate(batches), first[:130])

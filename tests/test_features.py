"""Tests of general_tools.features: preprocessing against numpy/PIL
references, the frozen-graph loader on a tiny graph with the real tensor
names, and the Keras extractors."""

import hashlib
import pathlib
import tarfile

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from general_tools import features
from general_tools.features import inception_graph


# ------------------------------------------------------------ preprocessing
def _numpy_bilinear(image, out_h, out_w, half_pixel):
    """Bilinear resize of (H, W, C); legacy TF1 or half-pixel sampling."""
    in_h, in_w = image.shape[:2]

    def coords(out_size, in_size):
        scale = in_size / out_size
        dst = np.arange(out_size, dtype=np.float64)
        src = (dst + 0.5) * scale - 0.5 if half_pixel else dst * scale
        src = np.maximum(src, 0.0)
        low = np.minimum(np.floor(src).astype(int), in_size - 1)
        high = np.minimum(low + 1, in_size - 1)
        return low, high, src - low

    y0, y1, fy = coords(out_h, in_h)
    x0, x1, fx = coords(out_w, in_w)
    top = image[y0][:, x0] * (1 - fx)[None, :, None] + \
        image[y0][:, x1] * fx[None, :, None]
    bottom = image[y1][:, x0] * (1 - fx)[None, :, None] + \
        image[y1][:, x1] * fx[None, :, None]
    return top * (1 - fy)[:, None, None] + bottom * fy[:, None, None]


def test_quantisation_to_uint8_levels():
    x = np.array([-1.0, -0.99, -0.3, 0.0, 0.5, 0.999, 1.0, 1.7, -3.0],
                 dtype=np.float32).reshape(1, 1, 9, 1)
    levels = features.to_pixel_levels(x).numpy()
    expected = np.floor(np.clip((x.astype(np.float64) + 1.0) * 127.5, 0, 255)
                        + 0.5)
    np.testing.assert_array_equal(levels, expected)
    assert levels.ravel()[[0, 3, 6, 7, 8]].tolist() == [0, 128, 255, 255, 0]
    out = features.preprocess_images(x, image_size=None, channels=1)
    np.testing.assert_allclose(out.numpy(), expected / 127.5 - 1.0, atol=1e-7)
    raw = features.to_pixel_levels(x, quantize=False).numpy()
    np.testing.assert_allclose(raw.ravel()[:3], (x.ravel()[:3] + 1) * 127.5,
                               rtol=1e-6)
    # Other value ranges and uint8 input.
    unit = features.to_pixel_levels(np.array([[[[0.5]]]], np.float32),
                                    value_range=(0.0, 1.0)).numpy()
    assert unit.item() == 128.0
    u8 = np.arange(0, 256, 51, dtype=np.uint8).reshape(1, 1, 6, 1)
    np.testing.assert_array_equal(features.to_pixel_levels(u8).numpy(), u8)


def test_grayscale_is_repeated_to_three_channels():
    gray = np.array([0, 51, 102, 255], dtype=np.uint8).reshape(1, 2, 2, 1)
    out = features.preprocess_images(gray, image_size=2,
                                     output_scaling="levels").numpy()
    assert out.shape == (1, 2, 2, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], gray[..., 0])


@pytest.mark.parametrize("method,half_pixel",
                         [("tf_bilinear", False), ("tf2_bilinear", True)])
def test_bilinear_resize_matches_numpy(method, half_pixel):
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, (2, 5, 7, 3)).astype(np.float32)
    out = features.resize_images(image, (9, 4), method).numpy()
    for n in range(2):
        np.testing.assert_allclose(
            out[n], _numpy_bilinear(image[n].astype(np.float64), 9, 4,
                                    half_pixel), atol=1e-3)


@pytest.mark.parametrize("method,pil_filter",
                         [("pil_bicubic", Image.Resampling.BICUBIC),
                          ("pil_bilinear", Image.Resampling.BILINEAR)])
def test_pil_resize_matches_pil_per_channel(method, pil_filter):
    rng = np.random.default_rng(1)
    image = rng.uniform(0, 255, (1, 6, 10, 3)).astype(np.float32)
    out = features.resize_images(image, (12, 5), method).numpy()
    assert out.shape == (1, 12, 5, 3)
    for c in range(3):
        direct = Image.fromarray(image[0, :, :, c]).resize((5, 12), pil_filter)
        np.testing.assert_array_equal(out[0, :, :, c], np.asarray(direct))


def test_output_scalings_and_errors():
    levels = np.array([0, 128, 255], dtype=np.uint8).reshape(1, 1, 3, 1)
    expected = {"symmetric": [-1.0, 128 / 127.5 - 1, 1.0],
                "ttur": [-1.0, 0.0, 127 / 128], "unit": [0.0, 128 / 255, 1.0],
                "levels": [0.0, 128.0, 255.0]}
    for scaling, values in expected.items():
        out = features.preprocess_images(levels, image_size=None,
                                         output_scaling=scaling, channels=1)
        np.testing.assert_allclose(out.numpy().ravel(), values, atol=1e-6)
    with pytest.raises(ValueError, match="'none'"):
        features.preprocess_images(levels, image_size=4, resize="none")
    with pytest.raises(ValueError, match="`resize`"):
        features.preprocess_images(levels, resize="lanczos")
    with pytest.raises(ValueError, match="grayscale"):
        features.preprocess_images(np.zeros((1, 2, 2, 3), np.uint8),
                                   image_size=None, channels=1)
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        features.preprocess_images(np.zeros((2, 2, 3), np.uint8))


# -------------------------------------------------------- frozen Inception
_WEIGHTS = np.arange(15, dtype=np.float32).reshape(3, 5) / 10.0


@pytest.fixture
def tiny_graph(tmp_path):
    """A frozen graph with the real tensor names: a fixed batch-1 input
    (like the 2015 graph), `Mul` scaling it, `pool_3` the spatial mean
    (N, 1, 1, 3) and `logits` = pool_3 @ W."""
    graph = tf.Graph()
    with graph.as_default():
        raw = tf.compat.v1.placeholder(tf.float32, [1, 299, 299, 3],
                                       name="ExpandDims")
        mul = tf.multiply(raw, 1.0, name="Mul")
        # Two-stage mean: float32 sums of 299 terms stay accurate to ~1e-7.
        rows = tf.reduce_mean(mul, axis=1, keepdims=True)
        pool = tf.reduce_mean(rows, axis=2, keepdims=True, name="pool_3")
        tf.matmul(tf.reshape(pool, [-1, 3]), tf.constant(_WEIGHTS),
                  name="logits")
    path = tmp_path / inception_graph.INCEPTION_FROZEN_GRAPH
    path.write_bytes(graph.as_graph_def().SerializeToString())
    return path


def _tarball(pb_path, directory):
    pathlib.Path(directory).mkdir(parents=True, exist_ok=True)
    archive = pathlib.Path(directory) / inception_graph.INCEPTION_TARBALL
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(pb_path, arcname=inception_graph.INCEPTION_FROZEN_GRAPH)
    return archive


def test_inception_graph_loader_returns_graph_outputs(tiny_graph, tmp_path):
    rng = np.random.default_rng(2)
    images = rng.uniform(-1, 1, (5, 299, 299, 3)).astype(np.float32)
    means = images.astype(np.float64).mean(axis=(1, 2))
    archive = _tarball(tiny_graph, tmp_path / "archive_dir")
    for path in (tiny_graph, archive):
        extractor = features.InceptionGraphExtractor(
            graph_path=str(path), resize="none", quantize=False)
        out = extractor.extract(images, batch_size=2)  # batches 2, 2, 1
        np.testing.assert_allclose(out["features"], means, atol=1e-5)
        np.testing.assert_allclose(out["logits"], means @ _WEIGHTS, atol=1e-4)
        np.testing.assert_allclose(extractor(images, batch_size=3),
                                   out["features"], atol=1e-7)
    assert extractor.get_config()["graph"] == inception_graph.INCEPTION_TARBALL


def test_inception_graph_default_preprocessing(tiny_graph):
    images = np.full((2, 8, 8, 1), 0.5, dtype=np.float32)
    extractor = features.InceptionGraphExtractor(graph_path=str(tiny_graph))
    # 0.5 -> level floor(191.25 + 0.5) = 191 -> 191 / 127.5 - 1, everywhere.
    # (Without quantisation it would be 0.5, 2e-3 away.)
    np.testing.assert_allclose(extractor(images),
                               np.full((2, 3), 191 / 127.5 - 1), atol=1e-5)


def test_inception_graph_cache_and_download(tiny_graph, tmp_path,
                                            monkeypatch):
    monkeypatch.delenv(inception_graph.CACHE_ENV_VAR, raising=False)
    archive = _tarball(tiny_graph, tmp_path / "server")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    cache = tmp_path / "cache"
    url = archive.as_uri()  # file:// stands in for the network
    with pytest.raises(ValueError, match="SHA-256"):
        inception_graph.find_inception_graph(cache_dir=str(cache), url=url,
                                             sha256="0" * 64)
    assert not list(cache.glob("*"))  # a failed download leaves nothing
    found = inception_graph.find_inception_graph(cache_dir=str(cache),
                                                 url=url, sha256=digest)
    assert pathlib.Path(found) == cache / inception_graph.INCEPTION_TARBALL
    # Cached now: found again without any download.
    assert inception_graph.find_inception_graph(
        cache_dir=str(cache), download=False) == found
    monkeypatch.setenv(inception_graph.CACHE_ENV_VAR, str(cache))
    extractor = features.InceptionGraphExtractor(download=False,
                                                 resize="none")
    assert extractor.graph_path == found


def test_inception_graph_missing_file_errors(tmp_path):
    empty = tmp_path / "empty_cache"
    with pytest.raises(ValueError, match="empty_cache.*graph_path="):
        features.InceptionGraphExtractor(cache_dir=str(empty), download=False)
    with pytest.raises(ValueError, match="does not exist"):
        features.InceptionGraphExtractor(graph_path=str(tmp_path / "no.pb"))
    offline = tmp_path / "offline"
    with pytest.raises(ValueError, match="downloading .* failed"):
        inception_graph.find_inception_graph(
            cache_dir=str(offline), url=(tmp_path / "absent.tgz").as_uri())
    not_an_archive = tmp_path / "page.html"
    not_an_archive.write_text("<html>proxy login</html>")
    with pytest.raises(ValueError, match="not a binary GraphDef"):
        inception_graph.find_inception_graph(
            cache_dir=str(offline), url=not_an_archive.as_uri())
    assert not offline.exists() or not list(offline.glob("*"))
    wrong = tmp_path / "wrong.pb"
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.placeholder(tf.float32, [1, 3], name="Mul")
    wrong.write_bytes(graph.as_graph_def().SerializeToString())
    with pytest.raises(ValueError, match="pool_3"):
        features.InceptionGraphExtractor(graph_path=str(wrong))


# ---------------------------------------------------------- Keras extractors
def _small_classifier():
    inputs = keras.Input((8, 8, 1))
    hidden = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    pooled = keras.layers.GlobalAveragePooling2D(name="pool")(hidden)
    logits = keras.layers.Dense(3, name="logits")(pooled)
    return keras.Model(inputs, logits, name="small")


def test_keras_model_extractor_layers_and_batches():
    model = _small_classifier()
    rng = np.random.default_rng(3)
    images = rng.uniform(-1, 1, (7, 8, 8, 1)).astype(np.float32)
    scaled = np.floor((images + 1.0) * 127.5 + 0.5) / 127.5 - 1.0
    reference = keras.Model(model.input, [model.get_layer("pool").output,
                                           model.output])
    ref_pool, ref_logits = [np.asarray(v) for v in reference(scaled)]

    extractor = features.KerasModelExtractor(model, layer_name="pool",
                                             logits_layer_name="logits")
    assert extractor.image_size == (8, 8) and extractor.channels == 1
    out = extractor.extract(images, batch_size=3)
    np.testing.assert_allclose(out["features"], ref_pool, atol=1e-5)
    np.testing.assert_allclose(out["logits"], ref_logits, atol=1e-5)
    # The whole model, and an iterable of (images, labels) batches.
    whole = features.KerasModelExtractor(model)
    batches = ((images[i:i + 4], np.zeros(4)) for i in range(0, 7, 4))
    np.testing.assert_allclose(whole(batches, batch_size=2), ref_logits,
                               atol=1e-5)
    dataset = tf.data.Dataset.from_tensor_slices(
        {"image": (images + 1.0) * 127.5}).batch(3)  # float in [0, 255]
    np.testing.assert_allclose(
        features.KerasModelExtractor(model, value_range=(0.0, 255.0))(
            dataset), ref_logits, atol=1e-4)
    with pytest.raises(ValueError, match="`layer_name` 'nope'"):
        features.KerasModelExtractor(model, layer_name="nope")
    with pytest.raises(ValueError, match="grayscale"):
        whole(np.zeros((1, 8, 8, 3), np.float32))


def test_keras_inception_extractor_offline():
    extractor = features.KerasInceptionExtractor(weights=None, image_size=75)
    images = np.random.default_rng(4).uniform(
        -1, 1, (3, 20, 20, 1)).astype(np.float32)
    first = extractor(images, batch_size=2)
    assert first.shape == (3, 2048) and first.dtype == np.float32
    # Inference mode: a sample's features do not depend on its batch.
    np.testing.assert_allclose(extractor(images, batch_size=3), first,
                               rtol=1e-4, atol=1e-5)
    assert extractor.get_config()["weights"] == "random"
    with pytest.raises(ValueError, match="missing.weights.h5"):
        features.KerasInceptionExtractor(weights="/no/missing.weights.h5")

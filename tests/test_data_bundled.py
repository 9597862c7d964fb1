"""The bundled MNIST test images: values, labels, splits and the fallback."""

import gzip
import logging
import os

import numpy as np
import pytest

from general_tools.data import (bundled_mnist_dir, holdout_mask,
                                load_dataset, read_bundled_mnist)

LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _raw_mnist():
    """Images and labels parsed here from the gzip files (offsets 16, 8)."""
    folder = bundled_mnist_dir()
    with gzip.open(os.path.join(folder, "t10k-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16)
    with gzip.open(os.path.join(folder, "t10k-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    return images.reshape(10000, 28, 28), labels


def _all(name="mnist_bundled", **kw):
    ds = load_dataset(name, batch_size=2500, shuffle=False, with_labels=True,
                      drop_remainder=False,
                      **kw)
    xs, ys = zip(*ds.as_numpy_iterator())
    return np.concatenate(xs), np.concatenate(ys)


@pytest.fixture(scope="module")
def raw():
    return _raw_mnist()


def test_native_images_and_labels_are_the_files(raw):
    images, labels = raw
    x, y = _all(split="all", image_size="native")
    assert x.shape == (10000, 28, 28, 1) and x.dtype == np.float32
    np.testing.assert_array_equal(x[..., 0], images / np.float32(127.5) - 1)
    np.testing.assert_array_equal(y, labels)
    assert np.bincount(y).tolist() == LABEL_COUNTS
    assert x.min() == -1.0 and x.max() == 1.0
    ri, rl = read_bundled_mnist()
    np.testing.assert_array_equal(ri, images)
    np.testing.assert_array_equal(rl, labels)


def test_default_is_32x32_bilinear_in_range(raw):
    images, labels = raw
    x, y = _all(split="all")
    assert x.shape == (10000, 32, 32, 1)
    assert x.min() >= -1.0 and x.max() <= 1.0
    assert np.bincount(y).tolist() == LABEL_COUNTS
    # 28 -> 32 bilinear with half-pixel centres, written out in numpy.
    src = np.clip((np.arange(32) + 0.5) * 28 / 32 - 0.5, 0, 27)
    i0 = np.floor(src).astype(int)
    i1 = np.minimum(i0 + 1, 27)
    w = src - i0
    sub = images[:50].astype(np.float64)
    rows = sub[:, i0] * (1 - w)[None, :, None] + sub[:, i1] * w[None, :, None]
    ref = rows[:, :, i0] * (1 - w) + rows[:, :, i1] * w
    ref = np.round(ref) / 127.5 - 1
    diff = np.abs(x[:50, ..., 0] - ref)
    assert diff.max() <= 1.01 / 127.5  # rounding of exact .5 ties
    assert np.mean(diff < 1e-6) > 0.99


def test_train_test_split_is_seeded_random(raw):
    images, labels = raw
    x_te, y_te = _all(split="test", image_size="native")
    x_tr, y_tr = _all(split="train", image_size="native")
    assert len(x_te) == 2000 and len(x_tr) == 8000
    mask = holdout_mask(10000, 2000, 2019)
    np.testing.assert_array_equal(y_te, labels[mask])
    np.testing.assert_array_equal(y_tr, labels[~mask])
    np.testing.assert_array_equal(x_te[..., 0],
                                  images[mask] / np.float32(127.5) - 1)
    held = np.flatnonzero(mask)
    # not a slice by index: spread over both halves (SD-3 / SD-1 writers)
    assert 800 < np.sum(held < 5000) < 1200
    assert np.bincount(y_te, minlength=10).min() > 150
    other = holdout_mask(10000, 2000, 1)
    assert 0 < np.sum(other & mask) < 2000


def test_mnist_falls_back_to_bundled_with_one_line_notice(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        ds = load_dataset("mnist", split="test", data_dir=str(tmp_path),
                          download=False, batch_size=500, shuffle=False)
        n = sum(int(b.shape[0]) for b in ds)
    assert n == 2000
    notes = [r.getMessage() for r in caplog.records
             if "bundled" in r.getMessage()]
    assert len(notes) == 1 and "\n" not in notes[0]
    assert "mnist" in notes[0] and "2000 images" in notes[0]
    assert os.listdir(tmp_path) == []  # nothing written into data_dir


def test_missing_bundled_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte.gz"):
        load_dataset("mnist_bundled", data_dir=str(tmp_path))

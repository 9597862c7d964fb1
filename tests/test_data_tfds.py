"""The tensorflow-datasets path, offline through `tfds.testing.mock_data`.

`mock_data` replaces the download and the stored examples with random ones
generated from each builder's real feature spec (so CelebA mocks are
218x178x3, STL-10 96x96x3, LSUN and Flowers of random sizes); everything
else (builder, split handling, decoding, cropping, resizing, hold-out) is
mixgan's real code.
"""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from general_tools.data import get_spec, load_dataset

N = 6  # mocked examples per split


def _all(name, tmp_path, **kw):
    kw.setdefault("shuffle", False)
    ds = load_dataset(name, data_dir=str(tmp_path / "tfds"), download=True,
                      **kw)
    return np.stack(list(ds.as_numpy_iterator()))


@pytest.mark.parametrize("name,shape", [
    ("mnist", (32, 32, 1)), ("fashion_mnist", (32, 32, 1)),
    ("cifar10", (32, 32, 3)), ("stl10", (48, 48, 3)),
    ("celeb_a", (64, 64, 3)), ("lsun/church_outdoor", (64, 64, 3)),
    ("oxford_flowers102", (64, 64, 3)),
])
def test_named_tfds_datasets_load_through_tfds(name, shape, tmp_path):
    pooled = get_spec(name).holdout_size > 0
    with tfds.testing.mock_data(num_examples=N):
        x = _all(name, tmp_path, split="test", batch_size=2,
                 holdout_size=2 if pooled else None)
    assert x.shape == (1 if pooled else N // 2, 2) + shape
    assert x.dtype == np.float32
    assert -1.0 <= x.min() < -0.5 and 0.5 < x.max() <= 1.0


def test_labels_come_from_tfds(tmp_path):
    with tfds.testing.mock_data(num_examples=N):
        raw = [int(e["label"]) for e in tfds.load(
            "cifar10", split="train", data_dir=str(tmp_path / "t"))]
        ds = load_dataset("cifar10", data_dir=str(tmp_path / "t"),
                          download=True, shuffle=False, with_labels=True)
        labels = [int(y) for _, y in ds]
        with pytest.raises(ValueError, match="no class labels"):
            load_dataset("celeb_a", download=True, with_labels=True)
    assert labels == raw


def test_celeb_a_default_crop_is_the_centred_108_square(tmp_path):
    # The mock generates different images when decoding is skipped, as
    # mixgan's reader does, so the reference skips it too.
    with tfds.testing.mock_data(num_examples=2):
        encoded = next(iter(tfds.load(
            "celeb_a", split="train+validation+test",
            data_dir=str(tmp_path / "t"),
            decoders={"image": tfds.decode.SkipDecoding()})))["image"]
        x = _all("celeb_a", tmp_path, split="all", image_size=108)
    raw = tf.io.decode_png(encoded).numpy()
    assert raw.shape == (218, 178, 3)
    np.testing.assert_allclose(x[0], raw[55:163, 35:143] / 127.5 - 1,
                               atol=1e-6)


def test_pooled_holdout_is_disjoint_and_complete(tmp_path):
    with tfds.testing.mock_data(num_examples=12):
        kw = dict(image_size=8, holdout_size=4, data_seed=3)
        test = _all("lsun/church_outdoor", tmp_path, split="test", **kw)
        train = _all("lsun/church_outdoor", tmp_path, split="train", **kw)
        every = _all("lsun/church_outdoor", tmp_path, split="all", **kw)
    keys = lambda a: {b.tobytes() for b in a}  # noqa: E731
    assert len(test) == 4 and len(train) == 8 and len(keys(every)) == 12
    assert keys(test) | keys(train) == keys(every)
    assert not keys(test) & keys(train)


def test_generic_tfds_prefix_and_unknown_builder(tmp_path):
    with tfds.testing.mock_data(num_examples=N):
        x = _all("tfds:cifar100", tmp_path, split="train")
    assert x.shape == (N, 32, 32, 3)  # native size for generic sources
    with pytest.raises(ValueError, match="no dataset 'not_a_dataset'"):
        load_dataset("tfds:not_a_dataset")

"""Pipeline stages: determinism, batching, repeat, caching, hold-out mask,
crop windows."""

import numpy as np
import pytest
import tensorflow as tf

from general_tools.data import holdout_mask, load_dataset
from general_tools.data.pipeline import crop_window


@pytest.fixture
def npz(tmp_path, rng):
    images = rng.integers(0, 256, (50, 4, 4, 1), dtype=np.uint8)
    images[:, 0, 0, 0] = np.arange(50)  # pixel (0, 0) identifies the image
    path = tmp_path / "d.npz"
    np.savez(path, images=images, labels=np.arange(50) % 7)
    return f"npz:{path}", images


def _ids(batches):
    """Image ids (pixel (0, 0) back in 0..255) of a list of batches."""
    return [np.rint((b[:, 0, 0, 0] + 1) * 127.5).astype(int).tolist()
            for b in batches]


def test_same_seed_same_order_across_pipelines(npz):
    name, _ = npz
    kw = dict(batch_size=8, seed=3, deterministic=True, repeat=True)
    a = _ids(load_dataset(name, **kw).take(14).as_numpy_iterator())
    b = _ids(load_dataset(name, **kw).take(14).as_numpy_iterator())
    c = _ids(load_dataset(name, **{**kw, "seed": 4}).take(14)
             .as_numpy_iterator())
    assert a == b and a != c
    flat = sum(a, [])
    # each epoch of 50 is a permutation, and epochs are reshuffled
    assert sorted(flat[:50]) == list(range(50))
    assert sorted(flat[50:100]) == list(range(50))
    assert flat[:50] != flat[50:100]
    assert flat[:50] != list(range(50))


def test_unshuffled_keeps_order_and_batches(npz):
    name, images = npz
    ds = load_dataset(name, batch_size=16, shuffle=False)
    assert int(ds.cardinality()) == 3
    ids = _ids(ds.as_numpy_iterator())
    assert ids == [list(range(0, 16)), list(range(16, 32)),
                   list(range(32, 48))]
    ds = load_dataset(name, batch_size=16, shuffle=False,
                      drop_remainder=False, with_labels=True)
    batches = list(ds.as_numpy_iterator())
    assert [len(x) for x, _ in batches] == [16, 16, 16, 2]
    assert batches[-1][1].tolist() == [48 % 7, 49 % 7]
    x = np.concatenate([x for x, _ in batches])
    np.testing.assert_allclose(x, images / 127.5 - 1, atol=1e-6)


@pytest.mark.parametrize("cache", [False, True, "file"])
def test_cache_modes_give_the_same_data(npz, tmp_path, cache):
    name, images = npz
    if cache == "file":
        cache = str(tmp_path / "cachefile")
    ds = load_dataset(name, batch_size=25, shuffle=False, cache=cache)
    for _ in range(2):  # second pass reads the cache
        x = np.concatenate(list(ds.as_numpy_iterator()))
        np.testing.assert_allclose(x, images / 127.5 - 1, atol=1e-6)


def test_argument_errors(npz):
    name, _ = npz
    with pytest.raises(ValueError, match="needs an integer `seed`"):
        load_dataset(name, deterministic=True)
    with pytest.raises(ValueError, match="batch_size=0"):
        load_dataset(name, batch_size=0)
    with pytest.raises(ValueError, match="cache=3"):
        load_dataset(name, cache=3)
    with pytest.raises(ValueError, match="channels=2"):
        load_dataset(name, channels=2)
    with pytest.raises(ValueError, match="crop_size.*does not fit"):
        load_dataset(name, crop_size=5)


def test_batch_larger_than_the_data_is_named(npz):
    """Without repeat it would give zero batches, silently."""
    name, _ = npz
    with pytest.raises(ValueError, match=r"`batch_size` 64 is larger than "
                                         r"the 50 examples of npz file .*"
                                         r"d.npz.* no batch would be made"):
        load_dataset(name, batch_size=64)
    with pytest.raises(ValueError, match=r"larger than the 10 examples .*"
                                         r"\[test: 10 of 50"):
        load_dataset(name, batch_size=20, split="test", holdout_size=10)
    # Every way out works: a repeat, a last smaller batch, or 50 exactly.
    assert next(iter(load_dataset(name, batch_size=64, repeat=True))
                ).shape == (64, 4, 4, 1)
    assert [len(b) for b in load_dataset(name, batch_size=64,
                                         drop_remainder=False)] == [50]
    assert len(list(load_dataset(name, batch_size=50))) == 1


def test_holdout_mask_is_exact_and_seeded():
    m = holdout_mask(1000, 100, 7)
    assert m.dtype == bool and m.sum() == 100
    ref = np.zeros(1000, bool)
    ref[np.random.default_rng(7).permutation(1000)[:100]] = True
    np.testing.assert_array_equal(m, ref)
    assert not np.array_equal(m, holdout_mask(1000, 100, 8))
    with pytest.raises(ValueError, match="holdout_size=1000"):
        holdout_mask(1000, 1000, 0)


@pytest.mark.parametrize("hw,size,expected", [
    ((218, 178), (64, 64), (178, 178)),
    ((100, 300), (64, 64), (100, 100)),
    ((28, 28), (32, 32), (28, 28)),
    ((120, 160), (30, 60), (80, 160)),
])
def test_crop_window_keeps_target_aspect(hw, size, expected):
    assert crop_window(hw[0], hw[1], size, None) == expected
    t = crop_window(tf.constant(hw[0]), tf.constant(hw[1]), size, None)
    assert (int(t[0]), int(t[1])) == expected

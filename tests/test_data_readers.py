"""Generic readers (image folder, IDX, npz, TFRecord) on files written here,
including broken ones, and the preparation script."""

import gzip
import importlib.util
import os
import struct

import numpy as np
import pytest
from PIL import Image

from general_tools.data import (available_datasets, load_dataset, read_idx,
                                write_idx)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load_all(name, **kw):
    """All examples (unbatched, unshuffled) as numpy arrays."""
    kw.setdefault("shuffle", False)
    ds = load_dataset(name, **kw)
    items = list(ds.as_numpy_iterator())
    if kw.get("with_labels"):
        return (np.stack([x for x, _ in items]),
                np.array([y for _, y in items]))
    return np.stack(items)


def _bilinear_ref(image, out_h, out_w):
    """numpy bilinear upsampling with half-pixel centres (edges clamped)."""
    def axis(n_in, n_out):
        src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0,
                      n_in - 1)
        i0 = np.floor(src).astype(int)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, src - i0
    r0, r1, wr = axis(image.shape[0], out_h)
    c0, c1, wc = axis(image.shape[1], out_w)
    x = image.astype(np.float64)
    rows = x[r0] * (1 - wr)[:, None, None] + x[r1] * wr[:, None, None]
    return rows[:, c0] * (1 - wc)[None, :, None] + rows[:, c1] * wc[None, :,
                                                                    None]


@pytest.fixture
def folder(tmp_path, rng):
    """Two class folders of RGB PNGs (8x10) and the arrays written."""
    arrays = {}
    for cls in ("cat", "dog"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(3):
            a = rng.integers(0, 256, (8, 10, 3), dtype=np.uint8)
            path = tmp_path / "imgs" / cls / f"{i}.png"
            Image.fromarray(a).save(path)
            arrays[str(path)] = (a, 0 if cls == "cat" else 1)
    (tmp_path / "imgs" / "notes.txt").write_text("ignored")
    return tmp_path / "imgs", arrays


# --------------------------------------------------------------- image folder
def test_image_folder_exact_values_and_labels(folder):
    path, arrays = folder
    x, y = _load_all(f"image_folder:{path}", with_labels=True)
    expected = [arrays[k] for k in sorted(arrays)]  # sorted path order
    ref = np.stack([a for a, _ in expected]).astype(np.float32) / 127.5 - 1
    assert x.dtype == np.float32 and x.shape == (6, 8, 10, 3)
    np.testing.assert_allclose(x, ref, atol=1e-6)
    np.testing.assert_array_equal(y, [lab for _, lab in expected])


def test_image_folder_upsampling_matches_numpy_bilinear(tmp_path, rng):
    a = rng.integers(0, 256, (3, 4, 3), dtype=np.uint8)
    (tmp_path / "one").mkdir()
    Image.fromarray(a).save(tmp_path / "one" / "a.png")
    x = _load_all(f"image_folder:{tmp_path / 'one'}", image_size=(6, 8))[0]
    ref = np.round(_bilinear_ref(a, 6, 8)) / 127.5 - 1
    np.testing.assert_allclose(x, ref, atol=1.01 / 127.5)  # rounding ties
    assert np.mean(np.abs(x - ref) < 1e-6) > 0.95


def test_image_folder_centre_crop_is_exact_slice(tmp_path, rng):
    a = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
    (tmp_path / "one").mkdir()
    Image.fromarray(a).save(tmp_path / "one" / "a.png")
    name = f"image_folder:{tmp_path / 'one'}"
    x = _load_all(name, image_size=(4, 6), crop_size=(4, 6))[0]
    np.testing.assert_allclose(x, a[4:8, 5:11] / 127.5 - 1, atol=1e-6)
    # crop_size "auto" with a square target: the centred 12x12 square.
    x = _load_all(name, image_size=12)[0]
    np.testing.assert_allclose(x, a[:, 2:14] / 127.5 - 1, atol=1e-6)


def test_image_folder_jpeg_and_channel_conversion(tmp_path, rng):
    (tmp_path / "f").mkdir()
    grey = np.tile(np.linspace(0, 255, 16, dtype=np.uint8), (16, 1))
    Image.fromarray(grey, mode="L").save(tmp_path / "f" / "a.jpg",
                                         quality=95)
    x = _load_all(f"image_folder:{tmp_path / 'f'}", channels=3)
    assert x.shape == (1, 16, 16, 3)
    np.testing.assert_array_equal(x[..., 0], x[..., 2])  # grey replicated
    np.testing.assert_allclose(x[0, ..., 0], grey / 127.5 - 1, atol=0.05)


def test_image_folder_holdout_is_seeded_and_disjoint(folder):
    path, _ = folder
    name = f"image_folder:{path}"
    test = _load_all(name, split="test", holdout_size=2)
    train = _load_all(name, split="train", holdout_size=2)
    every = _load_all(name, split="all")
    keys = lambda a: {b.tobytes() for b in a}  # noqa: E731
    assert len(test) == 2 and len(train) == 4
    assert keys(test) | keys(train) == keys(every)
    assert not keys(test) & keys(train)
    again = _load_all(name, split="test", holdout_size=2)
    np.testing.assert_array_equal(test, again)


def test_image_folder_writes_nothing(folder):
    path, _ = folder
    before = sorted((p, os.path.getmtime(os.path.join(d, p)))
                    for d, _, fs in os.walk(path) for p in fs)
    _load_all(f"image_folder:{path}", image_size=4, cache=True)
    after = sorted((p, os.path.getmtime(os.path.join(d, p)))
                   for d, _, fs in os.walk(path) for p in fs)
    assert before == after


def test_image_folder_missing_and_empty(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.*does not exist"):
        load_dataset(f"image_folder:{tmp_path / 'nowhere'}")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.md").write_text("x")
    with pytest.raises(ValueError, match="empty.*no image files"):
        load_dataset(f"image_folder:{tmp_path / 'empty'}")


@pytest.mark.parametrize("damage", ["garbage", "empty", "png_cut",
                                    "jpeg_cut"])
def test_image_folder_corrupt_files_are_named(tmp_path, rng, damage):
    d = tmp_path / "f"
    d.mkdir()
    a = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    Image.fromarray(a).save(d / "good.png")
    if damage == "garbage":
        bad = d / "bad.png"
        bad.write_bytes(rng.integers(0, 256, 300, dtype=np.uint8).tobytes())
        pattern = "bad.png.*cannot be read"
    elif damage == "empty":
        bad = d / "bad.jpg"
        bad.write_bytes(b"")
        pattern = "bad.jpg.*empty"
    elif damage == "png_cut":
        bad = d / "bad.png"
        Image.fromarray(a).save(bad)
        bad.write_bytes(bad.read_bytes()[:-20])
        pattern = "bad.png.*truncated"
    else:
        bad = d / "bad.jpg"
        Image.fromarray(a).save(bad, quality=90)
        bad.write_bytes(bad.read_bytes()[:-100])
        pattern = "bad.jpg.*truncated"
    with pytest.raises(ValueError, match=pattern):
        load_dataset(f"image_folder:{d}")


def test_image_folder_full_verify_finds_inner_damage(tmp_path, rng):
    d = tmp_path / "f"
    d.mkdir()
    a = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    Image.fromarray(a).save(d / "x.png")
    data = bytearray((d / "x.png").read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the IDAT chunk: CRC mismatch
    (d / "x.png").write_bytes(bytes(data))
    load_dataset(f"image_folder:{d}")  # header check cannot see it
    with pytest.raises(ValueError, match="x.png.*cannot be read"):
        load_dataset(f"image_folder:{d}", verify="full")


def test_image_folder_mixed_sizes_and_channels(tmp_path, rng):
    d = tmp_path / "f"
    d.mkdir()
    Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(
        d / "a.png")
    Image.fromarray(rng.integers(0, 256, (8, 9, 3), dtype=np.uint8)).save(
        d / "b.png")
    with pytest.raises(ValueError, match="mixed sizes.*a.png.*8x8.*b.png.*"
                                         "8x9"):
        load_dataset(f"image_folder:{d}")
    x = _load_all(f"image_folder:{d}", image_size=4)
    assert x.shape == (2, 4, 4, 3)
    Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(
        d / "c.png")
    with pytest.raises(ValueError, match="mixed channels.*c.png.*1"):
        load_dataset(f"image_folder:{d}", image_size=4)
    assert _load_all(f"image_folder:{d}", image_size=4,
                     channels=3).shape == (3, 4, 4, 3)


# ------------------------------------------------------------------------ IDX
def _idx_bytes(array):
    """IDX bytes built independently of `write_idx` (uint8 only)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        struct.pack(">i", s) for s in array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def idx_files(tmp_path, rng):
    images = rng.integers(0, 256, (7, 5, 4), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5, 9, 2], np.uint8)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(
        gzip.compress(_idx_bytes(images)))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_idx_bytes(labels))
    return tmp_path, images, labels


def test_idx_gzip_and_raw(idx_files):
    path, images, labels = idx_files
    np.testing.assert_array_equal(
        read_idx(path / "t10k-images-idx3-ubyte.gz"), images)
    np.testing.assert_array_equal(read_idx(path / "t10k-labels-idx1-ubyte"),
                                  labels)
    ints = np.arange(-6, 6, dtype=np.int32).reshape(3, 4)
    write_idx(path / "ints.idx", ints)
    np.testing.assert_array_equal(read_idx(path / "ints.idx"), ints)
    with pytest.raises(FileExistsError):
        write_idx(path / "ints.idx", ints)


def test_idx_source_with_labels(idx_files):
    path, images, labels = idx_files
    # labels are found for the .gz image file even though they are raw
    x, y = _load_all(f"idx:{path / 't10k-images-idx3-ubyte.gz'}",
                     image_size="native", with_labels=True)
    np.testing.assert_allclose(x[..., 0], images / 127.5 - 1, atol=1e-6)
    np.testing.assert_array_equal(y, labels)
    x = _load_all(f"idx:{path}", image_size="native")  # folder, one file
    assert x.shape == (7, 5, 4, 1)


def test_idx_folder_train_and_test(tmp_path, rng):
    tr = rng.integers(0, 256, (4, 3, 3), dtype=np.uint8)
    te = rng.integers(0, 256, (2, 3, 3), dtype=np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", tr)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", te)
    got = _load_all(f"idx:{tmp_path}", split="test", image_size="native")
    np.testing.assert_allclose(got[..., 0], te / 127.5 - 1, atol=1e-6)
    assert len(_load_all(f"idx:{tmp_path}", image_size="native")) == 4
    both = _load_all(f"idx:{tmp_path}", split="all", image_size="native")
    np.testing.assert_allclose(both[..., 0],
                               np.concatenate([tr, te]) / 127.5 - 1,
                               atol=1e-6)


@pytest.mark.parametrize("damage,pattern", [
    ("cut_gzip", "corrupt or truncated gzip"),
    ("cut_raw", r"truncated: shape \(7, 5, 4\).*needs 140.*found 100"),
    ("magic", "not an IDX file"),
    ("extra", "12 unexpected bytes"),
])
def test_idx_damage_is_named(idx_files, damage, pattern):
    path, images, _ = idx_files
    bad = path / "bad-images-idx3-ubyte"
    raw = _idx_bytes(images)
    data = {"cut_gzip": gzip.compress(raw)[:-30],
            "cut_raw": raw[:-40],
            "magic": b"\x08\x03" + raw[2:],
            "extra": raw + bytes(12)}[damage]
    bad.write_bytes(data)
    with pytest.raises(ValueError, match="bad-images-idx3-ubyte.*" + pattern):
        load_dataset(f"idx:{bad}")


def test_idx_label_problems(idx_files):
    path, images, _ = idx_files
    (path / "x-images-idx3-ubyte").write_bytes(_idx_bytes(images))
    with pytest.raises(FileNotFoundError, match="x-labels-idx1-ubyte"):
        load_dataset(f"idx:{path / 'x-images-idx3-ubyte'}", with_labels=True)
    (path / "x-labels-idx1-ubyte").write_bytes(
        _idx_bytes(np.zeros(5, np.uint8)))
    with pytest.raises(ValueError, match="x-labels-idx1-ubyte.*7 integers"):
        load_dataset(f"idx:{path / 'x-images-idx3-ubyte'}")


# ------------------------------------------------------------------------ npz
def test_npz_keras_layout_and_pool(tmp_path, rng):
    x_tr = rng.integers(0, 256, (5, 4, 4), dtype=np.uint8)
    x_te = rng.integers(0, 256, (3, 4, 4), dtype=np.uint8)
    np.savez(tmp_path / "k.npz", x_train=x_tr, y_train=np.arange(5),
             x_test=x_te, y_test=np.arange(3))
    x, y = _load_all(f"npz:{tmp_path / 'k.npz'}", split="test",
                     image_size="native", with_labels=True)
    np.testing.assert_allclose(x[..., 0], x_te / 127.5 - 1, atol=1e-6)
    np.testing.assert_array_equal(y, [0, 1, 2])
    _, y = _load_all(f"npz:{tmp_path / 'k.npz'}", split="all",
                     with_labels=True)
    np.testing.assert_array_equal(y, [0, 1, 2, 3, 4, 0, 1, 2])
    rgb = rng.integers(0, 256, (6, 2, 2, 3), dtype=np.uint8)
    np.savez(tmp_path / "p.npz", images=rgb)
    got = _load_all(f"npz:{tmp_path / 'p.npz'}", split="test",
                    holdout_size=2)
    assert got.shape == (2, 2, 2, 3)
    x = _load_all(f"npz:{tmp_path / 'p.npz'}",
                  source_options={"image_key": "images"})
    np.testing.assert_allclose(x, rgb / 127.5 - 1, atol=1e-6)


def test_npz_errors(tmp_path):
    np.savez(tmp_path / "f.npz", images=np.zeros((2, 4, 4), np.float32))
    with pytest.raises(ValueError, match="f.npz.*must be uint8"):
        load_dataset(f"npz:{tmp_path / 'f.npz'}")
    np.savez(tmp_path / "k.npz", a=np.zeros(3), b=np.zeros(3))
    with pytest.raises(ValueError, match=r"k.npz.*keys \['a', 'b'\]"):
        load_dataset(f"npz:{tmp_path / 'k.npz'}")
    np.save(tmp_path / "a.npy", np.zeros((3, 4, 4), np.uint8))
    with pytest.raises(ValueError, match=r"a.npy' is a single .npy array of "
                                         r"shape \(3, 4, 4\), not an .npz"):
        load_dataset(f"npz:{tmp_path / 'a.npy'}")
    (tmp_path / "c.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match="c.npz.*corrupt"):
        load_dataset(f"npz:{tmp_path / 'c.npz'}")
    np.savez(tmp_path / "p.npz", images=np.zeros((2, 4, 4), np.uint8))
    with pytest.raises(ValueError, match="no test split.*holdout_size"):
        load_dataset(f"npz:{tmp_path / 'p.npz'}", split="test")
    with pytest.raises(ValueError, match="source_options.*colour"):
        load_dataset(f"npz:{tmp_path / 'p.npz'}",
                     source_options={"colour": 1})


# ------------------------------------------------------- TFRecord + prepare
def _prepare_module():
    spec = importlib.util.spec_from_file_location(
        "prepare_image_folder",
        os.path.join(ROOT, "datasets", "prepare_image_folder.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def prepared(tmp_path, rng):
    src = tmp_path / "src"
    for cls in ("a", "b"):
        (src / cls).mkdir(parents=True)
        for i in range(5):
            shape = (20, 30, 3) if i % 2 else (30, 20, 3)
            Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(
                src / cls / f"{i}.png")
    out = tmp_path / "out"
    prep = _prepare_module()
    prep.main(["--input_dir", str(src), "--output_dir", str(out),
               "--image_size", "8", "--crop_size", "16", "--holdout", "3",
               "--shard_size", "3", "--seed", "7"])
    return prep, src, out


def test_prepared_shards_equal_folder_pipeline(prepared):
    _, src, out = prepared
    assert sorted(os.listdir(out)) == [
        "dataset_info.json", "prepare_manifest.json",
        "test-00000-of-00001.tfrecord",
        "train-00000-of-00003.tfrecord", "train-00001-of-00003.tfrecord",
        "train-00002-of-00003.tfrecord"]
    for split, n in (("train", 7), ("test", 3)):
        x, y = _load_all(f"tfrecord:{out}", split=split, with_labels=True)
        fx, fy = _load_all(f"image_folder:{src}", split=split, image_size=8,
                           crop_size=16, holdout_size=3, data_seed=7,
                           with_labels=True)
        assert x.shape == (n, 8, 8, 3)
        as_set = lambda xs, ys: sorted(  # noqa: E731
            (a.tobytes(), int(b)) for a, b in zip(xs, ys))
        assert as_set(x, y) == as_set(fx, fy)


def test_prepare_never_overwrites_without_flag(prepared):
    prep, src, out = prepared
    listing = sorted(os.listdir(src / "a")) + sorted(os.listdir(src / "b"))
    before = (out / "test-00000-of-00001.tfrecord").read_bytes()
    args = ["--input_dir", str(src), "--output_dir", str(out),
            "--image_size", "4", "--holdout", "2"]
    with pytest.raises(FileExistsError, match="--overwrite"):
        prep.main(args)
    assert (out / "test-00000-of-00001.tfrecord").read_bytes() == before
    prep.main(args + ["--overwrite"])
    assert _load_all(f"tfrecord:{out}", split="test").shape == (2, 4, 4, 3)
    assert not (out / "train-00002-of-00003.tfrecord").exists()
    assert sorted(os.listdir(src / "a")) + sorted(
        os.listdir(src / "b")) == listing
    with pytest.raises(ValueError, match="inside --input_dir"):
        prep.main(["--input_dir", str(src), "--output_dir",
                   str(src / "a" / "x")])


def test_tfrecord_truncated_or_foreign_files_are_named(prepared, tmp_path):
    _, _, out = prepared
    shard = out / "train-00001-of-00003.tfrecord"
    shard.write_bytes(shard.read_bytes()[:-7])
    with pytest.raises(ValueError, match="train-00001-of-00003.tfrecord.*"
                                         "truncated"):
        load_dataset(f"tfrecord:{out}")
    (tmp_path / "junk.tfrecord").write_bytes(os.urandom(64))
    with pytest.raises(ValueError, match="junk.tfrecord.*truncated or not a "
                                         "TFRecord"):
        load_dataset(f"tfrecord:{tmp_path / 'junk.tfrecord'}")
    with pytest.raises(ValueError, match="no TFRecord shards for split "
                                         "'valid'"):
        load_dataset(f"tfrecord:{out}", split="valid")


def test_ut_zap50k_reads_a_folder_or_prepared_shards(prepared):
    _, src, out = prepared
    x = _load_all("ut_zap50k", data_dir=str(src), split="test",
                  holdout_size=3, data_seed=7)
    assert x.shape == (3, 64, 64, 3)  # 20x30 / 30x20 -> square 20 -> 64
    y = _load_all("ut_zap50k", data_dir=str(out), split="test", image_size=8)
    ref = _load_all(f"image_folder:{src}", split="test", holdout_size=3,
                    data_seed=7, image_size=8, crop_size=16)
    assert sorted(a.tobytes() for a in y) == sorted(a.tobytes() for a in ref)


# ---------------------------------------------------------------- dispatch
def test_unknown_names_are_refused(tmp_path):
    assert "lsun/church_outdoor" in available_datasets()
    assert "celeb_a" in available_datasets(verbose=True)
    with pytest.raises(ValueError, match="Unknown dataset 'mnsit'.*mnist"):
        load_dataset("mnsit")
    with pytest.raises(ValueError, match="needs a path"):
        load_dataset("image_folder:")
    with pytest.raises(ValueError, match="ut_zap50k.*data_dir"):
        load_dataset("ut_zap50k")
    with pytest.raises(ValueError, match="image_size"):
        load_dataset("mnist_bundled", image_size=(0, 3))

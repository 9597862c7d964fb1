"""Image files damaged in their middle (bytes flipped, image data cut short
behind valid CRCs), written here: `verify='full'` finds them with
TensorFlow's decoder, and the default header check lets them through but
training then names the file when it reaches it."""

import importlib.util
import io
import os
import struct
import zlib

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from general_tools.data import image_decode, load_dataset

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _png_bytes(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _chunks(png):
    """`[(type, data)]` of a PNG's chunks."""
    found, pos = [], 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        found.append((png[pos + 4:pos + 8], png[pos + 8:pos + 8 + length]))
        pos += 12 + length
    return found


def _assemble(chunks):
    out = b"\x89PNG\r\n\x1a\n"
    for kind, data in chunks:
        out += (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    return out


def _short_data_png(array):
    """A PNG whose image data holds only half the rows, with valid CRCs and
    an IEND: Pillow's full load accepts it (filling the missing rows),
    TensorFlow's decoder does not."""
    chunks = _chunks(_png_bytes(array))
    raw = zlib.decompress(b"".join(d for k, d in chunks if k == b"IDAT"))
    idat = zlib.compress(raw[:len(raw) // 2])
    return _assemble([chunks[0], (b"IDAT", idat), (b"IEND", b"")])


def _flipped_png(array):
    """A PNG with one byte of its image data flipped (CRC mismatch)."""
    data = bytearray(_png_bytes(array))
    data[len(data) // 2] ^= 0xFF
    return bytes(data)


@pytest.fixture
def folder(tmp_path, rng):
    """Five good 16x16 RGB PNGs, 0.png .. 4.png."""
    d = tmp_path / "imgs"
    d.mkdir()
    for i in range(5):
        (d / f"{i}.png").write_bytes(_png_bytes(
            rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)))
    return d


def _iterate(name, **kw):
    return list(load_dataset(name, shuffle=False, **kw).as_numpy_iterator())


def test_short_image_data_passes_pillow_but_not_full_verify(folder, rng):
    bad = folder / "2.png"
    bad.write_bytes(_short_data_png(
        rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)))
    with Image.open(bad) as img:
        img.load()  # Pillow alone would pass it
    with pytest.raises(ValueError, match=r"2.png' cannot be read as an image "
                                         r"by TensorFlow's decoder.*"
                                         r"Invalid PNG data"):
        load_dataset(f"image_folder:{folder}", verify="full")


def test_full_verify_names_every_failing_file_count(folder, rng):
    for name in ("1.png", "3.png"):
        (folder / name).write_bytes(_flipped_png(
            rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)))
    with pytest.raises(ValueError, match=r"1.png' cannot be read .* \(2 files "
                                         r"fail in all; the next is .*3.png"):
        load_dataset(f"image_folder:{folder}", verify="full")


def test_full_verify_takes_tensorflows_shapes(folder):
    assert _iterate(f"image_folder:{folder}", verify="full",
                    batch_size=5)[0].shape == (5, 16, 16, 3)


@pytest.mark.parametrize("damaged", ["0.png", "2.png", "4.png"])
@pytest.mark.parametrize("verify", ["header", "none"])
def test_damage_inside_a_file_is_named_during_iteration(folder, rng,
                                                        damaged, verify):
    """First, middle and last file: the error names the damaged one."""
    make = _short_data_png if damaged == "2.png" else _flipped_png
    (folder / damaged).write_bytes(make(
        rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)))
    ds = load_dataset(f"image_folder:{folder}", verify=verify, shuffle=False,
                      batch_size=2, drop_remainder=False, channels=3,
                      image_size=16)
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=rf"Image file \S*{damaged} cannot be "
                             r"decoded by TensorFlow"):
        list(ds.as_numpy_iterator())


def test_named_decoding_keeps_order_and_values(folder, rng):
    paths = sorted(str(p) for p in folder.iterdir())
    ds = image_decode.decoded_files(paths, [0, 1, 2, 3, 4], 3, (16, 16, 3))
    got = list(ds.as_numpy_iterator())
    assert [int(label) for _, label in got] == [0, 1, 2, 3, 4]
    for (image, _), path in zip(got, paths):
        np.testing.assert_array_equal(image, np.asarray(Image.open(path)))


def test_prepare_names_a_file_damaged_inside(folder, rng, tmp_path):
    spec = importlib.util.spec_from_file_location(
        "prepare_image_folder",
        os.path.join(ROOT, "datasets", "prepare_image_folder.py"))
    prep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(prep)
    (folder / "3.png").write_bytes(_flipped_png(
        rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)))
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=r"Image file \S*3.png cannot be "
                                         r"decoded"):
        prep.main(["--input_dir", str(folder), "--output_dir", str(out),
                   "--image_size", "8", "--holdout", "1"])

"""TFRecord shards are checked record by record before training: damaged
shards (bytes flipped or cut, foreign records, wrong sizes and shapes) and
bad `dataset_info.json` files, all written here, fail up front with the
file, the record index and the problem named."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from general_tools.data import load_dataset, tfrecord_check
from general_tools.data.tfrecord_format import encode_example

SHARD = "train-00000-of-00001.tfrecord"


def _image(rng, shape=(8, 8, 1)):
    return rng.integers(0, 256, shape, dtype=np.uint8)


def _raw_example(image_bytes, h, w, c, label=-1):
    """A `tf.train.Example` with any byte count and shape features."""
    def i64(v):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[v]))
    feature = {"image": tf.train.Feature(
        bytes_list=tf.train.BytesList(value=[image_bytes])),
        "height": i64(h), "width": i64(w), "channels": i64(c),
        "label": i64(label)}
    return tf.train.Example(features=tf.train.Features(
        feature=feature)).SerializeToString()


def _write(folder, records, shape=(8, 8, 1), num_classes=None, name=SHARD,
           info=True):
    """Writes `records` (bytes) as one shard of `folder` (plus a
    `dataset_info.json` like prepare_image_folder.py's); returns the
    shard's path."""
    folder.mkdir(exist_ok=True)
    path = folder / name
    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in records:
            writer.write(record)
    if info:
        (folder / "dataset_info.json").write_text(json.dumps({
            "format": "mixgan-image-tfrecord", "version": 1,
            "image_shape": list(shape), "num_classes": num_classes,
            "splits": {"train": {"num_examples": len(records),
                                 "shards": [name]}}}))
    return str(path)


def _good(rng, n=8, shape=(8, 8, 1), label=-1):
    return [encode_example(_image(rng, shape), label) for _ in range(n)]


def test_clean_shards_load(tmp_path, rng):
    records = _good(rng, 10, label=2)
    _write(tmp_path / "d", records, num_classes=3)
    x, y = next(iter(load_dataset(f"tfrecord:{tmp_path / 'd'}",
                                  batch_size=10, shuffle=False,
                                  with_labels=True)))
    assert x.shape == (10, 8, 8, 1) and set(y.numpy()) == {2}


def test_a_later_record_that_is_not_an_example(tmp_path, rng):
    records = _good(rng)
    records[5] = b"\x0a\xff\xff\xff not an Example at all"
    _write(tmp_path / "d", records)
    with pytest.raises(ValueError, match=rf"{SHARD}', record 5: it is not a "
                                         r"tf.train.Example"):
        load_dataset(f"tfrecord:{tmp_path / 'd'}")


def test_a_later_record_without_the_image_features(tmp_path, rng):
    records = _good(rng)
    records[6] = tf.train.Example().SerializeToString()
    _write(tmp_path / "d", records)
    with pytest.raises(ValueError, match=rf"{SHARD}', record 6: it lacks the "
                                         r"feature\(s\) \['image', 'height'"):
        load_dataset(f"tfrecord:{tmp_path / 'd'}")


def test_a_later_record_of_another_byte_count(tmp_path, rng):
    records = _good(rng)
    records[4] = _raw_example(bytes(60), 8, 8, 1)
    _write(tmp_path / "d", records)
    with pytest.raises(ValueError, match=rf"{SHARD}', record 4: its image has "
                                         r"60 bytes, not .* = 8x8x1 = 64"):
        load_dataset(f"tfrecord:{tmp_path / 'd'}")


def test_a_later_record_of_another_shape_but_same_byte_count(tmp_path, rng):
    """4x16x1 among 8x8x1 would otherwise decode as a scrambled 8x8."""
    records = _good(rng)
    records[7] = encode_example(_image(rng, (4, 16, 1)))
    _write(tmp_path / "d", records)
    with pytest.raises(ValueError, match=rf"{SHARD}', record 7: its shape is "
                                         r"4x16x1, not the 8x8x1 of .*"
                                         r"dataset_info.json"):
        load_dataset(f"tfrecord:{tmp_path / 'd'}")
    # Without dataset_info.json the pool has mixed sizes: every record is
    # decoded with its own shape, and batching them needs a resize.
    os.remove(tmp_path / "d" / "dataset_info.json")
    with pytest.raises(ValueError, match="vary in size"):
        load_dataset(f"tfrecord:{tmp_path / 'd' / SHARD}")
    x = np.stack(list(load_dataset(f"tfrecord:{tmp_path / 'd' / SHARD}",
                                   image_size=4, crop_size=4,
                                   shuffle=False).as_numpy_iterator()))
    image = tf.train.Example.FromString(records[7]).features.feature[
        "image"].bytes_list.value[0]
    wide = np.frombuffer(image, np.uint8).reshape(4, 16, 1)
    np.testing.assert_allclose(x[7], wide[:, 6:10] / 127.5 - 1, atol=1e-6)


def test_info_shape_that_disagrees_with_every_record(tmp_path, rng):
    _write(tmp_path / "d", _good(rng, shape=(10, 10, 1)), shape=(8, 8, 1))
    with pytest.raises(ValueError, match=rf"{SHARD}', record 0: its shape is "
                                         r"10x10x1, not the 8x8x1 of "):
        load_dataset(f"tfrecord:{tmp_path / 'd'}")


@pytest.mark.parametrize("where", ["three_quarters", "length_field",
                                   "image_bytes"])
def test_flipped_byte_fails_its_crc(tmp_path, rng, where):
    records = _good(rng, 16)
    path = _write(tmp_path / "d", records)
    data = bytearray(open(path, "rb").read())
    size = len(data) // 16  # records are all the same size
    position = {"three_quarters": len(data) * 3 // 4,
                "length_field": 12 * size,  # the walk goes astray later
                "image_bytes": 12 * size + 12 + 40}[where]
    data[position] ^= 0x01
    open(path, "wb").write(bytes(data))
    with pytest.raises(ValueError, match=rf"{SHARD}', record "
                                         rf"{position // size}: its bytes do "
                                         r"not match their CRC32C"):
        load_dataset(f"tfrecord:{tmp_path / 'd'}")


def test_verify_none_skips_the_record_check(tmp_path, rng):
    path = _write(tmp_path / "d", _good(rng, 16))
    data = bytearray(open(path, "rb").read())
    data[len(data) * 3 // 4 + 20] ^= 0x01
    open(path, "wb").write(bytes(data))
    ds = load_dataset(f"tfrecord:{tmp_path / 'd'}", verify="none",
                      batch_size=16, shuffle=False)
    with pytest.raises(tf.errors.DataLossError):  # read when training does
        next(iter(ds))


def test_label_outside_num_classes(tmp_path, rng):
    records = _good(rng, label=1)
    records[3] = encode_example(_image(rng), 5)
    _write(tmp_path / "d", records, num_classes=3)
    with pytest.raises(ValueError, match=rf"{SHARD}', record 3: its label 5 "
                                         r"is outside \[-1, 3\)"):
        load_dataset(f"tfrecord:{tmp_path / 'd'}")


def test_mixed_channels_name_two_records(tmp_path, rng):
    records = _good(rng, 4) + [encode_example(_image(rng, (8, 8, 3)))]
    path = _write(tmp_path / "d", records, info=False)
    with pytest.raises(ValueError, match=r"mixed channels: record 0 of .* "
                                         r"has 1, record 4 of .* has 3"):
        load_dataset(f"tfrecord:{path}")


@pytest.mark.parametrize("text,pattern", [
    ('{"format": "mixgan-image-tfrecord", "image_sha', "not valid JSON"),
    ('[1, 2]', "holds a list"),
    ('{"image_shape": [8, 8]}', "image_shape"),
    ('{"num_classes": "ten"}', "num_classes"),
])
def test_malformed_dataset_info_is_named(tmp_path, rng, text, pattern):
    _write(tmp_path / "d", _good(rng))
    (tmp_path / "d" / "dataset_info.json").write_text(text)
    with pytest.raises(ValueError, match=r"dataset_info.json' is not a valid "
                                         rf"dataset_info.json: .*{pattern}"):
        load_dataset(f"tfrecord:{tmp_path / 'd'}")


def test_info_counts_and_listed_shards_must_match(tmp_path, rng):
    _write(tmp_path / "d", _good(rng))
    info_path = tmp_path / "d" / "dataset_info.json"
    info = json.loads(info_path.read_text())
    info["splits"]["train"]["num_examples"] = 9
    info_path.write_text(json.dumps(info))
    with pytest.raises(ValueError, match="gives split 'train' 9 examples, "
                                         "but its shards hold 8"):
        load_dataset(f"tfrecord:{tmp_path / 'd'}")
    info["splits"]["train"] = {"num_examples": 8, "shards": [
        SHARD, "train-00001-of-00002.tfrecord"]}
    info_path.write_text(json.dumps(info))
    with pytest.raises(ValueError, match="lists shard 'train-00001-of-00002."
                                         "tfrecord'.*not in"):
        load_dataset(f"tfrecord:{tmp_path / 'd'}")


def test_check_shard_reports_every_shape_once(tmp_path, rng):
    records = _good(rng, 3) + [encode_example(_image(rng, (4, 4, 1)))]
    path = _write(tmp_path / "d", records, info=False)
    summary = tfrecord_check.check_shard(path)
    assert summary.num_records == 4
    assert summary.shapes == {(8, 8, 1): 0, (4, 4, 1): 3}

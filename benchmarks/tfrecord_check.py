"""Cost of checking TFRecord shards record by record before training.

Writes one shard of `--records` random images per shape (and a
`dataset_info.json`) into a temporary folder, then times what
`load_dataset("tfrecord:...")` does before it returns: the framing walk
plus `tfrecord_check.check_shard` over every record (`verify="header"`),
against the framing walk plus the first record only (`verify="none"`).
Prints the best of `--repeats` runs, per 10,000 records; the file is in
the page cache, as it is for a second load.

    python benchmarks/tfrecord_check.py --records 10000 --repeats 5
"""

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

import tensorflow as tf  # noqa: E402

from general_tools.data import readers  # noqa: E402
from general_tools.data.tfrecord_format import encode_example  # noqa: E402

SHAPES = ((64, 64, 3), (32, 32, 1))


def _write_shard(folder, shape, records, rng):
    os.makedirs(folder)
    images = rng.integers(0, 256, (256,) + shape, dtype=np.uint8)
    name = "train-00000-of-00001.tfrecord"
    with tf.io.TFRecordWriter(os.path.join(folder, name)) as writer:
        for i in range(records):
            writer.write(encode_example(images[i % 256], i % 10))
    with open(os.path.join(folder, "dataset_info.json"), "w",
              encoding="utf-8") as f:
        json.dump({"image_shape": list(shape), "num_classes": 10,
                   "splits": {"train": {"num_examples": records,
                                        "shards": [name]}}}, f)


def _best(folder, verify, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        readers.read_tfrecord(folder, "train", verify=verify)
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--records", type=int, default=10_000)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        for shape in SHAPES:
            folder = os.path.join(tmp, "x".join(map(str, shape)))
            _write_shard(folder, shape, args.records, rng)
            _best(folder, "header", 1)  # warm the page cache and tf.data
            scale = 10_000 / args.records
            full = _best(folder, "header", args.repeats) * scale
            light = _best(folder, "none", args.repeats) * scale
            print(f"{'x'.join(map(str, shape))}: every record "
                  f"{full * 1e3:.0f} ms, framing + first record "
                  f"{light * 1e3:.0f} ms per 10,000 records")


if __name__ == "__main__":
    main()

"""Images per second of mixgan's input pipeline alone (no model).

Cases:

- MNIST-32: the bundled 10,000 MNIST test images, resized 28 -> 32.
- a 64x64 image folder (`--folder`, or a temporary synthetic folder of
  `--num_images` PNGs), read with the in-memory cache and without it
  (decoding every epoch, as for a dataset too large to cache);
- the same folder prepared into TFRecord shards by
  `datasets/prepare_image_folder.py`, read without a cache.

For each, the first epoch (decode, resize, fill the cache) and the mean of
the later epochs are reported, with the CPU time per image of the later
epochs (all threads; less sensitive than wall time to other load on the
machine; cores / CPU time is the rate with every core busy).

To check that the pipeline is not the bottleneck, compare with what
training consumes: a WGAN-GP generator step with `n_critic` critic steps
uses `n_critic * batch` real images, so at `S` generator steps per second
training needs `S * n_critic * batch` images/s (`--train_steps_per_sec S
--n_critic 5` prints that and the headroom).

    python benchmarks/input_pipeline.py --batch 128 --epochs 3
"""

import argparse
import importlib.util
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from general_tools.data import load_dataset  # noqa: E402
from general_tools.machine import describe_cpu  # noqa: E402


def make_folder(path, num_images, size, seed=0):
    """Writes `num_images` random-blob RGB PNGs of `size`x`size`."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    for i in range(num_images):
        cy, cx, r = rng.uniform(0, size, 3)
        blob = ((yy - cy) ** 2 + (xx - cx) ** 2 < (r / 2) ** 2)
        colour = rng.integers(0, 256, 3, dtype=np.uint8)
        image = rng.integers(0, 64, (size, size, 3), dtype=np.uint8)
        image[blob] = colour
        Image.fromarray(image).save(os.path.join(path, f"{i:05d}.png"))


def time_epochs(ds, epochs):
    """Images/s of the first epoch, images/s of the later epochs, and the
    CPU time (all threads) per image of the later epochs in microseconds,
    which depends less on other load of the machine than wall time."""
    rates, cpu, count = [], 0.0, 0
    for epoch in range(epochs):
        start, cpu_start, count = time.perf_counter(), time.process_time(), 0
        for batch in ds:
            count += int(batch.shape[0])
        rates.append(count / (time.perf_counter() - start))
        if epoch:
            cpu += time.process_time() - cpu_start
    if epochs < 2:
        return rates[0], float("nan"), float("nan"), count
    return (rates[0], float(np.mean(rates[1:])),
            1e6 * cpu / (count * (epochs - 1)), count)


def report(name, ds, args):
    first, later, cpu_us, count = time_epochs(ds, args.epochs)
    line = (f"{name:34s} {count:6d} img/epoch  first epoch {first:8.0f} "
            f"img/s  later {later:8.0f} img/s ({cpu_us:5.1f} CPU-us/img)")
    if args.train_steps_per_sec:
        need = args.train_steps_per_sec * args.n_critic * args.batch
        line += f"  headroom x{min(first, later) / need:.1f}"
    print(line, flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--folder", default=None,
                   help="64x64 image folder (default: a synthetic one)")
    p.add_argument("--num_images", type=int, default=2000)
    p.add_argument("--train_steps_per_sec", type=float, default=0.0,
                   help="generator steps/s of training, for the headroom")
    p.add_argument("--n_critic", type=int, default=5)
    args = p.parse_args()
    print(f"batch {args.batch}; CPU: {describe_cpu()}")
    if args.train_steps_per_sec:
        need = args.train_steps_per_sec * args.n_critic * args.batch
        print(f"training needs {need:.0f} real images/s "
              f"({args.train_steps_per_sec} G steps/s x {args.n_critic} "
              f"critic steps x {args.batch})")
    common = dict(batch_size=args.batch, seed=0)
    report("MNIST-32 (bundled, cached)",
           load_dataset("mnist_bundled", split="all", **common), args)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder
        if folder is None:
            folder = os.path.join(tmp, "images")
            os.makedirs(folder)
            start = time.perf_counter()
            make_folder(folder, args.num_images, 64)
            print(f"wrote {args.num_images} synthetic 64x64 PNGs in "
                  f"{time.perf_counter() - start:.1f} s")
        name = f"image_folder:{folder}"
        report("64x64 folder (cached)",
               load_dataset(name, image_size=64, **common), args)
        report("64x64 folder (no cache)",
               load_dataset(name, image_size=64, cache=False, **common),
               args)
        spec = importlib.util.spec_from_file_location(
            "prepare_image_folder", os.path.join(
                os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                "datasets", "prepare_image_folder.py"))
        prep = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(prep)
        shards = os.path.join(tmp, "shards")
        prep.prepare(prep.parse_args([
            "--input_dir", folder, "--output_dir", shards,
            "--image_size", "64", "--holdout", "0"]))
        report("64x64 TFRecord shards (no cache)",
               load_dataset(f"tfrecord:{shards}", cache=False, **common),
               args)


if __name__ == "__main__":
    main()

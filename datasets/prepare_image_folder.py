"""Turns a folder of images into TFRecord shards of cropped, resized uint8
images, with a seeded random hold-out split.

This is the offline preprocessing the HMoG authors applied to their 64x64
sets (`process_image_folder.py`: `CenterCrop(crop_size)` -> `Resize(64)` ->
uint8), written for mixgan's loader:

    python datasets/prepare_image_folder.py \
        --input_dir ~/data/img_align_celeba --output_dir ~/data/celeba64 \
        --image_size 64 --crop_size 108 --holdout 10000

    load_dataset("tfrecord:~/data/celeba64", split="train")   # 192,599
    load_dataset("tfrecord:~/data/celeba64", split="test")    # 10,000

What it does:

1. Lists the images under `--input_dir` (PNG, JPEG, BMP, GIF; recursively;
   labels = first-level sub-folder) and checks every file first (see
   `general_tools/data/image_files.py`); a bad file stops it, named, before
   anything is written.
2. Crops and resizes with the same TensorFlow function the loader uses
   (`general_tools.data.pipeline.crop_and_resize`: centre crop, bilinear
   antialiased resize, rounding to uint8), so the shards hold exactly the
   images `load_dataset("image_folder:...", image_size=..., crop_size=...)`
   would produce.
3. Draws `permutation = numpy.random.default_rng(seed).permutation(N)`;
   the first `--holdout` indices form `test`, the rest `train` (the same
   sets as `load_dataset(..., holdout_size=H, data_seed=seed)` on the
   folder), each written in that shuffled order.
4. Writes `{split}-XXXXX-of-YYYYY.tfrecord` shards into a staging folder
   inside `--output_dir` and, once all are complete, moves them into place
   with `dataset_info.json` and `prepare_manifest.json` (the files it
   wrote; `general_tools/data/prepared_folder.py`). It never writes into
   `--input_dir`. It refuses to replace existing shards unless
   `--overwrite` is given, and then removes only the files of its
   manifest; a `.tfrecord` it did not write stops it. A run that fails
   leaves the previous output as it was.
"""

import argparse
import os
import sys

import numpy as np

try:
    import general_tools  # noqa: F401
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))

import tensorflow as tf  # noqa: E402

from general_tools.data import (image_decode, image_files,  # noqa: E402
                                prepared_folder, tfrecord_format)
from general_tools.data.pipeline import crop_and_resize  # noqa: E402
from experiment_spec.flags import non_negative_int, positive_int  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description="Folder of images -> TFRecord shards (centre crop, "
                    "resize, uint8) with a seeded random hold-out.")
    p.add_argument("--input_dir", required=True,
                   help="folder of images (searched recursively)")
    p.add_argument("--output_dir", required=True,
                   help="folder for the shards (created if missing)")
    p.add_argument("--image_size", type=positive_int, default=64,
                   help="output side length (square). Default: 64")
    p.add_argument("--crop_size", type=positive_int, default=None,
                   help="side of the centre crop before resizing; default: "
                        "the largest centred square")
    p.add_argument("--channels", type=int, default=None, choices=(1, 3, 4),
                   help="decode every image to this many channels; default: "
                        "all images must agree")
    p.add_argument("--holdout", type=non_negative_int, default=10_000,
                   help="images held out as the 'test' split. Default: "
                        "10000 (HMoG); use 1000 for Oxford Flowers")
    p.add_argument("--seed", type=int, default=2019,
                   help="seed of the hold-out and shard order. Default: 2019")
    p.add_argument("--shard_size", type=positive_int, default=10_000,
                   help="images per shard. Default: 10000")
    p.add_argument("--verify", default="header",
                   choices=image_files.VERIFY_MODES,
                   help="check of the input files. Default: header")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the files this script wrote into "
                        "--output_dir (listed in its prepare_manifest.json)")
    return p.parse_args(argv)


def _images(paths, channels, image_size, crop):
    """Yields uint8 numpy images in the order of `paths`; a file that
    TensorFlow cannot decode raises a ValueError naming it."""
    def resize(image, label):
        del label
        return crop_and_resize(image, image_size, crop)

    ds = image_decode.decoded_files(
        paths, [-1] * len(paths), channels, (None, None, channels)).map(
            resize, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    try:
        for image in ds.prefetch(tf.data.AUTOTUNE).as_numpy_iterator():
            yield image
    except tf.errors.InvalidArgumentError as e:
        named = image_decode.undecodable_file(e)
        if named is None:
            raise
        raise ValueError(named) from e


def _write_split(split, indices, paths, labels, args, channels, crop,
                 folder):
    """Writes the shards of one split into `folder`; returns their names."""
    count = max(1, -(-len(indices) // args.shard_size))
    names = []
    images = _images([paths[i] for i in indices], channels,
                     (args.image_size, args.image_size), crop)
    for shard in range(count):
        chunk = indices[shard * args.shard_size:(shard + 1) * args.shard_size]
        name = tfrecord_format.shard_name(split, shard, count)
        with tf.io.TFRecordWriter(os.path.join(folder, name)) as writer:
            for i in chunk:
                writer.write(tfrecord_format.encode_example(
                    next(images), labels[i]))
        names.append(name)
    return names


def prepare(args):
    """Runs the preparation; returns the `dataset_info.json` content."""
    stale = prepared_folder.check_output(args.input_dir, args.output_dir,
                                         args.overwrite)
    paths, labels, class_names = image_files.list_image_files(args.input_dir)
    n = len(paths)
    if not 0 <= args.holdout < n:
        raise ValueError(
            f"--holdout must be in [0, {n}) for {n} images. Received: "
            f"--holdout {args.holdout}")
    infos = image_files.scan_images(paths, labels, verify=args.verify)
    channels = args.channels or image_files.common_channels(
        infos, args.input_dir)
    crop = None
    if args.crop_size is not None:
        crop = (args.crop_size, args.crop_size)
        small = next((i for i in infos
                      if min(i.height, i.width) < args.crop_size), None)
        if small is not None:
            raise ValueError(
                f"Image '{small.path}' is {small.height}x{small.width}, "
                f"smaller than --crop_size {args.crop_size}.")
    order = np.random.default_rng(args.seed).permutation(n)
    splits = {"train": order[args.holdout:]}
    if args.holdout:
        splits["test"] = order[:args.holdout]
    has_labels = bool(class_names) and -1 not in labels
    info = {
        "format": tfrecord_format.FORMAT_NAME,
        "version": tfrecord_format.FORMAT_VERSION,
        "source": os.path.abspath(args.input_dir),
        "image_shape": [args.image_size, args.image_size, channels],
        "crop_size": args.crop_size, "holdout": args.holdout,
        "seed": args.seed,
        "num_classes": len(class_names) if has_labels else None,
        "class_names": class_names if has_labels else None,
        "splits": {},
    }
    os.makedirs(args.output_dir, exist_ok=True)
    staging = prepared_folder.staging_dir(args.output_dir)
    try:
        written = []
        for split, indices in splits.items():
            shards = _write_split(split, indices, paths,
                                  labels if has_labels else [-1] * n, args,
                                  channels, crop, staging)
            info["splits"][split] = {"num_examples": len(indices),
                                     "shards": shards}
            written += shards
    except BaseException:
        prepared_folder.discard_staging(args.output_dir)
        raise
    prepared_folder.publish(args.output_dir, written, info, stale)
    return info


def main(argv=None):
    args = parse_args(argv)
    info = prepare(args)
    counts = ", ".join(f"{s}: {v['num_examples']}"
                       for s, v in info["splits"].items())
    print(f"Wrote {args.output_dir} ({counts}; "
          f"{'x'.join(map(str, info['image_shape']))} uint8).")


if __name__ == "__main__":
    try:
        main()
    except (ValueError, FileExistsError, FileNotFoundError) as e:
        sys.exit(f"prepare_image_folder.py: error: {e}")

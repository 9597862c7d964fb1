"""Sample grids and latent interpolations from a trained run.

Command line::

    python -m deep_learning.sample RUN_DIR --num 64 --truncate 0.25 \\
        --out grid.png [--seed 0] [--step 20000] [--rows 8] [--overwrite]
    python -m deep_learning.sample RUN_DIR --interpolate 8 --columns 10 \\
        [--method slerp|linear] --out interp.png

A 2-D toy run gives a scatter of ``--num`` samples coloured by the generator
that drew each, over the held-out data of its toy.

Truncation (`--truncate t`) keeps the most likely latent codes: for the
normal prior, codes with `||z||^2 > chi2_d.ppf(1 - t)` are redrawn
(`GAN.latent_codes`), the HMoG paper's "disregard the least likely 25%" for
`t = 0.25`.

Interpolation grids: row r joins the codes `z_a = codes[2r]` and
`z_b = codes[2r + 1]` (drawn with `seed`, truncated if asked); column c is
`t = c / (steps - 1)`. `"slerp"` (default) is the spherical interpolation
of White, "Sampling Generative Networks" (2016):

    slerp(z_a, z_b; t) = sin((1 - t) w) / sin(w) z_a + sin(t w) / sin(w) z_b,
    w = arccos(<z_a, z_b> / (|z_a| |z_b|)),

which stays near the shell where Gaussian codes concentrate, unlike the
straight line (`"linear"`, `(1 - t) z_a + t z_b`) whose midpoints have
norms about 1/sqrt(2) of typical ones. Slerp falls back to the straight
line when the codes are (anti)parallel to within 1e-7.

Multi-head models (MADGAN, MGAN) send each code through every generator:
a sample grid shows every head's images of the codes (generator-major),
and `--head` picks one generator's for a sample grid or an interpolation.
`--head` is refused for models with one output per code and for 2-D runs.
"""

import argparse
import os
import sys

import numpy as np
import tensorflow as tf

from deep_learning.engine import run_folder
from deep_learning.models import generator_assignment
from deep_learning.tools import toy_evaluation
from experiment_spec import cli
from experiment_spec.flags import (ExperimentParser, UsageError, fraction,
                                   non_negative_int, positive_int)
from general_tools import figures

METHODS = ("slerp", "linear")


def slerp(z_a, z_b, t):
    """Spherical interpolation between rows of `z_a` and `z_b`.

    Args:
        z_a: array `(n, d)`. start codes.
        z_b: array `(n, d)`. end codes.
        t: array `(m,)`. fractions in [0, 1].

    Returns:
        float32 array `(n, m, d)`.
    """
    z_a = np.asarray(z_a, np.float64)
    z_b = np.asarray(z_b, np.float64)
    t = np.asarray(t, np.float64)[None, :, None]
    cos = np.sum(z_a * z_b, axis=1) / np.maximum(
        np.linalg.norm(z_a, axis=1) * np.linalg.norm(z_b, axis=1), 1e-30)
    omega = np.arccos(np.clip(cos, -1.0, 1.0))[:, None, None]
    sin = np.sin(omega)
    linear = (1.0 - t) * z_a[:, None] + t * z_b[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        spherical = (np.sin((1.0 - t) * omega) / sin * z_a[:, None]
                     + np.sin(t * omega) / sin * z_b[:, None])
    return np.where(sin > 1e-7, spherical, linear).astype(np.float32)


def interpolation_codes(z_a, z_b, steps, method="slerp"):
    """Codes of an interpolation grid, row-major `(n * steps, d)`.

    Args:
        z_a: array `(n, d)`. row starts.
        z_b: array `(n, d)`. row ends.
        steps: int. columns, >= 2 (both ends included).
        method: str. "slerp" or "linear". Defaults to "slerp".

    Returns:
        float32 array `(n * steps, d)`.
    """
    if method not in METHODS:
        raise ValueError(
            f"`method` must be one of {METHODS}; received {method!r}.")
    if isinstance(steps, bool) or int(steps) != steps or steps < 2:
        raise ValueError(f"`steps` must be an integer >= 2; received "
                         f"{steps!r}.")
    z_a = np.asarray(z_a, np.float32)
    z_b = np.asarray(z_b, np.float32)
    t = np.linspace(0.0, 1.0, int(steps))
    if method == "slerp":
        grid = slerp(z_a, z_b, t)
    else:
        grid = ((1.0 - t)[None, :, None] * z_a[:, None]
                + t[None, :, None] * z_b[:, None]).astype(np.float32)
    return grid.reshape(-1, z_a.shape[1])


def images_for_codes(model, z, use_ema=None, head=0):
    """Images of codes `z`; for multi-head models those of generator
    `head` (their `generate_images` returns every head's, generator-major).
    """
    images = model.generate_images(tf.constant(z), use_ema=use_ema)
    n = len(z)
    if len(images) != n:
        heads = len(images) // n
        if heads * n != len(images) or not 0 <= int(head) < heads:
            raise ValueError(
                f"`head` must be in [0, {heads}); received {head!r}.")
        images = images.reshape((heads, n) + images.shape[1:])[int(head)]
    return images


def interpolation_grid(model, pairs, steps=10, method="slerp", seed=0,
                       truncation=None, use_ema=None, head=0):
    """Images `(pairs * steps, H, W, C)` of a latent interpolation grid.

    Args:
        model: `deep_learning.models.gan.GAN`.
        pairs: int. rows (pairs of end codes).
        steps: int. columns. Defaults to 10.
        method: str. "slerp" or "linear". Defaults to "slerp".
        seed: int. seed of the end codes. Defaults to 0.
        truncation: float or None. truncation of the end codes.
        use_ema: bool or None. EMA generator (None: when present).
        head: int. generator shown by multi-head models. Defaults to 0.
    """
    if isinstance(pairs, bool) or int(pairs) != pairs or pairs < 1:
        raise ValueError(f"`pairs` must be an integer >= 1; received "
                         f"{pairs!r}.")
    ends = np.asarray(model.latent_codes(2 * int(pairs), seed=seed,
                                         truncation=truncation))
    codes = interpolation_codes(ends[0::2], ends[1::2], steps, method)
    return images_for_codes(model, codes, use_ema, head)


def free_path(path):
    """``path``, or the first ``<stem>_<i><ext>`` that does not exist."""
    stem, ext = os.path.splitext(path)
    index = 0
    while os.path.exists(path):
        index += 1
        path = f"{stem}_{index}{ext}"
    return path


def _png(text):
    if not text.lower().endswith(".png"):
        raise argparse.ArgumentTypeError(
            f"the figure is a PNG; give a path ending in .png; received "
            f"{text!r}")
    return text


def build_parser():
    """The command-line parser of ``python -m deep_learning.sample``."""
    parser = ExperimentParser(
        "Sample grids and latent interpolations of a run folder (2-D toy "
        "runs: a scatter of samples coloured by their generator over the "
        "data).", common=(), prog="python -m deep_learning.sample")
    parser.add_argument("run_dir", help="the run folder")
    parser.add_argument("--num", type=positive_int, default=None,
                        help="samples (default 64 images, 2500 toy points)")
    parser.add_argument("--rows", type=positive_int, default=None,
                        help="grid rows (default: a near-square grid)")
    parser.add_argument("--truncate", type=fraction, default=None,
                        help="fraction of least likely codes to disregard")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--step", type=non_negative_int, default=None,
                        help="checkpoint step (default: the newest "
                             "readable)")
    parser.add_argument("--ema", choices=("auto", "yes", "no"),
                        default="auto", help="sample the EMA generator")
    parser.add_argument("--interpolate", type=non_negative_int, default=0,
                        help="rows of an interpolation grid (0: samples)")
    parser.add_argument("--columns", type=positive_int, default=10,
                        help="interpolation columns (both ends included)")
    parser.add_argument("--method", choices=METHODS, default="slerp")
    parser.add_argument("--head", type=non_negative_int, default=None,
                        help="the generator a grid shows (multi-head "
                             "models; default: every head for samples, 0 "
                             "for interpolations)")
    parser.add_argument("--out", type=_png, default=None,
                        help="PNG path; default RUN_DIR/samples/"
                             "<kind>_<step>.png (a free name)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing --out (and its .npy)")
    parser.add_argument("--save_npy", action="store_true",
                        help="also save the samples as .npy next to the PNG")

    @parser.add_check
    def _check(args):
        if args.interpolate and args.columns < 2:
            raise UsageError("argument --columns: an interpolation needs at "
                             "least 2 columns")
        if args.interpolate:
            for flag in ("num", "rows"):
                if getattr(args, flag) is not None:
                    raise UsageError(
                        f"argument --{flag}: an interpolation grid has "
                        "--interpolate rows of --columns images; --num and "
                        "--rows apply to sample grids")
        if args.rows is not None and args.rows > (args.num or 64):
            raise UsageError(f"argument --rows: {args.rows} rows for "
                             f"{args.num or 64} images")
        if not os.path.isdir(args.run_dir):
            raise UsageError(f"argument run_dir: no such folder: "
                             f"{args.run_dir!r}")
        data = (run_folder.read_config(args.run_dir) or {}).get("data")
        if toy_evaluation.is_toy(data):
            for flag in ("rows", "head", "interpolate"):
                if getattr(args, flag):
                    raise UsageError(
                        f"argument --{flag}: a 2-D run generates 2-D "
                        "points, drawn as one scatter of every generator's")
        if args.out and not args.overwrite:
            for path in (args.out, os.path.splitext(args.out)[0] + ".npy"):
                if os.path.exists(path) and (path == args.out
                                             or args.save_npy):
                    raise UsageError(f"argument --out: {path} exists; pass "
                                     "--overwrite to replace it")
    return parser


def _toy_scatter(model, run_dir, num, seed, path):
    """2-D runs: samples coloured by generator over the held-out data."""
    data = (run_folder.read_config(run_dir) or {}).get("data")
    points, generators = toy_evaluation.toy_samples(model, num, seed)
    real = None
    if toy_evaluation.is_toy(data):
        real, _ = toy_evaluation.toy_reference(data)
    reach = 1.1 * float(np.abs(points if real is None else real).max())
    figures.plot_toy_regions(points, generators, path, x_real=real,
                             title=f"{model.recipe or model.name}, step "
                                   f"{run_folder.model_step(model)}",
                             limits=(-reach, reach))
    return points


def main(argv=None):
    """Entry point of ``python -m deep_learning.sample``; returns the exit
    status."""
    args = build_parser().parse(argv)
    model = run_folder.load_run(args.run_dir, args.step)
    step = run_folder.model_step(model)
    use_ema = {"auto": None, "yes": True, "no": False}[args.ema]
    heads = generator_assignment.assignment_kind(model) == "heads"
    if args.head is not None and not heads:
        raise ValueError(f"--head: {model.recipe or model.name} has one "
                         "generator output per code, not heads")
    count = generator_assignment.num_generators(model)
    if args.head is not None and args.head >= count:
        raise ValueError(f"--head: {model.recipe or model.name} has {count} "
                         f"heads (0 to {count - 1}); received {args.head}")
    kind = "interp" if args.interpolate else "sample"
    out = args.out or free_path(os.path.join(
        args.run_dir, "samples", f"{kind}_{step}.png"))
    if not run_folder.is_image_model(model):
        if args.interpolate:
            raise ValueError("--interpolate draws image grids; this run "
                             "generates 2-D points")
        images = _toy_scatter(model, args.run_dir, args.num or 2500,
                              args.seed, out)
    elif args.interpolate:
        images = interpolation_grid(
            model, args.interpolate, args.columns, args.method, args.seed,
            args.truncate, use_ema, args.head or 0)
        figures.save_image_grid(images, out, rows=args.interpolate,
                                cols=args.columns)
    elif args.head is not None:  # one head's images of the codes
        codes = model.latent_codes(args.num or 64, seed=args.seed,
                                   truncation=args.truncate)
        images = images_for_codes(model, codes, use_ema, args.head)
        figures.save_image_grid(images, out, rows=args.rows)
    else:
        images = model.sample(args.num or 64, seed=args.seed,
                              truncation=args.truncate, use_ema=use_ema)
        figures.save_image_grid(images, out, rows=args.rows)
    if args.save_npy:
        np.save(os.path.splitext(out)[0] + ".npy", images)
    print(f"wrote {out} ({len(images)} samples, step {step})")
    return 0


__all__ = ["METHODS", "build_parser", "free_path", "images_for_codes",
           "interpolation_codes", "interpolation_grid", "main", "slerp"]


if __name__ == "__main__":
    sys.exit(cli.run(main, prog="python -m deep_learning.sample"))

"""Interpretability figures of a trained mixture of generators (and of a
2-D toy run, and GM-GAN's Gaussians).

:func:`mixture_figures` draws, from ``num_samples`` latent codes:

* ``gating_correlation.png``: Pearson correlation between the leaves'
  probabilities (MoG, HMoG; the HMoG paper's Fig. 11);
* ``node_averages.png``: the probability-weighted mean image of every tree
  node, root to leaves (HMoG; Figs. 12-13);
* ``top_per_leaf.png``: per leaf, the ``top_k`` samples it is most
  responsible for (MoG, HMoG, MEGAN);
* ``per_generator.png``: the same codes through every head (MADGAN, MGAN);
* ``gate_stats.json``: how hard the gate decides (:func:`gate_sharpness`).

``deep_learning.engine.callbacks.GateUsageLogger`` logs how the gate
spreads codes over the leaves while training (every run of a gated mixture
has it); :func:`gate_sharpness` is in
``deep_learning.models.generator_assignment``.

:func:`toy_figures` draws the toy study's figures of a 2-D model (samples
coloured by generator over the data, the regions of z, HMoG's node tree);
:func:`run_figures` picks what applies to a run folder. From the command
line::

    python -m deep_learning.interpretability Results/<run> --num 2000
    # -> Results/<run>/figures_<step>/ (an existing folder is refused
    #    unless --overwrite)
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import tensorflow as tf

from deep_learning.engine import run_folder
from deep_learning.engine.callbacks import GateUsageLogger  # noqa: F401
from deep_learning.engine.run_folder import load_run, model_step
from deep_learning.models import generator_assignment as assignment
from deep_learning.models.generator_assignment import gate_sharpness
from deep_learning.models.mixture_layers import TreeMixture, find_layer
from deep_learning.tools import toy_evaluation
from experiment_spec import cli
from experiment_spec.flags import (ExperimentParser, UsageError,
                                   non_negative_int, positive_int)
from general_tools import figures
from general_tools.atomic_io import write_bytes_atomic


def leaf_usage(gan, z):
    """(N, L) leaf / expert probabilities of codes ``z``, or None for models
    without a gate (FC, MADGAN, MGAN). MEGAN gives its softmax gate. (The
    responsibilities of ``deep_learning.models.generator_assignment``.)"""
    return assignment.responsibilities(gan, z)


def mixture_figures(gan, out_dir, num_samples=10_000, top_k=5, seed=0,
                    batch_size=500):
    """Writes the figures that apply to ``gan``; returns their paths.

    Args:
        gan: a trained :class:`deep_learning.models.gan.GAN` (any of the six).
        out_dir: str. Output folder.
        num_samples: int. Latent codes drawn. Defaults to 10,000.
        top_k: int. Samples per leaf. Defaults to 5.
        seed: int. Seed of the codes. Defaults to 0.
        batch_size: int. Generation batch. Defaults to 500.
    """
    os.makedirs(out_dir, exist_ok=True)
    paths = {}
    kind = assignment.assignment_kind(gan)
    if kind == "heads":
        per = gan.per_generator_samples(8, seed=seed)
        k = per.shape[0]
        paths["per_generator"] = figures.save_image_grid(
            per.reshape((-1,) + per.shape[2:]),
            os.path.join(out_dir, "per_generator.png"), rows=k, cols=8)
        return paths
    z = gan.latent_codes(num_samples, seed=seed)
    usage = leaf_usage(gan, z)
    if usage is None:
        return paths
    paths["gate_stats"] = os.path.join(out_dir, "gate_stats.json")
    write_bytes_atomic(paths["gate_stats"], (json.dumps(
        gate_sharpness(usage), indent=2) + "\n").encode())
    images = gan.generate_images(z, batch_size=batch_size)
    paths["gating_correlation"] = figures.plot_gating_correlation(
        usage, os.path.join(out_dir, "gating_correlation.png"))
    paths["top_per_leaf"] = figures.plot_top_samples(
        images, usage, os.path.join(out_dir, "top_per_leaf.png"), k=top_k)
    tree = find_layer(gan.generator, TreeMixture) if kind == "tree" else None
    if tree is not None and tree.depth > 1:
        weights = np.concatenate(
            [tree.node_probabilities(z[i:i + batch_size]).numpy()
             for i in range(0, num_samples, batch_size)])
        paths["node_averages"] = figures.plot_node_averages(
            figures.node_average_images(weights, images),
            os.path.join(out_dir, "node_averages.png"),
            branching=tree.branching)
    return paths




def toy_figures(gan, real, regions_path, tree_path=None, *, seed=0,
                num=2500, limits=None, title=None):
    """The toy study's figures of a 2-D model.

    ``regions_path``: data in black, samples coloured by the generator that
    drew them, the regions of a 2-D latent plane each generator owns (not
    for multi-head models, where every code feeds every head), one panel
    per generator. ``tree_path``: for an HMoG tree of depth > 1, one panel
    per node with every sample shaded by that node's path probability.

    Args:
        gan: a trained 2-D model. real: array (N, 2), the data drawn.
        regions_path, tree_path: str (tree_path may be None).
        seed: int. Seed of the codes. num: int. Samples drawn.
        limits: ``(low, high)`` of both axes; None fits the data.
        title: str or None.

    Returns:
        dict of the written paths.
    """
    real = np.asarray(real, np.float32)
    if limits is None:
        reach = 1.25 * float(np.abs(real).max())
        limits = (-reach, reach)
    points, comp = toy_evaluation.toy_samples(gan, num, seed)
    kind = assignment.assignment_kind(gan)
    z_grid = z_comp = None
    if kind != "heads" and gan.latent_dim == 2:
        axis = np.linspace(-3, 3, 60, dtype=np.float32)
        z_grid = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
        _, z_comp = assignment.outputs_and_generators(gan, z_grid)
    paths = {"regions": figures.plot_toy_study(
        real, points, comp, z_grid, z_comp, regions_path, title=title,
        num_generators=assignment.num_generators(gan), limits=limits)}
    tree = find_layer(gan.generator, TreeMixture) if kind == "tree" else None
    if tree_path and tree is not None and tree.depth > 1:
        z = gan.latent_codes(num, seed=seed)
        out = gan.generator(z, training=False).numpy()
        probs = tree.node_probabilities(tf.convert_to_tensor(z)).numpy()
        paths["tree"] = figures.plot_toy_tree(out, probs, tree_path,
                                              branching=tree.branching,
                                              limits=limits)
    return paths


def run_figures(gan, run_dir, out, *, num=10_000, top_k=5, seed=0):
    """Every figure that applies to a run's model (loaded with
    ``run_folder.load_run``), into ``out``: the toy figures and gate
    statistics of a 2-D run, the mixture figures of an image run, one row
    per Gaussian for GM-GAN. Returns the paths (empty when nothing
    applies)."""
    os.makedirs(out, exist_ok=True)
    if not run_folder.is_image_model(gan):
        data = (run_folder.read_config(run_dir) or {}).get("data")
        real, _ = toy_evaluation.toy_reference(data)
        name = gan.recipe or gan.name
        paths = toy_figures(
            gan, real, os.path.join(out, "regions.png"),
            os.path.join(out, "tree.png"), seed=seed, num=min(num, 2500),
            title=f"{name}, step {model_step(gan)}")
        usage = leaf_usage(gan, gan.latent_codes(num, seed=seed))
        if usage is not None:
            paths["gate_stats"] = os.path.join(out, "gate_stats.json")
            write_bytes_atomic(paths["gate_stats"], (json.dumps(
                gate_sharpness(usage), indent=2) + "\n").encode())
        return paths
    paths = mixture_figures(gan, out, num_samples=num, top_k=top_k,
                            seed=seed)
    if hasattr(gan, "component_samples"):  # GM-GAN: a row per Gaussian
        paths["components"] = figures.save_image_grid(
            gan.component_samples(10, seed=seed),
            os.path.join(out, "components.png"), rows=gan.num_components)
    return paths


PARSER = ExperimentParser(
    "Interpretability figures of a run folder: for mixtures the gating "
    "correlation, node averages, top samples per leaf or per-generator "
    "grids and gate statistics; for 2-D toy runs the regions and tree "
    "figures; for GM-GAN one row per Gaussian.", common=(),
    prog="python -m deep_learning.interpretability")
PARSER.add_argument("run_dir", help="the run folder")
PARSER.add_argument("--num", type=positive_int, default=10_000,
                    help="latent codes drawn")
PARSER.add_argument("--top_k", type=positive_int, default=5,
                    help="samples per leaf")
PARSER.add_argument("--seed", type=non_negative_int, default=0)
PARSER.add_argument("--step", type=non_negative_int, default=None,
                    help="checkpoint step (default: the newest readable)")
PARSER.add_argument("--out", default=None,
                    help="folder (default RUN_DIR/figures_<step>); an "
                         "existing non-empty one is refused")
PARSER.add_argument("--overwrite", action="store_true",
                    help="write into an existing --out, replacing its "
                         "figures")


@PARSER.add_check
def _check(args):
    if not os.path.isdir(args.run_dir):
        raise UsageError(f"argument run_dir: no such folder: "
                         f"{args.run_dir!r}")


def main(argv=None):
    """``python -m deep_learning.interpretability RUN_DIR [--out DIR]``;
    returns the exit status."""
    args = PARSER.parse(argv)
    if args.out and os.path.exists(args.out) and os.listdir(args.out) and \
            not args.overwrite:
        raise ValueError(f"{args.out} exists and is not empty; choose "
                         "another --out or pass --overwrite")
    gan = load_run(args.run_dir, args.step)
    out = args.out or os.path.join(args.run_dir,
                                   f"figures_{model_step(gan)}")
    if os.path.exists(out) and os.listdir(out) and not args.overwrite:
        raise ValueError(f"{out} exists and is not empty; choose another "
                         "--out or pass --overwrite")
    paths = run_figures(gan, args.run_dir, out, num=args.num,
                        top_k=args.top_k, seed=args.seed)
    if not paths:
        print(f"{args.run_dir}: the model has no gate, heads or Gaussians "
              "to draw; no figures")
    for name, path in paths.items():
        print(f"{name}: {path}")
    if "gate_stats" in paths:
        with open(paths["gate_stats"]) as f:
            print(f.read().strip())
    return 0


__all__ = ["GateUsageLogger", "PARSER", "gate_sharpness", "leaf_usage",
           "main", "mixture_figures", "run_figures", "toy_figures"]


if __name__ == "__main__":
    sys.exit(cli.run(main, prog=PARSER.prog))

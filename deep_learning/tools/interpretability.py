"""Interpretability figures of a trained mixture of generators.

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

The figures of a finished (or interrupted) run folder::

    python -m deep_learning.tools.interpretability Results/<run> --num 2000
    # -> Results/<run>/figures_<step>/*.png (an existing folder is refused)
"""

from __future__ import annotations

import argparse
import json
import os

import keras
import numpy as np
import tensorflow as tf

from deep_learning.engine.callbacks import GateUsageLogger  # noqa: F401
from deep_learning.engine.run_folder import load_run, model_step
from deep_learning.models import generator_assignment as assignment
from deep_learning.models.generator_assignment import gate_sharpness
from deep_learning.models.mixture_layers import TreeMixture, find_layer
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




def main(argv=None):
    """``python -m deep_learning.tools.interpretability RUN_DIR [--out DIR]``."""
    parser = argparse.ArgumentParser(
        prog="python -m deep_learning.tools.interpretability",
        description="Interpretability figures of a mixture run folder.")
    parser.add_argument("run_dir")
    parser.add_argument("--num", type=int, default=10_000,
                        help="latent codes drawn")
    parser.add_argument("--top_k", type=int, default=5,
                        help="samples per leaf")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--step", type=int, default=None,
                        help="checkpoint step (default: the newest)")
    parser.add_argument("--out", default=None,
                        help="folder; default RUN_DIR/figures_<step>")
    args = parser.parse_args(argv)
    gan = load_run(args.run_dir, args.step)
    out = args.out or os.path.join(args.run_dir,
                                   f"figures_{model_step(gan)}")
    if os.path.exists(out) and os.listdir(out):
        parser.error(f"{out} exists and is not empty; choose another --out")
    paths = mixture_figures(gan, out, num_samples=args.num, top_k=args.top_k,
                            seed=args.seed)
    if not paths:
        print(f"{args.run_dir}: the model has no gate or heads; no figures")
    for name, path in paths.items():
        print(f"{name}: {path}")
    if "gate_stats" in paths:
        with open(paths["gate_stats"]) as f:
            print(f.read().strip())
    return paths


__all__ = ["GateUsageLogger", "gate_sharpness", "leaf_usage", "main",
           "mixture_figures"]


if __name__ == "__main__":
    main()

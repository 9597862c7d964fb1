"""Figures for mixtures of generators: sample grids, the gating correlation
matrix, per-node average images, top samples per leaf and toy region plots.

The numbers behind each figure come from small pure functions
(:func:`image_grid`, :func:`gating_correlation`, :func:`node_average_images`,
:func:`top_samples_per_leaf`, :func:`responsible_component`) so that they can
be tested and reused; the ``plot_*`` functions only draw them with matplotlib
(Agg backend, no display needed) and save a PNG.

Conventions follow the HMoG paper (Ahmetoglu & Alpaydin) where its authors'
code has no figure code:

* Gating correlation (Fig. 11): Pearson correlation of the leaf-usage matrix
  P (N x L), leaves in heap order so siblings are adjacent.
* Node averages (Figs. 12-13): for node n, ``sum_t w_n(z_t) G(z_t) /
  sum_t w_n(z_t)`` with ``w_n`` the path probability of n; the root is the
  plain mean of the samples.
* Top samples per leaf: the k samples with the highest probability of that
  leaf (the paper's text says "random"; its selection rule is the top k).
* Toy regions (Figs. 6-8): each sample is coloured by the component with the
  highest responsibility (soft mixtures), its hard gate (MEGAN) or its head
  (MADGAN/MGAN).
"""

from __future__ import annotations

import os

import numpy as np

__all__ = [
    "image_grid", "gating_correlation", "node_average_images",
    "top_samples_per_leaf", "responsible_component", "save_image_grid",
    "plot_gating_correlation", "plot_node_averages", "plot_top_samples",
    "plot_toy_regions", "plot_toy_study", "plot_toy_tree",
]


def _to_unit(images):
    """[-1, 1] images -> [0, 1] float, channel axis kept."""
    return np.clip((np.asarray(images, np.float32) + 1.0) / 2.0, 0.0, 1.0)


def image_grid(images, rows=None, cols=None, pad=1, pad_value=1.0):
    """Tiles (N, H, W, C) images into one (rows*(H+pad)-pad, ..., C) array.

    Args:
        images: array (N, H, W, C). Values are copied as they are.
        rows, cols: int. Grid size; by default a near-square grid.
        pad: int. Pixels between tiles. Defaults to 1.
        pad_value: float. Value of the padding. Defaults to 1.0.
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images must be (N, H, W, C). Received shape "
                         f"{images.shape}")
    n, h, w, c = images.shape
    if cols is None:
        cols = int(np.ceil(np.sqrt(n))) if rows is None else int(
            np.ceil(n / rows))
    if rows is None:
        rows = int(np.ceil(n / cols))
    if rows * cols < n:
        raise ValueError(f"a {rows}x{cols} grid cannot hold {n} images")
    grid = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad, c),
                   pad_value, dtype=images.dtype)
    for i in range(n):
        r, q = divmod(i, cols)
        grid[r * (h + pad):r * (h + pad) + h,
             q * (w + pad):q * (w + pad) + w] = images[i]
    return grid


def gating_correlation(usage):
    """Pearson correlation (L, L) between the columns of the leaf-usage
    matrix ``usage`` (N, L). Constant columns give NaN rows, as numpy does."""
    usage = np.asarray(usage, np.float64)
    if usage.ndim != 2:
        raise ValueError(f"usage must be (N, L). Received shape {usage.shape}")
    return np.corrcoef(usage, rowvar=False)


def node_average_images(node_weights, images):
    """Weighted means ``sum_t w[t, n] x_t / sum_t w[t, n]`` for every node.

    Args:
        node_weights: array (N, nodes), e.g. ``TreeMixture.node_probabilities``.
        images: array (N, H, W, C).

    Returns:
        array (nodes, H, W, C).
    """
    w = np.asarray(node_weights, np.float64)
    x = np.asarray(images, np.float64)
    if w.ndim != 2 or x.shape[0] != w.shape[0]:
        raise ValueError(f"node_weights (N, nodes) and images (N, ...) must "
                         f"share N. Received {w.shape} and {x.shape}")
    total = w.sum(0)
    if np.any(total <= 0):
        raise ValueError("a node has zero total weight; draw more samples")
    flat = x.reshape(x.shape[0], -1)
    return ((w.T @ flat) / total[:, None]).reshape((w.shape[1],) + x.shape[1:])


def top_samples_per_leaf(leaf_probs, k=5):
    """Indices (L, k) of the k samples with the highest probability of each
    leaf, most probable first."""
    p = np.asarray(leaf_probs)
    if k > p.shape[0]:
        raise ValueError(f"k={k} is larger than the {p.shape[0]} samples")
    return np.argsort(-p, axis=0, kind="stable")[:k].T


def responsible_component(probs):
    """Component with the highest responsibility per sample, (N,)."""
    return np.argmax(np.asarray(probs), axis=1)


# ------------------------------- plotting ----------------------------------

def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend (imported on
    first use: plotting is optional for most of the toolkit)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _tree_levels(num_nodes, branching):
    """Heap-ordered node indices grouped by tree level, root first."""
    levels, count, start = [], 1, 0
    while start < num_nodes:
        levels.append(list(range(start, min(start + count, num_nodes))))
        start += count
        count *= branching
    return levels


def _save(fig, path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp.png"
    fig.savefig(tmp, dpi=fig.dpi, bbox_inches="tight")
    os.replace(tmp, path)  # never leave a half-written figure behind
    pyplot().close(fig)
    return path


def save_image_grid(images, path, rows=None, cols=None):
    """Writes [-1, 1] images as one PNG grid and returns ``path``."""
    grid = image_grid(_to_unit(images), rows, cols)
    plt = pyplot()
    h, w = grid.shape[:2]
    fig = plt.figure(figsize=(w / 50, h / 50), dpi=100)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.imshow(grid.squeeze(-1) if grid.shape[-1] == 1 else grid,
              cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.axis("off")
    return _save(fig, path)


def plot_gating_correlation(usage, path, title="gating correlation"):
    """The HMoG paper's Fig. 11: colour-coded leaf correlation matrix."""
    corr = gating_correlation(usage)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 4.2), dpi=100)
    im = ax.imshow(corr, cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xlabel("leaf")
    ax.set_ylabel("leaf")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046)
    return _save(fig, path)


def plot_node_averages(node_images, path, branching=2):
    """The HMoG paper's Figs. 12-13: each tree level on one row, nodes in
    heap order, each image the weighted mean of the samples under it."""
    imgs = _to_unit(node_images)
    levels = _tree_levels(imgs.shape[0], branching)
    plt = pyplot()
    width = len(levels[-1])
    fig, axes = plt.subplots(len(levels), width, squeeze=False,
                             figsize=(max(width, 2) * 0.9, len(levels) * 0.9),
                             dpi=100)
    for ax in axes.ravel():
        ax.axis("off")
    for row, nodes in enumerate(levels):
        offset = (width - len(nodes)) // 2
        for j, node in enumerate(nodes):
            img = imgs[node]
            axes[row, offset + j].imshow(
                img.squeeze(-1) if img.shape[-1] == 1 else img, cmap="gray",
                vmin=0, vmax=1)
            axes[row, offset + j].set_title(str(node), fontsize=6)
    return _save(fig, path)


def plot_top_samples(images, leaf_probs, path, k=5):
    """One row per leaf: the k samples that leaf is most responsible for."""
    idx = top_samples_per_leaf(leaf_probs, k)
    rows = np.asarray(images)[idx.ravel()]
    return save_image_grid(rows, path, rows=idx.shape[0], cols=k)


def plot_toy_regions(x_fake, component, path, x_real=None, title=None,
                     limits=(-15, 15)):
    """A 2-D toy figure: generated points coloured by the responsible
    component, real points in grey underneath."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=100)
    if x_real is not None:
        r = np.asarray(x_real)
        ax.scatter(r[:, 0], r[:, 1], s=3, c="0.75", label="real")
    f = np.asarray(x_fake)
    comp = np.asarray(component)
    ax.scatter(f[:, 0], f[:, 1], s=3, c=comp, cmap="tab20",
               vmin=0, vmax=max(19, comp.max()))
    ax.set_xlim(*limits)
    ax.set_ylim(*limits)
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    return _save(fig, path)


def plot_toy_study(real, fake, component, z, z_component, path, title=None,
                   num_generators=None, limits=(-15, 15), z_limits=(-3, 3)):
    """The HMoG paper's toy figure for one model.

    Top left: data in black, samples coloured by the generator that produced
    them. Top right: the latent plane, each z coloured by its generator (the
    regions of z). Bottom: one small panel per generator.

    Args:
        real: (N, 2) data. fake: (M, 2) samples. component: (M,) generator
        of each sample. z: (P, 2) latent codes (e.g. a grid) and
        z_component: (P,) their generators (z=None when every z feeds every
        generator, as in MADGAN/MGAN). path: PNG path.
    """
    plt = pyplot()
    comp = np.asarray(component)
    k = int(num_generators or (comp.max() + 1))
    fig = plt.figure(figsize=(max(8, 1.2 * k), 5.6), dpi=100)
    grid = fig.add_gridspec(2, max(k, 2), height_ratios=[3, 1])
    half = max(k, 2) // 2
    ax = fig.add_subplot(grid[0, :half])
    r, f = np.asarray(real), np.asarray(fake)
    ax.scatter(r[:, 0], r[:, 1], s=2, c="black", alpha=0.4)
    ax.scatter(f[:, 0], f[:, 1], s=2, c=comp, cmap="tab10", vmin=0,
               vmax=max(9, k - 1))
    ax.set_xlim(*limits)
    ax.set_ylim(*limits)
    ax.set_title(f"{title or ''} samples by generator".strip(), fontsize=9)
    ax = fig.add_subplot(grid[0, half:])
    if z is None:  # MADGAN / MGAN: every z feeds every generator
        ax.text(0.5, 0.5, "every z feeds\nall generators", ha="center",
                va="center", transform=ax.transAxes)
    else:
        zz = np.asarray(z)
        ax.scatter(zz[:, 0], zz[:, 1], s=4, c=np.asarray(z_component),
                   cmap="tab10", vmin=0, vmax=max(9, k - 1), marker="s")
    ax.set_xlim(*z_limits)
    ax.set_ylim(*z_limits)
    ax.set_title("regions of z", fontsize=9)
    for g in range(k):
        ax = fig.add_subplot(grid[1, g])
        ax.scatter(r[:, 0], r[:, 1], s=0.5, c="0.8")
        mine = f[comp == g]
        colour = plt.get_cmap("tab10")(g % 10)
        ax.scatter(mine[:, 0], mine[:, 1], s=0.5, color=colour)
        ax.set_xlim(*limits)
        ax.set_ylim(*limits)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"G{g + 1}", fontsize=7)
    return _save(fig, path)


def plot_toy_tree(fake, node_probs, path, branching=2, limits=(-15, 15)):
    """HMoG's tree on a toy: one panel per node (heap order, one tree level
    per row), every sample shaded by that node's path probability."""
    p = np.asarray(node_probs)
    f = np.asarray(fake)
    levels = _tree_levels(p.shape[1], branching)
    plt = pyplot()
    width = len(levels[-1])
    fig, axes = plt.subplots(len(levels), width, squeeze=False,
                             figsize=(1.3 * width, 1.3 * len(levels)),
                             dpi=100)
    for ax in axes.ravel():
        ax.axis("off")
    for row, nodes in enumerate(levels):
        offset = (width - len(nodes)) // 2
        for j, node in enumerate(nodes):
            ax = axes[row, offset + j]
            ax.axis("on")
            ax.scatter(f[:, 0], f[:, 1], s=0.5, c=p[:, node], cmap="Blues",
                       vmin=0, vmax=1)
            ax.set_xlim(*limits)
            ax.set_ylim(*limits)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(str(node), fontsize=6)
    return _save(fig, path)

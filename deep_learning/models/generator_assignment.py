"""Which generator of a mixture drew each sample, and how responsible each
generator is for a code.

The kind of assignment comes from the model's recipe
(``experiment_spec.recipes``, :data:`~experiment_spec.recipes.ASSIGNMENTS`);
this module implements each kind once:

* ``single``: one generator; every sample is generator 0.
* ``tree``: MoG and HMoG mix their leaves softly; a sample belongs to its
  most responsible leaf, the argmax of the gate's leaf probabilities
  ``pi(z)`` (the HMoG paper's figures split samples this way).
* ``gumbel``: MEGAN's gate picks one expert per code with a straight-through
  Gumbel-softmax; the expert is the one the forward pass actually used (its
  noise is drawn again from the gate's seed state before the pass).
  Responsibilities are ``softmax(logits)``, the probability of each choice.
* ``heads``: MADGAN and MGAN send every code through all K heads; fakes are
  generator-major, rows ``[k n, (k + 1) n)`` from head k.

A model built without a recipe (BEGAN, GM-GAN, MMD-GAN, a hand-made GAN)
counts as ``single``.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from deep_learning.models.mixture_layers import (MEGANGate, TreeMixture,
                                                 find_layer)
from experiment_spec import recipes

__all__ = ["assignment_kind", "gate_sharpness", "num_generators",
           "outputs_and_generators", "responsibilities"]


def assignment_kind(model):
    """The model's kind of assignment (``'single'`` without a recipe)."""
    name = getattr(model, "recipe", None)
    return "single" if name is None else recipes.get(name).assignment


def _tree(model):
    return find_layer(model.generator, TreeMixture)


def _gate(model):
    return find_layer(model.generator, MEGANGate)


def _forward(model, z):
    return model.generator(tf.convert_to_tensor(z, tf.float32),
                           training=False)


def _single(model, z):
    out = _forward(model, z)
    return out, np.zeros(len(out), np.int64)


def _by_tree(model, z):
    out = _forward(model, z)
    return out, np.argmax(_tree(model).leaf_probabilities(z).numpy(), 1)


def _by_gumbel(model, z):
    gate = _gate(model)
    state = gate.seed_generator.state
    before = np.array(state.numpy())
    out = _forward(model, z)
    after = np.array(state.numpy())
    state.assign(before)
    choice = gate.hard_choice(tf.convert_to_tensor(z, tf.float32))
    state.assign(after)
    return out, choice.numpy().astype(np.int64)


def _by_heads(model, z):
    out = _forward(model, z)
    return out, np.repeat(np.arange(model.num_generators), len(z))


_OUTPUTS = {"single": _single, "tree": _by_tree, "gumbel": _by_gumbel,
            "heads": _by_heads}


def outputs_and_generators(model, z):
    """The generator's raw outputs for codes ``z`` and which generator drew
    each.

    The outputs are the generator network's, not clipped to ``[-1, 1]``
    (2-D toy points live in their own coordinates); multi-head models give
    ``K * len(z)`` rows.

    Args:
        model: a ``deep_learning.models.gan.GAN``.
        z: array ``(n, latent_dim)``.

    Returns:
        ``(outputs, generators)``: float32 numpy array and int64 ``(N,)``.
    """
    out, index = _OUTPUTS[assignment_kind(model)](model, z)
    return np.asarray(out, np.float32), np.asarray(index, np.int64)


def responsibilities(model, z):
    """``(n, K)`` probabilities of each generator for codes ``z`` (rows sum
    to 1), or None for models without a gate (single, heads)."""
    kind = assignment_kind(model)
    z = tf.convert_to_tensor(z, tf.float32)
    if kind == "tree":
        return _tree(model).leaf_probabilities(z).numpy()
    if kind == "gumbel":
        _, logits = _gate(model).experts_and_logits(z)
        return tf.nn.softmax(logits).numpy()
    return None


def num_generators(model):
    """K, the model's number of generators (1 without a recipe)."""
    kind = assignment_kind(model)
    if kind == "tree":
        return _tree(model).num_leaves
    if kind == "gumbel":
        return _gate(model).experts
    if kind == "heads":
        return model.num_generators
    return 1


def gate_sharpness(usage):
    """How decisively a gate assigns codes, from ``(N, L)`` leaf
    probabilities (each row sums to 1).

    Returns:
        dict: ``mean_max_probability`` (mean over codes of the most
        responsible leaf's probability; 1/L for a uniform gate, 1 for a
        hard one), ``mean_entropy_nats`` (mean per-code entropy; log L
        uniform, 0 hard), ``max_entropy_nats`` (log L), ``usage_entropy_nats``
        (entropy of the mean usage: log L when every leaf carries the same
        share), ``leaves_most_responsible`` (leaves that are the most
        responsible one for at least one code) and ``num_codes``.
    """
    usage = np.asarray(usage, np.float64)
    if usage.ndim != 2 or usage.shape[1] < 2:
        raise ValueError(f"usage must be (N, L) with L >= 2. Received shape "
                         f"{usage.shape}")
    share = usage.mean(0)
    return {
        "mean_max_probability": float(usage.max(1).mean()),
        "mean_entropy_nats": float(
            -np.sum(usage * np.log(np.clip(usage, 1e-300, None)), 1).mean()),
        "max_entropy_nats": float(np.log(usage.shape[1])),
        "usage_entropy_nats": float(
            -np.sum(share * np.log(np.clip(share, 1e-300, None)))),
        "leaves_most_responsible": int(len(np.unique(usage.argmax(1)))),
        "num_codes": int(usage.shape[0]),
    }

"""Mixture-of-generator layers: HMoG tree, MoG gate, MEGAN gate, MADGAN heads.

All of them map the latent code z to the representation h that the shared
DCGAN block B_s turns into an image, and all of them register builder ops so
that a generator stays a plain list of layer dicts:

* ``'hmog'``: the hierarchical mixture of generators (Ahmetoglu & Alpaydin),
  a soft decision tree of depth ``depth`` over z with sigmoid gates (or K-ary
  softmax gates with ``branching=K``) at the internal nodes and linear leaf
  generators ``W_m z + b_m``: ``h = sum_m pi_m(z) (W_m z + b_m)``.
* ``'mog'``: the flat mixture, one softmax gate over ``leaves`` linear
  leaves. It is the depth-1 tree with ``branching=leaves``.
* ``'megan'``: MEGAN's (Park et al. 2018) gated experts: K first layers
  ``h_k = relu(z W_k + b_k)``, a shared projection of each h_k concatenated
  with z into gate logits, a straight-through Gumbel-softmax choice and
  ``h = sum_k g_k h_k``.
* ``'heads'`` + ``'fold_heads'``: MADGAN's / MGAN's K generator heads; every
  z goes through all K heads and the results are stacked generator-major on
  the batch axis, ``(B, in) -> (K*B, out)``.

Choices the paper leaves open, taken from the authors' code (see
``docs/mixtures.md``): gate weights ~ N(0, 1/in) (He init with the sigmoid
gain) for the tree and Glorot normal for the flat softmax gate, zero gate
biases; leaf weights ~ N(0, 1/in), zero leaf biases; no activation between h
and B_s for HMoG/MoG.

Mixing: the layer mixes the leaf *outputs* (one GEMM ``z @ [W_1 .. W_L]``
then a weighted sum over leaves) rather than the leaf *weights*
(``(sum_m pi_m W_m) z``, the authors' form). Both are exact and cost the same
FLOPs, but mixing weights materialises a (B, in, out) tensor (210 MB for
B=128, in=100, out=4096) and runs as a batched matmul.
``benchmarks/mixture_mixing.py`` (16 leaves, B=128, 100 -> 4096, forward +
backward, 2-core CPU shared with other jobs): mixing outputs 383 ms, mixing
weights 2,086 ms, 5.4x slower, so outputs are mixed.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from deep_learning.network.grammar import (ArchitectureError, KeySpec,
                                           boolean, choice, fail,
                                           positive_float, positive_int,
                                           register_op)
from general_tools.gumbel import gumbel_softmax

__all__ = ["TreeMixture", "MEGANGate", "GeneratorHeads", "FoldHeads",
           "TREE_MEMORY_LIMIT", "tree_memory", "tree_path_matrix",
           "find_layer"]

#: Most bytes a tree's path matrix and weights may take (float32): 2 GiB.
TREE_MEMORY_LIMIT = 2 * 1024 ** 3
_GIB = 1024 ** 3


def tree_memory(depth, branching, fan_in=None, units=None):
    """Bytes of float32 a :class:`TreeMixture` needs, in Python ints (no
    overflow, nothing allocated).

    Args:
        depth: int. Tree depth.
        branching: int. Children per internal node.
        fan_in: int or None. Size of z (None: weights not counted).
        units: int or None. Size of h (None: weights not counted).

    Returns:
        ``(path_bytes, weight_bytes)``: the path matrix of
        :func:`tree_path_matrix`, and the leaf and gate weights.
    """
    leaves = branching ** depth
    internal = (leaves - 1) // (branching - 1)
    nodes = (branching ** (depth + 1) - 1) // (branching - 1)
    path = 4 * internal * branching * nodes
    if fan_in is None or units is None:
        return path, 0
    gates = internal if branching == 2 else internal * branching
    weights = 4 * (fan_in * leaves * units + leaves * units
                   + (fan_in + 1) * gates)
    return path, weights


def tree_memory_problem(depth, branching, fan_in=None, units=None):
    """Why a tree is too large for :data:`TREE_MEMORY_LIMIT`, or None."""
    path, weights = tree_memory(depth, branching, fan_in, units)
    if path + weights <= TREE_MEMORY_LIMIT:
        return None
    leaves = branching ** depth
    return (f"a tree of depth {depth} with branching {branching} has "
            f"{leaves:,} leaves and needs {(path + weights) / _GIB:.3g} GiB "
            f"(path matrix {path / _GIB:.3g} GiB, leaf and gate weights "
            f"{weights / _GIB:.3g} GiB), more than the "
            f"{TREE_MEMORY_LIMIT / _GIB:.3g} GiB limit")


def tree_path_matrix(depth: int, branching: int = 2) -> np.ndarray:
    """0/1 matrix A (n_internal * branching, n_nodes) with A[e, n] = 1 when
    edge e (child slot c of internal node i, index ``i * branching + c``) lies
    on the path from the root to node n. Nodes are in heap order (root 0,
    children of node i at ``branching * i + 1 + c``).

    With ``log_child[b, e]`` the log-probability of edge e, node
    log-densities are ``log_child @ A``: one matmul, no per-node loop.
    """
    n_nodes = (branching ** (depth + 1) - 1) // (branching - 1)
    n_internal = (branching ** depth - 1) // (branching - 1)
    a = np.zeros((n_internal * branching, n_nodes), np.float32)
    for node in range(1, n_nodes):
        child, parent = node, (node - 1) // branching
        while child > 0:
            slot = (child - 1) - branching * parent
            a[parent * branching + slot, node] = 1.0
            child, parent = parent, (parent - 1) // branching
    return a


@keras.saving.register_keras_serializable(package="mixgan")
class TreeMixture(keras.layers.Layer):
    """Soft decision tree over z with linear leaf generators (HMoG / MoG).

    ``h = sum_m pi_m(z) (W_m z + b_m)`` where pi_m(z) is the product of the
    gate values on the root-to-leaf path. Binary trees use one sigmoid per
    internal node (the left child gets sigma, the right 1 - sigma);
    ``branching=K`` uses a K-way softmax per internal node; ``depth=1`` with
    ``branching=K`` is the flat softmax mixture (MoG).

    Args:
        units: int. Size of h (4096 = 256*4*4 in the paper).
        depth: int. Tree depth; 2**depth leaves for a binary tree.
        branching: int. Children per internal node. Defaults to 2.
        gate_init: str. ``'he_sigmoid'`` (N(0, 1/in), the authors' HMoG) or
            ``'glorot_normal'`` (the authors' MoG). Defaults to 'he_sigmoid'.
        leaf_std: float or None. Std of the leaf weights; None = 1/sqrt(in).
        use_leaf_bias: bool. Defaults to True.
    """

    def __init__(self, units, depth, branching=2, gate_init="he_sigmoid",
                 leaf_std=None, use_leaf_bias=True, **kwargs):
        super().__init__(**kwargs)
        if branching < 2:
            raise ValueError(f"branching must be >= 2. Received: {branching}")
        if depth < 1:
            raise ValueError(f"depth must be >= 1. Received: {depth}")
        too_large = tree_memory_problem(depth, branching)
        if too_large:
            raise ValueError(f"depth={depth}: {too_large}")
        if gate_init not in ("he_sigmoid", "glorot_normal"):
            raise ValueError("gate_init must be 'he_sigmoid' or "
                             f"'glorot_normal'. Received: {gate_init!r}")
        self.units = int(units)
        self.depth = int(depth)
        self.branching = int(branching)
        self.gate_init = gate_init
        self.leaf_std = leaf_std
        self.use_leaf_bias = bool(use_leaf_bias)
        self.num_leaves = branching ** depth
        self.num_internal = (branching ** depth - 1) // (branching - 1)
        self.num_nodes = (branching ** (depth + 1) - 1) // (branching - 1)
        # Sigmoid gates need one logit per binary node; softmax gates one
        # per child.
        self._gate_outputs = (self.num_internal if branching == 2
                              else self.num_internal * branching)
        self._paths = tree_path_matrix(depth, branching)

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        if self.gate_init == "he_sigmoid":
            g_init = keras.initializers.RandomNormal(stddev=1 / math.sqrt(fan_in))
        else:
            g_init = keras.initializers.RandomNormal(
                stddev=math.sqrt(2 / (fan_in + self._gate_outputs)))
        self.gate_kernel = self.add_weight(
            name="gate_kernel", shape=(fan_in, self._gate_outputs),
            initializer=g_init)
        self.gate_bias = self.add_weight(
            name="gate_bias", shape=(self._gate_outputs,), initializer="zeros")
        std = self.leaf_std or 1 / math.sqrt(fan_in)
        self.leaf_kernel = self.add_weight(
            name="leaf_kernel", shape=(fan_in, self.num_leaves * self.units),
            initializer=keras.initializers.RandomNormal(stddev=std))
        if self.use_leaf_bias:
            self.leaf_bias = self.add_weight(
                name="leaf_bias", shape=(self.num_leaves, self.units),
                initializer="zeros")

    def _edge_log_probs(self, z):
        logits = tf.matmul(tf.cast(z, tf.float32),
                           tf.cast(self.gate_kernel, tf.float32))
        logits = logits + tf.cast(self.gate_bias, tf.float32)
        if self.branching == 2:
            # log sigma(a) and log(1 - sigma(a)) = log sigma(-a), stably.
            left = tf.math.log_sigmoid(logits)
            right = tf.math.log_sigmoid(-logits)
            return tf.reshape(tf.stack([left, right], axis=-1),
                              [-1, 2 * self.num_internal])
        logits = tf.reshape(logits, [-1, self.num_internal, self.branching])
        return tf.reshape(tf.nn.log_softmax(logits, axis=-1),
                          [-1, self.num_internal * self.branching])

    def node_probabilities(self, z):
        """Path probability of every node, (B, num_nodes) in heap order (root
        first, root = 1, children of node i at ``branching*i + 1 + c``;
        for a binary tree the left child gets the gate value). float32."""
        log_dens = tf.matmul(self._edge_log_probs(z),
                             tf.constant(self._paths))
        return tf.exp(log_dens)

    def leaf_probabilities(self, z):
        """pi(z), (B, num_leaves), the last ``num_leaves`` heap nodes."""
        return self.node_probabilities(z)[:, -self.num_leaves:]

    def call(self, z):
        pi = tf.cast(self.leaf_probabilities(z), self.compute_dtype)
        leaves = tf.matmul(z, self.leaf_kernel)  # (B, L*units), one GEMM
        leaves = tf.reshape(leaves, [-1, self.num_leaves, self.units])
        if self.use_leaf_bias:
            leaves = leaves + self.leaf_bias
        return tf.einsum("bl,blu->bu", pi, leaves)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "depth": self.depth, "branching": self.branching,
                "gate_init": self.gate_init, "leaf_std": self.leaf_std,
                "use_leaf_bias": self.use_leaf_bias}


@keras.saving.register_keras_serializable(package="mixgan")
class MEGANGate(keras.layers.Layer):
    """MEGAN's gated experts with a straight-through Gumbel-softmax choice.

    ``h_k = relu(z W_k + b_k)``; ``nu_k = P h_k`` (one projection shared by
    the experts, ``proj_units`` wide); gate logits ``= [z, nu_1..nu_K] G +
    c``; ``g = gumbel_softmax(logits, temperature, hard=True)``;
    ``h = sum_k g_k h_k``. The forward pass picks one expert per sample, the
    gradient is the soft sample's.

    Args:
        units: int. Size of h.
        experts: int. K.
        proj_units: int or None. Width of the projection; None = size of z
            (100 in the authors' code).
        temperature: float. Gumbel-softmax temperature. Defaults to 1.0.
        seed: int or None. Seed of the Gumbel noise.
        expert_act: str. ``'relu'`` (the authors' image experts) or
            ``'linear'`` (linear experts, used for the 2-D toy so that
            MEGAN's experts match the HMoG leaves). Defaults to 'relu'.
    """

    def __init__(self, units, experts, proj_units=None, temperature=1.0,
                 seed=None, expert_act="relu", **kwargs):
        super().__init__(**kwargs)
        if expert_act not in ("relu", "linear"):
            raise ValueError("expert_act must be 'relu' or 'linear'. "
                             f"Received: {expert_act!r}")
        self.expert_act = expert_act
        self.units, self.experts = int(units), int(experts)
        self.proj_units = proj_units
        self.temperature = float(temperature)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        proj = self.proj_units or fan_in
        he = keras.initializers.HeNormal()
        self.expert_kernel = self.add_weight(
            name="expert_kernel", shape=(fan_in, self.experts * self.units),
            initializer=keras.initializers.RandomNormal(
                stddev=math.sqrt(2 / fan_in)))
        self.expert_bias = self.add_weight(
            name="expert_bias", shape=(self.experts * self.units,),
            initializer="zeros")
        self.proj_kernel = self.add_weight(
            name="proj_kernel", shape=(self.units, proj), initializer=he)
        self.proj_bias = self.add_weight(name="proj_bias", shape=(proj,),
                                         initializer="zeros")
        self.gate_kernel = self.add_weight(
            name="gate_kernel", shape=(fan_in + self.experts * proj,
                                       self.experts),
            initializer="glorot_uniform")
        self.gate_bias = self.add_weight(name="gate_bias",
                                         shape=(self.experts,),
                                         initializer="zeros")

    @property
    def gating_weights(self):
        """Variables of the projection and the gate (MEGAN's load-balancing
        regulariser updates only these)."""
        return [self.proj_kernel, self.proj_bias, self.gate_kernel,
                self.gate_bias]

    def experts_and_logits(self, z):
        """Expert outputs (B, K, units) and gate logits (B, K)."""
        h = tf.matmul(z, self.expert_kernel) + self.expert_bias
        if self.expert_act == "relu":
            h = tf.nn.relu(h)
        h = tf.reshape(h, [-1, self.experts, self.units])
        nu = tf.einsum("bku,up->bkp", h, self.proj_kernel) + self.proj_bias
        flat = tf.reshape(nu, [-1, self.experts * nu.shape[-1]])
        logits = tf.matmul(tf.concat([z, flat], axis=-1), self.gate_kernel)
        return h, logits + self.gate_bias

    def _gate(self, logits):
        """The straight-through one-hot choice; draws Gumbel noise from
        :attr:`seed_generator` (one draw of the logits' shape per call)."""
        return gumbel_softmax(logits, temperature=self.temperature,
                              hard=True, seed=self.seed_generator)

    def call(self, z, training=None):
        h, logits = self.experts_and_logits(z)
        gate = self._gate(logits)
        return tf.einsum("bk,bku->bu", tf.cast(gate, h.dtype), h)

    def hard_choice(self, z):
        """The expert each code gets, int ``(B,)``: the same draw as
        :meth:`call` makes from the same :attr:`seed_generator` state, so
        after restoring the state a forward pass left, this names the
        expert that pass used."""
        _, logits = self.experts_and_logits(z)
        return tf.argmax(self._gate(logits), axis=-1, output_type=tf.int32)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "experts": self.experts, "proj_units": self.proj_units,
                "temperature": self.temperature, "seed": self.seed,
                "expert_act": self.expert_act}


@keras.saving.register_keras_serializable(package="mixgan")
class GeneratorHeads(keras.layers.Layer):
    """K dense generator heads.

    On a flat input every z goes through all K heads, (B, in) -> (B, K,
    units); on a per-head input (B, K, in) head k maps its own slice, so
    heads can be stacked into per-head MLPs (the toy MADGAN/MGAN's
    Linear -> Tanh -> Linear). Combine with ``act_nm='bn'`` (batch norm per
    head and feature, as the authors' ``BatchNorm1d(K*units)``) and
    :class:`FoldHeads`.
    """

    def __init__(self, units, heads, use_bias=True, kernel_std=None, **kwargs):
        super().__init__(**kwargs)
        self.units, self.heads = int(units), int(heads)
        self.use_bias = bool(use_bias)
        self.kernel_std = kernel_std

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self._per_head = len(input_shape) == 3
        if self._per_head and input_shape[1] != self.heads:
            raise ValueError(f"a per-head input must have {self.heads} heads. "
                             f"Received shape {tuple(input_shape)}")
        std = self.kernel_std or math.sqrt(2 / fan_in)  # He (ReLU), as MADGAN
        shape = ((self.heads, fan_in, self.units) if self._per_head
                 else (fan_in, self.heads * self.units))
        self.kernel = self.add_weight(
            name="kernel", shape=shape,
            initializer=keras.initializers.RandomNormal(stddev=std))
        if self.use_bias:
            self.bias = self.add_weight(name="bias",
                                        shape=(self.heads * self.units,),
                                        initializer="zeros")

    def call(self, z):
        if self._per_head:
            y = tf.einsum("bki,kiu->bku", z, self.kernel)
            y = tf.reshape(y, [-1, self.heads * self.units])
        else:
            y = tf.matmul(z, self.kernel)
        if self.use_bias:
            y = y + self.bias
        return tf.reshape(y, [-1, self.heads, self.units])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.heads, self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "heads": self.heads, "use_bias": self.use_bias,
                "kernel_std": self.kernel_std}


@keras.saving.register_keras_serializable(package="mixgan")
class FoldHeads(keras.layers.Layer):
    """(B, K, ...) -> (K*B, ...), generator-major: rows k*B .. (k+1)*B-1 come
    from head k."""

    def call(self, x):
        perm = [1, 0] + list(range(2, len(x.shape)))
        x = tf.transpose(x, perm)
        return tf.reshape(x, [-1] + list(x.shape[2:]))

    def compute_output_shape(self, input_shape):
        batch = None if input_shape[0] is None else input_shape[0] * input_shape[1]
        return (batch,) + tuple(input_shape[2:])


def find_layer(model, cls):
    """The first layer of type ``cls`` inside a (nested) Keras model."""
    stack = list(getattr(model, "layers", []))
    while stack:
        layer = stack.pop(0)
        if isinstance(layer, cls):
            return layer
        stack.extend(getattr(layer, "layers", []))
    raise ValueError(f"model {model.name!r} has no {cls.__name__} layer")


# ----------------------------- builder ops ---------------------------------

def _units_key():
    return KeySpec(positive_int, None, "size of h (e.g. 4096 = 256*4*4)",
                   required=True)


@register_op("hmog", keys={
    "out": _units_key(),
    "depth": KeySpec(positive_int, None, "HMoG tree depth", required=True),
    "branching": KeySpec(positive_int, 2, "children per internal node (2 = "
                         "sigmoid gates, K > 2 = K-way softmax gates)"),
}, doc="hierarchical mixture of linear generators (soft tree over z)",
    input_rank=1)
def _hmog_op(cfg, input_shape, context):
    if cfg["branching"] < 2:
        fail(f"{cfg['_where']}, key 'branching'", "an integer >= 2",
              cfg["branching"])
    too_large = tree_memory_problem(cfg["depth"], cfg["branching"],
                                    input_shape[-1], cfg["out"])
    if too_large:
        raise ArchitectureError(f"{cfg['_where']}, key 'depth': {too_large}")
    return TreeMixture(cfg["out"], cfg["depth"], cfg["branching"],
                       gate_init="he_sigmoid", name=f"{cfg['name']}_hmog")


@register_op("mog", keys={
    "out": _units_key(),
    "leaves": KeySpec(positive_int, None, "number of linear generators K",
                      required=True),
}, doc="flat mixture of linear generators (one softmax gate over z)",
    input_rank=1)
def _mog_op(cfg, input_shape, context):
    if cfg["leaves"] < 2:
        fail(f"{cfg['_where']}, key 'leaves'", "an integer >= 2",
              cfg["leaves"])
    too_large = tree_memory_problem(1, cfg["leaves"], input_shape[-1],
                                    cfg["out"])
    if too_large:
        raise ArchitectureError(f"{cfg['_where']}, key 'leaves': {too_large}")
    return TreeMixture(cfg["out"], depth=1, branching=cfg["leaves"],
                       gate_init="glorot_normal", name=f"{cfg['name']}_mog")


@register_op("megan", keys={
    "out": _units_key(),
    "experts": KeySpec(positive_int, None, "number of generators K",
                       required=True),
    "tau": KeySpec(positive_float, 1.0, "Gumbel-softmax temperature"),
    "proj": KeySpec(positive_int, None, "width of MEGAN's projection of each "
                    "expert (default: size of z)"),
    "expert_act": KeySpec(choice("relu", "linear"), "relu", "activation of "
                          "MEGAN's experts ('linear' for the 2-D toy)"),
}, doc="MEGAN gated experts with straight-through Gumbel-softmax",
    input_rank=1)
def _megan_op(cfg, input_shape, context):
    return MEGANGate(cfg["out"], cfg["experts"], proj_units=cfg["proj"],
                     temperature=cfg["tau"], expert_act=cfg["expert_act"],
                     name=f"{cfg['name']}_megan")


@register_op("heads", keys={
    "out": _units_key(),
    "heads": KeySpec(positive_int, None, "number of generator heads K",
                     required=True),
    "bias": KeySpec(boolean, True, "add a bias per head"),
}, doc="K dense generator heads: (F,) -> (K, out), every z through all; "
    "(K, F) -> (K, out), head k on its own slice")
def _heads_op(cfg, input_shape, context):
    if len(input_shape) not in (1, 2) or (
            len(input_shape) == 2 and input_shape[0] != cfg["heads"]):
        fail(f"{cfg['_where']}, key 'op'", f"a (F,) or ({cfg['heads']}, F) "
             "input for 'heads'", tuple(input_shape))
    return GeneratorHeads(cfg["out"], cfg["heads"], use_bias=cfg["bias"],
                          name=f"{cfg['name']}_heads")


@register_op("fold_heads", keys={}, doc="stack heads on the batch axis, "
             "generator-major: (K, ...) -> batch K*B")
def _fold_op(cfg, input_shape, context):
    return FoldHeads(name=f"{cfg['name']}_fold")


"""The architecture grammar: layer-dict keys, their validators, and the op
and activation registries.

:mod:`deep_learning.network.builder` assembles models from specs checked here. Modules
that add ops (mixture gates, latent layers, BEGAN blocks) use
:func:`register_op` with :class:`KeySpec` entries built from the public
validators below (:func:`positive_int`, :func:`choice`, ...), each of which
takes ``(value, where)`` and raises :class:`ArchitectureError` naming ``where``
(layer and key). The grammar is documented in ``docs/architecture.md``;
:func:`describe_grammar` prints it from the live registry.

Rules across keys, checked after each key is valid on its own:

* Layer-dict keys are strings; any other key is an error naming it.
* A key that another key makes meaningless is an error naming the layer and
  both keys (:data:`KEY_RULES`), never silently ignored: ``act_k``,
  ``sn_mode`` and ``sn_iters`` need ``w_nm='s'``; ``bias_init`` needs a
  bias (not ``bias=False``, and ``bias=True`` with ``act_nm='bn'``);
  ``nm_pos`` needs ``act_nm``.
* Ops check what only they know: the mixture trees (``'hmog'``, ``'mog'``)
  refuse a ``depth`` / ``leaves`` whose path matrix and leaf weights would
  take more than ``mixture_layers.TREE_MEMORY_LIMIT`` bytes, stating the
  memory needed.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any, Callable

import keras

__all__ = [
    "ArchitectureError", "KeySpec", "KeyRule", "OpSpec", "COMMON_KEYS",
    "WEIGHT_KEYS", "CONV_KEYS", "KEY_RULES", "available_activations",
    "available_ops", "boolean", "check_key_rules", "choice",
    "describe_grammar", "fail", "get_activation", "get_op", "int_pair",
    "make_initializer", "positive_float", "positive_int", "register_activation",
    "register_op", "shape_value", "string",
]


class ArchitectureError(ValueError):
    """A malformed architecture spec; the message names layer and key."""


# ---------------------------------------------------------------------------
# Value validators. Each takes (value, where) and returns the normalised
# value, raising ArchitectureError with `where` (layer + key) in the message.
# ---------------------------------------------------------------------------


def fail(where: str, expected: str, value: Any) -> None:
    raise ArchitectureError(f"{where}: expected {expected}. Received: {value!r}")


def positive_int(value, where):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        fail(where, "a positive integer", value)
    if value <= 0:
        fail(where, "a positive integer", value)
    return int(value)


def int_pair(value, where):
    """An int or a pair of ints, each positive; returned as a 2-tuple."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            fail(where, "a positive integer or a pair of them", value)
        return tuple(positive_int(v, where) for v in value)
    v = positive_int(value, where)
    return (v, v)


def shape_value(value, where):
    """A target shape without the batch axis; at most one -1."""
    if not isinstance(value, (list, tuple)) or not value:
        fail(where, "a non-empty list of ints (shape without batch axis)", value)
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or (
                v <= 0 and v != -1):
            fail(where, "positive ints (one -1 allowed)", value)
        out.append(int(v))
    if out.count(-1) > 1:
        fail(where, "at most one -1", value)
    return tuple(out)


def choice(*options):
    def check(value, where):
        key = value.lower() if isinstance(value, str) else value
        if key not in options:
            fail(where, f"one of {list(options)}", value)
        return key
    return check


def boolean(value, where):
    if not isinstance(value, bool):
        fail(where, "True or False", value)
    return value


def positive_float(value, where):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
            math.isfinite(value) and value > 0):
        fail(where, "a positive finite number", value)
    return float(value)


def string(value, where):
    if not isinstance(value, str) or not value:
        fail(where, "a non-empty string", value)
    if "/" in value:
        fail(where, "a name without '/'", value)
    return value


def scale_value(value, where):
    """``[method, factor]``: factor > 1 up-samples before the op, factor < -1
    down-samples after the activation (the MMD-GAN repository's convention)."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        fail(where, "[method, factor], e.g. ['nearest', 2] or ['avg', -2]", value)
    method, factor = value
    if isinstance(factor, bool) or not isinstance(factor, numbers.Integral) or abs(
            factor) < 2:
        fail(where, "an integer factor with |factor| >= 2", value)
    up, down = ("nearest", "bilinear"), ("avg", "max")
    if factor > 0 and method not in up:
        fail(where, f"an up-sampling method in {list(up)} for factor > 0", value)
    if factor < 0 and method not in down:
        fail(where, f"a down-sampling method in {list(down)} for factor < 0",
              value)
    return (method, int(factor))


def activation_value(value, where):
    """``'relu'`` or ``['lrelu', slope]``; see :func:`available_activations`."""
    name, arg = value, None
    if isinstance(value, (list, tuple)):
        if len(value) != 2 or not isinstance(value[0], str):
            fail(where, "an activation name or [name, parameter]", value)
        name, arg = value
        if isinstance(arg, bool) or not isinstance(arg, numbers.Real):
            fail(where, "a numeric activation parameter", value)
    if not isinstance(name, str) or name.lower() not in _ACTIVATIONS:
        fail(where, f"an activation in {available_activations()}", value)
    return (name.lower(), arg)


_INIT_NAMES = ("default", "dcgan", "glorot_uniform", "glorot_normal",
               "he_normal", "he_uniform", "lecun_normal", "orthogonal", "zeros",
               "ones")


def initializer_value(value, where):
    """A name, ``['normal', std]`` / ``['truncated_normal', std]``, or a Keras
    initializer object."""
    if isinstance(value, keras.initializers.Initializer):
        return value
    if isinstance(value, str) and value.lower() in _INIT_NAMES:
        return value.lower()
    if (isinstance(value, (list, tuple)) and len(value) == 2
            and value[0] in ("normal", "truncated_normal")):
        return (value[0], positive_float(value[1], where))
    fail(where, f"one of {list(_INIT_NAMES)}, ['normal', std], "
          "['truncated_normal', std] or a keras initializer", value)


def make_initializer(value, act_name, for_bias=False):
    if isinstance(value, keras.initializers.Initializer):
        return value
    if isinstance(value, tuple):
        kind, std = value
        if kind == "normal":
            return keras.initializers.RandomNormal(stddev=std)
        return keras.initializers.TruncatedNormal(stddev=std)
    if value == "default":
        # The MMD-GAN repository's default: He normal before (leaky) ReLU,
        # Glorot uniform otherwise; biases start at zero.
        if for_bias:
            return keras.initializers.Zeros()
        if act_name in ("relu", "lrelu"):
            return keras.initializers.HeNormal()
        return keras.initializers.GlorotUniform()
    if value == "dcgan":
        # DCGAN / HMoG code: weights and biases from N(0, 0.02).
        return keras.initializers.RandomNormal(stddev=0.02)
    return keras.initializers.get(value)


# ---------------------------------------------------------------------------
# Grammar: key specs, op registry, activation registry.
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class KeySpec:
    """One key of a layer dict: validator, default and a one-line meaning."""

    check: Callable[[Any, str], Any]
    default: Any
    doc: str
    required: bool = False


# Keys every layer accepts, whatever its op.
COMMON_KEYS: dict[str, KeySpec] = {
    "name": KeySpec(string, None, "layer name, unique in the network "
                    "(default `l<index>`)"),
    "op": KeySpec(None, None, "core operation code (see the op table)",
                  required=True),
    "act": KeySpec(activation_value, ("linear", None), "activation: a name or "
                   "[name, parameter], e.g. ['lrelu', 0.1]"),
    "act_nm": KeySpec(choice(None, "none", "bn", "ln"), None,
                      "normalisation: None/'none', 'bn' batch norm (per "
                      "channel; per head and feature for (K, F) heads), 'ln' "
                      "layer norm over all non-batch axes (per-element affine)"),
    "nm_pos": KeySpec(choice("before", "after"), "before",
                      "normalisation before (default) or after the activation"),
    "in_reshape": KeySpec(shape_value, None, "reshape the input (batch axis kept) "
                          "before anything else"),
    "out_reshape": KeySpec(shape_value, None, "reshape the output (batch axis "
                           "kept) after everything else"),
    "scale": KeySpec(scale_value, None, "[method, factor]: factor>1 up-samples "
                     "('nearest'|'bilinear') before the op, factor<-1 "
                     "down-samples ('avg'|'max') after the activation"),
}

# Keys shared by the weight-carrying ops ('d', 'c', 'tc').
WEIGHT_KEYS: dict[str, KeySpec] = {
    "out": KeySpec(positive_int, None, "output features (d) or channels "
                   "(c, tc)", required=True),
    "bias": KeySpec(boolean, None, "add a bias; default True, False when "
                    "act_nm='bn' (the norm's offset replaces it)"),
    "w_nm": KeySpec(choice(None, "none", "s"), None,
                    "weight normalisation: 's' = spectral norm"),
    "act_k": KeySpec(positive_float, 1.0, "spectral-norm multiplier C: the "
                     "kernel used is W*C/sigma (only with w_nm='s')"),
    "sn_mode": KeySpec(choice("conv", "matrix"), None, "spectral-norm "
                       "estimate: 'conv' (power iteration on the operator) or "
                       "'matrix' (reshaped kernel); default from build_network"),
    "sn_iters": KeySpec(positive_int, 1, "power iterations per training call"),
    "init": KeySpec(initializer_value, "default", "kernel initialiser: 'default' "
                    "(He normal before relu/lrelu, else Glorot uniform), "
                    "'dcgan' (N(0, 0.02)), a Keras name, ['normal', std], "
                    "['truncated_normal', std] or an initializer object"),
    "bias_init": KeySpec(initializer_value, None, "bias initialiser (default: "
                         "zeros, or N(0, 0.02) when init='dcgan')"),
}

CONV_KEYS: dict[str, KeySpec] = {
    "kernel": KeySpec(int_pair, (3, 3), "kernel size: int or [kh, kw]"),
    "strides": KeySpec(int_pair, (1, 1), "strides: int or [sh, sw]"),
    "padding": KeySpec(choice("same", "valid"), "same", "'same' or 'valid'"),
}


@dataclasses.dataclass(frozen=True)
class KeyRule:
    """A key that has an effect only when another key allows it. Giving it
    when it would have none is an error, not silently ignored.

    ``ignored(cfg)`` tells, on the validated and defaulted layer config,
    whether ``key`` would have no effect because of ``other``.
    """

    key: str
    other: str
    ignored: Callable[[dict], bool]
    reason: str


def _no_spectral_norm(cfg):
    return cfg["w_nm"] != "s"


KEY_RULES: tuple[KeyRule, ...] = (
    KeyRule("act_k", "w_nm", _no_spectral_norm,
            "the multiplier C applies only with w_nm='s'"),
    KeyRule("sn_mode", "w_nm", _no_spectral_norm,
            "the spectral-norm estimate applies only with w_nm='s'"),
    KeyRule("sn_iters", "w_nm", _no_spectral_norm,
            "power iterations apply only with w_nm='s'"),
    KeyRule("bias_init", "bias", lambda cfg: cfg["bias"] is False,
            "a layer with bias=False has no bias to initialise"),
    KeyRule("bias_init", "act_nm",
            lambda cfg: cfg["bias"] is None and cfg["act_nm"] == "bn",
            "with act_nm='bn' the layer has no bias (the norm's offset "
            "replaces it) unless bias=True is given"),
    KeyRule("nm_pos", "act_nm", lambda cfg: cfg["act_nm"] is None,
            "the normalisation position applies only with act_nm 'bn' or "
            "'ln'"),
)


def check_key_rules(cfg: dict, where: str) -> None:
    """Raises :class:`ArchitectureError` naming the layer and both keys when
    a given key would be ignored (see :data:`KEY_RULES`).

    Args:
        cfg: dict. The validated, defaulted layer config, with ``_given``
            the keys the layer dict named.
        where: str. The layer, for the message.
    """
    for rule in KEY_RULES:
        if (rule.key in cfg["_given"] and rule.other in cfg
                and rule.ignored(cfg)):
            raise ArchitectureError(
                f"{where}, keys {rule.key!r} and {rule.other!r}: "
                f"{rule.reason}. Received: {rule.key}={cfg[rule.key]!r}, "
                f"{rule.other}={cfg[rule.other]!r}")


@dataclasses.dataclass(frozen=True)
class OpSpec:
    """A registered op.

    ``factory(cfg, input_shape, where, context)`` returns the core Keras layer
    (or a callable on symbolic tensors); ``cfg`` holds every key validated and
    defaulted. ``input_rank`` is the rank (without batch axis) the op needs,
    or None for any.
    """

    code: str
    factory: Callable[..., Any]
    keys: dict[str, KeySpec]
    doc: str
    input_rank: int | None = None


_OPS: dict[str, OpSpec] = {}
_ACTIVATIONS: dict[str, tuple[Callable[[Any, str], Any], str]] = {}


def register_op(code: str, keys: dict[str, KeySpec], doc: str,
                input_rank: int | None = None):
    """Decorator registering ``factory`` as the op ``code``.

    Args:
        code: str. The value of the layer dict's ``'op'`` key.
        keys: dict. Op-specific keys (added to :data:`COMMON_KEYS`).
        doc: str. One line for the grammar table.
        input_rank: int or None. Required input rank without the batch axis.
    """
    def wrap(factory):
        if code in _OPS:
            raise ValueError(f"op {code!r} is already registered")
        clash = set(keys) & set(COMMON_KEYS)
        if clash:
            raise ValueError(f"op {code!r} redefines common keys {sorted(clash)}")
        _OPS[code] = OpSpec(code, factory, dict(keys), doc, input_rank)
        return factory
    return wrap


def register_activation(name: str, doc: str):
    """Decorator registering ``factory(param, where, layer_name) -> layer``
    (or None for the identity) as the activation ``name``."""
    def wrap(factory):
        _ACTIVATIONS[name] = (factory, doc)
        return factory
    return wrap


def available_ops() -> list[str]:
    return sorted(_OPS)


def available_activations() -> list[str]:
    return sorted(_ACTIVATIONS)


# ----------------------------- activations ---------------------------------

def _no_param(name):
    def check(param, where):
        if param is not None:
            fail(where, f"no parameter for activation {name!r}", param)
    return check


def _simple_activation(name, keras_name, doc):
    @register_activation(name, doc)
    def factory(param, where, layer_name):
        _no_param(name)(param, where)
        if keras_name is None:
            return None
        return keras.layers.Activation(keras_name, name=f"{layer_name}_act")
    return factory


for _n, _k, _d in [
        ("linear", None, "identity"),
        ("relu", "relu", "max(x, 0)"),
        ("elu", "elu", "ELU, alpha 1"),
        ("selu", "selu", "SELU"),
        ("tanh", "tanh", "tanh"),
        ("sigmoid", "sigmoid", "logistic sigmoid"),
        ("softplus", "softplus", "log(1 + e^x)"),
        ("softsign", "softsign", "x / (1 + abs(x))"),
        ("swish", "silu", "x * sigmoid(x)"),
        ("softmax", "softmax", "softmax over the last axis")]:
    _simple_activation(_n, _k, _d)


@register_activation("lrelu", "leaky ReLU; ['lrelu', slope], slope 0.2 if "
                     "omitted (the MMD-GAN scripts use 0.1)")
def _lrelu(param, where, layer_name):
    slope = 0.2 if param is None else param
    if not 0 <= slope < 1:
        fail(where, "a leaky-ReLU slope in [0, 1)", slope)
    return keras.layers.LeakyReLU(negative_slope=float(slope),
                                  name=f"{layer_name}_act")


def get_op(code: str) -> OpSpec:
    return _OPS[code]


def get_activation(name: str):
    return _ACTIVATIONS[name][0]


def describe_grammar() -> str:
    """The grammar as Markdown tables, generated from the live registry."""
    lines = ["| key | default | meaning |", "|---|---|---|"]
    for key, ks in COMMON_KEYS.items():
        lines.append(f"| `{key}` | {ks.default!r} | {ks.doc} |")
    lines += ["", "| op | input | extra keys | meaning |", "|---|---|---|---|"]
    for code in available_ops():
        op = _OPS[code]
        rank = {None: "any", 1: "(F,)", 3: "(H, W, C)"}.get(
            op.input_rank, f"rank {op.input_rank}")
        keys = ", ".join(f"`{k}`" for k in op.keys) or "none"
        lines.append(f"| `{code}` | {rank} | {keys} | {op.doc} |")
    extra = {k: ks for op in _OPS.values() for k, ks in op.keys.items()}
    lines += ["", "| op key | default | meaning |", "|---|---|---|"]
    for key, ks in extra.items():
        default = "required" if ks.required else repr(ks.default)
        lines.append(f"| `{key}` | {default} | {ks.doc} |")
    lines += ["", "| key | needs | because |", "|---|---|---|"]
    for rule in KEY_RULES:
        lines.append(f"| `{rule.key}` | `{rule.other}` | {rule.reason} |")
    lines += ["", "| activation | meaning |", "|---|---|"]
    for act in available_activations():
        lines.append(f"| `{act}` | {_ACTIVATIONS[act][1]} |")
    return "\n".join(lines)

"""Architecture dictionaries -> Keras models.

A network is data: a list of layer dicts, in the spirit of the MMD-GAN
repository's specs, turned into a functional ``keras.Model`` by one function,
:func:`build_network`. The grammar (every key, its type, default and meaning)
is documented once, in ``docs/architecture.md``; :func:`describe_grammar`
prints the same table from the live registry.

Each layer dict runs, in this order::

    in_reshape -> [up-sampling] -> op -> [norm] -> act -> [down-sampling]
               -> out_reshape

(with ``nm_pos='after'`` the normalisation comes after the activation, as in
the HMoG authors' MADGAN/MGAN blocks). ``op`` selects the core operation from
a registry; new layer types (mixture gates, latent layers, BEGAN blocks, ...)
register themselves with :func:`register_op` from their own modules, so the
builder never needs editing.

Example:

>>> spec = [
...     {'name': 'l1', 'op': 'd', 'out': 4 * 4 * 64, 'act': 'relu',
...      'out_reshape': [4, 4, 64]},
...     {'name': 'l2_up', 'op': 'tc', 'out': 32, 'kernel': 4, 'strides': 2,
...      'act_nm': 'bn', 'act': 'relu'},
...     {'name': 'l3_t', 'op': 'c', 'out': 1, 'kernel': 3, 'act': 'tanh'},
... ]
>>> g = build_network(spec, input_shape=(16,), name='generator')
>>> g.output_shape
(None, 8, 8, 1)

Malformed specs raise :class:`ArchitectureError` (a ``ValueError``) naming the
layer (index and name), the key and what was expected.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any, Callable, Sequence

import keras

__all__ = [
    "ArchitectureError",
    "KeySpec",
    "OpSpec",
    "available_ops",
    "available_activations",
    "build_network",
    "count_params",
    "describe_grammar",
    "register_activation",
    "register_op",
]


class ArchitectureError(ValueError):
    """A malformed architecture spec; the message names layer and key."""


# ---------------------------------------------------------------------------
# Value validators. Each takes (value, where) and returns the normalised
# value, raising ArchitectureError with `where` (layer + key) in the message.
# ---------------------------------------------------------------------------


def _fail(where: str, expected: str, value: Any) -> None:
    raise ArchitectureError(f"{where}: expected {expected}. Received: {value!r}")


def _positive_int(value, where):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        _fail(where, "a positive integer", value)
    if value <= 0:
        _fail(where, "a positive integer", value)
    return int(value)


def _int_pair(value, where):
    """An int or a pair of ints, each positive; returned as a 2-tuple."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            _fail(where, "a positive integer or a pair of them", value)
        return tuple(_positive_int(v, where) for v in value)
    v = _positive_int(value, where)
    return (v, v)


def _shape(value, where):
    """A target shape without the batch axis; at most one -1."""
    if not isinstance(value, (list, tuple)) or not value:
        _fail(where, "a non-empty list of ints (shape without batch axis)", value)
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or (
                v <= 0 and v != -1):
            _fail(where, "positive ints (one -1 allowed)", value)
        out.append(int(v))
    if out.count(-1) > 1:
        _fail(where, "at most one -1", value)
    return tuple(out)


def _choice(*options):
    def check(value, where):
        key = value.lower() if isinstance(value, str) else value
        if key not in options:
            _fail(where, f"one of {list(options)}", value)
        return key
    return check


def _boolean(value, where):
    if not isinstance(value, bool):
        _fail(where, "True or False", value)
    return value


def _positive_float(value, where):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
            math.isfinite(value) and value > 0):
        _fail(where, "a positive finite number", value)
    return float(value)


def _string(value, where):
    if not isinstance(value, str) or not value:
        _fail(where, "a non-empty string", value)
    if "/" in value:
        _fail(where, "a name without '/'", value)
    return value


def _scale(value, where):
    """``[method, factor]``: factor > 1 up-samples before the op, factor < -1
    down-samples after the activation (the MMD-GAN repository's convention)."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        _fail(where, "[method, factor], e.g. ['nearest', 2] or ['avg', -2]", value)
    method, factor = value
    if isinstance(factor, bool) or not isinstance(factor, numbers.Integral) or abs(
            factor) < 2:
        _fail(where, "an integer factor with |factor| >= 2", value)
    up, down = ("nearest", "bilinear"), ("avg", "max")
    if factor > 0 and method not in up:
        _fail(where, f"an up-sampling method in {list(up)} for factor > 0", value)
    if factor < 0 and method not in down:
        _fail(where, f"a down-sampling method in {list(down)} for factor < 0",
              value)
    return (method, int(factor))


def _activation(value, where):
    """``'relu'`` or ``['lrelu', slope]``; see :func:`available_activations`."""
    name, arg = value, None
    if isinstance(value, (list, tuple)):
        if len(value) != 2 or not isinstance(value[0], str):
            _fail(where, "an activation name or [name, parameter]", value)
        name, arg = value
        if isinstance(arg, bool) or not isinstance(arg, numbers.Real):
            _fail(where, "a numeric activation parameter", value)
    if not isinstance(name, str) or name.lower() not in _ACTIVATIONS:
        _fail(where, f"an activation in {available_activations()}", value)
    return (name.lower(), arg)


_INIT_NAMES = ("default", "dcgan", "glorot_uniform", "glorot_normal",
               "he_normal", "he_uniform", "lecun_normal", "orthogonal", "zeros",
               "ones")


def _initializer(value, where):
    """A name, ``['normal', std]`` / ``['truncated_normal', std]``, or a Keras
    initializer object."""
    if isinstance(value, keras.initializers.Initializer):
        return value
    if isinstance(value, str) and value.lower() in _INIT_NAMES:
        return value.lower()
    if (isinstance(value, (list, tuple)) and len(value) == 2
            and value[0] in ("normal", "truncated_normal")):
        return (value[0], _positive_float(value[1], where))
    _fail(where, f"one of {list(_INIT_NAMES)}, ['normal', std], "
          "['truncated_normal', std] or a keras initializer", value)


def _make_initializer(value, act_name, for_bias=False):
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
    "name": KeySpec(_string, None, "layer name, unique in the network "
                    "(default `l<index>`)"),
    "op": KeySpec(None, None, "core operation code (see the op table)",
                  required=True),
    "act": KeySpec(_activation, ("linear", None), "activation: a name or "
                   "[name, parameter], e.g. ['lrelu', 0.1]"),
    "act_nm": KeySpec(_choice(None, "none", "bn", "ln"), None,
                      "normalisation: None/'none', 'bn' batch norm, 'ln' layer "
                      "norm over all non-batch axes (per-element affine)"),
    "nm_pos": KeySpec(_choice("before", "after"), "before",
                      "normalisation before (default) or after the activation"),
    "in_reshape": KeySpec(_shape, None, "reshape the input (batch axis kept) "
                          "before anything else"),
    "out_reshape": KeySpec(_shape, None, "reshape the output (batch axis "
                           "kept) after everything else"),
    "scale": KeySpec(_scale, None, "[method, factor]: factor>1 up-samples "
                     "('nearest'|'bilinear') before the op, factor<-1 "
                     "down-samples ('avg'|'max') after the activation"),
}

# Keys shared by the weight-carrying ops ('d', 'c', 'tc').
WEIGHT_KEYS: dict[str, KeySpec] = {
    "out": KeySpec(_positive_int, None, "output features (d) or channels "
                   "(c, tc)", required=True),
    "bias": KeySpec(_boolean, None, "add a bias; default True, False when "
                    "act_nm='bn' (the norm's offset replaces it)"),
    "w_nm": KeySpec(_choice(None, "none", "s"), None,
                    "weight normalisation: 's' = spectral norm"),
    "act_k": KeySpec(_positive_float, 1.0, "spectral-norm multiplier C: the "
                     "kernel used is W*C/sigma (only with w_nm='s')"),
    "sn_mode": KeySpec(_choice("conv", "matrix"), None, "spectral-norm "
                       "estimate: 'conv' (power iteration on the operator) or "
                       "'matrix' (reshaped kernel); default from build_network"),
    "sn_iters": KeySpec(_positive_int, 1, "power iterations per training call"),
    "init": KeySpec(_initializer, "default", "kernel initialiser: 'default' "
                    "(He normal before relu/lrelu, else Glorot uniform), "
                    "'dcgan' (N(0, 0.02)), a Keras name, ['normal', std], "
                    "['truncated_normal', std] or an initializer object"),
    "bias_init": KeySpec(_initializer, None, "bias initialiser (default: "
                         "zeros, or N(0, 0.02) when init='dcgan')"),
}

CONV_KEYS: dict[str, KeySpec] = {
    "kernel": KeySpec(_int_pair, (3, 3), "kernel size: int or [kh, kw]"),
    "strides": KeySpec(_int_pair, (1, 1), "strides: int or [sh, sw]"),
    "padding": KeySpec(_choice("same", "valid"), "same", "'same' or 'valid'"),
}


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
            _fail(where, f"no parameter for activation {name!r}", param)
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
        _fail(where, "a leaky-ReLU slope in [0, 1)", slope)
    return keras.layers.LeakyReLU(negative_slope=float(slope),
                                  name=f"{layer_name}_act")


# ------------------------------- core ops ----------------------------------

def _weight_kwargs(cfg):
    act_name = cfg["act"][0]
    bias = cfg["bias"]
    if bias is None:
        bias = cfg["act_nm"] != "bn"
    bias_init = cfg["bias_init"]
    if bias_init is None:
        bias_init = "dcgan" if cfg["init"] == "dcgan" else "zeros"
    return dict(
        use_bias=bias,
        kernel_initializer=_make_initializer(cfg["init"], act_name),
        bias_initializer=_make_initializer(bias_init, act_name, for_bias=True),
    )


def _maybe_spectral(layer, cfg, context):
    if cfg["w_nm"] != "s":
        if cfg["act_k"] != 1.0 and "act_k" in cfg["_given"]:
            raise ArchitectureError(
                f"{cfg['_where']}, key 'act_k': the multiplier C applies only "
                f"with w_nm='s'. Received: act_k={cfg['act_k']}, "
                f"w_nm={cfg['w_nm']!r}")
        return layer
    from general_tools.spectral_norm import SpectralNormalization
    mode = cfg["sn_mode"] or context["sn_mode"]
    return SpectralNormalization(
        layer, mode=mode, multiplier=cfg["act_k"],
        power_iterations=cfg["sn_iters"], name=f"{cfg['name']}_sn")


@register_op("d", keys=dict(WEIGHT_KEYS), doc="dense (fully connected)",
             input_rank=1)
def _dense(cfg, input_shape, context):
    layer = keras.layers.Dense(cfg["out"], name=f"{cfg['name']}_dense",
                               **_weight_kwargs(cfg))
    return _maybe_spectral(layer, cfg, context)


def _conv_out(size, k, s, padding, transposed):
    if transposed:
        return size * s if padding == "same" else (size - 1) * s + k
    return -(-size // s) if padding == "same" else (size - k) // s + 1


def _check_conv_geometry(cfg, input_shape, transposed):
    h, w = input_shape[0], input_shape[1]
    out = []
    for axis, size in (("height", h), ("width", w)):
        i = 0 if axis == "height" else 1
        k, s = cfg["kernel"][i], cfg["strides"][i]
        if size is None:
            out.append(None)
            continue
        o = _conv_out(size, k, s, cfg["padding"], transposed)
        if o <= 0:
            raise ArchitectureError(
                f"{cfg['_where']}, key 'kernel': a {k}-wide kernel with "
                f"padding={cfg['padding']!r} and strides {s} does not fit an "
                f"input of {axis} {size} (output {axis} would be {o})")
        out.append(o)
    return out


@register_op("c", keys={**WEIGHT_KEYS, **CONV_KEYS},
             doc="2-D convolution (channels last)", input_rank=3)
def _conv(cfg, input_shape, context):
    _check_conv_geometry(cfg, input_shape, transposed=False)
    layer = keras.layers.Conv2D(
        cfg["out"], cfg["kernel"], strides=cfg["strides"],
        padding=cfg["padding"], name=f"{cfg['name']}_conv",
        **_weight_kwargs(cfg))
    return _maybe_spectral(layer, cfg, context)


@register_op("tc", keys={**WEIGHT_KEYS, **CONV_KEYS},
             doc="2-D transposed convolution (channels last); 'same' gives "
             "size*stride", input_rank=3)
def _tconv(cfg, input_shape, context):
    _check_conv_geometry(cfg, input_shape, transposed=True)
    layer = keras.layers.Conv2DTranspose(
        cfg["out"], cfg["kernel"], strides=cfg["strides"],
        padding=cfg["padding"], name=f"{cfg['name']}_tconv",
        **_weight_kwargs(cfg))
    return _maybe_spectral(layer, cfg, context)


@register_op("i", keys={}, doc="identity: only reshape, scale, norm and "
             "activation act")
def _identity(cfg, input_shape, context):
    return None


@register_op("gap", keys={}, doc="global average pooling over height and "
             "width", input_rank=3)
def _global_avg(cfg, input_shape, context):
    return keras.layers.GlobalAveragePooling2D(name=f"{cfg['name']}_gap")


# ---------------------------------------------------------------------------
# The builder.
# ---------------------------------------------------------------------------


def _fmt_shape(shape):
    return "(" + ", ".join("?" if s is None else str(s) for s in shape) + ")"


def _validate_layer(index, layer, seen_names, context):
    if not isinstance(layer, dict):
        raise ArchitectureError(
            f"layer {index}: expected a dict. Received: {type(layer).__name__} "
            f"{layer!r}")
    name = layer.get("name", f"l{index}")
    where = f"layer {index} ({name!r})"
    if "name" in layer:
        name = _string(layer["name"], f"{where}, key 'name'")
    if name in seen_names:
        raise ArchitectureError(f"{where}, key 'name': duplicate layer name "
                                f"{name!r} (also layer {seen_names[name]})")
    seen_names[name] = index
    if "op" not in layer:
        raise ArchitectureError(f"{where}: missing key 'op'; expected one of "
                                f"{available_ops()}")
    op = layer["op"]
    if not isinstance(op, str) or op not in _OPS:
        raise ArchitectureError(
            f"{where}, key 'op': unknown op {op!r}; expected one of "
            f"{available_ops()} (ops defined in other modules register when "
            "that module is imported)")
    opspec = _OPS[op]
    schema = {**COMMON_KEYS, **opspec.keys}
    unknown = sorted(set(layer) - set(schema))
    if unknown:
        raise ArchitectureError(
            f"{where}, key {unknown[0]!r}: unknown key for op {op!r}; "
            f"accepted keys: {sorted(schema)}")
    cfg = {"name": name, "op": op, "_where": where, "_index": index,
           "_given": frozenset(layer)}
    for key, ks in schema.items():
        if key in ("name", "op"):
            continue
        if key in layer:
            value = layer[key]
            cfg[key] = value if ks.check is None else ks.check(
                value, f"{where}, key {key!r}")
        elif ks.required:
            raise ArchitectureError(
                f"{where}: missing required key {key!r} for op {op!r} "
                f"({ks.doc})")
        else:
            cfg[key] = ks.default
    if cfg["act_nm"] == "none":
        cfg["act_nm"] = None
    if cfg.get("w_nm") == "none":
        cfg["w_nm"] = None
    return cfg, opspec


def _reshape(x, target, cfg, key):
    in_shape = tuple(x.shape[1:])
    if any(s is None for s in in_shape):
        raise ArchitectureError(
            f"{cfg['_where']}, key {key!r}: cannot reshape an input of "
            f"unknown size {_fmt_shape(in_shape)}")
    n = math.prod(in_shape)
    known = math.prod(s for s in target if s != -1)
    if -1 in target:
        if n % known:
            raise ArchitectureError(
                f"{cfg['_where']}, key {key!r}: {n} elements "
                f"{_fmt_shape(in_shape)} cannot fill shape {list(target)}")
        target = tuple(n // known if s == -1 else s for s in target)
    elif known != n:
        raise ArchitectureError(
            f"{cfg['_where']}, key {key!r}: shape {list(target)} holds {known} "
            f"elements but the tensor {_fmt_shape(in_shape)} has {n}")
    if tuple(target) == in_shape:
        return x
    return keras.layers.Reshape(target, name=f"{cfg['name']}_{key}")(x)


def _check_rank(x, cfg, opspec):
    rank = len(x.shape) - 1
    if opspec.input_rank is not None and rank != opspec.input_rank:
        hint = {1: "a flat (features,) input: add out_reshape to the previous "
                   "layer or in_reshape here",
                3: "a (height, width, channels) input: add in_reshape here or "
                   "out_reshape to the previous layer"}.get(opspec.input_rank, "")
        raise ArchitectureError(
            f"{cfg['_where']}, key 'op': op {cfg['op']!r} expects {hint}. "
            f"Received input shape {_fmt_shape(x.shape[1:])}")


def _normalisation(cfg, x):
    if cfg["act_nm"] == "bn":
        return keras.layers.BatchNormalization(name=f"{cfg['name']}_bn")(x)
    if cfg["act_nm"] == "ln":
        axes = list(range(1, len(x.shape)))
        return keras.layers.LayerNormalization(
            axis=axes, name=f"{cfg['name']}_ln")(x)
    return x


def _apply_layer(x, cfg, opspec, context):
    if cfg["in_reshape"] is not None:
        x = _reshape(x, cfg["in_reshape"], cfg, "in_reshape")
    scale = cfg["scale"]
    if scale is not None and scale[1] > 0:
        _require_spatial(x, cfg)
        x = keras.layers.UpSampling2D(scale[1], interpolation=scale[0],
                                      name=f"{cfg['name']}_up")(x)
    _check_rank(x, cfg, opspec)
    core = opspec.factory(cfg, tuple(x.shape[1:]), context)
    if core is not None:
        try:
            x = core(x)
        except ArchitectureError:
            raise
        except (ValueError, TypeError) as err:
            raise ArchitectureError(
                f"{cfg['_where']}: op {cfg['op']!r} failed on input "
                f"{_fmt_shape(x.shape[1:])}: {err}") from err
    act_name, act_param = cfg["act"]
    act_layer = _ACTIVATIONS[act_name][0](
        act_param, f"{cfg['_where']}, key 'act'", cfg["name"])
    if cfg["nm_pos"] == "before":
        x = _normalisation(cfg, x)
    if act_layer is not None:
        x = act_layer(x)
    if cfg["nm_pos"] == "after":
        x = _normalisation(cfg, x)
    if scale is not None and scale[1] < 0:
        _require_spatial(x, cfg)
        f = -scale[1]
        if any(s is not None and s < f for s in x.shape[1:3]):
            raise ArchitectureError(
                f"{cfg['_where']}, key 'scale': cannot down-sample "
                f"{_fmt_shape(x.shape[1:])} by {f}")
        pool = (keras.layers.AveragePooling2D if scale[0] == "avg"
                else keras.layers.MaxPooling2D)
        x = pool(f, name=f"{cfg['name']}_down")(x)
    if cfg["out_reshape"] is not None:
        x = _reshape(x, cfg["out_reshape"], cfg, "out_reshape")
    return x


def _require_spatial(x, cfg):
    if len(x.shape) != 4:
        raise ArchitectureError(
            f"{cfg['_where']}, key 'scale': needs a (height, width, channels) "
            f"tensor. Received {_fmt_shape(x.shape[1:])}")


def build_network(spec: Sequence[dict], input_shape: Sequence[int],
                  name: str | None = None, sn_mode: str = "conv",
                  dtype: Any = None) -> keras.Model:
    """Builds a functional ``keras.Model`` from a list of layer dicts.

    Args:
        spec: list of dict. One dict per layer; see ``docs/architecture.md``.
        input_shape: sequence of int. Input shape without the batch axis,
            e.g. ``(128,)`` for a latent code or ``(32, 32, 3)`` for images.
        name: str. Model name. Defaults to ``'network'``.
        sn_mode: str. Default spectral-norm estimate for layers with
            ``w_nm='s'`` that set no ``sn_mode``: ``'conv'`` (power iteration
            on the convolution operator, the repulsive-MMD paper's method) or
            ``'matrix'`` (Miyato et al.). Defaults to ``'conv'``.
        dtype: optional dtype policy for the input layer.

    Returns:
        A ``keras.Model`` mapping ``(batch, *input_shape)`` to the last
        layer's output.

    Raises:
        ArchitectureError: the spec is malformed; the message names the layer
            (index and name), the key and what was expected.
    """
    if isinstance(spec, dict) or not isinstance(spec, (list, tuple)):
        raise ArchitectureError(
            f"spec must be a list of layer dicts. Received: {type(spec).__name__}")
    if not spec:
        raise ArchitectureError("spec is empty: a network needs at least one "
                                "layer")
    if sn_mode not in ("conv", "matrix"):
        raise ArchitectureError(f"sn_mode must be 'conv' or 'matrix'. "
                                f"Received: {sn_mode!r}")
    try:
        input_shape = tuple(_positive_int(s, "input_shape") for s in input_shape)
    except TypeError:
        raise ArchitectureError(f"input_shape must be a sequence of positive "
                                f"ints. Received: {input_shape!r}") from None
    if not input_shape:
        raise ArchitectureError("input_shape must not be empty")
    context = {"sn_mode": sn_mode}
    seen: dict[str, int] = {}
    layers = [_validate_layer(i, layer, seen, context)
              for i, layer in enumerate(spec)]
    inputs = keras.Input(shape=input_shape, name=f"{name or 'network'}_in",
                         dtype=dtype)
    x = inputs
    for cfg, opspec in layers:
        x = _apply_layer(x, cfg, opspec, context)
    return keras.Model(inputs, x, name=name or "network")


def count_params(model: keras.Model, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters of a model."""
    weights = model.trainable_weights if trainable_only else model.weights
    return int(sum(math.prod(w.shape) for w in weights))


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
    lines += ["", "| activation | meaning |", "|---|---|"]
    for act in available_activations():
        lines.append(f"| `{act}` | {_ACTIVATIONS[act][1]} |")
    return "\n".join(lines)

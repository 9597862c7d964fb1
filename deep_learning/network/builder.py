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

import json
import math
import weakref
from typing import Any, Sequence

import keras

from deep_learning.network.layers import FlatLayerNormalization
from deep_learning.network.grammar import (COMMON_KEYS, CONV_KEYS, WEIGHT_KEYS,
                                   ArchitectureError,
                                   KeySpec, available_activations,
                                   available_ops, check_key_rules,
                                   describe_grammar,
                                   get_activation, get_op, make_initializer,
                                   positive_int, register_activation,
                                   register_op, string)
from general_tools.spectral_norm import SpectralNormalization

# Spec of every network build_network made (weakly held).
_SPECS = weakref.WeakKeyDictionary()

__all__ = [
    "ArchitectureError", "KeySpec", "available_activations", "available_ops",
    "build_network", "count_params", "describe_grammar", "register_activation",
    "spec_of",
    "register_op",
]


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
        kernel_initializer=make_initializer(cfg["init"], act_name),
        bias_initializer=make_initializer(bias_init, act_name, for_bias=True),
    )


def _maybe_spectral(layer, cfg, context):
    if cfg["w_nm"] != "s":
        return layer
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
    odd = [k for k in layer if not isinstance(k, str)]
    if odd:
        raise ArchitectureError(
            f"{where}, key {odd[0]!r}: keys of a layer dict are strings "
            f"such as 'op' or 'out'; this one is a {type(odd[0]).__name__}")
    if "name" in layer:
        name = string(layer["name"], f"{where}, key 'name'")
    if name in seen_names:
        raise ArchitectureError(f"{where}, key 'name': duplicate layer name "
                                f"{name!r} (also layer {seen_names[name]})")
    seen_names[name] = index
    if "op" not in layer:
        raise ArchitectureError(f"{where}: missing key 'op'; expected one of "
                                f"{available_ops()}")
    op = layer["op"]
    if not isinstance(op, str) or op not in available_ops():
        raise ArchitectureError(
            f"{where}, key 'op': unknown op {op!r}; expected one of "
            f"{available_ops()} (ops defined in other modules register when "
            "that module is imported)")
    opspec = get_op(op)
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
    check_key_rules(cfg, where)
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
        if len(x.shape) == 3:
            # (B, K, F) generator heads: statistics per head and feature, as
            # the MADGAN code's BatchNorm1d(K*F).
            shape = tuple(x.shape[1:])
            x = keras.layers.Reshape((shape[0] * shape[1],),
                                     name=f"{cfg['name']}_bn_flat")(x)
            x = keras.layers.BatchNormalization(name=f"{cfg['name']}_bn")(x)
            return keras.layers.Reshape(shape, name=f"{cfg['name']}_bn_unflat")(x)
        return keras.layers.BatchNormalization(name=f"{cfg['name']}_bn")(x)
    if cfg["act_nm"] == "ln":
        # Keras' LayerNormalization outputs, weights and epsilon (1e-3) on a
        # (B, N) view with a closed-form gradient: a cheaper WGAN-GP critic
        # step, and exact second derivatives (Keras' drop a term).
        axes = list(range(1, len(x.shape)))
        return FlatLayerNormalization(axis=axes, name=f"{cfg['name']}_ln")(x)
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
    act_layer = get_activation(act_name)(
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
        input_shape = tuple(positive_int(s, "input_shape") for s in input_shape)
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
    model = keras.Model(inputs, x, name=name or "network")
    _SPECS[model] = {"spec": json.loads(json.dumps(list(spec), default=str)),
                     "input_shape": list(input_shape), "sn_mode": sn_mode}
    return model


def spec_of(model):
    """The layer-dict spec (with its input shape and ``sn_mode``) a model
    was built from by :func:`build_network` in this process, or None. Run
    folders record it as the network's configuration."""
    spec = _SPECS.get(model)
    return None if spec is None else json.loads(json.dumps(spec))


def count_params(model: keras.Model, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters of a model."""
    weights = model.trainable_weights if trainable_only else model.weights
    return int(sum(math.prod(w.shape) for w in weights))

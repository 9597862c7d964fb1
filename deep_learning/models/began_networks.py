"""BEGAN's networks as spec lists, and the decoder layer with skips.

Networks (Berthelot, Schumm & Metz 2017, Fig. 1; carpedm20/BEGAN-tensorflow
``models.py``), all 3x3 convolutions with ELU, no normalisation,
``R = log2(size) - 2`` stages so that the bottleneck is always 8x8:

* encoder: conv(n), then per stage ``i = 1..R`` ``repeats`` convs with
  ``i * n`` filters (linear growth) and, between stages, a stride-2 conv
  (``downsample='conv'``, with ELU as carpedm20) or a pooling; flatten;
  dense to the embedding ``h`` (``N_h``, no activation).
* decoder / generator: dense ``h -> 8*8*n`` (no activation), then per stage
  ``repeats`` convs with ``n`` filters and nearest-neighbour x2 up-sampling
  between stages, then a 3x3 conv to the image channels (linear output, as
  carpedm20; images in [-1, 1]).
* optional skip connections (paper Sec. 3.5, from the paper's text, not in
  carpedm20): after each up-sampling the first decoder tensor ``h0`` (8x8xn),
  up-sampled nearest-neighbour to the same size, is concatenated to the
  feature map. This needs the ``'began_decoder'`` builder op
  (:class:`BEGANDecoder`); without skips the decoder is a plain spec list.
  The paper's "vanishing residuals" are not implemented.

With n = 128 at 128x128 and N_h = N_z = 64 these networks have 25.2M
parameters (D 23.2M, G 2.0M). The paper is remembered (not verified here) to
report 17.3M for that model, so its exact layer counts may differ from
carpedm20's, which these follow.
"""

from __future__ import annotations

import math

import keras

from deep_learning.network.grammar import (KeySpec, boolean, positive_int,
                                           register_op)

__all__ = ["began_stages", "began_encoder", "began_decoder",
           "began_autoencoder", "began_generator", "BEGANDecoder"]

_DOWNSAMPLE = ("conv", "avg", "max")
_BOTTLENECK = 8


def began_stages(image_size: int) -> int:
    """Number of stages ``R = log2(image_size) - 2`` (8x8 bottleneck).

    Args:
        image_size: int. Square image size, a power of two >= 8.
    """
    size = int(image_size)
    if size < _BOTTLENECK or size & (size - 1):
        raise ValueError(
            f"`image_size` must be a power of two >= 8 (the bottleneck is "
            f"8x8). Received: image_size={image_size}")
    return int(math.log2(size)) - 2


def began_encoder(image_size: int = 64, hidden: int = 128,
                  embedding: int = 64, repeats: int = 2,
                  downsample: str = "conv") -> list[dict]:
    """BEGAN's encoder, image -> ``h`` in R^embedding, as a spec list.

    Args:
        image_size: int. Image size (power of two >= 8). Defaults to 64.
        hidden: int. ``n``, filters of the first stage; stage ``i`` has
            ``i * n``. Defaults to 128 (carpedm20's ``conv_hidden_num``).
        embedding: int. ``N_h``. Defaults to 64.
        repeats: int. Convolutions per stage. Defaults to 2.
        downsample: str. ``'conv'`` (stride-2 3x3 conv with ELU, carpedm20),
            ``'avg'`` or ``'max'`` (2x2 pooling after the stage's last
            conv). Defaults to ``'conv'``.
    """
    stages = began_stages(image_size)
    if downsample not in _DOWNSAMPLE:
        raise ValueError(f"`downsample` must be one of {_DOWNSAMPLE}. "
                         f"Received: downsample={downsample!r}")
    positive_int(repeats, "began_encoder, argument 'repeats'")
    spec = [{"name": "enc_in", "op": "c", "out": hidden, "act": "elu"}]
    for i in range(1, stages + 1):
        width = hidden * i
        for j in range(repeats):
            spec.append({"name": f"enc{i}_{j + 1}", "op": "c", "out": width,
                         "act": "elu"})
        if i < stages:
            if downsample == "conv":
                spec.append({"name": f"enc{i}_ds", "op": "c", "out": width,
                             "strides": 2, "act": "elu"})
            else:
                spec[-1]["scale"] = [downsample, -2]
    spec[-1]["out_reshape"] = [-1]
    spec.append({"name": "enc_h", "op": "d", "out": embedding})
    return spec


def began_decoder(image_size: int = 64, hidden: int = 128, channels: int = 3,
                  repeats: int = 2, skip: bool = False,
                  out_act: str = "linear", prefix: str = "dec") -> list[dict]:
    """BEGAN's decoder (and generator), ``h`` or ``z`` -> image.

    Without skip connections this is a plain spec list; with them it is one
    ``'began_decoder'`` op (the skips need the 8x8 tensor ``h0`` at every
    resolution, which a sequential spec cannot carry).

    Args:
        image_size: int. Output size (power of two >= 8). Defaults to 64.
        hidden: int. ``n``, filters of every decoder conv. Defaults to 128.
        channels: int. Image channels. Defaults to 3.
        repeats: int. Convolutions per stage. Defaults to 2.
        skip: bool. Skip connections from ``h0``. Defaults to False.
        out_act: str. Output activation: ``'linear'`` (carpedm20),
            ``'tanh'`` or ``'sigmoid'`` (artcg). Defaults to ``'linear'``.
        prefix: str. Layer-name prefix. Defaults to ``'dec'``.
    """
    stages = began_stages(image_size)
    positive_int(repeats, "began_decoder, argument 'repeats'")
    if skip:
        return [{"name": prefix, "op": "began_decoder", "out": channels,
                 "hidden": hidden, "image_size": int(image_size),
                 "repeats": repeats, "skip": True, "act": out_act}]
    spec = [{"name": f"{prefix}_h0", "op": "d",
             "out": _BOTTLENECK * _BOTTLENECK * hidden,
             "out_reshape": [_BOTTLENECK, _BOTTLENECK, hidden]}]
    for i in range(1, stages + 1):
        for j in range(repeats):
            layer = {"name": f"{prefix}{i}_{j + 1}", "op": "c", "out": hidden,
                     "act": "elu"}
            if i > 1 and j == 0:
                layer["scale"] = ["nearest", 2]
            spec.append(layer)
    spec.append({"name": f"{prefix}_out", "op": "c", "out": channels,
                 "act": out_act})
    return spec


def began_autoencoder(image_size: int = 64, hidden: int = 128,
                      embedding: int = 64, channels: int = 3,
                      repeats: int = 2, skip: bool = False,
                      downsample: str = "conv",
                      out_act: str = "linear") -> list[dict]:
    """BEGAN's discriminator: encoder then decoder, image -> image."""
    return (began_encoder(image_size, hidden, embedding, repeats, downsample)
            + began_decoder(image_size, hidden, channels, repeats, skip,
                            out_act, prefix="dec"))


def began_generator(image_size: int = 64, hidden: int = 128,
                    channels: int = 3, repeats: int = 2, skip: bool = False,
                    out_act: str = "linear") -> list[dict]:
    """BEGAN's generator: the decoder's architecture with its own weights."""
    return began_decoder(image_size, hidden, channels, repeats, skip,
                         out_act, prefix="gen")


@keras.saving.register_keras_serializable(package="mixgan")
class BEGANDecoder(keras.layers.Layer):
    """The BEGAN decoder as one layer, with optional skip connections.

    ``h0 = reshape(W h, (8, 8, n))``; stage 1 runs ``repeats`` ELU convs at
    8x8; every later stage up-samples x2 (nearest), concatenates ``h0``
    up-sampled to the same size when ``skip``, and runs ``repeats`` ELU
    convs; a last 3x3 conv gives ``channels`` (its activation is the layer
    dict's ``act``).

    Args:
        channels: int. Output channels.
        hidden: int. ``n``. Defaults to 128.
        image_size: int. Output size (power of two >= 8). Defaults to 64.
        repeats: int. Convolutions per stage. Defaults to 2.
        skip: bool. Skip connections. Defaults to False.
    """

    def __init__(self, channels, hidden=128, image_size=64, repeats=2,
                 skip=False, **kwargs):
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.hidden = int(hidden)
        self.image_size = int(image_size)
        self.repeats = int(repeats)
        self.skip = bool(skip)
        self.stages = began_stages(image_size)
        n = self.hidden
        self.project = keras.layers.Dense(
            _BOTTLENECK * _BOTTLENECK * n, name="h0")
        self.convs = [
            keras.layers.Conv2D(n, 3, padding="same", activation="elu",
                                name=f"s{i + 1}_{j + 1}")
            for i in range(self.stages) for j in range(self.repeats)]
        self.out_conv = keras.layers.Conv2D(self.channels, 3, padding="same",
                                            name="out")

    def build(self, input_shape):
        n, size = self.hidden, _BOTTLENECK
        self.project.build(input_shape)
        for i in range(self.stages):
            in_ch = n * (2 if self.skip and i > 0 else 1)
            for j in range(self.repeats):
                self.convs[i * self.repeats + j].build(
                    (None, size, size, in_ch if j == 0 else n))
            size *= 2
        self.out_conv.build((None, self.image_size, self.image_size, n))

    @staticmethod
    def _upsample(x, factor):
        return keras.ops.repeat(keras.ops.repeat(x, factor, axis=1),
                                factor, axis=2)

    def call(self, h):
        n = self.hidden
        h0 = keras.ops.reshape(self.project(h), (-1, _BOTTLENECK,
                                                 _BOTTLENECK, n))
        x = h0
        for i in range(self.stages):
            if i > 0:
                x = self._upsample(x, 2)
                if self.skip:
                    x = keras.ops.concatenate(
                        [x, self._upsample(h0, 2 ** i)], axis=-1)
            for j in range(self.repeats):
                x = self.convs[i * self.repeats + j](x)
        return self.out_conv(x)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.image_size, self.image_size,
                self.channels)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels,
                "hidden": self.hidden, "image_size": self.image_size,
                "repeats": self.repeats, "skip": self.skip}


def _image_size_key(value, where):
    began_stages(positive_int(value, where))
    return int(value)


@register_op("began_decoder", keys={
    "out": KeySpec(positive_int, None, "output channels", required=True),
    "hidden": KeySpec(positive_int, 128, "BEGAN decoder width n"),
    "image_size": KeySpec(_image_size_key, 64, "output size, a power of two "
                          ">= 8 (8x8 bottleneck)"),
    "repeats": KeySpec(positive_int, 2, "3x3 ELU convs per stage"),
    "skip": KeySpec(boolean, False, "BEGAN skip connections: concatenate the "
                    "up-sampled h0 after every up-sampling"),
}, doc="BEGAN decoder h -> image: dense to 8x8xn, ELU conv stages with "
       "nearest x2 up-sampling, optional skip connections", input_rank=1)
def _began_decoder_op(cfg, input_shape, context):
    return BEGANDecoder(cfg["out"], hidden=cfg["hidden"],
                        image_size=cfg["image_size"], repeats=cfg["repeats"],
                        skip=cfg["skip"], name=f"{cfg['name']}_decoder")

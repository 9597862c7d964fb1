"""BEGAN: the auto-encoder networks, the model and its diagnostics.

Boundary equilibrium GAN (Berthelot, Schumm & Metz 2017, arXiv 1703.10717).
The discriminator is an auto-encoder whose score of an image is its
reconstruction loss ``L(v) = mean |v - D(v)|^eta``; the losses, the ``k_t``
control and ``M_global`` are in ``general_tools.began_losses``.

Networks (paper Fig. 1; carpedm20/BEGAN-tensorflow ``models.py``), all 3x3
convolutions with ELU, no normalisation, ``R = log2(size) - 2`` stages so
that the bottleneck is always 8x8:

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

Training (:class:`BEGAN`): one forward pass of D on ``concat(x, G(z))``; D
minimises ``L(x) - k_t L(G(z))`` and G minimises ``L(G(z))`` from that same
pass, both applied in one step (carpedm20 runs ``d_optim`` and ``g_optim``
together), then ``k_t`` is updated from the step's losses. ``z ~ U[-1, 1]``.
Learning rates: halving when M plateaus (``schedules.PlateauHalving`` with
``monitor='began/m_global'``, the paper) or fixed-step decay
(:class:`StepDecay`, carpedm20: x0.5 every 100k steps, floor 2e-5).
"""

from __future__ import annotations

import math
import os

import keras
import numpy as np
import tensorflow as tf

from deep_learning.gan import GAN
from deep_learning.grammar import (KeySpec, boolean, positive_int,
                                   register_op)
from general_tools import began_losses
from general_tools import losses as losses_lib
from general_tools.figures import image_grid

__all__ = ["began_stages", "began_encoder", "began_decoder",
           "began_autoencoder", "began_generator", "BEGANDecoder", "BEGAN",
           "StepDecay", "ImageSummary", "began_image_panels"]

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


# ---------------------------------------------------------------------------
# The model.


_FIXED = {"gan_loss": "began", "update": "simultaneous",
          "d_joint_forward": True, "n_critic": 1}


@keras.saving.register_keras_serializable(package="mixgan")
class BEGAN(GAN):
    """Boundary equilibrium GAN trained by ``fit``.

    The discriminator maps images to reconstructions; its "score" of a batch
    (:meth:`discriminator_scores`) is the per-example auto-encoder loss.
    Logged every step: ``began/d_real`` = L(x), ``began/d_fake`` = L(G(z)),
    ``began/balance`` = gamma L(x) - L(G(z)), ``began/m_global`` = M_global,
    ``began/k`` = k after the step's update, ``loss/d``, ``loss/g`` and the
    learning rates ``lr/d``, ``lr/g``. ``k_t`` is a non-trainable model
    variable (:attr:`k_t`), so checkpoints save it.

    Args:
        generator: model or spec list (:func:`began_generator`).
        discriminator: model or spec list (:func:`began_autoencoder`).
        latent_dim: int. ``N_z``. Defaults to the generator's input size.
        gamma: float in [0, 1]. Diversity ratio. Defaults to 0.5
            (carpedm20).
        lambda_k: float. Gain of the k update. Defaults to 0.001.
        k_init: float. ``k_0``. Defaults to 0.0.
        k_min, k_max: floats. Clip range of k. Default to 0 and 1.
        eta: float. Exponent of the auto-encoder loss. Defaults to 1 (L1).
        latent: ``'uniform'`` (U[-1, 1], the paper) or ``'normal'`` (artcg).
            Defaults to ``'uniform'``.
        **kwargs: other :class:`deep_learning.gan.GAN` arguments (seed,
            ema_decay, image_shape, ...). The loss, the simultaneous update
            and the joint forward pass are fixed.
    """

    def __init__(self, generator, discriminator, latent_dim=None, *,
                 gamma=0.5, lambda_k=0.001, k_init=0.0, k_min=0.0, k_max=1.0,
                 eta=1.0, latent="uniform", **kwargs):
        for key, value in _FIXED.items():
            if key in kwargs and kwargs.pop(key) != value:
                raise ValueError(f"BEGAN fixes `{key}` to {value!r}.")
        kwargs.pop("loss_params", None)
        for name, value in (("gamma", gamma), ("k_init", k_init)):
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"`{name}` must be in [0, 1]. Received: "
                                 f"{name}={value}")
        if not float(k_min) <= float(k_init) <= float(k_max):
            raise ValueError(
                f"Need k_min <= k_init <= k_max. Received: k_min={k_min}, "
                f"k_init={k_init}, k_max={k_max}")
        if not float(lambda_k) >= 0.0 or not float(eta) > 0.0:
            raise ValueError(
                f"`lambda_k` must be >= 0 and `eta` > 0. Received: "
                f"lambda_k={lambda_k}, eta={eta}")
        self.gamma = float(gamma)
        self.lambda_k = float(lambda_k)
        self.k_init = float(k_init)
        self.k_min = float(k_min)
        self.k_max = float(k_max)
        self.eta = float(eta)
        kwargs.setdefault("name", "began")
        super().__init__(generator, discriminator, latent_dim, latent=latent,
                         loss_params={"gamma": self.gamma}, **_FIXED,
                         **kwargs)
        self.k_t = self.add_weight(
            name="k_t", shape=(), dtype="float32",
            initializer=keras.initializers.Constant(self.k_init),
            trainable=False, aggregation="only_first_replica")

    def extra_metrics(self):
        return ["began/k"]

    def reconstruct(self, images, training=False):
        """``D(v)``: the auto-encoder's reconstruction, float32."""
        return tf.cast(self.discriminator(images, training=training),
                       tf.float32)

    def discriminator_scores(self, x, training=False):
        """Per-example auto-encoder losses ``L(x_i)``, shape ``(B,)``."""
        return began_losses.autoencoder_loss(
            x, self.reconstruct(x, training), eta=self.eta)

    def loss_terms(self, real, fake, s_real, s_fake):
        loss_d, loss_g, metrics = losses_lib.gan_loss(
            "began", s_real, s_fake, k=tf.convert_to_tensor(self.k_t),
            gamma=self.gamma)
        return loss_d, loss_g, {f"began/{k}": v for k, v in metrics.items()}

    def post_update(self, d_logs):
        """``k_{t+1} = clip(k_t + lambda_k * balance, k_min, k_max)``."""
        balance = tf.cast(d_logs["began/balance"], tf.float32)
        ctx = tf.distribute.get_replica_context()
        if ctx is not None and ctx.num_replicas_in_sync > 1:
            balance = ctx.all_reduce(tf.distribute.ReduceOp.MEAN, balance)
        k_next = tf.clip_by_value(
            tf.convert_to_tensor(self.k_t) + self.lambda_k * balance,
            self.k_min, self.k_max)
        self.k_t.assign(k_next)
        return {"began/k": k_next}

    def get_config(self):
        config = super().get_config()
        for key in (*_FIXED, "loss_params"):
            config.pop(key, None)
        config.update(gamma=self.gamma, lambda_k=self.lambda_k,
                      k_init=self.k_init, k_min=self.k_min, k_max=self.k_max,
                      eta=self.eta)
        return config

    def hparams(self):
        return {**super().hparams(), "gamma": self.gamma,
                "lambda_k": self.lambda_k, "k_init": self.k_init,
                "k_range": [self.k_min, self.k_max], "eta": self.eta}


# ---------------------------------------------------------------------------
# Learning rate and images.


@keras.saving.register_keras_serializable(package="mixgan")
class StepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """``lr(t) = max(initial * factor^floor(t / decay_steps), minimum)``.

    carpedm20/BEGAN-tensorflow halves both learning rates every
    ``lr_update_step = 100000`` steps with a floor of ``2e-5``.

    Args:
        initial_learning_rate: float. Learning rate at step 0.
        decay_steps: int. Steps between cuts. Defaults to 100000.
        factor: float in (0, 1). Multiplier per cut. Defaults to 0.5.
        minimum: float. Floor. Defaults to 2e-5.
    """

    def __init__(self, initial_learning_rate, decay_steps=100000, factor=0.5,
                 minimum=2e-5):
        if int(decay_steps) <= 0 or not 0.0 < float(factor) < 1.0:
            raise ValueError(
                "`decay_steps` must be positive and `factor` in (0, 1). "
                f"Received: decay_steps={decay_steps}, factor={factor}")
        if not float(initial_learning_rate) > 0.0 or float(minimum) < 0.0:
            raise ValueError(
                "`initial_learning_rate` must be > 0 and `minimum` >= 0. "
                f"Received: initial_learning_rate={initial_learning_rate}, "
                f"minimum={minimum}")
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = int(decay_steps)
        self.factor = float(factor)
        self.minimum = float(minimum)

    def __call__(self, step):
        cuts = keras.ops.floor(keras.ops.cast(step, "float32")
                               / float(self.decay_steps))
        lr = self.initial_learning_rate * keras.ops.power(self.factor, cuts)
        return keras.ops.maximum(lr, self.minimum)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "factor": self.factor,
                "minimum": self.minimum}


def began_image_panels(model, real_images, z):
    """Real and fake reconstruction panels, images in [-1, 1].

    Returns:
        dict ``{'began/real_reconstruction': (2n, H, W, C) rows of x then
        D(x), 'began/fake_reconstruction': rows of G(z) then D(G(z))}``,
        arranged so that a grid with 2 rows shows inputs above outputs.
    """
    real = tf.convert_to_tensor(real_images, tf.float32)
    fake = tf.convert_to_tensor(model.generate_images(z, use_ema=False))
    out = {}
    for tag, x in (("began/real_reconstruction", real),
                   ("began/fake_reconstruction", fake)):
        rec = tf.clip_by_value(model.reconstruct(x), -1.0, 1.0)
        out[tag] = np.concatenate([x.numpy(), rec.numpy()], 0)
    return out


class ImageSummary(keras.callbacks.Callback):
    """Writes image grids from ``panels_fn(model)`` every ``every`` steps.

    ``panels_fn`` returns ``{tag: images (N, H, W, C) in [-1, 1]}``; each is
    tiled into ``rows`` rows, written as a TensorBoard image under ``tag``
    and, with ``samples_dir``, as ``<tag with / as _>_<step>.png``.

    Args:
        log_dir: str. Event-file folder (the run's ``logs``).
        panels_fn: callable ``model -> dict``.
        every: int. Period in generator steps. Defaults to 1000.
        rows: int or None. Grid rows. Defaults to a near-square grid.
        samples_dir: str or None. PNG folder. Defaults to None.
    """

    def __init__(self, log_dir, panels_fn, every=1000, rows=None,
                 samples_dir=None):
        super().__init__()
        if int(every) <= 0:
            raise ValueError(f"`every` must be positive. Received: "
                             f"every={every}")
        import tensorboard  # noqa: F401 - tf.summary is silent without it
        self.log_dir = log_dir
        self.panels_fn = panels_fn
        self.every = int(every)
        self.rows = rows
        self.samples_dir = samples_dir
        self.writer = None
        self._last = None

    def on_train_begin(self, logs=None):
        os.makedirs(self.log_dir, exist_ok=True)
        if self.samples_dir:
            os.makedirs(self.samples_dir, exist_ok=True)
        self.writer = tf.summary.create_file_writer(self.log_dir)
        self._last = int(keras.ops.convert_to_numpy(self.model.step))

    def on_train_batch_end(self, batch, logs=None):
        step = int(keras.ops.convert_to_numpy(self.model.step))
        if step // self.every > self._last // self.every:
            self.write(step)
        self._last = step

    def on_train_end(self, logs=None):
        self.write(int(keras.ops.convert_to_numpy(self.model.step)))
        self.writer.close()

    def write(self, step):
        """Writes every panel at ``step``."""
        from general_tools.figures import save_image_grid
        panels = self.panels_fn(self.model)
        with self.writer.as_default(step=step):
            for tag, images in panels.items():
                images = np.asarray(images, np.float32)
                grid = image_grid((np.clip(images, -1, 1) + 1) / 2,
                                  rows=self.rows)
                tf.summary.image(tag, grid[None], max_outputs=1)
                if self.samples_dir:
                    name = tag.replace("/", "_")
                    save_image_grid(images, os.path.join(
                        self.samples_dir, f"{name}_{step:08d}.png"),
                        rows=self.rows)
        self.writer.flush()

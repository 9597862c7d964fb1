"""BEGAN: the model and its diagnostics.

Boundary equilibrium GAN (Berthelot, Schumm & Metz 2017, arXiv 1703.10717).
The discriminator is an auto-encoder whose score of an image is its
reconstruction loss ``L(v) = mean |v - D(v)|^eta``; the losses, the ``k_t``
control and ``M_global`` are in ``general_tools.began_losses``.

The networks (encoder, decoder, the decoder layer with skip connections)
are in ``deep_learning.models.began_networks``.

Training (:class:`BEGAN`): one forward pass of D on ``concat(x, G(z))``; D
minimises ``L(x) - k_t L(G(z))`` and G minimises ``L(G(z))`` from that same
pass, both applied in one step (carpedm20 runs ``d_optim`` and ``g_optim``
together), then ``k_t`` is updated from the step's losses. ``z ~ U[-1, 1]``.
Learning rates: halving when M plateaus (``schedules.PlateauHalving`` with
``monitor='began/m_global'``, the paper) or fixed-step decay
(``deep_learning.engine.schedules.StepDecay``, carpedm20: x0.5 every 100k steps, floor 2e-5).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from deep_learning.models.gan import GAN
from general_tools import began_losses
from general_tools import losses as losses_lib

__all__ = ["BEGAN", "began_image_panels"]

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
        **kwargs: other :class:`deep_learning.models.gan.GAN` arguments (seed,
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

    def loss_terms(self, record):
        loss_d, loss_g, metrics = losses_lib.gan_loss(
            "began", record.s_real, record.s_fake,
            k=tf.convert_to_tensor(self.k_t),
            gamma=self.gamma)
        return loss_d, loss_g, {f"began/{k}": v for k, v in metrics.items()}

    def post_update(self, logs):
        """``k_{t+1} = clip(k_t + lambda_k * balance, k_min, k_max)``."""
        balance = tf.cast(logs["began/balance"], tf.float32)
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

"""GM-GAN: a Gaussian-mixture latent space, supervised and unsupervised.

Ben-Yosef & Weinshall 2018 (arXiv 1808.10356). The latent prior is a
mixture of K Gaussians with uniform weights; a code is drawn as

    k ~ Cat(1/K),   eps ~ N(0, I_d),   z = mu_k + sigma_k * eps

(seed 002's ``z~ = mu(y) + sigma(y) z``). Means start from ``U[-c, c]^d``
and scales from ``sigma``. In the *static* model both stay fixed; in the
*dynamic* model they are trained with the generator through the
reparameterisation. ``sigma`` is a standard deviation, as in the course
implementations that use it as the scale of ``A_k``; ``sigma_is='variance'``
reads it as the variance of ``Sigma = sigma I`` instead (std = sqrt(sigma)).
Scales may be one per component (``covariance='scalar'``) or one per
component and dimension (``'diag'``); full covariances are not implemented.
After training, :meth:`GaussianMixtureLatent.set_sigma_scale` multiplies
every scale at sampling time (not during training), trading diversity
(larger) for quality (smaller).

Models (:class:`GMGAN`):

* unsupervised: any named GAN loss (default non-saturating logistic); the
  Gaussians are used for clustering real data afterwards
  (``deep_learning.tools.clustering.gmgan_clustering_accuracy``: a classifier trained on generated
  images labelled by their Gaussian assigns real images to clusters, scored
  under the best one-to-one cluster/label mapping).
* ``supervised='k_plus_one'``: K = number of classes, fakes drawn from
  Gaussian y. D has K+1 logits, index K = "fake" (Salimans et al. 2016):
  ``L_D = CE(D(x), y) + CE(D(G(z_y)), K)``, ``L_G = CE(D(G(z_y)), y)``.
* ``supervised='split'`` (seed 002's alternative objective): logits
  ``0..K-1`` are a class head, logit K a real/fake logit.
  ``L_D = w_c CE(D(x)[:K], y) + w_a [BCE(D(x)[K], 1) + BCE(D(G(z))[K], 0)]``
  (the class term on real samples only, unless ``d_class_on_fake``);
  ``L_G = w_c CE(D(G(z_y))[:K], y) + w_a BCE(D(G(z_y))[K], 1)`` (the
  generator side is inferred, the slides do not state it).

Labels of real data come from the dataset's ``(images, labels)`` pairs;
the Gaussians of the fakes are drawn uniformly, independently of them.
Supervised models need ``n_critic = 1``. The engine's latent code is
``[eps, one_hot(k)]`` and the mixture layer is the first layer of the
generator model (see :class:`GMGAN`).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from deep_learning.models.gan import GAN
from deep_learning.network.builder import build_network
from deep_learning.models.stateless_random import normal as _normal
from deep_learning.models.stateless_random import replica_slice as _replica_slice

__all__ = ["GaussianMixtureLatent", "GMGAN", "pack_codes",
           "k_plus_one_losses", "split_losses"]

_COVARIANCES = ("scalar", "diag")
_SIGMA_MEANINGS = ("std", "variance")
_OBJECTIVES = (None, "k_plus_one", "split")


def pack_codes(eps, components, num_components):
    """The code ``[eps, one_hot(k)]`` that :class:`GaussianMixtureLatent` and
    a GM-GAN generator take, float32 ``(B, d + K)``."""
    eps = tf.cast(eps, tf.float32)
    onehot = tf.one_hot(tf.cast(components, tf.int32), int(num_components),
                        dtype=tf.float32)
    return tf.concat([eps, onehot], axis=-1)


@keras.saving.register_keras_serializable(package="mixgan")
class GaussianMixtureLatent(keras.layers.Layer):
    """``z = mu_k + sigma_k * eps`` from a code ``[eps, one_hot(k)]``.

    The component enters as a one-hot vector ``e_k`` so that
    ``mu_k = e_k^T M`` and ``sigma_k = e_k^T S`` are matrix products and the
    layer is an ordinary differentiable map of its input: in the dynamic
    model the means ``M`` and scales ``S`` receive gradients wherever the
    code is sampled.

    Args:
        num_components: int. K.
        latent_dim: int. d.
        c: float. Means start from ``U[-c, c]^d``. Defaults to 1.0.
        sigma: float. Initial scale. Defaults to 1.0.
        covariance: ``'scalar'`` (one scale per component) or ``'diag'``.
            Defaults to ``'scalar'``.
        dynamic: bool. Train means and scales with the generator.
            Defaults to False (static).
        sigma_is: ``'std'`` or ``'variance'``; how ``sigma`` is read.
            Defaults to ``'std'``.
        seed: int or None. Seed of the means' initialisation. Defaults to
            None.

    Call arguments:
        inputs: float ``(B, d + K)``, see :func:`pack_codes`.
        training: bool. The test-time sigma scale applies only when False.
    """

    def __init__(self, num_components, latent_dim, c=1.0, sigma=1.0,
                 covariance="scalar", dynamic=False, sigma_is="std",
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        if int(num_components) < 1 or int(latent_dim) < 1:
            raise ValueError(
                "`num_components` and `latent_dim` must be >= 1. Received: "
                f"num_components={num_components}, latent_dim={latent_dim}")
        if not float(c) >= 0.0 or not float(sigma) > 0.0:
            raise ValueError(f"Need c >= 0 and sigma > 0. Received: c={c}, "
                             f"sigma={sigma}")
        if covariance not in _COVARIANCES:
            raise ValueError(f"`covariance` must be one of {_COVARIANCES}. "
                             f"Received: covariance={covariance!r}")
        if sigma_is not in _SIGMA_MEANINGS:
            raise ValueError(f"`sigma_is` must be one of {_SIGMA_MEANINGS}. "
                             f"Received: sigma_is={sigma_is!r}")
        self.num_components = int(num_components)
        self.latent_dim = int(latent_dim)
        self.c = float(c)
        self.sigma = float(sigma)
        self.covariance = covariance
        self.dynamic = bool(dynamic)
        self.sigma_is = sigma_is
        self.seed = seed

    @property
    def initial_std(self):
        """The standard deviation the scales start from."""
        return self.sigma if self.sigma_is == "std" else self.sigma ** 0.5

    def build(self, input_shape=None):
        k, d = self.num_components, self.latent_dim
        if input_shape is not None and input_shape[-1] not in (None, d + k):
            raise ValueError(
                f"GaussianMixtureLatent expects codes of size d + K = "
                f"{d + k}. Received: input shape {tuple(input_shape)}")
        self.means = self.add_weight(
            name="means", shape=(k, d), trainable=self.dynamic,
            initializer=keras.initializers.RandomUniform(
                -self.c, self.c, seed=self.seed))
        self.scales = self.add_weight(
            name="scales", shape=(k, 1 if self.covariance == "scalar" else d),
            trainable=self.dynamic,
            initializer=keras.initializers.Constant(self.initial_std))
        self.sigma_scale = self.add_weight(
            name="sigma_scale", shape=(), trainable=False,
            initializer="ones")

    def set_sigma_scale(self, value):
        """Sets the test-time multiplier of every scale (1 = as trained)."""
        if not float(value) >= 0.0:
            raise ValueError(f"The sigma scale must be >= 0. Received: "
                             f"{value}")
        self.sigma_scale.assign(float(value))

    def call(self, inputs, training=False):
        d = self.latent_dim
        eps, onehot = inputs[:, :d], inputs[:, d:]
        mu = keras.ops.matmul(onehot, keras.ops.cast(self.means, eps.dtype))
        scale = keras.ops.matmul(onehot,
                                 keras.ops.cast(self.scales, eps.dtype))
        if not training:
            scale = scale * keras.ops.cast(self.sigma_scale, eps.dtype)
        return mu + scale * eps

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.latent_dim)

    def get_config(self):
        return {**super().get_config(),
                "num_components": self.num_components,
                "latent_dim": self.latent_dim, "c": self.c,
                "sigma": self.sigma, "covariance": self.covariance,
                "dynamic": self.dynamic, "sigma_is": self.sigma_is,
                "seed": self.seed}


# ---------------------------------------------------------------------------
# Supervised objectives (pure functions of the logits).


def _ce(logits, labels):
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(labels, tf.int32), logits=logits))


def _bce(logits, target):
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.fill(tf.shape(logits), float(target)), logits=logits))


def _accuracy(logits, labels):
    pred = tf.argmax(logits, axis=-1, output_type=tf.int32)
    return tf.reduce_mean(tf.cast(tf.equal(pred, tf.cast(labels, tf.int32)),
                                  tf.float32))


def _check_logits(logits_real, logits_fake):
    logits_real = tf.cast(logits_real, tf.float32)
    logits_fake = tf.cast(logits_fake, tf.float32)
    if logits_real.shape.rank != 2 or logits_real.shape[-1] is None or \
            logits_real.shape[-1] < 2:
        raise ValueError(
            "Supervised GM-GAN logits must have shape (B, K + 1) with K >= "
            f"1. Received: {logits_real.shape}")
    return logits_real, logits_fake, int(logits_real.shape[-1]) - 1


def k_plus_one_losses(logits_real, logits_fake, real_labels, fake_labels):
    """(K+1)-way cross-entropy objective; index K is "fake".

    Args:
        logits_real: ``(B, K + 1)`` logits of real images.
        logits_fake: ``(B, K + 1)`` logits of generated images.
        real_labels: int ``(B,)`` classes of the real images.
        fake_labels: int ``(B,)`` Gaussians the fakes were drawn from.

    Returns:
        ``(loss_d, loss_g, metrics)``; metrics ``class_ce_real`` =
        CE(D(x), y), ``fake_ce`` = CE(D(G(z)), K), ``class_ce_fake`` =
        CE(D(G(z)), k) (= L_G), ``real_accuracy`` and ``fake_accuracy``
        (argmax over the K class logits).
    """
    logits_real, logits_fake, k = _check_logits(logits_real, logits_fake)
    fake_index = tf.fill(tf.shape(logits_fake)[:1], k)
    class_ce_real = _ce(logits_real, real_labels)
    fake_ce = _ce(logits_fake, fake_index)
    class_ce_fake = _ce(logits_fake, fake_labels)
    metrics = {"class_ce_real": class_ce_real, "fake_ce": fake_ce,
               "class_ce_fake": class_ce_fake,
               "real_accuracy": _accuracy(logits_real[:, :k], real_labels),
               "fake_accuracy": _accuracy(logits_fake[:, :k], fake_labels)}
    return class_ce_real + fake_ce, class_ce_fake, metrics


def split_losses(logits_real, logits_fake, real_labels, fake_labels,
                 class_weight=1.0, adversarial_weight=1.0,
                 d_class_on_fake=False):
    """Class head (logits ``:K``) plus real/fake logit (index K).

    Args:
        logits_real, logits_fake, real_labels, fake_labels: see
            :func:`k_plus_one_losses`.
        class_weight: float. ``w_c``. Defaults to 1.0.
        adversarial_weight: float. ``w_a``. Defaults to 1.0.
        d_class_on_fake: bool. Also train D's class head on fakes.
            Defaults to False (real samples only, as seed 002).

    Returns:
        ``(loss_d, loss_g, metrics)``; metrics ``class_ce_real``,
        ``class_ce_fake``, ``adv_real`` = BCE(D(x)[K], 1), ``adv_fake`` =
        BCE(D(G(z))[K], 0), ``adv_g`` = BCE(D(G(z))[K], 1),
        ``real_accuracy``, ``fake_accuracy``.
    """
    logits_real, logits_fake, k = _check_logits(logits_real, logits_fake)
    class_ce_real = _ce(logits_real[:, :k], real_labels)
    class_ce_fake = _ce(logits_fake[:, :k], fake_labels)
    adv_real = _bce(logits_real[:, k], 1.0)
    adv_fake = _bce(logits_fake[:, k], 0.0)
    adv_g = _bce(logits_fake[:, k], 1.0)
    d_class = class_ce_real + (class_ce_fake if d_class_on_fake else 0.0)
    loss_d = (class_weight * d_class
              + adversarial_weight * (adv_real + adv_fake))
    loss_g = class_weight * class_ce_fake + adversarial_weight * adv_g
    metrics = {"class_ce_real": class_ce_real, "class_ce_fake": class_ce_fake,
               "adv_real": adv_real, "adv_fake": adv_fake, "adv_g": adv_g,
               "real_accuracy": _accuracy(logits_real[:, :k], real_labels),
               "fake_accuracy": _accuracy(logits_fake[:, :k], fake_labels)}
    return loss_d, loss_g, metrics


_METRICS = {"k_plus_one": ("class_ce_real", "fake_ce", "class_ce_fake",
                           "real_accuracy", "fake_accuracy"),
            "split": ("class_ce_real", "class_ce_fake", "adv_real",
                      "adv_fake", "adv_g", "real_accuracy", "fake_accuracy")}


# ---------------------------------------------------------------------------
# The model.


@keras.saving.register_keras_serializable(package="mixgan")
class GMGAN(GAN):
    """GAN with a Gaussian-mixture latent space (GM-GAN).

    The engine's latent code is ``[eps, one_hot(k)]`` (size ``d + K``,
    :func:`pack_codes`) and its generator is ``G(mixture(code))``: the
    mixture layer is the generator's first layer, so it trains with G in the
    dynamic model, is saved with it, follows the generator EMA and applies
    the test-time sigma scale when sampling. :attr:`inner_generator` is the
    user's network ``z -> image``.

    Args:
        generator: model or spec list mapping ``(B, d)`` to images.
        discriminator: model or spec list. Supervised models need ``K + 1``
            outputs.
        latent_dim: int. d. Defaults to the generator's input size
            (required when it is a spec).
        num_components: int. K (the number of classes when supervised).
            Defaults to 10.
        c: float. Mean-initialisation range. Defaults to 1.0.
        sigma: float. Initial scale. Defaults to 1.0.
        covariance: ``'scalar'`` or ``'diag'``. Defaults to ``'scalar'``.
        dynamic: bool. Learn means and scales. Defaults to False.
        sigma_is: ``'std'`` or ``'variance'``. Defaults to ``'std'``.
        mixture_seed: int or None. Seed of the means. Defaults to None.
        supervised: None, ``'k_plus_one'`` or ``'split'``. Defaults to None.
        class_weight, adversarial_weight, d_class_on_fake: the ``'split'``
            objective's settings (see :func:`split_losses`).
        **kwargs: :class:`deep_learning.models.gan.GAN` arguments (``gan_loss``
            for the unsupervised model, default ``'logistic'``; seed, ...).
    """

    def __init__(self, generator, discriminator, latent_dim=None, *,
                 num_components=10, c=1.0, sigma=1.0, covariance="scalar",
                 dynamic=False, sigma_is="std", mixture_seed=None,
                 supervised=None, class_weight=1.0, adversarial_weight=1.0,
                 d_class_on_fake=False, **kwargs):
        if supervised not in _OBJECTIVES:
            raise ValueError(f"`supervised` must be one of {_OBJECTIVES}. "
                             f"Received: supervised={supervised!r}")
        if supervised and int(kwargs.get("n_critic", 1)) != 1:
            raise ValueError(
                "A supervised GM-GAN pairs each real batch with its labels "
                f"and needs n_critic=1. Received: n_critic="
                f"{kwargs['n_critic']}")
        if kwargs.pop("latent", "normal") != "normal":
            raise ValueError("GMGAN draws its own latent codes; do not pass "
                             "`latent`.")
        self.supervised = supervised
        self.class_weight = float(class_weight)
        self.adversarial_weight = float(adversarial_weight)
        self.d_class_on_fake = bool(d_class_on_fake)
        inner = self._inner(generator, latent_dim, kwargs.get("sn_mode",
                                                              "conv"))
        d, k = int(inner.input_shape[-1]), int(num_components)
        mixture = GaussianMixtureLatent(
            k, d, c=c, sigma=sigma, covariance=covariance, dynamic=dynamic,
            sigma_is=sigma_is, seed=mixture_seed, name="mixture")
        code = keras.Input((d + k,), name="gm_code")
        wrapped = keras.Model(code, inner(mixture(code)), name="gm_generator")
        kwargs.setdefault("gan_loss", "logistic")
        kwargs.setdefault("name", "gmgan")
        super().__init__(wrapped, discriminator, d + k, latent="normal",
                         **kwargs)
        if supervised and self.score_shape != (k + 1,):
            raise ValueError(
                f"A supervised GM-GAN needs a discriminator with K+1={k + 1} "
                f"outputs. Received: score shape {self.score_shape}")

    @staticmethod
    def _inner(generator, latent_dim, sn_mode):
        if isinstance(generator, keras.Model):
            return generator
        if latent_dim is None:
            raise ValueError("`latent_dim` is required when the generator "
                             "is a spec list.")
        return build_network(list(generator), (int(latent_dim),),
                             name="generator", sn_mode=sn_mode)

    @property
    def mixture(self):
        """The :class:`GaussianMixtureLatent` layer."""
        return self.generator.get_layer("mixture")

    @property
    def inner_generator(self):
        """The user's generator ``z -> image``."""
        return self.generator.layers[-1]

    @property
    def num_components(self):
        return self.mixture.num_components

    @property
    def noise_dim(self):
        """d, the dimension of z (the engine's latent_dim is d + K)."""
        return self.mixture.latent_dim

    def _loss_metric_keys(self):
        return [] if self.supervised else super()._loss_metric_keys()

    def extra_metrics(self):
        if not self.supervised:
            return []
        return [f"gm/{name}" for name in _METRICS[self.supervised]]

    # -- latent codes ------------------------------------------------------

    def draw_latent(self, batch_size, seed, training=False):
        """Codes ``[eps, one_hot(k)]`` and ``{"components": k}``: the
        Gaussian of each code, which the supervised losses read from the
        step record."""
        d, k = self.noise_dim, self.num_components
        seed = tf.convert_to_tensor(seed)
        k_seed = tf.random.experimental.stateless_fold_in(seed, 1)
        eps = _replica_slice(lambda n: _normal((n, d), seed), batch_size)
        comps = _replica_slice(lambda n: tf.random.stateless_uniform(
            (n,), k_seed, 0, k, dtype=tf.int32, alg="philox"), batch_size)
        return pack_codes(eps, comps, k), {"components": comps}

    def sample_latent(self, batch_size, seed, training=False):
        """Codes ``[eps, one_hot(k)]`` (see :meth:`draw_latent`)."""
        return self.draw_latent(batch_size, seed, training)[0]

    def latent_codes(self, n, seed=None, truncation=None):
        """``n`` GM codes drawn with ``seed``; no truncation."""
        if truncation:
            raise ValueError("GMGAN has no truncation; scale the Gaussians "
                             "with `mixture.set_sigma_scale` instead.")
        return super().latent_codes(n, seed=seed)

    def component_codes(self, n_per_component, seed=0):
        """Codes ``(K * n, d + K)``, component-major: rows
        ``[k n, (k + 1) n)`` come from Gaussian k."""
        k, n = self.num_components, int(n_per_component)
        eps = _normal((k * n, self.noise_dim),
                      tf.constant([int(seed), 1], tf.int64))
        return pack_codes(eps, tf.repeat(tf.range(k), n), k)

    def component_samples(self, n_per_component, seed=0, sigma_scale=None):
        """Images ``(K * n, H, W, C)`` in [-1, 1], one row per Gaussian,
        with the test-time scale or ``sigma_scale``."""
        mixture = self.mixture
        old = float(keras.ops.convert_to_numpy(mixture.sigma_scale))
        if sigma_scale is not None:
            mixture.set_sigma_scale(sigma_scale)
        try:
            return self.generate_images(
                self.component_codes(n_per_component, seed))
        finally:
            mixture.set_sigma_scale(old)

    # -- training ----------------------------------------------------------

    def loss_terms(self, record):
        if not self.supervised:
            return super().loss_terms(record)
        if record.labels is None:
            raise ValueError(
                "A supervised GM-GAN needs (images, labels) batches; the "
                "dataset gave images only (load it with_labels=True).")
        labels = tf.reshape(record.labels, [-1])
        comps = record.latent["components"]
        s_real, s_fake = record.s_real, record.s_fake
        if self.supervised == "k_plus_one":
            loss_d, loss_g, metrics = k_plus_one_losses(
                s_real, s_fake, labels, comps)
        else:
            loss_d, loss_g, metrics = split_losses(
                s_real, s_fake, labels, comps, self.class_weight,
                self.adversarial_weight, self.d_class_on_fake)
        return loss_d, loss_g, {f"gm/{k}": v for k, v in metrics.items()}

    def get_config(self):
        config = super().get_config()
        m = self.mixture
        config.update(
            generator=keras.saving.serialize_keras_object(
                self.inner_generator),
            latent_dim=m.latent_dim, num_components=m.num_components,
            c=m.c, sigma=m.sigma, covariance=m.covariance,
            dynamic=m.dynamic, sigma_is=m.sigma_is, mixture_seed=m.seed,
            supervised=self.supervised, class_weight=self.class_weight,
            adversarial_weight=self.adversarial_weight,
            d_class_on_fake=self.d_class_on_fake)
        return config

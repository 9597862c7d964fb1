"""The mixture-of-generator GANs of the HMoG paper's comparison.

* FC, MoG and HMoG are plain :class:`deep_learning.models.gan.GAN` models (WGAN-GP,
  n_critic 5) whose generator spec starts with a dense layer, a ``'mog'`` or
  an ``'hmog'`` op (:func:`generator_spec`).
* :class:`MEGAN` adds the load-balancing regulariser and its optimiser.
* :class:`MADGAN` uses a (K+1)-way discriminator; every z goes through all K
  generator heads.
* :class:`MGAN` adds a K-way generator classifier sharing D's trunk.

:func:`make_mixture_gan` builds any of the six with the authors'
hyper-parameters (``docs/mixtures.md`` lists every choice).
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from deep_learning.network import architectures as arch
from deep_learning.models.gan import GAN
from deep_learning.models.mixture_layers import MEGANGate, find_layer
from deep_learning.models.step_record import ExtraUpdate
from general_tools.gumbel import gumbel_softmax_with_noise

MODELS = ("fc", "mog", "hmog", "megan", "madgan", "mgan")
#: The authors' objective of each model: (gan_loss, n_critic).
OBJECTIVES = {"fc": ("wasserstein", 5), "mog": ("wasserstein", 5),
              "hmog": ("wasserstein", 5), "megan": ("logistic", 5),
              "madgan": ("logistic", 1), "mgan": ("logistic", 1)}


#: The objectives a mixture of one generator output per z can be trained
#: with instead of its own (the HMoG paper: MEGAN "can be used with either
#: Wasserstein loss or the original loss"): WGAN-GP with lambda 10 and
#: n_critic 5, or the non-saturating loss with n_critic 5.
ALTERNATIVE_OBJECTIVES = {"wasserstein": ("wasserstein", 5),
                          "logistic": ("logistic", 5)}


def objective_of(model: str, objective: str | None = None):
    """``(gan_loss, n_critic)`` of ``model``: the authors' (``objective``
    None) or one of :data:`ALTERNATIVE_OBJECTIVES` for FC, MoG, HMoG and
    MEGAN. MADGAN and MGAN have only their own (K+1)-way objective."""
    _check_model(model)
    if objective is None:
        return OBJECTIVES[model]
    if objective not in ALTERNATIVE_OBJECTIVES:
        raise ValueError(f"objective must be None or one of "
                         f"{tuple(ALTERNATIVE_OBJECTIVES)}. Received: "
                         f"objective={objective!r}")
    if model in ("madgan", "mgan"):
        raise ValueError(f"{model} trains only with its own (K+1)-way "
                         f"objective; objective must be None. Received: "
                         f"objective={objective!r}")
    return ALTERNATIVE_OBJECTIVES[objective]


def _check_model(model):
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}. Received: "
                         f"model={model!r}")


def mixing_spec(model: str, k: int, units: int = 4096) -> list[dict]:
    """The z -> h part of each generator (without B_s)."""
    _check_model(model)
    if model != "fc" and k < 2:
        raise ValueError(f"k (number of generators) must be >= 2. "
                         f"Received: k={k}")
    if model == "fc":
        return [{"name": "fc", "op": "d", "out": units, "act": "relu",
                 "init": "dcgan"}]
    if model == "mog":
        return [{"name": "mog", "op": "mog", "out": units, "leaves": k}]
    if model == "hmog":
        depth = round(math.log2(k))
        if 2 ** depth != k:
            raise ValueError(f"a binary HMoG tree needs k = 2**depth leaves. "
                             f"Received: k={k}")
        return [{"name": "tree", "op": "hmog", "out": units, "depth": depth}]
    if model == "megan":
        return [{"name": "megan", "op": "megan", "out": units, "experts": k}]
    return [{"name": "heads", "op": "heads", "out": units, "heads": k,
             "act": "relu", "act_nm": "bn", "nm_pos": "after"},
            {"name": "fold", "op": "fold_heads"}]


def generator_spec(model: str, k: int, channels: int = 1,
                   start=(4, 4, 256), widths=(128, 64)) -> list[dict]:
    """Full generator: the mixing part, then the shared block B_s.

    MADGAN and MGAN use batch norm after the ReLU in B_s (the authors'
    ``ConvBlock``); the others use no normalisation in G.
    """
    units = int(np.prod(start))
    bn = model in ("madgan", "mgan")
    return mixing_spec(model, k, units) + arch.dcgan_block(
        widths=widths, channels=channels, start=start,
        act_nm="bn" if bn else None, nm_pos="after")


def discriminator_spec(model: str, k: int, widths=(64, 128, 256)):
    """The critic: layer norm for the WGAN-GP models and MEGAN, batch norm
    after the leaky ReLU with K+1 outputs for MADGAN and MGAN (for MGAN,
    column 0 is the real/fake logit and columns 1..K the generator
    classifier sharing the trunk)."""
    _check_model(model)
    if model in ("madgan", "mgan"):
        return arch.dcgan_discriminator(widths, act_nm="bn", nm_pos="after",
                                        outputs=k + 1)
    return arch.dcgan_discriminator(widths, act_nm="ln")


def _cross_entropy(logits, labels):
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=labels, logits=logits))


def _bce(logits, target):
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.fill(tf.shape(logits), target), logits=logits))


class _MultiHeadGAN(GAN):
    """Shared parts of MADGAN and MGAN: K heads, generator-major fakes."""

    def __init__(self, generator, discriminator, num_generators, **kwargs):
        self.num_generators = int(num_generators)
        kwargs.setdefault("gan_loss", "logistic")
        super().__init__(generator, discriminator, **kwargs)
        if self.score_shape != (self.num_generators + 1,):
            raise ValueError(
                f"{type(self).__name__} needs a discriminator with "
                f"K+1={self.num_generators + 1} outputs. Received score "
                f"shape {self.score_shape}")

    def _loss_metric_keys(self):
        return []

    def g_loss_needs_real(self):
        """The generator losses use only the fake scores."""
        return False

    def fake_labels(self, batch):
        """Generator index 0..K-1 of each fake row (generator-major)."""
        return tf.repeat(tf.range(self.num_generators), batch)

    def draw_latent(self, batch_size, seed, training=False):
        """Codes, and ``extras["generator"]``: the head of each of the
        ``K * batch_size`` fakes they give (generator-major)."""
        z = self.sample_latent(batch_size, seed, training)
        return z, {"generator": self.fake_labels(tf.shape(z)[0])}

    def sample(self, n, seed=None, truncation=None, use_ema=None,
               batch_size=256):
        """``n`` images: ceil(n/K) codes through all K heads, shuffled with
        ``seed`` (the authors' evaluation sampling)."""
        per = -(-int(n) // self.num_generators)
        z = self.latent_codes(per, seed=seed, truncation=truncation)
        images = self.generate_images(z, use_ema=use_ema,
                                      batch_size=batch_size)
        order = np.random.default_rng(seed).permutation(len(images))
        return images[order[:n]]

    def per_generator_samples(self, n, seed=None):
        """(K, n, *image_shape): the same n codes through every head."""
        images = self.generate_images(self.latent_codes(n, seed=seed))
        return images.reshape((self.num_generators, n) + self.image_shape)

    def get_config(self):
        return {**super().get_config(), "num_generators": self.num_generators}


@keras.saving.register_keras_serializable(package="mixgan")
class MADGAN(_MultiHeadGAN):
    """Multi-agent diverse GAN (Ghosh et al. 2018) as the HMoG authors ran it.

    D has K+1 logits, class 0 = real. D minimises
    ``CE(D(x), 0) + CE(D(G_k(z)), k)`` (k = 1..K); G minimises the
    non-saturating ``-log softmax(D(G_k(z)))_0`` or, with
    ``saturating=True``, the paper's ``log(1 - softmax(D(G_k(z)))_0)``.

    Args:
        generator, discriminator: models or specs (see
            :func:`generator_spec`, :func:`discriminator_spec`).
        num_generators: int. K.
        saturating: bool. Use the paper's saturating G loss. Defaults to
            False (the code's).
        **kwargs: :class:`GAN` arguments.
    """

    def __init__(self, generator, discriminator, num_generators,
                 saturating=False, **kwargs):
        self.saturating = bool(saturating)
        super().__init__(generator, discriminator, num_generators, **kwargs)

    def loss_terms(self, record):
        s_fake = record.s_fake
        heads = record.latent["generator"]
        loss_d = _cross_entropy(s_fake, heads + 1)
        if record.s_real is not None:  # the generator step has none
            loss_d = _cross_entropy(record.s_real, tf.zeros(
                [tf.shape(record.s_real)[0]], tf.int32)) + loss_d
        log_p_real = tf.nn.log_softmax(s_fake, axis=-1)[:, 0]
        if self.saturating:
            p_real = tf.exp(log_p_real)
            loss_g = tf.reduce_mean(tf.math.log1p(-p_real + 1e-7))
        else:
            loss_g = -tf.reduce_mean(log_p_real)
        return loss_d, loss_g, {}

    def get_config(self):
        return {**super().get_config(), "saturating": self.saturating}


@keras.saving.register_keras_serializable(package="mixgan")
class MGAN(_MultiHeadGAN):
    """Mixture GAN (Hoang et al. 2018) as the HMoG authors ran it.

    Column 0 of D's output is the real/fake logit, columns 1..K the
    generator classifier C (sharing every convolution with D). Each update
    draws B // K codes (:meth:`latent_batch_size`), so the K heads give B
    fakes.

    ``L_D+C = BCE(d(x), 1) + BCE(d(G(z)), 0) + beta CE(C(G_k(z)), k)``,
    ``L_G = BCE(d(G(z)), 1) + beta CE(C(G_k(z)), k)``.

    Args:
        beta: float. Weight of the classifier term. Defaults to 1.0.
    """

    def __init__(self, generator, discriminator, num_generators, beta=1.0,
                 **kwargs):
        self.beta = float(beta)
        super().__init__(generator, discriminator, num_generators, **kwargs)

    def extra_metrics(self):
        return ["mgan/classifier_ce"]

    def latent_batch_size(self, batch_size):
        """``batch_size // K`` codes (at least one): the K heads turn them
        into a fake batch as large as the real one."""
        return tf.maximum(batch_size // self.num_generators, 1)

    def loss_terms(self, record):
        s_fake = record.s_fake
        ce = _cross_entropy(s_fake[:, 1:], record.latent["generator"])
        loss_g = _bce(s_fake[:, 0], 1.0) + self.beta * ce
        loss_d = _bce(s_fake[:, 0], 0.0)
        if record.s_real is not None:  # the generator step has none
            loss_d = _bce(record.s_real[:, 0], 1.0) + loss_d
        loss_d = loss_d + self.beta * ce
        return loss_d, loss_g, {"mgan/classifier_ce": ce}

    def get_config(self):
        return {**super().get_config(), "beta": self.beta}


@keras.saving.register_keras_serializable(package="mixgan")
class MEGAN(GAN):
    """Mixture of experts GAN (Park et al. 2018) with load balancing.

    The generator contains a :class:`~deep_learning.models.mixture_layers.MEGANGate`.
    After every generator update an extra update of the step
    (:meth:`extra_updates`), with its own optimiser, changes only the gate's
    projection and gate weights to minimise
    ``lb_weight * mean_k (d_k - 1/K)^2``, where ``d`` is the batch's share
    of a fresh soft Gumbel-softmax sample per expert (the authors' code:
    weight 1 for images, 10 for the toy; Adam-amsgrad at G's rate).

    Args:
        lb_weight: float. Weight of the load-balancing loss. Defaults to 1.0.
        lb_batch: int. Fresh codes per load-balancing step (per replica).
            Defaults to 128, the authors' batch size.
        **kwargs: :class:`GAN` arguments (the authors: logistic loss,
            n_critic 5).
    """

    def __init__(self, generator, discriminator, lb_weight=1.0, lb_batch=128,
                 **kwargs):
        self.lb_weight = float(lb_weight)
        self.lb_batch = int(lb_batch)
        kwargs.setdefault("gan_loss", "logistic")
        super().__init__(generator, discriminator, **kwargs)
        self.gate = find_layer(self.generator, MEGANGate)
        self.lb_optimizer = None

    def extra_metrics(self):
        return ["megan/load_balance", "grad_norm/lb"]

    def compile(self, d_optimizer=None, g_optimizer=None, lb_optimizer=None,
                **kwargs):
        """As :meth:`GAN.compile`, plus ``lb_optimizer`` for the
        load-balancing step (defaults to a fresh optimiser configured like
        ``g_optimizer``, as the authors' ``optim_gum``)."""
        if lb_optimizer is None and g_optimizer is not None:
            base = getattr(g_optimizer, "inner_optimizer", g_optimizer)
            lb_optimizer = base.__class__.from_config(base.get_config())
            lb_optimizer.name = f"{base.name}_lb"
        if not isinstance(lb_optimizer, keras.optimizers.Optimizer):
            raise ValueError("`lb_optimizer` must be a keras optimizer. "
                             f"Received: lb_optimizer={lb_optimizer!r}")
        loss_scale = kwargs.get("loss_scale", "auto")
        if loss_scale == "auto":
            loss_scale = self.uses_float16()
        self.lb_optimizer = (self._loss_scaled(lb_optimizer) if loss_scale
                             else lb_optimizer)
        super().compile(d_optimizer, g_optimizer, **kwargs)

    def optimizers_by_name(self):
        return {**super().optimizers_by_name(), "lb": self.lb_optimizer}

    def build_optimizers(self):
        super().build_optimizers()
        if self.lb_optimizer is not None and not self.lb_optimizer.built:
            self.lb_optimizer.build(self.gate.gating_weights)

    def load_balance_loss(self, z, seed):
        """``lb_weight * mean_k (d_k - 1/K)^2`` for codes ``z``."""
        _, logits = self.gate.experts_and_logits(z)
        logits = tf.cast(logits, tf.float32)
        noise = -tf.math.log(-tf.math.log(tf.random.stateless_uniform(
            tf.shape(logits), seed, alg="philox") + 1e-20) + 1e-20)
        soft = gumbel_softmax_with_noise(logits, noise,
                                         self.gate.temperature, hard=False)
        share = tf.reduce_sum(soft, 0) / tf.reduce_sum(soft)
        k = float(self.gate.experts)
        return self.lb_weight * tf.reduce_mean(tf.square(share - 1.0 / k))

    def extra_updates(self):
        """The load-balancing update of the gate, after every generator
        update: ``lb_batch`` fresh codes, the soft Gumbel share per expert,
        one ``lb_optimizer`` step on :attr:`MEGANGate.gating_weights`."""
        def loss_fn(step):
            z = self.sample_latent(self.lb_batch, self._seed(step, 256),
                                   training=True)
            loss = self.load_balance_loss(z, self._seed(step, 257))
            return loss, {"megan/load_balance": loss}

        return [ExtraUpdate("lb", self.lb_optimizer, self.gate.gating_weights,
                            loss_fn)]

    def get_config(self):
        return {**super().get_config(), "lb_weight": self.lb_weight,
                "lb_batch": self.lb_batch}


def mixture_gan(model: str, generator, discriminator, k: int,
                objective: str | None = None, **kwargs) -> GAN:
    """Wraps given networks (specs or models) in the right class with the
    authors' objective.

    FC / MoG / HMoG: WGAN-GP (lambda 10), n_critic 5. MEGAN: non-saturating
    loss, n_critic 5, load-balancing weight 1. MADGAN / MGAN: their own
    losses, n_critic 1. ``objective`` (see :func:`objective_of`) trains
    FC, MoG, HMoG or MEGAN with ``'wasserstein'`` (WGAN-GP, lambda 10) or
    ``'logistic'`` instead. ``kwargs`` override any :class:`GAN` argument.

    Returns:
        an uncompiled model; the authors compile it with
        ``make_adam(1e-4, beta_1=0.5, amsgrad=True)`` for D and G.
    """
    loss, n_critic = objective_of(model, objective)
    opts = dict(gan_loss=loss, n_critic=n_critic)
    if loss == "wasserstein":
        opts["gp_weight"] = 10.0
    if model in ("fc", "mog", "hmog"):
        return GAN(generator, discriminator, **{**opts, **kwargs})
    if model == "megan":
        return MEGAN(generator, discriminator, **{**opts, **kwargs})
    cls = MADGAN if model == "madgan" else MGAN
    return cls(generator, discriminator, num_generators=k,
               **{**opts, **kwargs})


def make_mixture_gan(model: str, k: int = 8, image_shape=(32, 32, 1),
                     latent_dim: int = 100, start=(4, 4, 256),
                     g_widths=(128, 64), d_widths=(64, 128, 256), seed=0,
                     **kwargs) -> GAN:
    """One of the six models on the ready-made specs
    (:func:`generator_spec`, :func:`discriminator_spec`); see
    :func:`mixture_gan` for the objectives."""
    g = generator_spec(model, k, image_shape[-1], start, g_widths)
    d = discriminator_spec(model, k, d_widths)
    return mixture_gan(model, g, d, k, latent_dim=latent_dim, seed=seed,
                       image_shape=image_shape, **kwargs)


def networks_from_dicts(model: str, k: int, b_s, d, h_shape):
    """Generator and discriminator specs of ``model`` from a script's B_s
    and D dicts (written for FC/MoG/HMoG/MEGAN). For MADGAN and MGAN the
    authors' ``ConvBlock`` puts batch norm after the activation in B_s and D,
    and D gets K+1 outputs."""
    units = int(np.prod(h_shape))
    b_s, d = [dict(x) for x in b_s], [dict(x) for x in d]
    if model in ("madgan", "mgan"):
        for layer in b_s[:-1] + d[:-1]:
            layer.update(act_nm="bn", nm_pos="after")
        d[-1]["out"] = k + 1
    return mixing_spec(model, k, units) + b_s, d


__all__ = ["MODELS", "OBJECTIVES", "ALTERNATIVE_OBJECTIVES", "MADGAN", "MEGAN",
           "MGAN", "discriminator_spec", "generator_spec", "make_mixture_gan",
           "mixing_spec", "mixture_gan", "networks_from_dicts", "objective_of"]

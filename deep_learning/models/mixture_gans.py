"""The mixture-of-generator GANs of the HMoG paper's comparison.

* FC, MoG and HMoG are plain :class:`deep_learning.models.gan.GAN` models (WGAN-GP,
  n_critic 5) whose generator spec starts with a dense layer, a ``'mog'`` or
  an ``'hmog'`` op (:func:`generator_spec`).
* :class:`MEGAN` adds the load-balancing regulariser and its optimiser.
* :class:`MADGAN` uses a (K+1)-way discriminator; every z goes through all K
  generator heads.
* :class:`MGAN` adds a K-way generator classifier sharing D's trunk.

:func:`make_mixture_gan` builds any of the six with the authors'
hyper-parameters (``docs/mixtures.md`` lists every choice) from its recipe
in ``experiment_spec.recipes``: the mixing part, the model class, the
objective, the discriminator's outputs and the normalisation all come from
there.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from deep_learning.models.gan import GAN
from deep_learning.models.mixture_layers import MEGANGate, find_layer
from deep_learning.models.step_record import ExtraUpdate
from deep_learning.network import architectures as arch
from experiment_spec import recipes
from general_tools.gumbel import gumbel_softmax_with_noise

#: The six models, in the order of the paper's tables (their recipes are in
#: ``experiment_spec.recipes``).
MODELS = tuple(recipes.names())


def generator_spec(model: str, k: int, channels: int = 1,
                   start=(4, 4, 256), widths=(128, 64)) -> list[dict]:
    """Full generator: the recipe's mixing part, then the shared block B_s
    (with the recipe's normalisation: batch norm after the ReLU for MADGAN
    and MGAN, the authors' ``ConvBlock``; none for the others)."""
    recipe = recipes.get(model)
    recipes.check_k(model, k)
    block = arch.dcgan_block(widths=widths, channels=channels, start=start,
                             **(recipe.block_norm or {}))
    return recipe.mixing(recipe.k_of(k), math.prod(start)) + block


def discriminator_spec(model: str, k: int, widths=(64, 128, 256)):
    """The critic: the recipe's normalisation (batch norm after the leaky
    ReLU for MADGAN and MGAN) or else layer norm, and the recipe's number of
    outputs (K+1 for MADGAN and MGAN: for MGAN column 0 is the real/fake
    logit and columns 1..K the generator classifier sharing the trunk)."""
    recipe = recipes.get(model)
    recipes.check_k(model, k)
    norm = recipe.block_norm or {"act_nm": "ln"}
    return arch.dcgan_discriminator(widths, outputs=recipe.d_outputs(k),
                                    **norm)


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
    """Wraps given networks (specs or models) in the recipe's model class
    with the recipe's objective.

    FC / MoG / HMoG: WGAN-GP (lambda 10), n_critic 5. MEGAN: non-saturating
    loss, n_critic 5, load-balancing weight 1. MADGAN / MGAN: their own
    losses, n_critic 1. ``objective`` (see
    ``experiment_spec.recipes.objective_of``) trains FC, MoG, HMoG or MEGAN
    with ``'wasserstein'`` (WGAN-GP, lambda 10) or ``'logistic'`` instead.
    ``kwargs`` override any :class:`GAN` argument.

    Returns:
        an uncompiled model whose ``recipe`` is ``model``; the authors
        compile it with ``make_adam(1e-4, beta_1=0.5, amsgrad=True)`` for D
        and G.
    """
    recipe = recipes.get(model)
    recipes.check_k(model, k)
    loss, n_critic = recipes.objective_of(model, objective)
    opts = dict(gan_loss=loss, n_critic=n_critic, recipe=model,
                **recipe.class_kwargs(k))
    if loss == "wasserstein":
        opts["gp_weight"] = 10.0
    cls = keras.saving.get_registered_object(f"mixgan>{recipe.model_class}")
    return cls(generator, discriminator, **{**opts, **kwargs})


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


__all__ = ["MODELS", "MADGAN", "MEGAN", "MGAN", "discriminator_spec",
           "generator_spec", "make_mixture_gan", "mixture_gan"]

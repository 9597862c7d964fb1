"""The base GAN model trained with ``fit``: the engine every mixgan model uses.

:class:`GAN` is a ``keras.Model`` holding a generator, a discriminator (critic)
and their optimisers. Its ``train_step`` runs ``n_critic`` discriminator
updates and one generator update (Goodfellow et al. 2014; WGAN-GP,
Gulrajani et al. 2017, Alg. 1), or the MMD-GAN repository's simultaneous
update in which both networks are updated from one forward pass
(Wang et al. 2019, richardwth/MMD-GAN ``my_sngan.py``).

Data layout. ``fit`` feeds real images in ``[-1, 1]``, channels last. With
``n_critic > 1`` a batch is one *generator step*:

* ``critic_data='split'`` (default): the batch holds ``n_critic * B`` images,
  either flat ``(n_critic * B, H, W, C)`` (critic step ``i`` uses rows
  ``[i B, (i + 1) B)``) or stacked ``(B, n_critic, H, W, C)`` (critic step
  ``i`` uses ``x[:, i]``). Every critic step sees fresh real images, as in
  the HMoG and WGAN-GP code. The stacked layout is what
  ``training.train`` feeds: under ``tf.distribute`` each replica then gets
  its share of *every* critic step's batch, so the run equals the
  single-device one.
* ``critic_data='reuse'``: the batch holds ``B`` images reused by every
  critic step (fresh noise each step).

Randomness is stateless: every draw (latent codes, interpolation
coefficients) is a function of ``(seed, step, stream)``, where ``step`` is
the generator-step counter :attr:`GAN.step`. Restoring the step counter
therefore restores the random state, and under ``tf.distribute`` each
replica draws the global batch's noise and keeps its own rows, so the
replicas never share noise and the result does not depend on the number of
replicas. Layers with their own ``SeedGenerator`` (dropout) are outside this
scheme.

Losses come from ``general_tools.losses.gan_loss`` (name + parameters);
penalties from ``general_tools.penalties`` (WGAN-GP, R1). All losses,
penalties and scores are float32 under mixed precision. Under
``mixed_float16`` every optimiser is wrapped in a
``keras.optimizers.LossScaleOptimizer``.

Hooks for subclasses (mixtures, BEGAN, GM-GAN, MMD variants) -- override
only what differs. Loss and penalty hooks receive one
:class:`~deep_learning.models.step_record.StepRecord` of the update (real
batch and labels, latent codes and the extras of their draw, fake batch,
scores, step, seed):

* :meth:`latent_batch_size` ``(batch) -> n``: codes a step draws for a real
  batch of ``batch`` (MGAN: ``batch // K``, its K heads give ``batch``)
* :meth:`draw_latent` ``(n, seed, training) -> (z, extras)``; the public
  :meth:`sample_latent` returns its ``z``
* :meth:`generate` ``(z, training) -> images`` (float32)
* :meth:`score_pair` ``(real, fake, training) -> (s_real, s_fake)``
* :meth:`loss_terms` ``(record) -> (loss_d, loss_g, logs)``
* :meth:`penalty_terms` ``(record) -> {name: weighted penalty}``
* :meth:`extra_updates` ``() -> [ExtraUpdate]``: more optimiser updates of
  every generator step (MEGAN's load balancing)
* :meth:`post_update` ``(logs) -> logs`` after each generator step (state
  that is not a gradient update, e.g. BEGAN's ``k_t``)
* :meth:`g_loss_needs_real` whether the generator step scores real data
  (from the loss's registration for named losses)
* :meth:`extra_metrics` names of the extra keys the hooks log
* :meth:`generator_variables`, :meth:`discriminator_variables`,
  :meth:`optimizers_by_name`, :meth:`build_optimizers` (extra optimisers)
* ``_seed(step, stream)``: a stateless seed for a subclass's own draws
  (streams 256..1023 are free).

Every key a hook logs needs a tracker, created before training (variables
cannot be created inside a distributed ``train_step``): declare extra keys
in :meth:`extra_metrics`. A hook's log value may be a ``(value, weight)``
pair (weight 0 leaves the running mean unchanged).

The step machinery lives in ``deep_learning.models.gan_steps`` and sampling in
``deep_learning.models.gan_sampling`` (mixins of :class:`GAN`); the stateless
random streams in ``deep_learning.models.stateless_random``. XLA draws other
numbers than TensorFlow's kernels from the same seeds, so a run and its
resumption must use the same ``jit_compile``.
"""

import json

import keras
import tensorflow as tf

from deep_learning.models.ema import WeightEMA
from deep_learning.network.builder import build_network
from deep_learning.models.gan_sampling import GANSamplingMixin
from deep_learning.models.gan_steps import GANStepsMixin
from deep_learning.models.stateless_random import (normal, replica_slice,
                                                   step_seed, uniform)
from experiment_spec import recipes
from general_tools import losses as losses_lib
from general_tools import penalties as penalties_lib

_UPDATES = ("alternating", "simultaneous")
_CRITIC_DATA = ("split", "reuse")
_LATENTS = ("normal", "uniform")


def _build_net(net, input_shape, name, sn_mode):
    if isinstance(net, keras.Model):
        return net
    if isinstance(net, (list, tuple)):
        if input_shape is None:
            raise ValueError(
                f"The {name} is given as a spec; its input shape is needed. "
                "Pass `latent_dim` (generator) or a built generator / "
                "`image_shape` (discriminator).")
        return build_network(list(net), input_shape, name=name,
                             sn_mode=sn_mode)
    raise ValueError(
        f"`{name}` must be a keras.Model or a list of layer dicts. "
        f"Received: {type(net).__name__}")


@keras.saving.register_keras_serializable(package="mixgan")
class GAN(GANStepsMixin, GANSamplingMixin, keras.Model):
    """A GAN trained by ``fit``: n_critic, GP/R1, TTUR, EMA, XLA, AMP, DDP.

    Args:
        generator: ``keras.Model`` mapping ``(B, latent_dim)`` to images, or
            a spec list for ``deep_learning.network.builder.build_network``.
        discriminator: ``keras.Model`` mapping images to scores ``(B,)`` /
            ``(B, d)``, or a spec list.
        latent_dim: int. Latent dimension. Defaults to the generator's
            input size (required when the generator is a spec).
        latent: ``'normal'`` (N(0, I)), ``'uniform'`` (U[-1, 1]^d), a
            callable ``fn(batch_size, seed) -> z`` using
            ``tf.random.stateless_*`` ops with ``seed`` a ``(2,)`` int64
            tensor, or a ``keras.layers.Layer`` mapping standard-normal noise
            ``(B, latent_dim)`` to codes (its weights train with G).
            Defaults to ``'normal'``.
        gan_loss: str. A ``general_tools.losses`` name (``'logistic'``,
            ``'hinge'``, ``'wasserstein'``, ``'rep'``, ``'rmb'``, ...).
            Defaults to ``'wasserstein'``.
        loss_params: dict. Hyper-parameters of the loss. Defaults to None.
        n_critic: int. Discriminator updates per generator update. Defaults
            to 1.
        critic_data: ``'split'`` or ``'reuse'``; see the module docstring.
            Defaults to ``'split'``.
        gp_weight: float. WGAN-GP weight lambda (10 in the paper); 0
            disables. Defaults to 0.0.
        gp_target: float. Target gradient norm of the GP. Defaults to 1.0.
        gp_per_pixel: bool. The HMoG code's per-pixel GP norm (see
            ``penalties.gradient_penalty``). Defaults to False.
        r1_gamma: float. R1 weight gamma; 0 disables. Defaults to 0.0.
        update: ``'alternating'`` or ``'simultaneous'`` (one forward pass
            updates both; with ``n_critic > 1`` the last critic step is the
            joint one). Defaults to ``'alternating'``.
        d_joint_forward: bool. Score real and fake in one discriminator call
            on their concatenation (as the MMD-GAN repository does; differs
            from two calls only with batch normalisation in D). Defaults to
            False.
        ema_decay: float or None. Decay of the generator-weight EMA used by
            :meth:`sample`; None disables. Defaults to None.
        ema_start: int. Generator step up to which the EMA copies the
            weights. Defaults to 0.
        seed: int. Seed of all of the engine's random draws. Defaults to 0.
        image_shape: tuple or None. Image shape, checked against the
            generator's output shape (from which it is always inferred).
            Defaults to None.
        sn_mode: str. ``build_network``'s spectral-norm mode for specs.
            Defaults to ``'conv'``.
        recipe: str or None. The mixture recipe the model was built from
            (``experiment_spec.recipes``; ``make_mixture_gan`` sets it), so
            that tools know how to tell its generators apart. Defaults to
            None.
        **kwargs: forwarded to ``keras.Model``.

    Example:

    >>> gan = GAN(generator, discriminator, gan_loss="wasserstein",
    ...           n_critic=5, gp_weight=10.0)
    >>> gan.compile(make_adam(1e-4, amsgrad=True),
    ...             make_adam(1e-4, amsgrad=True))
    >>> gan.fit(images.batch(5 * 64), epochs=1)
    >>> x = gan.sample(16, seed=0)
    """

    def __init__(self, generator, discriminator, latent_dim=None, *,
                 latent="normal", gan_loss="wasserstein", loss_params=None,
                 n_critic=1, critic_data="split", gp_weight=0.0,
                 gp_target=1.0, gp_per_pixel=False, r1_gamma=0.0,
                 update="alternating", d_joint_forward=False, ema_decay=None,
                 ema_start=0, seed=0, image_shape=None, sn_mode="conv",
                 recipe=None, **kwargs):
        kwargs.setdefault("name", "gan")
        super().__init__(**kwargs)
        self._check_args(n_critic, critic_data, gp_weight, r1_gamma, update,
                         ema_decay, seed, gan_loss)
        self.n_critic = int(n_critic)
        self.critic_data = critic_data
        self.gp_weight = float(gp_weight)
        self.gp_target = float(gp_target)
        self.gp_per_pixel = bool(gp_per_pixel)
        self.r1_gamma = float(r1_gamma)
        self.update = update
        self.d_joint_forward = bool(d_joint_forward)
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        self.ema_start = int(ema_start)
        self.seed = int(seed)
        self.gan_loss = gan_loss
        self.loss_params = dict(loss_params or {})
        allowed = losses_lib.loss_parameters(gan_loss)
        unknown = sorted(set(self.loss_params) - set(allowed))
        if unknown:
            raise ValueError(
                f"Unknown parameter(s) {unknown} for loss '{gan_loss}'. "
                f"Valid parameters: {sorted(allowed)}. Received: "
                f"loss_params={self.loss_params}")
        self.sn_mode = sn_mode
        self.recipe = None if recipe is None else recipes.get(recipe).name

        if latent_dim is None and isinstance(generator, keras.Model):
            latent_dim = generator.input_shape[-1]
        if latent_dim is None or int(latent_dim) <= 0:
            raise ValueError(
                f"`latent_dim` must be a positive int. Received: "
                f"latent_dim={latent_dim}")
        self.latent_dim = int(latent_dim)
        if not (latent in _LATENTS or callable(latent)):
            raise ValueError(
                f"`latent` must be one of {_LATENTS}, a callable or a Keras "
                f"layer. Received: latent={latent!r}")
        self.latent = latent

        self.generator = _build_net(generator, (self.latent_dim,),
                                    "generator", sn_mode)
        g_out = self.generator(tf.zeros((2, self.latent_dim)), training=False)
        inferred = tuple(int(d) for d in g_out.shape[1:])
        if image_shape is not None and tuple(image_shape) != inferred:
            raise ValueError(
                f"`image_shape` {tuple(image_shape)} differs from the "
                f"generator's output shape {inferred}.")
        self.image_shape = inferred
        self.discriminator = _build_net(discriminator, self.image_shape,
                                        "discriminator", sn_mode)
        if isinstance(latent, keras.layers.Layer):
            latent(tf.zeros((2, self.latent_dim)))
        scores = self.discriminator(tf.zeros((4,) + self.image_shape),
                                    training=False)
        self.score_shape = tuple(int(d) for d in scores.shape[1:])

        self.step = self.add_weight(
            name="step", shape=(), dtype="int64", initializer="zeros",
            trainable=False, aggregation="only_first_replica")
        self.ema = None
        if self.ema_decay is not None:
            self.ema = WeightEMA(self.ema_decay, self.ema_start,
                                 name="generator_ema")
            self.ema.build_for(self.generator.trainable_variables)

        loss_keys = self._loss_metric_keys()
        names = ["loss/d", "loss/g"]
        if self.gp_weight > 0:
            names.append("penalty/gp")
        if self.r1_gamma > 0:
            names.append("penalty/r1")
        names += ["grad_norm/d", "grad_norm/g"] + loss_keys
        names += [n for n in self.extra_metrics() if n not in names]
        self._trackers = {n: keras.metrics.Mean(name=n) for n in names}
        self.d_optimizer = None
        self.g_optimizer = None
        self._sampling_fn = None
        self.built = True

    # ------------------------------------------------------------------
    # Construction helpers.

    @staticmethod
    def _check_args(n_critic, critic_data, gp_weight, r1_gamma, update,
                    ema_decay, seed, gan_loss):
        if int(n_critic) != n_critic or not 1 <= int(n_critic) <= 100:
            raise ValueError(
                f"`n_critic` must be an int in [1, 100]. Received: "
                f"n_critic={n_critic}")
        if critic_data not in _CRITIC_DATA:
            raise ValueError(
                f"`critic_data` must be one of {_CRITIC_DATA}. Received: "
                f"critic_data={critic_data!r}")
        for name, value in (("gp_weight", gp_weight), ("r1_gamma", r1_gamma)):
            if not float(value) >= 0.0:
                raise ValueError(
                    f"`{name}` must be >= 0. Received: {name}={value}")
        if update not in _UPDATES:
            raise ValueError(
                f"`update` must be one of {_UPDATES}. Received: "
                f"update={update!r}")
        if ema_decay is not None and not 0.0 <= float(ema_decay) < 1.0:
            raise ValueError(
                f"`ema_decay` must be None or in [0, 1). Received: "
                f"ema_decay={ema_decay}")
        if int(seed) != seed or not 0 <= int(seed) < 2 ** 31:
            raise ValueError(
                f"`seed` must be an int in [0, 2**31). Received: seed={seed}")
        if gan_loss not in losses_lib.available_losses():
            raise ValueError(
                f"Unknown `gan_loss`. Received: gan_loss={gan_loss!r}. Valid "
                f"names: {losses_lib.available_losses()}")

    def _loss_metric_keys(self):
        """The named loss's metric keys, as declared when it registered."""
        info = losses_lib.loss_info(self.gan_loss)
        return [f"{self.gan_loss}/{k}" for k in info.metrics]

    def extra_metrics(self):
        """Names of extra logged scalars (for subclasses). Defaults to []."""
        return []

    @property
    def metrics(self):
        return list(self._trackers.values())

    def generator_variables(self):
        """Variables the generator optimiser updates."""
        variables = list(self.generator.trainable_variables)
        if isinstance(self.latent, keras.layers.Layer):
            variables += list(self.latent.trainable_variables)
        return variables

    def discriminator_variables(self):
        """Variables the discriminator optimiser updates."""
        return list(self.discriminator.trainable_variables)

    def optimizers_by_name(self):
        """``{'d': d_optimizer, 'g': g_optimizer}`` (subclasses may add)."""
        return {"d": self.d_optimizer, "g": self.g_optimizer}

    def compile(self, d_optimizer=None, g_optimizer=None, *,
                jit_compile=False, steps_per_execution=1, run_eagerly=False,
                loss_scale="auto", **kwargs):
        """Sets the two optimisers and builds all training state.

        Args:
            d_optimizer: ``keras.optimizers.Optimizer`` of the discriminator.
            g_optimizer: ``keras.optimizers.Optimizer`` of the generator
                (TTUR: give it its own learning rate).
            jit_compile: bool or ``'auto'``. XLA-compile the train step
                (double gradients of the GP included). On a 2-core AVX2 CPU
                (MNIST-32 WGAN-GP, ``benchmarks/train_throughput.py``) it is
                about 1.4-2x faster than ``tf.function`` with TensorFlow's
                Eigen kernels, but no faster than ``tf.function`` with
                oneDNN kernels, which mixgan turns on when it is imported
                before TensorFlow (``general_tools/__init__.py``), and it
                compiles for about a minute.
                Defaults to False.
            steps_per_execution: int. Generator steps per compiled call.
                Defaults to 1.
            run_eagerly: bool. Debug mode. Defaults to False.
            loss_scale: ``'auto'`` (wrap every optimiser in a
                ``LossScaleOptimizer`` when a network computes in float16),
                True or False. Defaults to ``'auto'``.
            **kwargs: forwarded to ``keras.Model.compile``.
        """
        for name, opt in (("d_optimizer", d_optimizer),
                          ("g_optimizer", g_optimizer)):
            if not isinstance(opt, keras.optimizers.Optimizer):
                raise ValueError(
                    f"`{name}` must be a keras.optimizers.Optimizer (see "
                    f"make_adam). Received: {name}={opt!r}")
        if d_optimizer is g_optimizer:
            raise ValueError("`d_optimizer` and `g_optimizer` must be two "
                             "different optimizer objects.")
        super().compile(optimizer=None, jit_compile=jit_compile,
                        steps_per_execution=steps_per_execution,
                        run_eagerly=run_eagerly, **kwargs)
        if loss_scale == "auto":
            loss_scale = self.uses_float16()
        if loss_scale:
            d_optimizer = self._loss_scaled(d_optimizer)
            g_optimizer = self._loss_scaled(g_optimizer)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        with self.distribute_strategy.scope():
            self.build_optimizers()

    @staticmethod
    def _loss_scaled(optimizer):
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            return optimizer
        return keras.optimizers.LossScaleOptimizer(
            optimizer, name=f"{optimizer.name}_loss_scale")

    def uses_float16(self):
        """True when a layer of G or D computes in float16."""
        for net in (self.generator, self.discriminator):
            for layer in net._flatten_layers(include_self=True):
                if layer.dtype_policy.compute_dtype == "float16":
                    return True
        return False

    def build_optimizers(self):
        """Creates every optimiser variable (call inside the strategy scope).

        Variables created lazily inside a distributed ``train_step`` fail
        ("Unknown variable"), so everything is built before ``fit``.
        Subclasses with more optimisers extend this.
        """
        if not self.d_optimizer.built:
            self.d_optimizer.build(self.discriminator_variables())
        if not self.g_optimizer.built:
            self.g_optimizer.build(self.generator_variables())

    def get_config(self):
        config = super().get_config()
        latent = self.latent
        if not isinstance(latent, str):
            latent = keras.saving.serialize_keras_object(latent)
        config.update(
            generator=keras.saving.serialize_keras_object(self.generator),
            discriminator=keras.saving.serialize_keras_object(
                self.discriminator),
            latent_dim=self.latent_dim, latent=latent,
            gan_loss=self.gan_loss, loss_params=self.loss_params,
            n_critic=self.n_critic, critic_data=self.critic_data,
            gp_weight=self.gp_weight, gp_target=self.gp_target,
            gp_per_pixel=self.gp_per_pixel, r1_gamma=self.r1_gamma,
            update=self.update, d_joint_forward=self.d_joint_forward,
            ema_decay=self.ema_decay, ema_start=self.ema_start,
            seed=self.seed, image_shape=list(self.image_shape),
            sn_mode=self.sn_mode, recipe=self.recipe)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("generator", "discriminator"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        if not isinstance(config.get("latent"), str):
            config["latent"] = keras.saving.deserialize_keras_object(
                config["latent"])
        return cls(**config)

    def hparams(self):
        """JSON-friendly hyper-parameters: :meth:`get_config` without the
        two networks' serialisations and Keras' bookkeeping (a serialised
        latent layer becomes its class name)."""
        config = self.get_config()
        for key in ("generator", "discriminator", "name", "trainable",
                    "dtype"):
            config.pop(key, None)
        if isinstance(config.get("latent"), dict):
            config["latent"] = config["latent"].get("class_name")
        return json.loads(json.dumps(config, default=str))

    # ------------------------------------------------------------------
    # Hooks.

    def _seed(self, step, stream, offset=0):
        """Stateless seed ``(seed + offset, step * 1024 + stream)``.

        The engine uses streams ``0 .. 2 * n_critic`` (latent codes and GP
        coefficients of each critic step, then the generator step's codes);
        subclasses take their own streams from ``256 .. 1023``.
        """
        return step_seed(self.seed, step, stream, offset)

    def latent_batch_size(self, batch_size):
        """Latent codes one update draws for a real batch of ``batch_size``
        (this replica's). Defaults to ``batch_size``."""
        return batch_size

    def draw_latent(self, batch_size, seed, training=False):
        """Codes and the extras of their draw, ``(z, extras)``.

        ``extras`` (a dict of tensors, ``{}`` here) reaches the loss hooks
        as ``StepRecord.latent``; subclasses add what their losses need
        (GM-GAN the Gaussian of each code, multi-head models the head of
        each fake).
        """
        return self.sample_latent(batch_size, seed, training), {}

    def sample_latent(self, batch_size, seed, training=False):
        """Latent codes for ``batch_size`` samples of this replica.

        Args:
            batch_size: int or scalar tensor. Local batch size.
            seed: ``(2,)`` int tensor; a stateless seed.
            training: bool. Passed to a latent layer.

        Returns:
            float32 tensor ``(batch_size, latent_dim)``.
        """
        latent, dim = self.latent, self.latent_dim
        if latent == "uniform":
            def draw(n):
                return uniform((n, dim), seed, -1.0)
        elif latent == "normal" or isinstance(latent, keras.layers.Layer):
            def draw(n):
                return normal((n, dim), seed)
        else:
            def draw(n):
                return tf.cast(latent(n, seed), tf.float32)
        z = replica_slice(draw, batch_size)
        if isinstance(latent, keras.layers.Layer):
            z = tf.cast(latent(z, training=training), tf.float32)
        return z

    def generate(self, z, training=False):
        """Generator forward pass; float32 images."""
        return tf.cast(self.generator(z, training=training), tf.float32)

    def discriminator_scores(self, x, training=False):
        """Discriminator forward pass; float32 scores."""
        return tf.cast(self.discriminator(x, training=training), tf.float32)

    def score_pair(self, real, fake, training=False):
        """Scores of a real and a fake batch, ``(s_real, s_fake)``.

        One call on ``concat(real, fake)`` when ``d_joint_forward``, else two.
        """
        if self.d_joint_forward:
            scores = self.discriminator_scores(
                tf.concat([real, tf.cast(fake, real.dtype)], 0), training)
            n = tf.shape(real)[0]
            return scores[:n], scores[n:]
        return (self.discriminator_scores(real, training),
                self.discriminator_scores(fake, training))

    def loss_terms(self, record):
        """``(loss_d, loss_g, logs)`` from the named GAN loss.

        Args:
            record: :class:`~deep_learning.models.step_record.StepRecord`;
                this hook reads its two score tensors (``s_real`` is None
                in a generator step whose loss ignores it; the fake scores
                stand in for the discarded ``loss_d``).

        Returns:
            two float32 scalars and ``logs``, which maps
            ``'<gan_loss>/<key>'`` to the loss's diagnostics.
        """
        s_real = record.s_real
        if s_real is None:  # a generator step whose loss ignores it
            s_real = tf.stop_gradient(record.s_fake)
        loss_d, loss_g, metrics = losses_lib.gan_loss(
            self.gan_loss, s_real, record.s_fake, **self.loss_params)
        logs = {f"{self.gan_loss}/{k}": v for k, v in metrics.items()}
        return loss_d, loss_g, logs

    def penalty_terms(self, record):
        """Weighted discriminator penalties ``{log name: scalar}``.

        WGAN-GP at ``x_hat = u x + (1 - u) G(z)``, ``u ~ U(0, 1)`` per sample
        (drawn with the record's stateless seed, global batch sliced per
        replica), and R1 on the real batch.
        """
        real, fake, seed = record.real, record.fake, record.seed
        terms = {}
        critic = self.discriminator
        if self.gp_weight > 0:
            b = tf.shape(real)[0]
            u = replica_slice(lambda n: uniform((n,), seed, 0.0), b)
            u = tf.reshape(u, [-1] + [1] * len(self.image_shape))
            x_hat = u * real + (1.0 - u) * fake
            # The penalty at our own stateless interpolates (the module's
            # `gradient_penalty` would draw its own `u`).
            terms["penalty/gp"] = penalties_lib.gradient_norm_penalty(
                critic, x_hat, target=self.gp_target, weight=self.gp_weight,
                per_pixel=self.gp_per_pixel, training=True)
        if self.r1_gamma > 0:
            terms["penalty/r1"] = penalties_lib.r1_penalty(
                critic, real, gamma=self.r1_gamma, training=True)
        return terms

    def g_loss_needs_real(self):
        """Whether the generator step must score the real batch.

        What the named loss declared when it registered
        (``losses.loss_info(name).g_reads_real``: False for logistic,
        minimax, hinge, wasserstein, lsgan and began) as long as
        :meth:`loss_terms` is not overridden; True otherwise. A subclass
        whose own ``loss_terms`` gives an ``L_G`` free of ``s_real`` returns
        False to save one discriminator pass per generator step.
        """
        if type(self).loss_terms is not GAN.loss_terms:
            return True
        return losses_lib.loss_info(self.gan_loss).g_reads_real

    def extra_updates(self):
        """More optimiser updates run after every generator update, as
        :class:`~deep_learning.models.step_record.ExtraUpdate` s. ``[]``."""
        return []

    def post_update(self, logs):
        """Called after each generator step; returns extra logs. ``{}``.

        ``logs`` are the last critic step's logs (values may be
        ``(value, weight)`` pairs).
        """
        return {}

    # ------------------------------------------------------------------
    def call(self, z, training=False):
        """Generates images from latent codes (the generator's forward)."""
        return self.generate(z, training=training)


__all__ = ["GAN"]

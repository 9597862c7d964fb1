"""The train and test steps of :class:`deep_learning.models.gan.GAN`.

A mixin so that ``gan.py`` stays readable: it holds the update machinery
(critic batches, loss scaling for replicas and mixed precision, gradient
application and norms, trackers); the hooks it calls (``latent_batch_size``,
``draw_latent``, ``generate``, ``score_pair``, ``loss_terms``,
``penalty_terms``, ``extra_updates``, ``post_update``) are defined and
documented on ``GAN``. Each update builds one
:class:`~deep_learning.models.step_record.StepRecord` for the loss and
penalty hooks.

Per-replica scaling: each replica minimises ``loss / num_replicas`` and the
optimiser sums the replicas' gradients, which is the gradient of the global
batch mean. Under a ``LossScaleOptimizer`` the loss is also multiplied by
the dynamic scale, and the optimiser unscales and skips overflowing steps.
Logged values are per-replica means averaged over replicas (equal to the
global value for losses that are means over samples); gradient norms are
those of each replica's own mean loss.

Multi-worker logs. Keras 3 reduces a step's logs under a multi-worker
``MultiWorkerMirroredStrategy`` with ``strategy.reduce("MEAN", v, axis=0)``,
which rejects scalars ("Invalid reduction dimension 0",
tensorflow/tensorflow#72388). The steps therefore return each log as a
one-element vector in exactly that mode (:func:`logs_for_reduction`): the
reduction averages over replicas and that axis and hands the callbacks the
usual scalar.
"""

import keras
import tensorflow as tf

from deep_learning.models.stateless_random import replica_info
from deep_learning.models.step_record import StepRecord


def _multi_worker_collective(strategy):
    """True where Keras reduces logs with ``axis=0`` across workers (the
    same test as Keras' own ``_collective_all_reduce_multi_worker``)."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return False
    in_multi_worker = getattr(strategy.extended, "_in_multi_worker_mode",
                              None)
    return bool(in_multi_worker and in_multi_worker())


def logs_for_reduction(logs):
    """``logs`` shaped for Keras' per-replica reduction (module docstring)."""
    if not _multi_worker_collective(tf.distribute.get_strategy()):
        return logs
    return {k: tf.reshape(v, [1]) if v.shape.rank == 0 else v
            for k, v in logs.items()}


class GANStepsMixin:
    """``train_step`` / ``test_step`` of ``GAN`` (see the module docstring)."""

    def _critic_batches(self, real, labels=None):
        """``[(real, labels)]`` of each critic step (labels may be None)."""
        rank = len(self.image_shape)
        n = self.n_critic
        if real.shape.rank == rank + 2:
            if real.shape[1] != n:
                raise ValueError(
                    f"A stacked batch must have shape (B, n_critic={n}, ...). "
                    f"Received: shape={real.shape}")
            return [(real[:, i], None if labels is None else labels[:, i])
                    for i in range(n)]
        if real.shape.rank != rank + 1:
            raise ValueError(
                f"Expected real batches of shape (B, {self.image_shape}) or "
                f"(B, {n}, {self.image_shape}). Received: shape={real.shape}")
        if n == 1 or self.critic_data == "reuse":
            return [(real, labels)] * n
        total = real.shape[0]
        if total is not None and total % n:
            raise ValueError(
                f"With critic_data='split' the batch size must be a multiple "
                f"of n_critic={n}. Received: batch size {total}")
        b = tf.shape(real)[0] // n
        return [(real[i * b:(i + 1) * b],
                 None if labels is None else labels[i * b:(i + 1) * b])
                for i in range(n)]

    def _apply(self, optimizer, tape, scaled_loss, variables):
        """Gradients of ``scaled_loss``, applied; returns the logged norm.

        The norm is that of the unscaled gradient of this replica's mean
        loss, as ``(norm, weight)``: under loss scaling an overflowing
        gradient (the optimiser skips the step and lowers the scale) is
        logged with weight 0 instead of as infinity.
        """
        grads = tape.gradient(scaled_loss, variables)
        norm = self._grad_norm(optimizer, grads)
        optimizer.apply(grads, variables)
        return norm

    @staticmethod
    def _grad_norm(optimizer, grads):
        norm = tf.linalg.global_norm([g for g in grads if g is not None])
        norm = norm * replica_info()[1]
        if not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            return norm, 1.0
        norm = norm / tf.cast(optimizer.dynamic_scale, norm.dtype)
        finite = tf.math.is_finite(norm)
        return tf.where(finite, norm, 0.0), tf.cast(finite, tf.float32)

    @staticmethod
    def _scale(loss, optimizer):
        """Per-replica loss for summed gradients, then loss scaling."""
        replicas = replica_info()[1]
        if replicas > 1:
            loss = loss / float(replicas)
        return optimizer.scale_loss(loss)

    def _draw(self, real, seed, training=True):
        """Codes of one update, ``(z, extras)``, for the real batch's size."""
        n = self.latent_batch_size(tf.shape(real)[0])
        return self.draw_latent(n, seed, training=training)

    def _d_update(self, real, labels, step, index):
        z, extras = self._draw(real, self._seed(step, 2 * index))
        fake = tf.stop_gradient(self.generate(z, training=True))
        real = tf.cast(real, tf.float32)
        with tf.GradientTape() as tape:
            s_real, s_fake = self.score_pair(real, fake, training=True)
            record = StepRecord(real, labels, z, extras, fake, s_real,
                                s_fake, step, self._seed(step, 2 * index + 1))
            loss_d, _, logs = self.loss_terms(record)
            terms = self.penalty_terms(record)
            total = loss_d + tf.add_n(list(terms.values())) if terms else loss_d
            scaled = self._scale(total, self.d_optimizer)
        norm = self._apply(self.d_optimizer, tape, scaled,
                           self.discriminator_variables())
        logs.update(terms)
        logs["loss/d"] = loss_d
        logs["grad_norm/d"] = norm
        return logs

    def _g_update(self, real, labels, step):
        real = tf.cast(real, tf.float32)
        seed = self._seed(step, 2 * self.n_critic)
        with tf.GradientTape() as tape:
            # Inside the tape: a trainable latent layer trains with G.
            z, extras = self._draw(real, seed)
            fake = self.generate(z, training=True)
            if self.g_loss_needs_real():
                s_real, s_fake = self.score_pair(real, fake, training=True)
            else:
                s_real = None
                s_fake = self.discriminator_scores(fake, training=True)
            record = StepRecord(real, labels, z, extras, fake, s_real,
                                s_fake, step, seed)
            _, loss_g, _ = self.loss_terms(record)
            scaled = self._scale(loss_g, self.g_optimizer)
        norm = self._apply(self.g_optimizer, tape, scaled,
                           self.generator_variables())
        return {"loss/g": loss_g, "grad_norm/g": norm}

    def _joint_update(self, real, labels, step):
        """The MMD-GAN repository's step: one forward pass, both updates."""
        index = self.n_critic - 1
        real = tf.cast(real, tf.float32)
        d_vars = self.discriminator_variables()
        g_vars = self.generator_variables()
        with tf.GradientTape() as d_tape, tf.GradientTape() as g_tape:
            z, extras = self._draw(real, self._seed(step, 2 * index))
            fake = self.generate(z, training=True)
            s_real, s_fake = self.score_pair(real, fake, training=True)
            record = StepRecord(real, labels, z, extras, fake, s_real,
                                s_fake, step, self._seed(step, 2 * index + 1))
            loss_d, loss_g, logs = self.loss_terms(record)
            terms = self.penalty_terms(
                record.replace(fake=tf.stop_gradient(fake)))
            total = loss_d + tf.add_n(list(terms.values())) if terms else loss_d
            d_scaled = self._scale(total, self.d_optimizer)
            g_scaled = self._scale(loss_g, self.g_optimizer)
        # Both gradients are taken before either update is applied.
        d_grads = d_tape.gradient(d_scaled, d_vars)
        g_grads = g_tape.gradient(g_scaled, g_vars)
        norms = [self._grad_norm(self.d_optimizer, d_grads),
                 self._grad_norm(self.g_optimizer, g_grads)]
        self.d_optimizer.apply(d_grads, d_vars)
        self.g_optimizer.apply(g_grads, g_vars)
        logs.update(terms)
        logs.update({"loss/d": loss_d, "loss/g": loss_g,
                     "grad_norm/d": norms[0], "grad_norm/g": norms[1]})
        return logs

    def _extra_update(self, update, step):
        """One :class:`ExtraUpdate` with the engine's replica and loss
        scaling; logs its own values and ``grad_norm/<name>``."""
        with tf.GradientTape() as tape:
            loss, logs = update.loss_fn(step)
            scaled = self._scale(loss, update.optimizer)
        logs = dict(logs)
        logs[f"grad_norm/{update.name}"] = self._apply(
            update.optimizer, tape, scaled, list(update.variables))
        return logs

    def _track(self, logs):
        """Updates the trackers; a value may be a ``(value, weight)`` pair."""
        for key, value in logs.items():
            if key not in self._trackers:
                raise ValueError(
                    f"No tracker for logged key {key!r}; declare it in "
                    f"`extra_metrics()`. Known keys: {sorted(self._trackers)}")
            weight = None
            if isinstance(value, tuple):
                value, weight = value
            self._trackers[key].update_state(tf.cast(value, tf.float32),
                                             sample_weight=weight)

    def _results(self):
        out = {name: t.result() for name, t in self._trackers.items()}
        for name, opt in self.optimizers_by_name().items():
            out[f"lr/{name}"] = tf.cast(opt.learning_rate, tf.float32)
        return logs_for_reduction(out)

    def _unpack(self, data):
        """``(real, labels)`` of a batch (labels None for images only)."""
        real, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        real = tf.convert_to_tensor(real)  # numpy input in eager mode
        if labels is not None:
            labels = tf.cast(tf.convert_to_tensor(labels), tf.int32)
        return real, labels

    def train_step(self, data):
        real, labels = self._unpack(data)
        batches = self._critic_batches(real, labels)
        step = tf.convert_to_tensor(self.step)
        n_alone = self.n_critic - (1 if self.update == "simultaneous" else 0)
        for i in range(n_alone):
            d_logs = self._d_update(*batches[i], step, i)
            self._track(d_logs)
        if self.update == "simultaneous":
            d_logs = self._joint_update(*batches[-1], step)
            self._track(d_logs)
        else:
            self._track(self._g_update(*batches[-1], step))
        for update in self.extra_updates():
            self._track(self._extra_update(update, step))
        self.step.assign_add(1)
        if self.ema is not None:
            self.ema.update(self.generator.trainable_variables, self.step)
        self._track(self.post_update(d_logs))
        return self._results()

    def test_step(self, data):
        """Losses on one batch with the current weights (no updates)."""
        real, labels = self._unpack(data)
        real, labels = self._critic_batches(real, labels)[0]
        real = tf.cast(real, tf.float32)
        step = tf.convert_to_tensor(self.step)
        z, extras = self._draw(real, self._seed(step, 0, offset=1),
                               training=False)
        fake = self.generate(z)
        s_real, s_fake = self.score_pair(real, fake)
        record = StepRecord(real, labels, z, extras, fake, s_real, s_fake,
                            step, self._seed(step, 1, offset=1),
                            training=False)
        loss_d, loss_g, logs = self.loss_terms(record)
        logs.update({"loss/d": loss_d, "loss/g": loss_g})
        self._track(logs)
        return logs_for_reduction(
            {k: self._trackers[k].result() for k in logs})

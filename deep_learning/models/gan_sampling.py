"""Sampling of :class:`deep_learning.models.gan.GAN`: latent codes (optionally
truncated), images from the live or the EMA generator.

The EMA generator is never materialised: its forward pass is
``generator.stateless_call`` with the averaged weights of
``deep_learning.models.ema.WeightEMA``.
"""

import numpy as np
import tensorflow as tf
from scipy import stats

from deep_learning.models.stateless_random import normal


class GANSamplingMixin:
    """``latent_codes``, ``generate_images`` and ``sample`` of ``GAN``."""

    def latent_codes(self, n, seed=None, truncation=None):
        """``n`` latent codes, optionally truncated.

        ``truncation=t`` (in [0, 1)) disregards the least likely fraction
        ``t`` of the prior, as in the HMoG paper's Fig. 10 ("draw z and
        disregard the least likely 25%" is ``t=0.25``): for N(0, I_d) the
        density falls with ``||z||``, so draws with
        ``||z||^2 > chi2_d.ppf(1 - t)`` are rejected and redrawn. Only the
        ``'normal'`` latent supports it.

        Args:
            n: int. Number of codes.
            seed: int or None (fresh entropy). Defaults to None.
            truncation: float in [0, 1) or None. Defaults to None.

        Returns:
            float32 tensor ``(n, latent_dim)``.
        """
        if seed is None:
            seed = int(np.random.default_rng().integers(2 ** 31))
        n = int(n)
        if n <= 0:
            raise ValueError(f"`n` must be positive. Received: n={n}")
        if truncation is None or truncation == 0:
            return self.sample_latent(n, tf.constant([seed, 0], tf.int64))
        if not 0.0 < float(truncation) < 1.0:
            raise ValueError(
                f"`truncation` must be in [0, 1). Received: "
                f"truncation={truncation}")
        if self.latent != "normal":
            raise ValueError(
                "`truncation` needs the 'normal' latent, whose likelihood is "
                f"monotone in ||z||. Received: latent={self.latent!r}")
        limit = stats.chi2.ppf(1.0 - float(truncation), self.latent_dim)
        kept, count, round_ = [], 0, 0
        per_round = int(np.ceil(n / (1.0 - truncation) * 1.2)) + 8
        while count < n:
            round_ += 1
            z = normal((per_round, self.latent_dim),
                        tf.constant([seed, round_], tf.int64))
            z = tf.boolean_mask(z, tf.reduce_sum(tf.square(z), 1) <= limit)
            kept.append(z)
            count += int(z.shape[0])
        return tf.concat(kept, 0)[:n]

    def _generate_for_sampling(self, z, use_ema):
        if use_ema:
            values = [v.value for v in self.ema.values()]
            images, _ = self.generator.stateless_call(
                values, [v.value for v in self.generator.non_trainable_variables],
                z, training=False)
        else:
            images = self.generator(z, training=False)
        return tf.clip_by_value(tf.cast(images, tf.float32), -1.0, 1.0)

    def generate_images(self, z, use_ema=None, batch_size=256):
        """Images in ``[-1, 1]`` for given latent codes ``z``.

        Args:
            z: tensor ``(n, latent_dim)``.
            use_ema: bool or None (EMA weights when enabled). Defaults to
                None.
            batch_size: int. Generation batch size. Defaults to 256.

        Returns:
            float32 numpy array ``(n, *image_shape)``.
        """
        if use_ema is None:
            use_ema = self.ema is not None
        if use_ema and self.ema is None:
            raise ValueError("`use_ema=True` but the model has no EMA "
                             "(ema_decay=None).")
        if self._sampling_fn is None:
            def sampling_fn(z, use_ema):
                return self._generate_for_sampling(z, use_ema)
            self._sampling_fn = tf.function(sampling_fn,
                                            reduce_retracing=True)
        z = tf.convert_to_tensor(z, tf.float32)
        out = [self._sampling_fn(z[i:i + batch_size], bool(use_ema))
               for i in range(0, int(z.shape[0]), batch_size)]
        return tf.concat(out, 0).numpy()

    def sample(self, n, seed=None, truncation=None, use_ema=None,
               batch_size=256):
        """``n`` generated images in ``[-1, 1]``.

        Args:
            n: int. Number of images.
            seed: int or None. Seed of the latent draw (None: fresh entropy).
                Defaults to None.
            truncation: float or None. Fraction of least likely codes to
                disregard; see :meth:`latent_codes`. Defaults to None.
            use_ema: bool or None. Use the EMA generator (default when the
                model has one). Defaults to None.
            batch_size: int. Generation batch size. Defaults to 256.

        Returns:
            float32 numpy array ``(n, *image_shape)``.
        """
        z = self.latent_codes(n, seed=seed, truncation=truncation)
        return self.generate_images(z, use_ema=use_ema, batch_size=batch_size)

"""BEGAN's auto-encoder loss, equilibrium control and convergence measure.

Boundary equilibrium GAN (Berthelot, Schumm & Metz 2017, arXiv 1703.10717,
Sec. 3): the discriminator D is an auto-encoder and its "score" of an image
``v`` is the pixel-wise reconstruction loss

    L(v) = mean_pixels |v - D(v)|^eta,        eta in {1, 2} (paper: 1).

With ``x`` real and ``G(z)`` generated,

    L_D = L(x) - k_t L(G(z)),     L_G = L(G(z)),
    k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1),
    M_global = L(x) + |gamma L(x) - L(G(z))|,

with ``k_0 = 0``, ``lambda_k = 0.001`` and the diversity ratio
``gamma = E[L(G(z))] / E[L(x)]`` (0.5 in carpedm20/BEGAN-tensorflow; the
paper shows 0.3 to 0.7). ``gamma L(x) - L(G(z))`` is the *balance* term.

The loss is also registered with ``general_tools.losses`` as ``'began'``:
``gan_loss('began', e_real, e_fake, k=k_t, gamma=0.5)`` takes the
per-example auto-encoder losses as scores, so the training engine treats
BEGAN like any named loss. Everything computes in float32.

Example:

>>> e_real = autoencoder_loss(x, d_of_x)             # (B,)
>>> loss_d, loss_g, m = gan_loss('began', e_real, e_fake, k=0.1, gamma=0.5)
>>> k_next = k_update(0.1, m['d_real'], m['d_fake'], gamma=0.5)
"""

import tensorflow as tf

from general_tools.losses import register_loss

__all__ = ["autoencoder_loss", "balance_term", "convergence_measure",
           "k_update", "began"]


def _f32(x):
    return tf.cast(tf.convert_to_tensor(x), tf.float32)


def _check_gamma(gamma):
    if not isinstance(gamma, (tf.Tensor, tf.Variable)) and not (
            0.0 <= float(gamma) <= 1.0):
        raise ValueError(
            f"`gamma` must be in [0, 1] (gamma = E L(G(z)) / E L(x)). "
            f"Received: gamma={gamma}")


def autoencoder_loss(images, reconstructions, eta=1):
    """Per-example auto-encoder loss ``mean_pixels |v - D(v)|^eta``.

    Args:
        images: tensor ``(B, ...)``. Inputs ``v`` of the auto-encoder.
        reconstructions: tensor of the same shape. ``D(v)``.
        eta: int or float. Exponent; 1 is the paper's L1 loss, 2 the squared
            error. Defaults to 1.

    Returns:
        float32 tensor ``(B,)``. Its mean is carpedm20's
        ``reduce_mean(abs(AE_x - x))`` for ``eta = 1``.
    """
    if not float(eta) > 0.0:
        raise ValueError(f"`eta` must be positive. Received: eta={eta}")
    images, reconstructions = _f32(images), _f32(reconstructions)
    if images.shape.rank is not None and reconstructions.shape.rank is not \
            None and images.shape.rank != reconstructions.shape.rank:
        raise ValueError(
            "`images` and `reconstructions` must have the same shape. "
            f"Received: {images.shape} and {reconstructions.shape}")
    diff = tf.abs(images - reconstructions)
    if float(eta) != 1.0:
        diff = tf.pow(diff, float(eta))
    axes = list(range(1, diff.shape.rank))
    return tf.reduce_mean(diff, axis=axes) if axes else diff


def balance_term(loss_real, loss_fake, gamma):
    """``gamma L(x) - L(G(z))``: > 0 when D reconstructs fakes too well."""
    return _f32(gamma) * _f32(loss_real) - _f32(loss_fake)


def convergence_measure(loss_real, loss_fake, gamma):
    """``M_global = L(x) + |gamma L(x) - L(G(z))|`` (BEGAN Sec. 3.4.1)."""
    return _f32(loss_real) + tf.abs(balance_term(loss_real, loss_fake, gamma))


def k_update(k, loss_real, loss_fake, gamma, lambda_k=0.001, k_min=0.0,
             k_max=1.0):
    """One proportional-control step of BEGAN's ``k_t``.

    ``k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), k_min, k_max)``.

    Args:
        k: scalar. ``k_t``.
        loss_real: scalar. ``L(x)`` of the step.
        loss_fake: scalar. ``L(G(z))`` of the step.
        gamma: float. Diversity ratio.
        lambda_k: float. Proportional gain. Defaults to 0.001.
        k_min, k_max: floats. Clip range. Default to 0 and 1.

    Returns:
        float32 scalar ``k_{t+1}``.
    """
    if not float(k_min) <= float(k_max):
        raise ValueError(
            f"`k_min` must be <= `k_max`. Received: k_min={k_min}, "
            f"k_max={k_max}")
    step = _f32(lambda_k) * balance_term(loss_real, loss_fake, gamma)
    return tf.clip_by_value(_f32(k) + step, float(k_min), float(k_max))


@register_loss("began", g_reads_real=False,
               metrics=("d_real", "d_fake", "balance", "m_global"))
def began(s_real, s_fake, *, k=0.0, gamma=0.5):
    """BEGAN losses from per-example auto-encoder losses (the "scores").

    ``L_D = mean(s_real) - k mean(s_fake)``, ``L_G = mean(s_fake)`` with
    ``s_real = L(x_i)`` and ``s_fake = L(G(z_i))`` from
    :func:`autoencoder_loss` (any shape: every element is averaged).

    Metrics: ``d_real`` = L(x), ``d_fake`` = L(G(z)), ``balance`` =
    ``gamma L(x) - L(G(z))`` and ``m_global`` = M_global.

    Args:
        k: scalar (float or tensor). ``k_t``. Defaults to 0.0 (``k_0``).
        gamma: float. Diversity ratio. Defaults to 0.5.
    """
    _check_gamma(gamma)
    loss_real = tf.reduce_mean(_f32(s_real))
    loss_fake = tf.reduce_mean(_f32(s_fake))
    loss_d = loss_real - _f32(k) * loss_fake
    metrics = {"d_real": loss_real, "d_fake": loss_fake,
               "balance": balance_term(loss_real, loss_fake, gamma),
               "m_global": convergence_measure(loss_real, loss_fake, gamma)}
    return loss_d, loss_fake, metrics

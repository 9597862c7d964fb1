"""MMD-GAN with the repulsive loss (Wang, Sun & Halgamuge, ICLR 2019).

The repository (richardwth/MMD-GAN, ``DeepLearning/my_sngan.py``) trains a
DCGAN generator against a spectrally normalised discriminator with a
16-dimensional score. Each step samples z, runs D **once** on
``concat(x, G(z))``, splits the scores, computes both losses from that one
pass and applies both updates together (simultaneous, not alternating);
:class:`MMDGAN` is the engine's ``GAN`` in exactly that mode
(``update='simultaneous'``, ``d_joint_forward=True``).

Losses by name (``general_tools.losses``): ``'rep'`` (repulsive, the paper),
``'rmb'`` (repulsive with the bounded kernel, the robust choice of the
authors' sweeps), ``'mmd'`` (attractive MMD-GAN, Gaussian kernels with
sigma in {1, sqrt 2, 2, sqrt 8, 4}), ``'hinge'``, ``'logistic'``. The MMD
losses log the kernel means ``<loss>/kxx`` = E k(g, g'), ``<loss>/kyy`` =
E k(r, r'), ``<loss>/kxy`` = E k(g, r) and ``<loss>/mmd2``; the engine's
TensorBoard callback writes every spectrally normalised layer's sigma as
``sigma/discriminator/<layer>``.

Per-dataset settings of the repository's scripts (:data:`DATASET_LR`, from
``experiment_spec.mmd``):

| dataset | lr_D | lr_G |
|---|---|---|
| cifar10 | 5e-4 | 2e-4 |
| stl10 | 2e-4 | 2e-4 |
| celeba | 1e-4 | 2e-4 |
| lsun | 2e-4 | 1e-4 |

with Adam(beta_1 = 0.5, beta_2 = 0.999, epsilon = 1e-8), batch 64 and z of
size 128 from N(0, I). Spectral normalisation multiplies each D layer's
kernel by ``C / sigma`` with ``C = 64^(1/L)`` (L = number of D layers, the
scripts' default) or the paper's main-text ``C = 1.82``
(:data:`PAPER_MULTIPLIER`).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from deep_learning.network import architectures as arch
from deep_learning.models.gan import GAN
from deep_learning.engine.schedules import make_adam
# The repository's settings (lr_D, lr_G per dataset; the losses; C = 1.82),
# kept with the scripts' flags in experiment_spec.
from experiment_spec.mmd import (DATASET_LR, MMD_LOSSES,  # noqa: F401
                                 PAPER_MULTIPLIER)

__all__ = ["MMDGAN", "DATASET_LR", "MMD_LOSSES", "PAPER_MULTIPLIER",
           "make_mmd_optimizers", "mmd_multiplier_for"]

_FIXED = {"update": "simultaneous", "d_joint_forward": True}


def _check_dataset(dataset):
    if dataset not in DATASET_LR:
        raise ValueError(f"`dataset` must be one of {sorted(DATASET_LR)}. "
                         f"Received: dataset={dataset!r}")


def mmd_multiplier_for(dataset, multiplier="scripts"):
    """The spectral-norm multiplier C.

    Args:
        dataset: str. ``'cifar10'``, ``'stl10'``, ``'celeba'`` or ``'lsun'``.
        multiplier: ``'scripts'`` (``64^(1/L)``), ``'paper'`` (1.82) or a
            positive float. Defaults to ``'scripts'``.
    """
    _check_dataset(dataset)
    if multiplier == "scripts":
        return arch.mmd_multiplier(dataset)
    if multiplier == "paper":
        return PAPER_MULTIPLIER
    if isinstance(multiplier, str) or not float(multiplier) > 0.0:
        raise ValueError(
            "`multiplier` must be 'scripts', 'paper' or a positive float. "
            f"Received: multiplier={multiplier!r}")
    return float(multiplier)


def make_mmd_optimizers(dataset=None, lr_d=None, lr_g=None, beta_1=0.5,
                        beta_2=0.999):
    """The repository's two Adam optimisers (TTUR).

    Args:
        dataset: str or None. Takes the learning rates from
            :data:`DATASET_LR` unless given. Defaults to None.
        lr_d, lr_g: floats. Learning rates of D and G.
        beta_1, beta_2: floats. Adam's decays. Default to 0.5 and 0.999.

    Returns:
        ``(d_optimizer, g_optimizer)``.
    """
    if dataset is not None:
        _check_dataset(dataset)
        lr_d = DATASET_LR[dataset][0] if lr_d is None else lr_d
        lr_g = DATASET_LR[dataset][1] if lr_g is None else lr_g
    if lr_d is None or lr_g is None:
        raise ValueError("Give `dataset` or both `lr_d` and `lr_g`. "
                         f"Received: lr_d={lr_d}, lr_g={lr_g}")
    return (make_adam(lr_d, beta_1=beta_1, beta_2=beta_2, name="adam_d"),
            make_adam(lr_g, beta_1=beta_1, beta_2=beta_2, name="adam_g"))


@keras.saving.register_keras_serializable(package="mixgan")
class MMDGAN(GAN):
    """The repulsive MMD-GAN repository's model: one joint forward pass.

    Args:
        generator, discriminator: models or spec lists
            (:meth:`for_dataset` builds the repository's).
        latent_dim: int. Defaults to the generator's input size.
        gan_loss: str. ``'rep'``, ``'rmb'``, ``'mmd'``, ``'hinge'``,
            ``'logistic'`` or any other registered loss. Defaults to
            ``'rep'``.
        **kwargs: other :class:`deep_learning.models.gan.GAN` arguments
            (``loss_params``, ``seed``, ``ema_decay``, ...). The update
            mode and the joint forward pass are fixed.
    """

    def __init__(self, generator, discriminator, latent_dim=None, *,
                 gan_loss="rep", **kwargs):
        for key, value in _FIXED.items():
            if key in kwargs and kwargs.pop(key) != value:
                raise ValueError(f"MMDGAN fixes `{key}` to {value!r}.")
        kwargs.setdefault("name", "mmd_gan")
        super().__init__(generator, discriminator, latent_dim,
                         gan_loss=gan_loss, **_FIXED, **kwargs)

    @classmethod
    def for_dataset(cls, dataset="cifar10", gan_loss="rep", multiplier=
                    "scripts", score_dim=16, latent_dim=128, channels=3,
                    sn_mode="conv", **kwargs):
        """The repository's networks for ``dataset``.

        Args:
            dataset: str. ``'cifar10'`` (32x32), ``'stl10'`` (48x48),
                ``'celeba'`` or ``'lsun'`` (64x64). Defaults to
                ``'cifar10'``.
            gan_loss: str. Defaults to ``'rep'``.
            multiplier: see :func:`mmd_multiplier_for`. Defaults to
                ``'scripts'``.
            score_dim: int. Dimension of D's score. Defaults to 16.
            latent_dim: int. Size of z. Defaults to 128.
            channels: int. Image channels. Defaults to 3.
            sn_mode: ``'conv'`` (the paper's operator norm) or
                ``'matrix'`` (Miyato et al.). Defaults to ``'conv'``.
            **kwargs: :class:`MMDGAN` arguments.
        """
        c = mmd_multiplier_for(dataset, multiplier)
        gen = arch.mmd_generator(dataset, channels=channels)
        dis = arch.mmd_discriminator(dataset, score_dim=score_dim,
                                     multiplier=c)
        return cls(gen, dis, latent_dim, gan_loss=gan_loss, sn_mode=sn_mode,
                   **kwargs)

    def get_config(self):
        config = super().get_config()
        for key in _FIXED:
            config.pop(key, None)
        return config

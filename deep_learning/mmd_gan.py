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

Per-dataset settings of the repository's scripts (:data:`DATASET_LR`):

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

from deep_learning import architectures as arch
from deep_learning.gan import GAN
from deep_learning.schedules import make_adam

__all__ = ["MMDGAN", "DATASET_LR", "MMD_LOSSES", "PAPER_MULTIPLIER",
           "make_mmd_optimizers", "mmd_multiplier_for", "run_mmd_experiment",
           "define_mmd_flags", "mmd_main"]

#: (lr_D, lr_G) of the repository's ``my_test_*`` scripts.
DATASET_LR = {"cifar10": (5e-4, 2e-4), "stl10": (2e-4, 2e-4),
              "celeba": (1e-4, 2e-4), "lsun": (2e-4, 1e-4)}
#: The losses of the paper's comparison.
MMD_LOSSES = ("rep", "rmb", "mmd", "hinge", "logistic")
#: The multiplier C of the paper's main text (about 1 / 0.55).
PAPER_MULTIPLIER = 1.82

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
        **kwargs: other :class:`deep_learning.gan.GAN` arguments
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


def _with_multiplier(spec, multiplier):
    """A copy of ``spec`` whose spectrally normalised layers use C."""
    out = []
    for layer in spec:
        layer = dict(layer)
        if layer.get("w_nm") == "s":
            layer["act_k"] = float(multiplier)
        out.append(layer)
    return out


def _match_channels(dataset, channels):
    """Tiles grey images to ``channels`` (e.g. MNIST in a 3-channel run)."""
    have = dataset.element_spec.shape[-1]
    if have == channels:
        return dataset
    if have != 1:
        raise ValueError(
            f"The data have {have} channels and the architecture expects "
            f"{channels}; only 1-channel data can be tiled.")
    return dataset.map(lambda x: tf.repeat(x, channels, axis=-1),
                       num_parallel_calls=tf.data.AUTOTUNE,
                       deterministic=True)


def run_mmd_experiment(architecture, *, dataset, steps, data_name=None,
                       data_dir=None, batch_size=64, gan_loss="rep",
                       loss_params=None, lr_d=None, lr_g=None,
                       multiplier="scripts", sn_mode="conv", seed=0,
                       root="Results", run_dir=None, precision="float32",
                       steps_per_epoch=500, checkpoint_every=5000,
                       scalar_every=100, image_every=2500, jit_compile=False,
                       verbose=1):
    """Trains the repository's MMD-GAN from an architecture dict.

    The ``my_test_mmd_*`` scripts call this with their dict
    ``{'input': (H, W, C), 'code': z_dim, 'generator': [...],
    'discriminator': [...]}``. The run folder (named from the loss and
    learning rates) holds ``config.json`` with the dict and every setting.

    Args:
        architecture: dict. See above.
        dataset: str. Settings key: ``'cifar10'``, ``'stl10'``, ``'celeba'``
            or ``'lsun'`` (learning rates, multiplier).
        steps: int. Generator steps.
        data_name: str or None. ``general_tools.data.load_dataset`` name;
            defaults to the key's dataset. Grey data are tiled to the
            architecture's channels.
        data_dir: str or None. Data folder. Defaults to None.
        batch_size: int. Defaults to 64 (the repository).
        gan_loss, loss_params: the loss (see :data:`MMD_LOSSES`).
        lr_d, lr_g: floats or None (the dataset's TTUR values).
        multiplier: ``'scripts'``, ``'paper'`` or a float; replaces the
            dict's ``act_k`` unless ``'scripts'``. Defaults to ``'scripts'``.
        sn_mode: ``'conv'`` or ``'matrix'``. Defaults to ``'conv'``.
        seed, root, run_dir, precision, steps_per_epoch, checkpoint_every,
            scalar_every, image_every, jit_compile, verbose: see
            ``deep_learning.training.train``.

    Returns:
        ``training.TrainResult``.
    """
    from deep_learning import training
    from general_tools.data import load_dataset

    _check_dataset(dataset)
    names = {"cifar10": "cifar10", "stl10": "stl10", "celeba": "celeb_a",
             "lsun": "lsun/church_outdoor"}
    data_name = data_name or names[dataset]
    height, width, channels = architecture["input"]
    disc = architecture["discriminator"]
    if multiplier != "scripts":
        disc = _with_multiplier(disc, mmd_multiplier_for(dataset, multiplier))
    lr_d = DATASET_LR[dataset][0] if lr_d is None else float(lr_d)
    lr_g = DATASET_LR[dataset][1] if lr_g is None else float(lr_g)
    images = load_dataset(data_name, image_size=(height, width),
                          data_dir=data_dir, seed=seed, deterministic=True)
    images = _match_channels(images, channels)

    def build():
        model = MMDGAN(architecture["generator"], disc,
                       int(architecture["code"]), gan_loss=gan_loss,
                       loss_params=loss_params, sn_mode=sn_mode, seed=seed)
        model.compile(*make_mmd_optimizers(lr_d=lr_d, lr_g=lr_g),
                      jit_compile=jit_compile)
        return model

    config = {"architecture": {**architecture, "discriminator": disc},
              "dataset": dataset, "data_name": data_name,
              "batch_size": batch_size, "gan_loss": gan_loss,
              "loss_params": loss_params or {}, "lr_d": lr_d, "lr_g": lr_g,
              "multiplier": multiplier, "sn_mode": sn_mode}
    return training.train(
        build, images, steps=steps, config=config, root=root,
        run_dir=run_dir, model_tag=f"mmd_{dataset}", batch_size=batch_size,
        steps_per_epoch=steps_per_epoch, seed=seed, precision=precision,
        callback_options={"checkpoint_every": checkpoint_every,
                          "scalar_every": scalar_every,
                          "image_every": image_every},
        verbose=verbose)


def define_mmd_flags(dataset):
    """Defines the ``my_test_mmd_*`` scripts' absl flags (call once)."""
    from absl import flags

    _check_dataset(dataset)
    lr_d, lr_g = DATASET_LR[dataset]
    flags.DEFINE_integer("steps", 100000, "Generator steps (the repository "
                         "runs 8 x 12,500).")
    flags.DEFINE_integer("batch_size", 64, "Batch size.")
    flags.DEFINE_enum("loss", "rep", list(MMD_LOSSES), "GAN loss.")
    flags.DEFINE_float("lr_d", lr_d, "Discriminator learning rate.")
    flags.DEFINE_float("lr_g", lr_g, "Generator learning rate.")
    flags.DEFINE_string("multiplier", "scripts", "Spectral-norm multiplier "
                        "C: 'scripts' (64^(1/L)), 'paper' (1.82) or a "
                        "number.")
    flags.DEFINE_enum("sn_mode", "conv", ["conv", "matrix"],
                      "Spectral norm of the conv operator or of the "
                      "reshaped kernel (Miyato et al.).")
    flags.DEFINE_string("dataset", None, "load_dataset name (default: the "
                        "script's dataset).")
    flags.DEFINE_string("data_dir", None, "Data folder.")
    flags.DEFINE_string("root", "Results", "Parent folder of run folders.")
    flags.DEFINE_string("run_dir", None, "Explicit run folder.")
    flags.DEFINE_integer("seed", 0, "Seed.")
    flags.DEFINE_enum("precision", "float32", ["float32", "mixed_float16",
                                               "mixed_bfloat16", "auto"],
                      "Compute precision.")
    flags.DEFINE_integer("steps_per_epoch", 500, "Steps per Keras epoch.")
    flags.DEFINE_integer("checkpoint_every", 5000, "Checkpoint period.")
    flags.DEFINE_integer("scalar_every", 100, "Scalar summary period.")
    flags.DEFINE_integer("image_every", 2500, "Image summary period.")
    flags.DEFINE_boolean("jit", False, "XLA-compile the train step.")


def mmd_main(architecture, dataset, argv):
    """Entry point of the ``my_test_mmd_*`` scripts (after the flags).

    Returns None (``absl.app.run`` exits with the return value).
    """
    from absl import flags

    if len(argv) > 1:
        raise ValueError(f"Unexpected arguments: {argv[1:]}")
    f = flags.FLAGS
    multiplier = f.multiplier
    if multiplier not in ("scripts", "paper"):
        multiplier = float(multiplier)
    result = run_mmd_experiment(
        architecture, dataset=dataset, steps=f.steps, data_name=f.dataset,
        data_dir=f.data_dir, batch_size=f.batch_size, gan_loss=f.loss,
        lr_d=f.lr_d, lr_g=f.lr_g, multiplier=multiplier, sn_mode=f.sn_mode,
        seed=f.seed, root=f.root, run_dir=f.run_dir, precision=f.precision,
        steps_per_epoch=f.steps_per_epoch,
        checkpoint_every=f.checkpoint_every, scalar_every=f.scalar_every,
        image_every=f.image_every, jit_compile=f.jit)
    print(f"Run folder: {result.paths.root} (step {result.step})")
    if result.stop_message:
        print(result.stop_message)

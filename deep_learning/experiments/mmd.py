"""Runner of the ``my_tests/my_test_mmd_*`` scripts: the repulsive MMD-GAN
repository's training from an architecture dict."""

from __future__ import annotations

import tensorflow as tf
from absl import flags

from deep_learning.engine import training
from deep_learning.models.mmd_gan import (DATASET_LR, MMD_LOSSES, MMDGAN,
                                          _check_dataset, make_mmd_optimizers,
                                          mmd_multiplier_for)
from general_tools.data import dataset_identity, load_dataset

__all__ = ["run_mmd_experiment", "define_mmd_flags", "mmd_main"]


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
            ``deep_learning.engine.training.train``.

    Returns:
        ``training.TrainResult``.
    """
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
    data_info = dataset_identity(images)
    if images.element_spec.shape[-1] != channels:
        data_info["tiled_to_channels"] = channels
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
        run_dir=run_dir, model_tag=f"mmd_{dataset}", data=data_info,
        batch_size=batch_size,
        steps_per_epoch=steps_per_epoch, seed=seed, precision=precision,
        callback_options={"checkpoint_every": checkpoint_every,
                          "scalar_every": scalar_every,
                          "image_every": image_every},
        verbose=verbose)


def define_mmd_flags(dataset):
    """Defines the ``my_test_mmd_*`` scripts' absl flags (call once)."""
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

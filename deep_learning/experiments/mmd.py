"""Runner of the ``my_tests/my_test_mmd_*`` scripts: the repulsive MMD-GAN
repository's training from an architecture dict (Wang, Sun & Halgamuge,
ICLR 2019, richardwth/MMD-GAN)."""

from __future__ import annotations

import tensorflow as tf

from deep_learning.engine import training
from deep_learning.experiments.common import (exit_status, make_strategy,
                                             report_run)
from deep_learning.models.mmd_gan import (MMDGAN, _check_dataset,
                                          make_mmd_optimizers,
                                          mmd_multiplier_for)
from experiment_spec.mmd import DATA_NAMES, DATASET_LR
from general_tools.data import dataset_identity, load_dataset

__all__ = ["run_mmd_experiment", "run_script"]


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
                       root="Results", precision="float32", jit=False,
                       steps_per_epoch=500, checkpoint_every=5000,
                       scalar_every=100, image_every=2500, config=None,
                       strategy="default", verbose=1):
    """Trains the repository's MMD-GAN from an architecture dict.

    The ``my_test_mmd_*`` scripts call this with their dict
    ``{'input': (H, W, C), 'code': z_dim, 'generator': [...],
    'discriminator': [...]}``. ``training.train`` names the run folder
    under ``root`` (model tag ``mmd_<dataset>``, the data actually used,
    loss, learning rates, batch, seed) and resumes it when it exists with
    the same configuration; its ``config.json`` holds the dict and every
    setting. Prints the run folder and how the run ended
    (``common.report_run``).

    Args:
        architecture: dict. See above.
        dataset: str. Settings key: ``'cifar10'``, ``'stl10'``, ``'celeba'``
            or ``'lsun'`` (learning rates, multiplier, data).
        steps: int. Generator steps.
        data_name: str or None. ``general_tools.data.load_dataset`` name;
            None takes the key's dataset
            (``experiment_spec.mmd.DATA_NAMES``). Grey data are tiled to the
            architecture's channels (the run folder names the data used).
        data_dir: str or None. Data folder. Defaults to None.
        batch_size: int. Defaults to 64 (the repository).
        gan_loss, loss_params: the loss (see
            ``experiment_spec.mmd.MMD_LOSSES``). Default to ``'rep'``, None.
        lr_d, lr_g: floats or None (the dataset's TTUR values).
        multiplier: ``'scripts'``, ``'paper'`` or a float; replaces the
            dict's ``act_k`` unless ``'scripts'``. Defaults to ``'scripts'``.
        sn_mode: ``'conv'`` or ``'matrix'``. Defaults to ``'conv'``.
        seed: int. Defaults to 0.
        root: str. Parent folder of the run folder. Defaults to
            ``'Results'``.
        precision: str. See ``training.train``. Defaults to ``'float32'``.
        jit: bool. XLA-compile the train step. Defaults to False.
        steps_per_epoch: int. Defaults to 500.
        checkpoint_every, scalar_every, image_every: ints. Periods in
            generator steps (``image_every`` 0: no sample grids). Default
            to 5000, 100, 2500.
        config: dict or None. More entries of the run's configuration
            (e.g. ``{'script': ...}``); part of the run's identity.
        strategy: a ``tf.distribute`` strategy or its ``--strategy`` name
            (``experiments.common.make_strategy``). Defaults to
            ``'default'``.
        verbose: int. ``fit``'s verbosity. Defaults to 1.

    Returns:
        ``training.TrainResult``.
    """
    _check_dataset(dataset)
    strategy = make_strategy(strategy)
    data_name = data_name or DATA_NAMES[dataset]
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
                      jit_compile=jit)
        return model

    run = training.train(
        build, images, steps=steps, root=root, model_tag=f"mmd_{dataset}",
        data=data_info, batch_size=batch_size,
        steps_per_epoch=steps_per_epoch, seed=seed, precision=precision,
        callback_options={"checkpoint_every": checkpoint_every,
                          "scalar_every": scalar_every,
                          "image_every": image_every},
        config={"architecture": {**architecture, "discriminator": disc},
                "dataset": dataset, "data_name": data_name,
                "batch_size": batch_size, "gan_loss": gan_loss,
                "loss_params": loss_params or {}, "lr_d": lr_d,
                "lr_g": lr_g, "multiplier": multiplier, "sn_mode": sn_mode,
                **(config or {})},
        strategy=strategy, verbose=verbose)
    return report_run(run)


def run_script(architecture, dataset, args, script):
    """The body of the four ``my_test_mmd_<dataset>`` scripts: their
    parsed flags (``experiment_spec.mmd.make_parser``) to
    :func:`run_mmd_experiment`; returns the exit status (1 when the run
    stopped on a non-finite value)."""
    run = run_mmd_experiment(
        architecture, dataset=dataset, steps=args.steps,
        data_name=args.dataset, data_dir=args.data_dir,
        batch_size=args.batch_size, gan_loss=args.loss, lr_d=args.lr_d,
        lr_g=args.lr_g, multiplier=args.multiplier, sn_mode=args.sn_mode,
        seed=args.seed, root=args.out, precision=args.precision,
        jit=args.jit, steps_per_epoch=args.steps_per_epoch,
        checkpoint_every=args.checkpoint_every,
        scalar_every=args.scalar_every, image_every=args.image_every,
        strategy=args.strategy, config={"script": script})
    return exit_status(run)

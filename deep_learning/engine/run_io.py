"""Rebuilding a trained GAN from its run folder, for sampling and evaluation.

A run folder (see `deep_learning.engine.training`) holds `checkpoints/` written by
`callbacks.GANCheckpoint` and, with this module, `model.json`: the model's
Keras serialisation (`keras.saving.serialize_keras_object`: class,
generator and discriminator specs, every hyper-parameter). `load_run`
deserialises it and restores the model variables of a checkpoint.

Checkpoint layout (`callbacks.checkpoint_items`): the variables of
`model.variables` are saved under `model/v00000`, `model/v00001`, ... in
that order (G, D, EMA, step counter, whatever the class owns), and every
optimiser's variables under `optimizer_<name>/v.....`. A model rebuilt from
the same configuration lists its variables in the same order, so only the
`model` group is restored here: optimisers are not needed to sample or
evaluate, and their slots are left unread. The number and shapes of the
checkpoint's model variables are checked against the rebuilt model first,
so that a `model.json` from another configuration fails with a clear
message instead of a partial restore.
"""

import glob
import json
import os
import re

import keras
import numpy as np
import tensorflow as tf

from general_tools.atomic_io import write_bytes_atomic

MODEL_FILE = "model.json"
CHECKPOINT_SUBDIR = "checkpoints"
_CKPT_PATTERN = re.compile(r"ckpt-(\d+)\.index$")
_MODEL_KEY = re.compile(r"^model/v(\d+)/\.ATTRIBUTES/VARIABLE_VALUE$")


def model_config_path(run_dir):
    """Path of a run's `model.json`."""
    return os.path.join(os.fspath(getattr(run_dir, "root", run_dir)),
                        MODEL_FILE)


def save_model_config(run_dir, model):
    """Writes `<run_dir>/model.json`, the model's Keras serialisation.

    The compile configuration is left out (`GAN.compile` takes optimisers
    that `config.json` records); everything `from_config` needs to rebuild
    the architecture is kept. Written atomically.

    Args:
        run_dir: str or `training.RunPaths`. the run folder.
        model: `deep_learning.models.gan.GAN`. the model.

    Returns:
        str path of the file.
    """
    config = keras.saving.serialize_keras_object(model)
    config.pop("compile_config", None)
    try:
        text = json.dumps(config, indent=2, sort_keys=True)
    except TypeError as error:
        raise ValueError(
            f"The configuration of {type(model).__name__} is not JSON "
            f"serialisable ({error}); check its get_config().") from None
    path = model_config_path(run_dir)
    write_bytes_atomic(path, (text + "\n").encode("utf-8"))
    return path


def checkpoint_steps(run_dir):
    """Sorted generator steps of the checkpoints in `<run_dir>/checkpoints`."""
    folder = os.path.join(os.fspath(getattr(run_dir, "root", run_dir)),
                          CHECKPOINT_SUBDIR)
    steps = []
    for path in glob.glob(os.path.join(folder, "ckpt-*.index")):
        match = _CKPT_PATTERN.search(os.path.basename(path))
        if match:
            steps.append(int(match.group(1)))
    return sorted(steps)


def find_checkpoint(run_dir, step=None):
    """The checkpoint prefix of a run: the newest, or that of `step`.

    Args:
        run_dir: str. the run folder.
        step: int or None. generator step of the checkpoint (its number in
            `ckpt-<step>`); None takes the newest. Defaults to None.

    Returns:
        `(prefix, step)`, e.g. `("<run>/checkpoints/ckpt-2000", 2000)`.
    """
    run_dir = os.fspath(getattr(run_dir, "root", run_dir))
    folder = os.path.join(run_dir, CHECKPOINT_SUBDIR)
    steps = checkpoint_steps(run_dir)
    if not steps:
        raise ValueError(
            f"The run folder {run_dir!r} has no checkpoint in {folder!r} "
            "(files ckpt-<step>.index); train it first.")
    if step is None:
        latest = tf.train.latest_checkpoint(folder)
        if latest is not None:
            match = re.search(r"ckpt-(\d+)$", latest)
            if match and os.path.exists(latest + ".index"):
                return latest, int(match.group(1))
        step = steps[-1]
    if int(step) not in steps:
        raise ValueError(
            f"The run folder {run_dir!r} has no checkpoint for step {step}; "
            f"available steps: {steps}.")
    return os.path.join(folder, f"ckpt-{int(step)}"), int(step)


def build_from_config(run_dir):
    """The (untrained) model described by `<run_dir>/model.json`."""
    path = model_config_path(run_dir)
    if not os.path.isfile(path):
        raise ValueError(
            f"{path!r} does not exist. Write it with "
            "`run_io.save_model_config(run_dir, model)` after building the "
            "model (training.train does this for new runs).")
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except (OSError, ValueError) as error:
        raise ValueError(f"Cannot read {path!r}: {error}") from None
    config.pop("compile_config", None)
    try:
        model = keras.saving.deserialize_keras_object(config)
    except Exception as error:  # Keras raises many types here.
        raise ValueError(
            f"Cannot rebuild the model from {path!r}: {error}") from error
    if not isinstance(model, keras.Model) or not hasattr(model, "step"):
        raise ValueError(
            f"{path!r} does not describe a mixgan GAN; it gives "
            f"{type(model).__name__}.")
    return model


def restore_model_variables(model, prefix):
    """Restores the `model/...` group of a checkpoint into `model`.

    Args:
        model: the rebuilt GAN.
        prefix: str. checkpoint prefix (`.../ckpt-<step>`).
    """
    saved = {}
    for name, shape in tf.train.list_variables(prefix):
        match = _MODEL_KEY.match(name)
        if match:
            saved[int(match.group(1))] = tuple(shape)
    variables = list(model.variables)
    if len(saved) != len(variables):
        raise ValueError(
            f"Checkpoint {prefix!r} holds {len(saved)} model variables but "
            f"the model rebuilt from {MODEL_FILE} has {len(variables)}; the "
            "configuration does not match the checkpoint.")
    for index, variable in enumerate(variables):
        if saved.get(index) != tuple(variable.shape):
            raise ValueError(
                f"Variable {index} ({variable.path}) has shape "
                f"{tuple(variable.shape)} in the rebuilt model but "
                f"{saved.get(index)} in checkpoint {prefix!r}.")
    items = {f"v{i:05d}": v for i, v in enumerate(variables)}
    status = tf.train.Checkpoint(model=items).restore(prefix)
    status.expect_partial()
    status.assert_existing_objects_matched()


def load_run(run_dir, step=None):
    """Rebuilds a run's GAN and restores a checkpoint's model variables.

    Generator, discriminator, EMA weights and the step counter are
    restored; optimisers are not (the model is returned uncompiled, ready
    for `sample`, `generate_images` and evaluation).

    Args:
        run_dir: str. the run folder (with `model.json` and
            `checkpoints/`).
        step: int or None. checkpoint step; None is the newest. Defaults to
            None.

    Returns:
        the GAN; `int(model.step)` is the restored generator step, and
        `model.checkpoint_path` the checkpoint prefix.
    """
    prefix, _ = find_checkpoint(run_dir, step)
    model = build_from_config(run_dir)
    restore_model_variables(model, prefix)
    model.checkpoint_path = prefix
    return model


def model_step(model):
    """The generator step of a GAN as a Python int."""
    return int(np.asarray(keras.ops.convert_to_numpy(model.step)))


__all__ = ["MODEL_FILE", "build_from_config", "checkpoint_steps",
           "find_checkpoint", "load_run", "model_config_path", "model_step",
           "restore_model_variables", "save_model_config"]

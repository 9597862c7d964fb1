"""The run folder: its name, its files, and the rules that keep a run's work
safe. This module is the only one that knows the layout::

    <root>/<model>_<data>_<loss>_lrd<..>_lrg<..>_nc<..>_b<..>_s<seed>/
        config.json      # everything that decides the run's result
        model.json       # the model's Keras serialisation (load_run)
        generator.keras  # the generator (EMA weights when EMA is on),
                         # rewritten at every checkpoint
        checkpoints/     # ckpt-<step>.index / .data-*, the pointer file
        logs/            # TensorBoard event files
        samples/         # PNG grids
        eval/            # scores (deep_learning.tools.evaluate)
        .lock            # held while a process trains into the folder

Rules:

* **Identity.** The folder name carries the model (and K), the data
  actually used (an offline ``mnist`` that fell back to the bundled images
  is ``mnist_bundled``), loss, learning rates, n_critic, batch and seed.
  ``config.json`` holds the generator and discriminator (their layer-dict
  specs, or their Keras configs), the data, the objective, the optimisers
  and the training settings. A resume whose configuration differs in any
  of them is refused with every differing key and its old and new value
  (:func:`check_config`), before anything in the folder is written.
* **Resume** takes the newest checkpoint that restores
  (:func:`restore_newest`): a missing newest checkpoint, a damaged pointer
  file or a truncated or corrupt data file is reported by name and the
  previous checkpoint is tried; a folder whose checkpoints all fail is
  refused, naming them. Training moves the unreadable ones to
  ``checkpoints/unreadable/`` (nothing is deleted) and removes the
  temporary folders of interrupted saves; ``load_run`` (sample, evaluate)
  follows the same rule without changing anything.
* **One writer.** :func:`lock` keeps a second process out of a folder in
  use; the lock of a process that died is taken over with a warning.
* ``model.json`` and every other file are written only after a successful
  restore.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import json
import os
import re
import shutil
import socket
import sys
import time
import warnings

import keras
import numpy as np
import tensorflow as tf

from deep_learning.network.builder import spec_of
from general_tools.atomic_io import write_bytes_atomic

__all__ = ["RunFolderError", "RunPaths", "checkpoint_items",
           "checkpoint_steps", "check_config", "config_differences",
           "data_tag", "lock", "load_config", "load_run", "model_step",
           "network_config", "paths_of", "read_config",
           "restore_model_variables", "restore_newest", "rewrite_pointer",
           "run_name", "save_generator", "save_model_config", "set_aside",
           "build_from_config", "is_image_model", "write_json_atomic"]

CONFIG_FILE = "config.json"
MODEL_FILE = "model.json"
GENERATOR_FILE = "generator.keras"
LOCK_FILE = ".lock"
UNREADABLE = "unreadable"
#: config.json entries that may change between a run and its resumption.
SESSION_KEYS = ("session",)

_CKPT_INDEX = re.compile(r"^ckpt-(\d+)\.index$")
_MODEL_KEY = re.compile(r"^model/v(\d+)/\.ATTRIBUTES/VARIABLE_VALUE$")
_POINTER = re.compile(r'^model_checkpoint_path:\s*"(.*)"\s*$')


class RunFolderError(ValueError):
    """A run folder that cannot be used as asked; the message says why and
    names the folder or file."""


@dataclasses.dataclass(frozen=True)
class RunPaths:
    """Folders and files of one run."""

    root: str
    logs: str
    checkpoints: str
    samples: str
    eval: str
    config: str
    model: str
    generator: str
    lock: str


def paths_of(run_dir):
    """The :class:`RunPaths` of a run folder (a path or ``RunPaths``)."""
    if isinstance(run_dir, RunPaths):
        return run_dir
    root = os.fspath(run_dir)
    join = os.path.join
    return RunPaths(root=root, logs=join(root, "logs"),
                    checkpoints=join(root, "checkpoints"),
                    samples=join(root, "samples"), eval=join(root, "eval"),
                    config=join(root, CONFIG_FILE),
                    model=join(root, MODEL_FILE),
                    generator=join(root, GENERATOR_FILE),
                    lock=join(root, LOCK_FILE))


# ---------------------------------------------------------------------------
# Identity.


def _fmt_lr(value):
    return f"{float(value):.0e}"


def data_tag(name):
    """A dataset name as a folder-name field: ``'lsun/church_outdoor'`` ->
    ``'lsun-church_outdoor'``, ``'npz:/data/digits.npz'`` -> ``'npz-digits'``."""
    name = str(name)
    prefix, sep, rest = name.partition(":")
    if sep:
        stem = os.path.splitext(os.path.basename(rest.rstrip("/\\")))[0]
        name = f"{prefix}-{stem or 'data'}"
    return re.sub(r"[^A-Za-z0-9_.+-]", "-", name)


def run_name(model="gan", data="data", gan_loss="wasserstein", lr_d=1e-4,
             lr_g=1e-4, n_critic=1, batch=None, seed=0, suffix=None):
    """Folder name of a run, e.g.
    ``hmog16_mnist_bundled_wasserstein_lrd1e-04_lrg1e-04_nc5_b128_s0``.

    Args:
        model: str. Model tag with its K (``'hmog16'``, ``'fc'``, ``'gan'``).
        data: str. The dataset actually used (see :func:`data_tag`).
        gan_loss: str. Loss name.
        lr_d, lr_g: floats. Learning rates of D and G.
        n_critic: int. Critic steps per generator step.
        batch: int or None. Batch size of one critic step (left out when
            None).
        seed: int. Seed.
        suffix: str or None. Appended after ``_``.
    """
    name = (f"{model}_{data_tag(data)}_{gan_loss}_lrd{_fmt_lr(lr_d)}"
            f"_lrg{_fmt_lr(lr_g)}_nc{int(n_critic)}")
    if batch is not None:
        name += f"_b{int(batch)}"
    name += f"_s{int(seed)}"
    if suffix:
        name += f"_{suffix}"
    bad = [c for c in name if c in '/\\:*?"<>| ']
    if bad:
        raise ValueError(
            f"Run name {name!r} contains characters not allowed in a folder "
            f"name: {sorted(set(bad))}")
    return name


def _strip_names(obj):
    """A Keras config without layer and model names (they depend on how
    many layers a process made before, not on the architecture)."""
    if isinstance(obj, dict):
        return {k: _strip_names(v) for k, v in obj.items()
                if k not in ("name", "inbound_nodes", "input_layers",
                             "output_layers")}
    if isinstance(obj, list):
        return [_strip_names(v) for v in obj]
    return obj


def network_config(net):
    """What ``config.json`` records of a network: its spec (when the
    builder made it) or its Keras configuration without names."""
    spec = spec_of(net)
    if spec is not None:
        return spec
    config = keras.saving.serialize_keras_object(net)
    return {"keras": _strip_names(json.loads(json.dumps(config,
                                                        default=str)))}


def _flatten(obj, prefix=""):
    if isinstance(obj, dict):
        out = {}
        for key in sorted(obj):
            out.update(_flatten(obj[key], f"{prefix}.{key}" if prefix
                                else str(key)))
        return out or {prefix: {}}
    if isinstance(obj, list):
        out = {}
        for i, value in enumerate(obj):
            out.update(_flatten(value, f"{prefix}[{i}]"))
        return out or {prefix: []}
    return {prefix: obj}


def config_differences(old, new, ignore=SESSION_KEYS):
    """``[(key, old value, new value)]`` of two configurations, keys as
    dotted paths (``generator.spec[2].act``); ``<absent>`` marks a key one
    of them lacks. Top-level keys in ``ignore`` are not compared."""
    absent = "<absent>"
    old = {k: v for k, v in (old or {}).items() if k not in ignore}
    new = {k: v for k, v in json.loads(json.dumps(
        new, default=str)).items() if k not in ignore}
    a, b = _flatten(old), _flatten(new)
    return [(key, a.get(key, absent), b.get(key, absent))
            for key in sorted(set(a) | set(b)) if a.get(key, absent) !=
            b.get(key, absent)]


def read_config(run_dir):
    """The run's ``config.json`` as a dict, or None when there is none."""
    path = paths_of(run_dir).config
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as error:
        raise RunFolderError(f"{path} cannot be read ({error}); the run "
                             "folder's configuration is damaged.") from None


load_config = read_config


def check_config(run_dir, config, limit=20):
    """Refuses a configuration that differs from the folder's.

    Raises:
        RunFolderError: the folder's ``config.json`` differs; the message
            lists each differing key with its old and new value (the first
            ``limit`` of them). Nothing is written.
    """
    old = read_config(run_dir)
    if old is None:
        return
    diffs = config_differences(old, config)
    if not diffs:
        return
    lines = [f"  {key}: {a!r} -> {b!r}" for key, a, b in diffs[:limit]]
    if len(diffs) > limit:
        lines.append(f"  ... and {len(diffs) - limit} more")
    raise RunFolderError(
        f"The run folder {paths_of(run_dir).root} holds a run with another "
        f"configuration ({len(diffs)} setting(s) differ, old -> new):\n"
        + "\n".join(lines) + "\nUse another folder (or --out) for the new "
        "configuration; the existing run is left as it is.")


def write_json_atomic(path, obj):
    """Writes ``obj`` as indented JSON through a temporary file."""
    data = json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n"
    write_bytes_atomic(path, data.encode("utf-8"))


# ---------------------------------------------------------------------------
# The lock.


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def lock(run_dir):
    """Holds ``<run>/.lock`` for the block: a second process training into
    the same folder is refused. A lock left by a process of this host that
    no longer runs is taken over with a warning.

    Raises:
        RunFolderError: another live process (or one on another host) holds
            the lock; the message names it and the lock file.
    """
    paths = paths_of(run_dir)
    os.makedirs(paths.root, exist_ok=True)
    record = {"pid": os.getpid(), "host": socket.gethostname(),
              "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "command": " ".join(sys.argv)}
    data = json.dumps(record).encode()
    while True:
        try:
            fd = os.open(paths.lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                with open(paths.lock, encoding="utf-8") as handle:
                    holder = json.load(handle)
            except (OSError, ValueError):
                holder = {}
            pid, host = holder.get("pid"), holder.get("host")
            if (isinstance(pid, int) and host == record["host"]
                    and not _alive(pid)) or not holder:
                warnings.warn(
                    f"{paths.lock}: taking over the lock of process {pid} "
                    f"({holder.get('command', 'unknown command')}), which "
                    "no longer runs.", stacklevel=3)
                os.remove(paths.lock)
                continue
            raise RunFolderError(
                f"The run folder {paths.root} is in use by process {pid} on "
                f"{host} since {holder.get('started')} "
                f"({holder.get('command')}). If that process is gone, "
                f"delete {paths.lock}.") from None
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        break
    try:
        yield paths
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(paths.lock)


# ---------------------------------------------------------------------------
# Checkpoints.


def checkpoint_items(model, extra=None):
    """The trackable structure of a checkpoint.

    Variables are keyed by their index in ``model.variables`` and in each
    optimiser's ``variables`` (Keras 3 objects are not fully reachable by
    TensorFlow's object-graph traversal, so the variables are listed
    explicitly). The same model code gives the same order.

    Args:
        model: a compiled ``deep_learning.models.gan.GAN``.
        extra: dict ``{name: variable}`` of more state (e.g. the plateau
            schedule's). Defaults to None.

    Returns:
        dict of dicts of variables, for ``tf.train.Checkpoint(**items)``.
    """
    items = {"model": {f"v{i:05d}": v for i, v in enumerate(model.variables)}}
    for name, opt in model.optimizers_by_name().items():
        if opt is None:
            raise ValueError("The model must be compiled before it is "
                             "checkpointed.")
        items[f"optimizer_{name}"] = {
            f"v{i:05d}": v for i, v in enumerate(opt.variables)}
    if extra:
        items["extra"] = dict(extra)
    return items


def checkpoint_steps(run_dir):
    """Sorted steps of the ``ckpt-<step>.index`` files of a run."""
    folder = paths_of(run_dir).checkpoints
    if not os.path.isdir(folder):
        return []
    return sorted(int(m.group(1)) for m in map(_CKPT_INDEX.match,
                                                os.listdir(folder)) if m)


def _pointer(folder, report):
    """The step the pointer file names, or None (reported when damaged)."""
    path = os.path.join(folder, "checkpoint")
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
        matches = [_POINTER.match(line) for line in lines]
        target = next(m.group(1) for m in matches if m)
        step = int(re.fullmatch(r"ckpt-(\d+)",
                                os.path.basename(target)).group(1))
    except (OSError, UnicodeDecodeError, StopIteration, AttributeError,
            ValueError):
        report(f"{path} is damaged; using the checkpoint files themselves")
        return None
    if not os.path.exists(os.path.join(folder, f"ckpt-{step}.index")):
        report(f"{path} names ckpt-{step}, which is missing")
    return step


def _files(folder, step):
    return sorted(glob.glob(os.path.join(folder, f"ckpt-{step}.*")))


def restore_newest(run_dir, restore_fn, step=None, on_warning=None):
    """Restores the newest checkpoint that restores.

    Candidates are the ``ckpt-<step>.index`` files, newest first. Each
    failure (a missing or truncated data file, a checksum error, variables
    that do not match) is reported through ``on_warning`` with the file
    and the reason, and the next older checkpoint is tried.

    Args:
        run_dir: the run folder.
        restore_fn: callable ``prefix -> None`` that restores a checkpoint
            into the model (raising on failure).
        step: int or None. Only this checkpoint. Defaults to None.
        on_warning: callable ``str -> None``. Defaults to
            ``warnings.warn``.

    Returns:
        ``(prefix, step, failed)``: the restored checkpoint, its step and
        ``[(step, reason)]`` of the newer ones that did not restore;
        ``(None, 0, [])`` when the folder has no checkpoint.

    Raises:
        RunFolderError: checkpoints exist but none restores (each named
            with its reason), or ``step`` is not one of them.
    """
    paths = paths_of(run_dir)
    report = on_warning or (lambda m: warnings.warn(m, stacklevel=3))
    steps = checkpoint_steps(paths)
    _pointer(paths.checkpoints, report)
    if step is not None:
        if int(step) not in steps:
            raise RunFolderError(
                f"{paths.root} has no checkpoint for step {step}; available "
                f"steps: {steps or 'none'}.")
        steps = [int(step)]
    failed = []
    for candidate in reversed(steps):
        prefix = os.path.join(paths.checkpoints, f"ckpt-{candidate}")
        try:
            restore_fn(prefix)
        except RunFolderError:
            raise  # the model does not match the run: no older one will
        except Exception as error:  # noqa: BLE001 - any reason to skip it
            reason = f"{type(error).__name__}: {str(error).splitlines()[0]}"
            failed.append((candidate, reason))
            report(f"checkpoint {prefix} does not restore ({reason[:300]})"
                   + ("; trying the previous one" if candidate != steps[0]
                      else ""))
            continue
        return prefix, candidate, failed
    if failed:
        listing = "; ".join(f"ckpt-{s}: {r[:300]}" for s, r in failed)
        raise RunFolderError(
            f"No checkpoint of {paths.checkpoints} restores ({listing}). "
            "Nothing was changed in the run folder.")
    return None, 0, []


def set_aside(run_dir, steps, on_warning=None):
    """Moves the files of unreadable checkpoints to
    ``checkpoints/unreadable/`` (nothing is deleted) and removes the
    temporary folders of interrupted saves (``ckpt-<n>_temp``). Returns the
    moved paths."""
    paths = paths_of(run_dir)
    report = on_warning or (lambda m: warnings.warn(m, stacklevel=3))
    moved = []
    for step in steps:
        target = os.path.join(paths.checkpoints, UNREADABLE)
        os.makedirs(target, exist_ok=True)
        for path in _files(paths.checkpoints, step):
            dest = os.path.join(target, os.path.basename(path))
            if os.path.exists(dest):
                dest += time.strftime(".%Y%m%d-%H%M%S")
            os.replace(path, dest)
            moved.append(dest)
        report(f"ckpt-{step} of {paths.checkpoints} moved to {target}")
    for temp in glob.glob(os.path.join(paths.checkpoints, "ckpt-*_temp")):
        if os.path.isdir(temp):
            shutil.rmtree(temp)
    return moved


def rewrite_pointer(run_dir, step):
    """Points the ``checkpoint`` file at ``ckpt-<step>``, listing the
    checkpoints up to it, so that the checkpoint manager continues from the
    restored state."""
    paths = paths_of(run_dir)
    kept = [s for s in checkpoint_steps(paths) if s <= step]
    tf.compat.v1.train.update_checkpoint_state(
        paths.checkpoints, os.path.join(paths.checkpoints, f"ckpt-{step}"),
        [os.path.join(paths.checkpoints, f"ckpt-{s}") for s in kept])


# ---------------------------------------------------------------------------
# model.json and generator.keras.


def save_model_config(run_dir, model):
    """Writes ``<run>/model.json``, the model's Keras serialisation (the
    compile configuration left out), atomically; returns its path."""
    config = keras.saving.serialize_keras_object(model)
    config.pop("compile_config", None)
    try:
        text = json.dumps(config, indent=2, sort_keys=True)
    except TypeError as error:
        raise ValueError(
            f"The configuration of {type(model).__name__} is not JSON "
            f"serialisable ({error}); check its get_config().") from None
    path = paths_of(run_dir).model
    write_bytes_atomic(path, (text + "\n").encode("utf-8"))
    return path


def save_generator(run_dir, model, clone=None):
    """Writes ``<run>/generator.keras``: the generator with the EMA weights
    when the model keeps an EMA, else the live one, through a temporary
    file. ``clone`` is a network of the generator's architecture to carry
    the EMA weights (built once by the caller); returns ``(path, clone)``."""
    path = paths_of(run_dir).generator
    net = model.generator
    if model.ema is not None:
        if clone is None:
            clone = keras.Model.from_config(net.get_config())
        for target, value in zip(clone.trainable_variables,
                                 model.ema.values()):
            target.assign(tf.cast(value, target.dtype))
        for target, value in zip(clone.non_trainable_variables,
                                 net.non_trainable_variables):
            target.assign(value)
        net = clone
    temp = path[:-len(".keras")] + f".tmp{os.getpid()}.keras"
    try:
        net.save(temp)
        os.replace(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temp)
    return path, clone


def build_from_config(run_dir):
    """The (untrained) model described by ``<run>/model.json``."""
    path = paths_of(run_dir).model
    if not os.path.isfile(path):
        raise RunFolderError(
            f"{path} does not exist: {paths_of(run_dir).root} is not a run "
            "folder made by deep_learning.engine.training.train (or it was "
            "stopped before its first checkpoint restored).")
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except (OSError, ValueError) as error:
        raise RunFolderError(f"Cannot read {path}: {error}") from None
    config.pop("compile_config", None)
    try:
        model = keras.saving.deserialize_keras_object(config)
    except Exception as error:  # Keras raises many types here.
        raise RunFolderError(
            f"Cannot rebuild the model from {path}: {error}") from error
    if not isinstance(model, keras.Model) or not hasattr(model, "step"):
        raise RunFolderError(
            f"{path} does not describe a mixgan GAN; it gives "
            f"{type(model).__name__}.")
    return model


def restore_model_variables(model, prefix):
    """Restores the ``model/...`` group of a checkpoint into ``model``
    (optimisers are left unread), after checking count and shapes."""
    saved = {}
    for name, shape in tf.train.list_variables(prefix):
        match = _MODEL_KEY.match(name)
        if match:
            saved[int(match.group(1))] = tuple(shape)
    variables = list(model.variables)
    if len(saved) != len(variables):
        raise RunFolderError(
            f"Checkpoint {prefix} holds {len(saved)} model variables but "
            f"the model rebuilt from {MODEL_FILE} has {len(variables)}; the "
            "configuration does not match the checkpoint.")
    for index, variable in enumerate(variables):
        if saved.get(index) != tuple(variable.shape):
            raise RunFolderError(
                f"Variable {index} ({variable.path}) has shape "
                f"{tuple(variable.shape)} in the rebuilt model but "
                f"{saved.get(index)} in checkpoint {prefix}.")
    items = {f"v{i:05d}": v for i, v in enumerate(variables)}
    status = tf.train.Checkpoint(model=items).restore(prefix)
    status.expect_partial()
    status.assert_existing_objects_matched()


def load_run(run_dir, step=None, on_warning=None):
    """Rebuilds a run's GAN and restores its newest readable checkpoint.

    The rule of :func:`restore_newest`: an unreadable newest checkpoint is
    reported and the previous one used; nothing in the folder changes.
    Generator, discriminator, EMA weights and the step counter are
    restored; optimisers are not (the model is uncompiled, ready for
    ``sample``, ``generate_images`` and evaluation).

    Args:
        run_dir: str. The run folder.
        step: int or None. Checkpoint step; None takes the newest that
            restores. Defaults to None.
        on_warning: callable ``str -> None`` for the fallback messages.
            Defaults to ``warnings.warn``.

    Returns:
        the GAN; ``model_step(model)`` is its step and
        ``model.checkpoint_path`` the checkpoint prefix.
    """
    paths = paths_of(run_dir)
    if not os.path.isdir(paths.root):
        raise RunFolderError(f"{paths.root} is not a folder.")
    model = build_from_config(paths)
    prefix, _, _ = restore_newest(
        paths, lambda p: restore_model_variables(model, p), step,
        on_warning)
    if prefix is None:
        raise RunFolderError(
            f"The run folder {paths.root} has no checkpoint in "
            f"{paths.checkpoints} (files ckpt-<step>.index); train it "
            "first.")
    model.checkpoint_path = prefix
    return model


def model_step(model):
    """The generator step of a GAN as a Python int."""
    return int(np.asarray(keras.ops.convert_to_numpy(model.step)))


def is_image_model(model):
    """Whether the model generates images (rank-3 samples) rather than
    points (the 2-D toys)."""
    return len(model.image_shape) == 3

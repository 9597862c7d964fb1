"""Run folders, configuration files and the one-call ``train`` of mixgan.

A run lives in one folder named from its hyper-parameters, as in the MMD-GAN
repository (``sngan_rep_5e-04_2e-04_...``)::

    <root>/dcgan_wasserstein_lrd1e-04_lrg1e-04_nc5_s0/
        config.json     # the full configuration (written atomically)
        model.json      # the model's Keras serialisation (run_io.load_run)
        logs/           # TensorBoard event files
        checkpoints/    # tf.train.CheckpointManager checkpoints
        samples/        # PNG grids from a fixed latent batch

:func:`train` wires everything: precision policy, ``tf.distribute`` scope,
model construction, resume from the newest checkpoint, the data pipeline
(positioned at the restored step), the ready-made callbacks and ``fit``.

Distribution. Pass ``strategy=tf.distribute.MirroredStrategy()`` (one
machine, several devices) or a ``MultiWorkerMirroredStrategy`` (several
machines; set ``TF_CONFIG`` on each worker and run the same script
everywhere). The model is built inside ``strategy.scope()`` and every
variable, optimiser slots included, exists before ``fit``. The batch is the
global batch; each replica receives ``batch / replicas`` rows of every critic
step's batch and losses are divided by the number of replicas before the
gradients are summed, so training matches the single-device run. With
several workers, every worker must run the checkpoint saves (they are
collective); point non-chief workers' ``run_dir`` at a scratch folder.

Mixed precision. ``precision='mixed_float16'`` (GPUs) or
``'mixed_bfloat16'`` (TPUs, recent CPUs/GPUs) sets the Keras dtype policy
while the model is built (and restores the previous policy afterwards);
losses, penalties and kernels compute in float32, and under float16 every
optimiser is wrapped in a ``LossScaleOptimizer`` (see ``GAN.compile``).
"""

import contextlib
import dataclasses
import json
import math
import os

import keras
import tensorflow as tf

from deep_learning.engine import callbacks as callbacks_lib
from deep_learning.engine.run_io import save_model_config
from deep_learning.models.gan import GAN
from deep_learning.engine.schedules import LinearDecay
from general_tools.atomic_io import write_bytes_atomic

_PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16", "auto")


@dataclasses.dataclass(frozen=True)
class RunPaths:
    """Folders and files of one run."""

    root: str
    logs: str
    checkpoints: str
    samples: str
    config: str


@dataclasses.dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        model: the trained :class:`deep_learning.models.gan.GAN`.
        history: the ``keras.callbacks.History`` of the last ``fit``.
        paths: :class:`RunPaths` of the run.
        step: generator steps done.
        resumed_from: checkpoint restored at the start, or None.
        stop_message: the non-finite stop message, or None.
    """

    model: GAN
    history: keras.callbacks.History
    paths: RunPaths
    step: int
    resumed_from: str | None
    stop_message: str | None


def _fmt_lr(value):
    return f"{float(value):.0e}"


def run_name(model="gan", gan_loss="wasserstein", lr_d=1e-4, lr_g=1e-4,
             n_critic=1, seed=0, suffix=None):
    """Folder name of a run, e.g. ``dcgan_wasserstein_lrd1e-04_lrg1e-04_nc5_s0``.

    Args:
        model: str. Model family tag. Defaults to ``'gan'``.
        gan_loss: str. Loss name. Defaults to ``'wasserstein'``.
        lr_d: float. Discriminator learning rate. Defaults to 1e-4.
        lr_g: float. Generator learning rate. Defaults to 1e-4.
        n_critic: int. Critic steps per generator step. Defaults to 1.
        seed: int. Seed. Defaults to 0.
        suffix: str or None. Appended after ``_``. Defaults to None.
    """
    name = (f"{model}_{gan_loss}_lrd{_fmt_lr(lr_d)}_lrg{_fmt_lr(lr_g)}"
            f"_nc{int(n_critic)}_s{int(seed)}")
    if suffix:
        name += f"_{suffix}"
    bad = [c for c in name if c in '/\\:*?"<>| ']
    if bad:
        raise ValueError(
            f"Run name {name!r} contains characters not allowed in a folder "
            f"name: {sorted(set(bad))}")
    return name


def write_json_atomic(path, obj):
    """Writes ``obj`` as indented JSON through a temporary file."""
    data = json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n"
    write_bytes_atomic(path, data.encode("utf-8"))


def _normalise(obj):
    return json.loads(json.dumps(obj, sort_keys=True, default=str))


def prepare_run_dir(path, config):
    """Creates the run folder and writes (or checks) its ``config.json``.

    Args:
        path: str. The run folder.
        config: dict. JSON-friendly configuration. Its ``'session'``
            entry (total steps, versions, devices, replicas) may differ
            between a run and its resumption; everything else must be
            equal.

    Returns:
        :class:`RunPaths`.

    Raises:
        ValueError: the folder holds a ``config.json`` of another
            configuration (the message lists the differing keys).
    """
    paths = RunPaths(root=path, logs=os.path.join(path, "logs"),
                     checkpoints=os.path.join(path, "checkpoints"),
                     samples=os.path.join(path, "samples"),
                     config=os.path.join(path, "config.json"))
    for folder in (paths.root, paths.logs, paths.checkpoints, paths.samples):
        os.makedirs(folder, exist_ok=True)
    new = _normalise(config)
    if os.path.exists(paths.config):
        with open(paths.config, encoding="utf-8") as f:
            old = json.load(f)
        keys = sorted(k for k in set(old) | set(new) if k != "session"
                      and old.get(k) != new.get(k))
        if keys:
            raise ValueError(
                f"The run folder {path!r} holds a config.json that differs "
                f"in {keys}. Use another folder or the same configuration.")
    write_json_atomic(paths.config, new)
    return paths


@contextlib.contextmanager
def dtype_policy_scope(policy):
    """Sets the global Keras dtype policy inside the block only."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def resolve_precision(precision):
    """Dtype-policy name for ``precision``.

    ``'auto'`` is ``'mixed_float16'`` when a GPU is visible, else
    ``'float32'`` (bfloat16 on CPUs without native support is slower).
    """
    if precision not in _PRECISIONS:
        raise ValueError(
            f"`precision` must be one of {_PRECISIONS}. Received: "
            f"precision={precision!r}")
    if precision == "auto":
        return ("mixed_float16" if tf.config.list_physical_devices("GPU")
                else "float32")
    return precision


def _lr_value(optimizer):
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    lr = inner._learning_rate
    if isinstance(lr, LinearDecay):
        return lr.initial_learning_rate
    if isinstance(lr, keras.optimizers.schedules.LearningRateSchedule):
        return float(keras.ops.convert_to_numpy(lr(0)))
    return float(keras.ops.convert_to_numpy(lr))


def _optimizer_config(optimizer):
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    config = dict(keras.saving.serialize_keras_object(inner))
    config["config"] = {k: v for k, v in config["config"].items()
                        if k != "name"}
    return {"loss_scaled": inner is not optimizer, **config}


def stack_critic_batches(dataset, batch_size, n_critic):
    """Batches single images into generator-step batches.

    Each element is ``(batch_size, n_critic, *image_shape)``: row ``b`` of
    critic step ``i`` is ``x[b, i]`` (the stacked layout of
    ``deep_learning.models.gan``), ``batch_size * n_critic`` consecutive images.
    """
    def stack(x):
        shape = tf.shape(x)
        x = tf.reshape(x, tf.concat([[n_critic, batch_size], shape[1:]], 0))
        perm = [1, 0] + list(range(2, x.shape.rank))
        return tf.transpose(x, perm)

    batched = dataset.batch(batch_size * n_critic, drop_remainder=True)
    if n_critic == 1:
        return batched
    return batched.map(stack, num_parallel_calls=tf.data.AUTOTUNE,
                       deterministic=True)


def train(build_fn, dataset, *, steps, config=None, root="Results",
          run_dir=None, model_tag="gan", batch_size=None, steps_per_epoch=100,
          strategy=None, precision="float32", seed=None, resume=True,
          callback_options=None, callbacks=None, verbose=1):
    """Builds, resumes and trains a GAN with the engine's callbacks.

    Args:
        build_fn: callable ``() -> GAN``, returning a *compiled* model. It is
            called inside the strategy scope and the precision policy.
        dataset: ``tf.data.Dataset`` of real images in ``[-1, 1]``: single
            images when ``batch_size`` is given, else ready batches of one
            generator step each. It is repeated, and on resume the first
            ``step`` batches are skipped, so a deterministic pipeline
            continues exactly where the checkpoint left it. Deterministic
            means: a fresh iterator in a fresh process yields the same
            sequence -- fix the shuffle seeds and create the dataset after
            seeding (a shuffled dataset object that was already iterated
            continues its reshuffling sequence instead of restarting it).
        steps: int. Total generator steps of the run.
        config: dict or None. User configuration saved in ``config.json``
            (e.g. the ``my_tests`` script's config dict). Defaults to None.
        root: str. Parent folder of run folders. Defaults to ``'Results'``.
        run_dir: str or None. Explicit run folder (overrides the name).
        model_tag: str. First field of the run name. Defaults to ``'gan'``.
        batch_size: int or None. Per-critic-step global batch size when
            ``dataset`` yields single images. Defaults to None.
        steps_per_epoch: int. Generator steps per Keras epoch (progress bar
            and epoch-level callbacks). Defaults to 100.
        strategy: ``tf.distribute.Strategy`` or None. Defaults to None.
        precision: ``'float32'``, ``'mixed_float16'``, ``'mixed_bfloat16'``
            or ``'auto'``. Defaults to ``'float32'``.
        seed: int or None. Seeds Python, NumPy and TensorFlow
            (``keras.utils.set_random_seed``) before the model is built.
        resume: bool. Restore the newest checkpoint of the run folder
            (False refuses a folder that has checkpoints). Defaults to True.
        callback_options: dict. Keyword arguments of
            ``callbacks.default_callbacks``. Defaults to None.
        callbacks: list. More callbacks. Defaults to None.
        verbose: int. ``fit``'s verbosity (1: progress bar). Defaults to 1.

    Returns:
        :class:`TrainResult`.
    """
    steps = int(steps)
    if steps <= 0:
        raise ValueError(f"`steps` must be positive. Received: steps={steps}")
    if int(steps_per_epoch) <= 0:
        raise ValueError(
            f"`steps_per_epoch` must be positive. Received: "
            f"steps_per_epoch={steps_per_epoch}")
    policy = resolve_precision(precision)
    strategy = strategy or tf.distribute.get_strategy()
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    with strategy.scope(), dtype_policy_scope(policy):
        model = build_fn()
    if not isinstance(model, GAN) or model.d_optimizer is None:
        raise ValueError("`build_fn` must return a compiled GAN. Received: "
                         f"{type(model).__name__}")

    hp = model.hparams()
    full_config = {
        "user": config or {},
        "model": {"class": type(model).__name__, **hp},
        "optimizers": {name: _optimizer_config(opt) for name, opt
                       in model.optimizers_by_name().items()},
        "train": {"batch_size": batch_size,
                  "steps_per_epoch": int(steps_per_epoch),
                  "precision": policy, "seed": seed,
                  "jit_compile": bool(model.jit_compile),
                  "steps_per_execution": int(model.steps_per_execution)},
        "session": {"steps": steps, "tensorflow": tf.__version__,
                    "keras": keras.__version__,
                    "strategy": type(strategy).__name__,
                    "replicas": strategy.num_replicas_in_sync,
                    "devices": describe_devices()},
    }
    if run_dir is None:
        opts = model.optimizers_by_name()
        run_dir = os.path.join(root, run_name(
            model_tag, model.gan_loss, _lr_value(opts["d"]),
            _lr_value(opts["g"]), model.n_critic, model.seed))
    paths = prepare_run_dir(run_dir, full_config)
    # model.json: what `deep_learning.engine.run_io.load_run` (and so the evaluate
    # and sample commands) rebuild the model from.
    save_model_config(paths.root, model)

    cbs = callbacks_lib.default_callbacks(paths, **(callback_options or {}))
    ckpt_cb = next(c for c in cbs
                   if isinstance(c, callbacks_lib.GANCheckpoint))
    resumed_from, start = None, 0
    if resume:
        resumed_from, start = callbacks_lib.restore_latest(
            model, paths.checkpoints, extra=ckpt_cb.extra)
    elif tf.train.latest_checkpoint(paths.checkpoints):
        raise ValueError(
            f"The run folder {paths.root!r} already holds checkpoints; pass "
            "resume=True to continue it or use another folder.")
    if start >= steps:
        return TrainResult(model, keras.callbacks.History(), paths, start,
                           resumed_from, None)

    data = dataset
    if batch_size is not None:
        n = model.n_critic if model.critic_data == "split" else 1
        data = stack_critic_batches(data.repeat(), int(batch_size), n)
    data = data.repeat().skip(start).prefetch(tf.data.AUTOTUNE)

    # A run shorter than an epoch gets a one-epoch progress bar of its own
    # length (Keras would otherwise show the full epoch as done).
    spe = max(1, min(int(steps_per_epoch), int(steps)))
    cbs += list(callbacks or []) + [callbacks_lib.StopAtStep(steps)]
    history = model.fit(data, epochs=math.ceil(steps / spe),
                        initial_epoch=start // spe, steps_per_epoch=spe,
                        callbacks=cbs, verbose=verbose)
    stop = next((c.message for c in cbs
                 if isinstance(c, callbacks_lib.NonFiniteStop)), None)
    return TrainResult(model, history, paths,
                       int(keras.ops.convert_to_numpy(model.step)),
                       resumed_from, stop)


def load_config(run_dir):
    """The ``config.json`` of a run folder as a dict."""
    with open(os.path.join(run_dir, "config.json"), encoding="utf-8") as f:
        return json.load(f)


def describe_devices():
    """Short description of the visible devices (for reports)."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = [tf.config.experimental.get_device_details(g).get(
            "device_name", g.name) for g in gpus]
        return f"{len(gpus)} GPU(s): {', '.join(names)}"
    return f"CPU ({os.cpu_count()} cores visible)"


__all__ = ["RunPaths", "TrainResult", "run_name", "prepare_run_dir",
           "write_json_atomic", "dtype_policy_scope", "resolve_precision",
           "stack_critic_batches", "train", "load_config", "describe_devices"]

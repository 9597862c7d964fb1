"""The one-call ``train`` of mixgan: build, resume safely, ``fit``.

:func:`train` wires everything: precision policy, ``tf.distribute`` scope,
model construction, the run folder (``deep_learning.engine.run_folder``:
its name, the configuration check, the lock, the newest readable
checkpoint), the data pipeline positioned at the restored step, the
ready-made callbacks and ``fit``. Nothing is written into a run folder
before its configuration has been checked and its checkpoint restored.

Distribution. Pass ``strategy=tf.distribute.MirroredStrategy()`` (one
machine, several devices) or ``MultiWorkerMirroredStrategy()`` (several
machines: the same script on each, with its own ``TF_CONFIG``). The model
is built inside ``strategy.scope()`` and every variable, optimiser slots
included, exists before ``fit``. The batch is the global batch; each
replica receives ``batch / replicas`` rows of every critic step's batch
and losses are divided by the number of replicas before the gradients are
summed, so training matches the single-device run. With several workers
(``deep_learning.engine.multi_worker``) only the chief writes the run
folder, the others write into scratch folders removed on return, the
chief's restored state is broadcast to every worker (no shared file system
needed), a refusal by the chief stops every worker, and the data are
sharded by ``DATA`` so the workers split each global batch as one device
would.

Mixed precision. ``precision='mixed_float16'`` (GPUs) or
``'mixed_bfloat16'`` (TPUs, recent CPUs/GPUs) sets the Keras dtype policy
while the model is built (and restores the previous policy afterwards);
losses, penalties and kernels compute in float32, and under float16 every
optimiser is wrapped in a ``LossScaleOptimizer`` (see ``GAN.compile``).
"""

import contextlib
import dataclasses
import math
import os
import sys
import warnings

import keras
import tensorflow as tf

from deep_learning.engine import callbacks as callbacks_lib
from deep_learning.engine import multi_worker
from deep_learning.engine import run_folder
from deep_learning.engine.run_folder import (RunFolderError, RunPaths,
                                             load_config, run_name,
                                             write_json_atomic)
from deep_learning.engine.schedules import LinearDecay
from deep_learning.models import generator_assignment
from deep_learning.models.gan import GAN
from experiment_spec import recipes
from general_tools.data import dataset_identity
from general_tools.machine import describe_cpu

_PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16", "auto")
# GAN config keys that make up the objective (config.json's "objective").
_OBJECTIVE_KEYS = ("gan_loss", "loss_params", "n_critic", "critic_data",
                   "gp_weight", "gp_target", "gp_per_pixel", "r1_gamma",
                   "update", "d_joint_forward")


class RunFolderWarning(UserWarning):
    """A run folder's checkpoint could not be used and an older one was."""


@dataclasses.dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        model: the trained :class:`deep_learning.models.gan.GAN`.
        history: the ``keras.callbacks.History`` of the last ``fit``.
        paths: ``run_folder.RunPaths`` of the run.
        step: generator steps done.
        resumed_from: checkpoint restored at the start, or None.
        stop_message: the non-finite stop message, or None.
        chief: whether this process wrote the run folder (False on the
            other workers of a multi-worker run, whose ``paths`` name a
            scratch folder that no longer exists).
    """

    model: GAN
    history: keras.callbacks.History
    paths: RunPaths
    step: int
    resumed_from: str | None
    stop_message: str | None
    chief: bool = True


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


def default_model_tag(model):
    """The model field of a run name: the recipe with its K
    (``'hmog16'``, ``'fc'``) for a mixture, else the model's name."""
    if getattr(model, "recipe", None):
        return recipes.run_tag(model.recipe,
                               generator_assignment.num_generators(model))
    return model.name


def run_config(model, data, *, batch_size, steps_per_epoch, precision,
               seed, user=None):
    """The part of ``config.json`` that decides a run's result (everything
    but the ``session``), as compared on resume."""
    hparams = model.hparams()
    objective = {k: hparams.pop(k) for k in _OBJECTIVE_KEYS if k in hparams}
    return {
        "model": {"class": type(model).__name__, **hparams},
        "objective": objective,
        "generator": run_folder.network_config(model.generator),
        "discriminator": run_folder.network_config(model.discriminator),
        "data": data,
        "optimizers": {name: _optimizer_config(opt) for name, opt
                       in model.optimizers_by_name().items()},
        "train": {"batch_size": batch_size,
                  "steps_per_epoch": int(steps_per_epoch),
                  "precision": precision, "seed": seed,
                  "jit_compile": bool(model.jit_compile),
                  "steps_per_execution": int(model.steps_per_execution)},
        "user": user or {},
    }


def stack_critic_batches(dataset, batch_size, n_critic):
    """Batches single examples into generator-step batches.

    Each element is ``(batch_size, n_critic, *shape)``: row ``b`` of critic
    step ``i`` is ``x[b, i]`` (the stacked layout of
    ``deep_learning.models.gan``), ``batch_size * n_critic`` consecutive
    examples. Datasets of ``(images, labels)`` are stacked alike.
    """
    def stack_one(x):
        shape = tf.shape(x)
        x = tf.reshape(x, tf.concat([[n_critic, batch_size], shape[1:]], 0))
        perm = [1, 0] + list(range(2, x.shape.rank))
        return tf.transpose(x, perm)

    def stack(*parts):
        out = tuple(stack_one(p) for p in parts)
        return out if len(out) > 1 else out[0]

    batched = dataset.batch(batch_size * n_critic, drop_remainder=True)
    if n_critic == 1:
        return batched
    return batched.map(stack, num_parallel_calls=tf.data.AUTOTUNE,
                       deterministic=True)


def _static_batch(dataset):
    spec = dataset.element_spec
    spec = spec[0] if isinstance(spec, tuple) else spec
    first = spec.shape[0] if spec.shape.rank else None
    return None if first is None else int(first)


def _warn(message):
    warnings.warn(message, RunFolderWarning, stacklevel=2)


def train(build_fn, dataset, *, steps, config=None, root="Results",
          run_dir=None, model_tag=None, data=None, batch_size=None,
          steps_per_epoch=100, strategy=None, precision="float32", seed=None,
          resume=True, callback_options=None, callbacks=None, verbose=1):
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
            (e.g. the ``my_tests`` script's config dict); part of the run's
            identity. Defaults to None.
        root: str. Parent folder of run folders. Defaults to ``'Results'``.
        run_dir: str or None. Explicit run folder (overrides the name).
        model_tag: str or None. First field of the run name; None takes
            the recipe and K of a mixture (``'hmog16'``) or the model's
            name. Defaults to None.
        data: dict, str or None. What the data are, for the run's name and
            ``config.json``; None reads it from a dataset made by
            ``general_tools.data.load_dataset`` (the data actually used,
            e.g. ``mnist_bundled`` when ``mnist`` fell back to the bundled
            images), else ``'custom'``. Defaults to None.
        batch_size: int or None. Per-critic-step global batch size when
            ``dataset`` yields single images. Defaults to None.
        steps_per_epoch: int. Generator steps per Keras epoch (progress bar
            and epoch-level callbacks). Defaults to 100.
        strategy: ``tf.distribute.Strategy`` or None. Defaults to None.
        precision: ``'float32'``, ``'mixed_float16'``, ``'mixed_bfloat16'``
            or ``'auto'``. Defaults to ``'float32'``.
        seed: int or None. Seeds Python, NumPy and TensorFlow
            (``keras.utils.set_random_seed``) before the model is built.
        resume: bool. Continue from the newest readable checkpoint of the
            run folder (False refuses a folder that has checkpoints).
            Defaults to True.
        callback_options: dict. Keyword arguments of
            ``callbacks.default_callbacks``. Defaults to None.
        callbacks: list. More callbacks. Defaults to None. Those with a
            ``bind_run_folder(paths)`` method are told the run folder
            before training (e.g. an ``ImageSummary`` made with
            ``log_dir=None`` writes into the run's ``logs/``).
        verbose: int. ``fit``'s verbosity (1: progress bar). Defaults to 1.

    Returns:
        :class:`TrainResult`.

    Raises:
        RunFolderError: the folder holds a run of another configuration
            (every differing key listed), another process trains into it,
            or none of its checkpoints restores. Nothing is written then.
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

    if isinstance(data, str):
        data = {"name": data}
    data = data or dataset_identity(dataset) or {"name": "custom"}
    batch = int(batch_size) if batch_size is not None else _static_batch(
        dataset)
    full_config = run_config(model, data, batch_size=batch_size,
                             steps_per_epoch=steps_per_epoch,
                             precision=policy, seed=seed, user=config)
    if run_dir is None:
        opts = model.optimizers_by_name()
        run_dir = os.path.join(root, run_name(
            model_tag or default_model_tag(model), data["name"],
            model.gan_loss, _lr_value(opts["d"]), _lr_value(opts["g"]),
            model.n_critic, batch, model.seed))
    role = multi_worker.role_of(strategy)
    with contextlib.ExitStack() as stack:
        if role.chief:
            paths = run_folder.paths_of(run_dir)
        else:  # writes into a scratch folder removed on return
            paths = run_folder.paths_of(
                stack.enter_context(multi_worker.scratch_folder(role)))
            verbose = 0
        cbs = callbacks_lib.default_callbacks(paths,
                                              **(callback_options or {}))
        ckpt_cb = next(c for c in cbs
                       if isinstance(c, callbacks_lib.GANCheckpoint))
        checkpoint = run_folder.checkpoint_items(model, ckpt_cb.extra)
        resumed_from = None
        refusal = None
        if role.chief:
            try:
                _check_run_folder(paths, full_config, resume)
                stack.enter_context(run_folder.lock(paths))
                resumed_from = _restore(paths, checkpoint)
            except RunFolderError as error:
                refusal = error
        if role.multi_worker:
            if not multi_worker.chief_agrees(strategy, refusal is None):
                raise refusal or RunFolderError(
                    f"The chief refused the run folder {run_dir}; its own "
                    "output names the reason.")
            broadcast = [v for group in checkpoint.values()
                         for v in group.values()]
            multi_worker.broadcast_from_chief(strategy, broadcast)
        elif refusal is not None:
            raise refusal
        start = run_folder.model_step(model)
        if start >= steps:  # nothing to train: the folder stays as it is
            return TrainResult(model, keras.callbacks.History(), paths, start,
                               resumed_from, None, role.chief)
        for folder in (paths.logs, paths.checkpoints, paths.samples):
            os.makedirs(folder, exist_ok=True)
        if role.chief:
            write_json_atomic(paths.config, {**full_config, "session": {
                "steps": steps, "command": " ".join(sys.argv),
                "tensorflow": tf.__version__, "keras": keras.__version__,
                "strategy": type(strategy).__name__,
                "replicas": strategy.num_replicas_in_sync,
                "devices": describe_devices()}})
            run_folder.save_model_config(paths, model)

        pipeline = dataset
        if batch_size is not None:
            n = model.n_critic if model.critic_data == "split" else 1
            pipeline = stack_critic_batches(pipeline.repeat(),
                                            int(batch_size), n)
        pipeline = pipeline.repeat().skip(start).prefetch(tf.data.AUTOTUNE)
        if role.multi_worker:
            pipeline = multi_worker.shard_by_data(pipeline)

        # A run shorter than an epoch gets a one-epoch progress bar of its
        # own length (Keras would otherwise show the full epoch as done).
        spe = max(1, min(int(steps_per_epoch), int(steps)))
        for callback in callbacks or []:
            # Callbacks that write into the run folder learn where it is.
            bind = getattr(callback, "bind_run_folder", None)
            if bind is not None:
                bind(paths)
        cbs += list(callbacks or []) + [callbacks_lib.StopAtStep(steps)]
        history = model.fit(pipeline, epochs=math.ceil(steps / spe),
                            shuffle=False,
                            initial_epoch=start // spe, steps_per_epoch=spe,
                            callbacks=cbs, verbose=verbose)
    stop = next((c.message for c in cbs
                 if isinstance(c, callbacks_lib.NonFiniteStop)), None)
    return TrainResult(model, history, paths, run_folder.model_step(model),
                       resumed_from, stop, role.chief)


def _check_run_folder(paths, full_config, resume):
    """Refuses a folder of another configuration or with checkpoints that
    may not be resumed, before anything is written."""
    run_folder.check_config(paths, full_config)
    if not resume and run_folder.checkpoint_steps(paths):
        raise RunFolderError(
            f"The run folder {paths.root} already holds checkpoints; pass "
            "resume=True to continue it or use another folder.")
    if run_folder.read_config(paths) is None and \
            run_folder.checkpoint_steps(paths):
        raise RunFolderError(
            f"{paths.root} holds checkpoints but no {run_folder.CONFIG_FILE};"
            " it is not a run folder this toolkit can resume.")


def _restore(paths, items):
    """Restores the newest readable checkpoint into ``items``, sets the
    unreadable newer ones aside and points ``checkpoint`` at it; returns
    its prefix (None for a new run)."""
    def restore(prefix):
        tf.train.Checkpoint(**items).restore(prefix) \
            .assert_existing_objects_matched().expect_partial()

    resumed_from, _, failed = run_folder.restore_newest(
        paths, restore, on_warning=_warn)
    run_folder.set_aside(paths, [s for s, _ in failed], on_warning=_warn)
    if resumed_from:
        run_folder.rewrite_pointer(paths, int(resumed_from.rsplit("-", 1)[1]))
    return resumed_from


def describe_devices():
    """Short description of the visible devices (for reports): the GPUs
    if any, and the CPU (:func:`describe_cpu`)."""
    gpus = tf.config.list_physical_devices("GPU")
    cpu = f"CPU: {describe_cpu()}"
    if gpus:
        names = [tf.config.experimental.get_device_details(g).get(
            "device_name", g.name) for g in gpus]
        return f"{len(gpus)} GPU(s): {', '.join(names)}; {cpu}"
    return cpu


__all__ = ["RunFolderWarning", "RunPaths", "TrainResult", "run_name",
           "run_config", "default_model_tag", "write_json_atomic",
           "dtype_policy_scope", "resolve_precision", "stack_critic_batches",
           "train", "load_config", "describe_devices"]

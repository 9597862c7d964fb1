"""Callbacks of the training engine: TensorBoard, checkpoints, NaN stop.

``default_callbacks(run_dir)`` returns the ready-made set:

* :class:`NonFiniteStop` stops training at the first non-finite logged value
  and says which one, at which generator step, and which checkpoint is the
  last good one.
* :class:`GANCheckpoint` saves the full training state (all model variables:
  G, D, EMA, step counter -- which is also the random state, see
  ``deep_learning.models.gan`` -- and every optimiser's variables) every ``N``
  generator steps with ``tf.train.CheckpointManager``. TensorFlow writes the
  data and index files of a new checkpoint under temporary names and renames
  them, and updates the ``checkpoint`` pointer file atomically after the
  files are complete; older checkpoints are deleted only after that. A run
  killed at any moment therefore finds its last complete checkpoint intact.
  It never saves a state whose logs are non-finite.
* :class:`GANTensorBoard` writes scalars (every logged metric: losses, the
  loss's diagnostics, penalties, gradient norms, learning rates), the
  spectral-norm sigmas, image grids from a fixed latent batch (also saved as
  PNG files) and histograms of the weights and of the scores.

TensorFlow >= 2.16 does not install ``tensorboard``; without it
``tf.summary`` writes nothing and says nothing. :class:`GANTensorBoard`
therefore imports it and raises if it is missing.

The logs Keras passes to batch callbacks are the model's tracker values:
running means since the start of the epoch.
"""

import importlib.util
import math
import os
import sys

import keras
import numpy as np
import tensorflow as tf

from deep_learning.engine import run_folder
from deep_learning.engine.run_folder import checkpoint_items
from deep_learning.engine.schedules import PlateauHalving
from deep_learning.models import generator_assignment
from general_tools.atomic_io import write_bytes_atomic  # noqa: F401  (re-exported)
from general_tools import figures
from general_tools.spectral_norm import spectral_norm_sigmas


def _model_step(model):
    return int(keras.ops.convert_to_numpy(model.step))


def _as_float(value):
    try:
        return float(np.asarray(value))
    except (TypeError, ValueError):
        return None


def _all_non_finite(logs):
    """``[(key, value)]`` of the NaN/infinite entries of ``logs``, losses
    first, then penalties, then the rest (each group in key order)."""
    bad = []
    for key, value in (logs or {}).items():
        value = _as_float(value)
        if value is not None and not math.isfinite(value):
            bad.append((key, value))
    rank = {"loss": 0, "penalty": 1}
    return sorted(bad, key=lambda kv: (rank.get(kv[0].split("/")[0], 2),
                                       kv[0]))


def _non_finite(logs):
    """The first entry of :func:`_all_non_finite`, or None."""
    bad = _all_non_finite(logs)
    return bad[0] if bad else None


def require_tensorboard(who):
    """Raises when ``tensorboard`` is missing: TensorFlow >= 2.16 does not
    install it, and without it ``tf.summary`` writes nothing, silently."""
    if importlib.util.find_spec("tensorboard") is None:
        raise ImportError(
            f"{who} needs the `tensorboard` package: TensorFlow >= 2.16 does "
            "not install it, and without it tf.summary writes nothing. "
            "Install it with `pip install tensorboard`.")


def image_grid(images, rows=None):
    """Tiles images in ``[-1, 1]`` into one ``(rows*H, cols*W, C)`` array.

    Args:
        images: array ``(n, H, W, C)`` in ``[-1, 1]``.
        rows: int. Number of rows. Defaults to ``ceil(sqrt(n))``.

    Returns:
        float32 array in ``[0, 1]``; missing tiles are black.
    """
    images = np.asarray(images, np.float32)
    if images.ndim != 4:
        raise ValueError(
            f"`images` must have shape (n, H, W, C). Received: "
            f"shape={images.shape}")
    n, h, w, c = images.shape
    rows = rows or int(math.ceil(math.sqrt(n)))
    cols = int(math.ceil(n / rows))
    grid = np.full((rows * h, cols * w, c), -1.0, np.float32)
    for i in range(n):
        r, k = divmod(i, cols)
        grid[r * h:(r + 1) * h, k * w:(k + 1) * w] = images[i]
    return np.clip((grid + 1.0) / 2.0, 0.0, 1.0)


# ----------------------------------------------------------------------
# Checkpoints.


def restore_latest(model, run_dir, extra=None):
    """Restores the newest readable checkpoint of a run into ``model`` (the
    rule of ``run_folder.restore_newest``; the folder is not changed).

    Args:
        model: a compiled :class:`deep_learning.models.gan.GAN`.
        run_dir: str or ``RunPaths``. The run folder.
        extra: dict of extra variables saved with the checkpoint.

    Returns:
        ``(path, step)`` of the restored checkpoint, or ``(None, 0)`` when
        the folder holds none.
    """
    paths = run_folder.paths_of(run_dir)
    if not os.path.isdir(paths.checkpoints) and run_folder.checkpoint_steps(
            os.path.dirname(paths.root.rstrip(os.sep))):
        raise ValueError(f"{paths.root} is a checkpoints folder; pass the run "
                         "folder that holds it.")

    def restore(prefix):
        checkpoint = tf.train.Checkpoint(**checkpoint_items(model, extra))
        checkpoint.restore(prefix).assert_existing_objects_matched() \
            .expect_partial()

    path, _, _ = run_folder.restore_newest(run_dir, restore)
    return path, (_model_step(model) if path else 0)


class GANCheckpoint(keras.callbacks.Callback):
    """Saves the full training state every ``every_n_steps`` generator steps.

    With ``run_dir`` it also writes the run's ``generator.keras`` (the EMA
    generator when the model keeps an EMA) after every checkpoint.

    Args:
        directory: str. Checkpoint folder (``<run>/checkpoints``).
        every_n_steps: int. Save period in generator steps; a save also
            happens at the end of training. Defaults to 1000.
        max_to_keep: int. Checkpoints kept. Defaults to 3.
        extra: dict ``{name: variable}`` saved as well. Defaults to None.
        run_dir: str, ``RunPaths`` or None. The run folder of
            ``generator.keras``; None writes none. Defaults to None.
    """

    def __init__(self, directory, every_n_steps=1000, max_to_keep=3,
                 extra=None, run_dir=None):
        super().__init__()
        if int(every_n_steps) <= 0:
            raise ValueError(
                f"`every_n_steps` must be positive. Received: "
                f"every_n_steps={every_n_steps}")
        self.directory = directory
        self.every_n_steps = int(every_n_steps)
        self.max_to_keep = int(max_to_keep)
        self.extra = extra
        self.run_dir = run_dir
        self.manager = None
        self.last_saved_step = None
        self._last_logs_finite = True
        self._ema_clone = None

    def on_train_begin(self, logs=None):
        os.makedirs(self.directory, exist_ok=True)
        ckpt = tf.train.Checkpoint(**checkpoint_items(self.model, self.extra))
        self.manager = tf.train.CheckpointManager(
            ckpt, self.directory, max_to_keep=self.max_to_keep,
            checkpoint_name="ckpt")
        self.last_saved_step = _model_step(self.model)

    def save(self):
        """Writes a checkpoint numbered by the generator step; its path."""
        step = _model_step(self.model)
        path = self.manager.save(checkpoint_number=step)
        self.last_saved_step = step
        if self.run_dir is not None:
            _, self._ema_clone = run_folder.save_generator(
                self.run_dir, self.model, self._ema_clone)
        return path

    def on_train_batch_end(self, batch, logs=None):
        self._last_logs_finite = _non_finite(logs) is None
        if not self._last_logs_finite:
            return
        step = _model_step(self.model)
        if step // self.every_n_steps > self.last_saved_step // \
                self.every_n_steps:
            self.save()

    def on_train_end(self, logs=None):
        if self._last_logs_finite and _non_finite(logs) is None and \
                _model_step(self.model) != self.last_saved_step:
            self.save()


class NonFiniteStop(keras.callbacks.Callback):
    """Stops training when a logged value becomes NaN or infinite.

    The message names the key (losses first, e.g. ``'loss/d'``, then
    penalties, then the rest, which it lists), its value and the
    generator step (the number of generator steps run, counting the one that
    produced it), and the last good checkpoint, which the checkpoint
    callback leaves untouched. With ``steps_per_execution > 1`` the check
    runs once per execution, so the step is known to that resolution.

    Args:
        checkpoint_dir: str or None. Folder whose latest checkpoint the
            message names. Defaults to None.
        raise_error: bool. Raise :class:`NonFiniteError` instead of stopping
            quietly. Defaults to False.

    Attributes:
        message: str or None. The stop message, once stopped.
        key, step: the offending key and generator step.
    """

    def __init__(self, checkpoint_dir=None, raise_error=False):
        super().__init__()
        self.checkpoint_dir = checkpoint_dir
        self.raise_error = bool(raise_error)
        self.message = None
        self.key = None
        self.step = None

    def on_train_batch_end(self, batch, logs=None):
        bad = _all_non_finite(logs)
        if not bad:
            return
        key, value = bad[0]
        self.key, self.step = key, _model_step(self.model)
        last = None
        if self.checkpoint_dir and os.path.isdir(self.checkpoint_dir):
            last = tf.train.latest_checkpoint(self.checkpoint_dir)
        others = ", ".join(k for k, _ in bad[1:])
        self.message = (
            f"NonFiniteStop: '{key}' became {value} at generator step "
            f"{self.step}" + (f" (also non-finite: {others})" if others
                              else "")
            + f"; training stopped. Last good checkpoint: {last or 'none'}.")
        print(self.message, file=sys.stderr, flush=True)
        self.model.stop_training = True
        if self.raise_error:
            raise NonFiniteError(self.message)


class NonFiniteError(RuntimeError):
    """Raised by :class:`NonFiniteStop` with ``raise_error=True``."""


class StopAtStep(keras.callbacks.Callback):
    """Stops ``fit`` once the model's generator step reaches ``steps``."""

    def __init__(self, steps):
        super().__init__()
        self.steps = int(steps)

    def on_train_batch_end(self, batch, logs=None):
        if _model_step(self.model) >= self.steps:
            self.model.stop_training = True


# ----------------------------------------------------------------------
# TensorBoard.


class GANTensorBoard(keras.callbacks.Callback):
    """TensorBoard summaries and PNG sample grids for a GAN run.

    Tags: every log key as a scalar (``loss/d``, ``loss/g``, ``penalty/gp``,
    ``grad_norm/d``, ``lr/g``, ``<gan_loss>/d_real``, ...), ``sigma/<net>/
    <layer>`` for spectrally normalised layers, ``samples/grid`` images,
    ``weights/<net>/<variable>`` and ``scores/real`` / ``scores/fake``
    histograms. The step is the model's generator step, so resumed runs
    continue their curves.

    Args:
        log_dir: str. Event-file folder (``<run>/logs``).
        samples_dir: str or None. Folder for ``grid_<step>.png`` files.
            Defaults to None (no PNG).
        scalar_every: int. Scalar period in generator steps. Defaults to 100.
        image_every: int. Image period; 0 disables. Defaults to 1000.
        histogram_every: int. Histogram period; 0 disables. Defaults to 0.
        num_images: int. Images per grid (fixed latent batch). Defaults to 64.
        image_seed: int. Seed of the fixed latent batch. Defaults to 1234.
        real_images: array or None. A fixed real batch for the score
            histograms. Defaults to None.
    """

    def __init__(self, log_dir, samples_dir=None, scalar_every=100,
                 image_every=1000, histogram_every=0, num_images=64,
                 image_seed=1234, real_images=None):
        super().__init__()
        require_tensorboard(type(self).__name__)
        for name, value in (("scalar_every", scalar_every),
                            ("image_every", image_every),
                            ("histogram_every", histogram_every)):
            if int(value) < 0:
                raise ValueError(
                    f"`{name}` must be >= 0. Received: {name}={value}")
        self.log_dir = log_dir
        self.samples_dir = samples_dir
        self.scalar_every = int(scalar_every)
        self.image_every = int(image_every)
        self.histogram_every = int(histogram_every)
        self.num_images = int(num_images)
        self.image_seed = int(image_seed)
        self.real_images = real_images
        self.writer = None
        self._z = None
        self._last = {}

    def _due(self, kind, every, step):
        if every <= 0:
            return False
        last = self._last.get(kind)
        if last is None or step // every > last // every:
            self._last[kind] = step
            return True
        return False

    def on_train_begin(self, logs=None):
        os.makedirs(self.log_dir, exist_ok=True)
        if self.samples_dir:
            os.makedirs(self.samples_dir, exist_ok=True)
        self.writer = tf.summary.create_file_writer(self.log_dir)
        # A grid of num_images images, or a cloud of 1,000 points.
        count = (self.num_images if run_folder.is_image_model(self.model)
                 else max(self.num_images, 1000))
        self._z = self.model.latent_codes(count, seed=self.image_seed)
        step = _model_step(self.model)
        self._last = {"scalars": step, "images": step, "histograms": step}

    def on_train_batch_end(self, batch, logs=None):
        step = _model_step(self.model)
        self.write(step, logs,
                   scalars=self._due("scalars", self.scalar_every, step),
                   images=self._due("images", self.image_every, step),
                   histograms=self._due("histograms", self.histogram_every,
                                        step))

    def on_train_end(self, logs=None):
        step = _model_step(self.model)
        fresh = {k: self._last.get(k) != step
                 for k in ("scalars", "images", "histograms")}
        self.write(step, logs, scalars=bool(logs) and fresh["scalars"],
                   images=self.image_every > 0 and fresh["images"],
                   histograms=self.histogram_every > 0 and fresh["histograms"])
        self.writer.close()

    def write(self, step, logs, scalars=True, images=False,
              histograms=False):
        """Writes the chosen summaries at ``step``."""
        if not (scalars or images or histograms):
            return
        with self.writer.as_default(step=step):
            if scalars:
                self._write_scalars(logs or {})
            if images:
                self._write_images(step)
            if histograms:
                self._write_histograms()
        self.writer.flush()

    def _write_scalars(self, logs):
        for key, value in logs.items():
            value = _as_float(value)
            if value is not None:
                tf.summary.scalar(key, value)
        for net in ("generator", "discriminator"):
            for name, sigma in spectral_norm_sigmas(
                    getattr(self.model, net)).items():
                tf.summary.scalar(f"sigma/{net}/{name}",
                                  float(keras.ops.convert_to_numpy(sigma)))

    def _write_points(self, step):
        """A 2-D model (the toys): its samples coloured by the generator
        that drew each, over ``real_images`` when given, as an image."""
        points, generators = generator_assignment.outputs_and_generators(
            self.model, self._z)
        real = None if self.real_images is None else np.asarray(
            self.real_images, np.float32)
        reach = float(np.abs(points if real is None else np.concatenate(
            [points, real])).max())
        reach = 1.1 * reach if np.isfinite(reach) and reach > 0 else 1.0
        path = os.path.join(self.samples_dir or self.log_dir,
                            f"scatter_{step:08d}.png")
        figures.plot_toy_regions(points[:, :2], generators, path,
                                 x_real=None if real is None else real[:, :2],
                                 title=f"step {step}", limits=(-reach, reach))
        with open(path, "rb") as handle:
            png = handle.read()
        if not self.samples_dir:
            os.remove(path)
        image = tf.image.decode_png(png, channels=3)
        tf.summary.image("samples/scatter", image[None], max_outputs=1)

    def _write_images(self, step):
        if not run_folder.is_image_model(self.model):
            self._write_points(step)
            return
        images = self.model.generate_images(self._z)
        grid = image_grid(images)
        tf.summary.image("samples/grid", grid[None], max_outputs=1)
        if self.samples_dir:
            png = tf.io.encode_png(
                tf.cast(tf.round(grid * 255.0), tf.uint8)).numpy()
            write_bytes_atomic(
                os.path.join(self.samples_dir, f"grid_{step:08d}.png"), png)

    def _write_histograms(self):
        for net in ("generator", "discriminator"):
            for var in getattr(self.model, net).trainable_variables:
                # Drop the model's own (possibly auto-numbered) name.
                path = var.path.split("/", 1)[-1]
                tf.summary.histogram(f"weights/{net}/{path}",
                                     keras.ops.convert_to_numpy(var))
        fake = self.model.generate_images(self._z, use_ema=False)
        tf.summary.histogram(
            "scores/fake", self.model.discriminator_scores(fake))
        if self.real_images is not None:
            real = tf.convert_to_tensor(self.real_images, tf.float32)
            tf.summary.histogram(
                "scores/real", self.model.discriminator_scores(real))


class GateUsageLogger(keras.callbacks.Callback):
    """Gate usage in TensorBoard during training (MoG, HMoG, MEGAN; it
    does nothing for models without a gate, so every run has one).

    Every ``every`` generator steps, ``num_samples`` fixed codes go through
    the gate; it writes the histogram ``gates/assignment`` of the leaf each
    code is assigned to (highest probability), the scalars
    ``gates/share_<m>`` (mean probability of leaf m) and
    ``gates/usage_entropy`` (entropy of the mean usage, in nats; log L when
    all leaves are used equally).

    Args:
        log_dir: str. Event-file folder (the run's ``logs/``).
        every: int. Period in generator steps; 0 disables. Defaults to
            500.
        num_samples: int. Codes per measurement. Defaults to 2000.
        seed: int. Seed of the fixed codes. Defaults to 4321.
    """

    def __init__(self, log_dir, every=500, num_samples=2000, seed=4321):
        super().__init__()
        require_tensorboard(type(self).__name__)
        self.log_dir, self.every = log_dir, int(every)
        self.num_samples, self.seed = int(num_samples), int(seed)
        self._writer = self._z = None
        self._last = -1

    def on_train_begin(self, logs=None):
        gated = generator_assignment.assignment_kind(self.model) in (
            "tree", "gumbel")
        if not gated or self.every <= 0:
            return  # a model without a gate: nothing to log
        self._writer = tf.summary.create_file_writer(self.log_dir)
        self._z = self.model.latent_codes(self.num_samples, seed=self.seed)

    def on_train_batch_end(self, batch, logs=None):
        step = int(keras.ops.convert_to_numpy(self.model.step))
        if self._writer is None or step == self._last or step % self.every:
            return
        self._last = step
        self.write(step)

    def write(self, step):
        usage = generator_assignment.responsibilities(self.model, self._z)
        share = usage.mean(0)
        with self._writer.as_default(step=step):
            tf.summary.histogram("gates/assignment",
                                 np.argmax(usage, 1).astype(np.float32),
                                 buckets=usage.shape[1])
            for m, value in enumerate(share):
                tf.summary.scalar(f"gates/share_{m}", float(value))
            tf.summary.scalar("gates/usage_entropy",
                              generator_assignment.gate_sharpness(usage)[
                                  "usage_entropy_nats"])
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.flush()


def default_callbacks(run_dir, *, checkpoint_every=1000, max_to_keep=3,
                      scalar_every=100, image_every=1000, histogram_every=0,
                      num_images=64, real_images=None, plateau=None,
                      stop_on_nonfinite=True, gate_every=500):
    """The engine's ready-made callbacks for one run folder.

    Args:
        run_dir: str or ``training.RunPaths``. The run folder; its
            ``logs/``, ``checkpoints/`` and ``samples/`` are used.
        checkpoint_every: int. Checkpoint period (generator steps).
            Defaults to 1000.
        max_to_keep: int. Checkpoints kept. Defaults to 3.
        scalar_every, image_every, histogram_every, num_images,
            real_images: see :class:`GANTensorBoard`.
        plateau: None, a dict of :class:`schedules.PlateauHalving` arguments
            or an instance; its state is checkpointed. Defaults to None.
        stop_on_nonfinite: bool. Add :class:`NonFiniteStop`. Defaults to
            True.
        gate_every: int. Period of :class:`GateUsageLogger` (gated
            mixtures only); 0 disables. Defaults to 500.

    Returns:
        list of callbacks ``[NonFiniteStop, GANCheckpoint, GANTensorBoard,
        GateUsageLogger, (PlateauHalving)]``. Keras' own progress bar comes
        with ``fit``'s ``verbose=1``.
    """
    paths = run_folder.paths_of(run_dir)
    logs_dir, ckpt_dir, samples_dir = (paths.logs, paths.checkpoints,
                                       paths.samples)
    if isinstance(plateau, dict):
        plateau = PlateauHalving(**plateau)
    extra = None
    if plateau is not None:
        extra = {f"plateau_{k}": v
                 for k, v in plateau.state_variables().items()}
    callbacks = []
    if stop_on_nonfinite:
        callbacks.append(NonFiniteStop(checkpoint_dir=ckpt_dir))
    callbacks.append(GANCheckpoint(ckpt_dir, every_n_steps=checkpoint_every,
                                   max_to_keep=max_to_keep, extra=extra,
                                   run_dir=paths))
    callbacks.append(GANTensorBoard(
        logs_dir, samples_dir=samples_dir, scalar_every=scalar_every,
        image_every=image_every, histogram_every=histogram_every,
        num_images=num_images, real_images=real_images))
    callbacks.append(GateUsageLogger(logs_dir, every=gate_every))
    if plateau is not None:
        callbacks.append(plateau)
    return callbacks


class ImageSummary(keras.callbacks.Callback):
    """Writes image grids from ``panels_fn(model)`` every ``every`` steps.

    ``panels_fn`` returns ``{tag: images (N, H, W, C) in [-1, 1]}``; each is
    tiled into ``rows`` rows, written as a TensorBoard image under ``tag``
    and, with ``samples_dir``, as ``<tag with / as _>_<step>.png``.

    Given to ``training.train`` with ``log_dir=None``, it writes into the
    run folder's ``logs/`` and ``samples/`` (:meth:`bind_run_folder`).

    Args:
        log_dir: str or None. Event-file folder; None: the run's ``logs``.
        panels_fn: callable ``model -> dict``.
        every: int. Period in generator steps. Defaults to 1000.
        rows: int or None. Grid rows. Defaults to a near-square grid.
        samples_dir: str or None. PNG folder. Defaults to None (the run's
            ``samples`` when ``log_dir`` is None too).
    """

    def __init__(self, log_dir, panels_fn, every=1000, rows=None,
                 samples_dir=None):
        super().__init__()
        if int(every) <= 0:
            raise ValueError(f"`every` must be positive. Received: "
                             f"every={every}")
        require_tensorboard(type(self).__name__)
        self.log_dir = log_dir
        self.panels_fn = panels_fn
        self.every = int(every)
        self.rows = rows
        self.samples_dir = samples_dir
        self.writer = None
        self._last = None

    def bind_run_folder(self, paths):
        """Called by ``training.train`` with the run's ``RunPaths``: a
        summary made without folders writes into the run's."""
        if self.log_dir is None:
            self.log_dir = paths.logs
            self.samples_dir = self.samples_dir or paths.samples

    def on_train_begin(self, logs=None):
        if self.log_dir is None:
            raise ValueError("ImageSummary has no log_dir: give one, or "
                             "pass it to training.train.")
        os.makedirs(self.log_dir, exist_ok=True)
        if self.samples_dir:
            os.makedirs(self.samples_dir, exist_ok=True)
        self.writer = tf.summary.create_file_writer(self.log_dir)
        self._last = int(keras.ops.convert_to_numpy(self.model.step))

    def on_train_batch_end(self, batch, logs=None):
        step = int(keras.ops.convert_to_numpy(self.model.step))
        if step // self.every > self._last // self.every:
            self.write(step)
        self._last = step

    def on_train_end(self, logs=None):
        self.write(int(keras.ops.convert_to_numpy(self.model.step)))
        self.writer.close()

    def write(self, step):
        """Writes every panel at ``step``."""
        panels = self.panels_fn(self.model)
        with self.writer.as_default(step=step):
            for tag, images in panels.items():
                images = np.asarray(images, np.float32)
                grid = figures.image_grid((np.clip(images, -1, 1) + 1) / 2,
                                  rows=self.rows)
                tf.summary.image(tag, grid[None], max_outputs=1)
                if self.samples_dir:
                    name = tag.replace("/", "_")
                    figures.save_image_grid(images, os.path.join(
                        self.samples_dir, f"{name}_{step:08d}.png"),
                        rows=self.rows)
        self.writer.flush()


__all__ = ["GANCheckpoint", "GANTensorBoard", "GateUsageLogger", "ImageSummary", "NonFiniteError",
           "NonFiniteStop", "StopAtStep", "checkpoint_items",
           "default_callbacks", "image_grid", "require_tensorboard",
           "restore_latest"]

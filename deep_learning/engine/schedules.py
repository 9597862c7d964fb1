"""Learning rates and optimisers for GAN training.

Three ways to drive a learning rate, one per entry of the toolkit's options:

* constant: a float (the HMoG and MMD-GAN papers' Adam runs).
* linear decay to an end value: :class:`LinearDecay`, a
  ``keras.optimizers.schedules.LearningRateSchedule`` evaluated at the
  optimiser's own iteration count.
* plateau halving driven by a logged metric: :class:`PlateauHalving`, a
  callback that multiplies the learning rates of the chosen optimisers by
  ``factor`` when the monitored value stops improving.

A schedule's step is the optimiser's own ``iterations``: the discriminator's
optimiser counts ``n_critic`` updates per generator step, so give the
discriminator's schedule ``n_critic`` times more ``decay_steps`` when both
should decay over the same number of generator steps.

:func:`make_adam` builds the papers' Adam (beta_1 = 0.5, beta_2 = 0.999,
epsilon = 1e-8 as in PyTorch and the MMD-GAN repository; optionally AMSGrad,
Reddi et al. 2018, which the HMoG authors use).
"""

import math

import keras
import numpy as np

_SCHEDULE_NAMES = ("constant", "linear")


@keras.saving.register_keras_serializable(package="mixgan")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Learning rate decaying linearly from ``initial`` to ``end``.

    ``lr(t) = initial + (end - initial) * clip((t - start) / steps, 0, 1)``
    where ``t`` is the optimiser's iteration count: constant before
    ``start_step``, linear for ``decay_steps`` steps, then constant ``end``.

    Args:
        initial_learning_rate: float. Learning rate up to ``start_step``.
        end_learning_rate: float. Learning rate after the decay. Defaults to
            0.0.
        decay_steps: int. Length of the linear part, in optimiser steps.
            Must be positive.
        start_step: int. Optimiser step at which the decay begins. Defaults
            to 0.

    Example:

    >>> s = LinearDecay(1e-3, 0.0, decay_steps=100)
    >>> float(s(50))
    0.0005
    """

    def __init__(self, initial_learning_rate, end_learning_rate=0.0,
                 decay_steps=1, start_step=0):
        decay_steps = int(decay_steps)
        if decay_steps <= 0:
            raise ValueError(
                f"`decay_steps` must be positive. Received: "
                f"decay_steps={decay_steps}")
        start_step = int(start_step)
        if start_step < 0:
            raise ValueError(
                f"`start_step` must be >= 0. Received: start_step={start_step}")
        for name, value in (("initial_learning_rate", initial_learning_rate),
                            ("end_learning_rate", end_learning_rate)):
            if not (math.isfinite(float(value)) and float(value) >= 0.0):
                raise ValueError(
                    f"`{name}` must be a finite number >= 0. Received: "
                    f"{name}={value}")
        self.initial_learning_rate = float(initial_learning_rate)
        self.end_learning_rate = float(end_learning_rate)
        self.decay_steps = decay_steps
        self.start_step = start_step

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        frac = keras.ops.clip(
            (step - float(self.start_step)) / float(self.decay_steps),
            0.0, 1.0)
        return (self.initial_learning_rate
                + (self.end_learning_rate - self.initial_learning_rate) * frac)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "end_learning_rate": self.end_learning_rate,
                "decay_steps": self.decay_steps,
                "start_step": self.start_step}


def get_schedule(learning_rate, schedule=None):
    """A learning rate or schedule from a float and a schedule description.

    Args:
        learning_rate: float. The initial (or constant) learning rate.
        schedule: None, ``'constant'``, a
            ``keras.optimizers.schedules.LearningRateSchedule`` (returned
            unchanged, ``learning_rate`` must then be None), or a dict
            ``{'name': 'linear', 'end_learning_rate': 0.0,
            'decay_steps': N, 'start_step': 0}``. Defaults to None
            (constant).

    Returns:
        a float or a ``LearningRateSchedule``.
    """
    if isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
        if learning_rate is not None:
            raise ValueError(
                "Pass either a `schedule` instance or a `learning_rate`, not "
                f"both. Received: learning_rate={learning_rate}, "
                f"schedule={schedule!r}")
        return schedule
    if learning_rate is None:
        raise ValueError("`learning_rate` is required unless `schedule` is a "
                         "LearningRateSchedule instance.")
    learning_rate = float(learning_rate)
    if not (math.isfinite(learning_rate) and learning_rate > 0.0):
        raise ValueError(
            f"`learning_rate` must be a positive finite number. Received: "
            f"learning_rate={learning_rate}")
    if schedule is None or schedule == "constant":
        return learning_rate
    if not isinstance(schedule, dict):
        raise ValueError(
            "`schedule` must be None, 'constant', a LearningRateSchedule or "
            f"a dict with a 'name' in {_SCHEDULE_NAMES}. Received: "
            f"schedule={schedule!r}")
    params = dict(schedule)
    name = params.pop("name", None)
    if name == "constant":
        if params:
            raise ValueError(
                f"A 'constant' schedule takes no parameters. Received: "
                f"{sorted(params)}")
        return learning_rate
    if name == "linear":
        allowed = {"end_learning_rate", "decay_steps", "start_step"}
        unknown = sorted(set(params) - allowed)
        if unknown or "decay_steps" not in params:
            raise ValueError(
                "A 'linear' schedule takes 'decay_steps' (required), "
                "'end_learning_rate' and 'start_step'. Received: "
                f"{sorted(params)}")
        return LinearDecay(learning_rate, **params)
    raise ValueError(
        f"Unknown schedule name. Received: name={name!r}. Valid names: "
        f"{list(_SCHEDULE_NAMES)}")


def make_adam(learning_rate, beta_1=0.5, beta_2=0.999, amsgrad=False,
              schedule=None, epsilon=1e-8, name=None):
    """Adam with the GAN papers' defaults (Radford et al. 2016, DCGAN).

    Args:
        learning_rate: float. Initial or constant learning rate (None when
            ``schedule`` is a schedule instance).
        beta_1: float. First-moment decay. Defaults to 0.5.
        beta_2: float. Second-moment decay. Defaults to 0.999.
        amsgrad: bool. Use AMSGrad (the HMoG authors' setting). Defaults to
            False.
        schedule: see :func:`get_schedule`. Defaults to None (constant).
        epsilon: float. Denominator offset; 1e-8 as in PyTorch and the
            MMD-GAN repository (Keras' default is 1e-7). Defaults to 1e-8.
        name: str. Optimiser name. Defaults to Keras' name.

    Returns:
        a ``keras.optimizers.Adam``.
    """
    for arg, value in (("beta_1", beta_1), ("beta_2", beta_2)):
        if not 0.0 <= float(value) < 1.0:
            raise ValueError(
                f"`{arg}` must be in [0, 1). Received: {arg}={value}")
    kwargs = {} if name is None else {"name": name}
    return keras.optimizers.Adam(
        learning_rate=get_schedule(learning_rate, schedule),
        beta_1=float(beta_1), beta_2=float(beta_2), epsilon=float(epsilon),
        amsgrad=bool(amsgrad), **kwargs)


def current_learning_rate(optimizer):
    """The learning rate ``optimizer`` uses at its current iteration."""
    return float(np.asarray(keras.ops.convert_to_numpy(
        optimizer.learning_rate)))


class PlateauHalving(keras.callbacks.Callback):
    """Multiplies learning rates by ``factor`` when a logged metric plateaus.

    Checked at the end of every epoch of ``fit`` (the engine's ``train``
    makes an epoch ``steps_per_epoch`` generator steps): when ``monitor`` has
    not improved by more than ``min_delta`` for ``patience`` consecutive
    checks, the learning rate of every optimiser in ``optimizers`` is
    multiplied by ``factor`` (0.5: halving), not going below ``min_lr``, and
    the wait restarts after ``cooldown`` checks. Needs constant (variable)
    learning rates, not schedules.

    Its state (best value, wait, cooldown) lives in variables returned by
    :meth:`state_variables`, which ``callbacks.default_callbacks`` adds to
    the checkpoint so a resumed run continues the same plateau count.

    Args:
        monitor: str. Key of the epoch logs, e.g. ``'loss/g'`` or ``'fid'``.
        factor: float. Multiplier in (0, 1). Defaults to 0.5.
        patience: int. Checks without improvement before a cut. Defaults
            to 5.
        mode: str. ``'min'`` or ``'max'``. Defaults to ``'min'``.
        min_delta: float. Minimum change counted as improvement. Defaults
            to 0.0.
        min_lr: float. Lower bound of the learning rates. Defaults to 0.0.
        cooldown: int. Checks to wait after a cut. Defaults to 0.
        optimizers: sequence of str. Names in the model's
            ``optimizers_by_name()`` (``'d'``, ``'g'``). Defaults to both.
        verbose: int. Print each cut when > 0. Defaults to 1.
    """

    def __init__(self, monitor, factor=0.5, patience=5, mode="min",
                 min_delta=0.0, min_lr=0.0, cooldown=0,
                 optimizers=("d", "g"), verbose=1):
        super().__init__()
        if not 0.0 < float(factor) < 1.0:
            raise ValueError(
                f"`factor` must be in (0, 1). Received: factor={factor}")
        if mode not in ("min", "max"):
            raise ValueError(
                f"`mode` must be 'min' or 'max'. Received: mode={mode!r}")
        if int(patience) < 0 or int(cooldown) < 0:
            raise ValueError(
                "`patience` and `cooldown` must be >= 0. Received: "
                f"patience={patience}, cooldown={cooldown}")
        self.monitor = monitor
        self.factor = float(factor)
        self.patience = int(patience)
        self.mode = mode
        self.min_delta = abs(float(min_delta))
        self.min_lr = float(min_lr)
        self.cooldown = int(cooldown)
        self.optimizer_names = tuple(optimizers)
        self.verbose = verbose
        sign = 1.0 if mode == "min" else -1.0
        self._best = keras.Variable(sign * np.inf, dtype="float32",
                                    trainable=False, name="plateau_best")
        self._wait = keras.Variable(0, dtype="int64", trainable=False,
                                    name="plateau_wait")
        self._cooldown_left = keras.Variable(0, dtype="int64",
                                             trainable=False,
                                             name="plateau_cooldown")

    def state_variables(self):
        """``{name: variable}`` of the plateau state, for checkpoints."""
        return {"best": self._best, "wait": self._wait,
                "cooldown": self._cooldown_left}

    def _optimizers(self):
        available = self.model.optimizers_by_name()
        missing = [n for n in self.optimizer_names if n not in available]
        if missing:
            raise ValueError(
                f"PlateauHalving: unknown optimizer names {missing}. The "
                f"model has {sorted(available)}.")
        return [available[n] for n in self.optimizer_names]

    def on_train_begin(self, logs=None):
        for opt in self._optimizers():
            if isinstance(opt.learning_rate,
                          keras.optimizers.schedules.LearningRateSchedule) or (
                    not isinstance(opt.learning_rate, keras.Variable)):
                raise ValueError(
                    "PlateauHalving needs constant learning rates; optimizer "
                    f"'{opt.name}' uses {type(opt.learning_rate).__name__}.")

    def _improved(self, value):
        best = float(self._best.numpy())
        if self.mode == "min":
            return value < best - self.min_delta
        return value > best + self.min_delta

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            raise ValueError(
                f"PlateauHalving: `monitor`={self.monitor!r} is not in the "
                f"logs. Available keys: {sorted(logs)}")
        value = float(np.asarray(logs[self.monitor]))
        if not math.isfinite(value):
            return
        if int(self._cooldown_left.numpy()) > 0:
            self._cooldown_left.assign(self._cooldown_left - 1)
            self._wait.assign(0)
        if self._improved(value):
            self._best.assign(value)
            self._wait.assign(0)
            return
        if int(self._cooldown_left.numpy()) > 0:
            return
        self._wait.assign(self._wait + 1)
        if int(self._wait.numpy()) < max(self.patience, 1):
            return
        for opt in self._optimizers():
            old = current_learning_rate(opt)
            new = max(old * self.factor, self.min_lr)
            opt.learning_rate = new
            if self.verbose:
                print(f"PlateauHalving: '{self.monitor}' has not improved "
                      f"for {int(self._wait.numpy())} checks; learning rate "
                      f"of '{opt.name}' {old:.3g} -> {new:.3g}")
        self._wait.assign(0)
        self._cooldown_left.assign(self.cooldown)


@keras.saving.register_keras_serializable(package="mixgan")
class StepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """``lr(t) = max(initial * factor^floor(t / decay_steps), minimum)``.

    carpedm20/BEGAN-tensorflow halves both learning rates every
    ``lr_update_step = 100000`` steps with a floor of ``2e-5``.

    Args:
        initial_learning_rate: float. Learning rate at step 0.
        decay_steps: int. Steps between cuts. Defaults to 100000.
        factor: float in (0, 1). Multiplier per cut. Defaults to 0.5.
        minimum: float. Floor. Defaults to 2e-5.
    """

    def __init__(self, initial_learning_rate, decay_steps=100000, factor=0.5,
                 minimum=2e-5):
        if int(decay_steps) <= 0 or not 0.0 < float(factor) < 1.0:
            raise ValueError(
                "`decay_steps` must be positive and `factor` in (0, 1). "
                f"Received: decay_steps={decay_steps}, factor={factor}")
        if not float(initial_learning_rate) > 0.0 or float(minimum) < 0.0:
            raise ValueError(
                "`initial_learning_rate` must be > 0 and `minimum` >= 0. "
                f"Received: initial_learning_rate={initial_learning_rate}, "
                f"minimum={minimum}")
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = int(decay_steps)
        self.factor = float(factor)
        self.minimum = float(minimum)

    def __call__(self, step):
        cuts = keras.ops.floor(keras.ops.cast(step, "float32")
                               / float(self.decay_steps))
        lr = self.initial_learning_rate * keras.ops.power(self.factor, cuts)
        return keras.ops.maximum(lr, self.minimum)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "factor": self.factor,
                "minimum": self.minimum}


__all__ = ["LinearDecay", "StepDecay", "PlateauHalving", "get_schedule", "make_adam",
           "current_learning_rate"]

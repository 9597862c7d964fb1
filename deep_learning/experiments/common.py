"""What every runner shares: the ``tf.distribute`` strategy of
``--strategy``, and at the end of a run, where it is and how it ended,
turned into the script's exit status."""

from __future__ import annotations

import sys

import tensorflow as tf

__all__ = ["STRATEGIES", "make_strategy", "report_run", "exit_status"]

#: ``--strategy`` names (``experiment_spec.flags.STRATEGIES``).
STRATEGIES = ("default", "mirrored", "multi_worker")


def make_strategy(name="default"):
    """The ``tf.distribute`` strategy called ``name``.

    ``'default'``: one device. ``'mirrored'``: every GPU of this machine
    (``MirroredStrategy``). ``'multi_worker'``: the workers ``TF_CONFIG``
    names (``MultiWorkerMirroredStrategy``); a runner creates it before
    any other TensorFlow work, as that strategy requires. A strategy
    object is returned as it is.
    """
    if isinstance(name, tf.distribute.Strategy):
        return name
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"`strategy` must be one of {STRATEGIES}. Received: "
                     f"strategy={name!r}")


def report_run(result):
    """Prints the run folder and its step (and the non-finite stop message
    on stderr); returns ``result``."""
    if not result.chief:
        print(f"trained to step {result.step}; the chief worker wrote the "
              f"run folder", flush=True)
    else:
        print(f"run folder: {result.paths.root} (step {result.step})",
              flush=True)
    if result.stop_message:
        print(result.stop_message, file=sys.stderr, flush=True)
    return result


def exit_status(*results):
    """1 when any run stopped on a non-finite value, else 0."""
    return 1 if any(r.stop_message for r in results) else 0

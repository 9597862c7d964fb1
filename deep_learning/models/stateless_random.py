"""Stateless random draws of the training engine, per step and replica.

Every random tensor of a ``GAN`` train step is a pure function of a seed
``(seed + offset, step * 1024 + stream)`` (see :func:`step_seed`): restoring
the step counter restores the random state, and resumed runs draw exactly
the numbers an uninterrupted run would.

Under ``tf.distribute`` each replica draws the *global* batch's numbers and
keeps its own rows (:func:`replica_slice`), so replicas never share noise
and the run does not depend on the number of replicas.

The algorithm is fixed to Philox so TensorFlow's CPU and GPU kernels agree.
XLA implements the stateless ops differently (other numbers from the same
seed): a run and its resumption must use the same ``jit_compile``.
"""

import tensorflow as tf

__all__ = ["normal", "uniform", "replica_info", "replica_slice",
           "step_seed"]


def step_seed(seed, step, stream, offset=0):
    """The ``(2,)`` int64 stateless seed of a draw.

    Args:
        seed: int. The model's seed.
        step: int or int tensor. The generator step.
        stream: int. The draw's stream within the step (< 1024).
        offset: int. Added to ``seed`` (separates e.g. evaluation draws).
    """
    return tf.stack([tf.constant(int(seed) + int(offset), tf.int64),
                     tf.cast(step, tf.int64) * 1024 + stream])


def normal(shape, seed):
    """Stateless N(0, 1) draw with a fixed algorithm (Philox), so that the
    numbers do not depend on XLA or the device."""
    return tf.random.stateless_normal(shape, seed, alg="philox")


def uniform(shape, seed, low):
    """Stateless U(low, 1) draw (Philox)."""
    return tf.random.stateless_uniform(shape, seed, minval=low, maxval=1.0,
                                       alg="philox")


def replica_info():
    """``(replica_id, num_replicas)``; ``(0, 1)`` outside ``tf.distribute``."""
    ctx = tf.distribute.get_replica_context()
    if ctx is None:
        return 0, 1
    return ctx.replica_id_in_sync_group, ctx.num_replicas_in_sync


def replica_slice(draw, local_batch):
    """Draws the global batch with ``draw(n)`` and keeps this replica's rows."""
    replica, replicas = replica_info()
    if replicas == 1:
        return draw(local_batch)
    full = draw(local_batch * replicas)
    start = tf.cast(replica, tf.int32) * tf.cast(local_batch, tf.int32)
    return full[start:start + local_batch]


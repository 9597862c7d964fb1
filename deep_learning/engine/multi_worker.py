"""Several workers under ``tf.distribute.MultiWorkerMirroredStrategy``.

Every worker runs the same script with its own ``TF_CONFIG``; this module
holds what :func:`deep_learning.engine.training.train` does differently
there:

* **One writer.** Only the chief (the ``chief`` task, or worker 0 when the
  cluster has none) uses the run folder: the configuration check, the lock,
  ``config.json``, checkpoints, TensorBoard logs and ``generator.keras``.
  The other workers still run every checkpoint save and summary (some of
  them are collective operations), into a scratch folder of their own that
  is removed when ``train`` returns (:func:`scratch_folder`).
* **The chief's state everywhere.** Only the chief reads the run folder, so
  the workers need no shared file system: after the chief has restored its
  newest readable checkpoint, :func:`broadcast_from_chief` copies every
  variable (weights, optimiser slots, step, EMA) from the chief's first
  replica to all replicas, with one collective all-reduce.
* **One verdict.** When the chief refuses a run folder (another
  configuration, a lock held, no checkpoint restores), the other workers
  must not wait for it forever in a collective: :func:`chief_agrees` tells
  every worker whether the chief went on.

The step logs need one more adjustment under this strategy (Keras 3 cannot
reduce scalar logs across workers); it lives in
``deep_learning.models.gan_steps.logs_for_reduction``.
"""

import contextlib
import dataclasses
import shutil
import tempfile

import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class WorkerRole:
    """This process's part in the run.

    Attributes:
        multi_worker: several workers take part (``TF_CONFIG`` names them).
        chief: this worker writes the run folder (always True with one
            worker).
        task: ``'<task_type>:<task_id>'`` of this worker, ``''`` with one.
    """

    multi_worker: bool
    chief: bool
    task: str


def role_of(strategy):
    """:class:`WorkerRole` of this process under ``strategy``."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return WorkerRole(False, True, "")
    resolver = strategy.cluster_resolver
    workers = resolver.cluster_spec().as_dict() if resolver else {}
    count = sum(len(tasks) if isinstance(tasks, (list, dict)) else 1
                for name, tasks in workers.items()
                if name in ("chief", "worker"))
    if count <= 1:
        return WorkerRole(False, True, "")
    return WorkerRole(True, bool(strategy.extended.should_checkpoint),
                      f"{resolver.task_type}:{resolver.task_id}")


@contextlib.contextmanager
def scratch_folder(role):
    """A temporary folder for a non-chief worker's writes, removed on exit."""
    folder = tempfile.mkdtemp(
        prefix=f"mixgan-{role.task.replace(':', '')}-")
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _chief_replica_sum(strategy, values_fn):
    """All-reduce where only the global replica 0 contributes: the chief's
    values on every worker. Values are packed into one flat vector per
    dtype, so each dtype costs one collective."""
    def replica_fn():
        ctx = tf.distribute.get_replica_context()
        first = tf.equal(ctx.replica_id_in_sync_group, 0)
        values = [tf.convert_to_tensor(v) for v in values_fn()]
        by_dtype = {}
        for i, v in enumerate(values):
            by_dtype.setdefault(v.dtype, []).append(i)
        out = [None] * len(values)
        for dtype, indices in by_dtype.items():
            flat = tf.concat([tf.reshape(values[i], [-1]) for i in indices],
                             0)
            flat = tf.where(first, flat, tf.zeros_like(flat))
            flat = ctx.all_reduce(tf.distribute.ReduceOp.SUM, flat)
            sizes = [values[i].shape.num_elements() for i in indices]
            for i, part in zip(indices, tf.split(flat, sizes)):
                out[i] = tf.reshape(part, values[i].shape)
        return out

    out = strategy.run(tf.function(replica_fn))
    return [strategy.experimental_local_results(v)[0] for v in out]


def chief_agrees(strategy, ok):
    """Whether the chief went on; every worker calls it with its own
    ``ok`` (only the chief's counts) and gets the same answer."""
    flag = tf.constant(1 if ok else 0, tf.int32)
    return bool(_chief_replica_sum(strategy, lambda: [flag])[0].numpy())


def broadcast_from_chief(strategy, variables):
    """Sets ``variables`` on every replica of every worker to the values of
    the chief's first replica (restored state reaches all workers)."""
    variables = [v for v in variables if v.dtype != tf.bool]
    if not variables:
        return
    values = _chief_replica_sum(strategy,
                                lambda: variables)
    for variable, value in zip(variables, values):
        variable.assign(value)


def shard_by_data(dataset):
    """``dataset`` with ``DATA`` auto-sharding: every worker reads the same
    sequence of global batches and keeps its replicas' rows of each, as one
    device would split them (file sharding would give each worker other
    examples than a single-worker run)."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = \
        tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


__all__ = ["WorkerRole", "role_of", "scratch_folder", "chief_agrees",
           "broadcast_from_chief", "shard_by_data"]

"""Scalar curves read back from TensorBoard event files, and their plot.

The engine logs every loss and monitor (e.g. BEGAN's ``began/m_global`` and
``began/k``) with ``tf.summary.scalar``. :func:`read_scalars` reads them
from a log folder without TensorBoard (it parses the event files with
TensorFlow's own reader), and :func:`plot_scalar_curves` draws one panel
per tag with one line per run::

    python -m general_tools.tb_scalars Results/began_g0.5/logs \\
        Results/began_g0.7/logs --tags began/m_global,began/k \\
        --labels "gamma 0.5,gamma 0.7" --out began_curves.png
"""

from __future__ import annotations

import argparse
import glob
import os

import numpy as np

__all__ = ["read_scalars", "plot_scalar_curves"]


def _value(summary_value):
    """The float of a scalar summary value (TF2 tensor or TF1 simple)."""
    import tensorflow as tf

    if summary_value.HasField("tensor"):
        array = tf.make_ndarray(summary_value.tensor)
        if array.size != 1:
            return None
        return float(array.reshape(()))
    if summary_value.HasField("simple_value"):
        return float(summary_value.simple_value)
    return None


def read_scalars(log_dir, tags=None):
    """Scalar summaries of every event file in ``log_dir``.

    Args:
        log_dir: str. folder with ``events.out.tfevents.*`` files (a run's
            ``logs`` folder).
        tags: iterable of str or None. tags to keep (None: every scalar).

    Returns:
        dict ``tag -> (steps, values)``, numpy arrays sorted by step; a step
        logged twice (a resumed run) keeps its last value.

    Raises:
        ValueError: when the folder has no event file, or a wanted tag is
            missing (the message lists the tags found).
    """
    import tensorflow as tf
    from tensorflow.core.util import event_pb2

    files = sorted(glob.glob(os.path.join(log_dir, "events.out.tfevents.*")))
    if not files:
        raise ValueError(f"No TensorBoard event file in {log_dir!r}.")
    wanted = None if tags is None else set(tags)
    points, seen = {}, set()
    for path in files:
        for record in tf.data.TFRecordDataset(path):
            event = event_pb2.Event.FromString(record.numpy())
            for value in event.summary.value:
                if wanted is not None and value.tag not in wanted:
                    seen.add(value.tag)
                    continue
                number = _value(value)
                if number is None:
                    continue
                # A step logged twice (a resumed run writes a new file) keeps
                # the value written last: event files are ordered by their
                # names, whose counters do not sort across restarts, so
                # compare the events' own wall times.
                by_step = points.setdefault(value.tag, {})
                step = int(event.step)
                if step not in by_step or event.wall_time >= by_step[step][0]:
                    by_step[step] = (event.wall_time, number)
    if wanted is not None and not wanted <= set(points):
        raise ValueError(
            f"Tags {sorted(wanted - set(points))} are not scalars of "
            f"{log_dir!r}; found: {sorted(seen | set(points))}.")
    out = {}
    for tag, by_step in points.items():
        steps = np.array(sorted(by_step), dtype=np.int64)
        out[tag] = (steps, np.array([by_step[s][1] for s in steps]))
    return out


def plot_scalar_curves(runs, tags, path, labels=None, smooth=1,
                       titles=None):
    """One panel per tag, one line per run; written as a PNG.

    Args:
        runs: list of log folders.
        tags: list of str. scalar tags.
        path: str. output PNG.
        labels: list of str or None. legend entries (default: folder
            names).
        smooth: int. width of a moving average (1: raw).
        titles: list of str or None. panel titles (default: the tags).

    Returns:
        ``path``.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = labels or [os.path.basename(os.path.dirname(
        os.path.abspath(r))) for r in runs]
    if len(labels) != len(runs):
        raise ValueError(f"{len(labels)} labels for {len(runs)} runs.")
    curves = [read_scalars(r, tags) for r in runs]
    fig, axes = plt.subplots(1, len(tags), figsize=(4.2 * len(tags), 3.2),
                             squeeze=False)
    for ax, tag, title in zip(axes[0], tags, titles or tags):
        for curve, label in zip(curves, labels):
            steps, values = curve[tag]
            if smooth > 1 and len(values) >= smooth:
                values = np.convolve(values, np.ones(smooth) / smooth,
                                     mode="valid")
                steps = steps[smooth - 1:]
            ax.plot(steps, values, label=label, linewidth=1.2)
        ax.set_title(title)
        ax.set_xlabel("generator step")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main(argv=None):
    """``python -m general_tools.tb_scalars LOGS... --tags T --out F.png``;
    an existing ``--out`` is kept unless ``--overwrite``. Returns None."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", help="log folders")
    parser.add_argument("--tags", required=True,
                        help="comma-separated scalar tags")
    parser.add_argument("--labels", default=None,
                        help="comma-separated legend entries")
    parser.add_argument("--smooth", type=int, default=1)
    parser.add_argument("--out", required=True, help="output PNG")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing --out")
    args = parser.parse_args(argv)
    if os.path.exists(args.out) and not args.overwrite:
        parser.error(f"{args.out} exists; pass --overwrite to replace it")
    labels = args.labels.split(",") if args.labels else None
    print(plot_scalar_curves(args.runs, args.tags.split(","), args.out,
                             labels, args.smooth))


if __name__ == "__main__":
    main()

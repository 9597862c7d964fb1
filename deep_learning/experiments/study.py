"""Grids of runs, each trained, scored and summarised over seeds.

The ``my_tests`` study scripts (the MNIST mixture comparison, the MMD loss
comparison) train one run per grid cell and seed, score it with
:func:`deep_learning.tools.evaluate.evaluate_run` and keep one JSON file per
run in a scores folder, with the run's ``settings`` (everything that changes
its result: model, seed, steps, batch, data, metrics, a digest of the
architecture dicts...). A run whose file exists with the same settings is
skipped, so an interrupted grid resumes where it stopped and several
processes can share a grid; a file of other settings is never replaced (the
study stops and names it). :func:`study_paths` puts everything under the
script's ``--out``, or under ``docs/`` with ``--publish``.
:func:`summarise` turns the files into means and standard deviations over
seeds (runs that stopped on a non-finite loss count as diverged).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time

import numpy as np
import tensorflow as tf

from deep_learning.engine.run_folder import config_differences
from deep_learning.tools import evaluate
from general_tools.atomic_io import write_bytes_atomic

__all__ = ["StudyPaths", "architecture_digest", "limit_threads",
           "load_scores", "mean_std", "read_recorded", "run_and_score",
           "settings_differences", "shard", "study_paths", "summarise"]


@dataclasses.dataclass(frozen=True)
class StudyPaths:
    """Where a study writes: ``runs`` (run folders, always under
    ``--out``), ``scores`` (one JSON per run), ``table`` (the summary
    JSON), ``figure`` (PNG, or None)."""

    runs: str
    scores: str
    table: str
    figure: str | None


def study_paths(out, publish, *, published_scores, published_table,
                published_figure=None, name="study"):
    """The study's paths: under ``out`` (``out/runs``, ``out/scores``,
    ``out/<name>.json``, ``out/<name>.png``), or the published ones in
    ``docs/`` when ``publish`` (run folders stay under ``out``)."""
    if publish:
        return StudyPaths(os.path.join(out, "runs"), published_scores,
                          published_table, published_figure)
    return StudyPaths(os.path.join(out, "runs"), os.path.join(out, "scores"),
                      os.path.join(out, f"{name}.json"),
                      None if published_figure is None
                      else os.path.join(out, f"{name}.png"))


def architecture_digest(*dicts):
    """A short digest of architecture dicts (for a run's settings)."""
    text = json.dumps(dicts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _normal(obj):
    return json.loads(json.dumps(obj, sort_keys=True, default=str))


def limit_threads(threads):
    """Intra- and inter-op threads of this process (0 keeps TensorFlow's):
    on a small CPU, two one-thread processes train small networks faster
    than one two-thread process."""
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def shard(jobs, spec):
    """Every N-th job from the I-th for ``spec`` ``'I/N'``."""
    try:
        index, count = (int(x) for x in str(spec).split("/"))
    except ValueError:
        index, count = -1, 0
    if not 0 <= index < count:
        raise ValueError(f"shard must be 'I/N' with 0 <= I < N; received "
                         f"{spec!r}.")
    return list(jobs)[index::count]


def settings_differences(path, settings):
    """How the record in ``path`` differs from ``settings``: ``None`` when
    there is no such file, ``[]`` when it holds the same settings, else
    ``["key: old -> new", ...]`` (a record without settings differs in
    all of them)."""
    if not os.path.exists(path):
        return None
    with open(path) as f:
        recorded = json.load(f).get("settings")
    return [f"{key}: {a!r} -> {b!r}" for key, a, b in config_differences(
        {"settings": recorded}, {"settings": _normal(settings)})]


def read_recorded(path, settings, what="scores"):
    """The record in ``path`` when it holds the same ``settings``, None
    when there is no file.

    Raises:
        ValueError: the file records other settings (each difference
            listed); it is left as it is.
    """
    diffs = settings_differences(path, settings)
    if diffs is None:
        return None
    if diffs:
        raise ValueError(
            f"{path} holds the {what} of a run with other settings ("
            + "; ".join(diffs) + "); it is left as it is. Use another "
            "--out for these settings.")
    with open(path) as f:
        return json.load(f)


def run_and_score(name, scores_dir, train_fn, *, settings, metrics, num,
                  reference, evaluate_options=None, **fields):
    """Trains (``train_fn() -> TrainResult``), scores and records one run.

    Args:
        name: str. file name (without ``.json``) in ``scores_dir``.
        scores_dir: str. folder of the per-run score files.
        train_fn: callable returning a ``training.TrainResult``.
        settings: dict. Everything that changes the run's result; it must
            hold ``steps``. Recorded in the file and compared on a rerun.
        metrics, num, reference: ``evaluate_run`` arguments.
        evaluate_options: dict or None. more ``evaluate_run`` arguments.
        **fields: recorded as they are (model, seed, ...).

    Returns:
        the recorded dict (``scores`` empty when the run diverged), or the
        existing one when the file exists with the same settings.

    Raises:
        ValueError: the file exists with other settings (each difference
            listed; the file is left as it is), or the run folder holds a
            run longer than ``settings['steps']``.
    """
    settings = _normal(settings)
    path = os.path.join(scores_dir, f"{name}.json")
    existing = read_recorded(path, settings)
    if existing is not None:
        print(f"{name}: scored already with these settings ({path})")
        return existing
    start = time.time()
    run = train_fn()
    wall = time.time() - start
    if run.step > int(settings["steps"]):
        raise ValueError(
            f"The run folder {run.paths.root} holds a run of {run.step} "
            f"steps; this study asks {settings['steps']}. Use another --out.")
    if run.stop_message is not None:
        result = {"scores": {}, "stopped": run.stop_message}
    else:
        result, _ = evaluate.evaluate_run(
            run.paths.root, metrics=metrics, num=num, reference=reference,
            **(evaluate_options or {}))
    result.update(
        fields, name=name, steps=int(run.step), wall_s=round(wall, 1),
        g_params=int(run.model.generator.count_params()),
        d_params=int(run.model.discriminator.count_params()),
        run_dir=run.paths.root, settings=settings)
    os.makedirs(scores_dir, exist_ok=True)
    write_bytes_atomic(path, (json.dumps(result, indent=2) + "\n").encode())
    print(f"{name}: {result['scores'] or result['stopped']} "
          f"({wall:.0f} s training)")
    return result


def load_scores(scores_dir):
    """Every recorded run of a scores folder, by file name."""
    if not os.path.isdir(scores_dir):
        raise ValueError(f"No scores to report: {scores_dir} does not exist "
                         "(train the grid first, or pass the --out / "
                         "--publish it was run with).")
    rows = []
    for file in sorted(os.listdir(scores_dir)):
        if file.endswith(".json"):
            with open(os.path.join(scores_dir, file)) as f:
                rows.append(json.load(f))
    return rows


def summarise(rows, group_keys, score_keys, per_seed=()):
    """Mean and standard deviation of scores per group over seeds.

    Args:
        rows: dicts from :func:`load_scores`.
        group_keys: fields that define a cell, e.g. ``("model", "k")``.
        score_keys: names in each row's ``scores``.
        per_seed: score names whose every run's value is kept too.

    Returns:
        list (in first-seen order) of dicts with the group fields, ``n``
        (runs), ``diverged`` (runs without scores), ``seeds``, the mean
        ``wall_s``, the first run's ``g_params``, per score key
        ``[mean, std]`` over the scored runs (absent if none scored), and
        per ``per_seed`` key ``<key>_per_seed``: ``{str(seed): value}`` in
        seed order, None for a run without that score.
    """
    groups = {}
    for row in rows:
        groups.setdefault(tuple(row.get(k) for k in group_keys),
                          []).append(row)
    out = []
    for key, runs in groups.items():
        scored = [r for r in runs if r.get("scores")]
        entry = dict(zip(group_keys, key), n=len(runs),
                     diverged=len(runs) - len(scored),
                     seeds=[r.get("seed") for r in runs],
                     wall_s=float(np.mean([r["wall_s"] for r in runs])),
                     g_params=runs[0].get("g_params"),
                     steps=runs[0].get("steps"))
        for score in score_keys:
            values = np.array([r["scores"][score] for r in scored
                               if score in r["scores"]], dtype=np.float64)
            if len(values):
                entry[score] = [float(values.mean()), float(values.std())]
        by_seed = sorted(runs, key=lambda r: r.get("seed"))
        for score in per_seed:
            entry[f"{score}_per_seed"] = {
                str(r.get("seed")): (r.get("scores") or {}).get(score)
                for r in by_seed}
        out.append(entry)
    return out


def mean_std(value, digits=3):
    """``'m ± s'`` of a ``[mean, std]`` pair (``'-'`` when missing)."""
    if value is None:
        return "-"
    return f"{value[0]:.{digits}f} ± {value[1]:.{digits}f}"

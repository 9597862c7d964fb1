"""The MMD-GAN loss comparison of ``docs/results.md`` (the repulsive MMD-GAN
paper's comparison of losses with one spectrally normalised DCGAN): a grid
of losses x seeds on the bundled MNIST, each run trained with
:func:`deep_learning.experiments.mmd.run_mmd_experiment`, scored (FID and
5-NN on the domain classifier's features) and summarised over seeds.

Every run is a normal run folder (resumable, named by ``training.train``);
its scores go to ``<loss>_s<seed>.json`` in the scores folder with the
run's settings (``deep_learning.experiments.study``): a run whose file
holds the same settings is skipped, a file of other settings stops the
grid before anything trains. :func:`report` turns the files into the table
and its JSON.
"""

from __future__ import annotations

import dataclasses
import json
import os

from deep_learning.experiments import study
from deep_learning.experiments.mmd import run_mmd_experiment
from deep_learning.tools.evaluate import make_extractor
from general_tools.atomic_io import write_bytes_atomic

__all__ = ["DATASET", "Job", "METRICS", "SCORES", "SETTINGS_KEY", "jobs",
           "report", "run_grid", "settings_of", "status", "table"]

#: The data of the published grid: 8,000 training images of the bundled
#: MNIST test set, scored against its 2,000 held-out images.
DATASET = "mnist_bundled"
#: The runner's settings key (the model tag of the run folders; the
#: learning rates are passed explicitly).
SETTINGS_KEY = "cifar10"
#: The metrics of every score.
METRICS = "fid,knn"
#: Scores summarised in the table.
SCORES = ("fid", "knn_accuracy", "knn_real_fraction", "knn_fake_fraction")


@dataclasses.dataclass(frozen=True)
class Job:
    """One run of the grid: loss, seed and score-file name."""

    loss: str
    seed: int
    name: str


def jobs(losses, seeds):
    """The grid's runs, seed by seed, each loss in ``losses`` order; score
    files are named ``<loss>_s<seed>``."""
    return [Job(loss, int(seed), f"{loss}_s{seed}")
            for seed in seeds for loss in losses]


def settings_of(job, *, steps, batch_size, lr_d, lr_g, num, precision,
                architecture):
    """Everything that changes a job's result (recorded with its scores);
    ``architecture`` is ``study.architecture_digest`` of the dict."""
    return {"loss": job.loss, "seed": job.seed, "steps": int(steps),
            "batch_size": int(batch_size), "dataset": DATASET,
            "lr_d": float(lr_d), "lr_g": float(lr_g), "num": int(num),
            "metrics": METRICS, "precision": precision,
            "architecture": architecture}


def status(job, scores_dir, settings):
    """``'done'`` (scored with these settings), ``'to run'``, or ``'other
    settings: ...'`` (the differences) for one job."""
    diffs = study.settings_differences(
        os.path.join(scores_dir, f"{job.name}.json"), settings)
    if diffs is None:
        return "to run"
    return "other settings: " + "; ".join(diffs) if diffs else "done"


def run_grid(architecture, todo, *, scores_dir, runs_dir, steps, batch_size,
             lr_d, lr_g, num=2000, precision="float32", jit=False,
             scalar_every=100, image_every=0, threads=1):
    """Trains, scores and records the jobs ``todo``; returns the recorded
    dicts (``stopped`` set for a run that stopped on non-finite values).

    Jobs whose score file exists come first: they are skipped when the
    settings match and stop the grid (``ValueError`` naming the file, which
    stays as it is) when not, before anything trains. Then the domain
    classifier is made (or read from its cache) once and the other jobs
    train in order.

    Args:
        architecture: dict. The script's architecture dict.
        todo: list of :class:`Job`.
        scores_dir, runs_dir: str. Score files; parent of the run folders.
        steps, batch_size, lr_d, lr_g, precision, jit, scalar_every,
            image_every: the runs' settings (``run_mmd_experiment``).
        num: int. Generated (and held-out) images per score.
        threads: int. Intra- and inter-op threads (0: TensorFlow's).
    """
    digest = study.architecture_digest(architecture)

    def one(job):
        def train():
            return run_mmd_experiment(
                architecture, dataset=SETTINGS_KEY, data_name=DATASET,
                steps=steps, batch_size=batch_size, gan_loss=job.loss,
                lr_d=lr_d, lr_g=lr_g, seed=job.seed, root=runs_dir,
                precision=precision, jit=jit, checkpoint_every=steps,
                scalar_every=scalar_every, image_every=image_every,
                config={"script": "my_test_mmd_mnist"}, verbose=2)

        return study.run_and_score(
            job.name, scores_dir, train, settings=settings_of(
                job, steps=steps, batch_size=batch_size, lr_d=lr_d,
                lr_g=lr_g, num=num, precision=precision,
                architecture=digest),
            metrics=METRICS, num=num, reference=f"{DATASET}:test",
            loss=job.loss, seed=job.seed, batch_size=batch_size)

    def scored(job):
        return os.path.exists(os.path.join(scores_dir, f"{job.name}.json"))

    records = [one(job) for job in todo if scored(job)]
    rest = [job for job in todo if not scored(job)]
    if rest:
        study.limit_threads(threads)
        make_extractor("domain", dataset=DATASET, image_size=32)
        records += [one(job) for job in rest]
    return records


def table(rows, losses):
    """Summary rows (``study.summarise``, FID per seed kept), in ``losses``
    order (other losses after them)."""
    order = {loss: i for i, loss in enumerate(losses)}
    return sorted(study.summarise(rows, ("loss",), SCORES,
                                  per_seed=("fid",)),
                  key=lambda e: order.get(e["loss"], len(order)))


def report(scores_dir, table_path, losses):
    """Prints the markdown table of ``docs/results.md``, writes its JSON to
    ``table_path``; returns the table rows."""
    entries = table(study.load_scores(scores_dir), losses)
    print("| loss | FID | FID per seed | 5-NN acc | 5-NN real | "
          "5-NN fake | non-finite stops | s/run |")
    print("|---|---|---|---|---|---|---|---|")
    for e in entries:
        seeds = ", ".join("NaN" if v is None else f"{v:.1f}"
                          for v in e["fid_per_seed"].values())
        print(f"| {e['loss']} | {study.mean_std(e.get('fid'), 1)} | "
              f"{seeds} | {study.mean_std(e.get('knn_accuracy'))} | "
              f"{study.mean_std(e.get('knn_real_fraction'))} | "
              f"{study.mean_std(e.get('knn_fake_fraction'))} | "
              f"{e['diverged']}/{e['n']} | {e['wall_s']:.0f} |")
    os.makedirs(os.path.dirname(table_path) or ".", exist_ok=True)
    write_bytes_atomic(table_path,
                       (json.dumps(entries, indent=2) + "\n").encode())
    print(f"table: {table_path}")
    return entries

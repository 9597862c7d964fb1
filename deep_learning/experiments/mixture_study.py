"""The MNIST mixture comparison of ``docs/results.md`` (the HMoG paper's
Sec. IV-B and Fig. 9): a grid of models x K x seeds, each trained for the
same number of generator iterations, scored (FID and 5-NN fractions on the
domain classifier's features, MS-SSIM) and summarised over seeds.

Every run is a normal run folder (resumable); its scores go to one JSON
file per run with the run's settings (``deep_learning.experiments.study``),
so an interrupted grid continues where it stopped and a grid can grow over
sessions. :func:`report` turns the files into the table, its JSON and the
Fig. 9-style figure.
"""

from __future__ import annotations

import dataclasses
import json
import os

from deep_learning.experiments import study
from deep_learning.experiments.mixtures import train_mixture
from deep_learning.tools.evaluate import make_extractor
from experiment_spec import recipes
from general_tools import figures
from general_tools.atomic_io import write_bytes_atomic

__all__ = ["DATASET", "Job", "SCORES", "jobs", "prepare_extractor", "report",
           "run_job", "settings_of", "table"]

#: The data of the published grid: 8,000 training images of the bundled
#: MNIST test set, scored against its 2,000 held-out images.
DATASET = "mnist_bundled"
#: Scores summarised in the table.
SCORES = ("fid", "knn_real_fraction", "knn_fake_fraction", "knn_accuracy",
          "knn_two_sample", "msssim_fake", "msssim_real")
OBJECTIVE_NAMES = {"wasserstein": "WGAN-GP", "logistic": "non-saturating"}


@dataclasses.dataclass(frozen=True)
class Job:
    """One run of the grid: model, K (1 for FC), seed, score-file name and
    the objective when it is not the model's own."""

    model: str
    k: int
    seed: int
    name: str
    objective: str | None = None


def jobs(models, ks, seeds, variants=()):
    """The grid's runs: every model at every K (FC once, it has one
    generator) for every seed, then the ``(model, objective)`` variants.
    Score files are named ``<model><K>[_<objective>]_s<seed>``."""
    out = []
    cells = [(m, None) for m in models] + list(variants)
    for seed in seeds:
        for model, objective in cells:
            single = recipes.get(model).k_rule == "one"
            for k in ([1] if single else ks):
                tag = recipes.run_tag(model, k)
                suffix = f"_{objective}" if objective else ""
                out.append(Job(model, k, seed, f"{tag}{suffix}_s{seed}",
                               objective))
    return out


def settings_of(job, *, steps, batch_size, lr, latent_dim, num,
                msssim_pairs, architecture):
    """Everything that changes a job's result (recorded with its scores)."""
    return {"model": job.model, "k": job.k, "objective": job.objective,
            "seed": job.seed, "steps": steps, "batch_size": batch_size,
            "lr": lr, "latent_dim": latent_dim, "dataset": DATASET,
            "num": num, "msssim_pairs": msssim_pairs,
            "metrics": "fid,knn,msssim", "architecture": architecture}


def run_job(job, b_s, d, h_shape, *, scores_dir, runs_dir, steps,
            batch_size, lr=1e-4, latent_dim=100, num=2000, msssim_pairs=250,
            figures_for=(), precision="float32", jit=False, scalar_every=100,
            image_every=1000):
    """Trains, scores and records one job (skipped when its score file
    exists with the same settings); returns the recorded dict."""
    settings = settings_of(job, steps=steps, batch_size=batch_size, lr=lr,
                           latent_dim=latent_dim, num=num,
                           msssim_pairs=msssim_pairs,
                           architecture=study.architecture_digest(
                               b_s, d, h_shape))

    def train():
        return train_mixture(
            job.model, job.k, b_s, d, h_shape, dataset=DATASET, steps=steps,
            image_size=32, batch_size=batch_size, lr=lr,
            latent_dim=latent_dim, seed=job.seed, root=runs_dir,
            precision=precision, jit=jit, figures=job.name in figures_for,
            figure_samples=2000, objective=job.objective,
            scalar_every=scalar_every, image_every=image_every, verbose=2,
            config={"script": "my_test_mixtures_study"})

    return study.run_and_score(
        job.name, scores_dir, train, settings=settings,
        metrics="fid,knn,msssim", num=num, reference=f"{DATASET}:test",
        evaluate_options={"msssim_pairs": msssim_pairs}, model=job.model,
        k=job.k, seed=job.seed, batch_size=batch_size,
        objective=job.objective)


def prepare_extractor():
    """Trains (or reads from the cache) the domain classifier once, before
    the grid, so that parallel shards do not each train it."""
    make_extractor("domain", dataset=DATASET, image_size=32)


def _label(entry):
    name = recipes.get(entry["model"]).label
    objective = entry.get("objective")
    return f"{name} ({OBJECTIVE_NAMES[objective]})" if objective else name


def table(rows):
    """Summary rows (``study.summarise``) in the order of the paper's
    tables, with the paper's single 5-NN number (the mean of the real and
    fake fractions) added to each run."""
    for row in rows:
        scores = row.get("scores", {})
        if "knn_real_fraction" in scores and "knn_fake_fraction" in scores:
            scores["knn_two_sample"] = (scores["knn_real_fraction"]
                                        + scores["knn_fake_fraction"]) / 2
    order = {m: i for i, m in enumerate(recipes.names())}
    summary = study.summarise(rows, ("model", "k", "objective"), SCORES,
                              per_seed=("fid",))
    return sorted(summary, key=lambda e: (order[e["model"]],
                                          e["objective"] or "", e["k"]))


def report(scores_dir, table_path, figure_path):
    """Prints the markdown table, writes its JSON and the figure; returns
    the table."""
    entries = table(study.load_scores(scores_dir))
    print("| model | K | G params | FID | FID per seed | 5-NN real "
          "| 5-NN fake | 5-NN acc | MS-SSIM | s/run | seeds |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for e in entries:
        scored = e["n"] - e["diverged"]

        def cell(key, digits=3, e=e, scored=scored):
            if key not in e:
                return "-"
            return (f"{e[key][0]:.{digits}f}" if scored == 1
                    else study.mean_std(e[key], digits))

        fid = cell("fid", 1) if "fid" in e else "diverged"
        per_seed = ", ".join("-" if v is None else f"{v:.1f}"
                             for v in e["fid_per_seed"].values())
        print(f"| {_label(e)} | {e['k']} | {e['g_params']:,} | "
              f"{fid} | {per_seed} | {cell('knn_real_fraction')} | "
              f"{cell('knn_fake_fraction')} | {cell('knn_accuracy')} | "
              f"{cell('msssim_fake')} | {e['wall_s']:.0f} | "
              f"{scored}/{e['n']} |")
    real = [e["msssim_real"][0] for e in entries if "msssim_real" in e]
    if real:
        print(f"MS-SSIM of held-out real pairs: {real[0]:.3f}")
    os.makedirs(os.path.dirname(table_path) or ".", exist_ok=True)
    write_bytes_atomic(table_path,
                       (json.dumps(entries, indent=2) + "\n").encode())
    print(f"table: {table_path}")
    if figure_path:
        _figure(entries, figure_path)
        print(f"figure: {figure_path}")
    return entries


def _figure(entries, path):
    """Fig. 9 of the paper: FID and the 5-NN two-sample score (mean of the
    real and fake fractions, 0.5 ideal) against generator parameters."""
    plt = figures.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    markers = {8: "o", 16: "s", 1: "D"}
    curves = sorted({(e["model"], e.get("objective") or "") for e in entries},
                    key=lambda c: (recipes.names().index(c[0]), c[1]))
    for ax, key, label in ((axes[0], "fid", "FID (domain-classifier "
                            "features)"),
                           (axes[1], "knn_two_sample",
                            "5-NN two-sample score (0.5 ideal)")):
        for model, objective in curves:
            pts = [e for e in entries if e["model"] == model and key in e
                   and (e.get("objective") or "") == objective]
            if not pts:
                continue
            line = ax.errorbar([e["g_params"] for e in pts],
                               [e[key][0] for e in pts],
                               yerr=[e[key][1] for e in pts], capsize=3,
                               label=_label(pts[0]),
                               linestyle="--" if objective else "-")
            for e in pts:
                ax.plot(e["g_params"], e[key][0], markers.get(e["k"], "o"),
                        color=line[0].get_color())
        ax.set_xscale("log")
        ax.set_xlabel("generator parameters (circle: K=8, square: K=16, "
                      "diamond: FC)", fontsize=8)
        ax.set_ylabel(label)
    axes[0].set_yscale("log")
    axes[0].legend(fontsize=7)
    fig.suptitle("MNIST 32x32, bundled 8k train / 2k held out, "
                 f"{entries[0]['steps']} generator iterations, mean ± std "
                 "over seeds", fontsize=9)
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)

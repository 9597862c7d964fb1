"""The HMoG paper's 2-D toy study (Sec. IV-A, Figs. 6-8): each mixture
model trained on a toy mixture, scored and drawn.

:func:`train_toy` trains one model (its class, objective and
discriminator outputs from its recipe, the toy's own objective and
settings on top); :func:`run_toy_study` runs models x seeds, scores each
run (``deep_learning.tools.toy_evaluation``), draws its region figure
(``deep_learning.tools.interpretability.toy_figures``) and summarises the
scores over seeds in ``results.json`` and ``results.md`` (every run
recorded under ``<out>/scores``, not only this invocation's). Each run's
scores are kept in ``<out>/scores/<model>_s<seed>.json`` with its
settings: a run whose file holds the same settings is read, not re-run,
and one of other settings stops the study (nothing is replaced).
"""

from __future__ import annotations

import json
import os

import numpy as np

from deep_learning.engine import training
from deep_learning.engine.run_folder import load_run
from deep_learning.engine.schedules import make_adam
from deep_learning.experiments import study
from deep_learning.experiments.common import report_run
from deep_learning.models.mixture_gans import mixture_gan
from deep_learning.tools import toy_evaluation
from deep_learning.tools.interpretability import toy_figures
from experiment_spec import recipes
from general_tools.atomic_io import write_bytes_atomic
from general_tools.data import load_dataset

__all__ = ["run_toy_study", "summary_table", "train_toy"]


def train_toy(model, generator, discriminator, *, k, dataset, data_seed,
              steps, batch_size, seed, root, lr_d, lr_g, latent_dim=2,
              gan_loss="logistic", n_critic=1, model_kwargs=None, jit=False,
              precision="float32", scalar_every=100, image_every=1000,
              checkpoint_every=5000, verbose=0, config=None):
    """Trains one model of the toy study.

    The recipe gives the model class and the discriminator's number of
    outputs; the toy's objective (the authors' toy scripts: non-saturating
    loss, one critic step, no penalty) replaces the model's own, and
    ``model_kwargs`` adds settings such as MEGAN's ``lb_weight``.

    Returns:
        the ``training.TrainResult``.
    """
    disc = [dict(layer) for layer in discriminator]
    disc[-1]["out"] = recipes.get(model).d_outputs(k)

    def build():
        gan = mixture_gan(model, generator, disc, k, latent_dim=latent_dim,
                          seed=seed, gan_loss=gan_loss, n_critic=n_critic,
                          gp_weight=0.0, **(model_kwargs or {}))
        gan.compile(make_adam(lr_d, amsgrad=True),
                    make_adam(lr_g, amsgrad=True), jit_compile=jit)
        return gan

    data = load_dataset(dataset, split="train", seed=seed,
                        deterministic=True, repeat=True, data_seed=data_seed)
    return training.train(
        build, data, steps=steps, batch_size=batch_size, seed=seed,
        root=root, precision=precision, verbose=verbose,
        steps_per_epoch=min(1000, steps),
        config={"generator": generator, "discriminator": discriminator,
                "lr_d": lr_d, "lr_g": lr_g, **(config or {})},
        callback_options={"checkpoint_every": checkpoint_every,
                          "scalar_every": scalar_every,
                          "image_every": image_every,
                          "gate_every": min(500, steps)})


def _scores_of_run(model, job_settings, out, real, mixture, *, eval_points,
                   train_fn):
    """The recorded scores of one run: read when its file holds the same
    settings, else trained and scored. Returns ``(record, run or None)``."""
    name = f"{model}_s{job_settings['seed']}"
    path = os.path.join(out, "scores", f"{name}.json")
    settings = json.loads(json.dumps(job_settings))
    record = study.read_recorded(path, settings)
    if record is not None:
        print(f"{name}: scored already ({path})", flush=True)
        return record, None
    run = report_run(train_fn())
    if run.step > settings["steps"]:
        raise ValueError(f"The run folder {run.paths.root} holds a run of "
                         f"{run.step} steps; this study asks "
                         f"{settings['steps']}. Use another --out.")
    record = {"model": model, "seed": settings["seed"], "steps": run.step,
              "run_dir": run.paths.root, "settings": settings,
              "stopped": run.stop_message}
    if run.stop_message is None:
        points, generators = toy_evaluation.toy_samples(
            run.model, eval_points, settings["seed"] + 1000)
        record["scores"] = toy_evaluation.toy_scores(points, generators,
                                                     real, mixture)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_bytes_atomic(path, (json.dumps(record, indent=2) + "\n").encode())
    return record, run


def run_toy_study(models, seeds, *, generators, discriminator,
                  model_settings, k, dataset, data_seed, steps, batch_size,
                  out, lr_d, latent_dim=2, eval_points=2500, jit=False,
                  precision="float32", scalar_every=100, image_every=1000):
    """Trains, scores and draws every model for every seed.

    Args:
        models: list of recipe names. seeds: list of int.
        generators: dict model -> generator spec (the toy architectures).
        discriminator: spec of D (its last layer's width is set per model).
        model_settings: dict model -> ``{"lr_g": ..., **model kwargs}``.
        k: int. Generators per mixture. dataset, data_seed: the toy.
        steps, batch_size, lr_d, latent_dim: training settings.
        out: str. Folder of run folders (``runs/``), per-run scores
            (``scores/``), figures and the summary.
        eval_points: int. Generated points scored per run.

    Returns:
        dict ``{"per_seed": {model: [scores...]}, "summary": ...}``; the
        runs that stopped on non-finite values are listed in ``stopped``.
    """
    real, mixture = toy_evaluation.toy_reference(
        {"name": dataset, "data_seed": data_seed})
    reach = 1.25 * float(np.abs(real).max())
    stopped = []
    for seed in seeds:
        for model in models:
            extra = dict(model_settings[model])
            lr_g = extra.pop("lr_g")
            settings = {"model": model, "seed": seed, "steps": steps,
                        "batch_size": batch_size, "k": k, "dataset": dataset,
                        "data_seed": data_seed, "lr_d": lr_d, "lr_g": lr_g,
                        "latent_dim": latent_dim, "model_kwargs": extra,
                        "eval_points": eval_points,
                        "architecture": study.architecture_digest(
                            generators[model], discriminator)}

            def train(model=model, seed=seed, lr_g=lr_g, extra=extra):
                return train_toy(
                    model, generators[model], discriminator, k=k,
                    dataset=dataset, data_seed=data_seed, steps=steps,
                    batch_size=batch_size, seed=seed,
                    root=os.path.join(out, "runs"), lr_d=lr_d, lr_g=lr_g,
                    latent_dim=latent_dim, model_kwargs=extra, jit=jit,
                    precision=precision, scalar_every=scalar_every,
                    image_every=image_every,
                    config={"script": "my_test_toy", "model": model})

            record, run = _scores_of_run(model, settings, out, real,
                                         mixture, eval_points=eval_points,
                                         train_fn=train)
            if record.get("stopped"):
                stopped.append(f"{model}_s{seed}")
                continue
            scores = dict(record["scores"], steps=record["steps"])
            print(f"{model:7s} seed {seed}: " + ", ".join(
                f"{key}={v:.3f}" if isinstance(v, float) else f"{key}={v}"
                for key, v in scores.items()), flush=True)
            regions = os.path.join(out, f"regions_{model}_s{seed}.png")
            if run is not None or not os.path.exists(regions):
                gan = (run.model if run is not None
                       else load_run(record["run_dir"]))
                toy_figures(gan, real, regions,
                            os.path.join(out, f"tree_{model}_s{seed}.png"),
                            seed=seed + 1000, num=eval_points,
                            limits=(-reach, reach),
                            title=recipes.get(model).label)
    # The summary covers every run recorded under out/scores (all of one
    # setting family: a file of other settings stopped the study above), so
    # a rerun with fewer models or seeds rewrites the same, complete table.
    records = study.load_scores(os.path.join(out, "scores"))
    order = {name: i for i, name in enumerate(recipes.names())}
    per_seed = {}
    for record in sorted(records, key=lambda r: (order[r["model"]],
                                                 r["seed"])):
        if record.get("scores"):
            per_seed.setdefault(record["model"], []).append(
                dict(record["scores"], steps=record["steps"]))
    summary = {name: {key: [float(np.mean([r[key] for r in runs])),
                            float(np.std([r[key] for r in runs]))]
                      for key in runs[0]} for name, runs in per_seed.items()}
    results = {"dataset": dataset, "data_seed": data_seed, "steps": steps,
               "seeds": sorted({r["seed"] for r in records}),
               "per_seed": per_seed, "summary": summary,
               "stopped": stopped}
    write_bytes_atomic(os.path.join(out, "results.json"),
                       (json.dumps(results, indent=2) + "\n").encode())
    table = summary_table(results)
    write_bytes_atomic(os.path.join(out, "results.md"),
                       (table + "\n").encode())
    print(table)
    return results


def summary_table(results):
    """The markdown table of :func:`run_toy_study`'s summary."""
    lines = [f"{results['dataset']}, {len(results['seeds'])} seed(s), "
             f"{results['steps']} steps; mean ± std over seeds", "",
             "| model | modes covered | high quality | 5-NN accuracy | "
             "Frechet | generators used |", "|---|---|---|---|---|---|"]

    def cell(stat, fmt):
        return f"{stat[0]:{fmt}} ± {stat[1]:{fmt}}"

    for name, s in results["summary"].items():
        lines.append(
            f"| {name} | {cell(s['modes_covered'], '.1f')} | "
            f"{cell([100 * v for v in s['high_quality']], '.1f')}% | "
            f"{cell(s['knn_accuracy'], '.3f')} | {cell(s['frechet'], '.2f')} "
            f"| {s['generators_used'][0]:.1f} |")
    return "\n".join(lines)

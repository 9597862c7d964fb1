"""Runner of the ``my_tests/my_test_mixtures_*`` scripts: one mixture model
of the HMoG paper's comparison trained with the engine, then its
interpretability figures."""

from __future__ import annotations

import os

from deep_learning.engine import training
from deep_learning.engine.schedules import make_adam
from deep_learning.experiments.common import make_strategy, report_run
from deep_learning.models.mixture_gans import mixture_gan
from deep_learning.tools.interpretability import mixture_figures
from experiment_spec.recipes import networks_from_dicts
from general_tools.data import load_dataset

__all__ = ["train_mixture"]


def train_mixture(model: str, k: int, b_s, d, h_shape, *, dataset, steps,
                  image_size, batch_size=128, lr=1e-4, latent_dim=100,
                  seed=0, root="Results", jit=False, precision="float32",
                  figures=True, figure_samples=10_000, config=None,
                  data_dir=None, objective=None, scalar_every=100,
                  image_every=1000, checkpoint_every=1000,
                  strategy="default", verbose=1):
    """Trains one mixture model with the engine and writes its figures.

    The body of the ``my_tests/my_test_mixtures_*`` scripts: networks from
    their B_s and D dicts and the model's recipe
    (``experiment_spec.recipes.networks_from_dicts``), the recipe's
    objective (or ``objective``, one of the alternatives), Adam-amsgrad
    (0.5, 0.999) at ``lr`` for D and G, ``training.train`` (the run folder
    under ``root``, resumed if it exists), then
    ``tools.interpretability.mixture_figures`` into ``<run>/figures``
    unless that folder exists (on the chief worker only). ``strategy``:
    a ``tf.distribute`` strategy or its ``--strategy`` name
    (``common.make_strategy``).

    Returns:
        the ``training.TrainResult``.
    """
    strategy = make_strategy(strategy)

    def build():
        g, dis = networks_from_dicts(model, k, b_s, d, h_shape)
        gan = mixture_gan(model, g, dis, k, objective=objective,
                          latent_dim=latent_dim, seed=seed)
        gan.compile(make_adam(lr, amsgrad=True), make_adam(lr, amsgrad=True),
                    jit_compile=jit)
        return gan

    data = load_dataset(dataset, split="train", image_size=image_size,
                        seed=seed, deterministic=True, repeat=True,
                        data_dir=data_dir)
    run = training.train(
        build, data, steps=steps, batch_size=batch_size, seed=seed,
        root=root, precision=precision, verbose=verbose, strategy=strategy,
        callback_options={"gate_every": max(1, min(500, steps)),
                          "scalar_every": scalar_every,
                          "image_every": image_every,
                          "checkpoint_every": checkpoint_every},
        config={"model": model, "k": k, "b_s": b_s, "discriminator": d,
                "h_shape": list(h_shape), "lr": lr,
                "image_size": image_size, "objective": objective,
                **(config or {})})
    report_run(run)
    out = os.path.join(run.paths.root, "figures")
    if (figures and run.chief and run.stop_message is None
            and not os.path.exists(out)):
        for name, path in mixture_figures(
                run.model, out, num_samples=figure_samples).items():
            print(f"{name}: {path}")
    return run

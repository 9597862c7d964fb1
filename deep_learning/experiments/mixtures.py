"""Runner of the ``my_tests/my_test_mixtures_*`` scripts: one mixture model
of the HMoG paper's comparison trained with the engine, then its
interpretability figures."""

from __future__ import annotations

import os

from deep_learning.engine import training
from deep_learning.engine.schedules import make_adam
from deep_learning.models.mixture_gans import mixture_gan
from experiment_spec.recipes import networks_from_dicts
from deep_learning.tools.interpretability import mixture_figures
from general_tools.data import load_dataset

__all__ = ["run_mixture_study"]


def run_mixture_study(model: str, k: int, b_s, d, h_shape, *, dataset,
                      steps, image_size, batch_size=128, lr=1e-4,
                      latent_dim=100, seed=0, root="Results", jit=False,
                      precision="float32", figures=True, figure_samples=10_000,
                      config=None, data_options=None, objective=None):
    """Trains one mixture model with the engine and writes its figures.

    The body of the ``my_tests/my_test_mixtures_*`` scripts: networks from
    their dicts (:func:`networks_from_dicts`), the authors' objective
    (:func:`mixture_gan`, or ``objective`` instead, see
    :func:`objective_of`), Adam-amsgrad (0.5, 0.999) at ``lr`` for D and G,
    :func:`deep_learning.engine.training.train` (resumes from the run folder), then
    :func:`deep_learning.tools.interpretability.mixture_figures`.

    Returns:
        the :class:`deep_learning.engine.training.TrainResult`.
    """
    def build():
        g, dis = networks_from_dicts(model, k, b_s, d, h_shape)
        gan = mixture_gan(model, g, dis, k, objective=objective,
                          latent_dim=latent_dim, seed=seed)
        gan.compile(make_adam(lr, amsgrad=True), make_adam(lr, amsgrad=True),
                    jit_compile=jit)
        return gan

    data = load_dataset(dataset, split="train", image_size=image_size,
                        seed=seed, deterministic=True, repeat=True,
                        **(data_options or {}))
    run = training.train(
        build, data, steps=steps, batch_size=batch_size, seed=seed,
        root=root, precision=precision,
        callback_options={"gate_every": max(1, min(500, steps))},
        config={"model": model, "k": k, "b_s": b_s, "discriminator": d,
                "h_shape": list(h_shape), "lr": lr,
                "image_size": image_size, "objective": objective,
                **(config or {})})
    print(f"run folder: {run.paths.root} (step {run.step})")
    if figures and run.stop_message is None:
        out = os.path.join(run.paths.root, "figures")
        for name, path in mixture_figures(
                run.model, out, num_samples=figure_samples).items():
            print(f"{name}: {path}")
    return run

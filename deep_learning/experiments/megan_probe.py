"""Why MEGAN collapses on MNIST under its own objective: the first
iterations of MEGAN and of three controls, probed every few steps.

Each probe draws 256 images from fixed codes and records the mean pixel
(real digits: -0.73 at 32x32), the share of pixels at the black end of tanh
(below -0.99; real digits 0.75), the spread of each pixel over the images
(real digits 0.35), the critic's mean scores on 256 fixed training digits
and on the generated images, the share it gets right and the
non-saturating generator loss. One JSON file per case, with the settings it
was made with; a file of the same settings is read instead of re-run, one
of other settings is never replaced.
"""

from __future__ import annotations

import json
import os

import keras
import numpy as np

from deep_learning.engine import training
from deep_learning.engine.schedules import make_adam
from deep_learning.experiments import study
from deep_learning.models.mixture_gans import mixture_gan
from experiment_spec.recipes import networks_from_dicts
from general_tools.atomic_io import write_bytes_atomic
from general_tools.data import load_dataset

__all__ = ["CASES", "DATASET", "critic_stats", "image_stats", "print_table",
           "real_images", "run_case"]

DATASET = "mnist_bundled"
#: case -> (model, K, overrides of the model's own objective, description)
CASES = {
    "megan": ("megan", 16, {}, "MEGAN-16, its own objective "
              "(non-saturating, n_critic 5)"),
    "megan_nc1": ("megan", 16, {"n_critic": 1}, "MEGAN-16, non-saturating, "
                  "n_critic 1"),
    "fc_logistic": ("fc", 1, {"objective": "logistic"}, "FC, MEGAN's "
                    "objective (non-saturating, n_critic 5)"),
    "megan_wgan": ("megan", 16, {"objective": "wasserstein"}, "MEGAN-16, "
                   "WGAN-GP (lambda 10, n_critic 5)"),
}


def image_stats(x):
    """Mean pixel, share of black-saturated pixels, per-pixel spread over
    the images, for a batch ``x`` in [-1, 1]."""
    x = np.asarray(x, np.float64)
    return {"mean": float(x.mean()), "saturated": float((x < -0.99).mean()),
            "spread": float(x.std(axis=0).mean())}


def critic_stats(discriminator, real, fake):
    """Mean critic scores of real and generated images, the share the
    critic gets right (score > 0 for real, < 0 for fake) and the
    non-saturating generator loss ``mean softplus(-D(G(z)))``."""
    d_real = np.asarray(discriminator(real, training=False), np.float64)
    d_fake = np.asarray(discriminator(fake, training=False), np.float64)
    return {"d_real": float(d_real.mean()), "d_fake": float(d_fake.mean()),
            "d_right": float(((d_real > 0).mean() + (d_fake < 0).mean()) / 2),
            "g_ns_loss": float(np.logaddexp(0.0, -d_fake).mean())}


def real_images(split, n=256):
    """``n`` bundled digits of ``split`` (the same ones at every call)."""
    images = load_dataset(DATASET, split=split, image_size=32, seed=0,
                          deterministic=True).batch(n).take(1)
    return next(iter(images))


class _Probe(keras.callbacks.Callback):
    def __init__(self, real, every, last, rows):
        super().__init__()
        self.real, self.every, self.last, self.rows = real, every, last, rows

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.step.numpy())
        if step % self.every and step not in (1, self.last):
            return
        fake = self.model.sample(256, seed=1)
        self.rows.append({"step": step, **image_stats(fake),
                          **critic_stats(self.model.discriminator, self.real,
                                         fake)})
        print(json.dumps(self.rows[-1]), flush=True)


def run_case(case, b_s, d, h_shape, *, out, runs_dir, steps=200, every=10,
             batch_size=64, seed=0, lr=1e-4, latent_dim=100):
    """Probes one case, or reads its file when it holds the same settings.

    Returns:
        the recorded dict (``probes``: one row per probe).

    Raises:
        ValueError: ``<out>/<case>.json`` holds a probe of other settings
            (left as it is).
    """
    model, k, overrides, description = CASES[case]
    settings = json.loads(json.dumps({
        "case": case, "steps": steps, "every": every,
        "batch_size": batch_size, "seed": seed, "lr": lr,
        "latent_dim": latent_dim, "dataset": DATASET,
        "architecture": study.architecture_digest(b_s, d, h_shape)}))
    path = os.path.join(out, f"{case}.json")
    result = study.read_recorded(path, settings, what="probes")
    if result is not None:
        print(f"{case}: read {path}")
        return result
    rows = []

    def build():
        g, dis = networks_from_dicts(model, k, b_s, d, h_shape)
        gan = mixture_gan(model, g, dis, k, latent_dim=latent_dim, seed=seed,
                          **overrides)
        gan.compile(make_adam(lr, amsgrad=True), make_adam(lr, amsgrad=True))
        return gan

    data = load_dataset(DATASET, split="train", image_size=32, seed=seed,
                        deterministic=True, repeat=True)
    run = training.train(
        build, data, steps=steps, batch_size=batch_size, seed=seed,
        root=runs_dir, resume=False, verbose=0,
        callbacks=[_Probe(real_images("train"), every, steps, rows)],
        callback_options={"image_every": 0},
        config={"script": "my_test_megan_collapse", "case": case})
    result = {"case": case, "description": description, "model": model,
              "k": k, "overrides": overrides, "batch": batch_size,
              "seed": seed, "steps": run.step, "stopped": run.stop_message,
              "probes": rows, "settings": settings}
    os.makedirs(out, exist_ok=True)
    write_bytes_atomic(path, (json.dumps(result, indent=2) + "\n").encode())
    return result


def print_table(results):
    """The real digits' statistics and each case's probes every 50 steps."""
    real = image_stats(real_images("test"))
    print(f"\nreal held-out digits: mean {real['mean']:.3f}, saturated "
          f"{real['saturated']:.3f}, spread {real['spread']:.3f}")
    print("| case | iteration | mean pixel | saturated | spread | D(real) "
          "| D(fake) | critic right | NS G loss |")
    print("|---|---|---|---|---|---|---|---|---|")
    for result in results:
        for row in result["probes"]:
            if row["step"] in (1, result["steps"]) or row["step"] % 50 == 0:
                print(f"| {result['description']} | {row['step']} | "
                      f"{row['mean']:.3f} | {row['saturated']:.3f} | "
                      f"{row['spread']:.3f} | {row['d_real']:.2f} | "
                      f"{row['d_fake']:.2f} | {row['d_right']:.2f} | "
                      f"{row['g_ns_loss']:.2f} |")

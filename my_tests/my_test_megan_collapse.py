"""
Title: why MEGAN collapses on MNIST under its own objective
Date: 2026-12-01
Paper: Park et al., "MEGAN: Mixture of Experts of Generative Adversarial
    Networks for Multimodal Image Generation" (IJCAI-18, seed 000), as
    trained by the HMoG authors (seed 004, ``train_megan.py``).
Purpose: in the MNIST mixture study (``my_test_mixtures_study.py``) MEGAN
    with the authors' objective (non-saturating loss, n_critic 5, no
    normalisation in G) draws only black images. This script follows the
    first iterations of that run and of three controls, so the cause can be
    read off: the same MEGAN with one critic step, the FC generator under
    MEGAN's objective, and MEGAN under WGAN-GP.

    python my_tests/my_test_megan_collapse.py                  # all four, 200 iterations
    python my_tests/my_test_megan_collapse.py --cases megan,fc_logistic --iterations 300

Every ``--every`` generator iterations it draws 256 images from fixed codes
and records the mean pixel value (real digits: -0.73 at 32x32), the share of
pixels at the black end of tanh (below -0.99; real digits: 0.75, with
strokes), the spread of each pixel over the 256 images (real digits: 0.35)
and the critic's mean scores on 256 fixed training digits and on the
generated images, the share it gets right and the non-saturating generator
loss. Networks, data, batch and optimiser
are the study's (B_s and D of ``my_test_mixtures_mnist.py``, the bundled
8,000 training digits, batch 64, Adam-amsgrad 1e-4). One JSON file per case
in ``--collapse_out``; a case whose file exists is read, not re-run.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

import my_test_mixtures_mnist as arch  # noqa: E402  (B_S, D, H_SHAPE)

#: case -> (model, K, overrides of the model's own objective)
CASES = {
    "megan": ("megan", 16, {}),
    "megan_nc1": ("megan", 16, {"n_critic": 1}),
    "fc_logistic": ("fc", 1, {"objective": "logistic"}),
    "megan_wgan": ("megan", 16, {"objective": "wasserstein"}),
}
DESCRIPTIONS = {
    "megan": "MEGAN-16, its own objective (non-saturating, n_critic 5)",
    "megan_nc1": "MEGAN-16, non-saturating, n_critic 1",
    "fc_logistic": "FC, MEGAN's objective (non-saturating, n_critic 5)",
    "megan_wgan": "MEGAN-16, WGAN-GP (lambda 10, n_critic 5)",
}
FLAGS = flags.FLAGS
flags.DEFINE_list("cases", list(CASES), f"cases, of {list(CASES)}")
# (--seed comes with the architecture module: the seed of every run.)
flags.DEFINE_integer("iterations", 200, "generator iterations per case")
flags.DEFINE_integer("every", 10, "iterations between two probes")
flags.DEFINE_integer("batch", 64, "batch size")
flags.DEFINE_integer("threads", 1, "intra-op threads (0: TensorFlow's)")
flags.DEFINE_string("collapse_out", "Results/megan_collapse",
                    "run folders and one JSON file per case")

DATASET = "mnist_bundled"


def image_stats(x):
    """Mean pixel, share of black-saturated pixels, per-pixel spread over
    the images, for a batch ``x`` in [-1, 1]."""
    import numpy as np
    x = np.asarray(x, np.float64)
    return {"mean": float(x.mean()), "saturated": float((x < -0.99).mean()),
            "spread": float(x.std(axis=0).mean())}


def run_case(case):
    import keras

    from deep_learning.engine import training
    from deep_learning.models.mixture_gans import mixture_gan
    from experiment_spec.recipes import networks_from_dicts
    from deep_learning.engine.schedules import make_adam
    from general_tools.atomic_io import write_bytes_atomic
    from general_tools.data import load_dataset

    path = os.path.join(FLAGS.collapse_out, f"{case}.json")
    if os.path.exists(path):
        with open(path) as f:
            print(f"{case}: read {path}")
            return json.load(f)
    model, k, overrides = CASES[case]
    rows = []
    real = real_images("train")

    class Probe(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            step = int(self.model.step.numpy())
            if step % FLAGS.every and step not in (1, FLAGS.iterations):
                return
            fake = self.model.sample(256, seed=1)
            rows.append({"step": step, **image_stats(fake),
                         **critic_stats(self.model.discriminator, real, fake)})
            print(json.dumps(rows[-1]), flush=True)

    def build():
        g, d = networks_from_dicts(model, k, arch.B_S, arch.D, arch.H_SHAPE)
        gan = mixture_gan(model, g, d, k, latent_dim=100, seed=FLAGS.seed,
                          **overrides)
        gan.compile(make_adam(1e-4, amsgrad=True),
                    make_adam(1e-4, amsgrad=True))
        return gan

    data = load_dataset(DATASET, split="train", image_size=32,
                        seed=FLAGS.seed, deterministic=True, repeat=True)
    run = training.train(
        build, data, steps=FLAGS.iterations, batch_size=FLAGS.batch,
        seed=FLAGS.seed, run_dir=os.path.join(FLAGS.collapse_out, "runs", case),
        resume=False, callbacks=[Probe()], verbose=0,
        config={"script": "my_test_megan_collapse", "case": case})
    result = {"case": case, "description": DESCRIPTIONS[case],
              "model": model, "k": k, "overrides": overrides,
              "batch": FLAGS.batch, "seed": FLAGS.seed, "steps": run.step,
              "stopped": run.stop_message, "probes": rows}
    write_bytes_atomic(path, (json.dumps(result, indent=2) + "\n").encode())
    return result


def critic_stats(discriminator, real, fake):
    """Mean critic scores of real and generated images, the share the
    critic gets right (score > 0 for real, < 0 for fake) and the
    non-saturating generator loss ``mean softplus(-D(G(z)))``."""
    import numpy as np
    d_real = np.asarray(discriminator(real, training=False), np.float64)
    d_fake = np.asarray(discriminator(fake, training=False), np.float64)
    return {"d_real": float(d_real.mean()), "d_fake": float(d_fake.mean()),
            "d_right": float(((d_real > 0).mean() + (d_fake < 0).mean()) / 2),
            "g_ns_loss": float(np.logaddexp(0.0, -d_fake).mean())}


def real_images(split, n=256):
    """``n`` bundled digits of ``split`` (the same ones at every call)."""
    from general_tools.data import load_dataset
    images = load_dataset(DATASET, split=split, image_size=32, seed=0,
                          deterministic=True).batch(n).take(1)
    return next(iter(images))


def main(argv):
    del argv
    unknown = sorted(set(FLAGS.cases) - set(CASES))
    if unknown:
        raise ValueError(f"unknown --cases {unknown}; known: {list(CASES)}")
    from deep_learning.experiments.study import limit_threads
    limit_threads(FLAGS.threads)
    results = [run_case(case) for case in FLAGS.cases]
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


if __name__ == "__main__":
    app.run(main)

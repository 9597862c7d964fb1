"""
Title: WGAN-GP with the DCGAN generator on bundled MNIST 32x32
Date: 2025-11-23
Purpose: the smallest real training run of mixgan -- the HMoG paper's FC
    baseline (Linear 100 -> 4096, ReLU, then the shared block B_s:
    ConvT 256 -> 128 -> 64 -> 1, k4 s2, tanh) against its layer-norm critic
    (conv 64-128-256 k4 s2, leaky ReLU 0.2, dense 1), trained with WGAN-GP
    (lambda 10, n_critic 5) and Adam-amsgrad 1e-4 (beta_1 0.5) on the MNIST
    images bundled in datasets/mnist (no download), on a CPU.
Paper: A. Ahmetoglu and E. Alpaydin, "Hierarchical Mixtures of Generators
    for Adversarial Learning", ICPR 2020 (arXiv:1911.02069); WGAN-GP:
    Gulrajani et al., NeurIPS 2017.

The authors train 250 epochs of 60k images (23,250 generator steps, batch
128); CONFIG's default is a short CPU run with the same model and optimiser.
Everything lands in Results/<run name>/ (config.json, checkpoints, TensorBoard
logs, sample grids); running the script again resumes from the newest
checkpoint, and `--steps` extends the run.

    python my_tests/my_test_dcgan_mnist.py --steps 300
    tensorboard --logdir Results
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from deep_learning.models.mixture_gans import make_mixture_gan  # noqa: E402
from deep_learning.engine.schedules import make_adam  # noqa: E402
from deep_learning.engine.training import train  # noqa: E402
from general_tools.data import load_dataset  # noqa: E402

CONFIG = {
    "dataset": "mnist_bundled",     # 8k training images of the bundled 10k
    "image_shape": [32, 32, 1],
    "generator": "fc",              # FC projection + B_s (HMoG paper)
    "latent_dim": 100,
    "gan_loss": "wasserstein",
    "gp_weight": 10.0,
    "n_critic": 5,
    "batch_size": 64,               # the paper: 128
    "lr_d": 1e-4,
    "lr_g": 1e-4,
    "beta_1": 0.5,
    "beta_2": 0.999,
    "amsgrad": True,
    "ema_decay": 0.999,
    "steps": 300,                   # generator steps
    "steps_per_epoch": 50,
    "jit_compile": True,            # XLA: faster on CPU after ~1 min compile
    "seed": 0,
    "results_root": "Results",
    "checkpoint_every": 100,
    "scalar_every": 10,
    "image_every": 50,
}


def build_model(config):
    """The compiled WGAN-GP model of ``config``."""
    gan = make_mixture_gan(
        config["generator"], k=1, image_shape=tuple(config["image_shape"]),
        latent_dim=config["latent_dim"], seed=config["seed"],
        gan_loss=config["gan_loss"], gp_weight=config["gp_weight"],
        n_critic=config["n_critic"], ema_decay=config["ema_decay"])
    optimizers = [make_adam(config[lr], beta_1=config["beta_1"],
                            beta_2=config["beta_2"],
                            amsgrad=config["amsgrad"])
                  for lr in ("lr_d", "lr_g")]
    gan.compile(*optimizers, jit_compile=config["jit_compile"])
    return gan


def main(argv=None):
    parser = argparse.ArgumentParser(description="WGAN-GP on bundled MNIST")
    parser.add_argument("--steps", type=int, default=CONFIG["steps"],
                        help="total generator steps of the run")
    parser.add_argument("--root", default=CONFIG["results_root"],
                        help="parent folder of the run folders")
    args = parser.parse_args(argv)
    config = dict(CONFIG, steps=args.steps, results_root=args.root)

    images = load_dataset(config["dataset"], seed=config["seed"])
    result = train(
        lambda: build_model(config), images, steps=config["steps"],
        config={k: v for k, v in config.items() if k != "steps"},
        root=config["results_root"], model_tag="dcgan",
        batch_size=config["batch_size"],
        steps_per_epoch=config["steps_per_epoch"], seed=config["seed"],
        callback_options=dict(checkpoint_every=config["checkpoint_every"],
                              scalar_every=config["scalar_every"],
                              image_every=config["image_every"],
                              num_images=64))
    logs = {k: round(float(v[-1]), 4)
            for k, v in result.history.history.items()}
    print(f"run folder: {result.paths.root}")
    print(f"generator steps: {result.step}; last epoch: {logs}")
    if result.stop_message:
        print(result.stop_message)
    return result


if __name__ == "__main__":
    main()

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
128); the default here is a short CPU run with the same model and optimiser.
Everything lands in <--out>/<run name>/ (config.json, model.json,
generator.keras, checkpoints, TensorBoard logs, sample grids); running the
script again resumes from the newest checkpoint, and `--steps` extends the
run. The script uses the engine directly: it is the smallest example of
`deep_learning.training.train`.

    python my_tests/my_test_dcgan_mnist.py --steps 300
    tensorboard --logdir Results
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from experiment_spec import cli  # noqa: E402
from experiment_spec.flags import ExperimentParser  # noqa: E402

CONFIG = {
    "dataset": "mnist_bundled",     # 8k training images of the bundled 10k
    "image_shape": [32, 32, 1],
    "generator": "fc",              # FC projection + B_s (HMoG paper)
    "latent_dim": 100,
    "gan_loss": "wasserstein",
    "gp_weight": 10.0,
    "n_critic": 5,
    "lr_d": 1e-4,
    "lr_g": 1e-4,
    "beta_1": 0.5,
    "beta_2": 0.999,
    "amsgrad": True,
    "ema_decay": 0.999,
    "steps_per_epoch": 50,
    "checkpoint_every": 100,
}

PARSER = ExperimentParser(__doc__, defaults={
    "steps": 300, "batch_size": 64, "jit": True, "scalar_every": 10,
    "image_every": 50}, paper_steps=23_250)


def build_model(config, seed, jit):
    """The compiled WGAN-GP model of ``config``."""
    from deep_learning.mixture_gans import make_mixture_gan
    from deep_learning.schedules import make_adam
    gan = make_mixture_gan(
        config["generator"], k=1, image_shape=tuple(config["image_shape"]),
        latent_dim=config["latent_dim"], seed=seed,
        gan_loss=config["gan_loss"], gp_weight=config["gp_weight"],
        n_critic=config["n_critic"], ema_decay=config["ema_decay"])
    optimizers = [make_adam(config[lr], beta_1=config["beta_1"],
                            beta_2=config["beta_2"],
                            amsgrad=config["amsgrad"])
                  for lr in ("lr_d", "lr_g")]
    gan.compile(*optimizers, jit_compile=jit)
    return gan


def main(argv=None):
    args = PARSER.parse(argv)
    PARSER.announce(args.steps)
    from deep_learning.experiments.common import (exit_status, make_strategy,
                                                 report_run)
    from deep_learning.training import train
    from general_tools.data import load_dataset
    strategy = make_strategy(args.strategy)  # before any other TF work
    images = load_dataset(CONFIG["dataset"], seed=args.seed,
                          data_dir=args.data_dir)
    result = train(
        lambda: build_model(CONFIG, args.seed, args.jit), images,
        steps=args.steps, config=CONFIG, root=args.out,
        batch_size=args.batch_size, precision=args.precision,
        steps_per_epoch=CONFIG["steps_per_epoch"], seed=args.seed,
        strategy=strategy,
        callback_options=dict(checkpoint_every=CONFIG["checkpoint_every"],
                              scalar_every=args.scalar_every,
                              image_every=args.image_every, num_images=64))
    report_run(result)
    return exit_status(result)


if __name__ == "__main__":
    sys.exit(cli.run(main))

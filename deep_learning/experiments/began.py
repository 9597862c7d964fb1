"""Runner of the ``my_tests/my_test_began_*`` scripts: BEGAN (Berthelot,
Schumm & Metz 2017) trained with the engine from an architecture dict, with
the k_t control, one of three learning-rate policies and the auto-encoder's
reconstruction panels."""

from __future__ import annotations

from deep_learning.engine import training
from deep_learning.engine.callbacks import ImageSummary
from deep_learning.engine.schedules import StepDecay, make_adam
from deep_learning.experiments.common import make_strategy, report_run
from deep_learning.models import began, began_networks
from general_tools.data import load_dataset

__all__ = ["LR_POLICIES", "LATENTS", "build_specs", "train_began"]

#: ``plateau``: halve when M_global stops improving (the paper); ``step``:
#: halve every ``decay_steps`` (carpedm20); ``constant``: never.
LR_POLICIES = ("plateau", "step", "constant")
#: z ~ U[-1, 1] (the paper) or N(0, I).
LATENTS = ("uniform", "normal")


def build_specs(architecture):
    """The generator and discriminator specs of an architecture dict.

    Args:
        architecture: dict with ``input`` ``(H, W, C)`` (H = W, a power of
            two >= 8), ``hidden`` (n), ``embedding`` (N_h), ``repeats``,
            ``skip``, ``downsample`` and ``out_act``; see
            ``deep_learning.models.began_networks``.

    Returns:
        ``(generator spec, discriminator spec)``: the decoder, and the
        encoder-decoder auto-encoder.
    """
    size, _, channels = architecture["input"]
    gen = began_networks.began_generator(
        size, architecture["hidden"], channels, architecture["repeats"],
        architecture["skip"], architecture["out_act"])
    dis = began_networks.began_autoencoder(
        size, architecture["hidden"], architecture["embedding"], channels,
        architecture["repeats"], architecture["skip"],
        architecture["downsample"], architecture["out_act"])
    return gen, dis


def train_began(architecture, *, dataset, steps, batch_size=16, lr=1e-4,
                gamma=0.5, lambda_k=0.001, eta=1.0, beta_1=0.9,
                beta_2=0.999, lr_policy="plateau", plateau_patience=5,
                min_lr=2e-5, decay_steps=100_000, steps_per_epoch=1000,
                checkpoint_every=5000, scalar_every=100, image_every=2500,
                latent="uniform", data_dir=None, root="Results", seed=0,
                precision="float32", jit=False, num_images=16,
                strategy="default", verbose=1):
    """Trains BEGAN with the engine and prints where the run is.

    One forward pass of the auto-encoder D on real and generated images per
    step; D minimises ``L(x) - k_t L(G(z))``, G minimises ``L(G(z))``, and
    ``k_t`` moves by ``lambda_k (gamma L(x) - L(G(z)))`` (see
    ``deep_learning.models.began``). D and G have one Adam each at the same
    learning rate. ``training.train`` names the run folder under ``root``
    (model tag ``began-g<gamma>``, so that runs of
    several gammas sit side by side) and resumes it if it exists; ``config.json``
    holds ``architecture``, both specs and the settings below. Besides the
    engine's scalars and samples, the run gets the
    ``began/real_reconstruction`` and ``began/fake_reconstruction`` panels
    every ``image_every`` steps (inputs in the top row, D's reconstructions
    below; the first ``num_images`` training images in stored order and a
    fixed z), in its ``logs/`` and as PNGs in ``samples/``.

    Args:
        architecture: dict. See :func:`build_specs`, plus ``code`` (N_z).
        dataset: str. ``general_tools.data.load_dataset`` name; its channels
            must be the architecture's.
        steps: int. Generator steps.
        batch_size: int. Defaults to 16 (the paper).
        lr: float. Initial learning rate of D and G. Defaults to 1e-4.
        gamma: float in [0, 1]. Diversity ratio. Defaults to 0.5.
        lambda_k: float >= 0. Gain of the k update. Defaults to 0.001.
        eta: float > 0. Exponent of the auto-encoder loss. Defaults to 1
            (L1).
        beta_1, beta_2: floats in [0, 1). Adam's decays. Default to 0.9 and
            0.999.
        lr_policy: one of :data:`LR_POLICIES`. Defaults to ``'plateau'``.
        plateau_patience: int. Epochs without a lower M_global before a
            halving (``'plateau'``). Defaults to 5.
        min_lr: float. Learning-rate floor of both policies. Defaults to
            2e-5 (carpedm20).
        decay_steps: int. Halving period of ``'step'``. Defaults to 100,000.
        steps_per_epoch: int. Generator steps per epoch, i.e. per plateau
            check. Defaults to 1000.
        checkpoint_every, scalar_every: ints. Checkpoint and scalar periods.
        image_every: int. Sample and reconstruction-panel period; 0 writes
            none. Defaults to 2500.
        latent: one of :data:`LATENTS`. Defaults to ``'uniform'``.
        data_dir: str or None. Data folder. Defaults to None.
        root: str. Parent folder of the run folder. Defaults to
            ``'Results'``.
        seed, precision, verbose: see ``training.train``.
        jit: bool. XLA-compile the train step. Defaults to False.
        strategy: a ``tf.distribute`` strategy or its ``--strategy`` name
            (``experiments.common.make_strategy``). Defaults to
            ``'default'``.
        num_images: int. Images per panel row. Defaults to 16.

    Returns:
        the ``training.TrainResult``.
    """
    if lr_policy not in LR_POLICIES:
        raise ValueError(f"`lr_policy` must be one of {LR_POLICIES}. "
                         f"Received: lr_policy={lr_policy!r}")
    strategy = make_strategy(strategy)
    height, width, channels = architecture["input"]
    gen_spec, dis_spec = build_specs(architecture)
    images = load_dataset(dataset, image_size=(height, width),
                          data_dir=data_dir, seed=seed, deterministic=True)
    if images.element_spec.shape[-1] != channels:
        raise ValueError(
            f"'{dataset}' has {images.element_spec.shape[-1]} channel(s); "
            f"the architecture expects {channels}.")

    def build():
        model = began.BEGAN(gen_spec, dis_spec, architecture["code"],
                            gamma=gamma, lambda_k=lambda_k, eta=eta,
                            latent=latent, seed=seed)
        if lr_policy == "step":  # a schedule per optimiser
            opts = [make_adam(None, beta_1=beta_1, beta_2=beta_2,
                              name=f"adam_{n}",
                              schedule=StepDecay(lr, decay_steps, 0.5,
                                                 min_lr))
                    for n in ("d", "g")]
        else:  # variables, which the plateau halving scales
            opts = [make_adam(lr, beta_1=beta_1, beta_2=beta_2,
                              name=f"adam_{n}") for n in ("d", "g")]
        model.compile(*opts, jit_compile=jit)
        return model

    options = {"checkpoint_every": checkpoint_every,
               "scalar_every": scalar_every, "image_every": image_every,
               "num_images": num_images}
    if lr_policy == "plateau":
        options["plateau"] = {"monitor": "began/m_global", "factor": 0.5,
                              "patience": plateau_patience,
                              "min_lr": min_lr}
    callbacks = []
    if image_every:
        callbacks.append(ImageSummary(
            None, _reconstruction_panels(dataset, (height, width), data_dir,
                                         num_images),
            every=image_every, rows=2))
    settings = {"dataset": dataset, "lr": lr, "gamma": gamma,
                "lambda_k": lambda_k, "eta": eta, "beta_1": beta_1,
                "beta_2": beta_2, "lr_policy": lr_policy,
                "plateau_patience": plateau_patience, "min_lr": min_lr,
                "decay_steps": decay_steps, "latent": latent}
    result = training.train(
        build, images, steps=steps, root=root,
        model_tag=f"began-g{gamma:g}",
        config={"architecture": architecture, "generator": gen_spec,
                "discriminator": dis_spec, "settings": settings},
        batch_size=batch_size, steps_per_epoch=steps_per_epoch, seed=seed,
        precision=precision, callback_options=options, callbacks=callbacks,
        strategy=strategy, verbose=verbose)
    return report_run(result)


def _reconstruction_panels(dataset, image_size, data_dir, num_images):
    """``panels_fn(model)`` of the reconstruction panels: the first
    ``num_images`` training images in stored order (a pipeline of their
    own, so the training data's order does not depend on it) and a fixed
    z drawn on the first call."""
    real = next(iter(load_dataset(
        dataset, image_size=image_size, data_dir=data_dir, shuffle=False,
        cache=False, batch_size=num_images))).numpy()
    z_fixed = []

    def panels(model):
        if not z_fixed:
            z_fixed.append(model.latent_codes(num_images, seed=1234))
        return began.began_image_panels(model, real, z_fixed[0])

    return panels

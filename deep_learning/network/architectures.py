"""Ready-made architecture specs (plain lists of layer dicts).

They are data, not code: every function returns a fresh list that
:func:`deep_learning.network.builder.build_network` turns into a model, and the
``my_tests`` scripts keep their own editable copy of the dict they run.

* ``mmd_generator`` / ``mmd_discriminator``: the repulsive MMD-GAN
  repository's DCGAN networks for CIFAR-10 (32x32), STL-10 (48x48) and
  CelebA / LSUN (64x64). D is spectrally normalised in every layer with the
  multiplier C = 64^(1/L) (L = number of D layers), leaky ReLU 0.1, and a
  16-dimensional score.
* ``dcgan_block``: the HMoG paper's shared generator block B_s, h -> image,
  and ``dcgan_discriminator``: its critic (conv k4 s2 -> norm -> lrelu 0.2,
  then dense 1).

Channels last everywhere (the repository used NCHW; shapes are transposed).
"""

from __future__ import annotations

_MMD_CONFIGS = {
    # dataset: (image size, G base channels at 4x4 / 6x6, G first-layer
    # activation+norm, number of tc stages, D widths)
    "cifar10": dict(size=32, g_base=512, g_start=4, g_bn_first=False,
                    g_tc=(256, 128, 64), d_widths=(64, 128, 128, 256, 256, 512,
                                                    512)),
    "stl10": dict(size=48, g_base=512, g_start=6, g_bn_first=True,
                  g_tc=(256, 128, 64), d_widths=(64, 128, 128, 256, 256, 512,
                                                  512)),
    "celeba": dict(size=64, g_base=1024, g_start=4, g_bn_first=True,
                   g_tc=(512, 256, 128, 64),
                   d_widths=(64, 128, 128, 256, 256, 512, 512, 1024, 1024)),
}
_MMD_CONFIGS["lsun"] = _MMD_CONFIGS["celeba"]


def _mmd_config(dataset):
    try:
        return _MMD_CONFIGS[dataset]
    except KeyError:
        raise ValueError(f"dataset must be one of {sorted(_MMD_CONFIGS)}. "
                         f"Received: dataset={dataset!r}") from None


def mmd_num_d_layers(dataset: str) -> int:
    """L, the number of D layers with weights (convs + the score layer)."""
    return len(_mmd_config(dataset)["d_widths"]) + 1


def mmd_multiplier(dataset: str) -> float:
    """The repository scripts' spectral-norm multiplier C = 64^(1/L)."""
    return 64.0 ** (1.0 / mmd_num_d_layers(dataset))


def mmd_generator(dataset: str = "cifar10", channels: int = 3) -> list[dict]:
    """The repulsive MMD-GAN repository's generator for ``dataset``.

    Args:
        dataset: str. ``'cifar10'``, ``'stl10'``, ``'celeba'`` or ``'lsun'``.
        channels: int. Image channels. Defaults to 3.
    """
    cfg = _mmd_config(dataset)
    s, base = cfg["g_start"], cfg["g_base"]
    first = {"name": "l1", "op": "d", "out": s * s * base,
             "out_reshape": [s, s, base]}
    if cfg["g_bn_first"]:
        first.update(act="relu", act_nm="bn")
    spec = [first]
    for i, width in enumerate(cfg["g_tc"]):
        spec.append({"name": f"l{i + 2}_up", "op": "tc", "out": width,
                     "kernel": 4, "strides": 2, "act": "relu", "act_nm": "bn"})
    spec.append({"name": f"l{len(spec) + 1}_t{cfg['size']}", "op": "c",
                 "out": channels, "kernel": 3, "act": "tanh"})
    return spec


def mmd_discriminator(dataset: str = "cifar10", score_dim: int = 16,
                      multiplier: float | None = None,
                      sn_mode: str | None = None) -> list[dict]:
    """The repulsive MMD-GAN repository's spectrally normalised D.

    Args:
        dataset: str. ``'cifar10'``, ``'stl10'``, ``'celeba'`` or ``'lsun'``.
        score_dim: int. Output dimension of the score. Defaults to 16.
        multiplier: float. Spectral-norm multiplier C (``act_k``). Defaults
            to the scripts' 64^(1/L); the paper's main text used 1.82.
        sn_mode: str. Per-layer spectral-norm mode, or None to take
            ``build_network``'s default (``'conv'``).
    """
    cfg = _mmd_config(dataset)
    c = mmd_multiplier(dataset) if multiplier is None else float(multiplier)
    sn = {"w_nm": "s", "act_k": c}
    if sn_mode is not None:
        sn["sn_mode"] = sn_mode
    spec, size = [], cfg["size"]
    for i, width in enumerate(cfg["d_widths"]):
        downsample = i % 2 == 1
        layer = {"name": f"l{i + 1}" + ("_ds" if downsample else ""),
                 "op": "c", "out": width, "kernel": 4 if downsample else 3,
                 "strides": 2 if downsample else 1,
                 "act": ["lrelu", 0.1], **sn}
        if downsample:
            size //= 2
        spec.append(layer)
    spec[-1]["out_reshape"] = [size * size * cfg["d_widths"][-1]]
    spec.append({"name": f"l{len(spec) + 1}_s", "op": "d", "out": score_dim,
                 **sn})
    return spec


def dcgan_block(widths=(128, 64), channels: int = 1, start=(4, 4, 256),
                act_nm=None, nm_pos="before", out_act="tanh") -> list[dict]:
    """The HMoG paper's shared DCGAN block B_s: h -> image.

    ``h`` (a flat vector of ``prod(start)`` values) is reshaped to ``start``
    and passed through transposed convolutions k4 s2 ('same' = PyTorch's
    padding 1) with ReLU, then a last k4 s2 transposed conv to ``channels``
    and ``out_act``. Weights and biases from N(0, 0.02) as in the authors'
    code. The 32x32 configuration (widths 128, 64 from 256x4x4) has 656,577
    parameters.

    Args:
        widths: sequence of int. Hidden transposed-conv widths.
        channels: int. Image channels.
        start: (H, W, C) shape h is reshaped to.
        act_nm: normalisation of hidden layers (None for the WGAN-GP models,
            'bn' for MADGAN/MGAN).
        nm_pos: 'before' or 'after' the ReLU ('after' in the authors'
            MADGAN/MGAN ``ConvBlock``).
        out_act: str. Output activation. Defaults to 'tanh'.
    """
    spec = []
    for i, width in enumerate(widths):
        layer = {"name": f"bs{i + 1}_up", "op": "tc", "out": width,
                 "kernel": 4, "strides": 2, "act": "relu", "init": "dcgan",
                 "bias": True}
        if act_nm:
            layer.update(act_nm=act_nm, nm_pos=nm_pos)
        spec.append(layer)
    spec[0]["in_reshape"] = list(start)
    spec.append({"name": f"bs{len(widths) + 1}_out", "op": "tc",
                 "out": channels, "kernel": 4, "strides": 2, "act": out_act,
                 "init": "dcgan"})
    return spec


def dcgan_discriminator(widths=(64, 128, 256), act_nm="ln", nm_pos="before",
                        outputs: int = 1) -> list[dict]:
    """The HMoG paper's discriminator: conv k4 s2 -> norm -> lrelu(0.2) per
    width, flatten, dense to ``outputs`` (1 for WGAN-GP / NS-GAN, K+1 for
    MADGAN). Layer norm over (H, W, C) with per-element affine parameters for
    the WGAN-GP models; batch norm after the activation for MADGAN/MGAN
    (``act_nm='bn', nm_pos='after'``)."""
    spec = []
    for i, width in enumerate(widths):
        layer = {"name": f"d{i + 1}_ds", "op": "c", "out": width, "kernel": 4,
                 "strides": 2, "act": ["lrelu", 0.2], "init": "dcgan",
                 "bias": True}
        if act_nm:
            layer.update(act_nm=act_nm, nm_pos=nm_pos)
        spec.append(layer)
    spec[-1]["out_reshape"] = [-1]
    spec.append({"name": "d_out", "op": "d", "out": outputs, "init": "dcgan"})
    return spec

"""MMD-GAN with the repulsive loss: model, settings, scripts."""

import importlib.util
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from deep_learning.network import architectures as arch
from deep_learning.experiments.mmd import run_mmd_experiment
from deep_learning.models import mmd_gan
from general_tools.spectral_norm import spectral_norm_sigmas

ROOT = pathlib.Path(__file__).parents[1]


def np_rep_loss(s_real, s_fake):
    """Repulsive loss with a unit-bandwidth Gaussian kernel; means over
    i != j for all three terms (the repository's convention)."""
    def mean_k(a, b):
        d = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
        k = np.exp(-d / 2.0)
        n = len(a)
        return (k.sum() - np.trace(k)) / (n * (n - 1))
    kxx, kyy, kxy = (mean_k(s_fake, s_fake), mean_k(s_real, s_real),
                     mean_k(s_fake, s_real))
    return kyy - kxx, kxx + kyy - 2 * kxy, (kxx, kyy, kxy)


G_SPEC = [{"op": "d", "out": 4 * 4 * 4, "out_reshape": [4, 4, 4]},
          {"op": "tc", "out": 2, "kernel": 4, "strides": 2, "act": "tanh"}]


def d_spec(sn=True):
    extra = {"w_nm": "s", "act_k": 1.5} if sn else {}
    return [{"op": "c", "out": 4, "kernel": 4, "strides": 2,
             "act": ["lrelu", 0.1], "out_reshape": [-1], **extra},
            {"op": "d", "out": 3, **extra}]


class CountingMMDGAN(mmd_gan.MMDGAN):
    """Counts discriminator forward passes (eager mode)."""

    calls = 0

    def discriminator_scores(self, x, training=False):
        CountingMMDGAN.calls += 1
        return super().discriminator_scores(x, training)


def tiny(gan_loss="rep", sn=True, cls=mmd_gan.MMDGAN):
    model = cls(G_SPEC, d_spec(sn), latent_dim=6, gan_loss=gan_loss, seed=1)
    model.compile(*mmd_gan.make_mmd_optimizers(lr_d=1e-3, lr_g=1e-3),
                  run_eagerly=True)
    return model


def test_simultaneous_update_one_forward_pass(rng):
    model = tiny(cls=CountingMMDGAN)
    x = tf.constant(rng.uniform(-1, 1, size=(5, 8, 8, 2)), tf.float32)
    for step in (1, 2):
        CountingMMDGAN.calls = 0
        model.train_on_batch(x)
        assert CountingMMDGAN.calls == 1
        assert int(model.d_optimizer.iterations) == step
        assert int(model.g_optimizer.iterations) == step
    assert int(model.step) == 2


def test_step_losses_match_numpy(rng):
    model = tiny(sn=False)
    x = rng.uniform(-1, 1, size=(6, 8, 8, 2)).astype("float32")
    z = model.sample_latent(6, model._seed(0, 0), training=True)
    fake = model.generator(z, training=True).numpy()
    scores = model.discriminator(np.concatenate([x, fake])).numpy()
    loss_d, loss_g, (kxx, kyy, kxy) = np_rep_loss(scores[:6], scores[6:])
    logs = model.train_on_batch(tf.constant(x), return_dict=True)
    assert logs["loss/d"] == pytest.approx(loss_d, rel=1e-4, abs=1e-6)
    assert logs["loss/g"] == pytest.approx(loss_g, rel=1e-4, abs=1e-6)
    for key, value in (("kxx", kxx), ("kyy", kyy), ("kxy", kxy)):
        assert logs[f"rep/{key}"] == pytest.approx(value, rel=1e-4)


@pytest.mark.parametrize("loss", mmd_gan.MMD_LOSSES)
def test_every_loss_trains(loss, rng):
    model = tiny(loss)
    x = tf.constant(rng.uniform(-1, 1, size=(4, 8, 8, 2)), tf.float32)
    logs = model.train_on_batch(x, return_dict=True)
    assert np.isfinite(logs["loss/d"]) and np.isfinite(logs["loss/g"])
    if loss in ("rep", "rmb", "mmd"):
        assert {f"{loss}/kxx", f"{loss}/kyy", f"{loss}/kxy"} <= set(logs)
    # one sigma per spectrally normalised layer, for TensorBoard
    assert len(spectral_norm_sigmas(model.discriminator)) == 2


def test_for_dataset_cifar():
    model = mmd_gan.MMDGAN.for_dataset("cifar10", gan_loss="rmb")
    assert model.image_shape == (32, 32, 3)
    assert model.score_shape == (16,)
    assert (model.update, model.d_joint_forward) == ("simultaneous", True)
    layers = [layer for layer in model.discriminator._flatten_layers()
              if type(layer).__name__ == "SpectralNormalization"]
    assert len(layers) == 8  # every D layer, L = 8
    assert all(layer.multiplier == pytest.approx(64 ** (1 / 8))
               for layer in layers)


def test_multipliers_and_learning_rates():
    assert mmd_gan.mmd_multiplier_for("celeba") == pytest.approx(
        64 ** (1 / 10))
    assert mmd_gan.mmd_multiplier_for("lsun", "paper") == 1.82
    assert mmd_gan.mmd_multiplier_for("stl10", 2.0) == 2.0
    with pytest.raises(ValueError, match="multiplier"):
        mmd_gan.mmd_multiplier_for("stl10", "big")
    with pytest.raises(ValueError, match="dataset"):
        mmd_gan.mmd_multiplier_for("mnist")
    expected = {"cifar10": (5e-4, 2e-4), "stl10": (2e-4, 2e-4),
                "celeba": (1e-4, 2e-4), "lsun": (2e-4, 1e-4)}
    for dataset, (lr_d, lr_g) in expected.items():
        d_opt, g_opt = mmd_gan.make_mmd_optimizers(dataset)
        for opt, lr in ((d_opt, lr_d), (g_opt, lr_g)):
            assert float(opt.learning_rate) == pytest.approx(lr)
            assert (opt.beta_1, opt.beta_2) == (0.5, 0.999)


def test_fixed_update_mode():
    with pytest.raises(ValueError, match="update"):
        mmd_gan.MMDGAN(G_SPEC, d_spec(), 6, update="alternating")


def load_script(name):
    path = ROOT / "my_tests" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def normalise(spec):
    out = []
    for layer in spec:
        layer = {k: (list(v) if isinstance(v, tuple) else v)
                 for k, v in layer.items()}
        if "act_k" in layer:
            layer["act_k"] = round(layer["act_k"], 10)
        if layer["op"] in ("c", "tc"):  # the grammar's defaults
            layer.setdefault("kernel", 3)
            layer.setdefault("strides", 1)
        out.append(layer)
    return out


@pytest.mark.parametrize("script,dataset,size", [
    ("my_test_mmd_cifar", "cifar10", 32), ("my_test_mmd_stl", "stl10", 48),
    ("my_test_mmd_celeba", "celeba", 64), ("my_test_mmd_lsun", "lsun", 64)])
def test_script_dicts_are_the_repository_networks(script, dataset, size):
    module = load_script(script)
    a = module.ARCHITECTURE
    assert module.DATASET == dataset
    assert tuple(a["input"]) == (size, size, 3) and a["code"] == 128
    assert normalise(a["generator"]) == normalise(arch.mmd_generator(dataset))
    assert normalise(a["discriminator"]) == normalise(
        arch.mmd_discriminator(dataset))


def test_mmd_runner_smoke(tmp_path):
    """The scripts' runner on a tiny dict, grey digits tiled to RGB."""
    tiny_arch = {"input": (8, 8, 3), "code": 6,
                 "generator": [dict(G_SPEC[0]), {**G_SPEC[1], "out": 3}],
                 "discriminator": d_spec()}
    result = run_mmd_experiment(
        tiny_arch, dataset="cifar10", data_name="mnist_bundled", steps=2,
        batch_size=4, gan_loss="rmb", multiplier="paper",
        run_dir=str(tmp_path / "run"), steps_per_epoch=2, image_every=2,
        verbose=0)
    assert result.step == 2 and result.stop_message is None
    assert np.isfinite(result.history.history["rmb/kxy"]).all()
    sn = [layer for layer in result.model.discriminator._flatten_layers()
          if type(layer).__name__ == "SpectralNormalization"]
    assert [layer.multiplier for layer in sn] == [1.82, 1.82]
    config = (tmp_path / "run" / "config.json").read_text()
    assert '"lr_d": 0.0005' in config and '"multiplier": "paper"' in config

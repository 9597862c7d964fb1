"""MMD-GAN with the repulsive loss: model, settings, scripts, the MNIST
loss comparison."""

import importlib.util
import json
import pathlib
import subprocess
import sys
import types

import numpy as np
import pytest
import tensorflow as tf

from deep_learning.experiments import mmd_study, study
from deep_learning.experiments.mmd import run_mmd_experiment
from deep_learning.models import mmd_gan
from deep_learning.network import architectures as arch
from experiment_spec import cli
from experiment_spec import mmd as mmd_spec
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


def test_mmd_runner_smoke(tmp_path, capsys):
    """The scripts' runner on a tiny dict, grey digits tiled to RGB; the
    engine names the run folder under ``root`` from the data used."""
    tiny_arch = {"input": (8, 8, 3), "code": 6,
                 "generator": [dict(G_SPEC[0]), {**G_SPEC[1], "out": 3}],
                 "discriminator": d_spec()}
    result = run_mmd_experiment(
        tiny_arch, dataset="cifar10", data_name="mnist_bundled", steps=2,
        batch_size=4, gan_loss="rmb", multiplier="paper",
        root=str(tmp_path), steps_per_epoch=2, image_every=2,
        config={"script": "test"}, verbose=0)
    assert result.step == 2 and result.stop_message is None
    assert np.isfinite(result.history.history["rmb/kxy"]).all()
    sn = [layer for layer in result.model.discriminator._flatten_layers()
          if type(layer).__name__ == "SpectralNormalization"]
    assert [layer.multiplier for layer in sn] == [1.82, 1.82]
    run = pathlib.Path(result.paths.root)
    assert run.parent == tmp_path
    assert run.name.startswith("mmd_cifar10_mnist_bundled_rmb")
    config = json.loads((run / "config.json").read_text())
    assert config["user"]["lr_d"] == 0.0005
    assert config["user"]["multiplier"] == "paper"
    assert config["user"]["script"] == "test"
    assert config["data"]["tiled_to_channels"] == 3
    assert f"run folder: {run} (step 2)" in capsys.readouterr().out


def test_script_settings_come_from_experiment_spec():
    """The model module and the scripts' flags share one set of settings,
    and every flag value is checked when parsed."""
    assert mmd_gan.DATASET_LR is mmd_spec.DATASET_LR
    assert mmd_gan.MMD_LOSSES is mmd_spec.MMD_LOSSES
    assert mmd_gan.PAPER_MULTIPLIER == mmd_spec.PAPER_MULTIPLIER == 1.82
    parser = mmd_spec.make_parser("doc", "lsun", prog="x")
    args = parser.parse([])
    assert (args.lr_d, args.lr_g) == (2e-4, 1e-4)
    assert (args.steps, args.batch_size, args.multiplier) == (
        100_000, 64, "scripts")
    assert args.dataset == "lsun/church_outdoor"
    assert parser.parse(["--multiplier", "2.5"]).multiplier == 2.5
    assert "(default: 0.0002)" in " ".join(parser.format_help().split())
    with pytest.raises(ValueError, match="dataset"):
        mmd_spec.make_parser("doc", "mnist")


def test_bad_multiplier_is_one_line_and_exit_2(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "my_tests" / "my_test_mmd_cifar.py"),
         "--multiplier", "foo"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == (
        "my_test_mmd_cifar.py: error: argument --multiplier: must be one of "
        "'scripts', 'paper' or a number > 0; received 'foo' (see --help)\n")
    assert list(tmp_path.iterdir()) == []


def test_dataset_script_passes_its_flags_to_the_runner(monkeypatch,
                                                       tmp_path, capsys):
    """``main`` hands every flag to the runner by name and exits 1 when the
    run stopped on a non-finite value."""
    module = load_script("my_test_mmd_stl")
    calls = []

    def fake(architecture, **kwargs):
        calls.append((architecture, kwargs))
        return types.SimpleNamespace(stop_message="loss/d is NaN at step 3")

    monkeypatch.setattr("deep_learning.experiments.mmd.run_mmd_experiment",
                        fake)
    status = module.main(["--loss", "rmb", "--multiplier", "paper",
                          "--out", str(tmp_path), "--seed", "3",
                          "--lr_g", "1e-3", "--sn_mode", "matrix",
                          "--image_every", "0"])
    assert status == 1
    (architecture, kwargs), = calls
    assert architecture is module.ARCHITECTURE
    assert kwargs == dict(
        dataset="stl10", steps=100_000, data_name="stl10", data_dir=None,
        batch_size=64, gan_loss="rmb", lr_d=2e-4, lr_g=1e-3,
        multiplier="paper", sn_mode="matrix", seed=3, root=str(tmp_path),
        precision="float32", jit=False, steps_per_epoch=500,
        checkpoint_every=5000, scalar_every=100, image_every=0,
        strategy="default", config={"script": "my_test_mmd_stl"})
    assert "planned 100,000 generator steps" in capsys.readouterr().out


# ---- the MNIST loss comparison (my_test_mmd_mnist.py) -----------------------

PUBLISHED_SCORES = ROOT / "docs" / "results" / "mmd_mnist_scores"
PUBLISHED_RUNS = [f"{loss}_s{seed}" for seed in (0, 1, 2)
                  for loss in ("rep", "rmb", "mmd", "hinge")]


def test_mmd_report_reads_the_scores_folder(tmp_path, capsys):
    out = tmp_path / "out"
    scores = out / "scores"
    scores.mkdir(parents=True)

    def record(loss, seed, fid=None, knn=0.9):
        row = {"loss": loss, "seed": seed, "wall_s": 100.0 + seed,
               "g_params": 7, "steps": 300,
               "scores": {} if fid is None else {
                   "fid": fid, "knn_accuracy": knn,
                   "knn_real_fraction": knn - 0.1,
                   "knn_fake_fraction": knn + 0.05}}
        if fid is None:
            row["stopped"] = "non-finite loss"
        (scores / f"{loss}_s{seed}.json").write_text(json.dumps(row))
    record("rmb", 0, fid=20.0)
    record("rep", 1, fid=50.0, knn=0.96)
    record("rep", 0, fid=30.0, knn=0.92)
    record("rep", 2)  # stopped on a non-finite loss
    module = load_script("my_test_mmd_mnist")
    status = cli.run(module.main, ["--report", "--out", str(out)])
    assert status == 0
    table = json.loads((out / "mmd_mnist.json").read_text())
    assert [e["loss"] for e in table] == ["rep", "rmb"]  # --losses order
    rep = table[0]
    assert (rep["n"], rep["diverged"]) == (3, 1)
    np.testing.assert_allclose(rep["fid"], [40.0, 10.0])
    np.testing.assert_allclose(rep["knn_accuracy"], [0.94, 0.02])
    assert rep["fid_per_seed"] == {"0": 30.0, "1": 50.0, "2": None}
    stdout = capsys.readouterr().out
    rows = [line for line in stdout.splitlines() if line.startswith("| rep")]
    assert rows == ["| rep | 40.0 ± 10.0 | 30.0, 50.0, NaN | 0.940 ± 0.020 | "
                    "0.840 ± 0.020 | 0.990 ± 0.020 | 1/3 | 101 |"]
    assert sorted(p.name for p in out.iterdir()) == ["mmd_mnist.json",
                                                     "scores"]


def test_mmd_study_refuses_scores_of_other_settings(tmp_path, capsys):
    """``--steps 20`` over a scores folder holding the 300-step run: the
    grid stops before anything trains, names the file and leaves it as it
    was."""
    out = tmp_path / "out"
    (out / "scores").mkdir(parents=True)
    path = out / "scores" / "rep_s0.json"
    path.write_bytes((PUBLISHED_SCORES / "rep_s0.json").read_bytes())
    before = path.read_bytes()
    module = load_script("my_test_mmd_mnist")
    status = cli.run(module.main, [
        "--out", str(out), "--steps", "20", "--seed", "0",
        "--losses", "rep,rmb", "--threads", "0"],
        prog="my_test_mmd_mnist.py")
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith(f"my_test_mmd_mnist.py: error: {path} holds the "
                          "scores of a run with other settings "
                          "(settings.steps: 300 -> 20)")
    assert "Use another --out" in err and len(err.splitlines()) == 1
    assert path.read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["scores"]
    assert [p.name for p in (out / "scores").iterdir()] == ["rep_s0.json"]


def test_published_scores_are_skipped_with_the_default_settings(capsys):
    """The committed score files hold the settings the script computes
    from its defaults: a rerun with ``--publish`` trains nothing."""
    module = load_script("my_test_mmd_mnist")
    args = module.PARSER.parse([])
    digest = study.architecture_digest(module.ARCHITECTURE)
    assert sorted(p.stem for p in PUBLISHED_SCORES.glob("*.json")) == sorted(
        PUBLISHED_RUNS)
    for job in mmd_study.jobs(args.losses, args.seed):
        settings = mmd_study.settings_of(
            job, steps=args.steps, batch_size=args.batch_size,
            lr_d=module.LR_D, lr_g=module.LR_G, num=args.num,
            precision=args.precision, architecture=digest)
        path = PUBLISHED_SCORES / f"{job.name}.json"
        committed = json.loads(path.read_text())
        assert committed["settings"] == json.loads(json.dumps(
            settings, sort_keys=True))

        def train():
            raise AssertionError(f"{job.name} would be trained again")

        record = study.run_and_score(
            job.name, str(PUBLISHED_SCORES), train, settings=settings,
            metrics=mmd_study.METRICS, num=args.num, reference="unused")
        assert record == committed
    capsys.readouterr()
    assert cli.run(module.main, ["--publish", "--list"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{name}: done" for name in PUBLISHED_RUNS]
    other = mmd_study.status(job, str(PUBLISHED_SCORES),
                             {**settings, "num": 10})  # the last job
    assert other == "other settings: settings.num: 2000 -> 10"

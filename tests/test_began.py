"""BEGAN: losses, k_t control, M_global, networks, model and script."""

import importlib.util
import inspect
import json
import math
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from deep_learning.experiments import began as began_runner
from deep_learning.models import began, began_networks
from deep_learning.network.builder import build_network, count_params
from deep_learning.engine.callbacks import checkpoint_items
from deep_learning.engine.schedules import StepDecay, make_adam
from experiment_spec import cli
from general_tools import began_losses
from general_tools.losses import gan_loss

ROOT = pathlib.Path(__file__).parents[1]


def np_k_sequence(k0, real, fake, gamma, lambda_k, lo=0.0, hi=1.0):
    ks = [k0]
    for r, f in zip(real, fake):
        ks.append(float(np.clip(ks[-1] + lambda_k * (gamma * r - f), lo, hi)))
    return ks


# ----------------------------- pure maths ----------------------------------

@pytest.mark.parametrize("eta", [1, 2, 1.5])
def test_autoencoder_loss(rng, eta):
    x = rng.normal(size=(3, 4, 5, 2)).astype("float32")
    rec = rng.normal(size=x.shape).astype("float32")
    got = began_losses.autoencoder_loss(x, rec, eta=eta).numpy()
    expected = (np.abs(x - rec) ** eta).reshape(3, -1).mean(axis=1)
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_k_update_recurrence_and_clipping():
    real = [0.9, 0.8, 0.5, 0.2, 0.1]
    fake = [0.1, 0.2, 0.6, 0.05, 0.9]
    for k0, lam, lo, hi in [(0.0, 0.3, 0.0, 1.0), (0.95, 0.5, 0.0, 1.0),
                            (0.2, 0.4, 0.1, 0.3)]:
        expected = np_k_sequence(k0, real, fake, 0.5, lam, lo, hi)
        k = k0
        for i, (r, f) in enumerate(zip(real, fake)):
            k = float(began_losses.k_update(k, r, f, gamma=0.5, lambda_k=lam,
                                            k_min=lo, k_max=hi))
            assert k == pytest.approx(expected[i + 1], abs=1e-6)
    # the clip binds: k0 = 0.95 with a positive balance reaches 1
    assert np_k_sequence(0.95, real, fake, 0.5, 0.5)[1] == 1.0


def test_convergence_measure_and_balance():
    for r, f, g in [(0.4, 0.1, 0.5), (0.3, 0.4, 0.7), (1.0, 0.0, 0.0)]:
        bal = g * r - f
        assert float(began_losses.balance_term(r, f, g)) == pytest.approx(bal)
        assert float(began_losses.convergence_measure(r, f, g)) == \
            pytest.approx(r + abs(bal))


def test_registered_began_loss(rng):
    e_real = rng.uniform(0, 1, size=8).astype("float32")
    e_fake = rng.uniform(0, 1, size=8).astype("float32")
    loss_d, loss_g, m = gan_loss("began", e_real, e_fake, k=0.3, gamma=0.7)
    lr, lf = e_real.mean(), e_fake.mean()
    assert float(loss_d) == pytest.approx(lr - 0.3 * lf, rel=1e-5)
    assert float(loss_g) == pytest.approx(lf, rel=1e-5)
    assert float(m["balance"]) == pytest.approx(0.7 * lr - lf, rel=1e-5)
    assert float(m["m_global"]) == pytest.approx(lr + abs(0.7 * lr - lf),
                                                 rel=1e-5)
    with pytest.raises(ValueError, match="gamma"):
        gan_loss("began", e_real, e_fake, gamma=1.5)


def test_step_decay():
    s = StepDecay(8e-5, decay_steps=100, factor=0.5, minimum=2e-5)
    for step, lr in [(0, 8e-5), (99, 8e-5), (100, 4e-5), (250, 2e-5),
                     (1000, 2e-5)]:
        assert float(s(step)) == pytest.approx(lr)
    with pytest.raises(ValueError, match="decay_steps"):
        StepDecay(1e-4, decay_steps=0)


# ------------------------------ networks -----------------------------------

def conv(i, o):
    return 9 * i * o + o


def expected_params(size, n, nh, ch, repeats=2, skip=False):
    """Encoder + decoder of the paper / carpedm20, counted by hand."""
    stages = int(math.log2(size)) - 2
    enc, prev = conv(ch, n), n
    for i in range(1, stages + 1):
        for _ in range(repeats):
            enc += conv(prev, n * i)
            prev = n * i
        if i < stages:
            enc += conv(prev, n * i)  # stride-2 conv keeps the stage width
    enc += 64 * prev * nh + nh
    dec = nh * 64 * n + 64 * n + conv(n, ch)
    for i in range(stages):
        for j in range(repeats):
            dec += conv(2 * n if (skip and i > 0 and j == 0) else n, n)
    return enc, dec


@pytest.mark.parametrize("size,n,nh", [(16, 4, 8), (32, 6, 10)])
def test_autoencoder_spec_shapes_and_counts(size, n, nh):
    enc, dec = expected_params(size, n, nh, 3)
    d = build_network(began_networks.began_autoencoder(size, n, nh, 3), (size, size, 3))
    assert d.output_shape == (None, size, size, 3)
    assert count_params(d) == enc + dec
    stages = size.bit_length() - 3
    assert d.get_layer("enc_h_dense").input.shape[1:] == (8 * 8 * n * stages,)
    assert d.get_layer("enc_h_dense").output.shape[1:] == (nh,)
    g = build_network(began_networks.began_generator(size, n, 3), (nh,))
    assert count_params(g) == dec


def test_largest_model_count():
    """n = 128 at 128x128 (the paper's largest model) by the same formula:
    25.2M, not the 17.3M the paper is remembered to report (unverified)."""
    enc, dec = expected_params(128, 128, 64, 3)
    assert enc + 2 * dec == 25233222
    spec = began_networks.began_autoencoder(128, 128, 64, 3)
    assert sum(layer["op"] == "c" for layer in spec) == 1 + 5 * 2 + 4 + \
        5 * 2 + 1


def test_decoder_layer_matches_plain_spec(rng):
    plain = build_network(began_networks.began_decoder(16, 4, 2, prefix="p"), (6,))
    fused = build_network([{"op": "began_decoder", "out": 2, "hidden": 4,
                            "image_size": 16}], (6,))
    assert count_params(fused) == count_params(plain)
    fused.set_weights(plain.get_weights())
    h = rng.normal(size=(3, 6)).astype("float32")
    np.testing.assert_allclose(fused(h).numpy(), plain(h).numpy(), atol=1e-5)


def test_skip_connections(rng):
    spec = began_networks.began_generator(32, 4, 3, skip=True)
    assert spec[0]["op"] == "began_decoder" and spec[0]["skip"] is True
    g = build_network(spec, (6,))
    assert g.output_shape == (None, 32, 32, 3)
    assert count_params(g) == expected_params(32, 4, 6, 3, skip=True)[1]
    layer = g.layers[1]
    assert isinstance(layer, began_networks.BEGANDecoder)
    # stage 2's first conv sees [x, up(h0)]: zeroing the h0 half of its
    # kernel must change the output, i.e. h0 really reaches that stage.
    h = rng.normal(size=(2, 6)).astype("float32")
    before = g(h).numpy()
    kernel = layer.convs[2].kernel
    kernel.assign(tf.concat([kernel[:, :, :4], tf.zeros_like(
        kernel[:, :, 4:])], axis=2))
    assert not np.allclose(before, g(h).numpy())


def test_bad_sizes():
    for size in (12, 4):
        with pytest.raises(ValueError, match="power of two"):
            began_networks.began_stages(size)


# -------------------------------- model ------------------------------------

def tiny_began(size=16, **kwargs):
    model = began.BEGAN(began_networks.began_generator(size, 4, 1),
                        began_networks.began_autoencoder(size, 4, 8, 1), latent_dim=8,
                        seed=3, **kwargs)
    # Eager steps: tracing costs more than these tiny steps; the compiled
    # path runs in the script smoke test.
    model.compile(make_adam(1e-3), make_adam(1e-3), run_eagerly=True)
    return model


def test_train_steps_k_sequence_and_losses(rng):
    model = tiny_began(8, gamma=0.5, lambda_k=0.2)
    x = rng.uniform(-1, 1, size=(6, 8, 8, 1)).astype("float32")
    # Independent recomputation of the first step's losses.
    z = model.sample_latent(6, model._seed(0, 0), training=True)
    fake = model.generator(z).numpy()
    l_real = np.abs(x - model.discriminator(x).numpy()).mean()
    l_fake = np.abs(fake - model.discriminator(fake).numpy()).mean()
    ks, reals, fakes = [0.0], [], []
    for step in range(3):
        logs = model.train_on_batch(tf.constant(x), return_dict=True)
        if step == 0:
            assert logs["began/d_real"] == pytest.approx(l_real, rel=1e-4)
            assert logs["began/d_fake"] == pytest.approx(l_fake, rel=1e-4)
        reals.append(logs["began/d_real"])
        fakes.append(logs["began/d_fake"])
        # L_D uses k_t of this step, L_G = L(G(z)), M from the same pass
        assert logs["loss/d"] == pytest.approx(
            logs["began/d_real"] - ks[-1] * logs["began/d_fake"], rel=1e-4)
        assert logs["loss/g"] == pytest.approx(logs["began/d_fake"])
        assert logs["began/m_global"] == pytest.approx(
            logs["began/d_real"] + abs(0.5 * logs["began/d_real"]
                                       - logs["began/d_fake"]), rel=1e-4)
        ks.append(float(model.k_t.numpy()))
        assert logs["began/k"] == pytest.approx(ks[-1])
    expected = np_k_sequence(0.0, reals, fakes, 0.5, 0.2)
    np.testing.assert_allclose(ks, expected, atol=1e-6)
    assert ks[-1] > 0.0
    # both networks moved, once per step
    assert int(model.d_optimizer.iterations) == 3
    assert int(model.g_optimizer.iterations) == 3


def test_k_t_is_checkpointed(tmp_path):
    model = tiny_began(8, k_init=0.25)
    assert not model.k_t.trainable
    ckpt = tf.train.Checkpoint(**checkpoint_items(model))
    path = ckpt.save(str(tmp_path / "ckpt"))
    model.k_t.assign(0.9)
    ckpt.restore(path)
    assert float(model.k_t.numpy()) == pytest.approx(0.25)


def test_config_round_trip_and_errors():
    model = tiny_began(8, gamma=0.3, eta=2.0)
    clone = began.BEGAN.from_config(model.get_config())
    assert (clone.gamma, clone.eta, clone.lambda_k) == (0.3, 2.0, 0.001)
    with pytest.raises(ValueError, match="gamma"):
        tiny_began(gamma=1.5)
    with pytest.raises(ValueError, match="update"):
        began.BEGAN(began_networks.began_generator(16, 4, 1),
                    began_networks.began_autoencoder(16, 4, 8, 1), 8,
                    update="alternating")


def test_reconstruction_panels(rng):
    model = tiny_began(8)
    x = rng.uniform(-1, 1, size=(3, 8, 8, 1)).astype("float32")
    panels = began.began_image_panels(model, x, model.latent_codes(3, 0))
    real = panels["began/real_reconstruction"]
    assert real.shape == (6, 8, 8, 1)
    np.testing.assert_allclose(real[:3], x)
    np.testing.assert_allclose(
        real[3:], np.clip(model.discriminator(x).numpy(), -1, 1), atol=1e-6)


# ----------------------------- script smoke --------------------------------

def load_script(name):
    path = ROOT / "my_tests" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TINY = {"input": (8, 8, 1), "hidden": 4, "embedding": 8, "code": 8}


def test_began_mnist_script_writes_its_run_folder(tmp_path, monkeypatch,
                                                  capsys):
    """Three steps of the MNIST script through its ``main`` (a tiny 8x8
    architecture patched in): the engine names the folder, config.json
    holds the flags' values and the reconstruction panels land in
    samples/; another gamma gets a folder of its own, another lambda_k in
    the same folder is refused (exit 1)."""
    script = load_script("my_test_began_mnist")
    monkeypatch.setattr(script, "ARCHITECTURE",
                        {**script.ARCHITECTURE, **TINY})
    out = tmp_path / "out"
    argv = ["--dataset", "mnist_bundled", "--out", str(out), "--steps", "3",
            "--batch_size", "4", "--gamma", "0.7", "--lambda_k", "0.05",
            "--steps_per_epoch", "1", "--plateau_patience", "1",
            "--checkpoint_every", "3", "--scalar_every", "1",
            "--image_every", "2", "--seed", "3"]
    assert cli.run(script.main, argv) == 0
    runs = list(out.iterdir())
    assert len(runs) == 1 and runs[0].name.startswith("began-g0.7_mnist_bundled_")
    assert runs[0].name.endswith("_b4_s3")
    run = runs[0]
    assert f"run folder: {run} (step 3)" in capsys.readouterr().out
    config = json.loads((run / "config.json").read_text())
    assert config["user"]["settings"]["gamma"] == 0.7
    assert config["model"]["gamma"] == 0.7
    assert config["user"]["architecture"]["hidden"] == 4
    samples = {p.name for p in (run / "samples").iterdir()}
    for tag in ("real", "fake"):
        for step in (2, 3):  # every 2 steps and at the end
            assert f"began_{tag}_reconstruction_{step:08d}.png" in samples

    argv[argv.index("--lambda_k") + 1] = "0.01"
    assert cli.run(script.main, argv) == 1
    err = capsys.readouterr().err
    assert "another configuration" in err
    assert "lambda_k: 0.05 -> 0.01" in err


def test_began_script_rejects_bad_values_before_writing(tmp_path):
    out = tmp_path / "out"
    for flags, name in [(["--gamma", "1.5"], "--gamma"),
                        (["--lambda_k", "-0.1"], "--lambda_k"),
                        (["--eta", "0"], "--eta"),
                        (["--min_lr", "1e-3", "--lr", "1e-4"], "--min_lr"),
                        (["--dataset", "cifar10"], "--dataset")]:
        proc = subprocess.run(
            [sys.executable, str(ROOT / "my_tests" / "my_test_began_mnist.py"),
             "--out", str(out), *flags], capture_output=True, text=True,
            timeout=60)
        assert proc.returncode == 2, (flags, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, proc.stderr
        assert lines[0].startswith("my_test_began_mnist.py: error: argument "
                                   f"{name}:"), lines[0]
        assert not out.exists()


def test_every_began_flag_reaches_the_runner():
    """Each flag of the BEGAN scripts is a keyword of ``train_began``
    (``--out`` as ``root``), so none is accepted and ignored."""
    script = load_script("my_test_began_celeba")
    settings = script.runner_settings(script.PARSER.parse(["--jit"]))
    flags = {a.dest for a in script.PARSER._actions if a.dest != "help"}
    assert set(settings) == flags - {"out"} | {"root"}
    assert settings["jit"] is True and settings["root"] == "Results"
    params = inspect.signature(began_runner.train_began).parameters
    assert set(settings) <= set(params)
    assert all(params[name].default == script.DEFAULTS[name]
               for name in ("lr", "gamma", "lambda_k", "eta", "beta_1",
                            "beta_2", "lr_policy", "plateau_patience",
                            "min_lr", "decay_steps", "latent",
                            "steps_per_epoch", "checkpoint_every",
                            "batch_size", "scalar_every", "image_every"))


def test_began_scripts_parse_without_tensorflow():
    """The MNIST script imports the CelebA script's parser; neither loads
    TensorFlow, and the CelebA script's default is the paper-scale run."""
    code = (
        "import sys; sys.path.insert(0, 'my_tests');"
        "import my_test_began_mnist as m, my_test_began_celeba as c;"
        "a = m.PARSER.parse(['--gamma', '0.3']);"
        "b = c.PARSER.parse([]);"
        "c.PARSER.announce(b.steps);"
        "s = c.runner_settings(a);"
        "print(a.steps, a.gamma, b.steps, b.dataset, s['root'], s['gamma'],"
        " 'tensorflow' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "planned 200,000 generator steps" in lines[0]
    assert lines[1] == "3000 0.3 200000 celeb_a Results 0.3 False"

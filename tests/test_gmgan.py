"""GM-GAN: the Gaussian-mixture latent, supervised objectives, models."""

import importlib.util
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from deep_learning.models import gmgan
from deep_learning.engine.schedules import make_adam
from deep_learning.experiments import gmgan as gm_runner
from deep_learning.tools import clustering
from experiment_spec import cli
from general_tools import losses

ROOT = pathlib.Path(__file__).parents[1]


def np_ce(logits, labels):
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -logp[np.arange(len(labels)), labels].mean()


def np_bce(logits, target):
    p = 1.0 / (1.0 + np.exp(-logits))
    return -(target * np.log(p) + (1 - target) * np.log(1 - p)).mean()


def codes(layer, n_per, seed=0):
    k, d = layer.num_components, layer.latent_dim
    eps = np.random.default_rng(seed).normal(size=(k * n_per, d))
    comps = np.repeat(np.arange(k), n_per)
    return gmgan.pack_codes(eps, comps, k), comps, eps


# ------------------------------ the latent ---------------------------------

@pytest.mark.parametrize("covariance,sigma_is", [("scalar", "std"),
                                                 ("diag", "std"),
                                                 ("scalar", "variance")])
def test_component_statistics(covariance, sigma_is):
    layer = gmgan.GaussianMixtureLatent(3, 4, c=2.0, sigma=0.25,
                                        covariance=covariance,
                                        sigma_is=sigma_is, seed=1)
    layer.build((None, 7))
    means = layer.means.numpy()
    assert np.all(np.abs(means) <= 2.0) and means.std() > 0.1
    std = 0.25 if sigma_is == "std" else 0.5
    if covariance == "diag":
        scales = np.array([[0.1, 0.2, 0.3, 0.4]] * 3) * [[1], [2], [3]]
        layer.scales.assign(scales)
    else:
        scales = np.full((3, 4), std)
    np.testing.assert_allclose(layer.scales.numpy() * np.ones((3, 4)),
                               scales, rtol=1e-6)
    n = 4000
    x, comps, _ = codes(layer, n)
    z = layer(x).numpy()
    for k in range(3):
        zk = z[comps == k]
        # sample mean within 5 standard errors, sample std within 5% (the
        # relative standard error of a std from 4000 draws is 1.1%)
        assert np.all(np.abs(zk.mean(0) - means[k]) < 5 * scales[k] /
                      np.sqrt(n))
        np.testing.assert_allclose(zk.std(0), scales[k], rtol=0.05)


def test_test_time_sigma_scale():
    layer = gmgan.GaussianMixtureLatent(2, 3, c=1.0, sigma=0.5, seed=0)
    x, comps, eps = codes(layer, 5)
    layer.build((None, 5))
    mu = layer.means.numpy()[comps]
    layer.set_sigma_scale(3.0)
    np.testing.assert_allclose(layer(x, training=False).numpy(),
                               mu + 1.5 * eps, rtol=1e-5)
    np.testing.assert_allclose(layer(x, training=True).numpy(),
                               mu + 0.5 * eps, rtol=1e-5)


@pytest.mark.parametrize("covariance", ["scalar", "diag"])
def test_dynamic_gradients_reach_means_and_scales(covariance, rng):
    layer = gmgan.GaussianMixtureLatent(3, 4, sigma=0.7,
                                        covariance=covariance, dynamic=True)
    x, comps, eps = codes(layer, 5)
    w = rng.normal(size=(15, 4)).astype("float32")
    layer.build((None, 7))
    assert len(layer.trainable_variables) == 2
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x, training=True) * w)
    g_mu, g_s = tape.gradient(loss, [layer.means, layer.scales])
    onehot = np.eye(3)[comps]
    np.testing.assert_allclose(g_mu.numpy(), onehot.T @ w, rtol=1e-5)
    expected_s = onehot.T @ (w * eps)
    if covariance == "scalar":
        expected_s = expected_s.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(g_s.numpy(), expected_s, rtol=1e-4,
                               atol=1e-5)


def test_static_latent_is_not_trainable():
    layer = gmgan.GaussianMixtureLatent(3, 4)
    layer.build((None, 7))
    assert layer.trainable_variables == []


def test_latent_errors():
    with pytest.raises(ValueError, match="covariance"):
        gmgan.GaussianMixtureLatent(2, 2, covariance="full")
    with pytest.raises(ValueError, match="sigma"):
        gmgan.GaussianMixtureLatent(2, 2, sigma=0.0)
    with pytest.raises(ValueError, match="d \\+ K"):
        gmgan.GaussianMixtureLatent(2, 3).build((None, 4))


# --------------------------- supervised losses ------------------------------

def test_k_plus_one_label_layout(rng):
    k = 4
    lr = rng.normal(size=(6, k + 1)).astype("float32")
    lf = rng.normal(size=(6, k + 1)).astype("float32")
    y = rng.integers(0, k, size=6)
    c = rng.integers(0, k, size=6)
    loss_d, loss_g, m = gmgan.k_plus_one_losses(lr, lf, y, c)
    fake = np.full(6, k)  # the fake class is the last index
    assert float(loss_d) == pytest.approx(np_ce(lr, y) + np_ce(lf, fake),
                                          rel=1e-5)
    assert float(loss_g) == pytest.approx(np_ce(lf, c), rel=1e-5)
    assert float(m["real_accuracy"]) == pytest.approx(
        np.mean(lr[:, :k].argmax(1) == y))


@pytest.mark.parametrize("on_fake", [False, True])
def test_split_objective(rng, on_fake):
    k = 3
    lr = rng.normal(size=(5, k + 1)).astype("float32")
    lf = rng.normal(size=(5, k + 1)).astype("float32")
    y = rng.integers(0, k, size=5)
    c = rng.integers(0, k, size=5)
    loss_d, loss_g, m = gmgan.split_losses(lr, lf, y, c, class_weight=2.0,
                                           adversarial_weight=0.5,
                                           d_class_on_fake=on_fake)
    cls_r, cls_f = np_ce(lr[:, :k], y), np_ce(lf[:, :k], c)
    adv = np_bce(lr[:, k], 1.0) + np_bce(lf[:, k], 0.0)
    expected_d = 2.0 * (cls_r + (cls_f if on_fake else 0.0)) + 0.5 * adv
    assert float(loss_d) == pytest.approx(expected_d, rel=1e-5)
    assert float(loss_g) == pytest.approx(
        2.0 * cls_f + 0.5 * np_bce(lf[:, k], 1.0), rel=1e-5)
    assert float(m["adv_real"]) == pytest.approx(np_bce(lr[:, k], 1.0),
                                                 rel=1e-5)


# -------------------------------- models -----------------------------------

G_SPEC = [{"op": "d", "out": 16, "act": "relu"},
          {"op": "d", "out": 64, "act": "tanh", "out_reshape": [8, 8, 1]}]


def d_spec(out):
    return [{"op": "c", "out": 4, "kernel": 4, "strides": 2,
             "act": ["lrelu", 0.2], "out_reshape": [-1]},
            {"op": "d", "out": out}]


def tiny_gmgan(supervised=None, **kwargs):
    model = gmgan.GMGAN(G_SPEC, d_spec(1 if supervised is None else 4),
                        latent_dim=5, num_components=3, c=2.0, sigma=0.5,
                        supervised=supervised, mixture_seed=2, seed=4,
                        **kwargs)
    model.compile(make_adam(1e-3), make_adam(1e-3), run_eagerly=True)
    return model


@pytest.mark.parametrize("supervised", [None, "k_plus_one", "split"])
def test_train_step_losses_match_recomputation(supervised, rng):
    model = tiny_gmgan(supervised, dynamic=True, class_weight=1.5)
    x = rng.uniform(-1, 1, size=(6, 8, 8, 1)).astype("float32")
    y = np.array([0, 1, 2, 2, 1, 0])
    # the discriminator step's codes: stream 0 of generator step 0
    z = model.sample_latent(6, model._seed(0, 0), training=True)
    comps = np.argmax(z.numpy()[:, 5:], axis=1)
    s_real = model.discriminator(x).numpy()
    s_fake = model.discriminator(model.generator(z, training=True)).numpy()
    means_before = model.mixture.means.numpy().copy()
    logs = model.train_on_batch(tf.constant(x), tf.constant(y),
                                return_dict=True)
    if supervised is None:
        expected = np_bce(s_real[:, 0], 1.0) + np_bce(s_fake[:, 0], 0.0)
    elif supervised == "k_plus_one":
        expected = np_ce(s_real, y) + np_ce(s_fake, np.full(6, 3))
        assert logs["gm/class_ce_fake"] == pytest.approx(
            np_ce(s_fake, comps), rel=1e-4)
    else:
        expected = 1.5 * np_ce(s_real[:, :3], y) + np_bce(
            s_real[:, 3], 1.0) + np_bce(s_fake[:, 3], 0.0)
    assert logs["loss/d"] == pytest.approx(expected, rel=1e-4)
    assert all(np.isfinite(v) for v in logs.values())
    # the dynamic means were updated by the generator step
    assert not np.allclose(model.mixture.means.numpy(), means_before)
    assert int(model.g_optimizer.iterations) == 1


def test_static_means_stay_fixed(rng):
    model = tiny_gmgan()
    names = {v.path for v in model.generator_variables()}
    assert not any("mixture" in n for n in names)
    before = model.mixture.means.numpy().copy()
    x = rng.uniform(-1, 1, size=(4, 8, 8, 1)).astype("float32")
    model.train_on_batch(tf.constant(x), return_dict=True)
    np.testing.assert_array_equal(model.mixture.means.numpy(), before)


def test_component_rows_and_sampling():
    model = tiny_gmgan()
    z = model.component_codes(4, seed=1).numpy()
    np.testing.assert_array_equal(np.argmax(z[:, 5:], 1),
                                  np.repeat(np.arange(3), 4))
    assert model.component_samples(4).shape == (12, 8, 8, 1)
    # the test-time scale is restored after a scaled draw
    model.component_samples(2, sigma_scale=0.0)
    assert float(model.mixture.sigma_scale.numpy()) == 1.0
    with pytest.raises(ValueError, match="truncation"):
        model.latent_codes(4, seed=0, truncation=0.5)


def test_model_errors():
    with pytest.raises(ValueError, match="K\\+1"):
        gmgan.GMGAN(G_SPEC, d_spec(1), latent_dim=5, num_components=3,
                    supervised="split")
    with pytest.raises(ValueError, match="n_critic"):
        gmgan.GMGAN(G_SPEC, d_spec(4), latent_dim=5, num_components=3,
                    supervised="split", n_critic=2)
    model = tiny_gmgan("split")
    with pytest.raises(ValueError, match="labels"):
        model.train_on_batch(tf.zeros((2, 8, 8, 1)))


def test_config_round_trip():
    model = tiny_gmgan("split", dynamic=True, class_weight=2.0)
    clone = gmgan.GMGAN.from_config(model.get_config())
    assert clone.supervised == "split" and clone.class_weight == 2.0
    assert clone.mixture.dynamic and clone.noise_dim == 5
    assert clone.latent_dim == 5 + 3


# ------------------------------ the script ---------------------------------

SCRIPT = ROOT / "my_tests" / "my_test_gmgan_mnist.py"


def _load_script():
    """my_tests/my_test_gmgan_mnist.py as a module."""
    spec = importlib.util.spec_from_file_location("gm_script", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def _results_files(run):
    return sorted(p.name for p in run.glob("results_*.json"))


def test_gmgan_script_runs_clusters_and_keeps_results(tmp_path, capsys):
    """Two steps on the bundled MNIST: the run folder is named by the
    engine, the results file holds the clustering of the images asked for,
    and later invocations never replace it."""
    script = _load_script()
    out = tmp_path / "out"
    argv = ["--objective", "unsupervised", "--steps", "2", "--batch_size",
            "8", "--dataset", "mnist_bundled", "--out", str(out),
            "--steps_per_epoch", "2", "--image_every", "2",
            "--cluster_samples", "30", "--cluster_epochs", "1",
            "--eval_images", "40", "--sigma_scales", "0.5"]
    assert cli.run(script.main, argv) == 0
    runs = list(out.iterdir())
    assert len(runs) == 1
    run = runs[0]
    assert run.name.startswith("gmgan_unsupervised_mnist_bundled_logistic_")
    assert _results_files(run) == ["results_2.json"]
    first = run / "results_2.json"
    results = json.loads(first.read_text())
    assert results["step"] == 2
    assert 0.0 <= results["clustering_accuracy"] <= 1.0
    assert results["eval_images"] == 40
    assert results["evaluation"]["eval_images"] == 40
    assert "conditional_accuracy" not in results  # unsupervised
    samples = {p.name for p in (run / "samples").iterdir()}
    assert {"components_sigma0.5_00000002.png",
            "gm_components_00000002.png"} <= samples
    text, stamp = first.read_text(), first.stat().st_mtime_ns
    capsys.readouterr()

    # The same flags: nothing to train, the results file is read.
    assert cli.run(script.main, argv) == 0
    assert "results_2.json exists" in capsys.readouterr().out
    assert _results_files(run) == ["results_2.json"]
    assert first.read_text() == text
    assert first.stat().st_mtime_ns == stamp

    # Other evaluation settings: a new file next to the first.
    argv[argv.index("--eval_images") + 1] = "30"
    assert cli.run(script.main, argv) == 0
    assert _results_files(run) == ["results_2.json", "results_2_1.json"]
    assert json.loads((run / "results_2_1.json").read_text())[
        "eval_images"] == 30
    assert first.read_text() == text


@pytest.mark.parametrize("flags,named", [
    (["--objective", "unsupervised", "--d_class_on_fake"],
     "--d_class_on_fake"),
    (["--objective", "k_plus_one", "--class_weight", "2"], "--class_weight"),
    (["--objective", "split", "--gan_loss", "hinge"], "--gan_loss"),
    (["--objective", "k_plus_one", "--dataset", "celeb_a"], "--dataset"),
    (["--gan_loss", "mmd"], "--gan_loss"),
    (["--sigma_scales", "0.5,0"], "--sigma_scales"),
    (["--eval_images", "0", "--cluster_epochs", "2"], "--cluster_epochs"),
])
def test_gmgan_script_refuses_bad_flags(tmp_path, flags, named):
    """Exit status 2, one line naming the flag, nothing written (and
    TensorFlow never imported: the refusal comes before it)."""
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), *flags],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"argument {named}" in lines[0], proc.stderr
    assert proc.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_gmgan_script_losses_are_registered():
    """The script's literal loss choices are registered losses."""
    assert set(_load_script().GAN_LOSSES) <= set(
        losses.available_losses())


def test_train_gmgan_supervised_run(tmp_path):
    """The runner with a tiny network: labels reach the (K+1)-way
    objective, the last layers get the data's channels and K + 1 logits,
    and settings of another objective are refused."""
    arch = {"image_size": (8, 8), "code": 5, "components": 10,
            "generator": [
                {"op": "d", "out": 4 * 4 * 8, "act": "relu",
                 "out_reshape": [4, 4, 8]},
                {"op": "tc", "out": 7, "kernel": 4, "strides": 2,
                 "act": "tanh"}],
            "discriminator": d_spec(1)}
    result, results = gm_runner.train_gmgan(
        arch, objective="k_plus_one", steps=1, batch_size=4,
        dataset="mnist_bundled", root=str(tmp_path), image_every=0,
        eval_images=0, sigma_scales=(1.0,), samples_per_row=2, verbose=0)
    run = pathlib.Path(result.paths.root)
    assert run.name.startswith("gmgan_k_plus_one_mnist_bundled_")
    assert results == json.loads((run / "results_1.json").read_text())
    assert results["step"] == 1 and "clustering_accuracy" not in results
    assert result.model.discriminator.output_shape[-1] == 11
    assert result.model.generate_images(
        result.model.latent_codes(2, seed=0)).shape == (2, 8, 8, 1)
    assert (run / "samples" / "components_sigma1_00000001.png").exists()
    assert np.isfinite(result.history.history["gm/class_ce_fake"]).all()
    with pytest.raises(ValueError, match="'split' objective"):
        gm_runner.train_gmgan(arch, objective="k_plus_one",
                              d_class_on_fake=True, root=str(tmp_path))
    with pytest.raises(ValueError, match="one Gaussian per class"):
        gm_runner.train_gmgan(dict(arch, components=3), objective="split",
                              dataset="mnist_bundled", root=str(tmp_path))


def test_conditional_accuracy_reads_components_in_row_order():
    model = tiny_gmgan("k_plus_one")
    k = model.num_components

    class Labeller:
        """Logits of a fixed label sequence: component i's rows get label
        ``mapping[i]``."""

        def __init__(self, mapping):
            self.mapping = mapping

        def extract(self, images, outputs=None):
            n = len(images) // k
            labels = np.repeat(self.mapping, n)
            return {"logits": np.eye(10)[labels]}

    exact = clustering.conditional_accuracy(
        model, None, 4, extractor=Labeller(np.arange(k)))
    assert exact == 1.0
    # One component read as another digit: (k - 1) / k of the samples.
    mapping = np.arange(k)
    mapping[0] = 9
    got = clustering.conditional_accuracy(model, None, 4,
                                          extractor=Labeller(mapping))
    assert got == pytest.approx((k - 1) / k)


MIRRORED_SCRIPT = '''
import json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
sys.path.insert(0, sys.argv[1])
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from deep_learning.models.gmgan import GMGAN
G = [{"op": "d", "out": 16, "act": "relu"},
     {"op": "d", "out": 64, "act": "tanh", "out_reshape": [8, 8, 1]}]
D = [{"op": "c", "out": 4, "kernel": 4, "strides": 2,
      "act": ["lrelu", 0.2], "out_reshape": [-1]}, {"op": "d", "out": 4}]
x = np.random.default_rng(0).uniform(-1, 1, (16, 8, 8, 1)).astype("f4")
y = np.arange(16) % 3

def run(strategy):
    with strategy.scope():
        model = GMGAN(G, D, latent_dim=5, num_components=3,
                      supervised="k_plus_one", mixture_seed=2, seed=4)
        model.set_weights([np.full(w.shape, 0.05 * (i + 1) % 0.3, w.dtype)
                           if w.ndim > 1 else w for i, w in
                           enumerate(model.get_weights())])
        model.compile(keras.optimizers.SGD(0.05), keras.optimizers.SGD(0.05))
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    hist = model.fit(data, epochs=1, verbose=0)
    return ([float(v) for v in hist.history["gm/class_ce_fake"]],
            [w.tolist() for w in model.generator.get_weights()[:2]])

one = run(tf.distribute.get_strategy())
two = run(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
print(json.dumps({"one": one, "two": two}))
'''


@pytest.mark.slow
def test_supervised_gmgan_under_mirrored_strategy(tmp_path):
    """Labels and the drawn Gaussians reach each replica's loss through the
    step record: two replicas train as one device on the global batch."""
    import json
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    script = tmp_path / "mirrored.py"
    script.write_text(MIRRORED_SCRIPT)
    out = subprocess.run([sys.executable, str(script), root],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(result["two"][0], result["one"][0], rtol=1e-5)
    for a, b in zip(result["two"][1], result["one"][1]):
        np.testing.assert_allclose(np.array(a), np.array(b), atol=1e-5)

"""Smoke runs of the experiment paths: the toy study script and the image
mixture study (tiny shapes, a few steps)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TINY_B_S = [
    {"name": "bs1_up", "op": "tc", "out": 4, "kernel": 4, "strides": 2,
     "act": "relu", "init": "dcgan", "in_reshape": [2, 2, 8]},
    {"name": "bs2_out", "op": "tc", "out": 1, "kernel": 4, "strides": 2,
     "act": "tanh", "init": "dcgan"},
]
TINY_D = [
    {"name": "d1", "op": "c", "out": 4, "kernel": 4, "strides": 2,
     "act": ["lrelu", 0.2], "act_nm": "ln", "out_reshape": [-1]},
    {"name": "d_out", "op": "d", "out": 1},
]


def _run_toy(tmp_path, out, *args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "my_tests", "my_test_toy.py"),
         "--seeds", "0", "--out", str(out), *args],
        capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((out / "results.json").read_text())


@pytest.mark.slow
def test_toy_hmog_covers_all_five_modes(tmp_path):
    """The quickstart on a fixed seed: HMoG finds every mode."""
    out = tmp_path / "toy"
    results = _run_toy(tmp_path, out, "--steps", "2000", "--models", "hmog")
    scores = results["per_seed"]["hmog"][0]
    assert scores["steps"] == 2000
    assert scores["modes_covered"] == 5
    assert scores["high_quality"] > 0.85
    assert (out / "regions_hmog_s0.png").stat().st_size > 1000
    assert (out / "tree_hmog_s0.png").stat().st_size > 1000
    assert "| hmog | 5.0" in (out / "results.md").read_text()


@pytest.mark.slow
def test_toy_run_of_every_other_model(tmp_path):
    out = tmp_path / "toy"
    models = ["fc", "mog", "megan", "madgan", "mgan"]
    results = _run_toy(tmp_path, out, "--steps", "30", "--models",
                       ",".join(models), "--dataset", "toy_gmm_fixed")
    for model in models:
        scores = results["per_seed"][model][0]
        assert scores["steps"] == 30
        assert 0.0 <= scores["knn_accuracy"] <= 1.0
        assert 0 <= scores["modes_covered"] <= 5
        assert (out / f"regions_{model}_s0.png").stat().st_size > 1000


@pytest.mark.slow
@pytest.mark.parametrize("model", ["hmog", "madgan"])
def test_mixture_study_runs_and_writes_figures(tmp_path, model):
    from deep_learning.experiments.mixtures import run_mixture_study
    rng = np.random.default_rng(0)
    path = tmp_path / "digits.npz"
    np.savez(path, images=rng.integers(0, 256, (64, 8, 8, 1), np.uint8))
    run = run_mixture_study(
        model, 2, TINY_B_S, TINY_D, [2, 2, 8], dataset=f"npz:{path}",
        steps=2, image_size=8, batch_size=4, latent_dim=4,
        root=str(tmp_path / "runs"), figure_samples=200,
        config={"script": "test"})
    assert run.step == 2
    config = json.loads(open(run.paths.config).read())
    assert config["user"]["model"] == model
    figs = os.listdir(os.path.join(run.paths.root, "figures"))
    expected = ({"gating_correlation.png", "top_per_leaf.png"}
                if model == "hmog" else {"per_generator.png"})
    assert expected <= set(figs)
    assert ("gate_stats.json" in figs) == (model == "hmog")
    # The same figures later, from the run folder alone.
    from deep_learning.tools import interpretability
    out = tmp_path / "later"
    paths = interpretability.main([run.paths.root, "--num", "200",
                                   "--out", str(out)])
    assert {os.path.basename(p) for p in paths.values()} == expected | (
        {"gate_stats.json"} if model == "hmog" else set())
    if model == "hmog":
        stats = json.loads((out / "gate_stats.json").read_text())
        z = run.model.latent_codes(200, seed=0)
        usage = interpretability.leaf_usage(run.model, z)
        assert stats["num_codes"] == 200
        assert stats["mean_max_probability"] == pytest.approx(
            usage.max(1).mean(), rel=1e-6)
        assert stats["max_entropy_nats"] == pytest.approx(np.log(2))
    with pytest.raises(SystemExit):  # an existing folder is not overwritten
        interpretability.main([run.paths.root, "--out", str(out)])
    if model == "hmog":
        import tensorflow as tf
        tags = set()
        logs = os.path.join(run.paths.root, "logs")
        for name in os.listdir(logs):
            for event in tf.compat.v1.train.summary_iterator(
                    os.path.join(logs, name)):
                tags |= {v.tag for v in event.summary.value}
        assert {"gates/assignment", "gates/share_0", "gates/share_1",
                "gates/usage_entropy"} <= tags


def test_mixture_study_lists_grid_with_variants(tmp_path):
    scores = tmp_path / "scores"
    scores.mkdir()
    (scores / "hmog8_s1.json").write_text("{}")

    def listing(*args):
        proc = subprocess.run(
            [sys.executable,
             os.path.join(ROOT, "my_tests", "my_test_mixtures_study.py"),
             "--list", "--scores", str(scores), "--models", "fc,hmog",
             "--ks", "8,16", "--seeds", "1", *args],
            capture_output=True, text=True, timeout=300, cwd=tmp_path,
            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
        return proc
    proc = listing("--variants", "megan:wasserstein")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split("\n")[:-1] == [
        "fc_s1: to run", "hmog8_s1: done", "hmog16_s1: to run",
        "megan8_wasserstein_s1: to run", "megan16_wasserstein_s1: to run"]
    bad = listing("--variants", "mgan:wasserstein")
    assert bad.returncode != 0 and "own (K+1)-way objective" in bad.stderr


@pytest.mark.slow
def test_megan_collapse_probe_records_and_rereads(tmp_path):
    out = tmp_path / "collapse"

    def probe():
        proc = subprocess.run(
            [sys.executable,
             os.path.join(ROOT, "my_tests", "my_test_megan_collapse.py"),
             "--cases", "fc_logistic", "--iterations", "2", "--every", "1",
             "--collapse_out", str(out), "--batch", "8"],
            capture_output=True, text=True, timeout=600, cwd=tmp_path,
            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc
    first = probe()
    result = json.loads((out / "fc_logistic.json").read_text())
    assert result["overrides"] == {"objective": "logistic"}
    assert [r["step"] for r in result["probes"]] == [1, 2]
    for row in result["probes"]:
        assert -1.0 <= row["mean"] <= 1.0 and 0.0 <= row["saturated"] <= 1.0
        assert 0.0 <= row["d_right"] <= 1.0
        # the non-saturating G loss is softplus(-D(G(z))) >= max(0, -D)
        assert row["g_ns_loss"] >= max(0.0, -row["d_fake"]) - 1e-6
    assert "real held-out digits: mean -0.7" in first.stdout
    second = probe()
    assert "fc_logistic: read" in second.stdout
    assert json.loads((out / "fc_logistic.json").read_text()) == result


def test_mmd_report_reads_the_scores_folder(tmp_path):
    scores = tmp_path / "scores"
    scores.mkdir()

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
    record("rep", 1, fid=50.0, knn=0.96)
    record("rep", 0, fid=30.0, knn=0.92)
    record("rep", 2)  # stopped on a non-finite loss
    record("rmb", 0, fid=20.0)
    out = tmp_path / "summary.json"
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "my_tests", "my_test_mmd_mnist.py"),
         "--report", "--scores", str(scores), "--json_out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = json.loads(out.read_text())
    assert [e["loss"] for e in table] == ["rep", "rmb"]  # --losses order
    rep = table[0]
    assert (rep["n"], rep["diverged"]) == (3, 1)
    np.testing.assert_allclose(rep["fid"], [40.0, 10.0])
    np.testing.assert_allclose(rep["knn_accuracy"], [0.94, 0.02])
    assert rep["fid_per_seed"] == {"0": 30.0, "1": 50.0, "2": None}
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| rep")]
    assert rows == ["| rep | 40.0 ± 10.0 | 30.0, 50.0, NaN | 0.940 ± 0.020 | "
                    "0.840 ± 0.020 | 0.990 ± 0.020 | 1/3 | 101 |"]

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
         "--seed", "0", "--out", str(out), *args],
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
    # A rerun of one model reads its recorded scores (nothing retrained or
    # redrawn) and the summary still covers every recorded run.
    stamps = {p.name: p.stat().st_mtime_ns
              for p in list((out / "scores").iterdir()) + list(
                  out.glob("regions_*.png"))}
    again = _run_toy(tmp_path, out, "--steps", "30", "--models", "fc",
                     "--dataset", "toy_gmm_fixed")
    assert again["per_seed"] == results["per_seed"]
    assert stamps == {p.name: p.stat().st_mtime_ns
                      for p in list((out / "scores").iterdir()) + list(
                          out.glob("regions_*.png"))}


@pytest.mark.slow
@pytest.mark.parametrize("model", ["hmog", "madgan"])
def test_mixture_study_runs_and_writes_figures(tmp_path, model):
    from deep_learning.experiments.mixtures import train_mixture
    rng = np.random.default_rng(0)
    path = tmp_path / "digits.npz"
    np.savez(path, images=rng.integers(0, 256, (64, 8, 8, 1), np.uint8))
    run = train_mixture(
        model, 2, TINY_B_S, TINY_D, [2, 2, 8], dataset=f"npz:{path}",
        steps=2, image_size=8, batch_size=4, latent_dim=4,
        root=str(tmp_path / "runs"), figure_samples=200, verbose=0,
        config={"script": "test"})
    assert os.path.basename(run.paths.root).startswith(
        f"{model}2_npz-digits_")
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
    assert interpretability.main([run.paths.root, "--num", "200",
                                  "--out", str(out)]) == 0
    assert set(os.listdir(out)) == expected | (
        {"gate_stats.json"} if model == "hmog" else set())
    if model == "hmog":
        stats = json.loads((out / "gate_stats.json").read_text())
        z = run.model.latent_codes(200, seed=0)
        usage = interpretability.leaf_usage(run.model, z)
        assert stats["num_codes"] == 200
        assert stats["mean_max_probability"] == pytest.approx(
            usage.max(1).mean(), rel=1e-6)
        assert stats["max_entropy_nats"] == pytest.approx(np.log(2))
    before = (out / sorted(expected)[0]).stat().st_mtime_ns
    with pytest.raises(ValueError, match="exists and is not empty"):
        interpretability.main([run.paths.root, "--out", str(out)])
    assert (out / sorted(expected)[0]).stat().st_mtime_ns == before
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
    scores = tmp_path / "out" / "scores"
    scores.mkdir(parents=True)
    (scores / "hmog8_s1.json").write_text("{}")

    def listing(*args):
        proc = subprocess.run(
            [sys.executable,
             os.path.join(ROOT, "my_tests", "my_test_mixtures_study.py"),
             "--list", "--out", str(tmp_path / "out"), "--models", "fc,hmog",
             "--ks", "8,16", "--seed", "1", *args],
            capture_output=True, text=True, timeout=300, cwd=tmp_path,
            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
        return proc
    proc = listing("--variants", "megan:wasserstein")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split("\n")[:-1] == [
        "fc_s1: to run", "hmog8_s1: done", "hmog16_s1: to run",
        "megan8_wasserstein_s1: to run", "megan16_wasserstein_s1: to run"]
    bad = listing("--variants", "mgan:wasserstein")
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "my_test_mixtures_study.py: error: argument --variants: MGAN trains "
        "only with its own (K+1)-way objective; received "
        "objective='wasserstein' (see --help)"]
    assert listing("--ks", "8,12").returncode == 2  # 12 leaves: no tree


def test_published_mixture_grid_is_listed_as_done():
    """The committed score files record their settings: with --publish
    and the defaults every run of the published grid is done."""
    proc = subprocess.run(
        [sys.executable,
         os.path.join(ROOT, "my_tests", "my_test_mixtures_study.py"),
         "--list", "--publish", "--variants", "megan:wasserstein"],
        capture_output=True, text=True, timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.split("\n")[:-1]
    assert len(lines) == 39 and all(x.endswith(": done") for x in lines)


@pytest.mark.slow
def test_megan_collapse_probe_records_and_rereads(tmp_path):
    out = tmp_path / "collapse"

    def probe(*extra):
        return subprocess.run(
            [sys.executable,
             os.path.join(ROOT, "my_tests", "my_test_megan_collapse.py"),
             "--cases", "fc_logistic", "--steps", "2", "--every", "1",
             "--out", str(out), "--batch_size", "8", *extra],
            capture_output=True, text=True, timeout=600, cwd=tmp_path,
            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    first = probe()
    assert first.returncode == 0, first.stderr[-3000:]
    result = json.loads((out / "fc_logistic.json").read_text())
    assert result["overrides"] == {"objective": "logistic"}
    assert result["settings"]["steps"] == 2
    assert [r["step"] for r in result["probes"]] == [1, 2]
    for row in result["probes"]:
        # the recorded loss is the non-saturating loss of the recorded
        # critic scores: softplus(-D(G(z))) >= -D(G(z)) on average
        assert row["g_ns_loss"] >= -row["d_fake"] - 1e-6
        assert 0.0 <= row["d_right"] <= 1.0
    assert "real held-out digits: mean -0.7" in first.stdout
    second = probe()
    assert second.returncode == 0 and "fc_logistic: read" in second.stdout
    assert json.loads((out / "fc_logistic.json").read_text()) == result
    # Other settings: refused, the file left as it was.
    third = probe("--every", "2")
    assert third.returncode == 1 and "other settings" in third.stderr
    assert "every: 1 -> 2" in third.stderr
    assert json.loads((out / "fc_logistic.json").read_text()) == result

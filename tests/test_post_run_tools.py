"""The post-run tools on 2-D toy run folders (the quick start's): sample
draws a scatter, evaluate scores the toy metrics against the toy's held-out
points, interpretability draws the regions and the tree; and train() with
its default callbacks logs a scatter for a 2-D model."""

import glob
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from deep_learning.engine import run_folder
from deep_learning.experiments.toy import train_toy
from deep_learning.tools import evaluate, interpretability, sample
from deep_learning.tools import toy_evaluation

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
D = [{"op": "d", "out": 8, "act": "relu"}, {"name": "score", "op": "d",
                                             "out": 1}]
G = {"hmog": [{"name": "tree", "op": "hmog", "out": 2, "depth": 2}],
     "madgan": [{"name": "h", "op": "heads", "out": 2, "heads": 4},
                {"name": "fold", "op": "fold_heads"}]}


@pytest.fixture(scope="module")
def toy_runs(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("toy"))
    runs = {}
    for model in G:
        result = train_toy(model, G[model], D, k=4, dataset="toy_gmm",
                           data_seed=2019, steps=3, batch_size=8, seed=0,
                           root=root, lr_d=1e-3, lr_g=1e-3, image_every=2,
                           scalar_every=1)
        runs[model] = result
    return runs


def test_default_callbacks_draw_a_scatter_of_a_2d_model(toy_runs):
    run = toy_runs["hmog"]
    pngs = sorted(os.listdir(run.paths.samples))
    assert pngs == ["scatter_00000002.png", "scatter_00000003.png"]
    tags = set()
    for path in glob.glob(os.path.join(run.paths.logs, "events.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags |= {v.tag for v in event.summary.value}
    assert {"samples/scatter", "gates/usage_entropy", "loss/d"} <= tags
    assert os.path.exists(run.paths.generator)


def test_evaluate_scores_a_toy_run_with_the_toy_metrics(toy_runs, capsys):
    run = toy_runs["madgan"]
    assert evaluate.main([run.paths.root, "--num", "400", "--seed", "3"]) == 0
    path = os.path.join(run.paths.root, "eval", "scores_3.json")
    result = json.load(open(path))
    assert set(result["scores"]) == set(toy_evaluation.TOY_METRICS)
    assert result["metadata"]["reference"]["dataset"] == "toy_gmm"
    # The same numbers as the toy study computes from the model itself.
    model = run_folder.load_run(run.paths.root)
    real, mixture = toy_evaluation.toy_reference(
        {"name": "toy_gmm", "data_seed": 2019})
    points, generators = toy_evaluation.toy_samples(model, 400, 3)
    assert points.shape == (400, 2)
    want = toy_evaluation.toy_scores(points, generators, real, mixture)
    for key, value in want.items():
        assert result["scores"][key] == pytest.approx(value, rel=1e-6), key
    with pytest.raises(SystemExit) as stop:
        evaluate.main([run.paths.root, "--metrics", "fid", "--out",
                       str(os.path.join(run.paths.root, "eval", "x.json"))])
    assert stop.value.code == 2
    assert "argument --metrics: `metrics`: a 2-D run is scored with the toy " \
        "metrics" in capsys.readouterr().err


def test_sample_draws_a_scatter_and_refuses_interpolation(toy_runs,
                                                          tmp_path, capsys):
    run = toy_runs["madgan"]
    out = str(tmp_path / "points.png")
    assert sample.main([run.paths.root, "--num", "300", "--out", out,
                        "--save_npy"]) == 0
    assert Image.open(out).size[0] > 100
    points = np.load(str(tmp_path / "points.npy"))
    assert points.shape == (300, 2)
    for flags in (["--interpolate", "2"], ["--rows", "2"], ["--head", "1"]):
        with pytest.raises(SystemExit) as stop:  # before loading the model
            sample.main([run.paths.root, *flags])
        assert stop.value.code == 2
        assert f"argument {flags[0]}: a 2-D run generates 2-D points" in \
            capsys.readouterr().err


def test_interpretability_draws_regions_tree_and_gate_stats(toy_runs,
                                                            tmp_path):
    run = toy_runs["hmog"]
    out = tmp_path / "figs"
    assert interpretability.main([run.paths.root, "--num", "500", "--out",
                                  str(out)]) == 0
    assert sorted(os.listdir(out)) == ["gate_stats.json", "regions.png",
                                       "tree.png"]
    stats = json.loads((out / "gate_stats.json").read_text())
    assert stats["num_codes"] == 500
    assert stats["max_entropy_nats"] == pytest.approx(np.log(4))
    out = tmp_path / "heads"
    assert interpretability.main([toy_runs["madgan"].paths.root, "--out",
                                  str(out), "--num", "300"]) == 0
    assert sorted(os.listdir(out)) == ["regions.png"]


def test_commands_exit_codes(toy_runs, tmp_path):
    """``python -m deep_learning.<tool>``: 0 on success, 2 and one line on
    a bad argument, 1 and one line on a user error."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")

    def command(*args):
        return subprocess.run([sys.executable, "-m", *args],
                              capture_output=True, text=True, timeout=300,
                              env=env, cwd=ROOT)

    run = toy_runs["hmog"].paths.root
    ok = command("deep_learning.sample", run, "--out",
                 str(tmp_path / "a.png"))
    assert ok.returncode == 0, ok.stderr[-2000:]
    bad = command("deep_learning.sample", run, "--rows", "0")
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines()[-1] == (
        "python -m deep_learning.sample: error: argument --rows: must be an "
        "integer > 0; received '0' (see --help)")
    missing = command("deep_learning.evaluate", str(tmp_path))
    assert missing.returncode == 1
    assert "Traceback" not in missing.stderr
    assert missing.stderr.strip().splitlines()[-1].startswith(
        "python -m deep_learning.evaluate: error: ")
    assert "model.json does not exist" in missing.stderr

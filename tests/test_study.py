"""Tests for deep_learning.experiments.study: sharding, per-run score files (skip when
present, diverged runs) and the summary over seeds against numpy."""

import json
import types

import numpy as np
import pytest

from deep_learning.experiments import study


def test_shard_partitions_the_grid():
    jobs = list(range(11))
    parts = [study.shard(jobs, f"{i}/3") for i in range(3)]
    assert sorted(sum(parts, [])) == jobs
    assert parts[1] == [1, 4, 7, 10]
    for bad in ("3/3", "x", "1/0", "-1/2"):
        with pytest.raises(ValueError, match="shard"):
            study.shard(jobs, bad)


def _fake_run(stop_message=None):
    net = types.SimpleNamespace(count_params=lambda: 7)
    return types.SimpleNamespace(
        stop_message=stop_message, step=3,
        model=types.SimpleNamespace(generator=net, discriminator=net),
        paths=types.SimpleNamespace(root="/nowhere"))


def test_diverged_run_is_recorded_and_never_retrained(tmp_path):
    calls = []

    def train():
        calls.append(1)
        return _fake_run("loss/d is NaN at step 3")

    first = study.run_and_score("rep_s0", str(tmp_path), train,
                                metrics="fid", num=10, reference="x",
                                loss="rep", seed=0)
    assert first["scores"] == {} and first["stopped"].startswith("loss/d")
    assert first["g_params"] == 7 and first["steps"] == 3
    again = study.run_and_score("rep_s0", str(tmp_path), train,
                                metrics="fid", num=10, reference="x")
    assert again == first and len(calls) == 1
    with open(tmp_path / "rep_s0.json") as f:
        assert json.load(f)["loss"] == "rep"


def test_summarise_matches_numpy():
    rows = [{"model": "hmog", "k": 8, "seed": s, "wall_s": w, "g_params": 5,
             "steps": 10, "scores": {"fid": f}}
            for s, w, f in [(0, 10.0, 3.0), (1, 20.0, 5.0), (2, 30.0, 10.0)]]
    rows.append({"model": "mog", "k": 8, "seed": 0, "wall_s": 4.0,
                 "g_params": 9, "steps": 10, "scores": {}})
    hmog, mog = study.summarise(rows, ("model", "k"), ("fid",),
                                per_seed=("fid",))
    assert hmog["fid_per_seed"] == {"0": 3.0, "1": 5.0, "2": 10.0}
    assert mog["fid_per_seed"] == {"0": None}
    assert hmog["n"] == 3 and hmog["diverged"] == 0
    np.testing.assert_allclose(hmog["fid"], [6.0, np.std([3.0, 5.0, 10.0])])
    assert hmog["wall_s"] == 20.0 and hmog["seeds"] == [0, 1, 2]
    assert mog["diverged"] == 1 and "fid" not in mog
    assert study.mean_std(hmog["fid"], 1) == "6.0 ± 2.9"
    assert study.mean_std(None) == "-"

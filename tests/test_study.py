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

    settings = {"loss": "rep", "steps": 3, "batch_size": 4}
    first = study.run_and_score("rep_s0", str(tmp_path), train,
                                settings=settings, metrics="fid", num=10,
                                reference="x", loss="rep", seed=0)
    assert first["scores"] == {} and first["stopped"].startswith("loss/d")
    assert first["g_params"] == 7 and first["steps"] == 3
    assert first["settings"] == settings
    again = study.run_and_score("rep_s0", str(tmp_path), train,
                                settings=dict(settings), metrics="fid",
                                num=10, reference="x")
    assert again == first and len(calls) == 1
    with open(tmp_path / "rep_s0.json") as f:
        assert json.load(f)["loss"] == "rep"


def test_a_score_file_of_other_settings_is_neither_reused_nor_replaced(
        tmp_path):
    """A finished run is skipped only when every setting matches; a file
    of other settings stops the study and stays as it was."""
    path = tmp_path / "rep_s0.json"
    path.write_text(json.dumps({"scores": {"fid": 1.0}, "settings": {
        "loss": "rep", "steps": 300, "batch_size": 64}}))
    before = path.read_bytes()
    with pytest.raises(ValueError, match=r"settings.steps: 300 -> 20.*"
                       r"another --out"):
        study.run_and_score("rep_s0", str(tmp_path), lambda: 1 / 0,
                            settings={"loss": "rep", "steps": 20,
                                      "batch_size": 64},
                            metrics="fid", num=10, reference="x")
    assert path.read_bytes() == before


def test_a_longer_run_in_the_folder_is_not_scored_as_a_shorter_one(
        tmp_path):
    with pytest.raises(ValueError, match="holds a run of 3 steps; this "
                       "study asks 2"):
        study.run_and_score("x", str(tmp_path), _fake_run,
                            settings={"steps": 2}, metrics="fid", num=10,
                            reference="x")
    assert not (tmp_path / "x.json").exists()


def test_study_paths_stay_under_out_unless_published(tmp_path):
    local = study.study_paths(str(tmp_path), False, published_scores="d/s",
                              published_table="d/t.json",
                              published_figure="d/f.png", name="mmd")
    assert local == study.StudyPaths(
        str(tmp_path / "runs"), str(tmp_path / "scores"),
        str(tmp_path / "mmd.json"), str(tmp_path / "mmd.png"))
    public = study.study_paths(str(tmp_path), True, published_scores="d/s",
                               published_table="d/t.json")
    assert (public.scores, public.table, public.figure) == (
        "d/s", "d/t.json", None)
    assert public.runs == str(tmp_path / "runs")
    with pytest.raises(ValueError, match="does not exist"):
        study.load_scores(str(tmp_path / "scores"))


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

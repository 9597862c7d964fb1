"""benchmarks/gpu_battery.py: its numerics verdict on curves with known
differences, and its --smoke run (the GPU code path on the CPU)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import gpu_battery  # noqa: E402


def _curves(d, g, forward):
    return {"loss/d": list(d), "loss/g": list(g), "forward": forward,
            "d_updates_skipped": 3}


def test_compare_curves_against_hand_computed_figures():
    steps = np.arange(40, dtype=float)
    ref = _curves(steps, -steps, {"loss/d": 2.0, "loss/g": -4.0})
    # loss/d: second window shifted by 2 (range 39: 2/39 = 0.0513 passes);
    # loss/g: first window shifted by 5 (5/39 = 0.128 fails).
    d = steps + np.where(steps >= 20, 2.0, 0.0)
    g = -steps + np.where(steps < 20, 5.0, 0.0)
    cand = _curves(d, g, {"loss/d": 2.02, "loss/g": -4.03})
    out = gpu_battery.compare_curves(ref, cand)
    assert out["forward_max_difference_over_scale"] == pytest.approx(
        0.03 / 4.0)
    assert out["forward_passed"] is True
    assert out["loss/d"]["max_window_difference_over_range"] == \
        pytest.approx(2 / 39)
    assert out["loss/g"]["max_window_difference_over_range"] == \
        pytest.approx(5 / 39)
    assert (out["loss/d"]["passed"], out["loss/g"]["passed"]) == (True,
                                                                  False)
    assert out["passed"] is False and out["d_updates_skipped"] == 3
    # A forward difference of 2 % of the largest value fails; NaN fails.
    cand = _curves(steps, -steps, {"loss/d": 2.0, "loss/g": -4.08})
    assert gpu_battery.compare_curves(ref, cand)["forward_passed"] is False
    cand = _curves(np.full(40, np.nan), -steps, ref["forward"])
    assert gpu_battery.compare_curves(ref, cand)["loss/d"]["finite"] is False


@pytest.mark.slow
def test_smoke_runs_every_setting_and_keeps_existing_files(tmp_path):
    out = tmp_path / "battery.json"
    cmd = [sys.executable, os.path.join(ROOT, "benchmarks", "gpu_battery.py"),
           "--smoke", "--json", str(out)]
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=400,
                          env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(out.read_text())
    assert res["smoke"] is True and res["gpu"] is None
    assert res["cpu"].endswith(" cores") and res["cpu"] in proc.stdout
    settings = {(r["setup"], r["setting"]) for r in res["results"]}
    assert settings == {(s, n) for s in gpu_battery.SETUPS for n in (
        "float32", "mixed_float16", "float32 + XLA",
        "mixed_float16 + XLA")}
    for r in res["results"]:
        assert r["gen_it_per_s"] > 0 and r["flops_per_it"] > 0
        assert r["real_images_per_s"] == pytest.approx(
            r["gen_it_per_s"] * r["batch"] * r["n_critic"])
        assert 0 < r["mfu"] and r["peak_memory_mib"] > 0
    # The same weights and batch in float32 and mixed_float16: the forward
    # check is meaningful even in a smoke run.
    assert res["numerics"]["forward_passed"] is True
    assert set(res["fastest"]) == set(gpu_battery.SETUPS)
    # An existing output file is never replaced.
    before = out.read_bytes()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                          env=env)
    assert proc.returncode == 2 and "exists" in proc.stderr
    assert out.read_bytes() == before

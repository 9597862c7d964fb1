"""Two workers on 127.0.0.1 under MultiWorkerMirroredStrategy (TF_CONFIG):
the same weights on both and as one device given the same global batch,
only the chief writes the run folder, and a killed worker resumes from
the last checkpoint to the uninterrupted result."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JOB = os.path.join(ROOT, "tests", "_multi_worker_job.py")
STEPS = 6
TIMEOUT = 120


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _start(run_dir, out, kill_at=0, workers=None, index=None, **env_vars):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **env_vars)
    env.pop("TF_CONFIG", None)
    if workers is not None:
        env["TF_CONFIG"] = json.dumps({
            "cluster": {"worker": [f"127.0.0.1:{p}" for p in workers]},
            "task": {"type": "worker", "index": index}})
    return subprocess.Popen(
        [sys.executable, JOB, ROOT, str(run_dir), str(STEPS), str(out),
         str(kill_at)], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)


def _finish(procs, timeout=TIMEOUT):
    """Waits for every process (killing all on timeout) -> their output."""
    deadline = time.time() + timeout
    outputs = []
    try:
        for proc in procs:
            out, _ = proc.communicate(timeout=max(1, deadline - time.time()))
            outputs.append(out)
    finally:
        _kill_all(procs)
    return outputs


def _kill_all(procs):
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def _pair(run_dir, tmp, tag, kill_at=(0, 0), **env_vars):
    ports = _free_ports(2)
    return [_start(run_dir, tmp / f"{tag}{i}.json", kill_at[i], ports, i,
                   **env_vars) for i in range(2)]


def _load(path):
    with open(path) as f:
        return json.load(f)


def _max_diff(a, b):
    tensors_a = a["weights"] + a["slots"]
    tensors_b = b["weights"] + b["slots"]
    assert len(tensors_a) == len(tensors_b) > 8
    return max(float(np.abs(np.asarray(x) - np.asarray(y)).max())
               for x, y in zip(tensors_a, tensors_b))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """An uninterrupted pair and a one-device run side by side; then a pair
    whose second worker dies after step 3 and a restarted pair."""
    tmp = tmp_path_factory.mktemp("multi_worker")
    procs = _pair(tmp / "run", tmp, "full") + [
        _start(tmp / "single", tmp / "single.json")]
    outputs = _finish(procs)
    for proc, out in zip(procs, outputs):
        assert proc.returncode == 0, out[-3000:]

    # Worker 1 kills itself when 3 steps are done (checkpoint at 2); the
    # chief then waits in a collective for ever and is ended here.
    killed = _pair(tmp / "resumed", tmp, "killed", kill_at=(0, 3))
    try:
        killed[1].wait(timeout=TIMEOUT)
    finally:
        time.sleep(1.0)
        _kill_all(killed)
    assert killed[1].returncode == -signal.SIGKILL
    steps_before = sorted(os.listdir(tmp / "resumed" / "checkpoints"))
    restarted = _pair(tmp / "resumed", tmp, "restarted")
    outputs = _finish(restarted)
    for proc, out in zip(restarted, outputs):
        assert proc.returncode == 0, out[-3000:]
    return tmp, steps_before


@pytest.mark.slow
def test_workers_match_each_other_and_one_device(runs):
    tmp, _ = runs
    chief, other = _load(tmp / "full0.json"), _load(tmp / "full1.json")
    single = _load(tmp / "single.json")
    assert (chief["replicas"], other["replicas"], single["replicas"]) == \
        (2, 2, 1)
    assert chief["step"] == other["step"] == single["step"] == STEPS
    assert _max_diff(chief, other) == 0.0
    # Same global batch on one device: equal up to the all-reduce's
    # float32 summation order.
    assert _max_diff(chief, single) < 1e-5
    assert abs(chief["loss_d"] - single["loss_d"]) < 1e-5


@pytest.mark.slow
def test_only_the_chief_writes(runs):
    tmp, _ = runs
    chief, other = _load(tmp / "full0.json"), _load(tmp / "full1.json")
    assert (chief["chief"], other["chief"]) == (True, False)
    assert chief["folder"] == str(tmp / "run")
    # Both workers were given the same run folder; the second wrote into a
    # scratch folder of its own, removed when train() returned.
    assert other["folder"] != chief["folder"]
    assert not os.path.exists(other["folder"])
    run = tmp / "run"
    assert sorted(os.listdir(run)) == ["checkpoints", "config.json",
                                       "generator.keras", "logs",
                                       "model.json", "samples"]
    assert sorted(f for f in os.listdir(run / "checkpoints")
                  if f.endswith(".index")) == [
        "ckpt-2.index", "ckpt-4.index", "ckpt-6.index"]
    assert len(os.listdir(run / "logs")) == 1  # one event file: the chief's
    config = _load(run / "config.json")
    # MultiWorkerMirroredStrategy's class is CollectiveAllReduceStrategy.
    assert config["session"]["strategy"] == "CollectiveAllReduceStrategy"
    assert config["session"]["replicas"] == 2


@pytest.mark.slow
def test_killed_worker_resumes_to_the_uninterrupted_result(runs):
    tmp, steps_before = runs
    assert "ckpt-2.index" in steps_before and "ckpt-4.index" not in \
        steps_before
    chief, other = (_load(tmp / "restarted0.json"),
                    _load(tmp / "restarted1.json"))
    assert chief["resumed_from"].endswith("ckpt-2")
    # The non-chief restored nothing itself: the chief's state was
    # broadcast to it.
    assert other["resumed_from"] is None
    assert chief["step"] == other["step"] == STEPS
    assert _max_diff(chief, other) == 0.0
    assert _max_diff(chief, _load(tmp / "full0.json")) == 0.0


@pytest.mark.slow
def test_a_refused_folder_stops_every_worker(runs):
    """The chief refuses a folder of another configuration; the other
    worker learns it and stops too instead of waiting in a collective."""
    tmp, _ = runs
    before = {f: os.path.getmtime(tmp / "run" / f)
              for f in ("config.json", "model.json")}
    procs = _pair(tmp / "run", tmp, "refused", MIXGAN_TEST_LR="1e-3")
    chief_out, other_out = _finish(procs)
    assert procs[0].returncode != 0 and procs[1].returncode != 0
    assert "optimizers" in chief_out and "learning_rate" in chief_out
    assert "The chief refused the run folder" in other_out
    assert {f: os.path.getmtime(tmp / "run" / f) for f in before} == before

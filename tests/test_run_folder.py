"""Run identity and resume safety: the run folder's name, the refusal of
another configuration, the newest readable checkpoint, the lock, and the
files written only after a successful restore."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from deep_learning.engine import run_folder
from deep_learning.engine.run_folder import RunFolderError
from deep_learning.engine.schedules import make_adam
from deep_learning.engine.training import RunFolderWarning, train
from deep_learning.models.gan import GAN
from deep_learning.models.mixture_gans import make_mixture_gan
from general_tools.data import load_dataset

G = [{"name": "g1", "op": "d", "out": 32, "act": "relu",
      "out_reshape": [4, 4, 2]},
     {"name": "g2_up", "op": "tc", "out": 1, "kernel": 4, "strides": 2,
      "act": "tanh"}]
D = [{"name": "d1", "op": "c", "out": 4, "kernel": 3, "strides": 2,
      "act": ["lrelu", 0.2], "out_reshape": [64]},
     {"name": "d2", "op": "d", "out": 1}]
TINY = dict(image_shape=(8, 8, 1), latent_dim=4, start=(2, 2, 8),
            g_widths=(4,), d_widths=(4, 8))


def _build(g=G, ema=None):
    def build():
        gan = GAN(g, D, latent_dim=5, gan_loss="logistic", seed=3,
                  ema_decay=ema)
        gan.compile(make_adam(1e-3), make_adam(1e-3))
        return gan
    return build


def _data():
    images = np.random.default_rng(0).uniform(-1, 1, (32, 8, 8, 1))
    return tf.data.Dataset.from_tensor_slices(images.astype("float32"))


def _train(run_dir, steps, build=None, **kwargs):
    options = dict(checkpoint_every=2, max_to_keep=10, image_every=0)
    options.update(kwargs.pop("callback_options", {}))
    return train(build or _build(), _data(), steps=steps, run_dir=run_dir,
                 batch_size=4, steps_per_epoch=2, verbose=0,
                 callback_options=options, **kwargs)


def _snapshot(folder):
    """Every file of a folder with its size and modification time."""
    out = {}
    for base, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(base, name)
            stat = os.stat(path)
            out[os.path.relpath(path, folder)] = (stat.st_size,
                                                  stat.st_mtime_ns)
    return out


@pytest.fixture
def run6(tmp_path):
    """A run of 6 steps with checkpoints at 2, 4 and 6."""
    run_dir = str(tmp_path / "run")
    result = _train(run_dir, 6)
    assert run_folder.checkpoint_steps(run_dir) == [2, 4, 6]
    return run_dir, result


def test_folder_name_carries_model_k_data_and_settings(tmp_path):
    """The README's snippet run with 'hmog' then 'mog' in one root gives
    two folders, both of which can be sampled afterwards."""
    data = load_dataset("mnist", image_size=8, seed=0, deterministic=True,
                        download=False)  # offline: the bundled images

    def build(model):
        def fn():
            gan = make_mixture_gan(model, k=4, n_critic=1, **TINY)
            gan.compile(make_adam(1e-4), make_adam(1e-4))
            return gan
        return fn

    runs = [train(build(m), data, steps=1, batch_size=4, verbose=0,
                  root=str(tmp_path),
                  callback_options=dict(image_every=0))
            for m in ("hmog", "mog")]
    names = [os.path.basename(r.paths.root) for r in runs]
    assert names == [
        "hmog4_mnist_bundled_wasserstein_lrd1e-04_lrg1e-04_nc1_b4_s0",
        "mog4_mnist_bundled_wasserstein_lrd1e-04_lrg1e-04_nc1_b4_s0"]
    config = run_folder.read_config(runs[0].paths)
    assert config["data"]["name"] == "mnist_bundled"
    assert config["data"]["requested"] == "mnist"
    for run in runs:
        loaded = run_folder.load_run(run.paths.root)
        assert loaded.recipe == run.model.recipe
        assert loaded.sample(2, seed=0).shape == (2, 8, 8, 1)


def test_another_configuration_is_refused_and_nothing_written(run6):
    run_dir, _ = run6
    before = _snapshot(run_dir)
    tanh = [dict(G[0], act="tanh"), G[1]]  # same shapes, other network
    with pytest.raises(RunFolderError) as info:
        _train(run_dir, 8, build=_build(tanh))
    message = str(info.value)
    assert "generator.spec[0].act: 'relu' -> 'tanh'" in message
    assert run_dir in message
    with pytest.raises(RunFolderError, match=r"train.batch_size: 4 -> 8"):
        train(_build(), _data(), steps=8, run_dir=run_dir, batch_size=8,
              steps_per_epoch=2, verbose=0)
    assert _snapshot(run_dir) == before


def test_resume_extends_the_run(run6):
    run_dir, first = run6
    result = _train(run_dir, 8)
    assert result.resumed_from.endswith("ckpt-6") and result.step == 8
    assert run_folder.checkpoint_steps(run_dir) == [2, 4, 6, 8]


def test_rollback_by_deleting_the_newest_checkpoint(run6):
    run_dir, _ = run6
    folder = os.path.join(run_dir, "checkpoints")
    older = {name: open(os.path.join(folder, name), "rb").read()
             for name in os.listdir(folder) if name.startswith("ckpt-2.")}
    for name in os.listdir(folder):
        if name.startswith("ckpt-6."):
            os.remove(os.path.join(folder, name))
    with pytest.warns(RunFolderWarning, match="names ckpt-6, which is "
                      "missing"):
        result = _train(run_dir, 8)
    assert result.resumed_from.endswith("ckpt-4") and result.step == 8
    assert run_folder.checkpoint_steps(run_dir) == [2, 4, 6, 8]
    for name, data in older.items():  # the older checkpoints are untouched
        assert open(os.path.join(folder, name), "rb").read() == data


def _truncate_newest(run_dir, step):
    folder = os.path.join(run_dir, "checkpoints")
    data = [f for f in os.listdir(folder)
            if f.startswith(f"ckpt-{step}.data")][0]
    path = os.path.join(folder, data)
    with open(path, "rb") as handle:
        content = handle.read()
    with open(path, "wb") as handle:
        handle.write(content[:len(content) // 3])
    return path


def test_truncated_newest_checkpoint_falls_back(run6):
    run_dir, _ = run6
    _truncate_newest(run_dir, 6)
    os.makedirs(os.path.join(run_dir, "checkpoints", "ckpt-7_temp"))
    # sample/evaluate: the previous checkpoint, the folder unchanged.
    before = _snapshot(run_dir)
    with pytest.warns(UserWarning, match="ckpt-6 does not restore"):
        model = run_folder.load_run(run_dir)
    assert run_folder.model_step(model) == 4
    assert _snapshot(run_dir) == before
    # training: the previous checkpoint; the broken one set aside, the
    # temporary folder of an interrupted save removed.
    with pytest.warns(RunFolderWarning, match=r"ckpt-6.*Read less bytes"):
        result = _train(run_dir, 8)
    assert result.resumed_from.endswith("ckpt-4") and result.step == 8
    folder = os.path.join(run_dir, "checkpoints")
    assert sorted(os.listdir(os.path.join(folder, "unreadable"))) == [
        "ckpt-6.data-00000-of-00001", "ckpt-6.index"]
    assert not os.path.exists(os.path.join(folder, "ckpt-7_temp"))
    assert run_folder.checkpoint_steps(run_dir) == [2, 4, 6, 8]


def test_corrupt_bytes_and_a_damaged_pointer(run6):
    run_dir, _ = run6
    folder = os.path.join(run_dir, "checkpoints")
    data = [f for f in os.listdir(folder) if f.startswith("ckpt-6.data")][0]
    path = os.path.join(folder, data)
    content = bytearray(open(path, "rb").read())
    content[5] ^= 0xFF  # the object graph, read by every restore
    open(path, "wb").write(bytes(content))
    with open(os.path.join(folder, "checkpoint"), "w") as handle:
        handle.write("garbage {{{")
    with pytest.warns(UserWarning) as record:
        model = run_folder.load_run(run_dir)
    messages = " | ".join(str(w.message) for w in record)
    assert "checkpoint is damaged" in messages
    assert "ckpt-6 does not restore" in messages
    assert run_folder.model_step(model) == 4


def test_a_folder_whose_checkpoints_all_fail_is_refused(run6):
    run_dir, _ = run6
    for step in (2, 4, 6):
        _truncate_newest(run_dir, step)
    before = _snapshot(run_dir)
    with pytest.warns(RunFolderWarning):
        with pytest.raises(RunFolderError, match=r"No checkpoint .* restores"
                           r" \(ckpt-6: .*ckpt-4: .*ckpt-2: "):
            _train(run_dir, 8)
    assert _snapshot(run_dir) == before  # no lock left, nothing written
    with pytest.warns(UserWarning), pytest.raises(RunFolderError):
        run_folder.load_run(run_dir)


def test_the_lock_keeps_a_second_process_out(run6, tmp_path):
    run_dir, _ = run6
    sleeper = subprocess.Popen([sys.executable, "-c",
                                "import time; time.sleep(60)"])
    lock = os.path.join(run_dir, ".lock")
    try:
        with open(lock, "w") as handle:
            json.dump({"pid": sleeper.pid, "host": os.uname().nodename,
                       "started": "now", "command": "other"}, handle)
        with pytest.raises(RunFolderError, match=f"in use by process "
                           f"{sleeper.pid}"):
            _train(run_dir, 8)
    finally:
        sleeper.kill()
        sleeper.wait()
    # The lock of a process that died is taken over, and released after.
    with pytest.warns(UserWarning, match="taking over the lock of process "
                      f"{sleeper.pid}"):
        result = _train(run_dir, 8)
    assert result.step == 8 and not os.path.exists(lock)


def test_generator_keras_holds_the_ema_generator(tmp_path):
    result = _train(str(tmp_path / "ema"), 4, build=_build(ema=0.5))
    model = result.model
    saved = tf.keras.models.load_model(result.paths.generator)
    for saved_var, ema in zip(saved.trainable_variables, model.ema.values()):
        np.testing.assert_array_equal(np.asarray(saved_var), np.asarray(ema))
    assert not all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in
                   zip(model.generator.trainable_variables,
                       model.ema.values()))


def test_model_json_is_written_only_after_a_restore(run6):
    run_dir, _ = run6
    os.remove(os.path.join(run_dir, "model.json"))
    for step in (2, 4, 6):
        _truncate_newest(run_dir, step)
    with pytest.warns(RunFolderWarning), pytest.raises(RunFolderError):
        _train(run_dir, 8)
    assert not os.path.exists(os.path.join(run_dir, "model.json"))


def test_config_differences_lists_paths():
    old = {"a": {"b": [1, {"c": "x"}]}, "session": {"steps": 1}}
    new = {"a": {"b": [1, {"c": "y"}], "d": 2}, "session": {"steps": 9}}
    assert run_folder.config_differences(old, new) == [
        ("a.b[1].c", "x", "y"), ("a.d", "<absent>", 2)]


def test_run_name_and_data_tag():
    assert run_folder.data_tag("lsun/church_outdoor") == "lsun-church_outdoor"
    assert run_folder.data_tag("npz:/data/my digits.npz") == "npz-my-digits"
    assert run_folder.run_name("fc", "mnist", "wasserstein", 1e-4, 2e-4, 5,
                               None, 1) == \
        "fc_mnist_wasserstein_lrd1e-04_lrg2e-04_nc5_s1"


def test_a_copy_of_a_run_folder_keeps_working(run6, tmp_path):
    """Nothing in the folder depends on its location."""
    run_dir, _ = run6
    copy = str(tmp_path / "copy")
    shutil.copytree(run_dir, copy)
    result = _train(copy, 8)
    assert result.resumed_from.startswith(copy) and result.step == 8

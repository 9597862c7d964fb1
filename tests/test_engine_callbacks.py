"""Tests of deep_learning.engine.callbacks and training.train: summaries that land
(read back from the event files and over TensorBoard's own HTTP API),
checkpoints restoring the full state, the non-finite stop, run folders."""

import glob
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
import tensorflow as tf

from deep_learning.engine import callbacks as cb
from deep_learning.models.gan import GAN
from deep_learning.engine.schedules import make_adam
from deep_learning.engine.run_folder import RunFolderError, check_config
from deep_learning.engine.training import run_name, train

G_SPEC = [{"name": "g1", "op": "d", "out": 4 * 4 * 4, "act": "relu",
           "out_reshape": [4, 4, 4]},
          {"name": "g2_up", "op": "tc", "out": 1, "kernel": 4, "strides": 2,
           "act": "tanh"}]
D_SPEC = [{"name": "d1", "op": "c", "out": 4, "kernel": 3, "strides": 2,
           "act": ["lrelu", 0.2], "w_nm": "s", "out_reshape": [64]},
          {"name": "d2", "op": "d", "out": 1}]
OPTIONS = dict(checkpoint_every=3, scalar_every=5, image_every=5,
               histogram_every=5, num_images=4)


def _images(n=64, seed=0):
    return np.random.default_rng(seed).uniform(
        -1, 1, (n, 8, 8, 1)).astype(np.float32)


def _build(cls=GAN):
    def build():
        gan = cls(G_SPEC, D_SPEC, latent_dim=6, gan_loss="wasserstein",
                  n_critic=2, gp_weight=10.0, ema_decay=0.9, seed=0)
        gan.compile(make_adam(1e-3), make_adam(1e-3))
        return gan
    return build


def _dataset():
    return tf.data.Dataset.from_tensor_slices(_images()).shuffle(64, seed=0)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("runs"))
    result = train(_build(), _dataset(), steps=10, root=root, batch_size=4,
                   steps_per_epoch=5, seed=0, verbose=0,
                   callback_options=dict(OPTIONS, real_images=_images(4, 1)),
                   config={"note": "test"})
    return result


def _event_tags(log_dir):
    tags = {}
    for path in glob.glob(os.path.join(log_dir, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                plugin = value.metadata.plugin_data.plugin_name
                tags.setdefault(value.tag, []).append(
                    (event.step, plugin, value))
    return tags


def test_run_folder_and_config(finished_run):
    paths = finished_run.paths
    # A dataset made without load_dataset is 'custom'.
    assert os.path.basename(paths.root) == \
        "gan_custom_wasserstein_lrd1e-03_lrg1e-03_nc2_b4_s0"
    with open(paths.config) as f:
        config = json.load(f)
    assert config["user"] == {"note": "test"}
    assert config["objective"]["n_critic"] == 2
    assert config["objective"]["gp_weight"] == 10.0
    assert config["generator"]["spec"][1]["name"] == "g2_up"
    assert config["optimizers"]["d"]["config"]["beta_1"] == 0.5
    assert config["train"]["batch_size"] == 4
    assert run_name("dcgan", "mnist", "wasserstein", 1e-4, 1e-4, 5, 64,
                    0) == "dcgan_mnist_wasserstein_lrd1e-04_lrg1e-04_nc5_b64_s0"
    # Same folder, another configuration: refused, naming the keys.
    changed = {**config, "objective": {**config["objective"], "n_critic": 1}}
    with pytest.raises(RunFolderError, match=r"objective.n_critic: 2 -> 1"):
        check_config(paths, changed)


def test_summaries_land_in_the_event_files(finished_run):
    tags = _event_tags(finished_run.paths.logs)
    for tag in ("loss/d", "loss/g", "penalty/gp", "grad_norm/d", "lr/g",
                "wasserstein/d_real", "sigma/discriminator/d1_sn"):
        assert tags[tag][0][1] == "scalars", tag
    assert tags["samples/grid"][0][1] == "images"
    assert tags["scores/real"][0][1] == "histograms"
    assert tags["scores/fake"][0][1] == "histograms"
    assert any(t.startswith("weights/generator/") for t in tags)
    # The scalar at step 5 is the tracker value Keras saw at the end of the
    # first epoch (5 steps).
    value = [tf.make_ndarray(v.tensor) for step, _, v in tags["loss/d"]
             if step == 5][0]
    np.testing.assert_allclose(
        value, finished_run.history.history["loss/d"][0], rtol=1e-6)
    assert [s for s, _, _ in tags["samples/grid"]] == [5, 10]
    grid = tf.io.decode_png(tf.make_ndarray(
        tags["samples/grid"][0][2].tensor)[2]).numpy()
    assert grid.shape == (16, 16, 1)          # 2 x 2 tiles of 8 x 8
    pngs = sorted(os.listdir(finished_run.paths.samples))
    assert pngs == ["grid_00000005.png", "grid_00000010.png"]


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_json(url, timeout):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


def test_tensorboard_server_serves_the_tags(finished_run):
    try:
        port = _free_port()
    except OSError as err:
        pytest.skip(f"cannot bind a loopback port: {err}")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir",
         finished_run.paths.logs, "--host", "127.0.0.1", "--port",
         str(port), "--load_fast", "false"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}/data/plugin"
    try:
        scalars = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace")
                if "Address already in use" in err or "bind" in err.lower():
                    pytest.skip(f"TensorBoard could not bind: {err[-300:]}")
                raise AssertionError(f"TensorBoard exited: {err[-2000:]}")
            try:
                scalars = _get_json(f"{base}/scalars/tags", 5)
                if scalars:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert scalars, "TensorBoard did not answer within 90 s"
        run_tags = scalars["."]
        for tag in ("loss/d", "loss/g", "penalty/gp", "lr/d"):
            assert tag in run_tags
        images = _get_json(f"{base}/images/tags", 10)
        assert "samples/grid" in images["."]
        points = _get_json(f"{base}/scalars/scalars?run=.&tag=loss%2Fd", 10)
        assert [p[1] for p in points] == [5, 10]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_checkpoint_restores_the_full_state(finished_run):
    model = finished_run.model
    path = tf.train.latest_checkpoint(finished_run.paths.checkpoints)
    assert path.endswith("ckpt-10")
    fresh = _build()()
    restored, step = cb.restore_latest(fresh, finished_run.paths.root)
    with pytest.raises(ValueError, match="checkpoints folder"):
        cb.restore_latest(fresh, finished_run.paths.checkpoints)
    assert restored == path and step == 10
    pairs = list(zip(model.variables, fresh.variables))
    for name in ("d", "g"):
        pairs += list(zip(model.optimizers_by_name()[name].variables,
                          fresh.optimizers_by_name()[name].variables))
    assert len(pairs) > 20
    for a, b in pairs:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(model.sample(3, seed=0),
                                  fresh.sample(3, seed=0))


class _NaNAfterThree(GAN):
    """The discriminator loss becomes NaN from the 4th generator step."""

    def loss_terms(self, record):
        loss_d, loss_g, logs = super().loss_terms(record)
        bad = tf.convert_to_tensor(self.step) >= 3
        # NaN in the loss and in every D gradient.
        return loss_d * tf.where(bad, np.nan, 1.0), loss_g, logs


def test_nonfinite_stop_names_loss_and_step_and_keeps_checkpoint(tmp_path,
                                                                  capfd):
    result = train(_build(_NaNAfterThree), _dataset(), steps=12,
                   run_dir=str(tmp_path / "nan_run"), batch_size=4,
                   steps_per_epoch=5, seed=0, verbose=0,
                   callback_options=dict(OPTIONS, checkpoint_every=2))
    message = result.stop_message
    assert message is not None
    assert "'loss/d' became nan at generator step 4" in message
    assert message.endswith("ckpt-2.")
    assert "'loss/d' became nan" in capfd.readouterr().err
    assert result.step == 4
    ckpt_dir = result.paths.checkpoints
    assert tf.train.latest_checkpoint(ckpt_dir).endswith("ckpt-2")
    fresh = _build()()
    _, step = cb.restore_latest(fresh, result.paths.root)
    assert step == 2
    assert all(np.isfinite(np.asarray(v)).all() for v in fresh.variables)
    # The NaN'd in-memory model is not what was saved.
    assert not all(np.isfinite(np.asarray(v)).all()
                   for v in result.model.discriminator.variables)


def test_image_grid_layout():
    images = np.stack([np.full((2, 2, 1), v) for v in (-1.0, 0.0, 1.0)])
    grid = cb.image_grid(images)
    expected = np.array([[0, 0, .5, .5], [0, 0, .5, .5],
                         [1, 1, 0, 0], [1, 1, 0, 0]], np.float32)[..., None]
    np.testing.assert_array_equal(grid, expected)
    with pytest.raises(ValueError, match="shape"):
        cb.image_grid(np.zeros((2, 2)))

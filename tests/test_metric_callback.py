"""The evaluation callback inside `training.train`: scores at the right
generator steps, equal to `evaluate_model` on the same weights, written to
TensorBoard under `eval/<metric>` and to the batch logs."""

import glob
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from deep_learning.tools.evaluate import evaluate_model
from deep_learning.models.gan import GAN
from deep_learning.tools.metric_callback import EvaluationCallback
from deep_learning.engine.schedules import make_adam
from deep_learning.engine.training import train
from general_tools.features import KerasModelExtractor
from general_tools.reference_stats import compute_reference_stats

G = [{"name": "g1", "op": "d", "out": 32, "act": "relu",
      "out_reshape": [4, 4, 2]},
     {"name": "g2_up", "op": "tc", "out": 1, "kernel": 4, "strides": 2,
      "act": "tanh"}]
D = [{"name": "d1", "op": "c", "out": 4, "kernel": 3, "strides": 2,
      "act": ["lrelu", 0.2], "out_reshape": [64]},
     {"name": "d2", "op": "d", "out": 1}]


def _build():
    gan = GAN(G, D, latent_dim=5, gan_loss="logistic", seed=2)
    gan.compile(make_adam(5e-3), make_adam(5e-3))
    return gan


def _extractor():
    rng = np.random.default_rng(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(6, name="proj")])
    model.get_layer("proj").set_weights(
        [rng.normal(size=(64, 6)).astype(np.float32), np.zeros(6, "float32")])
    return KerasModelExtractor(model)


class _LogsSpy(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen = {}

    def on_train_batch_end(self, batch, logs=None):
        step = int(np.asarray(self.model.step))
        self.seen[step] = {k: v for k, v in (logs or {}).items()
                           if k.startswith("eval/")}


def _events(log_dir, prefix="eval/"):
    found = {}
    for path in glob.glob(os.path.join(log_dir, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag.startswith(prefix):
                    found[(value.tag, event.step)] = float(
                        tf.make_ndarray(value.tensor))
    return found


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    train_images = rng.uniform(-1, 1, (40, 8, 8, 1)).astype(np.float32)
    real = np.tanh(rng.normal(size=(80, 8, 8, 1))).astype(np.float32)
    return train_images, real


def test_scores_logged_every_n_steps(data, tmp_path):
    train_images, real = data
    extractor = _extractor()
    stats = compute_reference_stats(real, extractor)
    run_dir = str(tmp_path / "run")
    metrics = ("fid", "kid", "knn")
    options = dict(kid_subsets=5, kid_subset_size=30)
    callback = EvaluationCallback(stats, extractor, metrics, every=2, num=64,
                                  seed=3, log_dir=os.path.join(run_dir,
                                                               "logs"),
                                  **options)
    spy = _LogsSpy()
    result = train(_build, tf.data.Dataset.from_tensor_slices(train_images),
                   steps=5, run_dir=run_dir, batch_size=4, steps_per_epoch=5,
                   verbose=0, callbacks=[callback, spy],
                   callback_options=dict(image_every=0))
    # Every 2 steps, and once more at the end (step 5).
    assert [h["step"] for h in callback.history] == [2, 4, 5]
    last = callback.history[-1]
    direct = evaluate_model(result.model, stats, extractor, metrics, 64,
                            seed=3, **options)["scores"]
    for name, value in direct.items():
        assert last[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name
    assert callback.history[0]["fid"] != callback.history[1]["fid"]
    assert callback.last_result["metadata"]["num_fake"] == 64
    # Batch logs: present at the evaluated steps, for later callbacks.
    assert set(spy.seen[2]) == {"eval/" + k for k in direct}
    assert spy.seen[2]["eval/fid"] == callback.history[0]["fid"]
    assert spy.seen[3] == {}
    # TensorBoard scalars at the generator steps.
    events = _events(os.path.join(run_dir, "logs"))
    for entry in callback.history:
        for name in ("fid", "kid", "knn_fake_fraction"):
            assert events[("eval/" + name, entry["step"])] == pytest.approx(
                entry[name], rel=1e-6)
    assert {step for _, step in events} == {2, 4, 5}


def test_reference_images_and_arguments(data, tmp_path):
    train_images, real = data
    extractor = _extractor()
    callback = EvaluationCallback(real, extractor, ("fid", "knn"), every=3,
                                  num=32, at_train_end=False)
    train(_build, tf.data.Dataset.from_tensor_slices(train_images), steps=4,
          run_dir=str(tmp_path / "run"), batch_size=4, steps_per_epoch=4,
          verbose=0, callbacks=[callback],
          callback_options=dict(image_every=0))
    assert [h["step"] for h in callback.history] == [3]
    stats = callback.reference
    np.testing.assert_allclose(stats.features, extractor(real), rtol=1e-6)
    with pytest.raises(ValueError, match="every"):
        EvaluationCallback(stats, extractor, every=0)
    with pytest.raises(ValueError, match="metrics"):
        EvaluationCallback(stats, extractor, metrics="fid,nope")
    with pytest.raises(ValueError, match="num"):
        EvaluationCallback(stats, extractor, num=1)

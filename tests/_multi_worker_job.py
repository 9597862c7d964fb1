"""One process of the multi-worker tests (``tests/test_multi_worker.py``).

    python _multi_worker_job.py REPO RUN_DIR STEPS OUT_JSON KILL_AT

With ``TF_CONFIG`` set it trains under ``MultiWorkerMirroredStrategy``,
without it on one device; both see the same global batch of 8. With
``KILL_AT`` > 0 the process kills itself (SIGKILL) when that many
generator steps are done; ``MIXGAN_TEST_LR`` changes the learning
rates (another configuration). The result (role, step, weights, folders) goes
to ``OUT_JSON``.
"""

import json
import os
import signal
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["CUDA_VISIBLE_DEVICES"] = ""
sys.path.insert(0, sys.argv[1])

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from deep_learning.engine import multi_worker  # noqa: E402
from deep_learning.engine.training import train  # noqa: E402
from deep_learning.models.gan import GAN  # noqa: E402

RUN_DIR, STEPS, OUT, KILL_AT = (sys.argv[2], int(sys.argv[3]), sys.argv[4],
                                int(sys.argv[5]))
strategy = (tf.distribute.MultiWorkerMirroredStrategy()
            if os.environ.get("TF_CONFIG") else tf.distribute.get_strategy())

G = [{"name": "g1", "op": "d", "out": 32, "act": "relu",
      "out_reshape": [4, 4, 2]},
     {"name": "g2_up", "op": "tc", "out": 1, "kernel": 4, "strides": 2,
      "act": "tanh"}]
D = [{"name": "d1", "op": "c", "out": 4, "kernel": 3, "strides": 2,
      "act": ["lrelu", 0.2], "act_nm": "ln", "out_reshape": [64]},
     {"name": "d2", "op": "d", "out": 1}]


LR = float(os.environ.get("MIXGAN_TEST_LR", "2e-3"))


def build():
    gan = GAN(G, D, latent_dim=5, gan_loss="wasserstein", n_critic=2,
              gp_weight=10.0, ema_decay=0.5, seed=1)
    # SGD with momentum: Adam's first steps divide tiny gradients by their
    # own size, magnifying the all-reduce's summation order.
    gan.compile(keras.optimizers.SGD(LR, momentum=0.5),
                keras.optimizers.SGD(LR, momentum=0.5))
    return gan


class KillAt(keras.callbacks.Callback):
    def on_train_batch_begin(self, batch, logs=None):
        if KILL_AT and int(self.model.step.numpy()) == KILL_AT:
            os.kill(os.getpid(), signal.SIGKILL)


x = np.random.default_rng(0).uniform(-1, 1, (64, 8, 8, 1)).astype("float32")
result = train(build, tf.data.Dataset.from_tensor_slices(x), steps=STEPS,
               batch_size=8, run_dir=RUN_DIR, strategy=strategy, seed=0,
               steps_per_epoch=2, verbose=0, callbacks=[KillAt()],
               callback_options=dict(checkpoint_every=2, image_every=2,
                                     scalar_every=1))
role = multi_worker.role_of(strategy)
model = result.model
with open(OUT, "w") as f:
    json.dump({
        "chief": role.chief, "task": role.task, "step": result.step,
        "replicas": strategy.num_replicas_in_sync,
        "resumed_from": result.resumed_from,
        "folder": result.paths.root,
        "loss_d": float(np.asarray(result.history.history["loss/d"][-1])
                        .reshape(())),
        "weights": [np.asarray(v).ravel().tolist() for v in model.variables
                    if v.dtype == "float32"],
        "slots": [np.asarray(v).ravel().tolist()
                  for v in model.d_optimizer.variables[1:]],
    }, f)

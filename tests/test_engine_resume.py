"""Resume: 2k steps in one go equal k steps, an abrupt kill, a fresh process
restoring the last checkpoint, and k more -- weights, optimiser slots, EMA
and step counter, bit for bit, with deterministic ops."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = textwrap.dedent('''
    import os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    sys.path.insert(0, sys.argv[1])
    import keras
    import numpy as np
    import tensorflow as tf
    tf.config.experimental.enable_op_determinism()
    from deep_learning.models.gan import GAN
    from deep_learning.engine.schedules import make_adam
    from deep_learning.engine.training import train

    mode, out = sys.argv[2], sys.argv[3]
    G = [{"name": "g1", "op": "d", "out": 32, "act": "relu",
          "out_reshape": [4, 4, 2]},
         {"name": "g2_up", "op": "tc", "out": 1, "kernel": 4, "strides": 2,
          "act": "tanh"}]
    D = [{"name": "d1", "op": "c", "out": 4, "kernel": 3, "strides": 2,
          "act": ["lrelu", 0.2], "act_nm": "ln", "out_reshape": [64]},
         {"name": "d2", "op": "d", "out": 1}]

    def build():
        gan = GAN(G, D, latent_dim=5, gan_loss="wasserstein", n_critic=2,
                  gp_weight=10.0, ema_decay=0.8, ema_start=1, seed=3)
        schedule = {"name": "linear", "end_learning_rate": 1e-4,
                    "decay_steps": 6}
        gan.compile(make_adam(1e-3, amsgrad=True),
                    make_adam(2e-3, schedule=schedule))
        return gan

    images = np.random.default_rng(0).uniform(-1, 1, (40, 8, 8, 1))

    def data():
        """A fresh pipeline per run: an iterated shuffled dataset object
        would continue its reshuffling sequence instead of restarting."""
        keras.utils.set_random_seed(0)
        ds = tf.data.Dataset.from_tensor_slices(images.astype("float32"))
        return ds.shuffle(40, seed=5)

    class Kill(keras.callbacks.Callback):
        """Dies like a killed process: no cleanup, no final save."""
        def __init__(self, step):
            super().__init__()
            self.at = step
        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.step) == self.at:
                os._exit(0)

    def run(run_dir, steps, callbacks=None):
        result = train(build, data(), steps=steps, run_dir=run_dir,
                       batch_size=4, steps_per_epoch=2, seed=0, verbose=0,
                       callbacks=callbacks,
                       callback_options=dict(checkpoint_every=3,
                                             image_every=0, scalar_every=1))
        m = result.model
        state = [np.asarray(v) for v in m.variables]
        for name, opt in sorted(m.optimizers_by_name().items()):
            state += [np.asarray(v) for v in opt.variables]
        np.savez(out, *state, resumed=str(result.resumed_from))

    if mode == "full":
        run(sys.argv[4], 6)
        # Second run: checkpoint at step 3, killed after step 4.
        train(build, data(), steps=6, run_dir=sys.argv[5], batch_size=4,
              steps_per_epoch=2, seed=0, verbose=0, callbacks=[Kill(4)],
              callback_options=dict(checkpoint_every=3, image_every=0))
        raise SystemExit("the kill callback did not fire")
    run(sys.argv[4], 6)
''')


@pytest.mark.slow
def test_resume_after_a_kill_matches_an_uninterrupted_run(tmp_path):
    script = tmp_path / "resume_script.py"
    script.write_text(SCRIPT)
    full, killed = str(tmp_path / "full"), str(tmp_path / "killed")
    env = dict(os.environ, PYTHONHASHSEED="0")
    first = subprocess.run(
        [sys.executable, str(script), ROOT, "full", str(tmp_path / "a.npz"),
         full, killed], capture_output=True, text=True, timeout=300, env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    ckpts = sorted(os.listdir(os.path.join(killed, "checkpoints")))
    assert "ckpt-3.index" in ckpts and not any("ckpt-4" in c for c in ckpts)

    second = subprocess.run(
        [sys.executable, str(script), ROOT, "resume",
         str(tmp_path / "b.npz"), killed], capture_output=True, text=True,
        timeout=300, env=env)
    assert second.returncode == 0, second.stderr[-3000:]

    a, b = np.load(tmp_path / "a.npz"), np.load(tmp_path / "b.npz")
    assert str(a["resumed"]) == "None"
    assert str(b["resumed"]).endswith("ckpt-3")
    keys = [k for k in a.files if k != "resumed"]
    assert len(keys) > 30 and keys == [k for k in b.files if k != "resumed"]
    for key in keys:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    # The state did move: step counter 6, a non-trivial EMA.
    steps = [a[k] for k in keys if a[k].dtype == np.int64 and a[k].ndim == 0]
    assert 6 in steps

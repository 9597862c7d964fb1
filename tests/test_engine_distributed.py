"""tf.distribute: MirroredStrategy over two logical CPU devices gives the
same losses and weights as one device on the same batch (run in a
subprocess: logical devices must be set before TensorFlow starts)."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = textwrap.dedent('''
    import json, os, sys, tempfile, time
    t0 = time.time()
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    sys.path.insert(0, sys.argv[1])
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from deep_learning.engine import callbacks as cb
    from deep_learning.models.gan import GAN
    from deep_learning.engine.schedules import make_adam
    from deep_learning.engine.training import train

    G = [{"name": "g1", "op": "d", "out": 32, "act": "relu",
          "out_reshape": [4, 4, 2]},
         {"name": "g2_up", "op": "tc", "out": 1, "kernel": 4, "strides": 2,
          "act": "tanh"}]
    D = [{"name": "d1", "op": "c", "out": 4, "kernel": 3, "strides": 2,
          "act": ["lrelu", 0.2], "act_nm": "ln", "out_reshape": [64]},
         {"name": "d2", "op": "d", "out": 1}]

    def build(adam=True):
        """Adam for train(); SGD for the comparison (Adam's first steps
        divide tiny gradients by their own size, which magnifies the
        summation-order differences of the all-reduce)."""
        keras.utils.set_random_seed(0)
        gan = GAN(G, D, latent_dim=5, gan_loss="wasserstein", n_critic=2,
                  gp_weight=10.0, ema_decay=0.5, seed=1)
        if adam:
            gan.compile(make_adam(1e-3), make_adam(1e-3))
        else:
            gan.compile(keras.optimizers.SGD(2e-3, momentum=0.5),
                        keras.optimizers.SGD(2e-3, momentum=0.5))
        return gan

    # 3 generator steps, global batch 8 per critic step, stacked layout.
    x = np.random.default_rng(0).uniform(-1, 1, (24, 2, 8, 8, 1))
    def data():
        return tf.data.Dataset.from_tensor_slices(
            x.astype("float32")).batch(8)

    out = {}
    for name, strategy in (
            ("single", tf.distribute.get_strategy()),
            ("mirrored", tf.distribute.MirroredStrategy(
                ["/cpu:0", "/cpu:1"]))):
        with strategy.scope():
            gan = build(adam=False)
        hist = gan.fit(data(), epochs=1, verbose=0).history
        out[name] = {
            "replicas": strategy.num_replicas_in_sync,
            "logs": {k: v[-1] for k, v in hist.items()},
            "weights": [np.asarray(v).tolist() for v in gan.variables
                        if v.dtype == "float32"],
            "slots": [np.asarray(v).tolist()
                      for v in gan.d_optimizer.variables[1:]],
            "mirrored": type(gan.discriminator.variables[0].value).__name__,
        }

    # train() under the strategy, then restore on one device.
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    run_dir = tempfile.mkdtemp()
    result = train(build, tf.data.Dataset.from_tensor_slices(
        x.reshape(-1, 8, 8, 1).astype("float32")), steps=3, batch_size=8,
        run_dir=run_dir, strategy=mirrored, verbose=0,
        callback_options=dict(checkpoint_every=3, image_every=3))
    fresh = build()
    _, step = cb.restore_latest(fresh, run_dir)
    out["train"] = {
        "step": step,
        "max_diff": max(float(np.abs(np.asarray(a) - np.asarray(b)).max())
                        for a, b in zip(result.model.variables,
                                        fresh.variables)),
    }
    out["seconds"] = time.time() - t0
    print("RESULT" + json.dumps(out))
''')


@pytest.mark.slow
def test_mirrored_two_cpus_matches_one_device(tmp_path):
    script = tmp_path / "dist_script.py"
    script.write_text(SCRIPT)
    proc = subprocess.run([sys.executable, str(script), ROOT],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")]
    res = json.loads(line[-1][len("RESULT"):])
    single, mirrored = res["single"], res["mirrored"]
    assert single["replicas"] == 1 and mirrored["replicas"] == 2
    assert mirrored["mirrored"] == "MirroredVariable"
    for key in ("loss/d", "loss/g", "penalty/gp", "wasserstein/d_real",
                "wasserstein/d_fake"):
        assert abs(single["logs"][key] - mirrored["logs"][key]) <= \
            1e-5 * (1.0 + abs(single["logs"][key])), key
    assert len(single["weights"]) == len(mirrored["weights"]) > 8
    for a, b in zip(single["weights"] + single["slots"],
                    mirrored["weights"] + mirrored["slots"]):
        assert np.abs(np.asarray(a) - np.asarray(b)).max() < 1e-5
    assert res["train"]["step"] == 3
    assert res["train"]["max_diff"] == 0.0

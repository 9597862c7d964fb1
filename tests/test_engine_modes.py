"""XLA and mixed-precision smoke runs of the engine on CPU, schedules and the
run-folder helpers."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from deep_learning.models.gan import GAN
from deep_learning.engine.schedules import (LinearDecay, PlateauHalving,
                                     get_schedule, make_adam)
from deep_learning.engine.training import dtype_policy_scope, resolve_precision

G_SPEC = [{"name": "g1", "op": "d", "out": 32, "act": "relu",
           "out_reshape": [4, 4, 2]},
          {"name": "g2_up", "op": "tc", "out": 1, "kernel": 4, "strides": 2,
           "act": "tanh"}]
D_SPEC = [{"name": "d1", "op": "c", "out": 4, "kernel": 3, "strides": 2,
           "act": ["lrelu", 0.2], "out_reshape": [64]},
          {"name": "d2", "op": "d", "out": 1}]


def _fixed_codes(n, seed):
    """A deterministic 'latent' without RNG ops: XLA's Philox differs from
    TensorFlow's kernels, so random draws are not comparable across the
    two; arithmetic is."""
    i = tf.cast(tf.range(n * 5), tf.float32)
    return tf.reshape(tf.sin(i * 1.7 + tf.cast(seed[1] % 97, tf.float32)),
                      (n, 5))


def _gan(**kwargs):
    keras.utils.set_random_seed(0)
    gan = GAN(G_SPEC, D_SPEC, latent_dim=5, latent=_fixed_codes,
              gan_loss="wasserstein", n_critic=1, gp_weight=10.0, seed=0,
              **kwargs)
    return gan


def _batch():
    return np.random.default_rng(0).uniform(-1, 1, (8, 8, 8, 1)).astype(
        np.float32)


def test_xla_compiles_the_double_gradient_step():
    eager = _gan()
    eager.compile(make_adam(1e-3), make_adam(1e-3), jit_compile=False)
    xla = _gan()
    xla.compile(make_adam(1e-3), make_adam(1e-3), jit_compile=True)
    assert xla.jit_compile is True
    a = eager.train_on_batch(_batch(), return_dict=True)
    b = xla.train_on_batch(_batch(), return_dict=True)
    # The first critic loss only depends on the initial weights and the
    # (arithmetic) codes; the penalty depends on the interpolation draw.
    np.testing.assert_allclose(b["loss/d"], a["loss/d"], rtol=1e-4)
    assert all(np.isfinite(v) for v in b.values())
    assert b["penalty/gp"] > 0
    b2 = xla.train_on_batch(_batch(), return_dict=True)
    assert int(xla.step) == 2 and np.isfinite(b2["loss/g"])


def test_mixed_bfloat16_computes_in_bfloat16_with_float32_losses():
    ref = _gan()
    with dtype_policy_scope("mixed_bfloat16"):
        gan = _gan()
    assert keras.config.dtype_policy().name == "float32"   # restored
    conv = gan.discriminator.get_layer("d1_conv")
    assert conv.compute_dtype == "bfloat16"
    assert conv.kernel.dtype == "float32"
    for model in (ref, gan):
        model.compile(make_adam(1e-3), make_adam(1e-3))
    assert not isinstance(gan.d_optimizer,
                          keras.optimizers.LossScaleOptimizer)
    a = ref.train_on_batch(_batch(), return_dict=True)
    b = gan.train_on_batch(_batch(), return_dict=True)
    for key in ("loss/d", "wasserstein/d_real", "wasserstein/d_fake"):
        np.testing.assert_allclose(b[key], a[key], rtol=0.05, atol=0.02)
    assert all(isinstance(v, float) and np.isfinite(v) for v in b.values())
    assert gan.sample(2, seed=0).dtype == np.float32


def test_mixed_float16_wraps_every_optimizer_in_loss_scaling():
    with dtype_policy_scope("mixed_float16"):
        gan = _gan()
    assert gan.uses_float16()
    gan.compile(make_adam(1e-3), make_adam(1e-3))
    for opt in gan.optimizers_by_name().values():
        assert isinstance(opt, keras.optimizers.LossScaleOptimizer)
    logs = gan.train_on_batch(_batch(), return_dict=True)
    assert np.isfinite(logs["loss/d"]) and np.isfinite(logs["grad_norm/d"])
    # Gradient norms are reported unscaled (loss scale 2**15).
    assert logs["grad_norm/g"] < 1e3
    with pytest.raises(ValueError, match="precision"):
        resolve_precision("float64")


def test_linear_decay_and_schedule_specs():
    s = LinearDecay(1e-3, 1e-4, decay_steps=10, start_step=5)
    values = [float(s(t)) for t in (0, 5, 10, 15, 30)]
    np.testing.assert_allclose(values, [1e-3, 1e-3, 5.5e-4, 1e-4, 1e-4],
                               rtol=1e-6)
    assert LinearDecay.from_config(s.get_config()).get_config() == \
        s.get_config()
    assert get_schedule(2e-4) == 2e-4
    spec = get_schedule(2e-4, {"name": "linear", "decay_steps": 4})
    assert float(spec(2)) == pytest.approx(1e-4)
    with pytest.raises(ValueError, match="decay_steps"):
        get_schedule(1e-3, {"name": "linear"})
    with pytest.raises(ValueError, match="Unknown schedule"):
        get_schedule(1e-3, {"name": "cosine"})
    opt = make_adam(1e-4, amsgrad=True)
    assert (opt.beta_1, opt.beta_2, opt.epsilon, opt.amsgrad) == \
        (0.5, 0.999, 1e-8, True)
    with pytest.raises(ValueError, match="beta_1"):
        make_adam(1e-4, beta_1=1.0)


def test_plateau_halving_cuts_after_patience():
    gan = _gan()
    gan.compile(make_adam(1e-3), make_adam(4e-4))
    plateau = PlateauHalving("fid", patience=2, min_lr=1.5e-4, verbose=0)
    plateau.set_model(gan)
    plateau.on_train_begin()
    lrs = []
    for epoch, fid in enumerate([10.0, 9.0, 9.5, 9.2, 9.4, 9.3, 8.0]):
        plateau.on_epoch_end(epoch, {"fid": fid})
        lrs.append((float(gan.d_optimizer.learning_rate),
                    float(gan.g_optimizer.learning_rate)))
    # No improvement at epochs 2 and 3 -> cut; 4 and 5 -> cut again.
    expected = [(1e-3, 4e-4)] * 3 + [(5e-4, 2e-4)] * 2 + \
        [(2.5e-4, 1.5e-4)] * 2
    np.testing.assert_allclose(lrs, expected, rtol=1e-6)
    assert float(plateau.state_variables()["best"].numpy()) == 8.0
    with pytest.raises(ValueError, match="monitor"):
        plateau.on_epoch_end(7, {"loss/g": 1.0})

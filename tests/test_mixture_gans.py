"""The six mixture models: their losses against numpy, and short fits."""

import numpy as np
import pytest
import tensorflow as tf

from deep_learning.models.mixture_gans import (MADGAN, MEGAN, MGAN, MODELS,
                                               generator_spec,
                                               make_mixture_gan)
from experiment_spec.recipes import objective_of
from deep_learning.engine.schedules import make_adam
from deep_learning.models.step_record import StepRecord

TINY = dict(image_shape=(8, 8, 1), latent_dim=4, start=(2, 2, 8),
            g_widths=(4,), d_widths=(4, 8))


def _np_ce(logits, labels):
    logits = logits - logits.max(1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    return -logp[np.arange(len(labels)), labels].mean()


def _np_bce(logits, target):
    p = 1 / (1 + np.exp(-logits))
    return -(target * np.log(p) + (1 - target) * np.log(1 - p)).mean()


def _record(gan, s_real, s_fake, codes):
    """A step record of ``codes`` latent codes whose fakes scored
    ``s_fake`` (multi-head models: the head of each fake comes from the
    draw, as in training)."""
    z, extras = gan.draw_latent(codes, gan._seed(0, 0))
    return StepRecord(real=None, labels=None, z=z, latent=extras, fake=None,
                      s_real=s_real, s_fake=s_fake, step=0, seed=None)


def test_madgan_losses_match_numpy():
    rng = np.random.default_rng(0)
    gan = make_mixture_gan("madgan", k=3, **TINY)
    s_real = rng.normal(size=(4, 4)).astype("float32")
    s_fake = rng.normal(size=(12, 4)).astype("float32")
    loss_d, loss_g, _ = gan.loss_terms(_record(gan, s_real, s_fake, 4))
    labels = np.repeat(np.arange(3), 4) + 1  # generator-major
    ref_d = _np_ce(s_real, np.zeros(4, int)) + _np_ce(s_fake, labels)
    ref_g = _np_ce(s_fake, np.zeros(12, int))  # -log D_0, non-saturating
    assert float(loss_d) == pytest.approx(ref_d, rel=1e-5)
    assert float(loss_g) == pytest.approx(ref_g, rel=1e-5)
    sat = make_mixture_gan("madgan", k=3, saturating=True, **TINY)
    _, loss_sat, _ = sat.loss_terms(_record(sat, s_real, s_fake, 4))
    # The generator step has no real scores; its loss_d drops their term.
    loss_d_g, loss_g_g, _ = gan.loss_terms(_record(gan, None, s_fake, 4))
    assert float(loss_g_g) == float(loss_g)
    assert float(loss_d_g) == pytest.approx(_np_ce(s_fake, labels), rel=1e-5)
    p0 = np.exp(s_fake[:, 0]) / np.exp(s_fake).sum(1)
    assert float(loss_sat) == pytest.approx(np.log(1 - p0).mean(), rel=1e-4)


def test_mgan_losses_match_numpy():
    rng = np.random.default_rng(1)
    gan = make_mixture_gan("mgan", k=2, beta=0.5, **TINY)
    s_real = rng.normal(size=(6, 3)).astype("float32")
    s_fake = rng.normal(size=(6, 3)).astype("float32")
    # MGAN draws B // K codes per update: 6 real images, 3 codes, 6 fakes.
    assert int(gan.latent_batch_size(6)) == 3
    loss_d, loss_g, logs = gan.loss_terms(_record(gan, s_real, s_fake, 3))
    ce = _np_ce(s_fake[:, 1:], np.repeat(np.arange(2), 3))
    ref_d = _np_bce(s_real[:, 0], 1) + _np_bce(s_fake[:, 0], 0) + 0.5 * ce
    ref_g = _np_bce(s_fake[:, 0], 1) + 0.5 * ce
    assert float(loss_d) == pytest.approx(ref_d, rel=1e-5)
    assert float(loss_g) == pytest.approx(ref_g, rel=1e-5)
    assert float(logs["mgan/classifier_ce"]) == pytest.approx(ce, rel=1e-5)


def test_megan_load_balance_matches_numpy():
    gan = make_mixture_gan("megan", k=3, lb_weight=10.0, **TINY)
    z = tf.random.stateless_normal((16, 4), [1, 2])
    seed = tf.constant([3, 4], tf.int64)
    loss = float(gan.load_balance_loss(z, seed))
    _, logits = gan.gate.experts_and_logits(z)
    u = tf.random.stateless_uniform((16, 3), seed, alg="philox").numpy()
    g = -np.log(-np.log(u + 1e-20) + 1e-20)
    y = np.exp(logits.numpy() + g)
    y /= y.sum(1, keepdims=True)
    share = y.sum(0) / y.sum()
    assert loss == pytest.approx(10 * np.mean((share - 1 / 3) ** 2), rel=1e-4)


def test_megan_balancing_is_an_extra_update_of_the_gate_only():
    """The engine runs MEGAN's load balancing as an extra update: one
    optimiser step on the gate's projection and gate weights with the
    gradient of load_balance_loss; the experts and B_s do not move."""
    gan = make_mixture_gan("megan", k=3, lb_weight=10.0, **TINY)
    gan.compile(make_adam(1e-4), make_adam(1e-4),
                lb_optimizer=tf.keras.optimizers.SGD(0.5))
    (update,) = gan.extra_updates()
    assert update.name == "lb" and update.optimizer is gan.lb_optimizer
    gating = {id(v) for v in gan.gate.gating_weights}
    assert {id(v) for v in update.variables} == gating
    before = {v.path: v.numpy().copy() for v in gan.generator.variables}
    step = tf.constant(7, tf.int64)
    with tf.GradientTape() as tape:
        expected, _ = update.loss_fn(step)
    grads = tape.gradient(expected, update.variables)
    logs = gan._extra_update(update, step)
    assert float(logs["megan/load_balance"]) == pytest.approx(
        float(expected), rel=1e-6)
    assert float(logs["grad_norm/lb"][0]) == pytest.approx(
        float(tf.linalg.global_norm(grads)), rel=1e-5)
    moved = {v.path for v in gan.generator.variables
             if np.abs(v.numpy() - before[v.path]).max() > 0}
    assert moved == {v.path for v in update.variables}
    for var, grad in zip(update.variables, grads):
        np.testing.assert_allclose(var.numpy(),
                                   before[var.path] - 0.5 * grad.numpy(),
                                   rtol=1e-5, atol=1e-7)


def test_model_classes_and_specs():
    assert isinstance(make_mixture_gan("madgan", k=2, **TINY), MADGAN)
    assert isinstance(make_mixture_gan("mgan", k=2, **TINY), MGAN)
    assert isinstance(make_mixture_gan("megan", k=2, **TINY), MEGAN)
    hmog = make_mixture_gan("hmog", k=4, **TINY)
    assert hmog.gan_loss == "wasserstein" and hmog.n_critic == 5
    assert hmog.gp_weight == 10.0
    with pytest.raises(ValueError, match="power of two"):
        generator_spec("hmog", 6)
    with pytest.raises(ValueError, match="unknown mixture model 'moe'"):
        generator_spec("moe", 4)
    with pytest.raises(ValueError, match="K >= 2"):
        make_mixture_gan("mog", k=1, **TINY)


def test_alternative_objectives():
    # The authors' objectives by default, the two alternatives on request.
    assert objective_of("megan") == ("logistic", 5)
    assert objective_of("megan", "wasserstein") == ("wasserstein", 5)
    assert objective_of("hmog", "logistic") == ("logistic", 5)
    megan = make_mixture_gan("megan", k=2, objective="wasserstein", **TINY)
    assert isinstance(megan, MEGAN) and megan.lb_weight == 1.0
    assert (megan.gan_loss, megan.n_critic, megan.gp_weight) == (
        "wasserstein", 5, 10.0)
    fc = make_mixture_gan("fc", objective="logistic", **TINY)
    assert (fc.gan_loss, fc.n_critic, fc.gp_weight) == ("logistic", 5, 0.0)
    with pytest.raises(ValueError, match="own \\(K\\+1\\)-way"):
        objective_of("madgan", "wasserstein")
    with pytest.raises(ValueError, match="objective must be None or one of"):
        make_mixture_gan("mog", k=2, objective="hinge", **TINY)


@pytest.mark.parametrize("model", MODELS)
def test_each_model_trains_a_few_steps(model):
    # n_critic 2 instead of the paper's 5 keeps the traced step small.
    extra = {} if model in ("madgan", "mgan") else {"n_critic": 2}
    gan = make_mixture_gan(model, k=2, **TINY, **extra)
    gan.compile(make_adam(1e-4, amsgrad=True), make_adam(1e-4, amsgrad=True))
    data = np.random.default_rng(2).uniform(-1, 1, (40 * gan.n_critic, 8, 8, 1))
    before = [w.numpy().copy() for w in gan.generator.trainable_weights]
    hist = gan.fit(data.astype("float32"), batch_size=4 * gan.n_critic,
                   epochs=1, steps_per_epoch=2, verbose=0)
    assert int(gan.step.numpy()) == 2
    assert np.isfinite(hist.history["loss/d"]).all()
    assert np.isfinite(hist.history["loss/g"]).all()
    after = gan.generator.trainable_weights
    assert any(np.abs(a.numpy() - b).max() > 0 for a, b in zip(after, before))
    images = gan.sample(5, seed=0)
    assert images.shape == (5, 8, 8, 1)
    assert np.abs(images).max() <= 1
    if model == "megan":
        assert int(gan.lb_optimizer.iterations.numpy()) == 2
        assert "megan/load_balance" in hist.history
    if model in ("madgan", "mgan"):
        per = gan.per_generator_samples(3, seed=0)
        assert per.shape == (2, 3, 8, 8, 1)

"""The mixture recipes (plain data, no TensorFlow) and what the library
builds from them: one record per model decides its class, objective,
discriminator, normalisation and how its generators are told apart."""

import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from deep_learning.models import generator_assignment as assignment
from deep_learning.models.gan import GAN
from deep_learning.models.mixture_gans import (MADGAN, MEGAN, MGAN,
                                               discriminator_spec,
                                               generator_spec,
                                               make_mixture_gan, mixture_gan)
from experiment_spec import recipes

TINY = dict(image_shape=(8, 8, 1), latent_dim=4, start=(2, 2, 8),
            g_widths=(4,), d_widths=(4, 8))


def test_recipes_import_no_tensorflow():
    code = ("import sys; import experiment_spec.recipes; "
            "print('tensorflow' in sys.modules, 'numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("name, cls, loss, n_critic, outputs", [
    ("fc", GAN, "wasserstein", 5, 1), ("mog", GAN, "wasserstein", 5, 1),
    ("hmog", GAN, "wasserstein", 5, 1), ("megan", MEGAN, "logistic", 5, 1),
    ("madgan", MADGAN, "logistic", 1, 5), ("mgan", MGAN, "logistic", 1, 5)])
def test_each_recipe_builds_the_authors_model(name, cls, loss, n_critic,
                                              outputs):
    gan = make_mixture_gan(name, k=4, **TINY)
    assert type(gan) is cls and gan.recipe == name
    assert (gan.gan_loss, gan.n_critic) == (loss, n_critic)
    assert gan.gp_weight == (10.0 if loss == "wasserstein" else 0.0)
    assert gan.score_shape == (outputs,)
    assert assignment.num_generators(gan) == (1 if name == "fc" else 4)
    # The batch-norm rule: MADGAN and MGAN only, in B_s and D alike.
    g, d = generator_spec(name, 4), discriminator_spec(name, 4)
    bn = [layer.get("act_nm") == "bn" for layer in g + d
          if layer.get("op") in ("tc", "c")][:-1]
    assert any(bn) == (name in ("madgan", "mgan"))
    # The recipe survives serialisation.
    clone = type(gan).from_config(gan.get_config())
    assert clone.recipe == name


def test_k_rules_and_names():
    assert recipes.names() == ["fc", "mog", "hmog", "megan", "madgan",
                               "mgan"]
    assert recipes.check_k("hmog", 16) == 16
    for name, k, match in [("hmog", 12, "power of two"),
                           ("mog", 1, "K >= 2"), ("madgan", 0, "K >= 2"),
                           ("hmog", 2.0, "integer")]:
        with pytest.raises(ValueError, match=match):
            recipes.check_k(name, k)
    assert recipes.run_tag("fc", 16) == "fc"
    assert recipes.run_tag("hmog", 16) == "hmog16"
    with pytest.raises(ValueError, match="unknown mixture model 'tree'"):
        recipes.get("tree")


def test_networks_from_dicts_applies_the_recipe():
    b_s = [{"name": "b1", "op": "tc", "out": 4, "kernel": 4, "strides": 2,
            "act": "relu", "in_reshape": [2, 2, 8]},
           {"name": "b2", "op": "tc", "out": 1, "kernel": 4, "strides": 2,
            "act": "tanh"}]
    d = [{"name": "d1", "op": "c", "out": 4, "kernel": 4, "strides": 2,
          "act_nm": "ln", "out_reshape": [-1]},
         {"name": "d2", "op": "d", "out": 1}]
    g, dis = recipes.networks_from_dicts("mgan", 3, b_s, d, [2, 2, 8])
    assert [layer["op"] for layer in g] == ["heads", "fold_heads", "tc",
                                            "tc"]
    assert g[0]["out"] == 32 and g[0]["heads"] == 3
    assert (g[2]["act_nm"], g[2]["nm_pos"]) == ("bn", "after")
    assert "act_nm" not in g[3]
    assert (dis[0]["act_nm"], dis[-1]["out"]) == ("bn", 4)
    # The script's dicts are left as they were.
    assert d[0]["act_nm"] == "ln" and d[-1]["out"] == 1
    g, dis = recipes.networks_from_dicts("hmog", 8, b_s, d, [2, 2, 8])
    assert g[0] == {"name": "tree", "op": "hmog", "out": 32, "depth": 3}
    assert dis == d and dis is not d


def _toy(name, generator):
    disc = [{"op": "d", "out": 4, "act": "relu"},
            {"op": "d", "out": recipes.get(name).d_outputs(3)}]
    return mixture_gan(name, generator, disc, 3, latent_dim=2, seed=0)


def test_tree_assignment_is_the_most_responsible_leaf():
    gan = _toy("mog", [{"op": "mog", "out": 2, "leaves": 3}])
    z = np.random.default_rng(0).normal(size=(50, 2)).astype("float32")
    out, idx = assignment.outputs_and_generators(gan, z)
    probs = assignment.responsibilities(gan, z)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(idx, probs.argmax(1))
    np.testing.assert_allclose(out, gan.generator(z).numpy(), rtol=1e-6)


def test_gumbel_assignment_names_the_expert_the_forward_pass_used():
    """A gate-only MEGAN generator outputs exactly its chosen expert's
    linear map of z, so each point must equal that expert's output."""
    gan = _toy("megan", [{"op": "megan", "out": 2, "experts": 3, "proj": 2,
                          "expert_act": "linear"}])
    gate = assignment._gate(gan)
    z = np.random.default_rng(1).normal(size=(200, 2)).astype("float32")
    first, idx = assignment.outputs_and_generators(gan, z)
    h, _ = gate.experts_and_logits(tf.constant(z))
    np.testing.assert_allclose(first, h.numpy()[np.arange(200), idx],
                               rtol=1e-5, atol=1e-6)
    assert len(np.unique(idx)) == 3
    # The gate's noise moved on as after one forward pass: a second call
    # draws other choices.
    _, again = assignment.outputs_and_generators(gan, z)
    assert (again != idx).any()
    probs = assignment.responsibilities(gan, z)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-6)


def test_heads_assignment_is_generator_major():
    gan = _toy("madgan", [{"op": "heads", "out": 2, "heads": 3},
                          {"op": "fold_heads"}])
    z = np.zeros((4, 2), np.float32)
    out, idx = assignment.outputs_and_generators(gan, z)
    assert out.shape == (12, 2)
    np.testing.assert_array_equal(idx, np.repeat([0, 1, 2], 4))
    assert assignment.responsibilities(gan, z) is None


def test_a_model_without_recipe_is_one_generator():
    gan = GAN([{"op": "d", "out": 2}], [{"op": "d", "out": 1}], latent_dim=2)
    z = np.ones((3, 2), np.float32)
    out, idx = assignment.outputs_and_generators(gan, z)
    assert out.shape == (3, 2) and (idx == 0).all()
    assert assignment.num_generators(gan) == 1

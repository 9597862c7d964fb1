"""Mixture layers: tree probabilities, outputs and the authors' parameter
counts."""

import numpy as np
import pytest
import tensorflow as tf

from deep_learning.network import architectures as arch
from deep_learning.network.builder import ArchitectureError, build_network, count_params
from deep_learning.models.mixture_layers import (FoldHeads, MEGANGate, TreeMixture,
                                    find_layer, tree_path_matrix)


def _numpy_node_probs(gate_logits, depth):
    """Per-node recursion in plain numpy (the authors' node_densities)."""
    sig = 1 / (1 + np.exp(-gate_logits))
    n_nodes = 2 ** (depth + 1) - 1
    dens = np.zeros((gate_logits.shape[0], n_nodes))
    dens[:, 0] = 1
    for it in range(1, n_nodes):
        parent = (it + 1) // 2 - 1
        left = it % 2 == 1
        dens[:, it] = dens[:, parent] * (sig[:, parent] if left
                                         else 1 - sig[:, parent])
    return dens


@pytest.mark.parametrize("depth", [1, 3])
def test_binary_tree_node_probabilities(depth):
    rng = np.random.default_rng(0)
    layer = TreeMixture(5, depth)
    z = rng.normal(size=(7, 4)).astype("float32")
    layer(z)
    layer.gate_kernel.assign(rng.normal(size=layer.gate_kernel.shape))
    layer.gate_bias.assign(rng.normal(size=layer.gate_bias.shape))
    logits = z @ layer.gate_kernel.numpy() + layer.gate_bias.numpy()
    ref = _numpy_node_probs(logits.astype(np.float64), depth)
    got = layer.node_probabilities(z).numpy()
    assert got.shape == (7, 2 ** (depth + 1) - 1)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[:, -2 ** depth:].sum(1), 1, rtol=1e-5)


def test_ternary_tree_probabilities():
    rng = np.random.default_rng(1)
    layer = TreeMixture(3, depth=2, branching=3)
    z = rng.normal(size=(4, 2)).astype("float32")
    layer(z)
    logits = (z @ layer.gate_kernel.numpy() + layer.gate_bias.numpy())
    soft = np.exp(logits.reshape(4, 4, 3))
    soft /= soft.sum(-1, keepdims=True)  # 4 internal nodes x 3 children
    probs = layer.node_probabilities(z).numpy()
    assert probs.shape == (4, 13)
    for node in range(1, 13):
        parent, slot = (node - 1) // 3, (node - 1) % 3
        np.testing.assert_allclose(probs[:, node],
                                   probs[:, parent] * soft[:, parent, slot],
                                   rtol=1e-5)
    np.testing.assert_allclose(probs[:, 4:].sum(1), 1, rtol=1e-5)


def test_path_matrix_small():
    a = tree_path_matrix(2)
    # node 5 (right child of node 2, which is the right child of the root):
    # edges root->right (index 1) and node2->left... node 5 = 2*2+1 -> left.
    assert a[:, 5].nonzero()[0].tolist() == [1, 4]
    assert a.sum(0).tolist() == [0, 1, 1, 2, 2, 2, 2]


def test_tree_output_is_mixture_of_linear_leaves():
    rng = np.random.default_rng(2)
    layer = TreeMixture(6, depth=2)
    z = rng.normal(size=(5, 3)).astype("float32")
    layer(z)
    layer.leaf_bias.assign(rng.normal(size=layer.leaf_bias.shape))
    pi = layer.leaf_probabilities(z).numpy()
    w = layer.leaf_kernel.numpy().reshape(3, 4, 6)
    b = layer.leaf_bias.numpy()
    ref = sum(pi[:, m:m + 1] * (z @ w[:, m, :] + b[m]) for m in range(4))
    np.testing.assert_allclose(layer(z).numpy(), ref, rtol=1e-4, atol=1e-5)
    # gradients reach the gates
    with tf.GradientTape() as tape:
        out = tf.reduce_sum(layer(z) ** 2)
    g = tape.gradient(out, layer.gate_kernel)
    assert np.abs(g.numpy()).sum() > 0


# Generator parameter counts (z=100, h=4096, excluding B_s) of the HMoG
# authors' code.
MOG = {4: 1_655_188, 8: 3_310_376, 16: 6_620_752, 32: 13_241_504}
HMOG = {4: 1_655_087, 8: 3_310_275, 16: 6_620_651, 32: 13_241_403}


@pytest.mark.parametrize("k", [4, 8, 16, 32])
def test_parameter_counts_match_authors(k):
    depth = int(np.log2(k))
    hmog = build_network([{"op": "hmog", "out": 4096, "depth": depth}], (100,))
    mog = build_network([{"op": "mog", "out": 4096, "leaves": k}], (100,))
    assert count_params(hmog) == HMOG[k]
    assert count_params(mog) == MOG[k]


def test_fc_megan_madgan_parameter_counts():
    fc = build_network([{"op": "d", "out": 4096, "act": "relu",
                         "init": "dcgan"}], (100,))
    assert count_params(fc) == 413_696
    megan = build_network([{"op": "megan", "out": 4096, "experts": 4}], (100,))
    assert count_params(megan) == 2_066_488
    megan8 = build_network([{"op": "megan", "out": 4096, "experts": 8}], (100,))
    assert count_params(megan8) == 3_726_476
    madgan = build_network([{"op": "heads", "out": 4096, "heads": 4,
                             "act": "relu", "act_nm": "bn", "nm_pos": "after"},
                            {"op": "fold_heads"}], (100,))
    assert count_params(madgan) == 1_687_552  # incl. BN affine


def test_full_hmog_generator_builds_32x32():
    spec = [{"name": "tree", "op": "hmog", "out": 4096, "depth": 2}]
    spec += arch.dcgan_block()
    g = build_network(spec, (100,))
    assert g.output_shape == (None, 32, 32, 1)
    assert count_params(g) == HMOG[4] + 656_577
    tree = find_layer(g, TreeMixture)
    assert tree.num_leaves == 4


def test_heads_fold_generator_major():
    rng = np.random.default_rng(3)
    net = build_network([{"op": "heads", "out": 2, "heads": 3},
                         {"op": "fold_heads"}], (4,))
    z = rng.normal(size=(5, 4)).astype("float32")
    out = net(z).numpy()
    assert out.shape == (15, 2)
    w, b = [v.numpy() for v in net.weights]
    for k in range(3):
        ref = z @ w[:, 2 * k:2 * k + 2] + b[2 * k:2 * k + 2]
        np.testing.assert_allclose(out[5 * k:5 * (k + 1)], ref, rtol=1e-5,
                                   atol=1e-6)
    assert FoldHeads().compute_output_shape((5, 3, 2)) == (15, 2)


def test_megan_forward_selects_one_expert_and_gradients_reach_gate():
    rng = np.random.default_rng(4)
    layer = MEGANGate(6, experts=3, seed=1)
    z = tf.constant(rng.normal(size=(8, 4)).astype("float32"))
    with tf.GradientTape() as tape:
        out = layer(z)
        loss = tf.reduce_sum(out ** 2)
    h, _ = layer.experts_and_logits(z)
    h = h.numpy()
    for b in range(8):
        dists = [np.abs(out.numpy()[b] - h[b, k]).max() for k in range(3)]
        assert min(dists) < 1e-6  # exactly one expert's output
    grads = tape.gradient(loss, layer.gating_weights)
    assert all(g is not None and np.abs(g.numpy()).sum() > 0 for g in grads)


def test_mixture_op_errors():
    with pytest.raises(ArchitectureError, match=r"key 'depth'"):
        build_network([{"op": "hmog", "out": 8}], (4,))
    with pytest.raises(ArchitectureError, match=r"key 'leaves': expected an "
                       r"integer >= 2"):
        build_network([{"op": "mog", "out": 8, "leaves": 1}], (4,))
    with pytest.raises(ArchitectureError, match="expects a flat"):
        build_network([{"op": "hmog", "out": 8, "depth": 2}], (4, 4, 1))


def test_per_head_input_and_megan_linear_experts():
    rng = np.random.default_rng(5)
    net = build_network([{"op": "heads", "out": 3, "heads": 2, "act": "tanh"},
                         {"name": "h2", "op": "heads", "out": 2, "heads": 2},
                         {"op": "fold_heads"}], (4,))
    z = rng.normal(size=(5, 4)).astype("float32")
    w1, b1, w2, b2 = [v.numpy() for v in net.weights]
    assert w2.shape == (2, 3, 2)  # one (3 -> 2) kernel per head
    out = net(z).numpy()
    for k in range(2):
        hidden = np.tanh(z @ w1[:, 3 * k:3 * k + 3] + b1[3 * k:3 * k + 3])
        ref = hidden @ w2[k] + b2[2 * k:2 * k + 2]
        np.testing.assert_allclose(out[5 * k:5 * k + 5], ref, rtol=1e-5,
                                   atol=1e-6)
    with pytest.raises(ArchitectureError, match="input for 'heads'"):
        build_network([{"op": "heads", "out": 3, "heads": 2},
                       {"op": "heads", "out": 3, "heads": 4}], (4,))
    layer = MEGANGate(2, experts=3, expert_act="linear")
    layer(tf.constant(z))
    h, _ = layer.experts_and_logits(tf.constant(z))
    assert (h.numpy() < 0).any()  # linear experts are not clamped at 0


def test_gate_sharpness_closed_forms():
    from deep_learning.tools.interpretability import gate_sharpness
    uniform = gate_sharpness(np.full((10, 4), 0.25))
    assert uniform["mean_max_probability"] == pytest.approx(0.25)
    assert uniform["mean_entropy_nats"] == pytest.approx(np.log(4))
    assert uniform["usage_entropy_nats"] == pytest.approx(np.log(4))
    assert uniform["leaves_most_responsible"] == 1  # argmax ties -> leaf 0
    hard = gate_sharpness(np.eye(4)[[0, 1, 1, 3]])
    assert hard["mean_max_probability"] == 1.0
    assert hard["mean_entropy_nats"] == pytest.approx(0.0, abs=1e-12)
    share = np.array([0.25, 0.5, 0.0, 0.25])
    assert hard["usage_entropy_nats"] == pytest.approx(
        -np.sum(share[share > 0] * np.log(share[share > 0])))
    assert hard["leaves_most_responsible"] == 3
    with pytest.raises(ValueError, match="must be \\(N, L\\)"):
        gate_sharpness(np.ones(4))

"""Tests of the architecture-dict builder."""

import re

import keras
import numpy as np
import pytest

from deep_learning.models.mixture_layers import (TREE_MEMORY_LIMIT,
                                                 TreeMixture, tree_memory)
from deep_learning.network import architectures as arch
from deep_learning.network.builder import (ArchitectureError, build_network,
                                   count_params, describe_grammar)


def _conv_params(k, c_in, c_out, bias=True):
    return k * k * c_in * c_out + (c_out if bias else 0)


# ----------------------------- happy paths ---------------------------------

def test_docstring_example_shape():
    spec = [
        {"name": "l1", "op": "d", "out": 4 * 4 * 64, "act": "relu",
         "out_reshape": [4, 4, 64]},
        {"name": "l2_up", "op": "tc", "out": 32, "kernel": 4, "strides": 2,
         "act_nm": "bn", "act": "relu"},
        {"name": "l3_t", "op": "c", "out": 1, "kernel": 3, "act": "tanh"},
    ]
    g = build_network(spec, input_shape=(16,), name="generator")
    assert g.output_shape == (None, 8, 8, 1)
    # bias is dropped when batch norm follows (its offset replaces it)
    tconv = g.get_layer("l2_up_tconv")
    assert not tconv.use_bias
    expected = (16 * 1024 + 1024) + 4 * 4 * 64 * 32 + 2 * 32 + 3 * 3 * 32 + 1
    assert count_params(g) == expected


def test_forward_matches_explicit_computation():
    """Dense -> lrelu(0.3) -> reshape, computed by hand in numpy."""
    spec = [{"name": "a", "op": "d", "out": 6, "act": ["lrelu", 0.3],
             "out_reshape": [2, 3]}]
    net = build_network(spec, (4,))
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    w, b = [v.numpy() for v in net.get_layer("a_dense").weights]
    pre = x @ w + b
    ref = np.where(pre > 0, pre, 0.3 * pre).reshape(5, 2, 3)
    np.testing.assert_allclose(net(x).numpy(), ref, rtol=1e-5, atol=1e-6)


def test_scale_up_and_down_and_postnorm_order():
    spec = [
        {"name": "up", "op": "c", "out": 2, "scale": ["nearest", 2],
         "act": "relu", "act_nm": "bn", "nm_pos": "after"},
        {"name": "down", "op": "c", "out": 2, "scale": ["avg", -2]},
        {"name": "g", "op": "gap"},
    ]
    net = build_network(spec, (4, 4, 3))
    names = [layer.name for layer in net.layers]
    # up-sampling before the op, norm after the activation
    assert names.index("up_up") < names.index("up_conv") < names.index(
        "up_act") < names.index("up_bn")
    # down-sampling after the activation
    assert names.index("down_conv") < names.index("down_down")
    assert net.get_layer("up_up").output.shape[1:] == (8, 8, 3)
    assert net.output_shape == (None, 2)


def test_conv_geometry_matches_formula():
    # valid conv: floor((h - k)/s) + 1; valid tc: (h - 1)*s + k
    spec = [{"op": "c", "out": 3, "kernel": [3, 2], "strides": 2,
             "padding": "valid"},
            {"op": "tc", "out": 2, "kernel": 3, "strides": 3,
             "padding": "valid"}]
    net = build_network(spec, (9, 7, 1))
    h1, w1 = (9 - 3) // 2 + 1, (7 - 2) // 2 + 1
    assert net.get_layer("l0_conv").output.shape[1:3] == (h1, w1)
    assert net.output_shape == (None, (h1 - 1) * 3 + 3, (w1 - 1) * 3 + 3, 2)


def test_initialisers():
    spec = [{"op": "d", "out": 400, "init": ["normal", 0.02]},
            {"op": "d", "out": 400, "init": "dcgan"},
            {"op": "d", "out": 400, "act": "relu"}]
    net = build_network(spec, (300,))
    w0, b0 = [v.numpy() for v in net.get_layer("l0_dense").weights]
    w1, b1 = [v.numpy() for v in net.get_layer("l1_dense").weights]
    w2 = net.get_layer("l2_dense").weights[0].numpy()
    assert abs(w0.std() - 0.02) < 1e-3 and np.all(b0 == 0)
    assert abs(w1.std() - 0.02) < 1e-3 and abs(b1.std() - 0.02) < 5e-3
    # He normal (truncated) before ReLU: std sqrt(2 / fan_in)
    assert abs(w2.std() - np.sqrt(2 / 400)) < 0.1 * np.sqrt(2 / 400)


def test_layer_norm_is_per_element():
    spec = [{"op": "c", "out": 4, "kernel": 4, "strides": 2, "act_nm": "ln"}]
    net = build_network(spec, (8, 8, 1))
    ln = net.get_layer("l0_ln")
    assert tuple(ln.gamma.shape) == (4, 4, 4)
    x = np.random.default_rng(1).normal(size=(3, 8, 8, 1)).astype("float32")
    out = net(x).numpy()
    # with gamma=1, beta=0 every sample is normalised over all (H, W, C)
    np.testing.assert_allclose(out.reshape(3, -1).mean(1), 0, atol=1e-5)
    np.testing.assert_allclose(out.reshape(3, -1).std(1), 1, atol=1e-2)


# ------------------------------ presets ------------------------------------

def test_hmog_dcgan_block_parameter_count():
    net = build_network(arch.dcgan_block(), (4096,), name="bs")
    assert net.output_shape == (None, 32, 32, 1)
    assert count_params(net) == 656_577  # the HMoG authors' B_s


def test_hmog_discriminator_parameter_count():
    net = build_network(arch.dcgan_discriminator(), (32, 32, 1))
    convs = (_conv_params(4, 1, 64) + _conv_params(4, 64, 128)
             + _conv_params(4, 128, 256))
    lns = 2 * (16 * 16 * 64 + 8 * 8 * 128 + 4 * 4 * 256)
    assert count_params(net) == convs + lns + 4096 + 1
    assert net.output_shape == (None, 1)


@pytest.mark.parametrize("dataset,size", [("cifar10", 32), ("stl10", 48),
                                          ("celeba", 64)])
def test_mmd_generators(dataset, size):
    g = build_network(arch.mmd_generator(dataset), (128,))
    assert g.output_shape == (None, size, size, 3)


def test_mmd_cifar_parameter_counts():
    g = build_network(arch.mmd_generator("cifar10"), (128,))
    expected_g = (128 * 8192 + 8192
                  + 16 * 512 * 256 + 2 * 256
                  + 16 * 256 * 128 + 2 * 128
                  + 16 * 128 * 64 + 2 * 64
                  + 9 * 64 * 3 + 3)
    assert count_params(g) == expected_g


@pytest.mark.parametrize("dataset,size,layers", [("cifar10", 32, 8),
                                                 ("stl10", 48, 8),
                                                 ("lsun", 64, 10)])
def test_mmd_discriminators(dataset, size, layers):
    pytest.importorskip("general_tools.spectral_norm")
    d = build_network(arch.mmd_discriminator(dataset), (size, size, 3))
    assert d.output_shape == (None, 16)
    assert arch.mmd_num_d_layers(dataset) == layers
    assert arch.mmd_multiplier(dataset) == pytest.approx(64 ** (1 / layers))
    spec = arch.mmd_discriminator(dataset)
    assert all(layer["w_nm"] == "s" for layer in spec)
    widths = [3] + [layer["out"] for layer in spec[:-1]]
    expected = sum(_conv_params(layer["kernel"], widths[i], layer["out"])
                   for i, layer in enumerate(spec[:-1]))
    final = size // 2 ** sum(layer["strides"] == 2 for layer in spec[:-1])
    expected += final * final * widths[-1] * 16 + 16
    assert count_params(d) == expected


# ---------------------------- malformed specs ------------------------------

MALFORMED = [
    # (spec, input_shape, regex the message must match)
    ([{"op": "d", "out": 4, "colour": 1}], (3,),
     r"layer 0 \('l0'\), key 'colour': unknown key"),
    ([{"name": "x", "op": "conv3", "out": 4}], (3,),
     r"layer 0 \('x'\), key 'op': unknown op 'conv3'"),
    ([{"name": "x", "out": 4}], (3,), r"layer 0 \('x'\): missing key 'op'"),
    ([{"name": "x", "op": "d"}], (3,),
     r"layer 0 \('x'\): missing required key 'out'"),
    ([{"name": "x", "op": "d", "out": 0}], (3,),
     r"key 'out': expected a positive integer. Received: 0"),
    ([{"name": "x", "op": "c", "out": 2, "kernel": -3}], (8, 8, 1),
     r"key 'kernel': expected a positive integer"),
    ([{"name": "x", "op": "d", "out": 4, "act": "swoosh"}], (3,),
     r"key 'act': expected an activation in"),
    ([{"name": "x", "op": "d", "out": 4, "act_nm": "gn"}], (3,),
     r"key 'act_nm': expected one of"),
    ([{"name": "x", "op": "d", "out": 6, "out_reshape": [4, 2]}], (3,),
     r"layer 0 \('x'\), key 'out_reshape': shape \[4, 2\] holds 8 elements "
     r"but the tensor \(6\) has 6"),
    ([{"op": "c", "out": 4}, {"name": "fc", "op": "d", "out": 1}], (8, 8, 1),
     r"layer 1 \('fc'\), key 'op': op 'd' expects a flat"),
    ([{"name": "x", "op": "c", "out": 4}], (16,),
     r"layer 0 \('x'\), key 'op': op 'c' expects a \(height, width"),
    ([{"name": "x", "op": "c", "out": 4, "kernel": 5, "padding": "valid"}],
     (3, 3, 1), r"key 'kernel': a 5-wide kernel .* does not fit"),
    ([{"name": "x", "op": "d", "out": 4, "padding": "same"}], (3,),
     r"key 'padding': unknown key for op 'd'"),
    ([{"name": "a", "op": "d", "out": 4}, {"name": "a", "op": "d", "out": 2}],
     (3,), r"layer 1 \('a'\), key 'name': duplicate layer name"),
    ([{"name": "x", "op": "d", "out": 4, "act_k": 1.5}], (3,),
     r"layer 0 \('x'\), keys 'act_k' and 'w_nm': the multiplier C applies "
     r"only with w_nm='s'. Received: act_k=1.5, w_nm=None"),
    ([{"name": "x", "op": "c", "out": 4, "scale": ["nearest", -2]}],
     (8, 8, 1), r"key 'scale': expected a down-sampling method"),
    ([{"name": "x", "op": "d", "out": 4, "act": ["lrelu", 1.5]}], (3,),
     r"key 'act': expected a leaky-ReLU slope"),
    ([{"name": "x", "op": "d", "out": 4, "in_reshape": [2, -1, -1]}], (4,),
     r"key 'in_reshape': expected at most one -1"),
    ([{"name": "x", "op": "d", "out": 4, "w_nm": "l2"}], (3,),
     r"key 'w_nm': expected one of"),
    ([{"name": "x", "op": "d", "out": 4, "bias": "yes"}], (3,),
     r"key 'bias': expected True or False"),
    ([{"name": "x", "op": "d", "out": 4, "init": "kaiming"}], (3,),
     r"key 'init': expected one of"),
    (["not a dict"], (3,), r"layer 0: expected a dict"),
    ([], (3,), r"spec is empty"),
    ({"op": "d"}, (3,), r"spec must be a list of layer dicts"),
]


@pytest.mark.parametrize("spec,shape,pattern", MALFORMED,
                         ids=[f"bad{i}" for i in range(len(MALFORMED))])
def test_malformed_specs_raise_clear_errors(spec, shape, pattern):
    with pytest.raises(ArchitectureError, match=pattern) as info:
        build_network(spec, shape)
    assert isinstance(info.value, ValueError)


def test_bad_input_shape():
    with pytest.raises(ArchitectureError, match="input_shape"):
        build_network([{"op": "d", "out": 1}], (0,))


# --------------------- keys that conflict or cannot be ---------------------

CONFLICTING = [
    ({"op": "c", "out": 4, "sn_mode": "matrix"}, "sn_mode", "w_nm"),
    ({"op": "c", "out": 4, "w_nm": "none", "sn_iters": 3}, "sn_iters",
     "w_nm"),
    ({"op": "d", "out": 4, "act_k": 1.0}, "act_k", "w_nm"),
    ({"op": "d", "out": 4, "bias": False, "bias_init": "ones"}, "bias_init",
     "bias"),
    ({"op": "d", "out": 4, "act_nm": "bn", "bias_init": "ones"}, "bias_init",
     "act_nm"),
    ({"op": "d", "out": 4, "nm_pos": "after"}, "nm_pos", "act_nm"),
    ({"op": "i", "act_nm": "none", "nm_pos": "before"}, "nm_pos", "act_nm"),
]


@pytest.mark.parametrize("layer,key,other", CONFLICTING,
                         ids=[c[1] + "-" + c[2] for c in CONFLICTING])
def test_conflicting_keys_name_the_layer_and_both_keys(layer, key, other):
    spec = [{"name": "ok", "op": "d", "out": 8, "out_reshape": [2, 2, 2]},
            {"name": "bad", **layer}]
    if layer["op"] == "d":
        spec[0].pop("out_reshape")
    with pytest.raises(ArchitectureError,
                       match=rf"layer 1 \('bad'\), keys '{key}' and "
                             rf"'{other}': .* Received: {key}="):
        build_network(spec, (3,))


def test_keys_that_do_apply_are_accepted():
    net = build_network([
        {"op": "c", "out": 4, "w_nm": "s", "sn_mode": "matrix",
         "sn_iters": 2, "act_k": 1.5},
        {"op": "c", "out": 4, "act_nm": "bn", "bias": True,
         "bias_init": "ones", "nm_pos": "after", "act": "relu"},
        {"op": "c", "out": 4, "act_nm": "ln", "bias_init": "zeros"},
    ], (4, 4, 1))
    assert net.output_shape == (None, 4, 4, 4)


@pytest.mark.parametrize("key", [0, ("op",), None])
def test_non_string_keys_are_named(key):
    layer = {"name": "x", "op": "d", "out": 4, key: "value"}
    with pytest.raises(ArchitectureError,
                       match=rf"layer 0 \('x'\), key {re.escape(repr(key))}: "
                             r"keys of a layer dict are strings"):
        build_network([layer], (3,))


@pytest.mark.parametrize("depth,gib", [(14, "4"), (40, r"1.8e\+16")])
def test_hmog_depth_is_bounded_by_memory(depth, gib):
    with pytest.raises(ArchitectureError,
                       match=rf"layer 0 \('tree'\), key 'depth': a tree of "
                             rf"depth {depth} with branching 2 has "
                             r"[0-9,]+ leaves and needs "
                             rf"{gib} GiB \(path matrix .* more than "
                             r"the 2 GiB limit"):
        build_network([{"name": "tree", "op": "hmog", "out": 4,
                        "depth": depth}], (2,))


def test_mog_leaves_and_tree_layer_are_bounded_too():
    with pytest.raises(ArchitectureError, match=r"key 'leaves': a tree of "
                                                r"depth 1 with branching "
                                                r"40000 .* GiB"):
        build_network([{"op": "mog", "out": 4, "leaves": 40_000}], (2,))
    with pytest.raises(ValueError, match="depth=30: .* GiB"):
        TreeMixture(4, depth=30)
    # Depth 12 fits: its path matrix takes 4 * (2 * 4095) * 8191 bytes.
    assert tree_memory(12, 2) == (4 * 2 * 4095 * 8191, 0)
    assert sum(tree_memory(12, 2, 2, 4)) < TREE_MEMORY_LIMIT


# ------------------------------ grammar doc --------------------------------

def test_grammar_documented_once_and_complete():
    """Every key, op and activation of the live registry is in the doc."""
    import pathlib
    doc = (pathlib.Path(__file__).parents[1] / "docs" /
           "architecture.md").read_text()
    table = describe_grammar()
    for token in re.findall(r"`([a-z_0-9]+)`", table):
        assert f"`{token}`" in doc, f"{token!r} missing from docs/architecture.md"


def test_model_round_trips_through_keras_format(tmp_path):
    spec = arch.dcgan_discriminator(widths=(4, 8))
    net = build_network(spec, (8, 8, 1))
    x = np.random.default_rng(2).normal(size=(2, 8, 8, 1)).astype("float32")
    path = tmp_path / "d.keras"
    net.save(path)
    again = keras.saving.load_model(path)
    np.testing.assert_allclose(again(x).numpy(), net(x).numpy(), rtol=1e-6)

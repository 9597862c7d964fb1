"""mixgan against outputs recorded from tensorflow-gan 2.1.0.

The fixtures in `tests/fixtures/tfgan/` hold fixed inputs and what TF-GAN
2.1.0 (TensorFlow 2.15.1) returned for them; `record.py` beside them wrote
them in a side environment (see the README there). Nothing here imports
tensorflow-gan.

Each test names the TF-GAN call it checks and its tolerance. Where mixgan
differs on purpose the test states the difference and checks the exact
relation between the two numbers instead:

* minimax / modified discriminator losses: TF-GAN smooths the real labels
  by default (label_smoothing=0.25, target 1 - 0.25 / 2); mixgan does not.
  Since softplus(s) - softplus(-s) = s, TF-GAN = mixgan + 0.125 mean(s_r).
* `minimax_generator_loss` is minus TF-GAN's discriminator loss with logits
  of 1 in place of the real scores, so it carries the constant
  -softplus(-1) = -0.3133 that mixgan's `minimax` L_G leaves out (same
  gradients).
* reduction: mixgan always averages; TF-GAN's SUM equals the element count
  times its default (SUM_BY_NONZERO_WEIGHTS, the mean with unit weights).
* gradient penalty: TF-GAN interpolates real + alpha (fake - real), mixgan
  u real + (1 - u) fake, so u = 1 - alpha; TF-GAN returns
  (||g|| / target - 1)^2 unweighted, mixgan weight (||g|| - target)^2, so
  mixgan(weight=1) = target^2 TF-GAN. The norm offsets differ (1e-10 in
  TF-GAN, 1e-12 here), far below float32 resolution for these gradients.
* KID: TF-GAN averages consecutive blocks and reports the standard error
  sqrt(var_ddof1 / B); mixgan averages random subsets and reports np.std
  (ddof 0) of the subset values. On the same blocks the means agree and
  mixgan's std = TF-GAN's std * sqrt(B - 1). mixgan's kernels are float32.
* Inception Score: TF-GAN scores all logits at once; mixgan's default is
  the mean over 10 parts, and `splits=1` is TF-GAN's number.
* Preprocessing: TF-GAN 2.1.0 has no `preprocess_image`. Its examples
  resize generator output in [-1, 1] with `tf.compat.v1.image.resize`
  (mixgan's default "tf_bilinear") and do not quantise: mixgan with
  `quantize=False` matches, and its default quantisation moves a value by at
  most half a level, 1/255. tf.contrib.gan's `preprocess_image` scaled
  uint8 levels by (x - 128) / 128 (mixgan's `output_scaling="ttur"`);
  mixgan's default x / 127.5 - 1 differs from it by x / 16320 <= 1/128.
"""

import functools
import json
import math
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from general_tools import losses
from general_tools import penalties
from general_tools.features import preprocess_images
from general_tools.metrics import frechet_distance
from general_tools.metrics import inception_score
from general_tools.metrics import kernel as kernel_module
from general_tools.metrics import kernel_distance

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "fixtures", "tfgan")

# Tolerances (also listed in the README's "Why not tensorflow-gan" table).
LOSS_RTOL = 1e-6          # float32 on both sides; bit-equal when recorded
PENALTY_RTOL = 1e-5       # float32 double backprop; 1e-7 when recorded
FID_RTOL = 1e-10          # float64; 6e-15 when recorded
# n < d: TF-GAN leaves singular values < 1e-10 unrooted; 4e-9 (eigh) and
# 1e-8 (scipy) when recorded.
FID_SINGULAR_RTOL = 1e-7
KID_ATOL = 1e-5           # mixgan's float32 kernels; 6e-7 recorded
IS_RTOL = 1e-12           # float64; 2e-16 recorded
PIXEL_ATOL = 1e-6         # float32 resize; 3e-7 recorded
SOFTPLUS_MINUS_ONE = math.log1p(math.exp(-1.0))  # -log sigmoid(1)


@functools.lru_cache(maxsize=None)
def load(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return json.load(handle)


def array(entry):
    return np.asarray(entry["data"], dtype=entry["dtype"]).reshape(
        entry["shape"])


def test_fixtures_name_the_versions_they_were_recorded_with():
    for name in ("losses.json", "gradient_penalty.json", "frechet.json",
                 "kernel.json", "classifier_score.json",
                 "preprocessing.json"):
        versions = load(name)["recorded_with"]
        assert versions["tensorflow_gan"] == "2.1.0"
        assert versions["tensorflow"] == "2.15.1"
        assert versions["tensorflow_probability"] == "0.23.0"


# ---------------------------------------------------------------------------
# Losses.


def _label_smoothing_offset(s_real, s_fake):
    # Smoothed real label 1 - 0.25 / 2: the cross-entropy gains
    # (0.25 / 2)(softplus(s) - softplus(-s)) = 0.125 s per real score.
    return 0.125 * float(np.mean(s_real, dtype=np.float64))


def _minimax_g_offset(s_real, s_fake):
    return -SOFTPLUS_MINUS_ONE


# fixture key: (mixgan loss, its parameters, 0 for L_D or 1 for L_G,
#               TF-GAN minus mixgan as a function of the scores, or None)
LOSS_ROWS = {
    "wasserstein_d": ("wasserstein", {}, 0, None),
    "wasserstein_g": ("wasserstein", {}, 1, None),
    "hinge_d": ("hinge", {}, 0, None),
    "hinge_g": ("hinge", {}, 1, None),
    "minimax_d": ("minimax", {}, 0, _label_smoothing_offset),
    "minimax_d_no_smoothing": ("minimax", {}, 0, None),
    "minimax_g": ("minimax", {}, 1, _minimax_g_offset),
    "modified_d": ("logistic", {}, 0, _label_smoothing_offset),
    "modified_d_no_smoothing": ("logistic", {}, 0, None),
    "modified_g": ("logistic", {}, 1, None),
    "least_squares_d": ("lsgan", {}, 0, None),
    "least_squares_g": ("lsgan", {}, 1, None),
    "least_squares_d_labels": ("lsgan", {"fake_target": -1.0}, 0, None),
    "least_squares_g_labels": ("lsgan", {"gen_target": 0.0}, 1, None),
}
LOSS_CASES = ("vector", "matrix")


def _expected_mean_loss(case, key):
    """TF-GAN's mean-reduced value as predicted from mixgan's loss."""
    name, params, which, offset = LOSS_ROWS[key]
    inputs = load("losses.json")["inputs"][case]
    s_real, s_fake = array(inputs["s_real"]), array(inputs["s_fake"])
    value = float(losses.gan_loss(name, s_real, s_fake, **params)[which])
    if offset is not None:
        value += offset(s_real, s_fake)
    return value, s_real.size


def test_every_recorded_loss_is_checked():
    for case in LOSS_CASES:
        recorded = set(load("losses.json")["outputs"][case])
        assert recorded == set(LOSS_ROWS) | {k + "_sum" for k in LOSS_ROWS}


@pytest.mark.parametrize("case", LOSS_CASES)
@pytest.mark.parametrize("key", sorted(LOSS_ROWS))
def test_loss_matches_tfgan(case, key):
    recorded = load("losses.json")["outputs"][case][key]["value"]
    expected, _ = _expected_mean_loss(case, key)
    np.testing.assert_allclose(expected, recorded, rtol=LOSS_RTOL,
                               atol=LOSS_RTOL)


@pytest.mark.parametrize("case", LOSS_CASES)
@pytest.mark.parametrize("key", sorted(LOSS_ROWS))
def test_tfgan_sum_reduction_is_count_times_mixgan_mean(case, key):
    recorded = load("losses.json")["outputs"][case][key + "_sum"]["value"]
    expected, count = _expected_mean_loss(case, key)
    np.testing.assert_allclose(count * expected, recorded, rtol=LOSS_RTOL,
                               atol=count * LOSS_RTOL)


# ---------------------------------------------------------------------------
# Gradient penalty.


def _critic():
    weights = {k: tf.constant(array(v)) for k, v in
               load("gradient_penalty.json")["inputs"]["critic"].items()}

    def critic(x):
        flat = tf.reshape(x, [tf.shape(x)[0], -1])
        hidden = tf.tanh(tf.matmul(flat, weights["w1"]) + weights["b1"])
        return tf.matmul(hidden, weights["w2"]) + weights["b2"]

    return critic


PENALTY_CASES = (("target_1", 1.0), ("target_2", 2.0))


@pytest.mark.parametrize("key,target", PENALTY_CASES)
def test_gradient_penalty_matches_tfgan(monkeypatch, key, target):
    """`gradient_penalty` with its draw u set to TF-GAN's 1 - alpha."""
    fixture = load("gradient_penalty.json")
    real, fake = (array(fixture["inputs"][k]) for k in ("real", "fake"))
    alpha = array(fixture["outputs"][key]["alpha"])

    def draw(shape, dtype, seed):
        assert tuple(shape) == alpha.shape
        return tf.constant(1.0 - alpha, dtype=dtype)

    monkeypatch.setattr(keras.random, "uniform", draw)
    value = float(penalties.gradient_penalty(
        _critic(), real, fake, target=target, weight=1.0))
    recorded = fixture["outputs"][key]["value"]
    np.testing.assert_allclose(value, target ** 2 * recorded,
                               rtol=PENALTY_RTOL)


@pytest.mark.parametrize("key,target", PENALTY_CASES)
def test_penalty_at_tfgan_interpolates_matches_tfgan(key, target):
    fixture = load("gradient_penalty.json")
    real, fake = (array(fixture["inputs"][k]) for k in ("real", "fake"))
    alpha = array(fixture["outputs"][key]["alpha"]).reshape(-1, 1, 1, 1)
    points = real + alpha * (fake - real)  # TF-GAN's float32 arithmetic
    value = float(penalties.gradient_norm_penalty(
        _critic(), points, target=target, weight=1.0))
    np.testing.assert_allclose(
        value, target ** 2 * fixture["outputs"][key]["value"],
        rtol=PENALTY_RTOL)


# ---------------------------------------------------------------------------
# Frechet distance.


@pytest.mark.parametrize("method", ("eigh", "scipy"))
@pytest.mark.parametrize("case,rtol", (("well_conditioned", FID_RTOL),
                                       ("rank_deficient", FID_SINGULAR_RTOL)))
def test_frechet_distance_matches_tfgan(case, rtol, method):
    fixture = load("frechet.json")
    real, fake = (array(fixture["inputs"][case][k]) for k in ("real", "fake"))
    value = frechet_distance(real, fake, method=method)
    np.testing.assert_allclose(value, fixture["outputs"][case]["value"],
                               rtol=rtol)


# ---------------------------------------------------------------------------
# Kernel distance.


def _kid_inputs():
    fixture = load("kernel.json")
    return (array(fixture["inputs"]["real"]),
            array(fixture["inputs"]["fake"]), fixture["outputs"])


def test_kernel_distance_on_one_block_matches_tfgan():
    # One subset of all samples is a permutation of them: the same unbiased
    # MMD^2. TF-GAN's std is NaN for one block; mixgan's is 0.
    real, fake, outputs = _kid_inputs()
    mean, std = kernel_distance(real, fake, subsets=1,
                                subset_size=len(real), seed=0)
    np.testing.assert_allclose(mean, outputs["single_block"]["value"],
                               rtol=0, atol=KID_ATOL)
    assert std == 0.0


def test_kernel_distance_matches_tfgan_block_by_block():
    real, fake, outputs = _kid_inputs()
    bounds = outputs["block_bounds"]
    values = [kernel_distance(real[a:b], fake[a:b], subsets=1,
                              subset_size=b - a, seed=0)[0]
              for a, b in zip(bounds[:-1], bounds[1:])]
    np.testing.assert_allclose(values, outputs["per_block"]["values"],
                               rtol=0, atol=KID_ATOL)


def test_kernel_distance_over_tfgan_blocks_relates_mean_and_std(
        monkeypatch):
    """mixgan's estimator run on TF-GAN's blocks as its subsets: same mean;
    np.std (ddof 0) = TF-GAN's standard error * sqrt(B - 1)."""
    real, fake, outputs = _kid_inputs()
    bounds = outputs["block_bounds"]
    blocks = np.stack([np.arange(a, b) for a, b in
                       zip(bounds[:-1], bounds[1:])])

    def block_indices(num_real, num_fake, subsets, subset_size, seed=None):
        assert (subsets, subset_size) == blocks.shape
        return blocks, blocks

    monkeypatch.setattr(kernel_module, "draw_subset_indices", block_indices)
    mean, std = kernel_distance(real, fake, subsets=blocks.shape[0],
                                subset_size=blocks.shape[1])
    np.testing.assert_allclose(mean, outputs["blocks"]["mean"], rtol=0,
                               atol=KID_ATOL)
    np.testing.assert_allclose(
        std, outputs["blocks"]["std"] * math.sqrt(blocks.shape[0] - 1),
        rtol=0, atol=KID_ATOL)


# ---------------------------------------------------------------------------
# Inception Score.


def test_inception_score_with_one_split_matches_tfgan():
    fixture = load("classifier_score.json")
    logits = array(fixture["inputs"]["logits"])
    mean, std = inception_score(logits, splits=1)
    np.testing.assert_allclose(mean, fixture["outputs"]["all"]["value"],
                               rtol=IS_RTOL)
    assert std == 0.0


def test_inception_score_splits_are_tfgan_scores_of_the_parts():
    fixture = load("classifier_score.json")
    logits = array(fixture["inputs"]["logits"])
    parts = np.asarray(fixture["outputs"]["parts"]["values"])
    mean, std = inception_score(logits, splits=len(parts))
    np.testing.assert_allclose(mean, parts.mean(), rtol=IS_RTOL)
    np.testing.assert_allclose(std, parts.std(), rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------
# Inception input preprocessing.


def _preprocessing():
    fixture = load("preprocessing.json")
    inputs = {k: array(v) for k, v in fixture["inputs"].items()}
    return inputs, fixture["outputs"]


def _check_sampled(full, recorded, atol):
    step = recorded["step"]
    np.testing.assert_allclose(full[:, ::step, ::step, :],
                               array(recorded["sample"]), rtol=0, atol=atol)
    np.testing.assert_allclose(full.mean(dtype=np.float64),
                               recorded["sum"] / full.size, rtol=0,
                               atol=atol)


def test_unquantised_preprocessing_matches_tfgan_example_resize():
    inputs, outputs = _preprocessing()
    small = preprocess_images(inputs["floats_small"], (13, 11),
                              quantize=False).numpy()
    np.testing.assert_allclose(
        small, array(outputs["example_resize_small"]["output"]), rtol=0,
        atol=PIXEL_ATOL)
    big = preprocess_images(inputs["floats_big"], 299, quantize=False).numpy()
    _check_sampled(big, outputs["example_resize_299"], PIXEL_ATOL)


def test_default_preprocessing_is_within_half_a_level_of_tfgan_example():
    inputs, outputs = _preprocessing()
    recorded = array(outputs["example_resize_small"]["output"])
    value = preprocess_images(inputs["floats_small"], (13, 11)).numpy()
    difference = np.abs(value - recorded).max()
    assert 1e-3 < difference <= 0.5 / 127.5 + PIXEL_ATOL
    # The half-pixel TF2 resize is not what TF-GAN's examples use.
    half_pixel = preprocess_images(inputs["floats_small"], (13, 11),
                                   quantize=False,
                                   resize="tf2_bilinear").numpy()
    assert np.abs(half_pixel - recorded).max() > 0.1


def test_ttur_scaling_matches_contrib_preprocess_image():
    inputs, outputs = _preprocessing()
    small = preprocess_images(inputs["levels_small"], (13, 11),
                              output_scaling="ttur").numpy()
    np.testing.assert_allclose(
        small, array(outputs["contrib_preprocess_small"]["output"]), rtol=0,
        atol=PIXEL_ATOL)
    big = preprocess_images(inputs["levels_big"], 299,
                            output_scaling="ttur").numpy()
    _check_sampled(big, outputs["contrib_preprocess_299"], PIXEL_ATOL)


def test_default_scaling_relates_to_contrib_preprocess_image():
    """x / 127.5 - 1 against (x - 128) / 128 on the same resized levels."""
    inputs, outputs = _preprocessing()
    recorded = array(outputs["contrib_preprocess_small"]["output"])
    value = preprocess_images(inputs["levels_small"], (13, 11)).numpy()
    levels = recorded * 128.0 + 128.0
    np.testing.assert_allclose(value, levels / 127.5 - 1.0, rtol=0,
                               atol=PIXEL_ATOL)
    assert np.abs(value - recorded).max() <= 1.0 / 128.0 + PIXEL_ATOL

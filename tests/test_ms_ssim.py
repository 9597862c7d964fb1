"""MS-SSIM between image pairs: identical pairs give 1, single-scale MS-SSIM
equals a numpy SSIM written here, the default protocol equals
`tf.image.ssim_multiscale` on the TF1-resized 256-pixel pair, and the
random pairing is disjoint and seeded."""

import numpy as np
import pytest
import tensorflow as tf

from general_tools import ms_ssim


def _smooth_images(seed, n=2, size=32):
    """Blurry random images in [-1, 1] (structure at several scales)."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=(n, size // 4, size // 4, 1)).astype(np.float32)
    up = tf.image.resize(noise, (size, size), method="bicubic").numpy()
    return np.tanh(up).astype(np.float32)


def _gaussian_window(size=11, sigma=1.5):
    coords = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-coords ** 2 / (2 * sigma ** 2))
    g /= g.sum()
    return np.outer(g, g)


def _filter_valid(image, window):
    k = window.shape[0]
    h, w = image.shape[0] - k + 1, image.shape[1] - k + 1
    out = np.zeros((h, w))
    for i in range(k):
        for j in range(k):
            out += window[i, j] * image[i:i + h, j:j + w]
    return out


def _numpy_ssim(x, y, max_val=255.0, k1=0.01, k2=0.03):
    """Wang et al. 2004 SSIM, Gaussian 11x11 window, valid region."""
    window = _gaussian_window()
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    mx, my = _filter_valid(x, window), _filter_valid(y, window)
    sxx = _filter_valid(x * x, window) - mx ** 2
    syy = _filter_valid(y * y, window) - my ** 2
    sxy = _filter_valid(x * y, window) - mx * my
    luminance = (2 * mx * my + c1) / (mx ** 2 + my ** 2 + c1)
    contrast_structure = (2 * sxy + c2) / (sxx + syy + c2)
    return float(np.mean(luminance * contrast_structure))


def test_identical_pairs_give_one():
    images = _smooth_images(0, n=3)
    np.testing.assert_allclose(
        ms_ssim.ms_ssim_pairs(images, images), 1.0, atol=1e-5)
    np.testing.assert_allclose(
        ms_ssim.ms_ssim_pairs(images, images, image_size=None), 1.0,
        atol=1e-5)
    same = np.repeat(images[:1], 6, axis=0)
    mean, std = ms_ssim.pairwise_ms_ssim(same, image_size=None)
    assert mean == pytest.approx(1.0, abs=1e-5) and std < 1e-5


def test_single_scale_equals_numpy_ssim():
    a, b = _smooth_images(1)
    value = ms_ssim.ms_ssim_pairs(a[None], b[None], image_size=None,
                                  power_factors=(1.0,))[0]
    levels = [(v[..., 0].astype(np.float64) + 1.0) * 127.5 for v in (a, b)]
    want = _numpy_ssim(*levels)
    assert 0.05 < want < 0.95
    assert value == pytest.approx(want, rel=1e-4, abs=1e-5)


def test_default_protocol_equals_tf_on_a_fixed_pair():
    a, b = _smooth_images(2)
    value = ms_ssim.ms_ssim_pairs(a[None], b[None])[0]
    # The MMD-GAN repository: [0, 255], TF1 resize_bilinear to 256, then
    # tf.image.ssim_multiscale with max_val 255 and the default weights.
    pair = tf.raw_ops.ResizeBilinear(
        images=tf.constant((np.stack([a, b]) + 1.0) * 127.5),
        size=[256, 256], align_corners=False, half_pixel_centers=False)
    want = tf.image.ssim_multiscale(pair[:1], pair[1:], max_val=255.0)
    assert value == pytest.approx(float(want[0]), rel=1e-5)
    assert 0.0 < value < 1.0
    # The repository's (x + 1) * 128.5 scaling.
    quirk = ms_ssim.ms_ssim_pairs(a[None], b[None], mmd_gan_scaling=True)[0]
    pair = tf.raw_ops.ResizeBilinear(
        images=tf.constant((np.stack([a, b]) + 1.0) * 128.5),
        size=[256, 256], align_corners=False, half_pixel_centers=False)
    want = tf.image.ssim_multiscale(pair[:1], pair[1:], max_val=255.0)
    assert quirk == pytest.approx(float(want[0]), rel=1e-5)


def test_reduced_power_factors():
    w = ms_ssim.MSSSIM_WEIGHTS
    two = np.array(w[:2]) / sum(w[:2])
    np.testing.assert_allclose(ms_ssim.reduced_power_factors(32), two)
    np.testing.assert_allclose(ms_ssim.reduced_power_factors((64, 80)),
                               np.array(w[:3]) / sum(w[:3]))
    # Scale s sees ceil(size / 2^s) pixels (TF pads odd sizes before
    # pooling): 161 is the smallest size with five 11-pixel scales.
    assert ms_ssim.reduced_power_factors(161) == w
    np.testing.assert_allclose(ms_ssim.reduced_power_factors(160),
                               np.array(w[:4]) / sum(w[:4]))
    big = np.zeros((1, 161, 161, 1), np.float32)
    tf.image.ssim_multiscale(big, big, 255.0)  # TF accepts 161 ...
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.image.ssim_multiscale(big[:, :160, :160], big[:, :160, :160],
                                 255.0)  # ... and rejects 160.
    assert ms_ssim.reduced_power_factors(11) == (1.0,)
    with pytest.raises(ValueError, match="filter_size"):
        ms_ssim.reduced_power_factors(8)
    images = _smooth_images(3, n=2)
    with pytest.raises(ValueError, match="coarsest scale"):
        ms_ssim.ms_ssim_pairs(images, images, image_size=None,
                              power_factors=w)
    # Native size with reduced scales: product of the two scales' terms,
    # as TF computes it with those weights.
    value = ms_ssim.ms_ssim_pairs(images[:1], images[1:],
                                  image_size=None)[0]
    levels = (images + 1.0) * 127.5
    want = tf.image.ssim_multiscale(levels[:1], levels[1:], 255.0,
                                    power_factors=tuple(two))
    assert value == pytest.approx(float(want[0]), rel=1e-5)


def test_pairs_are_disjoint_and_seeded():
    first, second = ms_ssim.pair_indices(10, seed=3)
    assert len(first) == 5
    assert len(set(first) | set(second)) == 10
    again = ms_ssim.pair_indices(10, seed=3)
    np.testing.assert_array_equal(first, again[0])
    np.testing.assert_array_equal(second, again[1])
    assert not np.array_equal(first, ms_ssim.pair_indices(10, seed=4)[0])
    many_a, many_b = ms_ssim.pair_indices(4, num_pairs=50, seed=0)
    assert len(many_a) == 50 and np.all(many_a != many_b)
    assert set(many_a) <= set(range(4)) and set(many_b) <= set(range(4))
    with pytest.raises(ValueError, match="at least 2"):
        ms_ssim.pair_indices(1)


def test_pairwise_mean_over_the_drawn_pairs():
    images = _smooth_images(5, n=8)
    mean, std = ms_ssim.pairwise_ms_ssim(images, num_pairs=4, seed=7,
                                         image_size=None)
    first, second = ms_ssim.pair_indices(8, 4, seed=7)
    values = [ms_ssim.ms_ssim_pairs(images[i:i + 1], images[j:j + 1],
                                    image_size=None)[0]
              for i, j in zip(first, second)]
    assert mean == pytest.approx(np.mean(values), rel=1e-6)
    assert std == pytest.approx(np.std(values), rel=1e-5, abs=1e-7)
    assert mean < 0.9  # different images are not near-identical


def test_argument_errors():
    images = _smooth_images(0, n=2)
    with pytest.raises(ValueError, match="same shape"):
        ms_ssim.ms_ssim_pairs(images, images[:1])
    with pytest.raises(ValueError, match="resize"):
        ms_ssim.ms_ssim_pairs(images, images, resize="nearest")
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        ms_ssim.ms_ssim_pairs(images[..., 0], images[..., 0])

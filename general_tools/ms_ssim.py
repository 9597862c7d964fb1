"""MS-SSIM between random pairs of images: a diversity score.

Multi-scale structural similarity (Wang, Simoncelli and Bovik, "Multiscale
structural similarity for image quality assessment", Asilomar 2003) between
two images x, y:

    MS-SSIM(x, y) = l_M(x, y)^w_M * prod_{s=1..M} cs_s(x, y)^w_s

with l (luminance) and cs (contrast-structure) from an 11x11 Gaussian window
(sigma 1.5), C1 = (0.01 L)^2, C2 = (0.03 L)^2, L the dynamic range, and the
image halved by 2x2 average pooling between scales. It is computed here by
`tf.image.ssim_multiscale`, averaged over channels. Odena et al. (AC-GAN,
2017) introduced the mean MS-SSIM of random pairs of samples as a diversity
score (lower = more diverse); MEGAN (Park et al., 2018) reports it on CelebA
(0.2470) and the MMD-GAN repository (`GenerativeModelMetric.ms_ssim`,
richardwth/MMD-GAN) for real and generated pairs.

Protocol of `ms_ssim_pairs` / `pairwise_ms_ssim` (the defaults follow the
MMD-GAN repository):

1. Pixel levels: float images in `value_range` (generators' [-1, 1]) are
   mapped linearly to [0, 255], `(x + 1) * 127.5`, optionally rounded to
   uint8 levels (`quantize`); uint8 images are used as they are. The
   repository multiplies by 128.5 instead (values up to 257 with
   `max_val=255`), an apparent slip that `mmd_gan_scaling=True` reproduces.
2. Size: TensorFlow checks that every scale is at least the 11-pixel
   window; scale s has `ceil(size / 2^s)` pixels (odd sizes are padded
   before pooling), so five scales need 161 pixels (the repository's
   comment says 176 = 11 * 16). With
   `image_size=256` (default) images of another size are resized to
   256 x 256 with `resize` -- default "tf_bilinear", the TF1
   `resize_bilinear` of the repository (no antialiasing, no half-pixel
   centres). With `image_size=None` images keep their size and, unless
   `power_factors` is given, the scales are reduced to those that fit
   (`reduced_power_factors`: the first S of the five standard weights,
   rescaled to sum to 1; a 32 x 32 image keeps S = 2 scales, 64 x 64 keeps
   3). Reduced-scale values are not comparable with full 5-scale values.
3. `max_val = 255`; k1 = 0.01, k2 = 0.03; the standard power factors
   (0.0448, 0.2856, 0.3001, 0.2363, 0.1333).

Pairs (`pair_indices`): the repository splits a batch in half and pairs the
halves; here a seeded permutation does the same, giving disjoint pairs
`(perm[i], perm[m + i])`, i < m, when `num_pairs <= n // 2`; more pairs are
drawn with replacement with i != j.
"""

import numpy as np
import tensorflow as tf

from general_tools.features.preprocessing import RESIZE_METHODS
from general_tools.features.preprocessing import resize_images
from general_tools.features.preprocessing import to_pixel_levels

#: Power factors of Wang et al. 2003 (and of `tf.image.ssim_multiscale`).
MSSSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def reduced_power_factors(image_size, filter_size=11,
                          weights=MSSSIM_WEIGHTS):
    """The scales of MS-SSIM that fit an image of `image_size` pixels.

    Scale s (0-based) sees `ceil(size / 2^s)` pixels and needs at least
    `filter_size`. When all scales fit, `weights` are returned unchanged;
    otherwise the first S weights are kept and rescaled to sum to 1 (the
    exponents keep their relative sizes and the value stays in [0, 1]).

    Args:
        image_size: int or `(h, w)`. image size.
        filter_size: int. Gaussian window size. Defaults to 11.
        weights: sequence of float. full-scale power factors. Defaults to
            `MSSSIM_WEIGHTS`.

    Returns:
        tuple of floats, length 1 to `len(weights)`.
    """
    size = min(image_size) if not np.isscalar(image_size) else image_size
    size = int(size)
    if size < filter_size:
        raise ValueError(
            f"`image_size` {image_size!r} is smaller than `filter_size` "
            f"{filter_size}; SSIM is undefined.")
    scales = 0
    while scales < len(weights) and -(-size // 2 ** scales) >= filter_size:
        scales += 1
    if scales == len(weights):
        return tuple(float(w) for w in weights)
    kept = np.asarray(weights[:scales], dtype=np.float64)
    return tuple(float(w) for w in kept / kept.sum())


def _prepare(images, image_size, resize, value_range, quantize,
             mmd_gan_scaling):
    images = tf.convert_to_tensor(images)
    if images.shape.rank != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(
            "Images must have shape (N, H, W, C) with C = 1 or 3; received "
            f"{tuple(images.shape)}.")
    if mmd_gan_scaling and images.dtype != tf.uint8:
        low, high = value_range
        levels = (tf.cast(images, tf.float32) - low) * (257.0 / (high - low))
    else:
        levels = to_pixel_levels(images, value_range, quantize)
    if image_size is not None:
        levels = resize_images(levels, image_size, resize)
    return levels


def ms_ssim_pairs(images_a, images_b, image_size=256, resize="tf_bilinear",
                  power_factors=None, filter_size=11, filter_sigma=1.5,
                  k1=0.01, k2=0.03, value_range=(-1.0, 1.0), quantize=False,
                  mmd_gan_scaling=False, batch_size=32):
    """MS-SSIM of each pair `(images_a[i], images_b[i])`.

    Args:
        images_a: array or tensor `(n, H, W, C)`; uint8 levels or floats in
            `value_range`.
        images_b: same shape as `images_a`.
        image_size: int, `(h, w)` or None. size the images are resized to;
            None keeps them (and reduces the scales, see the module
            docstring). Defaults to 256 (MMD-GAN repository).
        resize: str. resize method of `general_tools.features`. Defaults to
            "tf_bilinear".
        power_factors: sequence of float or None. None: the standard five
            at `image_size`, or the reduced ones at the native size.
            Defaults to None.
        filter_size: int. Gaussian window. Defaults to 11.
        filter_sigma: float. Gaussian width. Defaults to 1.5.
        k1: float. luminance constant. Defaults to 0.01.
        k2: float. contrast constant. Defaults to 0.03.
        value_range: `(low, high)`. range of float images. Defaults to
            (-1.0, 1.0).
        quantize: bool. round float images to uint8 levels first. Defaults
            to False (as the repository).
        mmd_gan_scaling: bool. the repository's `(x + 1) * 128.5` instead of
            127.5 (float images only). Defaults to False.
        batch_size: int. pairs per TensorFlow call. Defaults to 32.

    Returns:
        float64 numpy array `(n,)`, values in [0, 1] (1 for identical
        images).
    """
    if resize not in RESIZE_METHODS:
        raise ValueError(
            f"`resize` must be one of {RESIZE_METHODS}; received {resize!r}.")
    if tuple(images_a.shape) != tuple(images_b.shape):
        raise ValueError(
            "`images_a` and `images_b` must have the same shape; received "
            f"{tuple(images_a.shape)} and {tuple(images_b.shape)}.")
    if image_size is not None:
        image_size = (int(image_size),) * 2 if np.isscalar(image_size) \
            else tuple(int(s) for s in image_size)
    if power_factors is None:
        if image_size is None:
            power_factors = reduced_power_factors(
                tuple(images_a.shape[1:3]), filter_size)
        else:
            power_factors = MSSSIM_WEIGHTS
    power_factors = tuple(float(w) for w in power_factors)
    final_size = image_size or tuple(images_a.shape[1:3])
    coarsest = min(-(-int(s) // 2 ** (len(power_factors) - 1))
                   for s in final_size)
    if coarsest < filter_size:
        raise ValueError(
            f"With {len(power_factors)} scales the coarsest scale of "
            f"{final_size} images has {coarsest} pixels, fewer than "
            f"`filter_size` {filter_size}. Pass a larger `image_size` or "
            "fewer `power_factors` (see `reduced_power_factors`).")
    values = []
    for start in range(0, int(images_a.shape[0]), int(batch_size)):
        stop = start + int(batch_size)
        a = _prepare(images_a[start:stop], image_size, resize, value_range,
                     quantize, mmd_gan_scaling)
        b = _prepare(images_b[start:stop], image_size, resize, value_range,
                     quantize, mmd_gan_scaling)
        values.append(tf.image.ssim_multiscale(
            a, b, max_val=255.0, power_factors=power_factors,
            filter_size=filter_size, filter_sigma=filter_sigma, k1=k1,
            k2=k2).numpy())
    if not values:
        raise ValueError("No image pairs were given.")
    return np.concatenate(values).astype(np.float64)


def pair_indices(num_images, num_pairs=None, seed=0):
    """Random pairs of distinct indices `(i, j)`, see the module docstring.

    Args:
        num_images: int. size of the set, >= 2.
        num_pairs: int or None. number of pairs; None is `num_images // 2`.
            Defaults to None.
        seed: int. seed of the draw. Defaults to 0.

    Returns:
        two int64 arrays `(num_pairs,)` with `i[p] != j[p]`.
    """
    n = int(num_images)
    if n < 2:
        raise ValueError(f"Need at least 2 images for pairs; received {n}.")
    m = n // 2 if num_pairs is None else int(num_pairs)
    if m < 1:
        raise ValueError(f"`num_pairs` must be >= 1; received {num_pairs!r}.")
    rng = np.random.default_rng(seed)
    if m <= n // 2:
        perm = rng.permutation(n)
        return perm[:m], perm[m:2 * m]
    first = rng.integers(0, n, size=m)
    second = (first + rng.integers(1, n, size=m)) % n
    return first, second


def pairwise_ms_ssim(images, num_pairs=None, seed=0, **kwargs):
    """Mean and standard deviation of MS-SSIM over random pairs of a set.

    Args:
        images: array `(n, H, W, C)`, uint8 or floats in `value_range`.
        num_pairs: int or None. pairs; None is `n // 2` disjoint pairs.
            Defaults to None.
        seed: int. seed of the pairing. Defaults to 0.
        **kwargs: `ms_ssim_pairs` arguments (`image_size`, `resize`, ...).

    Returns:
        `(mean, std)` floats (std with ddof 0); lower means more diverse.
    """
    images = np.asarray(images)
    first, second = pair_indices(len(images), num_pairs, seed)
    values = ms_ssim_pairs(images[first], images[second], **kwargs)
    return float(values.mean()), float(values.std())


__all__ = ["MSSSIM_WEIGHTS", "ms_ssim_pairs", "pair_indices",
           "pairwise_ms_ssim", "reduced_power_factors"]

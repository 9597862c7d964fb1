"""Image preprocessing in front of a feature extractor, with every choice
that moves FID stated and selectable.

Pipeline of `preprocess_images` (Parmar et al., "On Aliased Resizing and
Surprising Subtleties in GAN Evaluation", CVPR 2022, for why each step
matters):

1. Pixel levels. uint8 input is taken as levels 0..255. Float input in
   `value_range` (generators' [-1, 1]) is mapped linearly to [0, 255],
   clipped, and, with `quantize=True`, rounded half up to the 256 integer
   levels, so that generated images go through the same uint8 bottleneck as
   stored real images: v = floor(clip((x + 1) 127.5, 0, 255) + 0.5) for
   [-1, 1], as StudioGAN's `quantize_images` and clean-fid.
2. Resize to `image_size` in float, unless the images already have that
   size:
   * `"tf_bilinear"`: TF1 `ResizeBilinear` (align_corners=False,
     half_pixel_centers=False, no antialiasing), the resize inside the TTUR
     graph, in tf.contrib.gan's `preprocess_image` (legacy FID) and in
     TF-GAN 2.1.0's examples, which call `tf.compat.v1.image.resize`
     (checked against recorded TF-GAN outputs in
     `tests/test_tfgan_parity.py`).
   * `"tf2_bilinear"`: `tf.image.resize(..., "bilinear")` with half-pixel
     centres and no antialiasing, as torch
     `F.interpolate(align_corners=False)` and the HMoG code.
   * `"pil_bicubic"`: PIL bicubic on float32 channels, clean-fid's "clean"
     mode. `"pil_bilinear"`: PIL bilinear (StudioGAN's "friendly" resizer
     for the TF Inception).
   * `"none"`: no resize; the images must already have `image_size`.
3. Grayscale to three channels by repeating the channel (TF-GAN, the HMoG
   code), when the extractor wants `channels=3`.
4. Output scaling: `"symmetric"` v / 127.5 - 1 in [-1, 1] (Keras
   `inception_v3.preprocess_input`, TF-GAN's frozen graph `Mul:0` input),
   `"ttur"` (v - 128) / 128 (the TTUR graph's own Sub/Mul, for bit-level
   legacy parity), `"unit"` v / 255 in [0, 1], or `"levels"` v unchanged.
"""

import numpy as np
import tensorflow as tf
from PIL import Image

RESIZE_METHODS = ("tf_bilinear", "tf2_bilinear", "pil_bicubic",
                  "pil_bilinear", "none")
OUTPUT_SCALINGS = ("symmetric", "ttur", "unit", "levels")
_PIL_FILTERS = {"pil_bicubic": Image.Resampling.BICUBIC,
                "pil_bilinear": Image.Resampling.BILINEAR}


def check_preprocessing(image_size, resize, value_range, output_scaling,
                        channels):
    """Validates preprocessing arguments; returns `image_size` as a tuple.

    Args:
        image_size: int, `(height, width)` or None. target size; None keeps
            the input size.
        resize: str. one of `RESIZE_METHODS`.
        value_range: `(low, high)`. range of float input images.
        output_scaling: str. one of `OUTPUT_SCALINGS`.
        channels: int. 1 or 3.

    Returns:
        `(height, width)` tuple of ints, or None.
    """
    if resize not in RESIZE_METHODS:
        raise ValueError(
            f"`resize` must be one of {RESIZE_METHODS}; received {resize!r}.")
    if output_scaling not in OUTPUT_SCALINGS:
        raise ValueError(
            f"`output_scaling` must be one of {OUTPUT_SCALINGS}; received "
            f"{output_scaling!r}.")
    if channels not in (1, 3):
        raise ValueError(f"`channels` must be 1 or 3; received {channels!r}.")
    low, high = value_range
    if not high > low:
        raise ValueError(
            f"`value_range` must be (low, high) with high > low; received "
            f"{value_range!r}.")
    if image_size is None:
        return None
    size = (image_size, image_size) if np.isscalar(image_size) \
        else tuple(image_size)
    if len(size) != 2 or any(int(s) != s or s < 1 for s in size):
        raise ValueError(
            "`image_size` must be a positive int, (height, width) or None; "
            f"received {image_size!r}.")
    return int(size[0]), int(size[1])


def to_pixel_levels(images, value_range=(-1.0, 1.0), quantize=True):
    """Maps images to float32 pixel levels in [0, 255] (step 1 above).

    Args:
        images: uint8 or float array/tensor `(N, H, W, C)`.
        value_range: `(low, high)`. range of float images. Defaults to
            (-1.0, 1.0).
        quantize: bool. round float images to the 256 uint8 levels. Defaults
            to True.

    Returns:
        float32 `tf.Tensor` `(N, H, W, C)`.
    """
    images = tf.convert_to_tensor(images)
    if images.dtype == tf.uint8:
        return tf.cast(images, tf.float32)
    if not images.dtype.is_floating:
        raise ValueError(
            "`images` must be uint8 levels or floats in `value_range`; "
            f"received dtype {images.dtype.name}.")
    low, high = float(value_range[0]), float(value_range[1])
    levels = (tf.cast(images, tf.float32) - low) * (255.0 / (high - low))
    levels = tf.clip_by_value(levels, 0.0, 255.0)
    return tf.floor(levels + 0.5) if quantize else levels


def resize_images(levels, size, method="tf_bilinear"):
    """Resizes float32 images `(N, H, W, C)` to `size` (step 2 above).

    Args:
        levels: float32 tensor or array `(N, H, W, C)`.
        size: `(height, width)`.
        method: str. one of `RESIZE_METHODS`. Defaults to "tf_bilinear".

    Returns:
        float32 `tf.Tensor` `(N, height, width, C)`.
    """
    levels = tf.convert_to_tensor(levels, tf.float32)
    if tuple(levels.shape[1:3]) == tuple(size):
        return levels  # every method is the identity at the same size
    if method == "none":
        raise ValueError(
            f"Images of size {tuple(levels.shape[1:3])} need resizing to "
            f"{tuple(size)}, but `resize` is 'none'.")
    if method == "tf_bilinear":
        return tf.raw_ops.ResizeBilinear(images=levels, size=list(size),
                                         align_corners=False,
                                         half_pixel_centers=False)
    if method == "tf2_bilinear":
        return tf.image.resize(levels, size, method="bilinear",
                               antialias=False)
    if method in _PIL_FILTERS:
        array = levels.numpy()
        out = np.empty((array.shape[0], size[0], size[1], array.shape[3]),
                       dtype=np.float32)
        for n in range(array.shape[0]):
            for c in range(array.shape[3]):
                channel = Image.fromarray(
                    np.ascontiguousarray(array[n, :, :, c]))
                out[n, :, :, c] = np.asarray(channel.resize(
                    (size[1], size[0]), resample=_PIL_FILTERS[method]))
        return tf.constant(out)
    raise ValueError(
        f"`resize` must be one of {RESIZE_METHODS}; received {method!r}.")


def scale_levels(levels, output_scaling="symmetric"):
    """Maps [0, 255] levels to the extractor's input range (step 4 above)."""
    if output_scaling == "symmetric":
        return levels / 127.5 - 1.0
    if output_scaling == "ttur":
        return (levels - 128.0) / 128.0
    if output_scaling == "unit":
        return levels / 255.0
    if output_scaling == "levels":
        return levels
    raise ValueError(
        f"`output_scaling` must be one of {OUTPUT_SCALINGS}; received "
        f"{output_scaling!r}.")


def preprocess_images(images, image_size=299, resize="tf_bilinear",
                      quantize=True, value_range=(-1.0, 1.0),
                      output_scaling="symmetric", channels=3):
    """Quantises, resizes, fixes channels and rescales a batch of images.

    Args:
        images: uint8 or float array/tensor `(N, H, W, C)` with C in {1, 3}.
        image_size: int, `(height, width)` or None. target size; None keeps
            the input size. Defaults to 299 (the Inception input).
        resize: str. one of `RESIZE_METHODS`. Defaults to "tf_bilinear"
            (legacy TTUR / TF-GAN FID).
        quantize: bool. round float images to uint8 levels first. Defaults
            to True.
        value_range: `(low, high)`. range of float images. Defaults to
            (-1.0, 1.0).
        output_scaling: str. one of `OUTPUT_SCALINGS`. Defaults to
            "symmetric" ([-1, 1]).
        channels: int. channels the extractor expects, 1 or 3; grayscale is
            repeated to 3. Defaults to 3.

    Returns:
        float32 `tf.Tensor` `(N, height, width, channels)`.
    """
    size = check_preprocessing(image_size, resize, value_range,
                               output_scaling, channels)
    shape = tuple(images.shape)
    if len(shape) != 4 or shape[-1] not in (1, 3):
        raise ValueError(
            "`images` must have shape (N, H, W, C) with C = 1 or 3; "
            f"received {shape}.")
    if shape[-1] == 3 and channels == 1:
        raise ValueError(
            "The extractor expects 1 channel but `images` have 3; convert "
            "them to grayscale first.")
    levels = to_pixel_levels(images, value_range, quantize)
    if size is not None:
        levels = resize_images(levels, size, resize)
    if shape[-1] == 1 and channels == 3:
        levels = tf.tile(levels, [1, 1, 1, 3])
    return scale_levels(levels, output_scaling)

"""Common base class of the feature extractors: preprocessing plus a batched
forward pass that returns numpy features."""

import numpy as np
import tensorflow as tf

from general_tools.features.preprocessing import check_preprocessing
from general_tools.features.preprocessing import preprocess_images


def iterate_batches(images, batch_size):
    """Yields `(n, H, W, C)` batches of at most `batch_size` images.

    Args:
        images: an array or `tf.Tensor` `(N, H, W, C)`, sliced in order; or
            any other iterable (e.g. a batched `tf.data.Dataset` or a
            generator) of such arrays, of `(images, labels, ...)` tuples
            whose first entry is used, or of dicts with an `"image"` entry
            (TFDS). Iterables are consumed once.
        batch_size: int. maximum batch size.

    Yields:
        numpy arrays or tensors `(n, H, W, C)`.
    """
    if isinstance(images, np.ndarray) or tf.is_tensor(images):
        for start in range(0, int(images.shape[0]), batch_size):
            yield images[start:start + batch_size]
        return
    try:
        iterator = iter(images)
    except TypeError:
        raise ValueError(
            "`images` must be an array, a tensor or an iterable of batches; "
            f"received {type(images).__name__}.") from None
    for element in iterator:
        if isinstance(element, (tuple, list)):
            element = element[0]
        elif isinstance(element, dict):
            if "image" not in element:
                raise ValueError(
                    "Dict batches of `images` need an 'image' key; received "
                    f"keys {sorted(element)}.")
            element = element["image"]
        for start in range(0, int(element.shape[0]), batch_size):
            yield element[start:start + batch_size]


class FeatureExtractor:
    """Base class: `preprocess_images` then a network, batch by batch.

    Subclasses set `output_names` (the first is what `__call__` returns) and
    implement `forward(batch) -> dict[str, tf.Tensor]` on preprocessed
    float32 batches `(n, height, width, channels)`.

    Args:
        image_size: int, `(height, width)` or None. network input size; None
            keeps the image size. Defaults to 299.
        resize: str. resize method, see `preprocess_images`. Defaults to
            "tf_bilinear".
        quantize: bool. round float images to uint8 levels. Defaults to
            True.
        value_range: `(low, high)`. range of float input images. Defaults to
            (-1.0, 1.0).
        output_scaling: str. network input scaling, see `preprocess_images`.
            Defaults to "symmetric".
        channels: int. network input channels, 1 or 3. Defaults to 3.
    """

    output_names = ("features",)

    def __init__(self, image_size=299, resize="tf_bilinear", quantize=True,
                 value_range=(-1.0, 1.0), output_scaling="symmetric",
                 channels=3):
        self.image_size = check_preprocessing(
            image_size, resize, value_range, output_scaling, channels)
        self.resize = resize
        self.quantize = bool(quantize)
        self.value_range = (float(value_range[0]), float(value_range[1]))
        self.output_scaling = output_scaling
        self.channels = channels

    def preprocess(self, images):
        """Applies this extractor's preprocessing to one batch."""
        return preprocess_images(
            images, image_size=self.image_size, resize=self.resize,
            quantize=self.quantize, value_range=self.value_range,
            output_scaling=self.output_scaling, channels=self.channels)

    def forward(self, batch):
        """Maps a preprocessed float32 batch to a dict of output tensors."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement `forward`.")

    def extract(self, images, batch_size=64, outputs=None):
        """Computes several outputs in one pass over the images.

        Args:
            images: images or batches, see `iterate_batches`; uint8 levels
                or floats in `value_range`.
            batch_size: int. images per forward pass. Defaults to 64.
            outputs: sequence of str or None. names from `output_names`;
                None means all. Defaults to None.

        Returns:
            dict mapping each output name to a float32 array `(N, dim)`.
        """
        if isinstance(batch_size, bool) or not isinstance(
                batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(
                f"`batch_size` must be an integer >= 1; received "
                f"{batch_size!r}.")
        outputs = tuple(self.output_names if outputs is None else outputs)
        unknown = [name for name in outputs if name not in self.output_names]
        if unknown or not outputs:
            raise ValueError(
                "`outputs` must be a non-empty subset of "
                f"{self.output_names}; received {outputs!r}.")
        parts = {name: [] for name in outputs}
        for batch in iterate_batches(images, int(batch_size)):
            if int(batch.shape[0]) == 0:
                continue
            results = self.forward(self.preprocess(batch))
            for name in outputs:
                value = tf.cast(results[name], tf.float32)
                parts[name].append(
                    tf.reshape(value, [tf.shape(value)[0], -1]).numpy())
        if not parts[outputs[0]]:
            raise ValueError("`images` holds no images.")
        return {name: np.concatenate(chunks, axis=0)
                for name, chunks in parts.items()}

    def __call__(self, images, batch_size=64):
        """Features `(N, dim)` float32 of `images` (the first output)."""
        first = self.output_names[0]
        return self.extract(images, batch_size, outputs=(first,))[first]

    def get_config(self):
        """Settings that identify the features, e.g. for a statistics cache
        key or a score's metadata."""
        return {
            "extractor": type(self).__name__,
            "image_size": self.image_size,
            "resize": self.resize,
            "quantize": self.quantize,
            "value_range": self.value_range,
            "output_scaling": self.output_scaling,
            "channels": self.channels,
        }

"""Decoding image files with TensorFlow's decoder, the one training uses,
naming the file that fails.

Inside a `tf.data` map, `tf.io.decode_image` fails on a damaged file with a
message such as `Invalid PNG data, size 1620` that does not say which file
it was. Two uses here:

- `decoded_shapes(paths)` (`verify="full"`): decodes every file once, in
  parallel, and returns the shapes TensorFlow gives; a file that fails is
  named, with TensorFlow's own message. What passes this check decodes in
  training too: it is the same decoder.
- `decoded_files(paths, labels, channels, shape)`: the dataset training
  reads, in the stored order. A file that fails to decode is dropped by
  `ignore_errors`, which leaves a gap in the running index of the files
  that did decode; an assertion on that index stops the iteration with an
  error naming the missing file. So a folder checked only by its headers
  (the default) still names a file damaged in its middle when training
  reaches it. The check costs about 20 CPU-microseconds per image (against
  about 70 to decode a 64x64 PNG), paid once when the images are cached.
"""

import re

import numpy as np
import tensorflow as tf

from general_tools.data.tf_errors import tf_message


def _decode(path, channels):
    return tf.io.decode_image(tf.io.read_file(path), channels=channels,
                              expand_animations=False)


def _failure(path, channels):
    """TensorFlow's message for a file it cannot decode, read eagerly."""
    try:
        _decode(tf.constant(path), channels)
    except (tf.errors.OpError, UnicodeDecodeError) as e:
        return tf_message(e)
    return "it failed inside the tf.data pipeline but decodes on its own"


def decoded_shapes(paths, channels=0):
    """Decodes every file with TensorFlow; returns their `(H, W, C)`.

    Args:
        paths: list of str. image files.
        channels: int. channels to decode to (0: the file's own). Defaults
            to 0.

    Returns:
        int64 numpy array `(len(paths), 3)`.
    """
    n = len(paths)

    def shape_of(index, path):
        return index, tf.shape(_decode(path, channels), out_type=tf.int64)

    ds = tf.data.Dataset.from_tensor_slices(
        (tf.range(n, dtype=tf.int64), tf.constant(paths, tf.string)))
    ds = ds.map(shape_of, num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=False).ignore_errors().batch(1024)
    shapes = np.full((n, 3), -1, np.int64)
    for index, shape in ds.as_numpy_iterator():
        shapes[index] = shape
    failed = np.flatnonzero(shapes[:, 0] < 0)
    if failed.size:
        path = paths[failed[0]]
        more = (f" ({failed.size} files fail in all; the next is "
                f"'{paths[failed[1]]}')" if failed.size > 1 else "")
        raise ValueError(
            f"Image file '{path}' cannot be read as an image by TensorFlow's "
            f"decoder, which training uses: {_failure(path, channels)}"
            f"{more}.")
    return shapes


def decoded_files(paths, labels, channels, shape):
    """`tf.data.Dataset` of `(image, label)` decoded from `paths`, in order;
    a file that does not decode stops the iteration with an
    `InvalidArgumentError` naming it.

    Args:
        paths: sequence of str. image files.
        labels: sequence of int. one per file.
        channels: int. 1, 3 or 4.
        shape: tuple `(H, W, C)` with None for sizes that vary.

    Returns:
        `tf.data.Dataset` of uint8 `(H, W, C)` images and int32 labels.
    """
    n = len(paths)
    names = tf.constant(list(paths), tf.string)

    def decode(index, path, label):
        image = _decode(path, channels)
        image.set_shape(shape)
        return index, image, label

    ds = tf.data.Dataset.from_tensor_slices(
        (tf.range(n, dtype=tf.int64), names,
         tf.constant(np.asarray(labels, np.int32))))
    # In order, so that a dropped file leaves a gap in the index.
    ds = ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=True).ignore_errors()
    # One more element after the last file, so a failure at the end shows.
    blank = tf.zeros([d or 1 for d in shape], tf.uint8)
    ds = ds.concatenate(tf.data.Dataset.from_tensors(
        (tf.constant(n, tf.int64), blank, tf.constant(-1, tf.int32))))

    def check(position, element):
        index, image, label = element
        # No quotes: TensorFlow escapes them in an assertion's message.
        message = tf.strings.join([
            "Image file ", names[tf.minimum(position, n - 1)], " cannot be "
            "decoded by TensorFlow (damaged after its header?); load the "
            "folder with verify=full to see the decoder message, or remove "
            "the file"])
        ok = tf.debugging.Assert(tf.equal(position, index), [message])
        with tf.control_dependencies([ok]):
            return tf.identity(image), label

    # take(n) stops before the extra element unless a file is missing.
    ds = ds.enumerate().map(check, num_parallel_calls=tf.data.AUTOTUNE,
                            deterministic=True).take(n)
    return ds.apply(tf.data.experimental.assert_cardinality(n))


def undecodable_file(error):
    """The "Image file ... cannot be decoded ..." sentence of an error
    raised by iterating `decoded_files`, or None for another error.

    Args:
        error: Exception.

    Returns:
        str or None.
    """
    found = re.search(r"Image file .*? cannot be decoded[^\]]*",
                      str(error))
    return None if found is None else found.group(0)

"""From a `RawSource` to training batches: decode, crop, resize, cache,
shuffle, repeat, batch, scale to [-1, 1], prefetch.

Order of the stages (each one only when asked for):

1. decode, centre crop and resize, in parallel (`AUTOTUNE`): per record,
   or `RESIZE_CHUNK` records at a time for sources of one fixed image shape
   (`RawSource.decode_batch`).
   Images stay uint8: resized values are rounded to the nearest integer, as
   the HMoG authors' Pillow pipeline (`Resize` on a PIL image, then
   `ToTensor`) and their offline 64x64 preprocessing both produce uint8.
2. `cache()` of those uint8 images, in memory when the estimated size is at
   most `AUTO_CACHE_BYTES` (`cache="auto"`), or in a file the user names.
3. `shuffle(buffer, seed)`, reshuffled each epoch. The buffer holds the whole
   dataset when it is cached in memory (a full shuffle, like PyTorch's
   `DataLoader(shuffle=True)`), else `DEFAULT_SHUFFLE_BUFFER` examples.
4. `repeat()` (before batching, so no example is dropped at an epoch end).
5. `batch(batch_size, drop_remainder)`.
6. uint8 -> float32 in [-1, 1]: `x / 127.5 - 1` (= torchvision's
   `Normalize(0.5, 0.5)` after `ToTensor`), on whole batches.
7. `prefetch(AUTOTUNE)`.

`deterministic=True` sets `tf.data.Options.deterministic`, so that with the
same `seed` two pipelines give the same examples in the same order; with
`deterministic=False` parallel stages may hand out elements as they finish.
`shuffle=False` implies `deterministic=True`: an unshuffled dataset comes in
its stored order.
"""

import tensorflow as tf

#: `cache="auto"` caches in memory when the uint8 images take at most this.
AUTO_CACHE_BYTES = 4 * 1024 ** 3
#: Records decoded and resized together when they share one static shape.
RESIZE_CHUNK = 256
#: Shuffle buffer when the dataset is not cached in memory.
DEFAULT_SHUFFLE_BUFFER = 10_000


def crop_window(height, width, image_size, crop_size):
    """Size of the centred window cut out before resizing.

    - `crop_size=(ch, cw)`: that window (it must fit in the image).
    - `crop_size=None` and `image_size=(h, w)`: the largest centred window
      with the aspect ratio `h:w`, so that resizing does not distort
      (a square crop of side `min(H, W)` for a square target).
    - both None: the whole image.

    Works on python ints (static shapes) and on int32 scalar tensors.

    Args:
        height: int or int32 scalar tensor. image rows.
        width: int or int32 scalar tensor. image columns.
        image_size: tuple `(h, w)` or None. target size.
        crop_size: tuple `(ch, cw)` or None. explicit window.

    Returns:
        `(crop_h, crop_w)`, ints or int32 tensors like the inputs.
    """
    if crop_size is not None:
        return crop_size[0], crop_size[1]
    if image_size is None:
        return height, width
    th, tw = image_size
    if isinstance(height, int) and isinstance(width, int):
        if height * tw >= width * th:  # relatively taller: keep the width
            return (width * th) // tw, width
        return height, (height * tw) // th
    h64, w64 = tf.cast(height, tf.int64), tf.cast(width, tf.int64)
    fit_width = h64 * tw >= w64 * th
    crop_h = tf.where(fit_width, (w64 * th) // tw, h64)
    crop_w = tf.where(fit_width, w64, (h64 * tw) // th)
    return tf.cast(crop_h, tf.int32), tf.cast(crop_w, tf.int32)


def crop_and_resize(image, image_size=None, crop_size=None):
    """Centre-crops and resizes uint8 images; returns uint8.

    The window is placed at offset `((H - ch) // 2, (W - cw) // 2)` (for
    CelebA, 218x178 with a 108 crop: rows 55..162, columns 35..142). The
    resize is bilinear with antialiasing, so that downscaling averages like
    Pillow's `BILINEAR` filter that the HMoG authors' torchvision `Resize`
    used, followed by rounding to uint8. When the window is known to grow
    (e.g. MNIST 28 -> 32) the plain bilinear kernel is used: it gives the
    same weights (half-pixel centres, edges clamped) five times faster.

    Args:
        image: uint8 tensor `(H, W, C)`, or `(N, H, W, C)` with static
            `H` and `W`.
        image_size: tuple `(h, w)` or None. output size; None keeps the
            cropped size.
        crop_size: tuple `(ch, cw)` or None. see `crop_window`.

    Returns:
        uint8 tensor `(h, w, C)` or `(N, h, w, C)`.
    """
    if image_size is None and crop_size is None:
        return image
    height, width = image.shape[-3], image.shape[-2]
    if height is None or width is None:  # sizes vary: work on tensors
        shape = tf.shape(image)
        height, width = shape[-3], shape[-2]
    crop_h, crop_w = crop_window(height, width, image_size, crop_size)
    top = (height - crop_h) // 2
    left = (width - crop_w) // 2
    image = image[..., top:top + crop_h, left:left + crop_w, :]
    if image_size is None:
        return image
    static = image.shape
    if static[-3] == image_size[0] and static[-2] == image_size[1]:
        return image
    def bilinear(antialias):
        return tf.image.resize(image, image_size, method="bilinear",
                               antialias=antialias)

    # Antialiasing only matters when shrinking, and costs 5x when not. The
    # choice depends on the sizes alone (static or not), so a folder read
    # with known or varying sizes gives the same pixels.
    if isinstance(crop_h, int) and isinstance(crop_w, int):
        resized = bilinear(
            not (crop_h <= image_size[0] and crop_w <= image_size[1]))
    else:
        growing = tf.logical_and(crop_h <= image_size[0],
                                 crop_w <= image_size[1])
        resized = tf.cond(growing, lambda: bilinear(False),
                          lambda: bilinear(True))
    return tf.cast(tf.clip_by_value(tf.round(resized), 0.0, 255.0), tf.uint8)


def to_unit_range(images):
    """uint8 images -> float32 in [-1, 1]: `x / 127.5 - 1`."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def build_pipeline(source, *, image_size=None, crop_size=None,
                   channels=None, with_labels=False, batch_size=None,
                   shuffle=True, seed=None, deterministic=False,
                   drop_remainder=True, repeat=False, cache="auto",
                   shuffle_buffer=None):
    """Turns a `RawSource` into the dataset `load_dataset` returns.

    Args:
        source: `RawSource`. records in a fixed order and their decoder.
        image_size: tuple `(h, w)` or None. output size; None keeps the
            source size (which must then be the same for every image to
            batch). Defaults to None.
        crop_size: tuple `(ch, cw)` or None. centre crop before resizing;
            see `crop_window`. Defaults to None.
        channels: int or None. expected channels, checked against the
            source's static shape. Defaults to None.
        with_labels: bool. yield `(images, labels)` instead of `images`.
            Defaults to False.
        batch_size: int or None. examples per batch; None yields single
            examples. Defaults to None.
        shuffle: bool. shuffle with `seed`. Defaults to True.
        seed: int or None. shuffle seed. Defaults to None.
        deterministic: bool. fixed element order; always on when
            `shuffle=False`. Defaults to False.
        drop_remainder: bool. drop a last, smaller batch (a `batch_size`
            larger than the source, which would then give no batch at all
            without `repeat`, is an error). Defaults to True.
        repeat: bool. repeat forever. Defaults to False.
        cache: bool, str or `"auto"`. True: in memory; a non-empty str
            other than "auto": a cache file prefix; `"auto"`: in memory when
            the uint8 images take at most `AUTO_CACHE_BYTES`. Defaults to
            `"auto"`.
        shuffle_buffer: int or None. shuffle buffer size; None: the whole
            dataset when cached in memory, else `DEFAULT_SHUFFLE_BUFFER`.
            Defaults to None.

    Returns:
        `tf.data.Dataset`.
    """
    if batch_size is not None and (not isinstance(batch_size, int)
                                   or batch_size < 1):
        raise ValueError(
            f"`batch_size` must be a positive int or None. Received: "
            f"batch_size={batch_size!r}")
    if shuffle and deterministic and seed is None:
        raise ValueError(
            "`deterministic=True` with `shuffle=True` needs an integer "
            "`seed`. Received: seed=None")
    if (batch_size is not None and drop_remainder and not repeat
            and batch_size > source.num_examples):
        raise ValueError(
            f"`batch_size` {batch_size} is larger than the "
            f"{source.num_examples} examples of {source.description}: with "
            "drop_remainder=True and repeat=False no batch would be made. "
            "Pass repeat=True, drop_remainder=False or a smaller batch_size. "
            f"Received: batch_size={batch_size}")
    if with_labels and not source.has_labels:
        raise ValueError(
            f"{source.description} has no class labels. Received: "
            "with_labels=True")
    # An unshuffled dataset keeps the stored order.
    deterministic = bool(deterministic) or not shuffle
    points = source.kind == "points"
    if not points:
        _check_static_shape(source, image_size, crop_size, channels)

    par = dict(num_parallel_calls=tf.data.AUTOTUNE,
               deterministic=deterministic or None)

    def resize(image, label):
        return crop_and_resize(image, image_size, crop_size), label

    if source.decode_batch is not None:
        # One static shape: decode, crop and resize RESIZE_CHUNK at a time.
        chunks = source.records.batch(RESIZE_CHUNK).map(source.decode_batch,
                                                        **par)
        if not points and _changes_size(chunks.element_spec[0].shape[1:],
                                        image_size, crop_size):
            chunks = chunks.map(resize, **par)
        elif source.decode is None:
            chunks = None  # the records are the images: nothing to do
        ds = source.records if chunks is None else chunks.unbatch().apply(
            tf.data.experimental.assert_cardinality(source.num_examples))
    else:
        ds = source.records
        if source.decode is not None:
            ds = ds.map(source.decode, **par)
        if not points and _changes_size(ds.element_spec[0].shape,
                                        image_size, crop_size):
            ds = ds.map(resize, **par)
    in_memory = False
    if cache == "auto":
        in_memory = _estimated_bytes(source, image_size, crop_size) <= (
            AUTO_CACHE_BYTES)
        if in_memory:
            ds = ds.cache()
    elif cache is True:
        in_memory = True
        ds = ds.cache()
    elif isinstance(cache, str) and cache:
        ds = ds.cache(cache)
    elif cache not in (False, None):
        raise ValueError(
            f"`cache` must be True, False, 'auto' or a file prefix. "
            f"Received: cache={cache!r}")
    if shuffle:
        buffer = shuffle_buffer or (
            source.num_examples if in_memory else DEFAULT_SHUFFLE_BUFFER)
        ds = ds.shuffle(max(1, min(buffer, source.num_examples)), seed=seed,
                        reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    if batch_size is not None:
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)

    def finish(image, label):
        if not points:
            image = to_unit_range(image)
        return (image, label) if with_labels else image

    ds = ds.map(finish, **par)
    ds = ds.prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.deterministic = bool(deterministic)
    return ds.with_options(options)


def _changes_size(shape, image_size, crop_size):
    """False when cropping and resizing provably leave `shape` unchanged."""
    if image_size is None and crop_size is None:
        return False
    h, w = shape[0], shape[1]
    if h is None or w is None:
        return True
    return (crop_window(h, w, image_size, crop_size) != (h, w)
            or (image_size is not None and tuple(image_size) != (h, w)))


def _output_shape(source, image_size, crop_size):
    """Static `(h, w, c)` after crop and resize (entries may be None)."""
    shape = source.image_shape or (None, None, None)
    if image_size is not None:
        return image_size[0], image_size[1], shape[2]
    if crop_size is not None:
        return crop_size[0], crop_size[1], shape[2]
    return shape


def _estimated_bytes(source, image_size, crop_size):
    if source.kind == "points":
        return source.num_examples * 8
    h, w, c = _output_shape(source, image_size, crop_size)
    if None in (h, w):
        h = w = 256  # unknown sizes: assume a large image
    return source.num_examples * h * w * (c or 3)


def _check_static_shape(source, image_size, crop_size, channels):
    shape = source.image_shape
    if shape is None:
        return
    h, w, c = shape
    if channels is not None and c is not None and c != channels:
        raise ValueError(
            f"{source.description} has {c} channel(s), not {channels}. "
            f"Received: channels={channels}")
    if crop_size is not None and h is not None and w is not None and (
            crop_size[0] > h or crop_size[1] > w):
        raise ValueError(
            f"`crop_size` {tuple(crop_size)} does not fit in the {h}x{w} "
            f"images of {source.description}. Received: "
            f"crop_size={crop_size}")
    if image_size is None and crop_size is None and (h is None or w is None):
        raise ValueError(
            f"The images of {source.description} vary in size; pass "
            "`image_size` to crop and resize them to one size. Received: "
            "image_size='native'")

"""Finding and checking image files before TensorFlow reads them.

`tf.io.decode_image` fails on a bad file with a message that does not say
which file it was, and only when the pipeline reaches it. So an image folder
is checked once, up front:

- `verify="header"` (default): every file is opened with Pillow (format,
  size, mode) and its last bytes are checked for the end marker of its
  format (PNG `IEND`, JPEG `EOI`, GIF trailer, BMP pixel-array length).
  This finds non-image files, empty or truncated files and mixed sizes or
  channels, at about a tenth of a millisecond per file (see
  `datasets/README.md`). It does not find damage in the middle of a file
  (a flipped byte in a PNG's image data, image data cut short inside a
  file that still ends properly): such a file fails when training first
  reads it, and the error then names it (`image_decode.decoded_files`).
- `verify="full"`: the header check, then every file is decoded by
  TensorFlow's decoder, the one training uses (`image_decode`), so a file
  that passes also decodes in training. Sizes and channels are taken from
  that decode. It costs about as much as one uncached epoch of decoding.
- `verify="none"`: no check; a bad file still fails with its name when
  training reaches it.

Nothing is written anywhere.
"""

import concurrent.futures
import dataclasses
import os
import struct

from PIL import Image

from general_tools.data import image_decode

#: File extensions read as images (the formats `tf.io.decode_image` reads).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")

VERIFY_MODES = ("header", "full", "none")

# Channels TensorFlow returns for a Pillow mode when decoding with channels=0.
_CHANNELS_OF_MODE = {"1": 1, "L": 1, "I": 1, "I;16": 1, "I;16B": 1,
                     "LA": 2, "RGB": 3, "RGBA": 4}

_PNG_TRAILER = b"\x00\x00\x00\x00IEND\xaeB`\x82"


@dataclasses.dataclass(frozen=True)
class ImageInfo:
    """What the header of one image file says.

    Args:
        path: str. the file.
        height: int. rows.
        width: int. columns.
        channels: int. channels TensorFlow decodes it to (1, 2, 3 or 4).
        label: int. index of its first-level sub-folder, -1 at the top.
    """

    path: str
    height: int
    width: int
    channels: int
    label: int = -1


def list_image_files(directory, recursive=True):
    """Lists the image files under `directory`, sorted, with class labels.

    Labels follow the usual image-folder convention: the index (in sorted
    order) of the first-level sub-folder holding the file; files directly in
    `directory` get -1. Files with other extensions are ignored; hidden files
    and folders (names starting with '.') are skipped.

    Args:
        directory: str. folder to search.
        recursive: bool. whether to descend into sub-folders. Defaults to
            True.

    Returns:
        `(paths, labels, class_names)`: sorted list of str, list of int of
        the same length, sorted list of the first-level folder names that
        hold images.
    """
    directory = os.fspath(directory)
    if not os.path.exists(directory):
        raise FileNotFoundError(
            f"Image folder '{directory}' does not exist.")
    if not os.path.isdir(directory):
        raise ValueError(f"'{directory}' is a file, not an image folder.")
    found = []
    others = 0
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if not recursive:
            dirs[:] = []
        for name in files:
            if name.startswith("."):
                continue
            if os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
                found.append(os.path.join(root, name))
            else:
                others += 1
    if not found:
        raise ValueError(
            f"Image folder '{directory}' contains no image files "
            f"({', '.join(IMAGE_EXTENSIONS)}); it holds {others} other "
            "file(s).")
    found.sort()
    tops = [os.path.relpath(p, directory).split(os.sep) for p in found]
    class_names = sorted({t[0] for t in tops if len(t) > 1})
    index = {c: i for i, c in enumerate(class_names)}
    labels = [index[t[0]] if len(t) > 1 else -1 for t in tops]
    return found, labels, class_names


def _check_trailer(path, fmt):
    """Raises ValueError if the file is cut short for its format."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        if fmt == "PNG":
            f.seek(max(0, size - 12))
            if f.read() != _PNG_TRAILER:
                raise ValueError(
                    f"Image file '{path}' is truncated: a PNG must end with "
                    "an IEND chunk.")
        elif fmt == "JPEG":
            f.seek(max(0, size - 1024))
            if b"\xff\xd9" not in f.read():
                raise ValueError(
                    f"Image file '{path}' is truncated: no JPEG end-of-image "
                    "marker (FF D9) in its last 1,024 bytes.")
        elif fmt == "GIF":
            f.seek(max(0, size - 16))
            if b";" not in f.read():
                raise ValueError(
                    f"Image file '{path}' is truncated: no GIF trailer (3B) "
                    "at its end.")
        elif fmt == "BMP":
            header = f.read(34)
            if len(header) < 34 or struct.unpack("<I", header[14:18])[0] < 40:
                return  # old OS/2 header: nothing cheap to check
            offset, _, width, height, _, bits, compression = struct.unpack(
                "<IIiiHHI", header[10:34])
            if compression == 0:  # BI_RGB: the pixel array size is known
                need = offset + ((width * bits + 31) // 32) * 4 * abs(height)
                if size < need:
                    raise ValueError(
                        f"Image file '{path}' is truncated: {size} bytes, "
                        f"but its header needs {need}.")


def inspect_image(path, verify="header"):
    """Reads the header of one image file and checks it is whole.

    Args:
        path: str. the file.
        verify: str. `"header"` or `"full"` (both also check the end
            marker; `scan_images` decodes the files of `"full"`), or
            `"none"` (header only). Defaults to `"header"`.

    Returns:
        `ImageInfo` (label -1).
    """
    if os.path.getsize(path) == 0:
        raise ValueError(f"Image file '{path}' is empty (0 bytes).")
    try:
        with Image.open(path) as img:
            fmt, mode = img.format, img.mode
            width, height = img.size
            transparent = "transparency" in img.info
    except Exception as e:  # Pillow raises many types for bad files
        raise ValueError(
            f"Image file '{path}' cannot be read as an image: "
            f"{type(e).__name__}: {e}") from e
    if fmt not in ("PNG", "JPEG", "BMP", "GIF"):
        raise ValueError(
            f"Image file '{path}' is in format {fmt}, which TensorFlow cannot "
            "decode; use PNG, JPEG, BMP or GIF.")
    if fmt == "GIF":
        channels = 3  # tf.io.decode_gif always returns RGB
    elif mode == "P":
        channels = 4 if transparent else 3
    elif mode in _CHANNELS_OF_MODE:
        channels = _CHANNELS_OF_MODE[mode]
    else:
        raise ValueError(
            f"Image file '{path}' has pixel mode {mode} ({fmt}), which "
            "TensorFlow does not decode reliably; convert it to L, RGB or "
            "RGBA.")
    if verify != "none":
        _check_trailer(path, fmt)
    return ImageInfo(path=path, height=height, width=width,
                     channels=channels)


def scan_images(paths, labels=None, verify="header", max_workers=8):
    """Runs `inspect_image` on every file (threads for large folders).

    Args:
        paths: list of str. image files.
        labels: list of int or None. labels to attach. Defaults to -1.
        verify: str. see `inspect_image`. Defaults to `"header"`.
        max_workers: int. threads used for more than 256 files. Defaults
            to 8.

    Returns:
        list of `ImageInfo`, in the order of `paths`.
    """
    if verify not in VERIFY_MODES:
        raise ValueError(
            f"`verify` must be one of {VERIFY_MODES}. Received: "
            f"verify={verify!r}")
    if labels is None:
        labels = [-1] * len(paths)
    if len(paths) > 256 and max_workers > 1:
        with concurrent.futures.ThreadPoolExecutor(max_workers) as pool:
            infos = list(pool.map(
                lambda p: inspect_image(p, verify), paths, chunksize=64))
    else:
        infos = [inspect_image(p, verify) for p in paths]
    if verify == "full":
        # What TensorFlow decodes is what training gets: take its shapes.
        shapes = image_decode.decoded_shapes(list(paths))
        infos = [dataclasses.replace(info, height=int(h), width=int(w),
                                     channels=int(c))
                 for info, (h, w, c) in zip(infos, shapes)]
    return [dataclasses.replace(info, label=lab)
            for info, lab in zip(infos, labels)]


def common_channels(infos, directory):
    """The channel count shared by all images, or a ValueError naming two
    files that differ."""
    first = infos[0]
    for info in infos[1:]:
        if info.channels != first.channels:
            raise ValueError(
                f"Images in '{directory}' have mixed channels: "
                f"'{first.path}' has {first.channels}, '{info.path}' has "
                f"{info.channels}. Pass `channels` (1, 3 or 4) to convert "
                "every image.")
    if first.channels == 2:
        raise ValueError(
            f"Images in '{directory}' are grey + alpha (2 channels, e.g. "
            f"'{first.path}'); pass `channels=1` or `channels=3`.")
    return first.channels


def common_size(infos, directory):
    """The `(height, width)` shared by all images, or None if they differ."""
    first = infos[0]
    for info in infos[1:]:
        if (info.height, info.width) != (first.height, first.width):
            return None
    return first.height, first.width


def mixed_size_error(infos, directory):
    """ValueError naming two files of different sizes."""
    first = infos[0]
    other = next(i for i in infos
                 if (i.height, i.width) != (first.height, first.width))
    return ValueError(
        f"Images in '{directory}' have mixed sizes: '{first.path}' is "
        f"{first.height}x{first.width}, '{other.path}' is "
        f"{other.height}x{other.width} (height x width). Pass `image_size` "
        "to centre-crop and resize every image to one size.")

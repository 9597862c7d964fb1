"""Reading and writing IDX files, the format of the original MNIST release.

An IDX file (LeCun et al., http://yann.lecun.com/exdb/mnist/) is a 4-byte
magic number `00 00 TT NN` (TT: element type, NN: number of dimensions),
then NN big-endian int32 sizes, then the elements in C order. MNIST ships
them gzip-compressed (`t10k-images-idx3-ubyte.gz`: shape (10000, 28, 28),
uint8; `t10k-labels-idx1-ubyte.gz`: shape (10000,), uint8). Both gzip and
raw files are read; which one is decided by the gzip magic bytes, not by the
file name.
"""

import gzip
import os
import struct
import zlib

import numpy as np

# IDX type code -> numpy dtype (big-endian where it matters).
_DTYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
           0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"),
           0x0E: np.dtype(">f8")}
_CODES = {np.dtype(v).newbyteorder("="): k for k, v in _DTYPES.items()}


def read_idx(path):
    """Reads an IDX file (gzip-compressed or raw) into a numpy array.

    Args:
        path: str. the file.

    Returns:
        numpy array with the file's shape and element type (native byte
        order).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"IDX file '{path}' does not exist.")
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as e:
            raise ValueError(
                f"IDX file '{path}' is a corrupt or truncated gzip stream: "
                f"{type(e).__name__}: {e}") from e
    if len(data) < 4:
        raise ValueError(
            f"IDX file '{path}' is truncated: {len(data)} bytes, shorter "
            "than the 4-byte magic number.")
    zero, code, ndim = data[:2], data[2], data[3]
    if zero != b"\x00\x00" or code not in _DTYPES or ndim == 0:
        raise ValueError(
            f"File '{path}' is not an IDX file: magic number "
            f"{data[:4].hex(' ')}, expected 00 00 TT NN with TT in "
            f"{sorted(hex(c) for c in _DTYPES)} and NN > 0.")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(
            f"IDX file '{path}' is truncated inside its header ({len(data)} "
            f"bytes, {header} needed for {ndim} dimensions).")
    shape = struct.unpack(f">{ndim}i", data[4:header])
    dtype = _DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header
    if found < expected:
        raise ValueError(
            f"IDX file '{path}' is truncated: shape {tuple(shape)} of "
            f"{dtype.name} needs {expected} data bytes, found {found}.")
    if found > expected:
        raise ValueError(
            f"IDX file '{path}' has {found - expected} unexpected bytes after "
            f"the {expected} data bytes of shape {tuple(shape)}.")
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def write_idx(path, array, compress=None):
    """Writes a numpy array as an IDX file.

    Args:
        path: str. destination; existing files are not overwritten.
        array: numpy array of uint8, int8, int16, int32, float32 or
            float64.
        compress: bool or None. gzip the file. Defaults to whether `path`
            ends in `.gz`.
    """
    path = os.fspath(path)
    if os.path.exists(path):
        raise FileExistsError(f"'{path}' already exists; not overwriting.")
    array = np.asarray(array)
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None or array.ndim == 0:
        raise ValueError(
            f"IDX cannot store an array of dtype {array.dtype} and shape "
            f"{array.shape}.")
    body = (bytes([0, 0, code, array.ndim])
            + struct.pack(f">{array.ndim}i", *array.shape)
            + array.astype(_DTYPES[code]).tobytes())
    if compress is None:
        compress = path.endswith(".gz")
    if compress:
        body = gzip.compress(body)
    with open(path, "xb") as f:
        f.write(body)


def labels_path_for(images_path):
    """The label file that goes with an MNIST-style image file.

    `.../t10k-images-idx3-ubyte.gz` -> `.../t10k-labels-idx1-ubyte.gz`
    (also for the `images.idx3` spelling). If that file is absent but the
    same name with the `.gz` suffix toggled exists (labels compressed
    differently from the images), that one is returned.

    Args:
        images_path: str. the image file.

    Returns:
        str. the label file (which may not exist).
    """
    folder, name = os.path.split(os.fspath(images_path))
    primary = os.path.join(
        folder, name.replace("images", "labels").replace("idx3", "idx1"))
    other = primary[:-3] if primary.endswith(".gz") else primary + ".gz"
    if not os.path.exists(primary) and os.path.exists(other):
        return other
    return primary

"""The classic Inception graph of TTUR / TF-GAN / compare_gan FID and IS,
loaded from a frozen GraphDef into TensorFlow 2.

The graph is `inceptionv1_for_inception_score.pb` inside
`frozen_inception_v1_2015_12_05.tar.gz` (TF-GAN's `INCEPTION_URL`). Despite
the "v1" in its name it holds the 2015-12-05 Inception weights used by
OpenAI's Inception Score and TTUR's FID. The input tensor `Mul:0` takes
299 x 299 x 3 images scaled to [-1, 1]; `pool_3:0` is the 2048-d average
pool (`(N, 1, 1, 2048)`, squeezed here) used by FID, and `logits:0` the
1008 logits used by IS.

Checksum: the SHA-256 of the archive could not be confirmed on the offline
machine this was written on, so `INCEPTION_TARBALL_SHA256` is None and a
file is accepted when it parses as a GraphDef holding the nodes `Mul`,
`pool_3` and `logits`. Pass `sha256=` to also pin the archive's digest.
"""

import hashlib
import os
import tarfile
import tempfile
import urllib.request

import tensorflow as tf

from general_tools.features.base import FeatureExtractor

INCEPTION_URL = ("http://download.tensorflow.org/models/"
                 "frozen_inception_v1_2015_12_05.tar.gz")
INCEPTION_TARBALL = "frozen_inception_v1_2015_12_05.tar.gz"
INCEPTION_FROZEN_GRAPH = "inceptionv1_for_inception_score.pb"
INCEPTION_TARBALL_SHA256 = None  # unconfirmed offline; see module docstring
INCEPTION_INPUT = "Mul:0"
INCEPTION_FEATURES = "pool_3:0"
INCEPTION_LOGITS = "logits:0"
CACHE_ENV_VAR = "MIXGAN_CACHE_DIR"


def default_cache_dir():
    """`$MIXGAN_CACHE_DIR` if set, else `~/.cache/mixgan`."""
    return os.environ.get(CACHE_ENV_VAR) or os.path.join(
        os.path.expanduser("~"), ".cache", "mixgan")


def file_sha256(path):
    """Hex SHA-256 digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_graph_def(path, member=INCEPTION_FROZEN_GRAPH,
                   required_nodes=("Mul", "pool_3", "logits")):
    """Reads a frozen GraphDef from a `.pb` file or from a tar archive.

    Args:
        path: str. a binary GraphDef, or a (gzipped) tar archive holding
            `member`.
        member: str. file name of the GraphDef inside an archive. Defaults
            to `INCEPTION_FROZEN_GRAPH`.
        required_nodes: sequence of str. node names that must be present.

    Returns:
        `tf.compat.v1.GraphDef` with device placements cleared.
    """
    if not os.path.isfile(path):
        raise ValueError(f"Graph file {path!r} does not exist.")
    if tarfile.is_tarfile(path):
        with tarfile.open(path) as archive:
            names = [m for m in archive.getmembers()
                     if os.path.basename(m.name) == member and m.isfile()]
            if not names:
                raise ValueError(
                    f"Archive {path!r} has no member named {member!r}.")
            data = archive.extractfile(names[0]).read()
    else:
        with open(path, "rb") as handle:
            data = handle.read()
    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(data)
    except Exception as error:  # protobuf raises its own DecodeError
        raise ValueError(
            f"{path!r} is not a binary GraphDef ({error}).") from None
    present = {node.name for node in graph_def.node}
    missing = [name for name in required_nodes if name not in present]
    if missing:
        raise ValueError(
            f"{path!r} is not the expected Inception graph: nodes {missing} "
            "are missing.")
    for node in graph_def.node:
        node.device = ""  # run wherever TF places it (CPU or GPU)
    return graph_def


def load_frozen_graph(graph_def, input_name=INCEPTION_INPUT,
                      output_names=(INCEPTION_FEATURES, INCEPTION_LOGITS),
                      input_shape=(None, 299, 299, 3)):
    """Wraps a frozen GraphDef as a TF2 function of a new batch input.

    The graph is imported with `input_map={input_name: images}` inside
    `tf.compat.v1.wrap_function`, so the batch size is free even when the
    stored input had a fixed shape.

    Args:
        graph_def: `tf.compat.v1.GraphDef`.
        input_name: str. tensor replaced by the input. Defaults to "Mul:0".
        output_names: sequence of str. tensors returned. Defaults to
            ("pool_3:0", "logits:0").
        input_shape: tuple. shape of the float32 input. Defaults to
            (None, 299, 299, 3).

    Returns:
        A concrete function mapping a float32 batch to a list of tensors in
        the order of `output_names`.
    """
    def _run(images):
        return tf.compat.v1.import_graph_def(
            graph_def, input_map={input_name: images},
            return_elements=list(output_names), name="frozen")

    return tf.compat.v1.wrap_function(
        _run, [tf.TensorSpec(input_shape, tf.float32)])


def _download(url, destination, sha256=None, timeout=60.0):
    """Downloads `url` to `destination` atomically, checking `sha256`."""
    directory = os.path.dirname(destination)
    os.makedirs(directory, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=directory, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, \
                urllib.request.urlopen(url, timeout=timeout) as response:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                out.write(chunk)
        if sha256 is not None and file_sha256(partial) != sha256.lower():
            raise ValueError(
                f"SHA-256 of {url} is {file_sha256(partial)}, expected "
                f"{sha256}; the file was discarded.")
        os.replace(partial, destination)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def find_inception_graph(graph_path=None, cache_dir=None, download=True,
                         url=INCEPTION_URL, sha256=INCEPTION_TARBALL_SHA256,
                         timeout=60.0):
    """Path of the Inception graph, downloading it into the cache if needed.

    Search order: `graph_path`; `cache_dir/inceptionv1_for_inception_score.pb`;
    `cache_dir/frozen_inception_v1_2015_12_05.tar.gz`; then, if `download`,
    `url` into `cache_dir/frozen_inception_v1_2015_12_05.tar.gz`.

    Args:
        graph_path: str or None. explicit `.pb` or `.tar.gz` file. Defaults
            to None.
        cache_dir: str or None. cache folder; None means
            `default_cache_dir()`. Defaults to None.
        download: bool. try downloading when nothing is cached. Defaults to
            True.
        url: str. download address. Defaults to `INCEPTION_URL`.
        sha256: str or None. expected digest of the downloaded archive.
            Defaults to `INCEPTION_TARBALL_SHA256`.
        timeout: float. network timeout in seconds. Defaults to 60.

    Returns:
        str path of a `.pb` or archive file.
    """
    if graph_path is not None:
        if not os.path.isfile(graph_path):
            raise ValueError(
                f"`graph_path` {graph_path!r} does not exist; it must be "
                f"{INCEPTION_FROZEN_GRAPH} or the archive "
                f"{INCEPTION_TARBALL}.")
        return graph_path
    cache_dir = cache_dir or default_cache_dir()
    for name in (INCEPTION_FROZEN_GRAPH, INCEPTION_TARBALL):
        candidate = os.path.join(cache_dir, name)
        if os.path.isfile(candidate):
            return candidate
    tarball = os.path.join(cache_dir, INCEPTION_TARBALL)
    reason = "downloading is disabled (download=False)"
    if download:
        try:
            _download(url, tarball, sha256=sha256, timeout=timeout)
        except (OSError, ValueError) as error:  # URLError is an OSError
            reason = f"downloading {url} failed: {error}"
        else:
            try:  # e.g. a proxy's HTML page instead of the archive
                read_graph_def(tarball)
            except ValueError:
                os.remove(tarball)
                raise
            return tarball
    raise ValueError(
        f"The Inception graph is not in the cache folder {cache_dir!r} and "
        f"{reason}. On a machine with internet access download {url} and "
        f"copy it (or the {INCEPTION_FROZEN_GRAPH} inside it) into "
        f"{cache_dir!r}, set ${CACHE_ENV_VAR} to its folder, or pass "
        "`graph_path=`.")


class InceptionGraphExtractor(FeatureExtractor):
    """FID / IS features from the 2015-12-05 frozen Inception graph.

    Outputs `"features"` (pool_3, 2048-d) and `"logits"` (1008-d). The legacy
    TTUR / TF-GAN protocol is the default: uint8 quantisation, TF1 bilinear
    resize to 299 and [-1, 1] input; use `output_scaling="ttur"` for the
    graph-internal (x - 128) / 128 of TTUR's `ExpandDims:0` entry point and
    `resize="pil_bicubic"` for clean-fid's clean mode.

    Args:
        graph_path: str or None. local `.pb` or `.tar.gz`; see
            `find_inception_graph`. Defaults to None.
        cache_dir: str or None. cache folder. Defaults to None
            (`$MIXGAN_CACHE_DIR` or `~/.cache/mixgan`).
        download: bool. download into the cache when missing. Defaults to
            True.
        sha256: str or None. expected SHA-256 of a downloaded archive.
            Defaults to `INCEPTION_TARBALL_SHA256` (None).
        image_size: int. network input size; keep 299 for the real graph.
            Defaults to 299.
        **preprocessing: `resize`, `quantize`, `value_range`,
            `output_scaling` of `FeatureExtractor`.
    """

    output_names = ("features", "logits")

    def __init__(self, graph_path=None, cache_dir=None, download=True,
                 sha256=INCEPTION_TARBALL_SHA256, image_size=299,
                 **preprocessing):
        super().__init__(image_size=image_size, channels=3, **preprocessing)
        self.graph_path = find_inception_graph(graph_path, cache_dir,
                                               download, sha256=sha256)
        graph_def = read_graph_def(self.graph_path)
        self._function = load_frozen_graph(
            graph_def, input_shape=(None, *self.image_size, 3))

    def forward(self, batch):
        features, logits = self._function(batch)
        return {"features": features, "logits": logits}

    def get_config(self):
        config = super().get_config()
        config["graph"] = os.path.basename(self.graph_path)
        return config

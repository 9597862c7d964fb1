"""A small CNN classifier trained by the toolkit, used as an offline feature
extractor for FID, KID, IS and the 5-NN test.

The ImageNet Inception networks need weights from the internet and say
little about 32x32 digits. A classifier trained on the target domain (a
"domain classifier", as in the MNIST FIDs of many GAN papers) needs neither:
`train_domain_classifier` fits one on a labelled dataset (by default the
10,000 bundled MNIST images at 32x32, train split) and saves it in the Keras
format; `DomainClassifierExtractor` then returns its penultimate activations
(`"features"`) and its class logits (`"logits"`, for a classifier score).

Network (`build_domain_classifier`), input `(H, W, C)` in [-1, 1] (the
pixel scaling of `general_tools.data.load_dataset` and of generators):

    conv 3x3, 16, ReLU -> max-pool 2 -> conv 3x3, 32, ReLU -> max-pool 2
    -> flatten -> dense 128, ReLU  (layer "features")
    -> dense num_classes           (layer "logits")

About 1.6 M multiply-adds per 32x32 image: the default three epochs on the
8,000 bundled training images take 10-20 s on two CPU cores and reach about
97% accuracy on the 2,000 held-out images. Scores computed with these
features are comparable only with scores from the same classifier weights:
the extractor's `get_config()` carries a fingerprint of the weights, and
`general_tools.reference_stats` keys its cache on it.
"""

import hashlib
import json
import os
import re
import time

import keras
import numpy as np
import tensorflow as tf

from general_tools.data.loader import load_dataset
from general_tools.features import KerasModelExtractor
from general_tools.features.inception_graph import default_cache_dir
from general_tools.atomic_io import write_bytes_atomic

FEATURE_LAYER = "features"
LOGITS_LAYER = "logits"
CLASSIFIER_DIR = "domain_classifiers"


def build_domain_classifier(input_shape=(32, 32, 1), num_classes=10,
                            widths=(16, 32), feature_dim=128, seed=0):
    """The classifier network (not compiled).

    Args:
        input_shape: tuple `(H, W, C)`. image shape; H and W divisible by 4.
            Defaults to (32, 32, 1).
        num_classes: int. number of classes. Defaults to 10.
        widths: tuple of two ints. channels of the two conv layers. Defaults
            to (16, 32).
        feature_dim: int. width of the penultimate "features" layer.
            Defaults to 128.
        seed: int. seed of the weight initialisers. Defaults to 0.

    Returns:
        `keras.Model` named "domain_classifier" with layers "features" and
        "logits".
    """
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 3 or shape[0] % 4 or shape[1] % 4 or \
            shape[2] not in (1, 3):
        raise ValueError(
            "`input_shape` must be (H, W, C) with H and W divisible by 4 and "
            f"C in (1, 3); received {input_shape!r}.")
    if int(num_classes) < 2:
        raise ValueError(
            f"`num_classes` must be >= 2; received {num_classes!r}.")

    def init(offset):
        return keras.initializers.GlorotUniform(seed=int(seed) + offset)

    inputs = keras.Input(shape, name="images")
    x = inputs
    for i, width in enumerate(widths):
        x = keras.layers.Conv2D(int(width), 3, padding="same",
                                activation="relu", kernel_initializer=init(i),
                                name=f"conv{i + 1}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool{i + 1}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(int(feature_dim), activation="relu",
                           kernel_initializer=init(10), name=FEATURE_LAYER)(x)
    logits = keras.layers.Dense(int(num_classes), kernel_initializer=init(11),
                                name=LOGITS_LAYER, dtype="float32")(x)
    return keras.Model(inputs, logits, name="domain_classifier")


def _slug(text):
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", str(text)).strip("-") or "data"


def default_classifier_path(dataset="mnist_bundled", image_size=32,
                            cache_dir=None):
    """Cache location of the default classifier of a dataset and size:
    `<cache>/domain_classifiers/<dataset>_<H>x<W>.keras`."""
    size = (image_size, image_size) if np.isscalar(image_size) \
        else tuple(image_size)
    return os.path.join(cache_dir or default_cache_dir(), CLASSIFIER_DIR,
                        f"{_slug(dataset)}_{size[0]}x{size[1]}.keras")


def _load_arrays(dataset, split, image_size, channels, data_dir,
                 max_examples, batch_size=1000):
    ds = load_dataset(dataset, split=split, image_size=image_size,
                      batch_size=batch_size, shuffle=False,
                      drop_remainder=False, with_labels=True,
                      channels=channels, data_dir=data_dir)
    images, labels, count = [], [], 0
    for x, y in ds:
        images.append(x.numpy())
        labels.append(y.numpy())
        count += len(labels[-1])
        if max_examples is not None and count >= max_examples:
            break
    if not images:
        raise ValueError(
            f"Dataset {dataset!r} split {split!r} holds no images.")
    images = np.concatenate(images)[:max_examples]
    labels = np.concatenate(labels)[:max_examples].astype(np.int32)
    if labels.min() < 0:
        raise ValueError(
            f"Dataset {dataset!r} split {split!r} has unlabelled examples "
            "(label < 0); a domain classifier needs labels.")
    return images, labels


def _save_atomic(model, path):
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".tmp-{os.getpid()}-{os.path.basename(path)}")
    try:
        model.save(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def weights_fingerprint(model):
    """Hex SHA-256 of a model's weights (shapes, dtypes and values, in
    order): identical for identical weights, whatever file they came from."""
    digest = hashlib.sha256()
    for weight in model.weights:
        value = np.ascontiguousarray(keras.ops.convert_to_numpy(weight))
        digest.update(f"{value.shape}{value.dtype}".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def train_domain_classifier(dataset="mnist_bundled", out_path=None, *,
                            image_size=32, channels=None, split="train",
                            eval_split="test", epochs=3, batch_size=64,
                            learning_rate=1e-3, seed=0, max_examples=None,
                            data_dir=None, cache_dir=None, verbose=0):
    """Trains the classifier on a labelled dataset and saves it.

    Adam (`learning_rate`, default betas) on the softmax cross-entropy,
    minibatches drawn by a seeded shuffle; weights initialised from `seed`,
    so a run is repeatable on one machine. The accuracy on `eval_split` is
    measured after training and stored in a JSON sidecar
    (`<out_path>.json`) together with the training settings and the weights
    fingerprint.

    Args:
        dataset: str. a labelled dataset name of `load_dataset`. Defaults to
            "mnist_bundled" (the bundled MNIST images).
        out_path: str or None. `.keras` file to write; None is
            `default_classifier_path(dataset, image_size, cache_dir)`.
            Defaults to None.
        image_size: int or `(h, w)`. input size. Defaults to 32.
        channels: int or None. image channels; None keeps the dataset's.
            Defaults to None.
        split: str. training split. Defaults to "train".
        eval_split: str or None. split for the reported accuracy; None
            skips it. Defaults to "test".
        epochs: int. training epochs. Defaults to 3.
        batch_size: int. minibatch size. Defaults to 64.
        learning_rate: float. Adam learning rate. Defaults to 1e-3.
        seed: int. seed of the initialisers and the shuffle. Defaults to 0.
        max_examples: int or None. use only the first examples of `split`
            (quick tests). Defaults to None.
        data_dir: str or None. forwarded to `load_dataset`. Defaults to None.
        cache_dir: str or None. cache root for the default path. Defaults to
            None (`$MIXGAN_CACHE_DIR` or `~/.cache/mixgan`).
        verbose: int. `fit` verbosity. Defaults to 0.

    Returns:
        dict with `model` (the trained `keras.Model`), `path`, `accuracy`
        (on `eval_split`, or None) and `metadata` (the sidecar contents).
    """
    if not out_path:
        out_path = default_classifier_path(dataset, image_size, cache_dir)
    if not str(out_path).endswith(".keras"):
        raise ValueError(
            f"`out_path` must end with '.keras'; received {out_path!r}.")
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ValueError(f"`{name}` must be an integer >= 1; received "
                             f"{value!r}.")
    start = time.time()
    x, y = _load_arrays(dataset, split, image_size, channels, data_dir,
                        max_examples)
    num_classes = int(y.max()) + 1
    model = build_domain_classifier(x.shape[1:], num_classes, seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(
                      from_logits=True),
                  metrics=["accuracy"])
    data = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(
        len(y), seed=int(seed), reshuffle_each_iteration=True).batch(
        int(batch_size)).prefetch(tf.data.AUTOTUNE)
    model.fit(data, epochs=int(epochs), verbose=verbose, shuffle=False)
    accuracy = None
    if eval_split is not None:
        x_eval, y_eval = _load_arrays(dataset, eval_split, image_size,
                                      channels, data_dir, None)
        logits = model.predict(x_eval, batch_size=500, verbose=0)
        accuracy = float(np.mean(np.argmax(logits, axis=1) == y_eval))
    _save_atomic(model, out_path)
    metadata = {
        "dataset": dataset, "split": split, "eval_split": eval_split,
        "image_shape": list(x.shape[1:]), "num_classes": num_classes,
        "num_train": int(len(y)), "epochs": int(epochs),
        "batch_size": int(batch_size), "learning_rate": float(learning_rate),
        "seed": int(seed), "accuracy": accuracy,
        "weights_sha256": weights_fingerprint(model),
        "train_seconds": round(time.time() - start, 2),
        "tensorflow": tf.__version__, "keras": keras.__version__,
    }
    write_bytes_atomic(out_path + ".json", (json.dumps(
        metadata, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    return {"model": model, "path": out_path, "accuracy": accuracy,
            "metadata": metadata}


def load_domain_classifier(path):
    """Loads a classifier saved by `train_domain_classifier`.

    Args:
        path: str. the `.keras` file.

    Returns:
        `keras.Model` with layers "features" and "logits".
    """
    if not os.path.isfile(path):
        raise ValueError(
            f"Domain classifier file {path!r} does not exist; create it with "
            "`train_domain_classifier(out_path=...)`.")
    model = keras.saving.load_model(path, compile=False)
    names = {layer.name for layer in model.layers}
    missing = [n for n in (FEATURE_LAYER, LOGITS_LAYER) if n not in names]
    if missing:
        raise ValueError(
            f"The model in {path!r} has no layer(s) {missing}; it is not a "
            "domain classifier (use KerasModelExtractor for other models).")
    return model


def get_domain_classifier(dataset="mnist_bundled", image_size=32,
                          cache_dir=None, train_if_missing=True, **kwargs):
    """The cached default classifier of a dataset, trained when missing.

    Args:
        dataset: str. labelled dataset name. Defaults to "mnist_bundled".
        image_size: int or `(h, w)`. input size. Defaults to 32.
        cache_dir: str or None. cache root. Defaults to None.
        train_if_missing: bool. train and cache it when the file is absent;
            otherwise raise. Defaults to True.
        **kwargs: more `train_domain_classifier` arguments.

    Returns:
        `(model, path)`.
    """
    path = default_classifier_path(dataset, image_size, cache_dir)
    if not os.path.isfile(path):
        if not train_if_missing:
            raise ValueError(
                f"No domain classifier for {dataset!r} at {path!r}; train one "
                "with `train_domain_classifier`.")
        train_domain_classifier(dataset, path, image_size=image_size,
                                cache_dir=cache_dir, **kwargs)
    return load_domain_classifier(path), path


class DomainClassifierExtractor(KerasModelExtractor):
    """Features ("features" layer) and logits of a domain classifier.

    Preprocessing: float images in `value_range` quantised to uint8 levels,
    resized to the classifier's input size when they differ (`resize`),
    grayscale repeated when the classifier takes 3 channels, then scaled
    back to [-1, 1] (`output_scaling="symmetric"`, the scaling the
    classifier was trained on).

    Args:
        classifier: `keras.Model` or str. a classifier from
            `build_domain_classifier` / `train_domain_classifier`, or the
            path of its `.keras` file.
        **preprocessing: `resize` (default "tf_bilinear"), `quantize`,
            `value_range` of `FeatureExtractor`.
    """

    def __init__(self, classifier, **preprocessing):
        path = None
        if isinstance(classifier, (str, os.PathLike)):
            path = os.fspath(classifier)
            classifier = load_domain_classifier(path)
        for key in ("image_size", "channels", "output_scaling"):
            if key in preprocessing:
                raise ValueError(
                    f"`{key}` is fixed by the classifier; received "
                    f"{key}={preprocessing[key]!r}.")
        super().__init__(classifier, layer_name=FEATURE_LAYER,
                         logits_layer_name=LOGITS_LAYER,
                         output_scaling="symmetric", **preprocessing)
        self.path = path
        self.fingerprint = weights_fingerprint(classifier)

    def get_config(self):
        config = super().get_config()
        config.update(
            extractor="domain_classifier",
            classifier=os.path.basename(self.path) if self.path else None,
            weights_sha256=self.fingerprint)
        return config


__all__ = [
    "DomainClassifierExtractor", "build_domain_classifier",
    "default_classifier_path", "get_domain_classifier",
    "load_domain_classifier", "train_domain_classifier",
    "weights_fingerprint",
]

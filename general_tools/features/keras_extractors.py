"""Feature extractors built from Keras models: ImageNet InceptionV3 and any
user model (e.g. a domain classifier trained by the toolkit)."""

import os

import keras
import tensorflow as tf

from general_tools.features.base import FeatureExtractor

KERAS_INCEPTION_NOTOP_FILE = (
    "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5")
KERAS_INCEPTION_NOTOP_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/"
    "inception_v3/" + KERAS_INCEPTION_NOTOP_FILE)


class KerasModelExtractor(FeatureExtractor):
    """Uses a Keras model, or one of its layers, as a feature extractor.

    Features are the model output (or the output of `layer_name`),
    flattened to `(N, dim)`. The input size and channels are read from the
    model's input shape when it has them.

    Args:
        model: `keras.Model`. a built model with one image input.
        layer_name: str or None. layer whose output gives the features; None
            uses the model output. Defaults to None.
        logits_layer_name: str or None. layer whose output is also returned
            as `"logits"` (e.g. a classifier's last layer, for a classifier
            score); None gives features only. Defaults to None.
        **preprocessing: `image_size`, `resize`, `quantize`, `value_range`,
            `output_scaling`, `channels` of `FeatureExtractor`; `image_size`
            and `channels` default to the model's input shape (no resize
            when its spatial size is undefined; 3 channels when its channel
            count is).
    """

    def __init__(self, model, layer_name=None, logits_layer_name=None,
                 **preprocessing):
        if not isinstance(model, keras.Model):
            raise ValueError(
                "`model` must be a keras.Model; received "
                f"{type(model).__name__}.")
        try:
            input_shape = tuple(model.input_shape)
        except (AttributeError, ValueError):
            raise ValueError(
                f"`model` {model.name!r} must be built with a single image "
                "input (call it once or give it a keras.Input).") from None
        if len(input_shape) != 4:
            raise ValueError(
                "`model` must take images (N, H, W, C); its input shape is "
                f"{input_shape}.")
        size = input_shape[1:3]
        preprocessing.setdefault(
            "image_size", None if None in size else tuple(size))
        preprocessing.setdefault("channels", input_shape[3] or 3)
        super().__init__(**preprocessing)
        self.layer_name = layer_name
        self.logits_layer_name = logits_layer_name
        outputs = [self._layer_output(model, layer_name, "layer_name")]
        if logits_layer_name is not None:
            outputs.append(self._layer_output(model, logits_layer_name,
                                              "logits_layer_name"))
            self.output_names = ("features", "logits")
        if len(model.inputs) != 1:
            raise ValueError(
                f"`model` {model.name!r} must have one input; it has "
                f"{len(model.inputs)}.")
        if layer_name is None and logits_layer_name is None:
            self._model = model
        else:
            self._model = keras.Model(
                model.inputs[0], outputs[0] if len(outputs) == 1 else outputs)
        self._model_name = model.name
        height, width = self.image_size or (None, None)
        self._call = tf.function(
            lambda batch: self._model(batch, training=False),
            input_signature=[tf.TensorSpec([None, height, width,
                                            self.channels], tf.float32)])

    @staticmethod
    def _layer_output(model, name, argument):
        if name is None:
            if len(model.outputs) != 1:
                raise ValueError(
                    f"Model {model.name!r} has {len(model.outputs)} outputs; "
                    "pass `layer_name` to choose the features.")
            return model.outputs[0]
        try:
            return model.get_layer(name).output
        except ValueError:
            raise ValueError(
                f"`{argument}` {name!r} is not a layer of model "
                f"{model.name!r}.") from None

    def forward(self, batch):
        result = self._call(batch)
        if isinstance(result, (list, tuple)):
            return dict(zip(self.output_names, result))
        return {"features": result}

    def get_config(self):
        config = super().get_config()
        config.update(model=self._model_name, layer_name=self.layer_name,
                      logits_layer_name=self.logits_layer_name)
        return config


class KerasInceptionExtractor(KerasModelExtractor):
    """Keras `InceptionV3(include_top=False, pooling="avg")` features.

    2048-d average-pool features of the Keras ImageNet InceptionV3 (the TF2
    counterpart of the torchvision network used by the HMoG code). Its
    inputs are [-1, 1] (`inception_v3.preprocess_input`), which the default
    `output_scaling="symmetric"` produces. Scores from it are not comparable
    with FIDs from the 2015-12-05 graph (`InceptionGraphExtractor`).

    Args:
        weights: str or None. `"imagenet"` (downloaded once by Keras into
            `~/.keras/models/`), a local weights file (offline machines: copy
            `inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5`), or
            None for random weights (tests only). Defaults to "imagenet".
        image_size: int. input size, >= 75. Defaults to 299.
        **preprocessing: `resize`, `quantize`, `value_range`,
            `output_scaling` of `FeatureExtractor`.
    """

    def __init__(self, weights="imagenet", image_size=299, **preprocessing):
        if weights not in ("imagenet", None) and not os.path.isfile(weights):
            raise ValueError(
                f"`weights` {weights!r} is neither 'imagenet', None nor an "
                "existing file; download "
                f"{KERAS_INCEPTION_NOTOP_URL} and pass its path.")
        try:
            model = keras.applications.InceptionV3(
                include_top=False, weights=weights, pooling="avg",
                input_shape=(image_size, image_size, 3))
        except Exception as error:
            if weights != "imagenet":
                raise
            raise ValueError(
                "Could not load the Keras InceptionV3 ImageNet weights "
                f"({error}). Offline, copy {KERAS_INCEPTION_NOTOP_FILE} from "
                f"{KERAS_INCEPTION_NOTOP_URL} into ~/.keras/models/ or pass "
                "its path as `weights`.") from None
        super().__init__(model, image_size=image_size, channels=3,
                         **preprocessing)
        self.weights = "random" if weights is None else (
            weights if weights == "imagenet" else os.path.basename(weights))

    def get_config(self):
        config = super().get_config()
        config["weights"] = self.weights
        return config

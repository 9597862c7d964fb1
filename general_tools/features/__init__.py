"""Feature extractors for evaluation: images in, feature vectors out.

* `InceptionGraphExtractor`: the 2015-12-05 frozen Inception graph of TTUR /
  TF-GAN (pool_3 features and logits), for FID, KID and IS comparable with
  the literature.
* `KerasInceptionExtractor`: Keras ImageNet InceptionV3 average-pool
  features.
* `KerasModelExtractor`: any Keras model or layer, e.g. a domain classifier
  for fully offline evaluation.

Each one is called as `extractor(images, batch_size=64) -> (N, dim)` and
runs `preprocess_images` first, whose quantisation, resize method and
scaling are constructor arguments and part of `get_config()`. The metrics
that consume the features are in `general_tools.metrics`.
"""

from general_tools.features.base import FeatureExtractor
from general_tools.features.base import iterate_batches
from general_tools.features.inception_graph import INCEPTION_URL
from general_tools.features.inception_graph import InceptionGraphExtractor
from general_tools.features.inception_graph import find_inception_graph
from general_tools.features.inception_graph import load_frozen_graph
from general_tools.features.inception_graph import read_graph_def
from general_tools.features.keras_extractors import KerasInceptionExtractor
from general_tools.features.keras_extractors import KerasModelExtractor
from general_tools.features.preprocessing import OUTPUT_SCALINGS
from general_tools.features.preprocessing import RESIZE_METHODS
from general_tools.features.preprocessing import preprocess_images
from general_tools.features.preprocessing import resize_images
from general_tools.features.preprocessing import to_pixel_levels

__all__ = [
    "FeatureExtractor",
    "INCEPTION_URL",
    "InceptionGraphExtractor",
    "KerasInceptionExtractor",
    "KerasModelExtractor",
    "OUTPUT_SCALINGS",
    "RESIZE_METHODS",
    "find_inception_graph",
    "iterate_batches",
    "load_frozen_graph",
    "preprocess_images",
    "read_graph_def",
    "resize_images",
    "to_pixel_levels",
]

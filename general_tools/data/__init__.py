"""Data input for mixgan: named datasets, generic local sources, 2-D toy
mixtures and a tf.data pipeline.

Main entry points:

- `load_dataset(name, split="train", image_size=None, batch_size=None, ...)`
  -> `tf.data.Dataset` of float32 images in [-1, 1] (and int32 labels).
- `available_datasets()` -> the names it accepts; `get_spec(name)` -> their
  defaults (`DatasetSpec`).
- `read_idx`, `write_idx`; `read_bundled_mnist`; `gmm_mixture`,
  `ring_mixture`, `grid_mixture`, `sample_mixture`; `holdout_mask`.

How to obtain and prepare each dataset: `datasets/README.md`.
"""

from general_tools.data.bundled import bundled_mnist_dir, read_bundled_mnist
from general_tools.data.idx import read_idx, write_idx
from general_tools.data.loader import dataset_identity, load_dataset
from general_tools.data.pipeline import crop_and_resize, to_unit_range
from general_tools.data.source import RawSource, holdout_mask
from general_tools.data.specs import (DatasetSpec, available_datasets,
                                      get_spec)
from general_tools.data.tfds_sources import DatasetUnavailableError
from general_tools.data.toy import (grid_mixture, gmm_mixture, ring_mixture,
                                    sample_mixture, toy_mixture)

__all__ = [
    "DatasetSpec", "DatasetUnavailableError", "RawSource",
    "available_datasets", "bundled_mnist_dir", "crop_and_resize",
    "dataset_identity",
    "get_spec", "gmm_mixture", "grid_mixture", "holdout_mask",
    "load_dataset", "read_bundled_mnist", "read_idx", "ring_mixture",
    "sample_mixture", "to_unit_range", "toy_mixture", "write_idx",
]

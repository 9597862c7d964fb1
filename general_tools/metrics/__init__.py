"""Evaluation metrics computed from feature vectors (Inception pool_3 or any
other embedding): FID, KID, Inception Score, the HMoG 5-NN two-sample test,
improved precision/recall and density/coverage.

Conventions:

* Inputs are `(num_samples, num_features)` arrays; two-set metrics always
  take `(real, fake)` in that order.
* FID statistics and sums are float64; pairwise distances and Gram matrices
  are float32 matmuls in TensorFlow (on the GPU when one is visible, with
  TensorFloat-32 switched off), computed in row blocks so that no full
  n x n matrix is ever held.
* Every function is deterministic given its inputs (and `seed` for KID).

`feature_metrics` computes several of them at once, sharing the distance
passes (KID included). Images are turned into features by
`general_tools.features`.
"""

from general_tools.metrics.frechet import feature_statistics
from general_tools.metrics.frechet import frechet_distance
from general_tools.metrics.frechet import frechet_distance_from_stats
from general_tools.metrics.frechet import trace_sqrt_product
from general_tools.metrics.inception_score import inception_score
from general_tools.metrics.kernel import draw_subset_indices
from general_tools.metrics.kernel import kernel_distance
from general_tools.metrics.neighbours import density_coverage
from general_tools.metrics.neighbours import knn_two_sample
from general_tools.metrics.neighbours import neighbour_metrics
from general_tools.metrics.neighbours import precision_recall
from general_tools.metrics.suite import METRICS
from general_tools.metrics.suite import feature_metrics

__all__ = [
    "METRICS",
    "density_coverage",
    "draw_subset_indices",
    "feature_metrics",
    "feature_statistics",
    "frechet_distance",
    "frechet_distance_from_stats",
    "inception_score",
    "kernel_distance",
    "knn_two_sample",
    "neighbour_metrics",
    "precision_recall",
    "trace_sqrt_product",
]

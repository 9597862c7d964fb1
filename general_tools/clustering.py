"""Clustering accuracy under the best one-to-one cluster-to-label mapping.

Unsupervised GM-GAN (Ben-Yosef & Weinshall 2018, Sec. 5) assigns every real
image to the Gaussian component it most likely came from, and reports the
accuracy of that clustering once each cluster has been matched to one class.
The matching maximises the number of correctly labelled examples; it is a
linear assignment problem on the contingency table, solved exactly with the
Hungarian algorithm (Kuhn 1955; ``scipy.optimize.linear_sum_assignment``):

    ACC = max_{m one-to-one} (1 / N) sum_i 1[y_i = m(c_i)]

With more clusters than classes (or the reverse), the unmatched clusters
count as wrong, which is the usual convention (Xie et al. 2016, DEC).

Example:

>>> clustering_accuracy([0, 0, 1, 1, 2], [2, 2, 0, 0, 1])
1.0
"""

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["contingency_matrix", "best_cluster_mapping",
           "clustering_accuracy"]


def _as_labels(values, name):
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(
            f"`{name}` must be a 1-D array of integer ids. Received: "
            f"shape={values.shape}")
    if values.size and not np.issubdtype(values.dtype, np.integer):
        if not np.all(np.equal(np.mod(values, 1), 0)):
            raise ValueError(
                f"`{name}` must hold integer ids. Received dtype "
                f"{values.dtype} with non-integer values")
        values = values.astype(np.int64)
    if values.size and values.min() < 0:
        raise ValueError(
            f"`{name}` must hold non-negative ids. Received a minimum of "
            f"{values.min()}")
    return values.astype(np.int64)


def _size(given, values, name):
    needed = int(values.max()) + 1 if values.size else 0
    if given is None:
        return needed
    given = int(given)
    if given < needed:
        raise ValueError(
            f"`{name}`={given} is smaller than the largest id + 1 ({needed})")
    return given


def contingency_matrix(clusters, labels, num_clusters=None, num_classes=None):
    """Counts ``C[c, y]`` of examples in cluster ``c`` with label ``y``.

    Args:
        clusters: int array ``(N,)``. Cluster id of each example.
        labels: int array ``(N,)``. True class of each example.
        num_clusters: int. Number of clusters. Defaults to the largest
            cluster id + 1.
        num_classes: int. Number of classes. Defaults to the largest label
            + 1.

    Returns:
        int64 array ``(num_clusters, num_classes)``.
    """
    clusters = _as_labels(clusters, "clusters")
    labels = _as_labels(labels, "labels")
    if clusters.shape != labels.shape:
        raise ValueError(
            f"`clusters` and `labels` must have the same length. Received: "
            f"{clusters.shape[0]} and {labels.shape[0]}")
    k = _size(num_clusters, clusters, "num_clusters")
    m = _size(num_classes, labels, "num_classes")
    table = np.zeros((k, m), np.int64)
    np.add.at(table, (clusters, labels), 1)
    return table


def best_cluster_mapping(clusters, labels, num_clusters=None,
                         num_classes=None):
    """The one-to-one cluster -> label mapping with the most agreements.

    Args:
        clusters, labels, num_clusters, num_classes: see
            :func:`contingency_matrix`.

    Returns:
        int64 array ``(num_clusters,)``: the label of each cluster, or -1 for
        a cluster left unmatched (more clusters than classes).
    """
    table = contingency_matrix(clusters, labels, num_clusters, num_classes)
    rows, cols = linear_sum_assignment(table, maximize=True)
    mapping = np.full(table.shape[0], -1, np.int64)
    mapping[rows] = cols
    return mapping


def clustering_accuracy(labels, clusters, num_clusters=None,
                        num_classes=None):
    """Accuracy of a clustering under the best one-to-one mapping.

    Args:
        labels: int array ``(N,)``. True classes.
        clusters: int array ``(N,)``. Cluster ids (e.g. the Gaussian
            component assigned to each real image).
        num_clusters, num_classes: see :func:`contingency_matrix`.

    Returns:
        float in ``[0, 1]``.
    """
    table = contingency_matrix(clusters, labels, num_clusters, num_classes)
    total = table.sum()
    if total == 0:
        raise ValueError("`labels` and `clusters` are empty.")
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / total)

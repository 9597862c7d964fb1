"""Clustering accuracy under the best one-to-one mapping (Hungarian)."""

import itertools

import numpy as np
import pytest

from general_tools.clustering import (best_cluster_mapping,
                                      clustering_accuracy,
                                      contingency_matrix)


def brute_force_accuracy(labels, clusters, k, m):
    """Best accuracy over every injective cluster -> label map (k <= m) or
    label -> cluster map (k > m), by enumeration."""
    table = np.zeros((k, m), int)
    for c, y in zip(clusters, labels):
        table[c, y] += 1
    best = 0
    if k <= m:
        for perm in itertools.permutations(range(m), k):
            best = max(best, sum(table[i, perm[i]] for i in range(k)))
    else:
        for perm in itertools.permutations(range(k), m):
            best = max(best, sum(table[perm[j], j] for j in range(m)))
    return best / len(labels)


def test_permuted_labelling_is_perfect(rng):
    labels = rng.integers(0, 10, size=500)
    perm = rng.permutation(10)
    assert clustering_accuracy(labels, perm[labels]) == 1.0
    mapping = best_cluster_mapping(perm[labels], labels)
    np.testing.assert_array_equal(mapping[perm], np.arange(10))


def test_hand_case():
    # cluster 1 holds two 0s, cluster 0 two 1s and one 0, cluster 2 one 2:
    # best map 1->0, 0->1, 2->2 gets 2 + 2 + 1 = 5 of 7.
    labels = [0, 0, 0, 1, 1, 2, 2]
    clusters = [1, 1, 0, 0, 0, 2, 0]
    np.testing.assert_array_equal(
        contingency_matrix(clusters, labels),
        [[1, 2, 1], [2, 0, 0], [0, 0, 1]])
    assert clustering_accuracy(labels, clusters) == pytest.approx(5 / 7)
    np.testing.assert_array_equal(best_cluster_mapping(clusters, labels),
                                  [1, 0, 2])


def test_majority_vote_would_overcount():
    # Both clusters are mostly label 0; a one-to-one map may use 0 once.
    labels = [0, 0, 0, 0, 1, 1]
    clusters = [0, 0, 1, 1, 0, 1]
    assert clustering_accuracy(labels, clusters) == pytest.approx(3 / 6)


@pytest.mark.parametrize("k,m", [(4, 4), (3, 5), (6, 3)])
def test_matches_brute_force(rng, k, m):
    for _ in range(5):
        labels = rng.integers(0, m, size=40)
        clusters = rng.integers(0, k, size=40)
        expected = brute_force_accuracy(labels, clusters, k, m)
        got = clustering_accuracy(labels, clusters, num_clusters=k,
                                  num_classes=m)
        assert got == pytest.approx(expected)


def test_extra_clusters_are_unmatched():
    mapping = best_cluster_mapping([0, 1, 2, 2], [0, 1, 1, 1])
    assert sorted(mapping.tolist()) == [-1, 0, 1]
    assert mapping[2] == 1


@pytest.mark.parametrize("labels,clusters,match", [
    ([0, 1], [0], "same length"),
    ([[0, 1]], [[0, 1]], "1-D"),
    ([0, -1], [0, 1], "non-negative"),
    ([0.5, 1], [0, 1], "integer"),
    ([], [], "empty"),
])
def test_errors(labels, clusters, match):
    with pytest.raises(ValueError, match=match):
        clustering_accuracy(labels, clusters)


def test_num_classes_too_small():
    with pytest.raises(ValueError, match="num_classes"):
        contingency_matrix([0, 1], [0, 3], num_classes=2)

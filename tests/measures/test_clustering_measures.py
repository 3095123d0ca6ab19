"""Clustering accuracy under the best one-to-one map, on labelings made by hand."""

import numpy as np
import pytest

from sdae.errors import DataError
from sdae.measures.clustering import cluster_accuracy, clustering_scores, confusion


def test_renamed_clusters_are_perfect():
    y = np.array([0, 0, 1, 1, 2, 2])
    assert cluster_accuracy(y, np.array([2, 2, 0, 0, 1, 1])) == 1.0
    assert clustering_scores(y, np.array([5, 5, 3, 3, 4, 4])) == pytest.approx(
        {"acc": 1.0, "nmi": 1.0, "ari": 1.0})


def test_best_map_counts_what_it_can_match():
    # cluster 0 holds classes 0,0,1; cluster 1 holds 1,1,2: the best map is 0->0, 1->1,
    # which gets 2 + 2 of 6 right (0->1, 1->2 would get 1 + 1)
    y = np.array([0, 0, 1, 1, 1, 2])
    pred = np.array([0, 0, 0, 1, 1, 1])
    assert cluster_accuracy(y, pred) == pytest.approx(4 / 6)


def test_more_clusters_than_classes_leave_some_unmatched():
    y = np.array([0, 0, 0, 1, 1, 1])
    pred = np.array([0, 1, 2, 3, 3, 3])  # class 0 split in three: one part can match
    assert cluster_accuracy(y, pred) == pytest.approx(4 / 6)


def test_one_cluster_gets_the_largest_class():
    y = np.array([0, 1, 1, 1, 2])
    assert cluster_accuracy(y, np.zeros(5, int)) == pytest.approx(3 / 5)


def test_string_labels_and_confusion_table():
    y = np.array(["cat", "dog", "dog"])
    table = confusion(y, np.array([7, 3, 3]))
    assert table.tolist() == [[0, 2], [1, 0]]  # cluster 3 (row 0) holds the two dogs
    assert cluster_accuracy(y, np.array([7, 3, 3])) == 1.0


def test_lengths_must_match():
    with pytest.raises(DataError, match="3 cluster labels for 2 class labels"):
        cluster_accuracy(np.array([0, 1]), np.array([0, 1, 1]))

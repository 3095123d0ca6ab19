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


def test_the_figures_name_an_empty_cluster_with_its_size(tmp_path, monkeypatch):
    from sdae.measures import clustering, figures

    drawn = []
    monkeypatch.setattr(figures, "save_figure", lambda fig, path: drawn.append(fig) or path)
    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 0.0], [5.0, 5.0], [9.0, 0.0]])
    labels = np.repeat([0, 2], 30)  # cluster 1 holds no row
    codes = centers[labels] + rng.normal(scale=0.1, size=(60, 2))
    clustering.draw_clusters(rng.random((60, 16)), codes, centers, labels, tmp_path)
    code_map, nearest = drawn
    legend = [t.get_text() for t in code_map.axes[0].get_legend().get_texts()]
    assert legend == ["0 (30)", "1 (0)", "2 (30)"]
    rows = [ax.get_ylabel() for ax in nearest.axes]
    assert rows == ["0 (30)", "1 (0)", "2 (30)"]
    assert [len(ax.images) for ax in nearest.axes] == [1, 0, 1]  # the empty one is blank
    import matplotlib.pyplot as plt

    colour = code_map.axes[0].collections[2].get_facecolor()[0][:3]
    assert tuple(colour) == plt.get_cmap("tab10")(2)[:3]  # cluster 2's own, past the empty 1
    plt.close(code_map)
    plt.close(nearest)

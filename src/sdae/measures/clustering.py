"""How well a clustering found the classes: accuracy under the best map, NMI and ARI.

Clusters have no names, so unsupervised clustering accuracy (ACC) first maps clusters to
classes one to one, the map that agrees with the most rows (the Hungarian algorithm on the
confusion table), as DEC and its successors report it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError


def confusion(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Counts (clusters, classes): row i, column j = rows of cluster i in class j; both
    labelings are renumbered 0.. in sorted order first."""
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if len(y_true) != len(y_pred):
        raise DataError(f"{len(y_pred)} cluster labels for {len(y_true)} class labels: "
                        "they must match")
    _, classes = np.unique(y_true, return_inverse=True)
    _, clusters = np.unique(y_pred, return_inverse=True)
    table = np.zeros((clusters.max(initial=-1) + 1, classes.max(initial=-1) + 1),
                     dtype=np.int64)
    np.add.at(table, (clusters, classes), 1)
    return table


def cluster_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """The share of rows whose cluster maps to their class, under the one-to-one map of
    clusters to classes that maximises it (clusters left unmatched count as wrong)."""
    from scipy.optimize import linear_sum_assignment

    table = confusion(y_true, y_pred)
    if table.size == 0:
        return float("nan")
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / table.sum())


def clustering_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """ACC, normalised mutual information and adjusted Rand index of a clustering."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    return {"acc": cluster_accuracy(y_true, y_pred),
            "nmi": float(normalized_mutual_info_score(y_true, y_pred)),
            "ari": float(adjusted_rand_score(y_true, y_pred))}


def draw_clusters(x: np.ndarray, codes: np.ndarray, centers: np.ndarray, labels: np.ndarray,
                  out: Path, image_shape: tuple[int, int] | None = None, seed: int = 0,
                  title: str = "", per_cluster: int = 10) -> list[Path]:
    """The two figures a user looks at, written to the folder ``out``: ``codes_map.png``,
    the codes on the plane coloured by cluster, and ``nearest.png``, the rows nearest each
    centre (images, or strips of a table's features). Returns their paths."""
    from ..tasks.clustering import map_2d, nearest_to_centres
    from .figures import plot_cluster_examples, plot_code_map

    out = Path(out)
    rows, points = map_2d(codes, seed)
    sizes = np.bincount(labels, minlength=len(centers))
    names = [f"{k} ({size})" for k, size in enumerate(sizes)]  # an empty one says (0)
    maps = plot_code_map(points, labels[rows], out / "codes_map.png",
                         title=f"{title}codes of {len(rows)} rows on the plane, coloured by "
                               "cluster (cluster, size)", names=names)
    nearest = nearest_to_centres(codes, centers, labels, per_cluster)
    examples = plot_cluster_examples(  # an empty cluster's row is blank
        [x[r] for r in nearest], out / "nearest.png", image_shape, labels=names,
        title=f"{title}the rows nearest each cluster's centre (cluster, size)")
    return [maps, examples]

"""Clustering a set of codes: k-means, a Gaussian mixture, or UMAP then a Gaussian mixture.

N2D (McConville et al. 2020) showed that an autoencoder's codes, embedded by UMAP into as
many dimensions as there are clusters and clustered by a Gaussian mixture, beat the deep
clustering objectives on MNIST: UMAP follows the manifold of the codes, which k-means on
the codes themselves does not. ``umap-learn`` is an optional extra (``pip install
"sdae[umap]"``).
"""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import torch

from ...errors import ConfigError

CODE_METHODS = ("kmeans", "gmm", "umap-gmm")
UMAP_NEIGHBOURS = 20  # N2D's setting for MNIST


def umap_installed() -> bool:
    """Whether the optional ``umap-learn`` is importable."""
    return importlib.util.find_spec("umap") is not None


def cluster_codes(codes: np.ndarray, n_clusters: int, method: str = "kmeans",
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(labels (n,), centres (n_clusters, d)) of ``codes`` (n, d) by ``method``.

    The centres are in code space whatever the method: k-means' own, else the mean code of
    each cluster (for a cluster left empty, the mean of all codes).
    """
    codes = np.asarray(codes, dtype=np.float64)
    if method == "kmeans":
        return kmeans(codes, n_clusters, seed)
    if method == "gmm":
        labels = _gmm(codes, n_clusters, seed)
    elif method == "umap-gmm":
        labels = _gmm(umap_embedding(codes, n_clusters, seed), n_clusters, seed)
    else:
        raise ConfigError(f"unknown method {method!r} for codes: use one of "
                          f"{', '.join(CODE_METHODS)}")
    return labels, cluster_means(codes, labels, n_clusters)


def kmeans(x: np.ndarray, n_clusters: int, seed: int = 0,
           n_init: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """k-means with ``n_init`` restarts (DEC's 20), the best kept: (labels, centres)."""
    from sklearn.cluster import KMeans

    fitted = KMeans(n_clusters, n_init=n_init, random_state=seed).fit(x)
    return fitted.labels_.astype(np.int64), fitted.cluster_centers_


def _gmm(x: np.ndarray, n_clusters: int, seed: int, n_init: int = 10) -> np.ndarray:
    """The components of a full-covariance Gaussian mixture, the most likely of ``n_init``
    fits started from k-means. One start is not enough: on MNIST's UMAP embedding, 2 of 5
    single starts merged two digits and split another (ACC 0.83-0.86), and the most likely
    of 5 or 10 found 0.970 (docs/clustering.md)."""
    from sklearn.mixture import GaussianMixture

    mixture = GaussianMixture(n_clusters, covariance_type="full", random_state=seed,
                              reg_covar=1e-5, n_init=n_init)
    with warnings.catch_warnings():  # a budget, as every method has one
        warnings.simplefilter("ignore", category=UserWarning)
        from sklearn.exceptions import ConvergenceWarning

        warnings.simplefilter("ignore", category=ConvergenceWarning)
        return mixture.fit_predict(x).astype(np.int64)


def umap_embedding(x: np.ndarray, n_components: int, seed: int = 0,
                   min_dist: float = 0.0) -> np.ndarray:
    """UMAP of ``x`` into ``n_components`` dimensions, with N2D's settings (20 neighbours,
    minimum distance 0: points are packed as tightly as their neighbourhoods allow; a
    figure spreads them a little more).

    UMAP's numba code resets the OpenMP threads that torch shares (1 became 2 on a 2-core
    machine), so torch's thread count is put back afterwards: a run limited to one thread
    beside other work would otherwise oversubscribe the cores, and its next training ran
    20 times slower."""
    if not umap_installed():
        raise ConfigError('UMAP needs umap-learn: pip install "sdae[umap]" (or umap-learn), '
                          "or choose the method kmeans, gmm, dec or idec")
    import umap

    neighbours = min(UMAP_NEIGHBOURS, len(x) - 1)
    threads = torch.get_num_threads()
    try:
        with warnings.catch_warnings():  # "n_jobs overridden by random_state": meant
            warnings.simplefilter("ignore", category=UserWarning)
            return umap.UMAP(n_components=n_components, n_neighbors=neighbours,
                             min_dist=min_dist, random_state=seed).fit_transform(x)
    finally:
        torch.set_num_threads(threads)


def cluster_means(codes: np.ndarray, labels: np.ndarray, n_clusters: int) -> np.ndarray:
    """The mean code of each cluster (the mean of all codes for an empty one); (k, d)."""
    counts = np.bincount(labels, minlength=n_clusters)
    sums = np.zeros((n_clusters, codes.shape[1]))
    np.add.at(sums, labels, codes)
    means = sums / np.maximum(counts, 1)[:, None]
    means[counts == 0] = codes.mean(0)
    return means


def map_2d(codes: np.ndarray, seed: int = 0, max_points: int = 10_000
           ) -> tuple[np.ndarray, np.ndarray]:
    """(rows, points (len(rows), 2)): the codes of at most ``max_points`` rows drawn at
    random, on the plane for a figure. UMAP when installed, else t-SNE on at most 3000 rows
    (scikit-learn's is slow beyond); 2-D codes as they are."""
    rng = np.random.default_rng(seed)
    n = len(codes)
    if codes.shape[1] == 2:
        rows = np.sort(rng.permutation(n)[:max_points])
        return rows, np.asarray(codes[rows], dtype=np.float64)
    if umap_installed():
        rows = np.sort(rng.permutation(n)[:max_points])
        return rows, umap_embedding(np.asarray(codes[rows], dtype=np.float64), 2, seed,
                                    min_dist=0.1)
    from sklearn.manifold import TSNE

    rows = np.sort(rng.permutation(n)[:min(max_points, 3000)])
    perplexity = min(30.0, (len(rows) - 1) / 3)
    return rows, TSNE(2, perplexity=perplexity, random_state=seed).fit_transform(
        np.asarray(codes[rows], dtype=np.float64))


def nearest_to_centres(codes: np.ndarray, centers: np.ndarray, labels: np.ndarray,
                       m: int = 10) -> list[np.ndarray]:
    """For each centre, the rows of its cluster whose codes lie nearest it (at most
    ``m``, nearest first): what a cluster looks like."""
    out = []
    for k, centre in enumerate(centers):
        members = np.flatnonzero(labels == k)
        distances = np.linalg.norm(codes[members] - centre, axis=1)
        out.append(members[np.argsort(distances, kind="stable")[:m]])
    return out

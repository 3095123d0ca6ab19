"""Clustering without labels on the codes of a stacked DAE (DEC, IDEC, N2D).

:mod:`.fitting` is the recipe (train the stack, cluster its codes, refine); :mod:`.codes`
clusters a set of codes; :mod:`.self_training` is DEC's and IDEC's objective and the model
they train (an encoder with centres); :mod:`.moves` moves images a little (DEC-DA).
"""

from .codes import (
    CODE_METHODS,
    cluster_codes,
    cluster_means,
    kmeans,
    map_2d,
    nearest_to_centres,
    umap_embedding,
    umap_installed,
)
from .fitting import (
    INITS,
    METHODS,
    UNITS,
    ClusteringResult,
    ClusteringSettings,
    build_stack,
    check_clustering_data,
    check_method,
    cluster,
    fit_clustering,
    resolve_method,
    target_update_interval,
    train_stack,
)
from .self_training import (
    ClusteringConfig,
    ClusteringModel,
    SelfTraining,
    kl_divergence,
    soft_assignment,
    target_distribution,
)

__all__ = ["CODE_METHODS", "INITS", "METHODS", "UNITS", "ClusteringConfig", "ClusteringModel",
           "ClusteringResult", "ClusteringSettings", "SelfTraining", "build_stack",
           "check_clustering_data", "check_method", "cluster", "cluster_codes", "cluster_means",
           "fit_clustering", "kl_divergence", "kmeans", "map_2d", "nearest_to_centres",
           "resolve_method", "soft_assignment", "target_distribution",
           "target_update_interval", "train_stack", "umap_embedding", "umap_installed"]

"""Experiments of the papers, one function (and one CLI command) each."""

EXPERIMENTS = {
    "mnist-filters": "sdae.experiments.mnist_filters",
}

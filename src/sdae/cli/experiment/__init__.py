"""sdae experiment: the papers' experiments, one module each. Each writes a run folder
(sdae.io.runs) whose training phases checkpoint, so that a killed experiment continues
(--resume OUT, or the same command again)."""

from __future__ import annotations

from . import (
    clustering,
    denoising,
    imputation,
    mnist_filters,
    natural_patches,
    outliers,
    sampling,
    sda,
)
from .common import add_experiment, in_run_folder, print_report, resumed
from .mnist_filters import print_filters_summary

__all__ = ["add_experiment", "add_parser", "in_run_folder", "print_filters_summary",
           "print_report", "resumed"]


def add_parser(sub) -> None:
    p = sub.add_parser("experiment", help="reproduce an experiment of the papers")
    exp = p.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True)
    for command in (mnist_filters, natural_patches, sda, imputation, sampling, denoising,
                    outliers, clustering):
        command.add_parser(exp)

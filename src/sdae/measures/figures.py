"""Figures: filters W_i/‖W_i‖ as tiled images, and clean / corrupted / reconstructed rows."""

from __future__ import annotations

import io
import math
import os
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..io.atomic import atomic_write


def unit_filters(weight: np.ndarray) -> np.ndarray:
    """Rows of W divided by their norm: the unit-norm input that activates each unit most."""
    weight = np.asarray(weight, dtype=np.float64)
    norms = np.linalg.norm(weight, axis=1, keepdims=True)
    return weight / np.maximum(norms, 1e-12)


def infer_shape(d: int) -> tuple[int, int]:
    """The square image shape of a d-component input, or a clear error."""
    side = math.isqrt(d)
    if side * side != d:
        raise ConfigError(f"inputs of {d} components are not square images: give "
                          "image_shape (--image-shape H W)")
    return side, side


def tile_images(
    images: np.ndarray,
    image_shape: tuple[int, int] | None = None,
    n_cols: int | None = None,
    pad: int = 1,
    scale_each: bool = True,
) -> np.ndarray:
    """Arrange n images, given as rows (n, h*w), into one 2-D array in [0, 1].

    ``scale_each`` stretches every tile to its own range, the usual display of filters;
    otherwise values are clipped to [0, 1] (data and reconstructions). Gaps are 1 (white)
    between filters and 0.5 (grey) otherwise.
    """
    images = np.asarray(images, dtype=np.float64)
    n = len(images)
    h, w = image_shape or infer_shape(images.shape[1])
    tiles = images.reshape(n, h, w)
    if scale_each:
        lo = tiles.min(axis=(1, 2), keepdims=True)
        span = tiles.max(axis=(1, 2), keepdims=True) - lo
        tiles = (tiles - lo) / np.where(span > 0, span, 1.0)
    else:
        tiles = tiles.clip(0.0, 1.0)
    n_cols = n_cols or int(np.ceil(np.sqrt(n)))
    n_rows = int(np.ceil(n / n_cols))
    grid = np.full((n_rows * (h + pad) - pad, n_cols * (w + pad) - pad),
                   1.0 if scale_each else 0.5)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, n_cols)
        grid[r * (h + pad): r * (h + pad) + h, c * (w + pad): c * (w + pad) + w] = tile
    return grid


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


FIGURE_FORMATS = ("png", "pdf", "svg", "jpg", "jpeg")


def save_figure(fig, path: str | os.PathLike) -> Path:
    """Render ``fig`` and write it atomically: a partly written image is never left behind."""
    plt = _pyplot()
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    try:
        if fmt not in FIGURE_FORMATS:
            raise ConfigError(f"{path}: cannot write a figure as {fmt or 'a file without suffix'!r}"
                              f"; use one of .{', .'.join(FIGURE_FORMATS)}")
        buffer = io.BytesIO()
        fig.savefig(buffer, dpi=120, bbox_inches="tight", format=fmt)
        try:
            return atomic_write(path, buffer.getvalue())
        except OSError as err:
            raise ConfigError(f"cannot write {path}: {err.strerror or err}") from None
    finally:
        plt.close(fig)


def plot_filter_panels(
    panels: Sequence[tuple[str, np.ndarray]],
    path: str | os.PathLike,
    image_shape: tuple[int, int] | None = None,
    n_filters: int = 100,
    columns: int | None = None,
) -> Path:
    """One labelled panel of filters per model; ``panels`` holds (title, W) pairs, W (d', d).

    Panels are laid out ``columns`` to a row (default: all in one row).
    """
    panel = 4.5  # inches
    columns = min(columns or len(panels), len(panels))
    rows = -(-len(panels) // columns)
    fig, axes = _pyplot().subplots(rows, columns,
                                   figsize=(panel * columns, (panel + 0.4) * rows),
                                   squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (title, weight) in zip(axes.flat, panels, strict=False):  # spare axes stay blank
        filters = unit_filters(weight)[:n_filters]
        ax.imshow(tile_images(filters, image_shape), cmap="gray", interpolation="nearest")
        ax.set_title(title, fontsize=11)
    return save_figure(fig, path)


def plot_image_grid(
    images: np.ndarray,
    path: str | os.PathLike,
    image_shape: tuple[int, int] | None = None,
    n_cols: int | None = None,
    title: str | None = None,
) -> Path:
    """Images in [0, 1], given as rows (n, h*w), in one grid (``n_cols`` to a row)."""
    grid = tile_images(images, image_shape, n_cols=n_cols, scale_each=False)
    scale = 0.03  # inches per pixel
    fig, ax = _pyplot().subplots(figsize=(grid.shape[1] * scale + 0.4,
                                          grid.shape[0] * scale + (0.6 if title else 0.2)))
    ax.imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
    return save_figure(fig, path)


def plot_reconstructions(
    rows: Sequence[tuple[str, np.ndarray]],
    path: str | os.PathLike,
    image_shape: tuple[int, int] | None = None,
) -> Path:
    """Rows of examples (e.g. clean / corrupted / reconstructed), one labelled row each."""
    n = len(rows[0][1])
    fig, axes = _pyplot().subplots(len(rows), 1, figsize=(0.6 * n + 1.5, 0.75 * len(rows) + 0.3),
                             squeeze=False)
    for ax, (title, images) in zip(axes[:, 0], rows, strict=True):
        ax.imshow(tile_images(images, image_shape, n_cols=n, scale_each=False),
                  cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_ylabel(title, rotation=0, ha="right", va="center", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    return save_figure(fig, path)


def plot_denoising_crops(
    panels: Sequence[tuple[str, np.ndarray]],
    path: str | os.PathLike,
    title: str | None = None,
    columns: int = 5,
) -> Path:
    """Labelled grayscale images in [0, 1] side by side (clean, noisy, each denoiser), in
    rows of at most ``columns``, as even as the rows allow (12 panels: 3 rows of 4)."""
    rows = -(-len(panels) // columns)
    columns = -(-len(panels) // rows)
    fig, axes = _pyplot().subplots(rows, columns, figsize=(3.2 * columns, 3.45 * rows),
                                   squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (label, image) in zip(axes.flat, panels, strict=False):
        ax.imshow(image, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(textwrap.fill(label, 30), fontsize=10)  # long names on two lines
    if title:
        fig.suptitle(title, fontsize=11)
    return save_figure(fig, path)


def plot_curves(
    curves: Sequence[tuple[str, Sequence[float]] | tuple[str, Sequence[float], Sequence[float]]],
    path: str | os.PathLike,
    xlabel: str = "epoch",
    ylabel: str = "validation error",
    percent: bool = True,
    x: Sequence[float] | None = None,
) -> Path:
    """One line per (label, values) pair, e.g. validation error against epoch (1, 2, ...),
    or against ``x`` (training hours, say); a (label, values, x) triple has its own x
    (consecutive parts of one run, each on another machine, say)."""
    from matplotlib.ticker import PercentFormatter

    fig, ax = _pyplot().subplots(figsize=(6.4, 4.0))
    for label, values, *own in curves:
        xs = own[0] if own else range(1, len(values) + 1) if x is None else x[: len(values)]
        ax.plot(xs, values, marker=".", label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if percent:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, path)


def plot_grouped_bars(
    groups: Sequence[str],
    series: dict[str, Sequence[float]],
    path: str | os.PathLike,
    ylabel: str = "",
    ylim: tuple[float, float] | None = None,
) -> Path:
    """One group of bars per entry of ``groups`` (data sets, say), one bar per series
    (methods) in each, side by side."""
    # at most 14 inches wide: a page's width, however many groups
    fig, ax = _pyplot().subplots(figsize=(min(14.0, max(6.4, 0.7 * len(groups)
                                                        * (1 + len(series) / 6))), 4.6))
    width = 0.8 / max(len(series), 1)
    centre = np.arange(len(groups))
    for i, (label, values) in enumerate(series.items()):
        ax.bar(centre + (i - (len(series) - 1) / 2) * width, values, width, label=label)
    ax.set_xticks(centre, groups, rotation=45, ha="right")
    ax.set_ylabel(ylabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.grid(axis="y", alpha=0.3)
    # below the axes: bars reach the top (ROC-AUC 1.0) where a legend inside would hide them
    ax.legend(fontsize=8, ncols=min(len(series), 4), loc="upper center",
              bbox_to_anchor=(0.5, -0.22))
    fig.tight_layout()
    return save_figure(fig, path)


def plot_code_map(points: np.ndarray, labels: np.ndarray, path: str | os.PathLike,
                  title: str = "", names: Sequence[str] | None = None) -> Path:
    """A scatter of 2-D points (codes mapped to the plane), one colour per cluster.

    With ``names``, the labels are the clusters 0..len(names)-1 and the legend names every
    one of them, those with no point too (an empty cluster is seen, not silently missing),
    and a cluster keeps its colour whatever else is empty."""
    plt = _pyplot()
    labels = np.asarray(labels)
    clusters = np.arange(len(names)) if names is not None else np.unique(labels)
    cmap = plt.get_cmap("tab10" if len(clusters) <= 10 else "tab20")
    fig, ax = plt.subplots(figsize=(6.4, 6.0))
    size = max(0.5, min(12.0, 8000 / max(len(points), 1)))
    for i, c in enumerate(clusters):
        mine = labels == c
        ax.scatter(points[mine, 0], points[mine, 1], s=size, color=cmap(i % cmap.N),
                   label=names[i] if names is not None else str(c), alpha=0.7, linewidths=0,
                   rasterized=True)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(title="cluster", markerscale=max(1.0, 6 / size), fontsize=8,
              loc="center left", bbox_to_anchor=(1.0, 0.5))
    return save_figure(fig, path)


def plot_cluster_examples(examples: Sequence[np.ndarray], path: str | os.PathLike,
                          image_shape: tuple[int, int] | None = None,
                          labels: Sequence[str] | None = None, title: str = "") -> Path:
    """One row per cluster of its examples (rows of (m, d)). Images when ``image_shape`` is
    given or d is a square, each scaled to its own range; otherwise each example is a strip
    of its d features (a table's rows). A cluster with no examples keeps its row, blank,
    so that its label shows it is empty."""
    plt = _pyplot()
    d = np.shape(examples[0])[-1]
    if image_shape is None and math.isqrt(d) ** 2 == d:
        image_shape = infer_shape(d)
    shape = image_shape or (1, d)
    m = max(max(len(e) for e in examples), 1)
    fig, axes = plt.subplots(len(examples), 1, squeeze=False,
                             figsize=(max(4.0, 0.45 * m * shape[1] / shape[0])
                                      if image_shape else 8.0,
                                      0.5 * len(examples) + (0.4 if title else 0.1)))
    for k, (ax, rows) in enumerate(zip(axes[:, 0], examples, strict=True)):
        if len(rows) and image_shape:
            ax.imshow(tile_images(rows, shape, n_cols=m), cmap="gray", interpolation="nearest")
        elif len(rows):
            ax.imshow(rows, cmap="viridis", aspect="auto", interpolation="nearest")
        # an empty cluster: its label alone
        ax.set_xticks([])
        ax.set_yticks([])
        for side in ax.spines.values():
            side.set_visible(False)
        ax.set_ylabel(labels[k] if labels is not None else str(k), rotation=0, ha="right",
                      va="center", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)

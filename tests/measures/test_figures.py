import numpy as np
import pytest
from PIL import Image

from sdae.errors import ConfigError
from sdae.measures import figures
from sdae.measures.analysis import fit_probe, fit_probe_lbfgs, low_frequency_energy, probe_error
from sdae.measures.figures import (
    plot_filter_panels,
    plot_reconstructions,
    tile_images,
    unit_filters,
)


def test_unit_filters_have_norm_one():
    w = np.random.default_rng(0).normal(size=(5, 9))
    np.testing.assert_allclose(np.linalg.norm(unit_filters(w), axis=1), 1.0)


def test_tile_layout_and_scaling():
    images = np.arange(6 * 4, dtype=float).reshape(6, 4)  # six 2x2 images
    grid = tile_images(images, n_cols=3, pad=1)
    assert grid.shape == (2 * 3 - 1, 3 * 3 - 1)
    assert grid.min() == 0 and grid.max() == 1
    np.testing.assert_allclose(grid[:2, :2], [[0, 1 / 3], [2 / 3, 1]])


def test_non_square_needs_shape():
    with pytest.raises(ConfigError, match="not square"):
        tile_images(np.zeros((2, 10)))
    assert tile_images(np.zeros((2, 10)), image_shape=(2, 5)).shape == (2, 11)


def test_figures_are_written(tmp_path):
    w = np.random.default_rng(0).normal(size=(20, 16))
    path = plot_filter_panels([("a", w), ("b", w)], tmp_path / "f.png")
    with Image.open(path) as im:
        assert im.size[0] > im.size[1] > 50
    rng = np.random.default_rng(0)
    plot_reconstructions([("clean", rng.random((5, 16))), ("noisy", rng.random((5, 16)))],
                         tmp_path / "r.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.png", "r.png"]


def test_curves_share_x_or_bring_their_own(tmp_path, monkeypatch):
    drawn = []
    monkeypatch.setattr(figures, "save_figure", lambda fig, path: drawn.append(fig) or path)
    figures.plot_curves([("a", [1.0, 2.0, 3.0]), ("b", [4.0, 5.0], [10.0, 20.0])],
                        tmp_path / "c.png", percent=False, x=[0.5, 1.0, 1.5])
    a, b = drawn[0].axes[0].lines
    assert list(a.get_xdata()) == [0.5, 1.0, 1.5] and list(b.get_xdata()) == [10.0, 20.0]
    assert list(b.get_ydata()) == [4.0, 5.0]


def test_low_frequency_energy_orders_smooth_above_noise():
    yy, xx = np.mgrid[:28, :28]
    smooth = np.exp(-((xx - 14) ** 2 + (yy - 10) ** 2) / 30.0)[None].reshape(1, -1)
    noise = np.random.default_rng(0).normal(size=(50, 784))
    stripes = np.cos(2 * np.pi * 10 * xx / 28).reshape(1, -1)  # 10 cycles/image
    assert low_frequency_energy(smooth, (28, 28)) > 0.9
    assert low_frequency_energy(noise, (28, 28)) == pytest.approx(49 / 784, abs=0.02)
    assert low_frequency_energy(stripes, (28, 28)) < 1e-6


def test_probe_error_on_separable_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = (x[:, 0] > 0).astype(int)
    assert probe_error(x[:100], y[:100], x[100:], y[100:]) < 0.05


def test_lbfgs_probe_fits_the_same_classifier_as_sklearn():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 5)) * 2
    y = rng.integers(0, 3, 300)
    x = (centres[y] + rng.normal(size=(300, 5))).astype(np.float32)
    weight, bias = fit_probe_lbfgs(x[:200], y[:200], max_iter=500)
    clf = fit_probe(x[:200], y[:200], max_iter=500)
    np.testing.assert_allclose(weight, clf.coef_.T, atol=1e-2)
    np.testing.assert_allclose(bias, clf.intercept_, atol=1e-2)
    fast = probe_error(x[:200], y[:200], x[200:], y[200:], 500, solver="lbfgs")
    assert fast == probe_error(x[:200], y[:200], x[200:], y[200:], 500)
    with pytest.raises(ValueError, match="solver"):
        probe_error(x, y, x, y, solver="sgd")

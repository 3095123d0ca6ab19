import numpy as np
import pytest

from sdae.measures.gabor import GaborFit, edge_statistics, fit_gabor, gabor

SHAPE = (12, 12)


def random_gabor(rng, noise=0.05):
    params = np.array([rng.uniform(0.5, 2), rng.uniform(3, 8), rng.uniform(3, 8),
                       rng.uniform(0, np.pi), rng.uniform(1.2, 2.5), rng.uniform(1.2, 2.8),
                       rng.uniform(0.1, 0.3), rng.uniform(-np.pi, np.pi), rng.normal(0, 0.1)])
    image = gabor(params, SHAPE)
    return params, image + noise * image.std() * rng.standard_normal(SHAPE)


def test_synthetic_gabors_are_found_with_their_parameters():
    rng = np.random.default_rng(0)
    for _ in range(10):
        params, image = random_gabor(rng)
        fit = fit_gabor(image)
        assert fit.r2 > 0.95
        assert fit.is_localised_edge_detector(SHAPE)
        assert abs(fit.x0 - params[1]) < 0.5 and abs(fit.y0 - params[2]) < 0.5
        # same orientation of the carrier (modulo π) and the same frequency
        assert abs(np.angle(np.exp(2j * (fit.theta - params[3])))) < 0.2
        assert fit.frequency == pytest.approx(params[6], abs=0.03)


def test_noise_is_not_an_edge_detector():
    rng = np.random.default_rng(1)
    fits = [fit_gabor(rng.standard_normal(SHAPE), seed=i) for i in range(10)]
    assert max(fit.r2 for fit in fits) < 0.5
    assert not any(fit.is_localised_edge_detector(SHAPE) for fit in fits)


@pytest.mark.parametrize("theta", [0.0, 0.8, 2.0])
def test_a_global_sinusoid_fits_but_is_not_localised(theta):
    y, x = np.mgrid[:12, :12]
    wave = np.cos(2 * np.pi * 0.15 * (x * np.cos(theta) + y * np.sin(theta)) + 0.4)
    fit = fit_gabor(wave)
    assert fit.r2 > 0.9
    assert max(fit.sigma_x, fit.sigma_y) > 3
    assert not fit.is_localised_edge_detector(SHAPE)


def test_edge_statistics_counts_and_orientation_spread():
    rng = np.random.default_rng(2)
    gabors = [random_gabor(rng)[1].ravel() for _ in range(6)]
    noise = [rng.standard_normal(144) for _ in range(4)]
    stats = edge_statistics(np.array(gabors + noise), SHAPE)
    assert stats["edge_detector_fraction"] == pytest.approx(0.6)
    assert 0 <= stats["orientation_spread"] <= 1
    assert len(stats["fits"]) == 10
    # one orientation only: no spread
    same = [gabor(np.array([1, 6, 6, 0.5, 1.5, 2, 0.2, p, 0]), SHAPE).ravel()
            for p in (0.0, 1.0, 2.0)]
    assert edge_statistics(np.array(same), SHAPE)["orientation_spread"] < 0.01


def test_the_criterion_follows_its_definition():
    fit = GaborFit(0.8, 1, 5, 5, 0, 2, 3, 0.2, 0, 0)
    assert fit.is_localised_edge_detector(SHAPE)
    assert not GaborFit(0.6, 1, 5, 5, 0, 2, 3, 0.2, 0, 0).is_localised_edge_detector(SHAPE)
    assert not GaborFit(0.8, 1, 5, 5, 0, 2, 3.5, 0.2, 0, 0).is_localised_edge_detector(SHAPE)
    assert not GaborFit(0.8, 1, 12.5, 5, 0, 2, 3, 0.2, 0, 0).is_localised_edge_detector(SHAPE)


def test_bad_filters():
    with pytest.raises(ValueError, match="2-D"):
        fit_gabor(np.zeros(144))
    with pytest.raises(ValueError, match="NaN"):
        fit_gabor(np.full(SHAPE, np.nan))
    with pytest.raises(ValueError, match="no filters"):
        edge_statistics(np.zeros((0, 144)), SHAPE)
    assert fit_gabor(np.zeros(SHAPE)).r2 == 0  # nothing to explain, nothing explained

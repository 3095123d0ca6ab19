"""The geometric self-ensemble: orientations and their inverses, the mean it takes, and what
it does to a denoiser's output."""

import numpy as np
import pytest
import torch

from sdae.errors import ConfigError
from sdae.pretrained import denoise as denoise_shipped
from sdae.tasks.denoising import ORIENTATIONS, SubimageDenoiser, denoise, self_ensemble
from sdae.tasks.denoising.ensemble import orient, unorient


def test_the_eight_orientations_are_distinct_and_each_is_undone():
    x = torch.arange(2 * 3 * 5 * 7, dtype=torch.float32).reshape(2, 3, 5, 7)
    seen = set()
    for k in range(8):
        y = orient(x, k)
        assert y.shape[-2:] == ((5, 7) if k % 2 == 0 else (7, 5))
        assert torch.equal(unorient(y, k), x)
        seen.add(tuple(y[0, 0].flatten().tolist()))
    assert len(seen) == 8  # the dihedral group of the rectangle, each once


def test_an_orientation_moves_pixels_as_a_quarter_turn_and_a_mirror():
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    assert orient(x, 1)[0, 0].tolist() == [[2.0, 4.0], [1.0, 3.0]]  # counter-clockwise
    assert orient(x, 4)[0, 0].tolist() == [[2.0, 1.0], [4.0, 3.0]]  # left-right mirror


def test_the_ensemble_is_the_mean_over_the_orientations_turned_back():
    x = torch.rand(1, 1, 6, 9)
    calls = []

    def restore(t):  # sees each orientation once; its output depends on where pixels sit
        calls.append(tuple(t.shape))
        return t * torch.linspace(0, 1, t.shape[-1])

    expected = torch.stack([unorient(restore(orient(x, k)), k) for k in range(8)]).mean(0)
    calls.clear()
    assert torch.allclose(self_ensemble(restore, x, 8), expected)
    assert calls == [(1, 1, 6, 9), (1, 1, 9, 6)] * 4
    calls.clear()
    assert torch.equal(self_ensemble(restore, x, 1), restore(x)) and len(calls) == 2


def test_an_equivariant_restoration_is_unchanged_by_the_ensemble():
    x = torch.rand(2, 1, 8, 8)
    assert torch.allclose(self_ensemble(lambda t: 0.5 * t, x, 8), 0.5 * x)


@pytest.mark.parametrize("n", [0, 3, 16, 2.0, True, "8"])
def test_other_counts_get_a_one_line_error(n):
    with pytest.raises(ConfigError, match="ensemble must be one of 1, 2, 4, 8") as err:
        self_ensemble(lambda t: t, torch.zeros(1, 1, 2, 2), n)
    assert "\n" not in str(err.value)
    assert ORIENTATIONS == (1, 2, 4, 8)


def test_numpy_integers_are_counts_too():
    x = torch.rand(1, 1, 4, 4)
    assert torch.allclose(self_ensemble(lambda t: t + 1, x, np.int64(4)), x + 1)


def numpy_orient(image, k):
    turned = np.rot90(image, k % 4)
    return np.ascontiguousarray(np.flip(turned, 1) if k >= 4 else turned)


def numpy_unorient(image, k):
    return np.rot90(np.flip(image, 1) if k >= 4 else image, -(k % 4))


def test_denoise_averages_orientations_of_any_image_shape():
    torch.manual_seed(0)
    model = SubimageDenoiser(1, 3, 4)
    torch.nn.init.normal_(model.net[-1].weight, std=0.01)  # not the identity it starts as
    # a colour image of odd sides, far enough from 0 and 1 that no output is clipped
    image = np.random.default_rng(0).uniform(0.3, 0.7, size=(11, 14, 3)).astype(np.float32)
    one, eight = denoise(model, image, 20), denoise(model, image, 20, ensemble=8)
    assert eight.shape == image.shape
    assert not np.allclose(one, eight, atol=1e-4)
    by_hand = np.mean([numpy_unorient(denoise(model, numpy_orient(image, k), 20), k)
                       for k in range(8)], axis=0)
    np.testing.assert_allclose(eight, by_hand, atol=1e-5)
    with pytest.raises(ConfigError, match="ensemble must be one of"):
        denoise(model, image, 20, ensemble=5)


def test_the_shipped_denoiser_is_closer_to_the_clean_image_with_eight_orientations():
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:96, 0:96] / 96
    clean = (0.3 + 0.4 * (np.sin(12 * xx + 5 * yy) > 0) + 0.1 * yy).astype(np.float32)
    noisy = (clean + 25 / 255 * rng.standard_normal(clean.shape)).astype(np.float32)
    error = [((denoise_shipped(noisy, sigma=25, ensemble=n) - clean) ** 2).mean()
             for n in (1, 8)]
    assert error[1] < 0.99 * error[0]  # 3% less here; 0.1-0.2 dB on photographs

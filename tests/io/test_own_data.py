"""Users' own data in one command: 8-bit arrays scaled as images are, labelled CSV tables,
labels of any type, class-per-subfolder image folders."""

import numpy as np
import pytest
from PIL import Image

from sdae.errors import DataError
from sdae.io.data import load_array


def test_uint8_arrays_are_scaled_as_image_folders_are(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (3, 4, 5), dtype=np.uint8)
    np.save(tmp_path / "a.npy", pixels)
    np.savez(tmp_path / "b.npz", x=pixels)
    (tmp_path / "images").mkdir()
    for i, image in enumerate(pixels):
        Image.fromarray(image).save(tmp_path / "images" / f"{i}.png")
    from_folder = load_array(tmp_path / "images")[0]
    assert from_folder.max() <= 1 and from_folder.max() > 0.9
    for name in ("a.npy", "b.npz"):
        x = load_array(tmp_path / name)[0]
        assert x.dtype == np.float32
        np.testing.assert_array_equal(x, from_folder)


def test_other_integer_arrays_keep_their_values(tmp_path):
    np.save(tmp_path / "a.npy", np.full((2, 3), 7, np.int64))
    assert load_array(tmp_path / "a.npy")[0].max() == 7


def test_a_streamed_uint8_file_is_refused_with_a_fix(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((4, 6), np.uint8))
    with pytest.raises(DataError, match="leave out --stream, or save x / 255"):
        load_array(tmp_path / "a.npy", stream=True)

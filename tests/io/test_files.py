import numpy as np
import pytest
from conftest import png_16bit_rgb
from PIL import Image

from sdae.errors import DataError
from sdae.io.data import load_array, load_dataset
from sdae.io.data.images import read_image, read_image_set, write_image
from sdae.io.data.tables import read_typed_csv


def test_npy_and_npz(tmp_path):
    x = np.random.default_rng(0).random((20, 3, 4))
    np.save(tmp_path / "a.npy", x)
    got, labels, shape = load_array(tmp_path / "a.npy")
    assert got.shape == (20, 12) and got.dtype == np.float32 and labels is None
    assert shape == (3, 4)
    np.savez(tmp_path / "b.npz", x=x, y=np.arange(20))
    got, labels, _ = load_array(tmp_path / "b.npz")
    assert got.shape == (20, 12) and labels.tolist() == list(range(20))


@pytest.mark.parametrize(("y", "message"), [(np.eye(3)[[0, 1, 2, 0]], "1-D"),
                                            (np.array([0.5, 1, 2, 0]), "integer")])
def test_bad_labels(tmp_path, y, message):
    np.savez(tmp_path / "b.npz", x=np.zeros((4, 2)), y=y)
    with pytest.raises(DataError, match=message):
        load_array(tmp_path / "b.npz")


def test_scalar_array_rejected(tmp_path):
    np.save(tmp_path / "s.npy", np.array(3.0))
    with pytest.raises(DataError, match="2-D array"):
        load_array(tmp_path / "s.npy")


def test_csv_with_header(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\n0.1,0.2,0.3\n1,2,3\n")
    got, _, shape = load_array(path)
    np.testing.assert_allclose(got, [[0.1, 0.2, 0.3], [1, 2, 3]])
    assert shape is None


def test_txt_from_savetxt(tmp_path):
    x = np.random.default_rng(0).random((5, 3))
    np.savetxt(tmp_path / "t.txt", x)
    got, _, _ = load_array(tmp_path / "t.txt")
    np.testing.assert_allclose(got, x, rtol=1e-6)


def test_csv_first_row_with_a_typo_is_an_error_not_a_header(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("1,2,x\n3,4,5\n")
    with pytest.raises(DataError, match="line 1"):
        load_array(path)


def test_csv_non_numeric_cell(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("1,2\n3,abc\n")
    with pytest.raises(DataError, match="line 2: non-numeric"):
        load_array(path)


def test_image_folder_8_and_16_bit(tmp_path):
    Image.fromarray(np.full((4, 5), 255, np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.full((4, 5), 65535, np.uint16)).save(tmp_path / "b.png")
    got, _, shape = load_array(tmp_path)
    assert got.shape == (2, 20) and shape == (4, 5)
    np.testing.assert_allclose(got, 1.0)


def test_empty_folder(tmp_path):
    with pytest.raises(DataError, match="no images"):
        load_array(tmp_path)


def test_nan_rejected(tmp_path):
    x = np.ones((3, 2))
    x[1, 1] = np.nan
    np.save(tmp_path / "n.npy", x)
    with pytest.raises(DataError, match="NaN"):
        load_array(tmp_path / "n.npy")


def test_csv_field_beyond_the_csv_modules_limit(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text('"' + "1" * 200_000 + '"\n')
    with pytest.raises(DataError, match="not a readable CSV table"):
        load_array(path)


def test_pickled_npy_refused(tmp_path):
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="numeric|readable"):
        load_array(tmp_path / "o.npy")


def test_corrupt_npz(tmp_path):
    (tmp_path / "c.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match="npz"):
        load_array(tmp_path / "c.npz")


def test_user_file_split_and_label_mismatch(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.random.default_rng(0).random((100, 16)), y=np.arange(100))
    data = load_dataset(str(tmp_path / "d.npz"), valid_fraction=0.2)
    assert len(data.x_train) == 80 and len(data.x_valid) == 20
    assert data.image_shape is None  # a table, even with a square number of columns
    assert sorted(np.concatenate([data.y_train, data.y_valid]).tolist()) == list(range(100))
    np.savez(tmp_path / "e.npz", x=np.ones((10, 4)), y=np.arange(9))
    with pytest.raises(DataError, match="9 labels for 10 examples"):
        load_dataset(str(tmp_path / "e.npz"))


def test_digits_are_bundled_and_scaled():
    data = load_dataset("digits")
    assert data.x_train.shape == (1197, 64) and data.image_shape == (8, 8)
    assert data.x_train.max() == 1.0 and data.x_train.min() == 0.0
    assert len(data.x_valid) == 300 and len(data.x_test) == 300


def test_auto_falls_back_to_the_shipped_mnist_subset(tmp_path, monkeypatch):
    monkeypatch.delenv("SDAE_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    data = load_dataset("auto", tmp_path)
    assert data.name == "mnist-small" and data.image_shape == (28, 28)
    assert len(data.x_train) == 10_000 and len(data.x_test) == 2_000


def test_unknown_name(tmp_path):
    with pytest.raises(DataError, match="not one of mnist, mnist-small, usps, digits"):
        load_dataset("cifar")


def test_usps_split(mnist_dir):
    if not (mnist_dir / "usps" / "usps.h5").exists():
        pytest.skip("usps.h5 not found")
    data = load_dataset("usps", mnist_dir)
    assert data.x_train.shape == (6291, 256) and data.x_valid.shape == (1000, 256)
    assert data.x_test.shape == (2007, 256) and data.image_shape == (16, 16)
    assert 0 <= data.x_train.min() and data.x_train.max() <= 1


def test_usps_missing(tmp_path, monkeypatch):
    monkeypatch.delenv("SDAE_DATA_DIR", raising=False)
    with pytest.raises(DataError, match=r"usps\.h5 not found"):
        load_dataset("usps", tmp_path)


def test_truncated_npy_and_broken_image_in_a_folder(tmp_path):
    np.save(tmp_path / "a.npy", np.random.default_rng(0).random((50, 4)).astype(np.float32))
    (tmp_path / "cut.npy").write_bytes((tmp_path / "a.npy").read_bytes()[:100])
    with pytest.raises(DataError, match="not a readable .npy"):
        load_array(tmp_path / "cut.npy")
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(folder / "a.png")
    (folder / "b.png").write_bytes((folder / "a.png").read_bytes()[:40])
    with pytest.raises(DataError, match="b.png: not a readable image"):
        load_array(folder)


@pytest.mark.parametrize(("shape", "bits", "suffix"), [
    ((5, 6), 8, ".png"), ((5, 6), 16, ".png"), ((5, 6, 3), 8, ".png"), ((5, 6, 3), 8, ".bmp"),
    ((5, 6), 16, ".tif"), ((5, 6, 3), 16, ".tif"), ((5, 6, 3), 8, ".tiff"),
    ((5, 6, 3), 16, ".png"),
])
def test_images_keep_their_channels_and_bit_depth(tmp_path, shape, bits, suffix):
    image = np.random.default_rng(0).random(shape).astype(np.float32)
    path = write_image(tmp_path / f"im{suffix}", image, bits)
    back, read_bits = read_image(path)
    assert back.shape == shape and back.dtype == np.float32 and read_bits == bits
    np.testing.assert_allclose(back, image, atol=0.5 / (2**bits - 1) + 1e-7)


def test_alpha_is_dropped_and_gray_palettes_stay_gray(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 255
    Image.fromarray(rgba).save(tmp_path / "a.png")
    image, bits = read_image(tmp_path / "a.png")
    assert image.shape == (4, 4, 3) and bits == 8 and image[0, 0, 0] == pytest.approx(200 / 255)
    Image.fromarray(np.full((4, 4), 9, np.uint8)).convert("P").save(tmp_path / "p.png")
    assert read_image(tmp_path / "p.png")[0].shape == (4, 4)


def test_image_files_that_cannot_be_read_or_written(tmp_path):
    with pytest.raises(DataError, match="no such image file"):
        read_image(tmp_path / "missing.png")
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 30)
    with pytest.raises(DataError, match="not a readable image"):
        read_image(tmp_path / "bad.png")
    with pytest.raises(DataError, match="16-bit colour image can only be written as PNG or"):
        write_image(tmp_path / "c.jpg", np.zeros((3, 3, 3)), 16)
    assert not (tmp_path / "c.jpg").exists()
    with pytest.raises(DataError, match="name the image file with one of"):
        write_image(tmp_path / "c.jpg2", np.zeros((3, 3)))
    assert not (tmp_path / "c.jpg2").exists()


def test_16_bit_colour_png_written_elsewhere_is_read_in_full(tmp_path):
    (tmp_path / "c16.png").write_bytes(png_16bit_rgb(3, 2))  # not written by sdae
    image, bits = read_image(tmp_path / "c16.png")
    assert image.shape == (2, 3, 3) and bits == 16 and not image.any()


def test_image_sets_are_all_gray_or_all_colour(tmp_path):
    write_image(tmp_path / "a.png", np.zeros((3, 3)))
    write_image(tmp_path / "b.png", np.zeros((3, 3, 3)))
    with pytest.raises(DataError, match="some images are grayscale and some colour"):
        read_image_set(tmp_path)
    assert len(read_image_set(tmp_path / "a.png")) == 1


def test_an_array_in_fortran_order_is_not_streamed(tmp_path):
    np.save(tmp_path / "f.npy", np.asfortranarray(np.random.default_rng(0).random((6, 4, 4))))
    with pytest.raises(DataError, match="Fortran order"):
        load_array(tmp_path / "f.npy", stream=True)
    assert load_array(tmp_path / "f.npy")[0].shape == (6, 16)  # read into memory: fine


def test_a_csv_row_of_empty_cells_is_kept_and_a_blank_line_is_not(tmp_path):
    (tmp_path / "t.csv").write_text("a,b,c\n1,2,3\n,,\n\n4,5,6\nNA,NA,NA\n")
    table = read_typed_csv(tmp_path / "t.csv")
    assert table.header == ["a", "b", "c"]
    assert table.missing.tolist() == [[False] * 3, [True] * 3, [False] * 3, [True] * 3]


@pytest.mark.parametrize("text, message", [
    ("a,b,c\n1,,3\n4,NA,6\n", "column 'b' has no values"),
    ("1,,3\n4,,6\n", "column 2 has no values"),
    ("a;b\n1;\n2;3\n", "one column of cells holding semicolons"),
    ("a\tb\n1\t2\n", "one column of cells holding tabs"),
])
def test_a_csv_table_that_cannot_be_imputed_is_refused(tmp_path, text, message):
    (tmp_path / "t.csv").write_text(text)
    with pytest.raises(DataError, match=message):
        read_typed_csv(tmp_path / "t.csv")

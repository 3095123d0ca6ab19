"""Users' own data in one command: 8-bit arrays scaled as images are, labelled CSV tables,
labels of any type, class-per-subfolder image folders."""

import numpy as np
import pytest
from PIL import Image

from sdae.errors import DataError
from sdae.io.data import load_array, load_dataset


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


def test_uint8_bits_stay_bits_and_streamed_pixels_are_read_as_they_are(tmp_path):
    bits = np.random.default_rng(0).integers(0, 2, (4, 6), dtype=np.uint8)
    np.save(tmp_path / "bits.npy", bits)
    np.testing.assert_array_equal(load_array(tmp_path / "bits.npy")[0], bits)
    np.save(tmp_path / "pixels.npy", bits * 255)
    assert load_array(tmp_path / "pixels.npy")[0].max() == 1
    assert load_array(tmp_path / "pixels.npy", stream=True)[0].max() == 255


def _table(path, header: bool = True) -> None:
    rows = [f"{i / 10},{1 - i / 10},{'cat' if i % 2 else 'dog'},{i % 3}" for i in range(10)]
    path.write_text(("a,b,animal,number\n" if header else "") + "\n".join(rows) + "\n")


@pytest.mark.parametrize("column", ["animal", "2", "-2"])
def test_a_csv_label_column_by_name_or_index_holds_text_labels(tmp_path, column):
    _table(tmp_path / "t.csv")
    x, y, _ = load_array(tmp_path / "t.csv", label_column=column)
    assert x.shape == (10, 3) and x[3].tolist() == pytest.approx([0.3, 0.7, 0])
    assert y.tolist() == ["dog", "cat"] * 5


def test_a_numeric_label_column_gives_integer_labels(tmp_path):
    (tmp_path / "n.csv").write_text("".join(f"{i / 10},{i % 3}\n" for i in range(10)))
    x, y, _ = load_array(tmp_path / "n.csv", label_column="-1")
    assert x.shape == (10, 1) and y.dtype == np.int64 and y.tolist() == [i % 3 for i in range(10)]
    _table(tmp_path / "t.csv", header=False)
    with pytest.raises(DataError, match="line 1: non-numeric cell.*--label-column"):
        load_array(tmp_path / "t.csv", label_column="3")  # the text column is left in x


@pytest.mark.parametrize(("column", "message"), [
    ("colour", "no column named 'colour': its columns are a, b, animal, number"),
    ("4", "--label-column 4: the table has 4 columns"),
])
def test_a_label_column_that_is_not_there(tmp_path, column, message):
    _table(tmp_path / "t.csv")
    with pytest.raises(DataError, match=message):
        load_array(tmp_path / "t.csv", label_column=column)


def test_a_missing_label_and_a_label_column_where_there_are_no_columns(tmp_path):
    (tmp_path / "t.csv").write_text("a,y\n1,x\n2,\n")
    with pytest.raises(DataError, match="line 3: no label in column 'y'"):
        load_array(tmp_path / "t.csv", label_column="y")
    np.savez(tmp_path / "d.npz", x=np.zeros((3, 2)))
    with pytest.raises(DataError, match="an .npz holds them as its array y"):
        load_array(tmp_path / "d.npz", label_column="y")
    with pytest.raises(DataError, match="named data set"):
        load_dataset("digits", label_column="y")


def test_npz_labels_of_any_type(tmp_path):
    x = np.zeros((4, 2))
    np.savez(tmp_path / "s.npz", x=x, y=np.array(["a", "b", "a", "c"]))
    np.savez(tmp_path / "n.npz", x=x, y=np.array([-1, 1, 1, -1]))
    assert load_array(tmp_path / "s.npz")[1].tolist() == ["a", "b", "a", "c"]
    assert load_array(tmp_path / "n.npz")[1].tolist() == [-1, 1, 1, -1]
    assert load_dataset(str(tmp_path / "s.npz"), valid_fraction=0.25).y_valid.dtype.kind == "U"


def _class_folders(root, names, size=(4, 5), n=2):
    rng = np.random.default_rng(0)
    for name in names:
        (root / name).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 256, size, dtype=np.uint8)).save(
                root / name / f"{i}.png")


def test_class_folders_give_images_and_labels(tmp_path):
    _class_folders(tmp_path / "pets", ["dog", "cat"])
    x, y, shape = load_array(tmp_path / "pets")
    assert x.shape == (4, 20) and shape == (4, 5) and 0 <= x.min() and x.max() <= 1
    assert y.tolist() == ["cat", "cat", "dog", "dog"]
    dog = np.asarray(Image.open(tmp_path / "pets" / "dog" / "0.png"), np.float32)
    np.testing.assert_array_equal(x[2], dog.ravel() / 255)
    _class_folders(tmp_path / "numbers", ["7", "10"])
    assert load_array(tmp_path / "numbers")[1].tolist() == [7, 7, 10, 10]


def test_class_folders_of_different_sizes_or_none(tmp_path):
    _class_folders(tmp_path / "a", ["x"])
    _class_folders(tmp_path / "a", ["y"], size=(3, 3))
    with pytest.raises(DataError, match="class folders hold images of different sizes"):
        load_array(tmp_path / "a")
    (tmp_path / "b" / "empty").mkdir(parents=True)
    with pytest.raises(DataError, match="empty: no images found"):
        load_array(tmp_path / "b")


def test_a_folder_of_images_keeps_no_labels(tmp_path):
    _class_folders(tmp_path, ["flat"])
    assert load_array(tmp_path / "flat")[1] is None

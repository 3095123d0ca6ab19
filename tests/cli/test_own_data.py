"""Users' own data in one command, end to end: labelled CSV tables, class folders, 8-bit
arrays, run folders as models, outputs that would overwrite an input, folders of images
to denoise."""

import numpy as np
import pytest
from PIL import Image

from sdae.cli import main

TRAIN = ["--hidden", "6", "--epochs", "1", "--batch-size", "5", "--finetune-epochs", "1"]


def _labelled_table(path) -> np.ndarray:
    rng = np.random.default_rng(0)
    x = rng.random((40, 5))
    animals = np.where(x[:, 0] > 0.5, "cat", "dog")
    rows = [",".join([*map(str, row[:2]), animal, *map(str, row[2:])])
            for row, animal in zip(x, animals, strict=True)]
    path.write_text("a,b,animal,c,d,e\n" + "\n".join(rows) + "\n")
    return animals


def test_train_on_a_csv_label_column_and_predict_text_labels(tmp_path, capsys):
    _labelled_table(tmp_path / "pets.csv")
    assert main(["train", "--data", str(tmp_path / "pets.csv"), "--label-column", "animal",
                 *TRAIN, "--out", str(tmp_path / "run")]) == 0
    (tmp_path / "inputs.csv").write_text("0.9,0.1,0.2,0.3,0.4\n0.1,0.5,0.5,0.5,0.5\n")
    assert main(["predict", str(tmp_path / "run" / "model.safetensors"),
                 str(tmp_path / "inputs.csv"), "--out", str(tmp_path / "p.csv")]) == 0
    assert set((tmp_path / "p.csv").read_text().split()) <= {"cat", "dog"}


def test_without_a_label_column_a_text_column_says_how_to_name_it(tmp_path, capsys):
    _labelled_table(tmp_path / "pets.csv")
    assert main(["train", "--data", str(tmp_path / "pets.csv"), *TRAIN,
                 "--out", str(tmp_path / "run")]) == 2
    assert "name a column of labels with --label-column" in capsys.readouterr().err


def test_train_on_class_folders(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for name in ("circle", "square"):
        (tmp_path / "shapes" / name).mkdir(parents=True)
        for i in range(12):
            Image.fromarray(rng.integers(0, 256, (4, 4), dtype=np.uint8)).save(
                tmp_path / "shapes" / name / f"{i}.png")
    assert main(["train", "--data", str(tmp_path / "shapes"), *TRAIN,
                 "--out", str(tmp_path / "run")]) == 0
    assert "softmax output: 2 classes: ['circle', 'square']" in _info(tmp_path / "run" / "model.safetensors", capsys)


def _info(model, capsys) -> str:
    capsys.readouterr()
    assert main(["info", str(model)]) == 0
    return capsys.readouterr().out


def test_train_on_uint8_pixels_with_the_default_decoder(tmp_path, capsys):
    pixels = np.random.default_rng(0).integers(0, 256, (30, 4, 4), dtype=np.uint8)
    np.save(tmp_path / "pixels.npy", pixels)
    assert main(["train", "--data", str(tmp_path / "pixels.npy"), "--hidden", "6",
                 "--epochs", "1", "--batch-size", "5", "--out", str(tmp_path / "run")]) == 0
    assert main(["reconstruct", str(tmp_path / "run" / "model.safetensors"),
                 str(tmp_path / "pixels.npy"), "--out", str(tmp_path / "r.npy")]) == 0
    assert 0 <= np.load(tmp_path / "r.npy").min() and np.load(tmp_path / "r.npy").max() <= 1

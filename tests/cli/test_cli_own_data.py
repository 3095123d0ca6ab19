"""Users' own data in one command, end to end: labelled CSV tables, class folders, 8-bit
arrays, run folders as models, outputs that would overwrite an input, folders of images
to denoise."""

import json

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
    assert "softmax output: 2 classes: ['circle', 'square']" in _info(tmp_path / "run", capsys)


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


@pytest.fixture
def run_folder(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "data.npz", x=rng.random((30, 6)), y=np.repeat(["a", "b"], 15))
    assert main(["train", "--data", str(tmp_path / "data.npz"), *TRAIN,
                 "--out", str(tmp_path / "run")]) == 0
    return tmp_path / "run"


@pytest.mark.parametrize("command", ["encode", "reconstruct", "predict"])
def test_a_run_folder_is_a_model(run_folder, tmp_path, command):
    data = run_folder.parent / "data.npz"
    for model, out in ((run_folder, "a.npy"), (run_folder / "model.safetensors", "b.npy")):
        assert main([command, str(model), str(data), "--out", str(tmp_path / out)]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))


def test_info_on_a_run_folder_and_on_a_checkpoint(run_folder, capsys):
    assert "softmax output: 2 classes: ['a', 'b']" in _info(run_folder, capsys)
    checkpoint = _info(run_folder / "checkpoints" / "pretrain-layer1.ckpt", capsys)
    assert "training checkpoint (sdae checkpoint format 1)" in checkpoint
    assert "after 1 epoch of 1" in checkpoint and "layer 1: 6 -> 6" in checkpoint
    assert f"from it: sdae train --resume {run_folder.resolve()}" in checkpoint
    assert main(["info", str(run_folder / "checkpoints" / "pretrain-layer1.ckpt"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["command"] == \
        {"command": f"sdae train --resume {run_folder.resolve()}", "does": "resume"}


@pytest.mark.parametrize("command", ["encode", "reconstruct", "predict"])
def test_out_never_overwrites_an_input(run_folder, tmp_path, capsys, command):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((4, 6)))
    before = (tmp_path / "x.npy").read_bytes()
    assert main([command, str(run_folder), str(tmp_path / "x.npy"),
                 "--out", str(tmp_path / "." / "x.npy")]) == 2
    assert "is an input of the command" in capsys.readouterr().err
    assert (tmp_path / "x.npy").read_bytes() == before


def test_denoise_apply_on_a_folder_of_images(tmp_path, capsys):
    from sdae.io.data.images import read_image, write_image

    rng = np.random.default_rng(0)
    (tmp_path / "clean").mkdir()
    for i in range(3):
        write_image(tmp_path / "clean" / f"{i}.png", rng.random((16, 16)))
    model = tmp_path / "m.safetensors"
    assert main(["denoise", "train", "--images", str(tmp_path / "clean"), "--depth", "2",
                 "--width", "4", "--crop", "8", "--stride", "8", "--epochs", "1",
                 "--batch-size", "4", "--out", str(model)]) == 0
    (tmp_path / "noisy").mkdir()
    write_image(tmp_path / "noisy" / "a.png", rng.random((10, 12)))
    write_image(tmp_path / "noisy" / "b.tif", rng.random((9, 7, 3)), 16)
    assert main(["denoise", "apply", str(model), str(tmp_path / "noisy"),
                 "--out", str(tmp_path / "restored")]) == 0
    assert sorted(p.name for p in (tmp_path / "restored").iterdir()) == ["a.png", "b.tif"]
    restored, bits = read_image(tmp_path / "restored" / "b.tif")
    assert restored.shape == (9, 7, 3) and bits == 16
    before = (tmp_path / "noisy" / "a.png").read_bytes()
    for out in ("noisy", "noisy/a.png"):
        assert main(["denoise", "apply", str(model), str(tmp_path / "noisy"),
                     "--out", str(tmp_path / out)]) == 2
    assert main(["denoise", "apply", str(model), str(tmp_path / "noisy" / "a.png"),
                 "--out", str(tmp_path / "noisy" / "a.png")]) == 2
    assert "is an input of the command" in capsys.readouterr().err
    assert (tmp_path / "noisy" / "a.png").read_bytes() == before


def test_streamed_pixels_get_advice_that_works(tmp_path, capsys):
    pixels = np.random.default_rng(0).integers(0, 256, (30, 16), dtype=np.uint8)
    np.save(tmp_path / "pixels.npy", pixels)
    assert main(["train", "--data", str(tmp_path / "pixels.npy"), "--stream", "--hidden", "4",
                 "--epochs", "1", "--batch-size", "5", "--out", str(tmp_path / "r")]) == 2
    assert "rescale them to (x - 0) / 255" in capsys.readouterr().err
    np.save(tmp_path / "pixels.npy", (pixels - 0) / np.float32(255))  # the advice, taken
    assert main(["train", "--data", str(tmp_path / "pixels.npy"), "--stream", "--hidden", "4",
                 "--epochs", "1", "--batch-size", "5", "--out", str(tmp_path / "r")]) == 0

"""sdae cluster: fit on a table, the files and figures it writes, reuse a saved model; bad
input."""

import json

import numpy as np

from sdae.cli import main

SMALL = ["--hidden", "16", "4", "--pretrain-epochs", "2", "--finetune-epochs", "10",
         "--self-training-steps", "14", "--batch-size", "32", "--no-progress"]


def blobs_npz(tmp_path, name="blobs.npz"):
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 5, size=(3, 6))
    x = np.concatenate([c + 0.3 * rng.normal(size=(80, 6)) for c in centres])
    np.savez(tmp_path / name, x=x.astype(np.float32), y=np.repeat(np.arange(3), 80))
    return tmp_path / name


def test_cluster_writes_labels_model_figures_and_scores(tmp_path, capsys):
    data, out = blobs_npz(tmp_path), tmp_path / "run"
    assert main(["cluster", str(data), "--n-clusters", "3", "--method", "idec", "--out",
                 str(out), "--precision", "bf16", *SMALL]) == 0
    printed = capsys.readouterr().out
    assert "240 rows in 3 clusters by idec" in printed and "ACC 1.0000" in printed
    summary = json.loads((out / "clustering.json").read_text())
    said = (f"IDEC self-training settled after {summary['steps']} steps" if summary["converged"]
            else "IDEC self-training stopped after ")
    assert said in printed
    rows = (out / "labels.csv").read_text().splitlines()
    assert rows[0] == "cluster" and len(rows) == 241
    assert {int(r) for r in rows[1:]} == {0, 1, 2}
    for figure in ("codes_map.png", "nearest.png"):
        assert (out / figure).read_bytes()[:4] == b"\x89PNG"
    summary = json.loads((out / "clustering.json").read_text())
    assert summary["sizes"] == [80, 80, 80] and summary["scores"]["acc"] == 1.0
    assert summary["settings"]["precision"] == "bf16"
    # the saved model labels the same rows the same way
    again = tmp_path / "again"
    assert main(["cluster", str(out / "model.safetensors"), str(data), "--out",
                 str(again)]) == 0
    assert (again / "labels.csv").read_text() == (out / "labels.csv").read_text()


def test_cluster_trains_decs_relu_units_when_asked(tmp_path, capsys):
    from sdae.models import load_model

    data, out = blobs_npz(tmp_path), tmp_path / "run"
    assert main(["cluster", str(data), "--n-clusters", "3", "--method", "kmeans",
                 "--activation", "relu", "--out", str(out), *SMALL]) == 0
    assert "ACC 1.0000" in capsys.readouterr().out
    assert json.loads((out / "clustering.json").read_text())["settings"]["activation"] == "relu"
    layers = load_model(out / "model.safetensors").stack.layers
    assert [(layer.config.activation, layer.config.decoder) for layer in layers] == [
        ("relu", "linear"), ("linear", "relu")]  # real-valued rows: a linear bottom decoder


def test_cluster_resumes_from_any_folder_with_the_data_it_started_with(tmp_path,
                                                                       monkeypatch, capsys):
    data, out = blobs_npz(tmp_path), tmp_path / "run"
    monkeypatch.chdir(tmp_path)
    assert main(["cluster", data.name, "--n-clusters", "3", "--method", "dec", "--out",
                 str(out), *SMALL]) == 0
    labels = (out / "labels.csv").read_text()
    (out / "labels.csv").unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert main(["cluster", "--resume", str(out)]) == 0  # replayed from its checkpoints
    assert (out / "labels.csv").read_text() == labels
    assert main(["cluster", "--resume", str(out), str(data)]) == 2
    assert "[MODEL] DATA would be ignored: give --resume RUN_DIR alone" in \
        capsys.readouterr().err


def test_the_self_training_line_says_whether_it_settled():
    from sdae.cli.cluster import self_training_line

    record = {"method": "dec", "steps": 3641, "changed": [0.05, 0.0008], "converged": True,
              "settings": {"tol": 0.001}}
    assert self_training_line(record) == (
        "DEC self-training settled after 3641 steps: 0.08% of the assignments changed at the "
        "last update (under the tolerance, 0.1%)")
    record.update(steps=20000, changed=[0.05, 0.004], converged=False)
    assert self_training_line(record) == (
        "DEC self-training stopped after 20000 steps, its limit (--self-training-steps, "
        "rounded up to whole epochs), with 0.40% of the assignments still changing at the "
        "last update")


def test_cluster_bad_input(tmp_path, capsys):
    data = blobs_npz(tmp_path)
    nan = tmp_path / "nan.csv"
    nan.write_text("1,2\n3,nan\n4,5\n")
    one = tmp_path / "one.npy"
    np.save(one, np.arange(10.0).reshape(10, 1))
    cases = [
        (["cluster", str(data), "--out", str(tmp_path / "o")], "--n-clusters K"),
        (["cluster", str(data), "--n-clusters", "3"], "--out OUT"),
        (["cluster", str(data), "--n-clusters", "500", "--out", str(tmp_path / "o")],
         "n_samples=240 is fewer than n_clusters=500"),
        (["cluster", str(nan), "--n-clusters", "2", "--out", str(tmp_path / "o")], "NaN"),
        (["cluster", str(one), "--n-clusters", "2", "--out", str(tmp_path / "o")],
         "1 feature"),
        (["cluster", str(data), str(data), "--out", str(tmp_path / "o")],
         "not an sdae model file"),
        (["cluster", str(data), "--n-clusters", "3", "--method", "dec", "--moves", "0.1",
          "--out", str(tmp_path / "o")], "moves need rows that are square images"),
        (["cluster", str(data), "--n-clusters", "3", "--moves", "0.7", "--out",
          str(tmp_path / "o")], "moves (--moves: the largest shift"),
        (["cluster", str(data), "--n-clusters", "3", "--method", "kmeans", "--moves", "0.1",
          "--out", str(tmp_path / "o")], "moves (--moves) are for self-training"),
        (["cluster", str(data), "--n-clusters", "3", "--finetune-moves", "0.1", "--out",
          str(tmp_path / "o")], "leave finetune_moves at 0 (--finetune-moves 0)"),
        (["cluster", str(data), "--n-clusters", "3", "--finetune-moves", "0.7", "--out",
          str(tmp_path / "o")], "finetune_moves (--finetune-moves: the largest shift"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (argv, err)
    assert not (tmp_path / "o").exists()  # nothing half-written


def test_cluster_fine_tunes_the_stack_on_moved_images_when_asked(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.random((60, 16)).astype(np.float32)  # 4×4 images
    np.save(tmp_path / "images.npy", x)
    out = tmp_path / "run"
    assert main(["cluster", str(tmp_path / "images.npy"), "--n-clusters", "2", "--method",
                 "kmeans", "--finetune-moves", "0.1", "--out", str(out), *SMALL]) == 0
    settings = json.loads((out / "clustering.json").read_text())["settings"]
    assert settings["finetune_moves"] == 0.1
    assert (out / "checkpoints" / "finetune-moves0.1.ckpt").is_file()


def test_cluster_says_when_clusters_are_empty(tmp_path, capsys):
    # three distinct rows, each repeated: five clusters cannot all hold rows
    x = np.repeat(np.eye(3, 6, dtype=np.float32), 20, axis=0)
    np.save(tmp_path / "three.npy", x)
    main(["cluster", str(tmp_path / "three.npy"), "--n-clusters", "5", "--method", "kmeans",
          "--out", str(tmp_path / "out"), *SMALL])
    record = json.loads((tmp_path / "out" / "clustering.json").read_text())
    sizes = record["sizes"]
    empty = sizes.count(0)
    assert record["warnings"] == [f"{empty} of the 5 clusters are empty: ask for fewer "
                                  "clusters (the data may hold fewer groups, or fewer distinct "
                                  "rows), or train the stack longer (more pre-training and "
                                  "fine-tuning epochs)"]
    assert empty >= 2
    said = capsys.readouterr()
    assert f"sdae cluster: warning: {empty} of the 5 clusters are empty: ask for fewer " \
        "clusters" in said.err and "empty" not in said.out
    assert said.err.count("\n") == 1  # that line alone: not scikit-learn's own warning too
    # rows labelled by the saved model: the clusters none of them fall in are said too
    main(["cluster", str(tmp_path / "out" / "model.safetensors"), str(tmp_path / "three.npy"),
          "--out", str(tmp_path / "labelled")])
    assert f"sdae cluster: warning: {empty} of the model's 5 clusters hold none of " in \
        capsys.readouterr().err
    assert json.loads((tmp_path / "labelled" / "clustering.json").read_text())["warnings"][0] \
        .startswith(f"{empty} of the model's 5 clusters hold none of ")

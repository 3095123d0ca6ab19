"""sdae detect: fit on a table, score it, save and reuse the detector; bad input."""

import numpy as np

from sdae.cli import main


def table(tmp_path, name="t.csv", seed=0):
    rng = np.random.default_rng(seed)
    X = np.r_[rng.normal(size=(200, 4)), rng.normal(8, 0.5, size=(4, 4))]
    np.savetxt(tmp_path / name, X, delimiter=",", header="a,b,c,d", comments="")
    return tmp_path / name


def read_scores(path):
    rows = path.read_text().splitlines()
    assert rows[0] == "score,outlier"
    cells = [r.split(",") for r in rows[1:]]
    return np.array([float(s) for s, _ in cells]), np.array([int(f) for _, f in cells])


def test_detect_writes_a_score_and_a_flag_per_row_and_reuses_a_saved_detector(tmp_path,
                                                                            capsys):
    data = table(tmp_path)
    assert main(["detect", "--train", str(data), "--models", "3", "--contamination", "0.02",
                 "--save", str(tmp_path / "d.safetensors"), "--out",
                 str(tmp_path / "s.csv")]) == 0
    assert "flagged as outliers" in capsys.readouterr().out
    scores, flags = read_scores(tmp_path / "s.csv")
    assert len(scores) == 204 and flags[-4:].all() and flags.sum() <= 6
    assert main(["detect", str(tmp_path / "d.safetensors"), str(data), "--out",
                 str(tmp_path / "again.csv")]) == 0
    again, again_flags = read_scores(tmp_path / "again.csv")
    np.testing.assert_allclose(again, scores, rtol=1e-5)
    assert np.array_equal(again_flags, flags)


def test_detect_bad_input(tmp_path, capsys):
    data = table(tmp_path)
    nan = tmp_path / "nan.csv"
    nan.write_text("1,2\n3,nan\n4,5\n")
    np.save(tmp_path / "narrow.npy", np.ones((5, 2)))
    assert main(["detect", "--train", str(data), "--models", "2", "--save",
                 str(tmp_path / "d.safetensors"), "--out", str(tmp_path / "s.csv")]) == 0
    capsys.readouterr()
    cases = [
        (["detect", "--out", str(tmp_path / "o.csv")], "give --train DATA"),
        (["detect", "--train", str(nan), "--out", str(tmp_path / "o.csv")], "NaN"),
        (["detect", str(tmp_path / "d.safetensors"), str(tmp_path / "narrow.npy"), "--out",
          str(tmp_path / "o.csv")], "has 2 features, but the detector was fitted on 4"),
        (["detect", "--train", str(data), "--contamination", "lots", "--out",
          str(tmp_path / "o.csv")], "--contamination 'lots'"),
        (["detect", "--train", str(data), "--contamination", "0.9", "--out",
          str(tmp_path / "o.csv")], "contamination must be"),
        (["detect", "--train", str(data), "--out", str(data)], "is an input of the command"),
        (["detect", "--train", str(data), "--out", str(tmp_path / "o.txt")],
         "name a .csv or a .npy"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    assert not (tmp_path / "o.csv").exists()

import json

import numpy as np
import pytest
import torch

from sdae import bench
from sdae.cli import main
from sdae.core.autoencoder import DenoisingAutoencoder


def test_linear_fit_recovers_a_line():
    fit = bench.linear_fit([1, 2, 4, 8], [3.0, 5.0, 9.0, 17.0])
    assert fit["slope"] == pytest.approx(2) and fit["intercept"] == pytest.approx(1)
    assert fit["r2"] == 1.0
    assert bench.linear_fit([1, 2, 3], [1.0, 3.0, 1.0])["r2"] < 0.5


def test_step_products_have_the_shapes_of_a_training_step():
    seen = []
    original = torch.Tensor.__matmul__

    def record(a, b):
        seen.append((tuple(a.shape), tuple(b.shape)))
        return original(a, b)

    products = bench.step_products(6, 4, 3, torch.device("cpu"))
    torch.Tensor.__matmul__ = record
    try:
        products()
    finally:
        torch.Tensor.__matmul__ = original
    # 3 examples, 6 visible, 4 hidden: the five products, each of 2·d·h·b operations
    assert seen == [((3, 6), (6, 4)), ((3, 4), (4, 6)), ((3, 6), (6, 4)), ((4, 3), (3, 6)),
                    ((4, 3), (3, 6))]
    assert all(np.prod(a) * b[-1] == 6 * 4 * 3 for a, b in seen)
    assert bench.flops_per_example(6, 4) == 12 * 6 * 4


def test_the_reference_computes_the_same_model_and_loss():
    x = bench._binary_data(64, 8, torch.device("cpu"))
    dae = DenoisingAutoencoder(8, 16, generator=torch.Generator().manual_seed(0))
    plain = bench.PlainDAE(8, 16)
    with torch.no_grad():
        plain.W.copy_(dae.weight)
        plain.b.copy_(dae.bias)
        plain.c.copy_(dae.decoder_bias)
        # the reference averages over components as well as examples
        plain_loss = torch.nn.functional.binary_cross_entropy(plain(x), x) * 8
        assert plain_loss.item() == pytest.approx(dae.loss(x, corrupt=False).item(), rel=1e-5)
    assert bench.reference_epoch_seconds(x, 16, 8, torch.device("cpu")) > 0


def test_rates_keep_their_digits_on_a_busy_machine():
    from sdae.bench import _figures

    assert [_figures(r) for r in (0.04123, 3.14159, 1234.56, 0.0)] == [0.0412, 3.14, 1234.6,
                                                                        0.0]


def test_bench_quick_writes_results(tmp_path, capsys):
    assert main(["bench", "--quick", "--out", str(tmp_path / "b")]) == 0
    results = json.loads((tmp_path / "b" / "results.json").read_text())
    (row,) = results["layers"]
    assert row["layer"] == "64->32" and row["batch"] == 32
    assert 0 < row["efficiency"] and row["examples_per_second"] > 0
    assert row["gflops"] == pytest.approx(row["examples_per_second"] * 12 * 64 * 32 / 1e9, abs=0.05)
    # the ratio is the two GFLOP/s columns divided, 1.2 times the time share
    assert row["matmul_ratio"] == pytest.approx(row["gflops"] / row["matmul_gflops"], rel=0.05,
                                                abs=0.001)  # the ratio's own rounding
    assert row["matmul_ratio"] == pytest.approx(1.2 * row["efficiency"], abs=0.002)
    assert set(results["precision"]) == {"fp32", "bf16"}
    # what it prints agrees with its table: fp32 of the same layer and batch is that row
    assert results["precision"]["fp32"] == row["examples_per_second"]
    out = capsys.readouterr().out
    assert f"fp32 {row['examples_per_second']} ex/s" in out
    assert f"fp32 {row['examples_per_second']} examples/s" in out  # the Markdown line
    scaling = results["scaling"]
    assert scaling["layer"] == "64->32"  # the quick layer's epochs, not a big layer's
    assert "epoch time (64->32, batch 32) by examples" in out
    assert len(scaling["examples"]["seconds"]) == 2 and len(scaling["width"]["seconds"]) == 2
    assert scaling["examples"]["fit"]["r2"] == pytest.approx(1.0)  # two points: exact fit
    assert "| 64->32 | 32 |" in (tmp_path / "b" / "results.md").read_text()
    assert "wrote" in out

"""``sdae bench``: how fast a DAE layer trains, against the machine's own ceiling.

A tied DAE layer's training step is five matrix products (encoder, decoder, the gradient
into the hidden layer, and the two halves of the weight gradient; autograd does not compute
a gradient for the input, which needs none) plus elementwise work. So the ceiling is the
time of those five products alone, measured here on the same shapes in the same run, and
``efficiency`` is that time over the time of a real training step. GFLOP/s are also given
in the usual convention of 12·d·h floating-point operations per example and layer.

The reference is the same model trained the way most code does it: a ``DataLoader`` over a
``TensorDataset``, corruption drawn per batch, ``loss.item()`` after every step.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .core.autoencoder import DenoisingAutoencoder
from .core.training import TrainConfig, resolve_device, train_autoencoder

CPU_LAYERS = ((784, 500), (784, 1000), (1000, 1000))
GPU_LAYERS = (*CPU_LAYERS, (4096, 4096))
BATCHES = (32, 128, 512)
NOISE = 0.25


def flops_per_example(n_visible: int, n_hidden: int) -> int:
    """The usual count for a tied layer: 12·d·h (six products of 2·d·h)."""
    return 12 * n_visible * n_hidden


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seconds_per_call(fn: Callable[[], object], device: torch.device,
                     min_seconds: float = 0.2, rounds: int = 3) -> float:
    """Best-of-``rounds`` mean time of ``fn()``, each round at least ``min_seconds`` long."""
    for _ in range(3):
        fn()
    _sync(device)
    best = math.inf
    for _ in range(rounds):
        calls, start = 0, time.perf_counter()
        while True:
            fn()
            calls += 1
            if calls % 4 == 0:
                _sync(device)
                elapsed = time.perf_counter() - start
                if elapsed >= min_seconds:
                    break
        best = min(best, elapsed / calls)
    return best


def step_products(n_visible: int, n_hidden: int, batch: int,
                  device: torch.device) -> Callable[[], None]:
    """The five matrix products of one training step of a tied layer, and nothing else."""
    g = torch.Generator(device=device).manual_seed(0)

    def rand(*shape: int) -> Tensor:
        return torch.rand(*shape, generator=g, device=device)

    x, w = rand(batch, n_visible), rand(n_hidden, n_visible)  # x̃ (b, d), W (h, d)
    y, grad_a, grad_h = rand(batch, n_hidden), rand(batch, n_visible), rand(batch, n_hidden)

    def products() -> None:
        x @ w.T  # encoder pre-activation (b, h)
        y @ w  # decoder pre-activation (b, d)
        grad_a @ w.T  # gradient into the hidden layer (b, h)
        y.T @ grad_a  # weight gradient through the decoder (h, d)
        grad_h.T @ x  # weight gradient through the encoder (h, d)

    return products


def _binary_data(n: int, n_visible: int, device: torch.device) -> Tensor:
    g = torch.Generator(device=device).manual_seed(1)
    return (torch.rand(n, n_visible, generator=g, device=device) > 0.5).float()


def sdae_epoch_seconds(x: Tensor, n_hidden: int, batch: int, device: torch.device,
                       precision: str = "fp32", epochs: int = 3) -> float:
    """Fastest epoch (after the first) of sdae's own training loop."""
    model = DenoisingAutoencoder(x.shape[1], n_hidden, noise_level=NOISE,
                                 generator=torch.Generator().manual_seed(0))
    config = TrainConfig(epochs=epochs, batch_size=batch, lr=0.01, device=str(device),
                         precision=precision, progress=False)
    history = train_autoencoder(model, x, config)
    return min(history.epoch_seconds[1:])


class PlainDAE(nn.Module):
    """The reference model, written the common way."""

    def __init__(self, n_visible: int, n_hidden: int):
        super().__init__()
        bound = 4 * math.sqrt(6 / (n_visible + n_hidden))
        self.W = nn.Parameter(torch.empty(n_hidden, n_visible).uniform_(-bound, bound))
        self.b = nn.Parameter(torch.zeros(n_hidden))
        self.c = nn.Parameter(torch.zeros(n_visible))

    def forward(self, x: Tensor) -> Tensor:
        h = torch.sigmoid(x @ self.W.t() + self.b)
        return torch.sigmoid(h @ self.W + self.c)


def reference_epoch_seconds(x: Tensor, n_hidden: int, batch: int, device: torch.device,
                            epochs: int = 3) -> float:
    """Fastest epoch (after the first) of the plain reference loop."""
    from torch.utils.data import DataLoader, TensorDataset

    loader = DataLoader(TensorDataset(x.cpu()), batch_size=batch, shuffle=True, drop_last=True)
    model = PlainDAE(x.shape[1], n_hidden).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    times = []
    for _ in range(epochs):
        start, total = time.perf_counter(), 0.0
        for (xb,) in loader:
            xb = xb.to(device)
            mask = (torch.rand_like(xb) > NOISE).float()
            loss = F.binary_cross_entropy(model(xb * mask), xb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        times.append(time.perf_counter() - start)
    return min(times[1:])


def _figures(rate: float) -> float:
    """A rate to one decimal, or three significant figures where that keeps more: a tiny
    layer's GFLOP/s (0.04 on a busy machine) keeps its digits, where one decimal would make
    it 0 and the ratios of rates meaningless."""
    if rate <= 0 or not math.isfinite(rate):
        return rate
    return round(rate, max(1, 2 - math.floor(math.log10(rate))))


def _examples_for(seconds_per_example: float, batch: int, target: float = 0.5) -> int:
    """Enough examples for an epoch of about ``target`` seconds (10 to 500 batches)."""
    batches = int(np.clip(target / (seconds_per_example * batch), 10, 500))
    return batches * batch


def layer_table(layers: Sequence[tuple[int, int]], batches: Sequence[int],
                device: torch.device, log: Callable[[str], None] = print) -> list[dict]:
    """Examples/s, GFLOP/s and efficiency of sdae and of the reference, per layer and batch."""
    rows = []
    seconds_per_call(step_products(*layers[0], batches[0], device), device)  # wake the threads
    for d, h in layers:
        for b in batches:
            products = step_products(d, h, b, device)
            t_products = seconds_per_call(products, device)
            n = _examples_for(t_products / b, b)
            x = _binary_data(n, d, device)
            t_sdae = sdae_epoch_seconds(x, h, b, device) / n
            t_ref = reference_epoch_seconds(x, h, b, device) / n
            # timed again after the loops: a ceiling caught in a slow moment (another
            # process, a clock change) would flatter the efficiency
            t_products = min(t_products, seconds_per_call(products, device))
            row = {
                "layer": f"{d}->{h}", "batch": b, "examples": n,
                "examples_per_second": round(1 / t_sdae),
                "gflops": _figures(flops_per_example(d, h) / t_sdae / 1e9),
                # what the step would show if it were nothing but its five products
                "ceiling_gflops": _figures(flops_per_example(d, h) * b / t_products / 1e9),
                # the raw rate of those products: 5 × 2·d·h·b operations
                "matmul_gflops": _figures(10 * d * h * b / t_products / 1e9),
                "efficiency": round(t_products / b / t_sdae, 3),
                # the ratio: GFLOP/s at 12·d·h over the raw matmul rate; it credits
                # the sixth product (the input's gradient) that a DAE step never computes
                "matmul_ratio": round(1.2 * t_products / b / t_sdae, 3),
                "reference_examples_per_second": round(1 / t_ref),
                "speedup_over_reference": round(t_ref / t_sdae, 2),
            }
            log(f"{row['layer']:>10} batch {b:>4}: {row['examples_per_second']:>8} ex/s, "
                f"{row['gflops']:>6} GFLOP/s of {row['ceiling_gflops']:>6} "
                f"({row['efficiency']:.0%}; {row['matmul_ratio']:.0%} of the matmul rate); "
                f"reference {row['reference_examples_per_second']:>7}"
                f" ex/s ({row['speedup_over_reference']}x)")
            rows.append(row)
    return rows


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> dict:
    """Least-squares line ys = intercept + slope·xs, and its R²."""
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    slope, intercept = np.polyfit(xs, ys, 1)
    residual = ys - (intercept + slope * xs)
    r2 = 1 - residual.var() / ys.var() if ys.var() > 0 else 1.0
    return {"slope": float(slope), "intercept": float(intercept), "r2": round(float(r2), 4)}


def scaling(device: torch.device, sizes: Sequence[int] = (10_000, 20_000, 40_000, 60_000),
            widths: Sequence[int] = (250, 500, 1000, 2000), batch: int = 128,
            log: Callable[[str], None] = print, layer: tuple[int, int] = (784, 1000)) -> dict:
    """Epoch time of ``layer`` against the number of examples, and against the width (at
    ``sizes[0]`` examples)."""
    d, h = layer
    by_size = [sdae_epoch_seconds(_binary_data(n, d, device), h, batch, device) for n in sizes]
    by_width = [sdae_epoch_seconds(_binary_data(sizes[0], d, device), w, batch, device)
                for w in widths]
    result = {
        "layer": f"{d}->{h}", "batch": batch,
        "examples": {"n": list(sizes), "seconds": [round(t, 3) for t in by_size],
                     "fit": linear_fit(sizes, by_size)},
        "width": {"n_hidden": list(widths), "seconds": [round(t, 3) for t in by_width],
                  "fit": linear_fit(widths, by_width)},
    }
    for key, name in (("examples", "n"), ("width", "n_hidden")):
        part = result[key]
        pairs = ", ".join(f"{v}: {t:.2f} s" for v, t in zip(part[name], part["seconds"],
                                                            strict=True))
        log(f"epoch time ({d}->{h}, batch {batch}) by {key}: {pairs}; "
            f"linear fit R² = {part['fit']['r2']}")
    return result


def precision_table(device: torch.device, layer: tuple[int, int] = (784, 1000),
                    batch: int = 128, log: Callable[[str], None] = print,
                    table: Sequence[dict] = ()) -> dict:
    """Examples/s of one layer at each precision the device supports.

    Where the layer table has a row for this layer and batch, fp32 is that row, not a
    second measurement of the same thing that could disagree with it (on a busy machine
    two epochs timed a minute apart can differ many times over)."""
    precisions = ("fp32", "bf16", "tf32") if device.type == "cuda" else ("fp32", "bf16")
    name = f"{layer[0]}->{layer[1]}"
    row = next((r for r in table if r["layer"] == name and r["batch"] == batch), None)
    x = _binary_data(50 * batch, layer[0], device)
    result = {p: round(len(x) / sdae_epoch_seconds(x, layer[1], batch, device, p))
              for p in precisions if not (row and p == "fp32")}
    if row:
        result = {"fp32": row["examples_per_second"], **result}
    log(f"precision ({name}, batch {batch}): "
        + ", ".join(f"{p} {v} ex/s" for p, v in result.items()))
    return result


def run(device: str = "cpu", *, quick: bool = False,
        log: Callable[[str], None] = print) -> dict:
    """The whole benchmark on this machine; ``quick`` runs one small layer and batch."""
    from .io.runs import machine_description

    dev = resolve_device(device)
    layers = GPU_LAYERS if dev.type == "cuda" else CPU_LAYERS
    started = time.perf_counter()
    results = {"machine": machine_description(device)}
    if quick:
        results["layers"] = layer_table([(64, 32)], [32], dev, log)
        results["scaling"] = scaling(dev, sizes=(640, 1280), widths=(16, 32), batch=32, log=log,
                                     layer=(64, 32))
        results["precision"] = precision_table(dev, (64, 32), 32, log, results["layers"])
    else:
        results["layers"] = layer_table(layers, BATCHES, dev, log)
        results["scaling"] = scaling(dev, log=log)
        results["precision"] = precision_table(dev, log=log, table=results["layers"])
    results["seconds"] = round(time.perf_counter() - started, 1)
    return results


def markdown(results: dict) -> str:
    """The results as Markdown tables, for docs/benchmarks.md."""
    lines = ["| layer | batch | examples/s | GFLOP/s | ceiling GFLOP/s | efficiency "
             "| matmul GFLOP/s | GFLOP/s ÷ matmul | reference examples/s | speed-up |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['layer']} | {r['batch']} | {r['examples_per_second']} | {r['gflops']} | "
              f"{r['ceiling_gflops']} | {r['efficiency']:.0%} | {r['matmul_gflops']} | "
              f"{r['matmul_ratio']:.0%} | {r['reference_examples_per_second']} | "
              f"{r['speedup_over_reference']}× |"
              for r in results["layers"]]
    scale = results["scaling"]
    layer = f"{scale['layer']}, " if "layer" in scale else ""
    lines += ["", f"Epoch time ({layer}batch {scale['batch']}):", "",
              "| varied | values | seconds per epoch | linear fit R² |", "|---|---|---|---|"]
    for key, name in (("examples", "n"), ("width", "n_hidden")):
        part = scale[key]
        lines.append(f"| {key} | {', '.join(map(str, part[name]))} | "
                     f"{', '.join(f'{t:.2f}' for t in part['seconds'])} | {part['fit']['r2']} |")
    lines += ["", "Precision: " + ", ".join(f"{p} {v} examples/s"
                                          for p, v in results["precision"].items())]
    if "sda_mnist" in results:
        lines += ["", "| sda-mnist model | pre-training s | deep AE s | fine-tuning s "
                      "| s to best | test error |", "|---|---|---|---|---|---|"]
        lines += [f"| {r['name']} | {r.get('pretrain_seconds', 0):.0f} | "
                  f"{r.get('unsupervised_seconds', 0):.0f} | "
                  f"{r.get('finetune_seconds', 0):.0f} | {r.get('seconds_to_best', 0):.0f} | "
                  f"{r['test_error']:.2%} |" for r in results["sda_mnist"]]
    return "\n".join(lines) + "\n"

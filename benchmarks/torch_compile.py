"""Do torch.compile or CUDA graphs speed up sdae's training step on this machine?

Times the in-place SGD step of the default layer (sdae.core.fused.sgd_step_: encoder, decoder,
cross-entropy, gradients and update) eagerly and compiled by TorchInductor, on the same
batches, and prints examples/s. On a GPU it also times the step replayed from a CUDA graph
(captured once on fixed input buffers, so each step is one launch instead of about twenty)
and TorchInductor's "reduce-overhead" mode, which captures the compiled step in a CUDA
graph. The masking noise is drawn eagerly in every variant. sdae keeps the eager step where
the others do not win (see docs/benchmarks.md). Needs a C++ compiler on a CPU.

    python benchmarks/torch_compile.py [--device cuda] [--hidden 1000] [--batch 32 128]
"""

import argparse
import time

import torch

from sdae.core.corruption import masking
from sdae.core.fused import sgd_step_

NOISE, LR = 0.25, 0.01


def examples_per_second(step, x: torch.Tensor, batch: int, generator, device, epochs=3) -> float:
    """Fastest of ``epochs`` passes over ``x`` (the first calls compile or capture, so they
    are not timed)."""
    for _ in range(3):
        step(x[:batch], generator)
    best = float("inf")
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator, device=device)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        for j in range(len(x) // batch):
            step(x.index_select(0, order[j * batch:(j + 1) * batch]), generator)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        best = min(best, time.perf_counter() - start)
    return len(x) // batch * batch / best


def cuda_graph_step(params, batch: int, visible: int, device):
    """The step captured in a CUDA graph on fixed buffers: each call copies the batch and its
    corrupted copy in, and replays the graph (one launch)."""
    x_tilde = torch.zeros(batch, visible, device=device)
    x = torch.zeros(batch, visible, device=device)
    side = torch.cuda.Stream(device)  # warm up (cuBLAS workspaces) off the capture stream
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):
        for _ in range(3):
            sgd_step_(x_tilde, x, *params, LR)
    torch.cuda.current_stream(device).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        loss = sgd_step_(x_tilde, x, *params, LR)

    def step(clean, generator):
        x.copy_(clean)
        x_tilde.copy_(masking(clean, NOISE, generator))
        graph.replay()
        return loss

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--visible", type=int, default=784)
    parser.add_argument("--hidden", type=int, default=1000)
    parser.add_argument("--batch", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--examples", type=int, default=20_000)
    args = parser.parse_args()
    device = torch.device(args.device)
    generator = torch.Generator(device=device).manual_seed(0)
    x = (torch.rand(args.examples, args.visible, generator=generator, device=device) > 0.5)
    x = x.float()
    weight = 0.01 * torch.randn(args.hidden, args.visible, generator=generator, device=device)
    params = (weight, torch.zeros(args.hidden, device=device),
              torch.zeros(args.visible, device=device))

    def with_noise(fn):
        return lambda batch, g: fn(masking(batch, NOISE, g), batch, *params, LR)

    steps = {"eager": with_noise(sgd_step_),
             "torch.compile": with_noise(torch.compile(sgd_step_, dynamic=False))}
    if device.type == "cuda":
        for p in params:  # updated in place by the graph: must keep their addresses
            torch._dynamo.mark_static_address(p)
        reduce_overhead = torch.compile(sgd_step_, dynamic=False, mode="reduce-overhead")
        steps["compile + CUDA graph"] = with_noise(reduce_overhead)
    for batch in args.batch:
        if device.type == "cuda":
            steps["CUDA graph"] = cuda_graph_step(params, batch, args.visible, device)
        rates = {name: examples_per_second(step, x, batch, generator, device)
                 for name, step in steps.items()}
        print(f"{args.visible}->{args.hidden}, batch {batch}: "
              + ", ".join(f"{name} {rate:.0f} examples/s ({rate / rates['eager']:.2f}×)"
                          for name, rate in rates.items()))


if __name__ == "__main__":
    main()

"""Does torch.compile speed up sdae's training step on this machine?

Times the in-place SGD step of the default layer (sdae.fused.sgd_step_: encoder, decoder,
cross-entropy, gradients and update) eagerly and compiled by TorchInductor, on the same
batches, and prints examples/s. sdae keeps the eager step where the compiled one does not
win (see docs/benchmarks.md). Needs a C++ compiler on a CPU.

    python benchmarks/torch_compile.py [--device cuda] [--hidden 1000] [--batch 128]
"""

import argparse
import time

import torch

from sdae.corruption import masking
from sdae.fused import sgd_step_


def examples_per_second(step, x: torch.Tensor, batch: int, generator, device, epochs=3) -> float:
    """Fastest of ``epochs`` passes over ``x`` (the first call compiles, so it is not timed)."""
    step(x[:batch], generator)
    best = float("inf")
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator, device=device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for j in range(len(x) // batch):
            step(x.index_select(0, order[j * batch:(j + 1) * batch]), generator)
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return len(x) // batch * batch / best


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
    bias = torch.zeros(args.hidden, device=device)
    decoder_bias = torch.zeros(args.visible, device=device)
    compiled = torch.compile(sgd_step_, dynamic=False)

    def eager(batch, g):
        return sgd_step_(masking(batch, 0.25, g), batch, weight, bias, decoder_bias, 0.01)

    def inductor(batch, g):
        return compiled(masking(batch, 0.25, g), batch, weight, bias, decoder_bias, 0.01)

    for batch in args.batch:
        rates = {name: examples_per_second(step, x, batch, generator, device)
                 for name, step in (("eager", eager), ("torch.compile", inductor))}
        print(f"{args.visible}->{args.hidden}, batch {batch}: "
              + ", ".join(f"{name} {rate:.0f} examples/s" for name, rate in rates.items())
              + f" (compiled / eager: {rates['torch.compile'] / rates['eager']:.2f})")


if __name__ == "__main__":
    main()

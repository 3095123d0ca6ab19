"""Where and how precisely the computation runs: the device, bfloat16 autocast, TF32."""

from __future__ import annotations

import contextlib

import torch

from ..errors import ConfigError


def resolve_device(device: str | torch.device) -> torch.device:
    """The torch device for ``device``, with a clear error when it is not available."""
    try:
        dev = torch.device(device)
    except RuntimeError:
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda"):
        raise ConfigError(f"unsupported device {device!r}: use 'cpu', 'cuda' or 'cuda:N'")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but no CUDA GPU is available: use cpu")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ConfigError(f"no GPU {dev.index}: this machine has {torch.cuda.device_count()}")
    return dev


def autocast(precision: str, device: torch.device):
    """bf16 matrix products inside the block (see :class:`TrainConfig`): wrap the forward
    pass and the loss only. The backward pass and the optimiser step run outside it, as
    PyTorch advises (under it, a DAE on MNIST diverged in its first epoch)."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


@contextlib.contextmanager
def float32_kernels(precision: str, device: torch.device):
    """On CUDA, inside the block, float32 matrix products and convolutions in TensorFloat-32
    for ``tf32`` and in full float32 otherwise: cuDNN's convolutions default to TF32, so
    ``fp32`` would not be fp32 for the convolutional denoiser. Nothing changes on a CPU."""
    if device.type != "cuda":
        yield
        return
    backends = torch.backends
    if hasattr(backends.cuda.matmul, "fp32_precision"):  # torch >= 2.9; the older switches
        # may not be read once a program has set these (torch refuses a mix of the two)
        flags = [(backends.cuda.matmul, "fp32_precision"), (backends.cudnn.conv, "fp32_precision")]
        value = "tf32" if precision == "tf32" else "ieee"
    else:
        flags = [(backends.cuda.matmul, "allow_tf32"), (backends.cudnn, "allow_tf32")]
        value = precision == "tf32"
    before = [getattr(owner, name) for owner, name in flags]
    try:
        for owner, name in flags:
            setattr(owner, name, value)
        yield
    finally:
        for (owner, name), old in zip(flags, before, strict=True):
            setattr(owner, name, old)

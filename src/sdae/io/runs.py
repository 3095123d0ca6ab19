"""Run folders: where a command writes its results, and the record of where they were made."""

from __future__ import annotations

import os
import platform


def machine_description(device: str = "cpu") -> dict:
    """Where a result was measured, for the results files."""
    import torch

    info = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": device,
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info

"""Where a model runs: the one rule that turns ``--device`` into a torch device."""
from __future__ import annotations

import torch

from flowlib.core.errors import FlowlibError


class DeviceError(FlowlibError, ValueError):
    """A device that is unknown, unsupported or absent on this machine."""


def resolve_device(device) -> torch.device:
    """``"cpu"``, ``"cuda"`` (``"cuda:N"``) or ``"auto"`` (CUDA when present) as a device,
    with a clear error when CUDA is asked for and absent."""
    name = str(device)
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise DeviceError(f"Unknown device {device!r}: use cpu, cuda, cuda:N or auto.") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"--device {device} asks for a GPU, but this torch ({torch.__version__}) "
                          "sees no CUDA device: use --device cpu (or auto).")
    if dev.type not in ("cpu", "cuda"):
        raise DeviceError(f"Device {device!r} is not supported: use cpu, cuda or auto.")
    return dev

"""Images as the book stores and shows them: sample grids and PNG bytes."""
from __future__ import annotations

import io

import numpy as np


def to_png(frame, dpi: int = 80) -> bytes:
    """PNG bytes from a matplotlib Figure, an image array (H, W[, C]) in [0, 1] or uint8, or PNG bytes."""
    if isinstance(frame, (bytes, bytearray)):
        return bytes(frame)
    if hasattr(frame, "savefig"):
        import matplotlib.pyplot as plt
        buf = io.BytesIO()
        frame.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
        plt.close(frame)
        return buf.getvalue()
    arr = np.asarray(frame)
    if arr.dtype != np.uint8:
        arr = (np.clip(arr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[0] in (1, 3) and arr.shape[-1] not in (1, 3):
        arr = np.moveaxis(arr, 0, -1)  # CHW -> HWC
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="png")
    return buf.getvalue()


def image_grid(images, nrow: int = 8, padding: int = 2, pad_value: float = 1.0) -> np.ndarray:
    """A (H, W) float array in [0, 1] tiling ``images`` ((N, 1, h, w) uint8 or float in [0, 1])."""
    import torch

    from flowlib.core.tv import make_grid
    x = torch.as_tensor(images)
    if x.dtype == torch.uint8:
        x = x.float() / 255.0
    grid = make_grid(x.float().clamp(0, 1), nrow=nrow, padding=padding, pad_value=pad_value)
    return grid[0].numpy()

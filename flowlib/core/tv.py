"""The one place flowlib imports torchvision.

The only torchvision release for torch 2.13 (0.28.0) ships a C extension built
against CUDA torch. On the CPU build of torch that extension does not load, and
``import torchvision`` dies registering fake kernels for ``torchvision::nms``:
``RuntimeError: operator torchvision::nms does not exist``. Everything flowlib
needs from torchvision (datasets, transforms.v2, utils.make_grid) is pure Python,
so we define the two operator *schemas* ourselves before importing it; the
fake-kernel registration then finds them and the import succeeds. The detection
ops (nms, roi_align, ...) remain unusable, and flowlib never calls them.

Everything else in flowlib imports torchvision through this module::

    from flowlib.core.tv import torchvision, make_grid, transforms_v2, datasets
"""
from __future__ import annotations

import sys

import torch

# Kept alive at module level: schemas vanish if the Library object is collected.
_LIB: "torch.library.Library | None" = None


def _ensure_op_schemas() -> None:
    global _LIB
    if _LIB is not None:
        return
    try:  # a working build (CUDA torch, or a future CPU wheel) already has them
        torch.ops.torchvision.nms
        return
    except (AttributeError, RuntimeError):
        pass
    _LIB = torch.library.Library("torchvision", "DEF")
    _LIB.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _LIB.define(
        "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")


def _import_torchvision():
    try:
        import torchvision as tv
        return tv
    except RuntimeError as err:
        if "torchvision::nms" not in str(err):
            raise
    # The failed import leaves half-initialised modules behind: drop them.
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
    _ensure_op_schemas()
    import torchvision as tv
    return tv


torchvision = _import_torchvision()
from torchvision import datasets  # noqa: E402
from torchvision.transforms import v2 as transforms_v2  # noqa: E402
from torchvision.utils import make_grid  # noqa: E402

__all__ = ["torchvision", "datasets", "transforms_v2", "make_grid"]

"""Toy densities in two dimensions: two moons, rings, 8 Gaussians (chapter *Flows in 2D*)."""
from __future__ import annotations

import math

import torch

from flowlib.core.errors import FlowlibError

DATASETS = ("two moons", "rings", "8 gaussians")


class Toy2DError(FlowlibError, ValueError):
    pass


# ---------------------------------------------------------------- data
def sample_toy(name: str, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` points (n, 2) of a toy density, roughly within [-4, 4]^2."""
    g = generator
    if name == "two moons":
        t = torch.rand(n, generator=g) * math.pi
        upper = torch.rand(n, generator=g) < 0.5
        x = torch.where(upper, torch.cos(t), 1.0 - torch.cos(t))
        y = torch.where(upper, torch.sin(t), 0.5 - torch.sin(t))
        pts = torch.stack([x - 0.5, y - 0.25], 1) * 2.0
        return pts + 0.1 * torch.randn(n, 2, generator=g)
    if name == "rings":
        radius = (torch.randint(1, 4, (n,), generator=g).float()) * 1.0
        theta = torch.rand(n, generator=g) * 2 * math.pi
        pts = torch.stack([radius * torch.cos(theta), radius * torch.sin(theta)], 1)
        return pts + 0.08 * torch.randn(n, 2, generator=g)
    if name == "8 gaussians":
        k = torch.randint(0, 8, (n,), generator=g).float()
        centres = 2.5 * torch.stack([torch.cos(k * math.pi / 4), torch.sin(k * math.pi / 4)], 1)
        return centres + 0.2 * torch.randn(n, 2, generator=g)
    raise Toy2DError(f"Unknown toy data set {name!r}: use one of {', '.join(DATASETS)}.")


def mode_coverage(name: str, points: torch.Tensor) -> float | None:
    """Fraction of the 8 Gaussians' modes that hold at least 2% of ``points`` (others: None)."""
    if name != "8 gaussians":
        return None
    k = torch.arange(8).float()
    centres = 2.5 * torch.stack([torch.cos(k * math.pi / 4), torch.sin(k * math.pi / 4)], 1)
    d = torch.cdist(points, centres)
    near = d.min(1).values < 0.6
    counts = torch.bincount(d.argmin(1)[near], minlength=8).float() / len(points)
    return float((counts > 0.02).float().mean())

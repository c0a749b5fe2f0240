"""A coupling flow on 2-D points, built from the same steps as the MNIST Real NVP.

Direction and step protocol as in :mod:`flowlib.models.flows`: ``encode(x) -> (z, logdet)``,
``decode(z) -> x``; ``log p(x) = log N(z; 0, I) + log|det dz/dx|``. Each layer is an
:class:`~flowlib.models.flows.AffineCoupling` of one coordinate given the other, its (s, t)
from a small MLP with the bounded scale of every coupling of the book.
"""
from __future__ import annotations

import torch
from torch import nn

from flowlib.core.errors import FlowlibError
from flowlib.models.flows import AffineCoupling, decode_steps, encode_steps, gaussian_log_prob


class Flow2DError(FlowlibError, ValueError):
    """Points of the wrong shape for a 2-D flow."""


class MLPAffine(nn.Module):
    """``(s, t) = MLP(x_a)`` with ``s = scale * tanh(raw)`` bounded: no exp blow-ups; the last
    layer starts at zero, so the coupling starts as the identity."""

    def __init__(self, hidden: int = 64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(1, hidden), nn.SiLU(), nn.Linear(hidden, hidden),
                                 nn.SiLU(), nn.Linear(hidden, 2))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, a):
        s, t = self.net(a).chunk(2, dim=1)
        return self.scale * torch.tanh(s), t


class Flow2D(nn.Module):
    """A stack of affine couplings with alternating coordinates; standard normal base."""

    def __init__(self, layers: int = 8, hidden: int = 64):
        super().__init__()
        self.layers = nn.ModuleList(AffineCoupling(MLPAffine(hidden), 1, swap=i % 2 == 1)
                                    for i in range(layers))

    def encode(self, x):
        """Points (N, 2) -> latents (N, 2) and ``log|det dz/dx|`` (N,)."""
        return encode_steps(self.layers, x)

    def decode(self, z):
        return decode_steps(self.layers, z)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) in nats, shape (N,)."""
        if x.dim() != 2 or x.shape[1] != 2:
            raise Flow2DError(f"Flow2D takes points of shape (N, 2), got {tuple(x.shape)}.")
        z, logdet = self.encode(x)
        return gaussian_log_prob(z) + logdet

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.decode(torch.randn(n, 2, generator=generator))

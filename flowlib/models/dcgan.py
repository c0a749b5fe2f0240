"""A small DCGAN-style convolutional generator for 28x28 digits: the positive control of the
adversarial machinery (not a flow: no density, only samples).

``decode(z)`` maps latents (N, latent_dim) to images (N, 1, 28, 28) in (0, 1) through
a linear layer to 128 x 7 x 7, two stride-2 transposed convolutions with batch norm and
ReLU (Radford et al. 2016), and a sigmoid.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from flowlib.models.flows import draw


@dataclass(frozen=True)
class DCGANConfig:
    latent_dim: int = 64
    width: int = 64          # channels of the 14x14 layer; the 7x7 layer has twice as many
    image_shape: tuple = (1, 28, 28)
    base_std: float = 1.0    # latents N(0, I), as a flow's base density


class DCGANGenerator(nn.Module):
    def __init__(self, config: DCGANConfig = DCGANConfig()):
        super().__init__()
        self.config, w = config, config.width
        self.dim = config.latent_dim
        self.fc = nn.Sequential(nn.Linear(self.dim, 2 * w * 7 * 7), nn.BatchNorm1d(2 * w * 7 * 7),
                                nn.ReLU())
        self.up = nn.Sequential(
            nn.ConvTranspose2d(2 * w, w, 4, 2, 1), nn.BatchNorm2d(w), nn.ReLU(),   # 14x14
            nn.ConvTranspose2d(w, 1, 4, 2, 1))                                      # 28x28

    @property
    def device(self):
        return next(self.parameters()).device

    @property
    def dtype(self):
        return next(self.parameters()).dtype

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        h = self.fc(z).view(z.shape[0], 2 * self.config.width, 7, 7)
        return torch.sigmoid(self.up(h))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, **_) -> torch.Tensor:
        z = draw(torch.randn, (int(n), self.dim), generator, self.device, self.dtype)
        return self.decode(z)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

"""Discriminators: the second player of the GAN losses (:mod:`flowlib.training.gan`).

Each outputs **logits** ``l``; ``D = sigmoid(l)`` is the probability that an input is real.
"""
from __future__ import annotations

import torch
from torch import nn

from flowlib.core.errors import FlowlibError


class GANConfigError(FlowlibError, ValueError):
    """A GAN loss or discriminator asked for in a way that cannot work."""


# ---------------------------------------------------------------- discriminators
def _sn(layer: nn.Module, spectral_norm: bool) -> nn.Module:
    return nn.utils.parametrizations.spectral_norm(layer) if spectral_norm else layer


class MLPDiscriminator(nn.Module):
    """For 2-D toy data: (N, dim) -> logits (N,)."""

    def __init__(self, dim: int = 2, hidden: int = 64, layers: int = 3,
                 spectral_norm: bool = False):
        super().__init__()
        self.dim = dim
        mods, width = [], dim
        for _ in range(layers):
            mods += [_sn(nn.Linear(width, hidden), spectral_norm), nn.LeakyReLU(0.2)]
            width = hidden
        mods.append(_sn(nn.Linear(width, 1), spectral_norm))
        self.net = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.dim:
            raise GANConfigError(f"MLPDiscriminator expects points of shape (N, {self.dim}), got "
                                 f"{tuple(x.shape)}.")
        return self.net(x).squeeze(1)


class ConvDiscriminator(nn.Module):
    """A small DCGAN-style critic for (N, 1, 28, 28) images in [0, 1] -> logits (N,)."""

    def __init__(self, image_shape=(1, 28, 28), width: int = 32, spectral_norm: bool = False,
                 dropout: float = 0.0, exact_start: bool = False):
        super().__init__()
        self.image_shape = tuple(image_shape)
        c, h, w = self.image_shape
        if (h, w) != (28, 28):
            raise GANConfigError(f"ConvDiscriminator is built for 28x28 images, not {h}x{w}.")
        self.features = nn.Sequential(
            _sn(nn.Conv2d(c, width, 4, 2, 1), spectral_norm), nn.LeakyReLU(0.2),        # 14x14
            _sn(nn.Conv2d(width, 2 * width, 4, 2, 1), spectral_norm), nn.LeakyReLU(0.2),  # 7x7
            _sn(nn.Conv2d(2 * width, 4 * width, 3, 2, 1), spectral_norm), nn.LeakyReLU(0.2),  # 4x4
            nn.Dropout(dropout) if dropout else nn.Identity(),
        )
        self.head = _sn(nn.Linear(4 * width * 16, 1), spectral_norm)
        # exact_start: the logits are scaled by a learned gain that starts at 0, so D = 1/2 for
        # every input and its input gradient is exactly 0 (the GAN game's equilibrium, where
        # the generator gets no push), yet D can learn (the gain's gradient is not 0). A gain,
        # not a zeroed head: spectral normalisation divides by the head's norm. Its parameter
        # exists only then, so fresh discriminators and their checkpoints are unchanged.
        self.gain = nn.Parameter(torch.zeros(())) if exact_start else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or tuple(x.shape[1:]) != self.image_shape:
            raise GANConfigError(
                f"ConvDiscriminator expects images of shape (N, {', '.join(map(str, self.image_shape))}),"
                f" got {tuple(x.shape)}: build it with image_shape= matching the generator.")
        if not torch.is_floating_point(x):
            raise GANConfigError("ConvDiscriminator expects float images in [0, 1]; dequantise "
                                 "uint8 images first (flowlib.models.flows.dequantize).")
        # centre the [0, 1] input: the generator's and the data's images enter alike
        logits = self.head(self.features(2.0 * x - 1.0).flatten(1)).squeeze(1)
        return logits if self.gain is None else self.gain * logits

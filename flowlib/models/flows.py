"""Flow steps: one protocol, one direction convention, each log-determinant beside its transform.

Direction convention (stated once, used everywhere in flowlib): **encode maps data to latent**
(``x -> z``, the density-evaluation direction) and **decode maps latent to data** (``z -> x``,
the sampling direction). Every step has

- ``encode(x) -> (z, logdet)``: ``logdet`` is ``log|det dz/dx|`` of *that* step, per example,
  shape (N,), computed beside the transform that causes it;
- ``decode(z) -> x``: the exact inverse.

A flow is steps composed (:func:`encode_steps`, :func:`decode_steps`); by the change of
variables ``log p(x) = log N(z; 0, s^2 I) + sum of the encode log-dets`` (:func:`gaussian_log_prob`).
The same steps build the MNIST Real NVP (:mod:`flowlib.models.realnvp`) and the 2-D flow of
the toy chapter (:mod:`flowlib.models.flow2d`).
"""
from __future__ import annotations

import math
from contextlib import contextmanager

import torch
import torch.nn as nn

LOG_2PI = math.log(2 * math.pi)


def draw(sampler, shape, generator: torch.Generator | None, device, dtype) -> torch.Tensor:
    """``sampler`` (``torch.rand``/``torch.randn``) of ``shape`` on ``device``, drawn on the
    generator's own device and then moved: a CPU generator gives the same numbers to a CPU and
    a GPU run, so random streams do not depend on where the model lives."""
    on = generator.device if generator is not None else device
    return sampler(shape, generator=generator, dtype=dtype, device=on).to(device)


@contextmanager
def evaluating(model: nn.Module):
    """``model`` in eval mode inside the block, its previous mode restored after (even on error)."""
    was = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was)


def per_example_sum(v: torch.Tensor) -> torch.Tensor:
    """Sum over every axis but the first: a per-example log-det, shape (N,)."""
    return v.sum(tuple(range(1, v.dim())))


def encode_steps(steps, x):
    """Compose ``steps`` data-to-latent: the output and the summed log-det, shape (N,)."""
    ld = x.new_zeros(x.shape[0])
    for step in steps:
        x, d = step.encode(x)
        ld = ld + d
    return x, ld


def decode_steps(steps, z):
    """The inverse of :func:`encode_steps`: the steps in reverse, each decoded."""
    for step in reversed(steps):
        z = step.decode(z)
    return z


def gaussian_log_prob(z: torch.Tensor, std: float = 1.0) -> torch.Tensor:
    """``log N(z; 0, std^2 I)`` per row of flat latents (N, D), in nats."""
    if std == 1.0:
        return -0.5 * (z ** 2).sum(1) - 0.5 * z.shape[1] * LOG_2PI
    return -0.5 * ((z / std) ** 2).sum(1) - z.shape[1] * (0.5 * LOG_2PI + math.log(std))


# ------------------------------------------------------------------ pre-processing steps
def dequantize(x_uint8: torch.Tensor, generator=None, dtype=torch.float32) -> torch.Tensor:
    """uint8 pixels ``k`` -> ``(k + u) / 256``, ``u ~ U[0, 1)``: the images of :class:`Dequantize`
    alone (also what a discriminator sees of real data)."""
    u = draw(torch.rand, x_uint8.shape, generator, x_uint8.device, dtype)
    return (x_uint8.to(dtype) + u) / 256.0


class Dequantize(nn.Module):
    """uint8 pixels ``k`` -> ``y = (k + u) / 256``, ``u ~ U[0, 1)^D``; log-det ``-D log 256`` (the
    scaling of unit bins by 1/256). The discrete probability is bounded by the continuous
    density: ``log P(k) >= E_u[log p(y)] - D log 256``: how Real NVP and Glow report bits/dim.
    Stochastic, so ``encode`` takes the noise's generator; ``decode`` is ``floor(256 y)``."""

    def encode(self, x_uint8, generator=None, dtype=torch.float32):
        y = dequantize(x_uint8, generator, dtype)
        return y, y.new_full((y.shape[0],), -y[0].numel() * math.log(256.0))

    def decode(self, y):
        return (y * 256.0).floor().clamp(0, 255).to(torch.uint8)


class Logit(nn.Module):
    """``z0 = logit(alpha + (1 - 2 alpha) y)``; log-det ``D log(1 - 2 alpha) - sum log s(1 - s)``
    with ``s = alpha + (1 - 2 alpha) y``. With ``alpha > 0`` the continuous variable lives on the
    slightly larger cube ``(-a, 1 + a)^D``, ``a = alpha / (1 - 2 alpha)``."""

    def __init__(self, alpha: float):
        super().__init__()
        self.alpha = alpha

    def encode(self, y):
        a = self.alpha
        s = a + (1 - 2 * a) * y
        z0 = torch.log(s) - torch.log1p(-s)
        ld = (math.log(1 - 2 * a) - torch.log(s) - torch.log1p(-s)).flatten(1).sum(1)
        return z0, ld

    def decode(self, z0):
        a = self.alpha
        return (torch.sigmoid(z0) - a) / (1 - 2 * a)


# ------------------------------------------------------------------ invertible layers
class AffineCoupling(nn.Module):
    """Affine coupling between the two halves of axis 1 (channels of an image, coordinates of
    a point): ``swap`` picks which half changes. ``y_b = x_b * exp(s) + t`` with
    ``(s, t) = affine(x_a)``; the conditioner bounds ``s``; log-det ``sum s``. In the squeezed
    layout, whose two channel halves are the two checkerboard colours, this *is* a
    checkerboard coupling; after a permutation it is Dinh's channel mask."""

    def __init__(self, affine: nn.Module, half: int, swap: bool):
        super().__init__()
        self.half, self.swap, self.affine = half, swap, affine

    def _split(self, x):
        a, b = x[:, :self.half], x[:, self.half:]
        return (b, a) if self.swap else (a, b)

    def _join(self, a, b):
        return torch.cat([b, a] if self.swap else [a, b], 1)

    def encode(self, x):
        a, b = self._split(x)
        s, t = self.affine(a)
        return self._join(a, b * torch.exp(s) + t), per_example_sum(s)  # log|det| = sum s

    def decode(self, z):
        a, b = self._split(z)
        s, t = self.affine(a)
        return self._join(a, (b - t) * torch.exp(-s))


class ActNorm(nn.Module):
    """Per-channel ``z = (x + bias) * exp(logs)``, initialised from the first training batch
    to zero mean / unit variance (Glow). log|det| = H * W * sum(logs)."""

    def __init__(self, channels: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.logs = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.register_buffer("initialized", torch.tensor(0, dtype=torch.uint8))

    @torch.no_grad()
    def initialize(self, x):
        """Data-dependent initialisation from a batch ``x`` as this step sees it."""
        mean = x.mean((0, 2, 3), keepdim=True)
        std = x.std((0, 2, 3), keepdim=True)
        self.bias.copy_(-mean)
        self.logs.copy_(-torch.log(std + 1e-6).clamp(-5, 5))
        self.initialized.fill_(1)

    def encode(self, x):
        if self.training and not bool(self.initialized):
            self.initialize(x)
        hw = x.shape[2] * x.shape[3]
        ld = (hw * self.logs.sum()).expand(x.shape[0])
        return (x + self.bias) * torch.exp(self.logs), ld

    def decode(self, z):
        return z * torch.exp(-self.logs) - self.bias


class Permute(nn.Module):
    """A fixed channel permutation (log-det 0)."""

    def __init__(self, perm):
        super().__init__()
        perm = torch.as_tensor(perm)
        self.register_buffer("perm", perm, persistent=False)
        self.register_buffer("inv", torch.argsort(perm), persistent=False)

    def encode(self, x):
        return x[:, self.perm], x.new_zeros(x.shape[0])

    def decode(self, z):
        return z[:, self.inv]

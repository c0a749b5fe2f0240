"""Multi-scale Real NVP (Dinh, Sohl-Dickstein & Bengio, 2017) for 1x28x28 images.

The direction convention and the step protocol are those of :mod:`flowlib.models.flows`:
**encode maps data to latent** and returns ``(z, logdet)``, **decode maps latent to data**.
By the change of variables, ``log p(x) = log N(z; 0, s^2 I) + sum of the encode log-dets`` with
the base standard deviation ``s = config.base_std`` (1 unless a teacher sets a temperature;
:meth:`RealNVP.with_base_temperature`).

The likelihood API has two methods: :meth:`RealNVP.log_prob` scores *data* (uint8 pixels by the
dequantised bound, float images by their exact density anywhere in the support) and
:meth:`RealNVP.encode` returns the latent with its log-det.

The chain, data to latent:

1. **pre-processing** (flow steps with their own log-dets)
   - uint8 pixels ``k`` in 0..255 are *dequantised*: ``y = (k + u) / 256`` with
     ``u ~ U[0, 1)^D``; the discrete probability is bounded by the continuous density:
     ``log P(k) >= E_u[log p(y)] - D log 256`` (the ``- D log 256`` is the log-det of the
     scaling by 1/256 of the unit bins). This is how Real NVP / Glow report bits/dim.
   - continuous images in [0, 1] (float) skip dequantisation: ``log_prob`` is then the exact
     density ``p(y)`` of the model's continuous variable at ``y``.
   - the **logit** step ``z0 = logit(alpha + (1 - 2 alpha) y)`` with ``alpha = 0.05``
     (log-det ``D log(1 - 2 alpha) - sum log s(1 - s)``, ``s = alpha + (1-2 alpha) y``).
     With ``alpha > 0`` the model's continuous variable lives on the slightly larger cube
     ``(-a, 1 + a)^D``, ``a = alpha / (1 - 2 alpha)``: its density integrates to 1 there, and to
     a little less over [0, 1]^D. With ``alpha = 0`` the support is exactly ``(0, 1)^D``.
2. **scales** ``0 .. scales-2``: checkerboard affine couplings (alternating colours), a
   squeeze (2x2 space-to-depth, log-det 0), channel-mask affine couplings (alternating halves),
   then half the channels are *factored out* (sent to the latent). The factored-out half gets a
   learned conditional prior (an affine step conditioned on the kept half, Glow's "split prior")
   when ``split_prior`` is set; that step is itself a coupling with its log-det.
3. **last scale**: checkerboard couplings only; everything left goes to the latent.

Checkerboard couplings are computed in squeezed space: in the 2x2 space-to-depth layout the
two checkerboard colours are two channel groups, so the same checkerboard mask is applied
while the ResNet convolves a (H/2, W/2) map of the conditioning pixels (4x fewer positions than
a masked full-resolution coupling, 2x fewer than packing rows). Where a side is odd (the 7x7
last scale of MNIST) a classic masked checkerboard coupling is used.

Each affine coupling is ``y_b = x_b * exp(s) + t`` with ``(s, t) = ResNet(x_a)`` and the scale
bounded: ``s = scale * tanh(raw)`` with a learned per-channel ``scale`` (log-det ``sum s``).
Optional ActNorm steps (per-channel affine, data-initialised) follow each coupling.
"""
from __future__ import annotations

import dataclasses
import io
import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn

from flowlib.core.errors import FlowlibError
from flowlib.core.paths import atomic_write_bytes
from flowlib.models.flows import (ActNorm, AffineCoupling, Dequantize, Logit, Permute, decode_steps,
                                  draw, encode_steps, evaluating, gaussian_log_prob)

LOG2 = math.log(2.0)


class RealNVPError(FlowlibError, ValueError):
    """Bad input to the Real NVP model: wrong shape, dtype, range, size name or checkpoint."""


# ------------------------------------------------------------------ configuration
@dataclass(frozen=True)
class RealNVPConfig:
    """Sizes of a multi-scale Real NVP. ``RealNVPConfig.named("small")`` gives a named size."""

    image_shape: tuple = (1, 28, 28)
    scales: int = 3            # 28 -> 14 -> 7: two squeezes, the last scale at 7x7
    checkerboard: int = 3      # checkerboard couplings per non-last scale
    channelwise: int = 3       # channel-mask couplings per non-last scale (after the squeeze)
    last: int = 4              # checkerboard couplings of the last scale
    width: int = 64            # ResNet channels at scale 0 ...
    width_growth: float = 1.0  # ... multiplied by this at each coarser scale
    blocks: int = 2            # residual blocks per ResNet
    alpha: float = 0.05        # logit pre-processing: logit(alpha + (1 - 2 alpha) y)
    actnorm: bool = True       # per-channel ActNorm after each coupling
    split_prior: bool = True   # learned conditional prior for factored-out halves
    base_std: float = 1.0      # the base density is N(0, base_std^2 I): a teacher's temperature
    name: str = "custom"

    @staticmethod
    def named(name: str) -> "RealNVPConfig":
        if name not in SIZES:
            raise RealNVPError(f"Unknown Real NVP size {name!r}: use one of "
                               f"{', '.join(SIZES)} (smallest to largest), or build a "
                               "RealNVPConfig(...) with your own numbers.")
        return SIZES[name]

    def widths(self) -> list[int]:
        return [max(4, int(round(self.width * self.width_growth ** k))) for k in range(self.scales)]

    def check(self) -> "RealNVPConfig":
        c, h, w = self.image_shape
        problems = []
        if self.scales < 1:
            problems.append("scales must be >= 1")
        f = 2 ** (self.scales - 1)
        if h % f or w % f:
            problems.append(f"image sides {h}x{w} must be divisible by 2**(scales-1) = {f}")
        for name in ("checkerboard", "channelwise", "last", "width", "blocks"):
            if getattr(self, name) < (1 if name in ("last", "width") else 0):
                problems.append(f"{name} = {getattr(self, name)} is too small")
        if not 0.0 <= self.alpha < 0.5:
            problems.append(f"alpha = {self.alpha} must be in [0, 0.5)")
        if not self.base_std > 0:
            problems.append(f"base_std = {self.base_std} must be > 0")
        if problems:
            raise RealNVPError("Invalid RealNVPConfig: " + "; ".join(problems) + ".")
        return self

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["image_shape"] = list(self.image_shape)
        return d

    @staticmethod
    def from_dict(d: dict) -> "RealNVPConfig":
        known = {f.name for f in dataclasses.fields(RealNVPConfig)}
        unknown = set(d) - known
        if unknown:
            raise RealNVPError(f"Unknown RealNVPConfig fields {sorted(unknown)}: this "
                               "checkpoint was written by another version of flowlib.")
        d = dict(d)
        if "image_shape" in d:
            d["image_shape"] = tuple(d["image_shape"])
        return RealNVPConfig(**d).check()


# A ladder of capacities. Later chapters reuse them: a teacher and under-/over-parameterised
# students. Parameter counts are printed by `python -m flowlib.models.realnvp` and in the chapter.
SIZES: dict[str, RealNVPConfig] = {
    "micro": RealNVPConfig(checkerboard=1, channelwise=1, last=1, width=8, width_growth=1.5,
                           blocks=1, name="micro"),
    "tiny": RealNVPConfig(checkerboard=2, channelwise=2, last=2, width=16, width_growth=1.5,
                          blocks=1, name="tiny"),
    # the teacher's architecture with narrower coupling nets (72% of its parameters): a
    # student only mildly misspecified (Experiment 2)
    "slim": RealNVPConfig(checkerboard=2, channelwise=2, last=3, width=20, width_growth=1.6,
                          blocks=1, name="slim"),
    "small": RealNVPConfig(checkerboard=2, channelwise=2, last=3, width=24, width_growth=1.6,
                           blocks=1, name="small"),
    "medium": RealNVPConfig(checkerboard=3, channelwise=3, last=3, width=32, width_growth=1.6,
                            blocks=1, name="medium"),
    "base": RealNVPConfig(checkerboard=3, channelwise=3, last=4, width=32, width_growth=2.0,
                          blocks=2, name="base"),
    "large": RealNVPConfig(checkerboard=4, channelwise=4, last=4, width=64, width_growth=2.0,
                           blocks=4, name="large"),
}


# ------------------------------------------------------------------ layout helpers
def squeeze(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, 4C, H/2, W/2). Channel block p holds offset (i, j) of each 2x2
    cell, in the order (0,0), (1,1), (0,1), (1,0): the first two blocks are one checkerboard
    colour, the last two the other. A permutation: log-det 0."""
    n, c, h, w = x.shape
    x = x.reshape(n, c, h // 2, 2, w // 2, 2).permute(0, 3, 5, 1, 2, 4)  # n, i, j, c, h, w
    x = x.reshape(n, 4, c, h // 2, w // 2)
    x = x[:, [0, 3, 1, 2]]  # (0,0),(1,1),(0,1),(1,0)
    return x.reshape(n, 4 * c, h // 2, w // 2)


def unsqueeze(x: torch.Tensor) -> torch.Tensor:
    n, c4, h, w = x.shape
    c = c4 // 4
    x = x.reshape(n, 4, c, h, w)[:, [0, 2, 3, 1]]  # back to (0,0),(0,1),(1,0),(1,1)
    x = x.reshape(n, 2, 2, c, h, w).permute(0, 3, 4, 1, 5, 2)
    return x.reshape(n, c, 2 * h, 2 * w)


# ------------------------------------------------------------------ networks
class ResNet(nn.Module):
    """The s, t network: 3x3 conv in, ``blocks`` residual blocks, zero-initialised 3x3 conv out
    (so every coupling starts as the identity)."""

    def __init__(self, c_in: int, c_out: int, width: int, blocks: int):
        super().__init__()
        self.inp = nn.Conv2d(c_in, width, 3, padding=1)
        self.blocks = nn.ModuleList()
        for _ in range(blocks):
            self.blocks.append(nn.Sequential(
                nn.ReLU(), nn.Conv2d(width, width, 3, padding=1),
                nn.ReLU(), nn.Conv2d(width, width, 3, padding=1)))
        self.out = nn.Sequential(nn.ReLU(), nn.Conv2d(width, c_out, 3, padding=1))
        nn.init.zeros_(self.out[1].weight)
        nn.init.zeros_(self.out[1].bias)

    def forward(self, x):
        h = self.inp(x)
        for b in self.blocks:
            h = h + b(h)
        return self.out(h)


class Affine(nn.Module):
    """``(s, t) = f(cond)`` with ``s = scale * tanh(raw)`` bounded; shared by all couplings."""

    def __init__(self, c_cond: int, c_trans: int, width: int, blocks: int):
        super().__init__()
        self.net = ResNet(c_cond, 2 * c_trans, width, blocks)
        self.scale = nn.Parameter(torch.ones(1, c_trans, 1, 1))

    def forward(self, cond):
        h = self.net(cond)
        raw, t = h[:, 0::2], h[:, 1::2]
        return self.scale * torch.tanh(raw), t


# ------------------------------------------------------------------ flow steps
def coupling(channels: int, width: int, blocks: int, swap: bool) -> AffineCoupling:
    """An affine coupling between the channel halves of an image, its (s, t) from a ResNet."""
    half = channels // 2
    return AffineCoupling(Affine(half, channels - half, width, blocks), half, swap)


class MaskedCheckerboardCoupling(nn.Module):
    """Classic masked checkerboard coupling at full resolution (used where a side is odd)."""

    def __init__(self, channels: int, hw: tuple, width: int, blocks: int, parity: int):
        super().__init__()
        h, w = hw
        ii, jj = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        self.register_buffer("mask", (((ii + jj) % 2) == parity).float()[None, None],
                             persistent=False)
        self.affine = Affine(channels, channels, width, blocks)

    def encode(self, x):
        m = self.mask.to(x.dtype)
        s, t = self.affine(x * m)
        s, t = s * (1 - m), t * (1 - m)
        return x * m + (1 - m) * (x * torch.exp(s) + t), s.sum((1, 2, 3))  # log|det| = sum s

    def decode(self, z):
        m = self.mask.to(z.dtype)
        s, t = self.affine(z * m)
        s, t = s * (1 - m), t * (1 - m)
        return z * m + (1 - m) * ((z - t) * torch.exp(-s))


class SplitPrior(nn.Module):
    """Factor-out with a learned conditional prior: ``eps = (z_out - mu(h)) * exp(-logs(h))``
    where ``h`` is the kept half; ``eps`` goes to the standard-normal latent.
    log|det| = -sum logs (bounded like a coupling scale)."""

    def __init__(self, c_keep: int, c_out: int, width: int):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(c_keep, width, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(width, 2 * c_out, 3, padding=1))
        nn.init.zeros_(self.net[2].weight)
        nn.init.zeros_(self.net[2].bias)
        self.scale = nn.Parameter(torch.ones(1, c_out, 1, 1))

    def encode(self, z_out, h):
        p = self.net(h)
        logs, mu = self.scale * torch.tanh(p[:, 0::2]), p[:, 1::2]
        return (z_out - mu) * torch.exp(-logs), -logs.sum((1, 2, 3))

    def decode(self, eps, h):
        p = self.net(h)
        logs, mu = self.scale * torch.tanh(p[:, 0::2]), p[:, 1::2]
        return eps * torch.exp(logs) + mu


class Scale(nn.Module):
    """One non-last scale: checkerboard couplings, squeeze, channel couplings, factor out."""

    def __init__(self, channels: int, hw: tuple, cfg: RealNVPConfig, width: int):
        super().__init__()
        c4 = 4 * channels
        steps = []
        # checkerboard couplings in squeezed layout: halves = the two colours
        for i in range(cfg.checkerboard):
            steps.append(coupling(c4, width, cfg.blocks, swap=bool(i % 2)))
            if cfg.actnorm:
                steps.append(ActNorm(c4))
        # to Dinh's channel mask: halves = top row (0,0),(0,1) vs bottom row (1,1),(1,0) of cells
        c = channels
        blocks = [list(range(k * c, (k + 1) * c)) for k in range(4)]  # (0,0),(1,1),(0,1),(1,0)
        steps.append(Permute(blocks[0] + blocks[2] + blocks[1] + blocks[3]))
        for i in range(cfg.channelwise):
            steps.append(coupling(c4, width, cfg.blocks, swap=bool(i % 2)))
            if cfg.actnorm:
                steps.append(ActNorm(c4))
        self.steps = nn.ModuleList(steps)
        self.keep = 2 * channels
        self.prior = SplitPrior(self.keep, c4 - self.keep, width) if cfg.split_prior else None

    def encode(self, x):
        """x (N, C, H, W) -> kept (N, 2C, H/2, W/2), factored-out latent (N, 2C*H*W/4), logdet."""
        # the couplings above are written in squeezed layout (a permutation: log-det 0)
        x, ld = encode_steps(self.steps, squeeze(x))
        h, z_out = x[:, :self.keep], x[:, self.keep:]
        if self.prior is not None:
            z_out, d = self.prior.encode(z_out, h)
            ld = ld + d
        return h, z_out.reshape(x.shape[0], -1), ld

    def decode(self, h, z_out):
        z_out = z_out.reshape(h.shape[0], -1, h.shape[2], h.shape[3])
        if self.prior is not None:
            z_out = self.prior.decode(z_out, h)
        return unsqueeze(decode_steps(self.steps, torch.cat([h, z_out], 1)))


class LastScale(nn.Module):
    def __init__(self, channels: int, hw: tuple, cfg: RealNVPConfig, width: int):
        super().__init__()
        h, w = hw
        self.squeezed = (h % 2 == 0) and (w % 2 == 0)
        steps = []
        for i in range(cfg.last):
            if self.squeezed:
                steps.append(coupling(4 * channels, width, cfg.blocks, swap=bool(i % 2)))
            else:
                steps.append(MaskedCheckerboardCoupling(channels, hw, width, cfg.blocks, i % 2))
            if cfg.actnorm:
                steps.append(ActNorm(4 * channels if self.squeezed else channels))
        self.steps = nn.ModuleList(steps)

    def encode(self, x):
        x, ld = encode_steps(self.steps, squeeze(x) if self.squeezed else x)
        return x.reshape(x.shape[0], -1), ld

    def decode(self, z, shape):
        c, h, w = shape
        x = z.reshape(z.shape[0], 4 * c, h // 2, w // 2) if self.squeezed else z.reshape(-1, c, h, w)
        x = decode_steps(self.steps, x)
        return unsqueeze(x) if self.squeezed else x


# ------------------------------------------------------------------ the model
class RealNVP(nn.Module):
    """Multi-scale Real NVP on images; see the module docstring for the direction convention.

    ``log_prob(x)``: nats per image, shape (N,). uint8 input (0..255) is dequantised (a
    stochastic bound on the discrete log-probability, the bits/dim of the literature); float
    input anywhere in the support gets the exact continuous density. ``encode(y)`` returns
    ``(z, logdet)``, ``decode(z)`` the images, ``sample(n)`` draws.
    """

    def __init__(self, config: RealNVPConfig | str | None = None):
        super().__init__()
        if config is None:
            config = SIZES["base"]
        elif isinstance(config, str):
            config = RealNVPConfig.named(config)
        elif not isinstance(config, RealNVPConfig):
            raise RealNVPError(f"RealNVP(config=...) takes a RealNVPConfig or a size name, "
                               f"not {type(config).__name__}.")
        self.config = config.check()
        c, h, w = config.image_shape
        widths = config.widths()
        self.scales = nn.ModuleList()
        self.shapes = []
        for k in range(config.scales - 1):
            self.scales.append(Scale(c, (h, w), config, widths[k]))
            self.shapes.append((c, h, w))
            c, h, w = 2 * c, h // 2, w // 2
        self.last = LastScale(c, (h, w), config, widths[-1])
        self.last_shape = (c, h, w)
        self.dim = int(math.prod(config.image_shape))
        # pre-processing steps (no parameters): uint8 -> [0, 1) -> logit space
        self.dequantize = Dequantize()
        self.logit = Logit(config.alpha)

    # ---------------------------------------------------------------- parameters
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @property
    def dtype(self):
        return next(self.parameters()).dtype

    @property
    def device(self):
        return next(self.parameters()).device

    # ---------------------------------------------------------------- input checks
    def support(self) -> tuple[float, float]:
        """The open interval ``(lo, hi)`` of each pixel of the continuous variable:
        ``(-a, 1 + a)`` with ``a = alpha / (1 - 2 alpha)`` (``(0, 1)`` when alpha = 0)."""
        a = self.config.alpha / (1 - 2 * self.config.alpha)
        return -a, 1.0 + a

    def _check_images(self, x) -> torch.Tensor:
        """uint8 pixels, or float images strictly inside the support, on the model's device."""
        if not isinstance(x, torch.Tensor):
            raise RealNVPError(f"Expected a torch.Tensor of images, got {type(x).__name__}; "
                               "convert with torch.as_tensor(...).")
        shape = tuple(self.config.image_shape)
        if x.dim() != 4 or tuple(x.shape[1:]) != shape:
            raise RealNVPError(f"Expected images of shape (N, {', '.join(map(str, shape))}), got "
                               f"{tuple(x.shape)}. Add the channel axis with x[:, None] or "
                               "reshape to (N, 1, 28, 28).")
        if x.dtype == torch.uint8:
            return x.to(self.device)
        if not x.is_floating_point():
            raise RealNVPError(f"Expected uint8 pixels (0..255) or float pixels in [0, 1], got "
                               f"dtype {x.dtype}. Convert with x.to(torch.uint8) or x.float() / 255.")
        lo, hi = self.support()
        if x.numel() and (not torch.isfinite(x).all() or x.min() <= lo or x.max() >= hi):
            margin = ": [0, 1] and a margin" if self.config.alpha > 0 else ""
            raise RealNVPError(f"Continuous images must lie in this model's support ({lo + 0.0:.4g}, "
                               f"{hi:.4g}) (alpha = {self.config.alpha}{margin}); got "
                               f"values in [{float(x.min()):.4g}, {float(x.max()):.4g}]. Divide uint8 "
                               "pixels by 255 (or pass the uint8 tensor itself to get the dequantised "
                               "discrete likelihood); data from a teacher need the teacher's alpha.")
        return x.to(self.device)

    # ---------------------------------------------------------------- the flow
    def encode(self, y):
        """Continuous images ``y`` (N, C, H, W) anywhere in the support -> flat latents ``z``
        (N, D) and ``log|det dz/dy|`` (N,), the logit step included."""
        y = self._check_images(y)
        if y.dtype == torch.uint8:
            raise RealNVPError("encode takes continuous images (float); dequantise uint8 pixels "
                               "first, or place them at bin centres: (x.float() + 0.5) / 256.")
        return self._encode(y.to(self.dtype))

    def _encode(self, y):
        x, ld = self.logit.encode(y)
        zs = []
        for scale in self.scales:
            x, z_out, d = scale.encode(x)
            zs.append(z_out)
            ld = ld + d
        z_last, d = self.last.encode(x)
        zs.append(z_last)
        return torch.cat(zs, 1), ld + d

    def decode(self, z):
        """Flat latents (N, D) -> continuous images (N, C, H, W), unclamped (see ``sample``)."""
        if not isinstance(z, torch.Tensor) or z.dim() != 2 or z.shape[1] != self.dim:
            got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise RealNVPError(f"decode expects latents of shape (N, {self.dim}) as returned by "
                               f"encode, got {got}.")
        z = z.to(self.device, self.dtype)
        n = z.shape[0]
        sizes = [(c * h * w) // 2 for (c, h, w) in self.shapes]
        pieces, start = [], 0
        for s in sizes:
            pieces.append(z[:, start:start + s])
            start += s
        x = self.last.decode(z[:, start:], self.last_shape)
        for scale, z_out in zip(reversed(list(self.scales)), reversed(pieces)):
            x = scale.decode(x, z_out)
        return self.logit.decode(x).reshape(n, *self.config.image_shape)

    def base_log_prob(self, z):
        """log N(z; 0, base_std^2 I) per row (base_std = 1 unless the config says otherwise)."""
        return gaussian_log_prob(z, self.config.base_std)

    def log_prob(self, x, generator: torch.Generator | None = None):
        """Nats per image, shape (N,), of a data batch. uint8 pixels: the dequantised bound on
        log P(pixels) (fresh uniform noise, or ``generator``'s); float images anywhere in the
        support (:meth:`support`), e.g. unclipped teacher samples: the exact log-density."""
        x = self._check_images(x)
        if x.dtype == torch.uint8:
            y, ld_deq = self.dequantize.encode(x, generator, self.dtype)
            if self.config.alpha == 0:  # logit(0) is -inf: keep y strictly inside (0, 1)
                y = y.clamp(1e-6, 1 - 1e-6)
            z, ld = self._encode(y)
            return self.base_log_prob(z) + ld + ld_deq
        z, ld = self._encode(x.to(self.dtype))
        return self.base_log_prob(z) + ld

    def forward(self, x, generator=None):
        return self.log_prob(x, generator)

    def with_base_temperature(self, t: float) -> "RealNVP":
        """A copy of this flow whose base density is ``N(0, t^2 I)``: the same bijection, so
        the same images at lower (t < 1) or higher spread; its density stays exact."""
        m = RealNVP(dataclasses.replace(self.config, base_std=float(t))).to(self.device, self.dtype)
        m.load_state_dict(self.state_dict())
        return m.train(self.training)

    @torch.no_grad()
    def sample(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None,
               clamp: bool = True):
        """``n`` images (n, C, H, W) float. Latents are ``temperature * N(0, base_std^2 I)``. With
        ``clamp`` (default) images are clipped to [0, 1]; with ``alpha > 0`` exact model draws
        can lie slightly outside (support ``(-a, 1 + a)``), ``clamp=False`` returns them."""
        if int(n) < 1:
            raise RealNVPError(f"sample(n) needs n >= 1, got {n}.")
        if not temperature >= 0:
            raise RealNVPError(f"temperature must be >= 0, got {temperature}.")
        z = draw(torch.randn, (int(n), self.dim), generator, self.device, self.dtype)
        x = self.decode(z * (temperature * self.config.base_std))
        return x.clamp(0, 1) if clamp else x

    # ---------------------------------------------------------------- checkpoints
    def save(self, path) -> None:
        buf = io.BytesIO()
        torch.save({"format": "flowlib.models.realnvp/1", "config": self.config.to_dict(),
                    "state_dict": self.state_dict()}, buf)
        atomic_write_bytes(Path(path), buf.getvalue())

    @classmethod
    def load(cls, path, config: RealNVPConfig | None = None, map_location="cpu") -> "RealNVP":
        """Load a model saved by ``save`` or a training checkpoint (uses its EMA weights if
        present). ``config``, if given, must match the file's."""
        ckpt = load_checkpoint_file(path, map_location)
        if "config" not in ckpt or ("state_dict" not in ckpt and "model" not in ckpt):
            raise RealNVPError(f"{path} is not a flowlib Real NVP checkpoint (no config/state).")
        file_cfg = RealNVPConfig.from_dict(ckpt["config"])
        if config is not None and config != file_cfg:
            raise RealNVPError(f"{path} holds a Real NVP of config {file_cfg}, not the requested "
                               f"{config}: load it without config=, or pick the matching file.")
        model = cls(file_cfg)
        state = ckpt.get("ema") or ckpt.get("state_dict") or ckpt["model"]
        model.load_state_dict_checked(state, str(path))
        return model

    def load_state_dict_checked(self, state, where: str = "state_dict"):
        try:
            self.load_state_dict(state)
        except RuntimeError as err:
            raise RealNVPError(f"{where} does not fit this Real NVP ({self.config.name}, "
                               f"{self.num_parameters()} parameters): it was saved from another "
                               f"config. Build RealNVP with that config (RealNVP.load reads it "
                               f"from the file). Details: {str(err).splitlines()[0]}") from None


def load_checkpoint_file(path, map_location="cpu") -> dict:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No checkpoint at {path}.")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:
        raise RealNVPError(f"{path} is not a readable checkpoint ({type(err).__name__}: "
                           f"{str(err)[:200]}); the file is corrupt or truncated: delete it "
                           "and retrain (or restore it from results/).") from None
    if not isinstance(ckpt, dict):
        raise RealNVPError(f"{path} does not hold a flowlib checkpoint dictionary.")
    return ckpt


@torch.no_grad()
def bits_per_dim(model: RealNVP, images, batch_size: int = 500, seed: int = 0) -> float:
    """Mean bits per dimension of ``images`` under ``model``.

    uint8 images: ``-(log p(y) - D log 256) / (D log 2)`` with uniform dequantisation noise
    drawn from a generator seeded with ``seed`` (so the number is reproducible): the bits/dim
    of the discrete data that Real NVP and Glow report. Float images (anywhere in the model's
    support, :meth:`RealNVP.log_prob`): the continuous density's ``-log p(x) / (D log 2)``
    (can be negative; :func:`flowlib.metrics.likelihood.bpd_256` puts it in the units of the first).
    """
    total, count = 0.0, 0
    for lp in _batch_log_probs(model, images, batch_size, seed):
        total += float(lp.double().sum())
        count += lp.shape[0]
    if count == 0:
        raise RealNVPError("bits_per_dim needs at least one image.")
    return -total / count / (model.dim * LOG2)


@torch.no_grad()
def per_image_bits_per_dim(model: RealNVP, images, batch_size: int = 500, seed: int = 0) -> torch.Tensor:
    """Bits/dim of each image, shape (N,), with the noise of :func:`bits_per_dim`."""
    lps = list(_batch_log_probs(model, images, batch_size, seed))
    return -torch.cat(lps) / (model.dim * LOG2)


def _batch_log_probs(model: RealNVP, images, batch_size: int, seed: int):
    """log p of ``images`` batch by batch, in eval mode, dequantisation noise seeded by ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    with evaluating(model):
        for i in range(0, len(images), batch_size):
            yield model.log_prob(images[i:i + batch_size], generator=gen)


def mnist_units_offset(images) -> float:
    """Bits/dim to add to a float batch's continuous bits/dim to put it in MNIST's units (the
    density of ``256 x``: + log2 256 = 8); 0 for uint8 MNIST, already in them."""
    return 0.0 if images.dtype == torch.uint8 else 8.0


def parameter_table() -> dict[str, int]:
    return {name: RealNVP(cfg).num_parameters() for name, cfg in SIZES.items()}


if __name__ == "__main__":
    for name, n in parameter_table().items():
        print(f"{name:>6}: {n:>9,} parameters")

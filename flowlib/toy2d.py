"""Flows in two dimensions: toy densities, a coupling flow, and NLL / NSGAN training in seconds.

Direction convention (as in :mod:`flowlib.realnvp`): ``encode`` maps data x to latent
z, ``decode`` maps z back; ``log p(x) = log N(encode(x); 0, I) + log|det d encode/dx|``.
Each coupling layer returns its own log-determinant.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .gan import LossSpec, MLPDiscriminator, adversarial_step

DATASETS = ("two moons", "rings", "8 gaussians")


class Toy2DError(ValueError):
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


# ---------------------------------------------------------------- the flow
class AffineCoupling2D(nn.Module):
    """Transforms one coordinate given the other: y_b = x_b * exp(s(x_a)) + t(x_a)."""

    def __init__(self, flip: bool, hidden: int = 64):
        super().__init__()
        self.flip = flip
        self.net = nn.Sequential(nn.Linear(1, hidden), nn.SiLU(), nn.Linear(hidden, hidden),
                                 nn.SiLU(), nn.Linear(hidden, 2))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)  # starts as the identity
        self.scale = nn.Parameter(torch.ones(1))

    def _split(self, x):
        a, b = x[:, :1], x[:, 1:]
        return (b, a) if self.flip else (a, b)

    def _join(self, a, b):
        return torch.cat([b, a], 1) if self.flip else torch.cat([a, b], 1)

    def _st(self, a):
        s, t = self.net(a).chunk(2, dim=1)
        return self.scale * torch.tanh(s), t  # bounded log-scale: no exp blow-ups

    def encode(self, x):
        a, b = self._split(x)
        s, t = self._st(a)
        return self._join(a, b * torch.exp(s) + t), s.sum(1)

    def decode(self, y):
        a, b = self._split(y)
        s, t = self._st(a)
        return self._join(a, (b - t) * torch.exp(-s)), -s.sum(1)


class Flow2D(nn.Module):
    """A stack of affine couplings with alternating halves; standard normal base."""

    def __init__(self, layers: int = 8, hidden: int = 64):
        super().__init__()
        self.layers = nn.ModuleList(AffineCoupling2D(i % 2 == 1, hidden) for i in range(layers))

    def encode(self, x):
        logdet = torch.zeros(x.shape[0], dtype=x.dtype)
        for layer in self.layers:
            x, ld = layer.encode(x)
            logdet = logdet + ld
        return x, logdet

    def decode(self, z):
        for layer in reversed(self.layers):
            z, _ = layer.decode(z)
        return z

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) in nats, shape (N,)."""
        if x.dim() != 2 or x.shape[1] != 2:
            raise Toy2DError(f"Flow2D takes points of shape (N, 2), got {tuple(x.shape)}.")
        z, logdet = self.encode(x)
        return -0.5 * (z ** 2).sum(1) - math.log(2 * math.pi) + logdet

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.decode(torch.randn(n, 2, generator=generator))


# ---------------------------------------------------------------- training
@dataclass
class Toy2DConfig:
    dataset: str = "8 gaussians"
    loss: str = "nll"
    steps: int = 1500
    batch: int = 256
    lr: float = 2e-3
    d_lr: float = 2e-3
    layers: int = 8
    hidden: int = 64
    seed: int = 0
    snapshots: int = 12
    grid: int = 80
    extent: float = 4.0
    hybrid_lambda: float | None = None


@dataclass
class Toy2DRun:
    config: Toy2DConfig
    steps: list[int] = field(default_factory=list)
    densities: list[np.ndarray] = field(default_factory=list)  # (grid, grid) p(x)
    samples: list[np.ndarray] = field(default_factory=list)    # (n, 2)
    nll: list[float] = field(default_factory=list)             # on fresh data, nats
    coverage: list[float | None] = field(default_factory=list)
    seconds: float = 0.0


def density_grid(flow: Flow2D, grid: int, extent: float) -> np.ndarray:
    xs = torch.linspace(-extent, extent, grid)
    xx, yy = torch.meshgrid(xs, xs, indexing="xy")
    with torch.no_grad():
        lp = flow.log_prob(torch.stack([xx.reshape(-1), yy.reshape(-1)], 1))
    return lp.exp().reshape(grid, grid).numpy()


def train_toy(config: Toy2DConfig, progress: bool = False) -> Toy2DRun:
    """Train a :class:`Flow2D` by ``config.loss`` (nll | nsgan | minimax | hybrid), with snapshots."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # ops on (256, 64) tensors: threading costs more than it gains
    try:
        return _train_toy(config, progress)
    finally:
        torch.set_num_threads(threads)


def _train_toy(config: Toy2DConfig, progress: bool) -> Toy2DRun:
    import time

    spec = LossSpec(config.loss, config.hybrid_lambda)
    torch.manual_seed(config.seed)
    g = torch.Generator().manual_seed(config.seed)
    flow = Flow2D(config.layers, config.hidden)
    opt = torch.optim.Adam(flow.parameters(), lr=config.lr, fused=True,
                           betas=(0.5, 0.999) if spec.adversarial else (0.9, 0.999))
    disc = d_opt = None
    if spec.adversarial:
        disc = MLPDiscriminator(2, 64, 3)
        d_opt = torch.optim.Adam(disc.parameters(), lr=config.d_lr, betas=(0.5, 0.999), fused=True)
    eval_x = sample_toy(config.dataset, 4000, torch.Generator().manual_seed(10_000 + config.seed))
    eval_z = torch.randn(1500, 2, generator=torch.Generator().manual_seed(20_000 + config.seed))
    snap_at = set(np.unique(np.linspace(0, config.steps, config.snapshots).astype(int)).tolist())
    run = Toy2DRun(config)
    start = time.perf_counter()
    steps = range(config.steps + 1)
    if progress:
        from tqdm.auto import tqdm
        steps = tqdm(steps, desc=f"{config.dataset} / {config.loss}", leave=False)
    for step in steps:
        if step in snap_at:
            with torch.no_grad():
                run.steps.append(step)
                run.densities.append(density_grid(flow, config.grid, config.extent))
                pts = flow.decode(eval_z)
                run.samples.append(pts.numpy())
                run.nll.append(float(-flow.log_prob(eval_x).mean()))
                run.coverage.append(mode_coverage(config.dataset, pts))
        if step == config.steps:
            break
        x = sample_toy(config.dataset, config.batch, g)
        if spec.adversarial:
            try:
                adversarial_step(flow, disc, opt, d_opt, x, spec, clip=10.0,
                                 fake_fn=lambda n: flow.sample(n, g),
                                 nll_fn=lambda: -flow.log_prob(x).mean())
            except FloatingPointError as err:
                raise FloatingPointError(f"{config.loss} training of the 2-D flow diverged at "
                                         f"step {step}: {err}") from None
            continue
        opt.zero_grad()
        loss = -flow.log_prob(x).mean()
        if not torch.isfinite(loss):
            raise FloatingPointError(f"NLL training of the 2-D flow diverged at step {step}")
        loss.backward()
        nn.utils.clip_grad_norm_(flow.parameters(), 10.0)
        opt.step()
    run.seconds = time.perf_counter() - start
    return run


def plot_snapshot(run: Toy2DRun, i: int, data: np.ndarray | None = None):
    """A figure of snapshot ``i``: model density (left), model samples over data (right)."""
    import matplotlib.pyplot as plt

    c = run.config
    fig, axes = plt.subplots(1, 2, figsize=(6.4, 3.1))
    ext = [-c.extent, c.extent, -c.extent, c.extent]
    axes[0].imshow(run.densities[i], origin="lower", extent=ext, cmap="magma",
                   interpolation="bilinear")
    axes[0].set_title("model density", fontsize=9)
    if data is not None:
        axes[1].scatter(data[:, 0], data[:, 1], s=2, c="0.75", label="data")
    pts = run.samples[i]
    axes[1].scatter(pts[:, 0], pts[:, 1], s=2, c="C3", label="model")
    axes[1].set_xlim(-c.extent, c.extent)
    axes[1].set_ylim(-c.extent, c.extent)
    axes[1].set_aspect("equal")
    cov = run.coverage[i]
    extra = f", modes covered {cov:.0%}" if cov is not None else ""
    axes[1].set_title(f"samples (NLL {run.nll[i]:.2f} nats{extra})", fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{c.dataset}, {c.loss.upper()}, step {run.steps[i]}", fontsize=10)
    fig.tight_layout()
    return fig

"""Training the 2-D flow (:mod:`flowlib.models.flow2d`) on a toy density
(:mod:`flowlib.data.toy2d`) by NLL or NSGAN, in seconds: the chapter *Flows in 2D*."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from flowlib.data.toy2d import mode_coverage, sample_toy
from flowlib.models.discriminators import MLPDiscriminator
from flowlib.models.flow2d import Flow2D
from flowlib.training.gan import LossSpec, adversarial_step


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

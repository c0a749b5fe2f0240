"""What the chapter "Real NVP on MNIST" computes and draws (cells only narrate and plot).

``canonical_or_train(preset, rerun)`` returns the run to show: the canonical run shipped in
``results/realnvp-nll-quick`` unless asked to retrain or absent, else a fresh run at ``preset``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .paths import REPO_ROOT, RESULTS
from .realnvp import LOG2, RealNVP, RealNVPConfig, bits_per_dim

CANONICAL = RESULTS / "realnvp-nll-quick"


@dataclass
class Run:
    model: RealNVP
    directory: Path
    metrics: list
    manifest: dict | None
    canonical: bool

    @property
    def test_bpd(self) -> float | None:
        return (self.manifest or {}).get("results", {}).get("test_bpd")


def canonical_or_train(preset: str = "quick", rerun: bool = False, seed: int = 0,
                       out: Path | None = None) -> Run:
    from . import train as T
    from .manifest import read_manifest
    from .presets import check_preset

    check_preset(preset)
    if not rerun and (CANONICAL / "manifest.json").exists() and (CANONICAL / T.MODEL).exists():
        return Run(RealNVP.load(CANONICAL / T.MODEL), CANONICAL, T.read_metrics(CANONICAL),
                   read_manifest(CANONICAL), True)
    out = Path(out or REPO_ROOT / "runs" / f"realnvp-nll-{preset}-book")
    if out.exists():
        import shutil
        shutil.rmtree(out)
    cfg = T.preset_config(preset)
    T.train(cfg, out, seed=seed, preset=preset, progress=True)
    T.publish_run(out, out / "published", preset=preset, seed=seed)
    pub = out / "published"
    return Run(RealNVP.load(pub / T.MODEL), pub, T.read_metrics(pub), read_manifest(pub), False)


# ------------------------------------------------------------------ figures
def dequantisation_figure(alpha: float = 0.05):
    """Left: uint8 bins spread to (k + u)/256; right: the logit map y -> logit(a + (1-2a) y)."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 2, figsize=(9, 3))
    rng = np.random.default_rng(0)
    for k, c in ((0, "C0"), (1, "C1"), (2, "C2")):
        y = (k + rng.random(400)) / 256
        ax[0].hist(y, bins=30, range=(0, 3 / 256), color=c, alpha=0.7, label=f"pixel {k}")
    ax[0].set_xlabel("continuous value y = (k + u) / 256")
    ax[0].set_title("dequantisation: each integer owns a bin")
    ax[0].legend(fontsize=8)
    y = np.linspace(0, 1, 400)
    s = alpha + (1 - 2 * alpha) * y
    ax[1].plot(y, np.log(s) - np.log1p(-s), label=f"alpha = {alpha}")
    s0 = np.clip(y, 1e-4, 1 - 1e-4)
    ax[1].plot(y, np.log(s0) - np.log1p(-s0), "--", color="grey", label="alpha = 0")
    ax[1].set_xlabel("y")
    ax[1].set_ylabel("logit(alpha + (1 - 2 alpha) y)")
    ax[1].set_title("logit: [0, 1] to the real line")
    ax[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def architecture_figure(config: RealNVPConfig):
    """Boxes for every step of the multi-scale architecture, data (left) to latent (right)."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    c, h, w = config.image_shape
    items = [("dequantise\n+ logit", f"{c}x{h}x{w}", "#dddddd")]
    for k in range(config.scales - 1):
        items.append((f"{config.checkerboard} x checker-\nboard coupling", f"{c}x{h}x{w}", "#9ecae1"))
        items.append(("squeeze", f"{4 * c}x{h // 2}x{w // 2}", "#eeeeee"))
        items.append((f"{config.channelwise} x channel\ncoupling", f"{4 * c}x{h // 2}x{w // 2}",
                       "#a1d99b"))
        items.append(("factor out\nhalf" + ("\n(learned prior)" if config.split_prior else ""),
                      f"z{k}: {2 * c}x{h // 2}x{w // 2}", "#fdae6b"))
        c, h, w = 2 * c, h // 2, w // 2
    items.append((f"{config.last} x checker-\nboard coupling", f"{c}x{h}x{w}", "#9ecae1"))
    items.append(("latent", f"z{config.scales - 1}: {c}x{h}x{w}", "#fdae6b"))
    fig, ax = plt.subplots(figsize=(1.45 * len(items), 2.4))
    for i, (label, shape, color) in enumerate(items):
        ax.add_patch(FancyBboxPatch((i * 1.4, 0), 1.15, 1, boxstyle="round,pad=0.04",
                                    fc=color, ec="black", lw=0.8))
        ax.text(i * 1.4 + 0.575, 0.55, label, ha="center", va="center", fontsize=7.5)
        ax.text(i * 1.4 + 0.575, -0.25, shape, ha="center", va="center", fontsize=7)
        if i:
            ax.annotate("", (i * 1.4 - 0.02, 0.5), (i * 1.4 - 0.23, 0.5),
                        arrowprops=dict(arrowstyle="->", lw=0.8))
    ax.set_xlim(-0.2, len(items) * 1.4)
    ax.set_ylim(-0.5, 1.2)
    ax.axis("off")
    widths = config.widths()
    ax.set_title(f"Real NVP '{config.name}': encode (data -> latent) left to right; "
                 f"ResNet widths {widths}, {config.blocks} residual block(s), "
                 f"{'ActNorm after each coupling' if config.actnorm else 'no ActNorm'}",
                 fontsize=9)
    return fig


def training_curve_figure(metrics: list, title: str = ""):
    import matplotlib.pyplot as plt
    tr = [r for r in metrics if "train_bpd" in r]
    va = [r for r in metrics if "val_bpd" in r]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot([r["train_seconds"] / 60 for r in tr], [r["train_bpd"] for r in tr], lw=0.6,
            alpha=0.6, label="training batch")
    ax.plot([r["train_seconds"] / 60 for r in va], [r["val_bpd"] for r in va], "o-",
            label="validation (EMA weights)")
    ax.set_xlabel("training minutes")
    ax.set_ylabel("bits / dim")
    lo = min([r["val_bpd"] for r in va] or [1.0])
    ax.set_ylim(lo - 0.1, lo + 1.5)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(title)
    fig.tight_layout()
    return fig


def compute_frontier_figure(budget: dict):
    """Test bits/dim of the shipped NLL runs against the training FLOPs spent so far (log
    scale), with the 15-CPU-minute budget as a band: ``budget`` is
    ``results/realnvp-compute-budget/budget.json`` (``benchmarks/compute_budget.py``)."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(9.5, 4))
    runs: dict[str, list] = {}
    for p in budget["frontier"]:
        runs.setdefault(p["run"], []).append(p)
    for run, pts in runs.items():
        pts = sorted(pts, key=lambda p: p["tflop"])
        ax.plot([p["tflop"] for p in pts], [p["test_bpd"] for p in pts], "o-",
                label=f"{run}, {pts[0]['device']}")
    ax.axvspan(0, budget["budget_tflop"], color="0.85", zorder=0,
               label=f"15 CPU-minutes ({budget['budget_tflop']:.0f} TFLOP)")
    ax.axhline(1.40, ls="--", color="k", lw=0.8, label="1.40: the quick target")
    ax.set_xscale("log")
    ax.set_xlim(2, None)
    ax.set_ylim(1.35, 2.4)
    ax.set_xlabel("training compute so far (TFLOP, forward + backward)")
    ax.set_ylabel("test bits / dim")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


def grid(images, nrow=8) -> np.ndarray:
    from .widgets import image_grid
    return image_grid(images.clamp(0, 1), nrow=nrow)


def temperature_frames(model: RealNVP, temperatures, n: int = 48, seed: int = 0):
    """One grid per temperature, all from the same latent noise (so digits morph smoothly)."""
    z = torch.randn(n, model.dim, generator=torch.Generator().manual_seed(seed))
    frames = []
    with torch.no_grad():
        for t in temperatures:
            frames.append(grid(model.decode(z * t), nrow=12))
    return frames


@torch.no_grad()
def interpolate(model: RealNVP, a: torch.Tensor, b: torch.Tensor, steps: int = 9):
    """Images along the straight line between the latents of images ``a`` and ``b`` (uint8)."""
    za, zb = model.encode(a[None]), model.encode(b[None])
    ts = torch.linspace(0, 1, steps)[:, None]
    return model.decode((1 - ts) * za + ts * zb)


@torch.no_grad()
def per_image_bpd(model: RealNVP, images, seed: int = 0, batch_size: int = 500) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    model.eval()
    out = [model.log_prob(images[i:i + batch_size], generator=gen)
           for i in range(0, len(images), batch_size)]
    return -torch.cat(out) / (model.dim * LOG2)


__all__ = ["Run", "canonical_or_train", "dequantisation_figure", "architecture_figure",
           "training_curve_figure", "grid", "temperature_frames", "interpolate",
           "per_image_bpd", "bits_per_dim", "CANONICAL"]

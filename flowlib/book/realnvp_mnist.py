"""What the chapter "Real NVP on MNIST" computes and draws (cells only narrate and plot).

``canonical_or_train(preset, rerun)`` returns the run to show: the canonical run the registry
finds (:func:`flowlib.studies.registry.canonical_run`) unless asked to retrain or absent, else a
fresh run at ``preset``.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from flowlib import training as T
from flowlib.book.widgets import image_grid
from flowlib.core.manifest import read_manifest
from flowlib.core.paths import results_root, shown
from flowlib.data.mnist import load_mnist
from flowlib.models.realnvp import RealNVP, RealNVPConfig, per_image_bits_per_dim
from flowlib.studies.registry import canonical_run


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


def canonical_or_train(preset: str = "quick", rerun: bool = False, seed: int = 0) -> Run:
    """The run the chapter shows, as the registry finds it
    (:func:`flowlib.studies.registry.canonical_run`: the shipped canonical run, or one trained
    now at ``preset``), with its model loaded."""
    folder, canonical = canonical_run(preset, rerun, seed)
    return Run(RealNVP.load(folder / T.MODEL), folder, T.read_metrics(folder),
               read_manifest(folder), canonical)


# ------------------------------------------------------------------ figures
def dequantisation_figure(alpha: float = 0.05):
    """Left: uint8 bins spread to (k + u)/256; right: the logit map y -> logit(a + (1-2a) y)."""
    fig, ax = plt.subplots(1, 2, figsize=(7.2, 3))
    rng = np.random.default_rng(0)
    for k, c in ((0, "C0"), (1, "C1"), (2, "C2")):
        y = (k + rng.random(400)) / 256
        ax[0].hist(y, bins=30, range=(0, 3 / 256), color=c, alpha=0.7, label=f"pixel {k}")
    ax[0].set_xlabel("continuous value y = (k + u) / 256")
    ax[0].set_title("dequantisation: each integer owns a bin")
    ax[0].legend(fontsize=9)
    y = np.linspace(0, 1, 400)
    s = alpha + (1 - 2 * alpha) * y
    ax[1].plot(y, np.log(s) - np.log1p(-s), label=f"alpha = {alpha}")
    s0 = np.clip(y, 1e-4, 1 - 1e-4)
    ax[1].plot(y, np.log(s0) - np.log1p(-s0), "--", color="grey", label="alpha = 0")
    ax[1].set_xlabel("y")
    ax[1].set_ylabel("logit(alpha + (1 - 2 alpha) y)")
    ax[1].set_title("logit: [0, 1] to the real line")
    ax[1].legend(fontsize=9)
    fig.tight_layout()
    return fig


def architecture_figure(config: RealNVPConfig):
    """Boxes for every step of the multi-scale architecture, data (left) to latent (right)."""
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
    # Rows of PER_ROW boxes, read like text: one row of eleven boxes shrank to 5-px labels.
    per_row = 4
    rows = -(-len(items) // per_row)
    fig, ax = plt.subplots(figsize=(7.2, 1.75 * rows + 0.5))
    for i, (label, shape, color) in enumerate(items):
        x, y = (i % per_row) * 1.5, -(i // per_row) * 1.9
        ax.add_patch(FancyBboxPatch((x, y), 1.2, 1, boxstyle="round,pad=0.04",
                                    fc=color, ec="black", lw=0.8))
        ax.text(x + 0.6, y + 0.55, label, ha="center", va="center", fontsize=9.5)
        ax.text(x + 0.6, y - 0.3, shape, ha="center", va="center", fontsize=9.5)
        if i:  # an arrow from the box on the left (a row's first box: from the row above)
            ax.annotate("", (x - 0.02, y + 0.5), (x - 0.28, y + 0.5),
                        arrowprops=dict(arrowstyle="->", lw=0.8))
    ax.set_xlim(-0.35, per_row * 1.5)
    ax.set_ylim(-(rows - 1) * 1.9 - 0.6, 1.2)
    ax.axis("off")
    widths = config.widths()
    ax.set_title(f"Real NVP '{config.name}': encode (data -> latent), read row by row\n"
                 f"ResNet widths {widths}, {config.blocks} residual block(s), "
                 f"{'ActNorm after each coupling' if config.actnorm else 'no ActNorm'}",
                 fontsize=10)
    return fig


def training_curve_figure(metrics: list, title: str = ""):
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


TARGET_BPD = 1.40   # the quick preset's target: 15 CPU-minutes on 2 cores


def margin_cost_bpd(alpha: float) -> float:
    """Bits/dim every image pays for the logit's margin: ``-log2(1 - 2 alpha)``."""
    return -math.log2(1 - 2 * alpha)


def margin_note(alpha: float) -> str:
    """The margin's price at the shown run's ``alpha`` and at the paper's 0.05, and what the
    quick-setting search measured for the change (``results/realnvp-quick-search``), if shipped."""
    text = (f"With this run's $\\alpha = {alpha:g}$ the margin costs {margin_cost_bpd(alpha):.3f} "
            f"bits/dim; with the paper's 0.05 it would cost {margin_cost_bpd(0.05):.3f}.")
    path = results_root("realnvp-quick-search", "round2.jsonl")
    if path.exists():
        rows = {r["name"]: r for r in map(json.loads, path.read_text().splitlines())}
        base, low = rows.get("baseline"), rows.get("alpha-0.01")
        if base and low:
            gain = base["test_bpd"]["15"] - low["test_bpd"]["15"]
            text += (f" In the search for this chapter's quick setting, lowering $\\alpha$ from 0.05 "
                     f"to 0.01 and nothing else gained {gain:.3f} bits/dim at 15 minutes "
                     f"({base['test_bpd']['15']:.3f} to {low['test_bpd']['15']:.3f}), "
                     f"of which the constant accounts for {margin_cost_bpd(0.05) - margin_cost_bpd(0.01):.3f}; "
                     "the rest came from training (one run each, so read it as a hint, not a "
                     "measurement). The test bits/dim stay an honest bound on the "
                     "integer pixels either way; the search and its rules are in the benchmark's "
                     "methods (`benchmarks/realnvp_search.py`).")
    return text


def run_frontier(run: Run, budget: dict) -> list[dict]:
    """The shown run's test bits/dim snapshots as frontier points (as ``budget["frontier"]``'s):
    images seen by each snapshot's training minute (from its metrics) times its size's training
    FLOPs per image (the logit's alpha changes no FLOP count)."""
    curve = run.manifest["results"].get("test_bpd_curve") or {}
    size = run.model.config.name
    if size not in budget["sizes"] or not curve:
        return []
    batch = run.manifest["config"]["train"]["batch_size"]
    timed = [r for r in run.metrics if "train_seconds" in r and "img_per_s" in r]
    points = []
    for minute, bpd in curve.items():
        seen = [r for r in timed if r["train_seconds"] <= float(minute) * 60]
        if seen:
            images = seen[-1]["step"] * batch
            points.append({"run": f"this chapter's run ({size})", "size": size, "device": "CPU",
                           "minutes": float(minute), "images": images, "test_bpd": bpd,
                           "tflop": images * budget["sizes"][size]["train_gflop_per_image"] / 1e3})
    return points


def target_note(points: list[dict]) -> str:
    """Which CPU runs reach :data:`TARGET_BPD` within 15 training minutes (a sentence)."""
    within = {}
    for p in points:
        if p["device"] == "CPU" and p["minutes"] <= 15 and p["test_bpd"] <= TARGET_BPD:
            within[p["run"]] = min(within.get(p["run"], 9.0), p["test_bpd"])
    if not within:
        return (f"No run shown reaches the dashed line ({TARGET_BPD:.2f} bits/dim) within the "
                "budget.")
    return (f"Within the budget, the dashed line ({TARGET_BPD:.2f} bits/dim) is reached by "
            + ", ".join(f"{run}: {bpd:.3f}" for run, bpd in sorted(within.items(), key=lambda kv: kv[1]))
            + ".")


def compute_frontier_figure(budget: dict, extra: list[dict] = ()):
    """Test bits/dim of the shipped NLL runs against the training FLOPs spent so far (log
    scale), with the 15-CPU-minute budget as a band: ``budget`` is
    ``results/realnvp-compute-budget/budget.json`` (``benchmarks/compute_budget.py``);
    ``extra``: more points in its format (the chapter's own run)."""
    fig, ax = plt.subplots(figsize=(7.2, 4.2))
    runs: dict[str, list] = {}
    for p in [*budget["frontier"], *extra]:
        runs.setdefault(p["run"], []).append(p)
    for run, pts in runs.items():
        pts = sorted(pts, key=lambda p: p["tflop"])
        ax.plot([p["tflop"] for p in pts], [p["test_bpd"] for p in pts], "o-",
                label=f"{run}, {pts[0]['device']}")
    ax.axvspan(0, budget["budget_tflop"], color="0.85", zorder=0,
               label=f"15 CPU-minutes ({budget['budget_tflop']:.0f} TFLOP)")
    ax.axhline(TARGET_BPD, ls="--", color="k", lw=0.8, label=f"{TARGET_BPD:.2f}: the quick target")
    ax.set_xscale("log")
    ax.set_xlim(2, None)
    ax.set_ylim(min(1.35, min(p["test_bpd"] for pts in runs.values() for p in pts) - 0.03), 2.4)
    ax.set_xlabel("training compute so far (TFLOP, forward + backward)")
    ax.set_ylabel("test bits / dim")
    ax.grid(alpha=0.3, which="both")
    # under the axes, not over the data: nine entries would hide the GPU run's curve
    ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    fig.tight_layout()
    return fig


def grid(images, nrow=8) -> np.ndarray:
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
    """Images along the straight line between the latents of images ``a`` and ``b`` (uint8,
    placed at the centres of their pixel bins)."""
    za, zb = (model.encode((x[None].float() + 0.5) / 256)[0] for x in (a, b))
    ts = torch.linspace(0, 1, steps)[:, None]
    return model.decode((1 - ts) * za + ts * zb)


# ------------------------------------------------------------------ the chapter's text and panels
def run_summary(run: Run, preset: str) -> str:
    m, res = run.manifest, run.manifest["results"]
    ran = (m.get("config") or {}).get("preset", preset)
    where = (f"canonical run in `{shown(run.directory)}`" if run.canonical
             else f"fresh `{ran}` run in `{shown(run.directory)}`"
             + (" (**no canonical run is shipped here**, so a smoke-size run was trained now: it "
                "exercises the code, its numbers mean nothing)" if ran == "smoke" else ""))
    return (f"Showing the {where}: size **{run.model.config.name}**, "
            f"{run.model.num_parameters():,} parameters, {res['steps']:,} steps in "
            f"{res['train_minutes']:.1f} training minutes.\n\n"
            f'<p class="flowlib-provenance"><b>Provenance.</b> code {str(m["commit"])[:7]}'
            f'{"+" if m["dirty"] else ""} · {m["device"]} · torch {m["torch"]} · '
            f'{str(m.get("finished_utc", "?"))[:10]}.</p>')


def test_bpd_summary(run: Run) -> str:
    res = run.manifest["results"]
    curve = res.get("test_bpd_curve", {})
    return (f"Test bits/dim ({res.get('test_images', 10000):,} test images) of the final weights: "
            f"**{res['test_bpd']:.3f}**"
            + (" ; along the way: " + ", ".join(f"{m} min: {v:.3f}" for m, v in curve.items())
               if curve else "") + ".")


def full_gpu_summary() -> str:
    """What the ``full`` preset reached on a lent GPU, from ``results/realnvp-full-gpu``."""
    full = results_root("realnvp-full-gpu", "benchmark.json")
    if not full.exists():
        return "No `full`-preset GPU run is shipped (`results/realnvp-full-gpu/`)."
    fb = json.loads(full.read_text())
    return (f"`{fb['size']}` ({fb['parameters']:,} parameters), batch {fb['batch']}, on "
            f"{fb['device']}: {fb['steps']:,} steps ({fb['epochs']:.1f} epochs) in "
            f"{fb['minutes']:g} training minutes, {fb['train_img_per_s_median']:.0f} images/s. Test "
            "bits/dim along the way: " + ", ".join(f"{m} min: {v:.3f}" for m, v in fb["test_bpd"].items())
            + ". How it was made: `results/realnvp-full-gpu/source.json`.")


def compute_budget_section(run: Run | None = None):
    """The compute frontier figure (None when the benchmark is not shipped), with the shown
    ``run``'s own snapshots, and its table."""
    path = results_root("realnvp-compute-budget", "budget.json")
    if not path.exists():
        return None, "No compute-budget benchmark is shipped (`results/realnvp-compute-budget/`)."
    budget = json.loads(path.read_text())
    own = run_frontier(run, budget) if run is not None else []
    fig = compute_frontier_figure(budget, own)
    rates = ", ".join(f"`{k}` {v['train_gflop_per_image']:.3f} GFLOP/image at "
                      f"{v['gflop_per_s']:.0f} GFLOP/s" for k, v in budget["sizes"].items())
    ends = {}
    for p in [*budget["frontier"], *own]:
        if p["device"] == "CPU" and p["minutes"] >= ends.get(p["run"], {}).get("minutes", 0):
            ends[p["run"]] = p
    n_train = len(load_mnist("train").images)
    rows = "\n".join(f"| {run} | {p['images'] / n_train:.1f} | {p['tflop']:.0f} | "
                     f"{p['test_bpd']:.3f} |" for run, p in sorted(ends.items(),
                                                                 key=lambda kv: kv[1]["test_bpd"]))
    return fig, (target_note([*budget["frontier"], *own]) + "\n\n"
                 f"Training cost and rate on the benchmark CPU: {rates}; its float32 matrix "
                 f"multiply runs at {budget['matmul_gflop_per_s']:.0f} GFLOP/s, so 15 minutes hold "
                 f"about {budget['budget_tflop']:.0f} TFLOP.\n\n"
                 "| run (15 CPU-minutes) | epochs | TFLOP | test bits/dim |\n|---|---|---|---|\n" + rows)


def interpolation_figure(model: RealNVP, images, pairs=((0, 1), (2, 3), (4, 7))):
    rows = [interpolate(model, images[a], images[b], steps=9) for a, b in pairs]
    fig, ax = plt.subplots(figsize=(7.2, 2.9))
    ax.imshow(grid(torch.cat(rows), nrow=9), cmap="gray")
    ax.axis("off")
    ax.set_title("latent interpolation between pairs of test digits\n(the ends are the "
                 "reconstructed digits)", fontsize=10)
    return fig


def likelihood_extremes(model: RealNVP, images):
    """The 16 most and least likely of ``images`` (uint8) under ``model``, and a sentence."""
    bpd = per_image_bits_per_dim(model, images)
    order = torch.argsort(bpd)
    fig, ax = plt.subplots(1, 2, figsize=(7.2, 2.4))
    for a, idx, name in ((ax[0], order[:16], "most likely"), (ax[1], order.flip(0)[:16], "least likely")):
        a.imshow(grid(images[idx].float() / 255, nrow=8), cmap="gray")
        a.set_title(f"{name}: {float(bpd[idx].min()):.2f} to {float(bpd[idx].max()):.2f} bits/dim",
                    fontsize=10)
        a.axis("off")
    return fig, (f"Over the first {len(images)} test digits the bits/dim range from "
                 f"{float(bpd.min()):.2f} to {float(bpd.max()):.2f} (median {float(bpd.median()):.2f}).")


# ------------------------------------------------------------------ the lesson's numbers
def findings_box(run: Run, preset: str):
    """The chapter's "What this chapter finds" box: the shown run's test bits/dim, the
    ``full`` preset's on a GPU, and the literature's, which are citations, not runs."""
    from flowlib.book.lesson import findings_box as box
    res = run.manifest["results"]
    how = ("trained by maximum likelihood" if run.canonical
           else f"trained just now at the `{preset}` preset")
    points = [
        f"The book's `{run.model.config.name}` Real NVP ({run.model.num_parameters():,} "
        f"parameters), {how} for {res['train_minutes']:.3g} minutes "
        f"({run.manifest.get('device', 'CPU')}), reaches **{res['test_bpd']:.3f} bits/dim** on the "
        f"{res.get('test_images', 10000):,} MNIST test digits; a model that knows nothing "
        "scores 8."]
    full = results_root("realnvp-full-gpu", "benchmark.json")
    if full.exists():
        fb = json.loads(full.read_text())
        last = list(fb["test_bpd"].items())[-1]
        points.append(f"The `{fb['size']}` Real NVP ({fb['parameters']:,} parameters), the `full` "
                      f"preset, reached **{last[1]:.3f}** after {last[0]} minutes on a lent GPU "
                      f"({fb['device']}).")
    points += [
        "The literature's Real NVP and Glow reach 1.06 and 1.05 bits/dim on MNIST (as quoted by "
        "{ref}`Grathwohl et al., 2019 <ref-grathwohl2019>`) and the UvA tutorial's multi-scale "
        "flow 1.02 ({ref}`Lippe <ref-lippe-uva11>`), after hours on a GPU. The book's models are "
        "far from converged, so its experiments compare them with each other at equal compute, "
        "never with those numbers.",
        "The likelihood is exact, not estimated: the Gaussian log-density of the image's latent "
        "plus the log-determinant of every step, each computed in the step itself (shown below).",
    ]
    return box(points)

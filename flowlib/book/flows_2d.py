"""Companion of the chapter *Flows in 2D* (``book/flows_2d.py``): train every toy flow, and
the chapter's slider, figure, table and recompute panel."""
from __future__ import annotations

import time

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np
import torch

from flowlib.book import widgets
from flowlib.data.toy2d import DATASETS, sample_toy
from flowlib.training.toy2d import Toy2DConfig, Toy2DRun, train_toy

LOSSES = ("nll", "nsgan")


def train_all(steps: int, snapshots: int, seed: int) -> dict:
    """One flow per (data set, loss), from the same initialisation per seed."""
    runs, t0 = {}, time.perf_counter()
    for dataset in DATASETS:
        for loss in LOSSES:
            runs[dataset, loss] = train_toy(Toy2DConfig(dataset=dataset, loss=loss, steps=steps,
                                                        snapshots=snapshots, seed=seed))
    print(f"{len(runs)} flows trained, {steps} steps each, in {time.perf_counter() - t0:.0f} s")
    return runs


def reference_points(n: int = 2000) -> dict:
    """The same 2 000 points of each data set, drawn behind every picture."""
    return {d: sample_toy(d, n, torch.Generator().manual_seed(1)).numpy() for d in DATASETS}


def plot_snapshot(run: Toy2DRun, i: int, data: np.ndarray | None = None):
    """A figure of snapshot ``i``: model density (left), model samples over data (right)."""

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


def training_browser(runs: dict, data_pts: dict):
    """Data set x loss x training step: samples over the data, precomputed frames."""
    choices = {}
    for dataset in DATASETS:
        per_loss = {}
        for loss in LOSSES:
            run = runs[dataset, loss]
            frames = [plot_snapshot(run, i, data_pts[dataset]) for i in range(len(run.steps))]
            per_loss[loss.upper()] = widgets.frame_slider(
                frames, [f"step {s}" for s in run.steps], description="training step")
        choices[dataset] = widgets.frame_choice(per_loss, description="loss", dropdown=False)
    return widgets.frame_choice(choices, description="data set")


def final_figure(runs: dict, data_pts: dict):
    """The last samples of every run over its data (a grid of panels), and a table of final
    and best NLL, modes covered (8 Gaussians) and training time, printed."""
    fig, axes = plt.subplots(len(LOSSES), len(DATASETS), figsize=(7.2, 5))
    print(f"{'data set':<12} {'loss':<6} {'final NLL':>10} {'best NLL':>9} {'modes':>6} {'time':>6}")
    for j, dataset in enumerate(DATASETS):
        for i, loss in enumerate(LOSSES):
            run, ax = runs[dataset, loss], axes[i, j]
            ax.scatter(*data_pts[dataset].T, s=1, c="0.75")
            ax.scatter(*run.samples[-1].T, s=1, c="C3")
            ax.set(xlim=(-4, 4), ylim=(-4, 4), xticks=[], yticks=[])
            ax.set_title(f"{dataset}, {loss.upper()}", fontsize=10)
            cov = run.coverage[-1]
            print(f"{dataset:<12} {loss.upper():<6} {run.nll[-1]:10.3f} {min(run.nll):9.3f} "
                  f"{'' if cov is None else f'{cov:.0%}':>6} {run.seconds:5.1f}s")
    fig.tight_layout()
    return fig


def recompute_panel(runs: dict, data_pts: dict, steps: int, seed: int):
    """The precomputed NSGAN run on 8 Gaussians, and (with a kernel) a panel to retrain with
    another data set, loss or learning rate."""
    controls = {
        "dataset": W.Dropdown(options=list(DATASETS), value="8 gaussians", description="data"),
        "loss": W.Dropdown(options=["nll", "nsgan", "minimax"], value="nsgan", description="loss"),
        "lr": W.FloatLogSlider(value=2e-3, base=10, min=-4, max=-2, description="lr"),
    }

    def retrain(dataset, loss, lr):
        run = train_toy(Toy2DConfig(dataset=dataset, loss=loss, lr=lr, d_lr=lr, steps=steps,
                                    snapshots=2, seed=seed), progress=True)
        return plot_snapshot(run, -1, data_pts[dataset])

    first = plot_snapshot(runs["8 gaussians", "nsgan"], -1, data_pts["8 gaussians"])
    return widgets.frame_slider([first], ["NSGAN, 8 gaussians, as precomputed"], description="",
                                caption="The precomputed result; use Recompute for your settings.",
                                recompute=retrain, recompute_controls=controls)


# ------------------------------------------------------------------ the lesson's numbers
def _nats(v: float) -> str:
    """A final NLL as the page prints it: two decimals, or whole nats once it is large."""
    return f"{v:.2f}" if abs(v) < 100 else f"{v:,.0f}"


def findings_box(runs: dict, steps: int, preset: str):
    """The chapter's "What this chapter finds" box, from the runs this page just trained."""
    from flowlib.book.lesson import findings_box as box
    final = {k: r.nll[-1] for k, r in runs.items()}
    nll = ", ".join(f"{_nats(final[d, 'nll'])} ({d})" for d in DATASETS)
    gan = ", ".join(f"{_nats(final[d, 'nsgan'])} ({d})" for d in DATASETS)
    n = len(DATASETS)
    falls = sum(runs[d, "nll"].nll[-1] < runs[d, "nll"].nll[0] for d in DATASETS)
    worse = sum(runs[d, "nsgan"].nll[-1] > runs[d, "nsgan"].nll[0] for d in DATASETS)
    at_start = sum(int(np.argmin(runs[d, "nsgan"].nll)) == 0 for d in DATASETS)
    higher = sum(final[d, "nsgan"] > final[d, "nll"] for d in DATASETS)
    cov = {loss: runs["8 gaussians", loss].coverage[-1] for loss in LOSSES}
    points = [
        f"Trained by **maximum likelihood**, the flow ends at an NLL of {nll} nats per fresh "
        f"data point (lower is better), below where it started in {falls} of {n} data sets.",
        f"Trained as the generator of a **non-saturating GAN**, the same flow ends at {gan}: "
        f"above the likelihood-trained flow in {higher} of {n}, and worse than the untrained "
        f"flow it started from in {worse} of {n}"
        + (f" (in {at_start} its best NLL on the way was that untrained start)" if at_start else "")
        + ". The GAN's loss never looks at the density; its samples are all it judges.",
        f"On the 8 Gaussians the likelihood-trained flow's samples cover {cov['nll']:.0%} of the "
        f"modes at the end, the GAN-trained flow's {cov['nsgan']:.0%}.",
    ]
    size = (f"This build: the `{preset}` preset, {steps:,} training steps per flow, seed 0"
            + (" (a smoke run only proves the code; its numbers mean little)." if preset == "smoke"
               else "."))
    return box(points, size)


def answer_widget(runs: dict) -> str:
    """The answer to the exercise on the training browser, read from the runs."""
    gan, mle = runs["8 gaussians", "nsgan"], runs["8 gaussians", "nll"]
    lowest = min(c for c in gan.coverage[1:])
    grew = gan.nll[-1] / gan.nll[0]
    return (f"With **NLL**, the NLL in the title falls from {_nats(mle.nll[0])} to "
            f"{_nats(mle.nll[-1])} nats and the modes are "
            f"{'all covered' if min(mle.coverage[1:]) == 1 else 'not all covered'} from the first "
            f"snapshot on. With **NSGAN**, the samples gather on the modes, but the NLL ends "
            f"{grew:,.0f} times its starting value and jumps from snapshot to snapshot; the share "
            f"of modes covered falls as low as {lowest:.0%} along the way. The samples (red) can "
            "look right while the density (left) says the model puts almost no mass where the "
            "data are: the GAN is judged by a discriminator that sees samples, never densities.")

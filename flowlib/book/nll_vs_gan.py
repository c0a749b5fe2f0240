"""Companion of the chapter *Experiment 1* (``book/nll_vs_gan.py``): its figures."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from flowlib.book.plots import COLUMN_IN, log_axis, panel_grid, plot_band, side_by_side_frames
from flowlib.studies.nll_vs_gan import LOSS_COLOR, LOSS_LABEL, LOSS_ORDER
from flowlib.studies.results import Run, value_at

# ------------------------------------------------------------------ figures
CURVES = (("val_bpd", "validation bits/dim (exact)", True),
          ("fid", "LeNet-FID (2 000 samples vs validation)", True),
          ("precision", "precision", False), ("recall", "recall", False),
          ("classes_covered", "classes covered (of 10)", False))


def curves_figure(runs: list[Run], keys=CURVES):
    """Each quantity over training steps: per loss, the mean over seeds and the min–max band."""

    n = ((runs[0].rows[0].get("train") or {}).get("quality_images") if runs and runs[0].rows else None)
    fig, axes = panel_grid(len(keys))
    for ax, (key, title, log) in zip(axes, keys):
        title = title.replace("2 000", f"{n:,}".replace(",", " ") if n else "?")
        for loss in LOSS_ORDER:
            plot_band(ax, [r for r in runs if r.loss == loss], key, color=LOSS_COLOR[loss],
                      label=LOSS_LABEL[loss])
        if log:
            log_axis(ax)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step")
    axes[0].legend(fontsize=9)
    fig.tight_layout()
    return fig


def grid_frames(runs: list[Run], seed: int):
    """Slider frames for one seed: at each checked step, the three losses' fixed-noise grids."""
    return side_by_side_frames([r for r in runs if r.seed == seed], lambda r: LOSS_LABEL[r.loss])


def control_section(root):
    """The positive control (``results/gan-control-quick``): its LeNet-FID over training, its
    final samples, and a sentence with its final figures; (None, text) when not shipped."""
    import json
    from pathlib import Path

    from PIL import Image

    from flowlib.training.metrics_file import read_metrics

    root = Path(root)
    runs = sorted(p.parent for p in root.glob("*/final.json"))
    if not runs:
        return None, f"No positive control is shipped (`{root.name}`)."
    fig, ax = plt.subplots(1, 2, figsize=(COLUMN_IN, 3.4))
    texts = []
    for run in runs:
        rows = [r for r in read_metrics(run) if "fid" in r and not r.get("event")]
        ax[0].plot([r["step"] for r in rows], [r["fid"] for r in rows], "o-", ms=3, label=run.name)
        fin = json.loads((run / "final.json").read_text())["lenet"]
        texts.append(f"{run.name}: LeNet-FID {fin['fid']:.1f} on {fin['n']:,} samples against MNIST "
                     f"test, {fin['classes_covered']}/10 classes, precision {fin['precision']:.3f}, "
                     f"recall {fin['recall']:.3f}")
    log_axis(ax[0])
    ax[0].set(xlabel="step", ylabel="LeNet-FID (2 000 samples vs validation)",
              title="the DCGAN control over training")
    ax[0].legend(fontsize=9)
    last = sorted((runs[0] / "grids").glob("step-*.png"))[-1]
    ax[1].imshow(np.asarray(Image.open(last)), cmap="gray")
    ax[1].set_title(f"{runs[0].name}, fixed noise, {last.stem.replace('-', ' ')}", fontsize=9)
    ax[1].axis("off")
    fig.tight_layout()
    return fig, "; ".join(texts) + "."


def search_figure(rows: list[dict]):
    """Every finished search configuration's validation LeNet-FID, one column per family
    (filled: generator alive at its end; open: collapsed or dead), on a log scale: the whole
    distribution, not only the winners."""
    families = list(dict.fromkeys(x["family"] for x in rows))
    fig, ax = plt.subplots(figsize=(COLUMN_IN, 3.4))
    rng = np.random.default_rng(0)  # horizontal jitter only, so points do not hide each other
    for i, fam in enumerate(families):
        for x in [x for x in rows if x["family"] == fam]:
            ax.plot(i + rng.uniform(-0.15, 0.15), x["fid"], "o", ms=7,
                    color=LOSS_COLOR.get(fam, "C4"), mfc=LOSS_COLOR.get(fam, "C4") if x["alive"] else "none")
    ax.set_xticks(range(len(families)), [f"{f}\n({sum(x['family'] == f for x in rows)} configs)"
                                         for f in families])
    log_axis(ax)
    ax.set_ylabel("validation LeNet-FID (2 000 samples)")
    ax.set_title("the search after 1 000 steps: filled = alive at its end, open = collapsed",
                 fontsize=10)
    fig.tight_layout()
    return fig


def hybrid_figure(runs: list[Run]):
    """The hybrid sweep: each lambda's validation LeNet-FID (left) and exact validation
    bits/dim (right) at the sweep's last check (filled: generator alive at its end), against
    lambda, the weight of NLL (nats per dimension) beside the selected NSGAN loss."""
    from flowlib.studies.nll_vs_gan import search_rows
    rows = sorted(search_rows(runs), key=lambda x: x["config"].get("hybrid-lambda", 0))
    lams = [x["config"].get("hybrid-lambda") for x in rows]
    bpd = [value_at(r, "val_bpd") for x in rows for r in runs if r.name == x["name"]]
    fig, (a, b) = plt.subplots(1, 2, figsize=(COLUMN_IN, 3.3))
    for ax, ys, label in ((a, [x["fid"] for x in rows], "validation LeNet-FID"),
                          (b, bpd, "validation bits/dim")):
        ax.plot(lams, ys, "-", color="0.6")
        for lam, y, x in zip(lams, ys, rows):
            ax.plot(lam, y, "o", ms=7, color=LOSS_COLOR["hybrid"],
                    mfc=LOSS_COLOR["hybrid"] if x["alive"] else "none")
        log_axis(ax, "x")
        log_axis(ax)
        ax.set(xlabel="λ (nats per dimension)", title=label)
        ax.title.set_fontsize(10)
    fig.tight_layout()
    return fig

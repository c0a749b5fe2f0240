"""Companion of the chapter *Experiment 1* (``book/nll_vs_gan.py``): its figures."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from flowlib.book.plots import log_axis, plot_band, side_by_side_frames
from flowlib.studies.nll_vs_gan import LOSS_COLOR, LOSS_LABEL, LOSS_ORDER
from flowlib.studies.results import Run

# ------------------------------------------------------------------ figures
CURVES = (("val_bpd", "validation bits/dim (exact)", True),
          ("fid", "LeNet-FID (2 000 samples vs validation)", True),
          ("precision", "precision", False), ("recall", "recall", False),
          ("classes_covered", "classes covered (of 10)", False))


def curves_figure(runs: list[Run], keys=CURVES):
    """Each quantity over training steps: per loss, the mean over seeds and the min–max band."""

    n = ((runs[0].rows[0].get("train") or {}).get("quality_images") if runs and runs[0].rows else None)
    fig, axes = plt.subplots(1, len(keys), figsize=(3.6 * len(keys), 3.4))
    for ax, (key, title, log) in zip(np.atleast_1d(axes), keys):
        title = title.replace("2 000", f"{n:,}".replace(",", " ") if n else "?")
        for loss in LOSS_ORDER:
            plot_band(ax, [r for r in runs if r.loss == loss], key, color=LOSS_COLOR[loss],
                      label=LOSS_LABEL[loss])
        if log:
            log_axis(ax)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("step")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def grid_frames(runs: list[Run], seed: int):
    """Slider frames for one seed: at each checked step, the three losses' fixed-noise grids."""
    return side_by_side_frames([r for r in runs if r.seed == seed], lambda r: LOSS_LABEL[r.loss])

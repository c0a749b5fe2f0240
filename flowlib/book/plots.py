"""Figures every chapter draws the same way: seed bands over training, log axes with plain
numbers, slider frames of sample grids side by side."""
from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter
from PIL import Image

from flowlib.book.widgets import to_png
from flowlib.studies.results import Run


def plot_band(ax, runs: list[Run], key: str, *, color: str, label: str, ls: str = "-",
              alpha: float = 0.2, center: str = "mean", x=None, marker: str = "o") -> None:
    """``key`` over steps for a group of runs (seeds): their mean (or ``center="median"``, for
    values that span orders of magnitude) as a line, min–max as a band; ``x(steps)`` maps the
    steps to the x axis (default: the steps)."""
    series = [s for s in (r.series(key) for r in runs) if len(s[0])]
    if not series:
        return
    steps = sorted(set().union(*[set(s[0].tolist()) for s in series]))
    mat = np.full((len(series), len(steps)), np.nan)
    for i, (s, v) in enumerate(series):
        mat[i, [steps.index(x) for x in s]] = v
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a step where every seed is nan
        mid = (np.nanmedian if center == "median" else np.nanmean)(mat, 0)
        lo, hi = np.nanmin(mat, 0), np.nanmax(mat, 0)
    xs = np.asarray(steps) if x is None else x(np.asarray(steps))
    ax.plot(xs, mid, ls, marker=marker, ms=3, color=color,
            label=f"{label} ({len(series)} seed{'s' if len(series) > 1 else ''})")
    if len(series) > 1:
        ax.fill_between(xs, lo, hi, color=color, alpha=alpha)


def log_axis(ax, which: str = "y") -> None:
    """A log scale labelled with plain numbers (2, 5, 10, 20 ...), not 2x10^0."""
    fmt_ = FuncFormatter(lambda v, _: f"{v:g}")
    axis = ax.yaxis if which == "y" else ax.xaxis
    (ax.set_yscale if which == "y" else ax.set_xscale)("log")
    axis.set_major_formatter(fmt_)
    # label the minor ticks whose leading digit is 2 or 5 (0.2 and 0.5 as well as 20 and 50);
    # on an axis spanning less than a decade also 3 and 4, or it may show a single label.
    # Read when drawn, so the limits set after this call count.
    def minor(v, _):
        lo, hi = sorted(axis.get_view_interval())
        digits = "2345" if lo > 0 and hi / lo < 10 else "25"
        return f"{v:g}" if f"{v:.0e}"[0] in digits else ""
    axis.set_minor_formatter(FuncFormatter(minor))


def symlog_axis(ax, linthresh: float) -> None:
    """A y axis that is linear within ``linthresh`` of 0 and logarithmic beyond, labelled with
    plain numbers like :func:`log_axis`: for gaps that run from tens of bits/dim down to about
    0, or just below it, where a log axis cannot go."""
    ax.set_yscale("symlog", linthresh=linthresh)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))


COLUMN_IN = 7.2  # the content column at 100 dpi (flowlib.book.legibility.COLUMN_PX, plus margin)


def panel_grid(n: int, ncols: int = 2, height: float = 2.9):
    """A figure of ``n`` panels in rows of ``ncols``, as wide as the book's column: a row of
    five panels would shrink every label below legibility. Returns (fig, flat list of n axes);
    unused cells of the last row are removed."""
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(COLUMN_IN, height * nrows), squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.remove()
    return fig, flat[:n]


def side_by_side_frames(runs: list[Run], title, only=None) -> tuple[list, list[str]]:
    """Slider frames: at each checked step (of ``only`` when given: dense checks would make a
    page heavy), the runs' fixed-noise grids side by side, each titled ``title(run)``."""

    steps = sorted(set().union(*[set(r.grids) for r in runs])) if runs else []
    steps = [s for s in steps if only is None or s in only]
    frames, labels = [], []
    for step in steps:
        # 2.5 in a panel: three grids side by side fit the column at full size; four or more
        # go two to a row, or their titles shrink below the book's legible minimum
        ncols = len(runs) if len(runs) <= 3 else 2
        nrows = -(-len(runs) // ncols)
        fig, axes = plt.subplots(nrows, ncols, figsize=(2.5 * ncols, 2.9 * nrows), squeeze=False)
        for ax in axes.flat[len(runs):]:
            ax.axis("off")
        for ax, r in zip(axes.flat, runs):
            ax.axis("off")
            ax.set_title(title(r), fontsize=11)
            if step in r.grids:
                ax.imshow(np.asarray(Image.open(r.grids[step])), cmap="gray", vmin=0, vmax=255)
            else:
                ax.text(0.5, 0.5, "no grid\n(run ended)", ha="center", va="center")
        fig.tight_layout()
        frames.append(to_png(fig))
        plt.close(fig)
        labels.append(f"step {step}")
    return frames, labels

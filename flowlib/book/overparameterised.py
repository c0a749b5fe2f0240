"""Companion of the chapter *Overparameterised models* (``book/overparameterised.py``): its
figures. The numbers (F6's counts, its rule) live in :mod:`flowlib.studies.misspecification`."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from flowlib.book.plots import COLUMN_IN, log_axis, panel_grid, symlog_axis
from flowlib.models.realnvp import SIZES, RealNVP
from flowlib.studies.misspecification import (LADDER, TEACHER_SIZE, finite_sizes, overfitting_gap,
                                              relation, speed, student, student_speeds, train_size)
from flowlib.studies.results import Run, value_at

COUNTS = (("training images / s", speed),
          ("overfitting gap (bits/dim)", lambda r: overfitting_gap(r)[1]),
          ("final LeNet-FID vs teacher", lambda r: value_at(r, "fid")))


def counts_figure(runs: list[Run]):
    """Speed, overfitting gap and final FID against the student's parameter count, one line
    per finite training-set size: the median over seeds, the seeds' range as an error bar;
    the dotted line is the teacher's size. Where the quiet-machine benchmark is shipped, the
    speed panel shows it in black (what F6 reads) and the runs' own logged speeds, made on a
    busy CPU, sometimes another machine, faded: they are not comparable across machines."""
    fig, axes = plt.subplots(3, 1, figsize=(COLUMN_IN, 8.4))  # stacked, to stay legible
    bench = student_speeds(runs[0].spec.get("preset", "quick")) if runs else {}
    for i, n in enumerate(finite_sizes(runs)):
        cells = [(s, [r for r in runs if student(r) == s and train_size(r) == n]) for s in LADDER]
        cells = [(s, rs) for s, rs in cells if rs]
        params = [rs[0].manifest.get("results", {}).get("parameters") or RealNVP(SIZES[s]).num_parameters()
                  for s, rs in cells]
        for ax, (_, get) in zip(axes, COUNTS):
            vals = [[v for r in rs if (v := get(r)) is not None and np.isfinite(v)] for _, rs in cells]
            keep = [j for j, v in enumerate(vals) if v]
            mid = np.array([np.median(vals[j]) for j in keep])
            err = np.array([[mid[k] - min(vals[j]), max(vals[j]) - mid[k]] for k, j in enumerate(keep)]).T
            faded = bench and ax is axes[0]
            ax.errorbar([params[j] for j in keep], mid, yerr=err if len(keep) else None, fmt="o-",
                        color=f"C{i}", capsize=3, alpha=0.35 if faded else 1,
                        label=f"n = {n:,}" + (": the runs' own logs" if faded else ""))
    if bench:
        ss = [s for s in LADDER if s in bench]
        axes[0].plot([RealNVP(SIZES[s]).num_parameters() for s in ss], [bench[s] for s in ss], "ks-",
                     label="quiet benchmark (what F6 reads)")
    teacher = RealNVP(SIZES[TEACHER_SIZE]).num_parameters()
    for ax, (title, _) in zip(axes, COUNTS):
        ax.axvline(teacher, color="k", ls=":")
        log_axis(ax, "x")
        ax.set(xlabel="student parameters", title=title)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=9)
        else:   # a study still waiting for its first finite-set run
            ax.text(0.5, 0.5, "no finite-set run has finished yet", transform=ax.transAxes,
                    ha="center", va="center")
    if finite_sizes(runs):
        log_axis(axes[0])
        # gaps run from 17 bits/dim at 300 images to about 0 (or just below) at 10 000, and one
        # unstable seed's FID is ten times the rest: linear axes would flatten every other point
        symlog_axis(axes[1], 0.1)
        log_axis(axes[2])
    fig.tight_layout()
    return fig


def samples_figure(runs: list[Run], n: int, seed: int = 0):
    """The last fixed-noise grid of each student trained on ``n`` images (one seed): the same
    latent vectors for every student."""
    last = [r for s in LADDER for r in runs
            if student(r) == s and train_size(r) == n and r.seed == seed and r.grids]
    fig, axes = panel_grid(max(len(last), 1), ncols=2, height=3.4)
    for ax, r in zip(axes, last):
        ax.imshow(np.asarray(Image.open(r.grids[max(r.grids)])), cmap="gray")
        ax.set_title(f"{student(r)} ({relation(student(r))})", fontsize=10)
        ax.axis("off")
    fig.tight_layout()
    return fig

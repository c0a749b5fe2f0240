"""Companion of the chapter *Is the Nash equilibrium a resting place?* (``book/nash.py``): its
figures and sample sliders. The numbers and the verdict live in :mod:`flowlib.studies.nash`.

Every KL axis is symmetric-log (linear below 1 nat per image, logarithmic above): the runs
span from hundredths of a nat (the NLL controls at the small rates; a few to tens of nats at
1e-4 and 2e-4) to millions (an NSGAN run that left), and an estimate near 0 can be slightly
negative.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from flowlib.book.plots import COLUMN_IN, log_axis, plot_band, side_by_side_frames
from flowlib.studies.nash import (CROSSED, LRS, REFERENCE_LR, VARIANT_LABEL, VARIANTS, _control,
                                  cell_runs, departures)
from flowlib.studies.results import Run

KL_LABEL = "KL(teacher ‖ student), nats/image"
# one colour per learning rate, dark (small) to bright (large)
LR_COLOR = {lr: plt.get_cmap("viridis")(i / (len(LRS) - 1) * 0.9) for i, lr in enumerate(LRS)}
VARIANT_COLOR = {v: f"C{i}" for i, v in enumerate(VARIANTS)}
# the variants in two panels: how NSGAN is optimised and fed; how its discriminator is held back
PANELS = (("optimiser, data, discriminator's start", ("reference", "beta1-0.9", "sgd", "pretrained-d", "finite")),
          ("regularisers of the discriminator", ("reference", "r1-1", "r1-10", "spectral-norm")))


def _kl_axis(ax) -> None:
    ax.set_yscale("symlog", linthresh=1.0)
    ax.axhline(0, color="0.6", lw=0.6)


def _departure_marks(ax, runs: list[Run], variant: str, lr: float, color, x=lambda s: s) -> None:
    """A cross where each seed of the NSGAN cell left the equilibrium (by the rule)."""
    for row in departures(runs):
        if (row["variant"], row["lr"]) != (variant, lr) or row["step"] is None:
            continue
        r = next(r for r in cell_runs(runs, "nsgan", variant, lr) if r.seed == row["seed"])
        s, v = r.series("kl")
        hit = np.nonzero(s == row["step"])[0]
        y = v[hit[0]] if len(hit) and np.isfinite(v[hit[0]]) else np.nanmax(np.r_[v[np.isfinite(v)], 1.0])
        ax.plot(x(row["step"]), y, "x", color=color, ms=8, mew=2)


def step_size_figure(runs: list[Run], variant: str = "reference"):
    """Left: the exact KL over steps for NSGAN (solid) and its NLL control (dashed) at each
    constant learning rate, median and range over seeds, crosses where NSGAN left. Right:
    the NSGAN curves against learning rate x steps: if leaving were a property of the
    continuous-time game (its gradient flow), the curves would fall on one another there."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(COLUMN_IN, 3.4))
    for lr in LRS:
        gan, nll = cell_runs(runs, "nsgan", variant, lr), cell_runs(runs, "nll", "reference", lr)
        c = LR_COLOR[lr]
        plot_band(a, gan, "kl", color=c, label=f"NSGAN {lr:g}", center="median", alpha=0.15)
        plot_band(a, nll, "kl", color=c, label=f"NLL {lr:g}", ls="--", center="median",
                  alpha=0.08, marker="")
        _departure_marks(a, runs, variant, lr, c)
        plot_band(b, gan, "kl", color=c, label=f"{lr:g}", center="median", alpha=0.15,
                  x=lambda s, lr=lr: np.where(s > 0, s * lr, np.nan))  # step 0 has no place on a log axis
        _departure_marks(b, runs, variant, lr, c, x=lambda s, lr=lr: s * lr)
    for ax in (a, b):
        _kl_axis(ax)
    a.set(xlabel="step", ylabel=KL_LABEL, title="NSGAN (solid) and NLL (dashed)")
    fig.suptitle("a fresh discriminator at the generator's rate" if variant == "reference" else
                 "a discriminator trained first, at its own rate 1e-4", fontsize=10)
    b.set_xscale("log")   # decades only: minor labels would collide over five decades
    b.set(xlabel="learning rate x step", title="NSGAN against lr x step")
    if b.get_legend_handles_labels()[0]:
        b.legend(fontsize=9, title="learning rate", title_fontsize=9, loc="upper left")
    else:   # a cell family still waiting for its first run
        b.text(0.5, 0.5, "no NSGAN run of these cells yet", transform=b.transAxes, ha="center")
    fig.tight_layout()
    return fig


def _kl_by_distance(r: Run) -> tuple[np.ndarray, np.ndarray]:
    """(distance travelled from the start, KL) at each check where both were logged (the
    training row of a check's step carries ``param_distance``); step 0 left out."""
    dist = {x["step"]: x["param_distance"] for x in r.rows
            if x.get("param_distance") is not None and not x.get("event")}
    s, kl = r.series("kl")
    pts = [(dist[int(t)], k) for t, k in zip(s, kl) if int(t) in dist and t > 0 and dist[int(t)] > 0]
    return (np.array([p[0] for p in pts]), np.array([p[1] for p in pts])) if pts else (np.array([]), np.array([]))


def distance_figure(runs: list[Run]):
    """The exact KL against the distance the generator's parameters travelled from the teacher
    (Euclidean norm, logged since the study's second seeds), one line per run: NSGAN solid and
    NLL dashed at each constant learning rate with Adam, and the plain-SGD pair in black.
    Learning rate x steps bounds Adam's travel, not SGD's (whose step is the rate times the
    gradient, and NSGAN's gradient at the equilibrium is small): at equal distance, a loss
    whose curve lies higher moved in a worse direction, not farther."""
    fig, ax = plt.subplots(figsize=(COLUMN_IN, 4.2))
    shown, missing, seen = 0, 0, set()

    def line(r, color, ls, label):
        nonlocal shown, missing
        d, kl = _kl_by_distance(r)
        if not len(d):
            missing += 1
            return
        ax.plot(d, kl, ls, color=color, lw=1.2, alpha=0.85, marker=".", ms=3,
                label=None if label in seen else label)
        seen.add(label)
        shown += 1

    for lr in LRS:
        for r in cell_runs(runs, "nsgan", "reference", lr):
            line(r, LR_COLOR[lr], "-", f"NSGAN, Adam {lr:g}")
        for r in cell_runs(runs, "nll", "reference", lr):
            line(r, LR_COLOR[lr], "--", f"NLL, Adam {lr:g}")
    for r in cell_runs(runs, "nsgan", "sgd", REFERENCE_LR):
        line(r, "k", "-", f"NSGAN, SGD {REFERENCE_LR:g}")
    for r in cell_runs(runs, "nll", "sgd", REFERENCE_LR):
        line(r, "k", "--", f"NLL, SGD {REFERENCE_LR:g}")
    _kl_axis(ax)
    ax.set_xscale("log")
    ax.set(xlabel="distance travelled in parameter space (Euclidean norm)", ylabel=KL_LABEL,
           title="KL against the distance the generator travelled")
    if shown:
        ax.legend(fontsize=9, loc="center left", bbox_to_anchor=(1.0, 0.5))
    else:
        ax.text(0.5, 0.5, "no run with a logged distance yet", transform=ax.transAxes, ha="center")
    if missing:
        ax.text(0.02, 0.97, f"{missing} run(s) made before the distance was logged: not shown",
                transform=ax.transAxes, fontsize=9, va="top", color="0.3")
    fig.tight_layout()
    return fig


def input_gradient_figure(runs: list[Run]):
    """What moves the generator, over steps (the training rows: every 20 steps and at each
    dense check), per constant learning rate, median and range over seeds; left a fresh
    discriminator, right one trained first. Top: the norm of the discriminator's input
    gradient on fakes (solid) and on reals (dashed, median only): a discriminator that has
    learned nothing gives both a small, random push, one that tells them apart a large,
    directed one on the fakes. Bottom: the norm of the generator's own parameter gradient,
    what its optimiser turns into a step."""
    fig, axes = plt.subplots(2, 2, figsize=(COLUMN_IN, 6.0), sharey="row", sharex=True)
    for col, variant in enumerate(CROSSED):
        top, bottom = axes[0, col], axes[1, col]
        for lr in LRS:
            rs = cell_runs(runs, "nsgan", variant, lr)
            plot_band(top, rs, "d_input_grad_fake", color=LR_COLOR[lr], label=f"{lr:g}",
                      center="median", alpha=0.15, marker="")
            plot_band(top, rs, "d_input_grad_real", color=LR_COLOR[lr], label="_reals", ls="--",
                      center="median", alpha=0.0, marker="")
            plot_band(bottom, rs, "grad_norm", color=LR_COLOR[lr], label=f"{lr:g}",
                      center="median", alpha=0.15, marker="")
        top.set_title("a fresh discriminator" if variant == "reference"
                      else "a discriminator trained first", fontsize=10)
        for ax in (top, bottom):
            log_axis(ax)
        bottom.set(xlabel="step")
        handles, labels = top.get_legend_handles_labels()
        keep = [(h, l) for h, l in zip(handles, labels) if not l.startswith("_")]
        if keep:
            top.legend(*zip(*keep), fontsize=9, title="learning rate", title_fontsize=9)
        else:   # a cell family still waiting for its first run
            top.text(0.5, 0.5, "no NSGAN run of these cells yet", transform=top.transAxes, ha="center")
    axes[0, 0].set_ylabel("‖∇ₓ D‖: fakes —, reals --")
    axes[1, 0].set_ylabel("‖∇θ G loss‖ (generator)")
    fig.tight_layout()
    return fig


def variants_figure(runs: list[Run]):
    """At the reference learning rate, the exact KL of each NSGAN variant (median and range
    over seeds), with the NLL controls' range in grey: one panel per kind of change."""
    fig, axes = plt.subplots(1, 2, figsize=(COLUMN_IN, 5.6), sharey=True)
    for ax, (title, variants) in zip(axes, PANELS):
        controls = [c for v in variants for r in cell_runs(runs, "nsgan", v, REFERENCE_LR)
                    if (c := _control(runs, r)) is not None]
        controls = list({c.name: c for c in controls}.values())
        plot_band(ax, controls, "kl", color="0.4", label="their NLL controls", ls="--",
                  center="median", alpha=0.15, marker="")
        for v in variants:
            rs = cell_runs(runs, "nsgan", v, REFERENCE_LR)
            plot_band(ax, rs, "kl", color=VARIANT_COLOR[v], label=VARIANT_LABEL[v], center="median",
                      alpha=0.12)
            _departure_marks(ax, runs, v, REFERENCE_LR, VARIANT_COLOR[v])
        _kl_axis(ax)
        ax.set(xlabel="step", title=title)
        ax.title.set_fontsize(10)
        # under the panel: the curves fill its upper half
        ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    axes[0].set_ylabel(KL_LABEL)
    fig.tight_layout()
    return fig


def forward_reverse_figure(runs: list[Run]):
    """Each run's last check: the exact forward KL(teacher ‖ student) against the exact reverse
    KL(student ‖ teacher), NSGAN in colour by variant (circles at the reference rate, triangles
    at the others), NLL in grey squares. Forward KL punishes teacher samples the student finds
    unlikely (missing modes); reverse KL punishes student samples the teacher finds unlikely
    (bad images). An infinite reverse KL (a student sample beyond the teacher's support) is
    drawn on the top edge, hollow."""
    pts = []
    for r in runs:
        fwd, rev = r.series("kl")[1], r.series("reverse_kl")[1]
        if not len(fwd) or not len(rev) or not np.isfinite(fwd[-1]):
            continue
        method, variant = r.spec.get("method"), r.spec.get("variant")
        pts.append((fwd[-1], rev[-1], "0.5" if method == "nll" else VARIANT_COLOR.get(variant, "k"),
                    "NLL (every control)" if method == "nll" else VARIANT_LABEL.get(variant, variant),
                    "s" if method == "nll" else ("o" if r.spec.get("lr") == REFERENCE_LR else "^")))
    fig, ax = plt.subplots(figsize=(COLUMN_IN, 4.2))
    finite = [max(f, v) for f, v, *_ in pts if np.isfinite(v)] + [f for f, *_ in pts]
    top = 3 * max(finite + [1.0])
    seen = set()
    for f, v, color, label, marker in pts:
        inf = not np.isfinite(v)
        ax.plot(f, top if inf else v, marker, ms=6, alpha=0.85, color=color,
                mfc="none" if inf else color, label=None if label in seen else label)
        seen.add(label)
    ax.axhline(top, color="0.8", lw=0.8)
    ax.text(0.02, 0.97, "top edge: infinite reverse KL", transform=ax.transAxes, fontsize=9,
            va="top", color="0.3")
    ax.plot([0, top], [0, top], ":", color="0.5", lw=1)
    for axis in ("x", "y"):
        (ax.set_xscale if axis == "x" else ax.set_yscale)("symlog", linthresh=1.0)
    ax.set(xlabel="forward KL(teacher ‖ student), nats/image",
           ylabel="reverse KL(student ‖ teacher)", title="Each run's last check")
    if seen:
        ax.legend(fontsize=9, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    return fig


FRAME_STEPS = (0, 10, 20, 50, 100, 200, 300, 400, 1000, 2000, 5000)


def sample_choices(runs: list[Run], seed: int = 0) -> dict[str, tuple[list, list[str]]]:
    """Slider frames for one seed: per NSGAN cell, its fixed-noise grids beside its NLL
    control's at the steps of FRAME_STEPS that have a grid. Keys name the cell."""
    out = {}
    for r in runs:
        if r.spec.get("method") != "nsgan" or r.seed != seed:
            continue
        pair = [r] + [c for c in [_control(runs, r)] if c is not None]
        frames, labels = side_by_side_frames(
            pair, lambda x: f"{'NSGAN' if x.spec['method'] == 'nsgan' else 'NLL'}, lr {x.spec['lr']:g}",
            only=FRAME_STEPS)
        if frames:
            out[f"{VARIANT_LABEL[r.spec['variant']]}, lr {r.spec['lr']:g}"] = (frames, labels)
    return out

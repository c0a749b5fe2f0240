"""Companion of the chapter *Is the Nash equilibrium a resting place?* (``book/nash.py``): its
figures, its sample slider (light frames that open where the losses differ), the lesson's
text and tables read from the shipped runs (the findings box, what the shipped study could not
isolate, the reverse-KL edge, the rate table, the collapsed methods) and its exercises'
answers. The rules and verdicts live in :mod:`flowlib.studies.nash` (the shipped study) and
:mod:`flowlib.studies.nash_exact` (the calibrated design, read here without changing it).

Every KL axis is symmetric-log (linear below 1 nat per image, logarithmic above): the runs
span from hundredths of a nat (the NLL controls at the small rates; a few to tens of nats at
1e-4 and 2e-4) to millions (an NSGAN run that left), and an estimate near 0 can be slightly
negative.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from flowlib.book.plots import COLUMN_IN, log_axis, plot_band
from flowlib.models.discriminators import ConvDiscriminator
from flowlib.studies.nash import (CROSSED, LRS, REFERENCE_LR, VARIANT_LABEL, VARIANTS, _control,
                                  _summary, cell_runs, cell_verdicts, departures, design_cells)
from flowlib.studies.results import Run, value_at

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
    fig, (a, b) = plt.subplots(1, 2, figsize=(COLUMN_IN, 4.0))
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
    handles, labels = b.get_legend_handles_labels()
    labels = [lab.split(" (")[0] for lab in labels]   # "(3 seeds)": the caption says it
    if handles:   # one legend for both panels, under them: the curves fill the panels' tops
        fig.legend(handles, labels, fontsize=9, title="learning rate (colour)", title_fontsize=9,
                   loc="lower center", ncol=len(labels), bbox_to_anchor=(0.5, 0.0), frameon=False)
    else:   # a cell family still waiting for its first run
        b.text(0.5, 0.5, "no NSGAN run of these cells yet", transform=b.transAxes, ha="center")
    fig.tight_layout(rect=(0, 0.13, 1, 1))
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
    fig, axes = plt.subplots(2, 2, figsize=(COLUMN_IN, 6.6), sharey="row", sharex=True)
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
        if not keep:   # a cell family still waiting for its first run
            top.text(0.5, 0.5, "no NSGAN run of these cells yet", transform=top.transAxes, ha="center")
    axes[0, 0].set_ylabel("‖∇ₓ D‖: fakes —, reals --")
    axes[1, 0].set_ylabel("‖∇θ G loss‖ (generator)")
    if keep:   # under the panels, outside the data; "(3 seeds)" is in the caption
        keep = [(h, lab.split(" (")[0]) for h, lab in keep]
        fig.legend(*zip(*keep), fontsize=9, title="learning rate (colour)", title_fontsize=9,
                   loc="lower center", ncol=len(keep), bbox_to_anchor=(0.5, 0.0), frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
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


# ------------------------------------------------------------------ the sample slider
# The page's weight is its frames (each a PNG inside the page). So: the grids as they are
# stored (grey, 1 byte a pixel, no resampling, which compresses well), cropped to their first
# four rows (32 digits from the same noise), NSGAN and its NLL control side by side; the
# steps below; and the cells a reader compares (the reference at every rate, the variants at
# 1e-4). The page opens on OPEN_CELL at OPEN_STEP, where the two losses differ most visibly
# (at 1e-6 both look like the teacher for the whole run). The other grids stay in each run's
# ``grids/`` folder.
FRAME_STEPS = (0, 10, 20, 50, 100, 200, 400)
GRID_ROWS = 4
OPEN_CELL, OPEN_STEP = ("reference", REFERENCE_LR), 200


def _grid_rows(path, rows: int = GRID_ROWS) -> np.ndarray:
    """A stored grid (8 x 8 digits of 28 px, 2 px padding) cropped to its first ``rows`` rows."""
    from PIL import Image
    img = np.asarray(Image.open(path).convert("L"))
    return img[:2 + rows * 30]


def pair_frame(gan: Run, nll: Run | None, step: int) -> np.ndarray | None:
    """NSGAN's grid at ``step`` (left) beside its NLL control's (right), a grey gap between;
    None when NSGAN has no grid there."""
    if step not in gan.grids:
        return None
    left = _grid_rows(gan.grids[step])
    right = (_grid_rows(nll.grids[step]) if nll is not None and step in nll.grids
             else np.full_like(left, 255))
    gap = np.full((left.shape[0], 12), 128, np.uint8)
    return np.concatenate([left, gap, right], axis=1)


def _cell_name(variant: str, lr: float) -> str:
    """The slider's name of a cell, its rate first (the drop-down is narrow)."""
    return f"lr {lr:g}: {VARIANT_LABEL[variant]}"


def sample_cells() -> list[tuple[str, float]]:
    """The (variant, lr) cells the slider offers, the opening one first: the reference at
    every rate (largest first), then each other variant at the reference rate."""
    ref = [("reference", lr) for lr in sorted(LRS, reverse=True)]
    ref.remove(OPEN_CELL)
    return [OPEN_CELL] + ref + [(v, REFERENCE_LR) for v in VARIANTS if v != "reference"]


def sample_choices(runs: list[Run], seed: int = 0) -> dict[str, tuple[list, list[str], int]]:
    """Slider frames for one seed: per cell of :func:`sample_cells` that has a run, its
    frames (:func:`pair_frame` at FRAME_STEPS), their labels and the frame to open on
    (OPEN_STEP, else the last). Keys name the cell; the opening cell comes first."""
    out = {}
    for variant, lr in sample_cells():
        gan = next((r for r in cell_runs(runs, "nsgan", variant, lr) if r.seed == seed), None)
        if gan is None:
            continue
        nll = _control(runs, gan)
        frames, labels = [], []
        for step in FRAME_STEPS:
            f = pair_frame(gan, nll, step)
            if f is not None:
                frames.append(f)
                labels.append(f"step {step}: NSGAN (left), NLL control (right)")
        if frames:
            steps = [int(lab.split()[1].rstrip(":")) for lab in labels]
            start = steps.index(OPEN_STEP) if OPEN_STEP in steps else len(frames) - 1
            out[_cell_name(variant, lr)] = (frames, labels, start)
    return out


# ------------------------------------------------------------------ numbers the text reads
def _first(r: Run, key: str):
    """The first value of a training-row quantity (``d_input_grad_fake`` ...), with its step."""
    row = next((x for x in r.rows if x.get(key) is not None and not x.get("event")), None)
    return (row["step"], row[key]) if row else (None, None)


def _last_distance(r: Run):
    rows = [x for x in r.rows if x.get("param_distance") is not None and not x.get("event")]
    return rows[-1]["param_distance"] if rows else None


def _rng(values, spec: str) -> str:
    v = [x for x in values if x is not None and np.isfinite(x)]
    if not v:
        return "—"
    lo, hi = min(v), max(v)
    return f"{lo:{spec}}" if f"{lo:{spec}}" == f"{hi:{spec}}" else f"{lo:{spec}}–{hi:{spec}}"


def _med(values, spec: str = ".3g") -> str:
    v = [x for x in values if x is not None and np.isfinite(x)]
    if not v:
        return "—"
    m = float(np.median(v))
    return f"{m:,.0f}" if spec == ".3g" and abs(m) >= 1000 else f"{m:{spec}}"


def numbers(runs: list[Run]) -> dict:
    """The headline numbers of the shipped (first) study, read from its runs."""
    from flowlib.studies.nash import findings
    f = findings(runs)
    by_step = f["F2 (at the Nash equilibrium, by step size)"]["status"]
    trained = f["F2 (at the Nash equilibrium, D trained first, by step size)"]["status"]
    stab_key = next(k for k in f if "stabilised" in k)
    gan = cell_runs(runs, "nsgan", "reference", REFERENCE_LR)
    nll = cell_runs(runs, "nll", "reference", REFERENCE_LR)
    free = [r for v in CROSSED for lr in LRS for r in cell_runs(runs, "nsgan", v, lr)]
    grad_steps = {_first(r, "d_input_grad_fake")[0] for r in free} - {None}
    sgd = cell_runs(runs, "nsgan", "sgd", REFERENCE_LR)
    sgd_nll = cell_runs(runs, "nll", "sgd", REFERENCE_LR)
    from flowlib.studies.nash import cell_verdicts
    words = cell_verdicts(departures(runs))
    others = [v for v in VARIANTS if v != "reference"]
    leaving = [v for v in others if words.get((v, REFERENCE_LR), "").startswith("leaves")]
    return {
        "stabilisers": len(others), "stabilisers_leave": len(leaving),
        "leaving_names": ", ".join(VARIANT_LABEL[v] for v in leaving),
        "runs": len(runs),
        "by_step": by_step, "trained_first": trained,
        "stabilised": f[stab_key]["status"],
        "rates": len(LRS),
        "kl10_gan": _med([value_at_step(r, 10) for r in gan], ",.0f"),
        "kl10_nll": _med([value_at_step(r, 10) for r in nll], ".1f"),
        "d_grad": _rng([_first(r, "d_input_grad_fake")[1] for r in free], ".3f"),
        "d_grad_step": min(grad_steps) if grad_steps else None,
        "sgd_distance": _rng([_last_distance(r) for r in sgd], ".4f"),
        "sgd_final_kl": _rng([value_at_step(r, None) for r in sgd], ".2f"),
        "sgd_control_max": _rng([float(np.nanmax(r.series("kl")[1])) for r in sgd_nll
                                 if len(r.series("kl")[1])], ".0f"),
        "adam_distance_1e6": _rng([_last_distance(r) for r in cell_runs(runs, "nsgan", "reference", 1e-6)], ".3f"),
        "nll_distance_1e6": _rng([_last_distance(r) for r in cell_runs(runs, "nll", "reference", 1e-6)], ".3f"),
    }


def value_at_step(r: Run, step):
    from flowlib.studies.results import value_at
    return value_at(r, "kl", step)


def exact_progress(exact_runs: list[Run], preset: str = "quick") -> tuple[int, int]:
    """(finished runs, planned runs) of the calibrated design."""
    from flowlib.studies import nash_exact
    rows = nash_exact.cell_status(exact_runs, preset)
    return sum(r["runs"] for r in rows), sum(r["planned"] for r in rows)


def findings_box(runs: list[Run], exact_runs: list[Run], preset: str = "quick"):
    """The chapter's "What this chapter finds" box: the shipped study's verdicts and headline
    numbers, what it could not isolate, and the calibrated design's state, all read from the
    shipped results."""
    from flowlib.book.lesson import findings_box as box
    n = numbers(runs)
    done, planned = exact_progress(exact_runs, preset)
    return box([
        f"**The shipped study ({n['runs']} runs, three seeds a cell): NSGAN leaves the "
        f"equilibrium** (verdict *{n['by_step']}*, and *{n['trained_first']}* with a "
        f"discriminator trained first): at all {n['rates']} learning rates, in every seed. At "
        f"learning rate 1e-4 its exact KL to the teacher is **{n['kl10_gan']} nats per image "
        f"after 10 steps**, against **{n['kl10_nll']}** for NLL trained alike (medians over seeds).",
        f"At 1e-4, {n['stabilisers_leave']} of the {n['stabilisers']} other settings left too "
        f"({n['leaving_names']}; verdict *{n['stabilised']}*). Plain SGD \"stays\" only by "
        "barely moving: "
        f"{n['sgd_distance']} in parameter space in 400 steps, while its KL still rose to "
        f"{n['sgd_final_kl']} nats.",
        f"**What it could not isolate.** The discriminator did not start at the equilibrium "
        f"(its input gradient was {n['d_grad']} at the first check, not 0), and the NLL controls "
        "ran on another optimiser (Adam beta1 0.9, NSGAN 0.5). So part of \"NSGAN leaves\" may "
        "be Adam following a fixed, imperfect slope.",
        f"**A calibrated design is stated and its runs are pending** ({done} of {planned} "
        "finished): an exact-equilibrium start (the discriminator's output layer scaled by a "
        "gain initialised at 0, so D(x) = 1/2 everywhere), controls on the same optimiser, a "
        "frozen-discriminator control, an absolute departure threshold, and a comparison at "
        "matched distance travelled.",
    ], footer="Every finding in one table: {doc}`findings` (F2).")


def limits_text(runs: list[Run]) -> str:
    """What the shipped study could not isolate, in plain words, with its numbers."""
    n = numbers(runs)
    return (
        "At the equilibrium the *best* discriminator says $D(x) = 1/2$ for every image, and a "
        "constant has no slope: the generator gets no push. The shipped study's discriminator "
        "was not that discriminator. Fresh from PyTorch's random initialisation, or trained "
        "first against the teacher, its output still had a slope: the norm of its gradient "
        f"with respect to its input was **{n['d_grad']}** at the first check "
        f"(step {n['d_grad_step']}), in every run. The generator therefore started with a "
        "push in a fixed direction. Adam makes that push matter: its first steps have a size "
        "of about the learning rate in *every* parameter, however small the gradient is, so "
        "a faint but consistent slope becomes full-size steps. At learning rate 1e-6, NSGAN "
        f"travelled {n['adam_distance_1e6']} in parameter space in 400 steps; the NLL control, "
        f"whose gradient at the optimum is only noise, {n['nll_distance_1e6']}.\n\n"
        "Two more things keep the comparison from isolating the loss. The NLL controls used "
        "Adam with beta1 0.9 while NSGAN used 0.5, so the two runs differ in the optimiser as "
        "well as in the loss. And no run had a discriminator that *cannot* learn (a frozen "
        "one): the clean way to separate \"the game pushes the generator away\" from \"a fixed "
        "slope plus Adam does\". Finally, the departure bar was ten times the control's own "
        "largest KL: with plain SGD the NLL control swung to "
        f"{n['sgd_control_max']} nats, which put the bar so high that NSGAN-SGD's steady rise "
        f"to {n['sgd_final_kl']} nats counted as staying.")


def reverse_kl_edge(runs: list[Run], lrs=(1e-4, 2e-4), step: int = 10) -> dict:
    """The NLL controls (Adam, reference) whose reverse KL was infinite at ``step``, at ``lrs``:
    how many, their forward KL there, and their reverse KL at the next check."""
    hit, total, fwd, nxt, nxt_step = 0, 0, [], [], None
    for lr in lrs:
        for r in cell_runs(runs, "nll", "reference", lr):
            s, rev = r.series("reverse_kl")
            at = np.nonzero(s == step)[0]
            if not len(at):
                continue
            total += 1
            if np.isfinite(rev[at[0]]):
                continue
            hit += 1
            fwd.append(value_at_step(r, step))
            later = np.nonzero(s > step)[0]
            if len(later):
                nxt.append(rev[later[0]])
                nxt_step = int(s[later[0]])
    return {"infinite": hit, "of": total, "forward": _rng(fwd, ".1f"), "next": _rng(nxt, ".1f"),
            "next_step": nxt_step, "lrs": lrs, "step": step}


def teacher_edge() -> dict | None:
    """The shipped measurement of how often the teacher's own draws land on the edge of its
    support (``results/teacher/edge-rate.json``), and what that means for 1 000 draws."""
    import json

    from flowlib.data.synthetic import teacher_dir
    from flowlib.studies.teacher import EDGE_RATE_FILE
    path = teacher_dir() / EDGE_RATE_FILE
    if not path.exists():
        return None
    t = json.loads(path.read_text())["total"]
    return {**t, "p_1000": 1.0 - (1.0 - t["rate"]) ** 1000}


def reverse_kl_text(runs: list[Run]) -> str:
    """What an infinite reverse KL of an NLL control says about the teacher's support edge."""
    e = reverse_kl_edge(runs)
    if not e["of"]:
        return ""
    rates = " and ".join(f"{lr:g}" for lr in e["lrs"])
    if not e["infinite"]:
        return f"No NLL control at {rates} had an infinite reverse KL at step {e['step']}."
    t = teacher_edge()
    teacher = ("" if t is None else
               f" The teacher itself reaches that edge: {t['edge_samples']} of its "
               f"{t['draws']:,} measured draws had a pixel on it (those were drawn again when the "
               f"data were made), so 1 000 draws of the teacher touch the edge with probability "
               f"about {t['p_1000']:.0%}.")
    return (
        f"**An infinite reverse KL is an edge, not a distance.** At step {e['step']}, "
        f"{e['infinite']} of the {e['of']} NLL controls at {rates} (Adam) have an *infinite* "
        f"reverse KL, while their forward KL is only {e['forward']} nats per image; at the next "
        f"check (step {e['next_step']}) their reverse KL is finite again ({e['next']}). The "
        "reverse KL averages $\\log p_S(x) - \\log p_T(x)$ over the *student's* samples, and "
        "it is infinite as soon as one of them (here one of 1 000) has a pixel on the edge of "
        "the support, where the inverse logit of the flow's last layer rounds to the end of "
        "its range in float32 and no density can be evaluated." + teacher + " So the teacher's "
        "tails run right up to the edge of its support; a student whose tails are a little "
        "wider, as ten full-size Adam steps in every parameter make them, touches it in some "
        "draws every time, and the reverse KL cannot be finite. It says where the student "
        "puts a little mass (on the edge), not how far it is from the teacher in bulk: the "
        "forward KL, averaged over the teacher's own samples, stays modest, and after ten "
        "more steps the reverse KL is finite again.")


# ------------------------------------------------------------------ tables
def rate_table(runs: list[Run]) -> str:
    """Markdown, one row per learning rate (reference cells, fresh discriminator): the cell's
    verdict, NSGAN's and NLL's exact KL at step 10 (median over seeds) and NSGAN's median
    departure step. Five rows, four narrow columns."""
    from flowlib.studies.nash import cell_verdicts
    rows = departures(runs)
    words = cell_verdicts(rows)
    out = ("| learning rate | KL at step 10: NSGAN | NLL | NSGAN leaves at step |\n"
           "|---:|---:|---:|---|\n")
    for lr in LRS:
        gan, nll = cell_runs(runs, "nsgan", "reference", lr), cell_runs(runs, "nll", "reference", lr)
        steps = [x["step"] for x in rows if (x["variant"], x["lr"]) == ("reference", lr)]
        left = [s for s in steps if s is not None]
        when = ("stays" if not left else
                ("≤ " if min(left) <= 10 else "") + f"{float(np.median(left)):.0f}"
                + f" ({len(left)}/{len(steps)} seeds)")
        word = words.get(("reference", lr), "")
        out += (f"| {lr:g} | {_med([value_at_step(r, 10) for r in gan], '.3g')} | "
                f"{_med([value_at_step(r, 10) for r in nll], '.3g')} | "
                f"{when if word else 'not run'} |\n")
    return out


def verdict_table(runs: list[Run]) -> str:
    """Markdown, the shipped study's three verdicts, one short line each (the full numbers
    are in the methods below)."""
    from flowlib.studies.findings import nash_rows
    short = {"D trained first": "discriminator trained first, five learning rates",
             "by step size": "fresh discriminator, five learning rates",
             "stabilised": "one stabiliser or optimiser at a time, lr 1e-4"}
    out = "| F2 at the equilibrium | verdict |\n|---|---|\n"
    for r in nash_rows(runs):   # the Findings page's rows, by the same builder
        what = next((t for key, t in short.items() if key in r["verdict"]), r["verdict"])
        out += f"| {what} | **{r['status']}** |\n"
    return out


def _departure_rows(runs: list[Run], upto: str) -> list[dict]:
    """Every NSGAN cell of the design with a finished run, in the design's order: its label,
    rate, the departure step per seed (``upto`` marks a departure at the first check, step 10,
    which may have happened before it: an upper bound), the cell's verdict, the final forward
    and reverse KL and the largest KL its NLL controls reached (median and range over seeds)."""
    rows = departures(runs)
    verdicts = cell_verdicts(rows)
    out = []
    for c in design_cells():
        if c["method"] != "nsgan":
            continue
        key = (c["variant"], c["lr"])
        mine = sorted((x for x in rows if (x["variant"], x["lr"]) == key), key=lambda x: x["seed"])
        if not mine:
            continue
        rs = cell_runs(runs, "nsgan", *key)
        out.append({
            "variant": VARIANT_LABEL[c["variant"]], "lr": c["lr"], "verdict": verdicts[key],
            "steps": ", ".join("no control yet" if not x["control"] else "—" if x["step"] is None
                               else f"{upto} {x['step']}" if x["step"] <= 10 else str(x["step"])
                               for x in mine),
            "kl": _summary([value_at(r, "kl") for r in rs]),
            "reverse_kl": _summary([value_at(r, "reverse_kl") for r in rs]),
            "control_kl": _summary([x["control_max_kl"] for x in mine])})
    return out


def departure_tables(runs: list[Run]) -> str:
    """Markdown, the shipped study's every NSGAN cell in two tables narrow enough for the
    column (the numbers of :func:`departure_table`, split): departures
    with the verdict and the controls' largest KL; then the final KLs both ways."""
    a = ("| NSGAN cell | departure step per seed | verdict | NLL control's largest KL |\n"
         "|---|---|---|---|\n")
    b = "| NSGAN cell | final KL(T‖S) | final KL(S‖T) |\n|---|---|---|\n"
    for r in _departure_rows(runs, "≤"):
        name = f"{r['variant']}, {r['lr']:g}"
        a += f"| {name} | {r['steps']} | {r['verdict']} | {r['control_kl']} |\n"
        b += f"| {name} | {r['kl']} | {r['reverse_kl']} |\n"
    return a + "\n" + b


def exact_table(exact_runs: list[Run], preset: str = "quick") -> str:
    """Markdown, every cell of the calibrated design with its planned runs and what its shipped
    runs read ("not run yet" until they exist)."""
    from flowlib.studies import nash_exact
    out = "| cell | lr | runs | reading |\n|---|---:|---:|---|\n"
    for r in nash_exact.cell_status(exact_runs, preset):
        out += f"| {r['label']} | {r['lr']:g} | {r['runs']}/{r['planned']} | {r['reading']} |\n"
    return out


def exact_summary(exact_runs: list[Run], preset: str = "quick") -> str:
    """One line: how much of the calibrated design has run, and its verdict's state."""
    from flowlib.studies import nash_exact
    rows = nash_exact.cell_status(exact_runs, preset)
    done, planned = sum(r["runs"] for r in rows), sum(r["planned"] for r in rows)
    unrun = sum(r["reading"] == nash_exact.NOT_RUN for r in rows)
    from flowlib.studies.findings import nash_exact_rows
    row, = nash_exact_rows(exact_runs, preset)   # the Findings page's row, same builder
    return (f"**{done} of its {planned} runs have finished**; {unrun} of its {len(rows)} cells "
            f"read *{nash_exact.NOT_RUN}*. Its verdict, {row['verdict']}: *{row['status']}*.")


def methods(runs: list[Run], note: str, exact_note: str) -> str:
    """The collapsed evidence under the chapter: the departure table (every NSGAN cell), the
    verdicts with all their numbers, the instability flags and the provenance."""
    from flowlib.book.findings import readings_table
    from flowlib.studies.findings import nash_rows
    from flowlib.studies.nash import progress
    from flowlib.studies.results import provenance, teacher_notes
    done, planned = progress(runs)
    lines = readings_table(nash_rows(runs), "F2")   # the Findings page's rows, same builder
    notes = " ".join(teacher_notes(runs))
    return (
        ":::{dropdown} Every NSGAN cell of the shipped study: departures and final KLs\n"
        "First, per NSGAN cell (variant and learning rate): the step at which each seed left "
        "(— where it stayed within the rule's bound; \"≤ 10\" where it had already left at the "
        "first check), the cell's verdict and the largest KL its NLL controls reached. Then the "
        "final forward and reverse KL (median and range over seeds, nats per image; divide by "
        "$784 \\ln 2 \\approx 543$ for bits/dim; *infinite* where a sample lies beyond the other "
        "model's support).\n\n"
        + departure_tables(runs) + "\n:::\n\n"
        ":::{dropdown} The shipped study's verdicts with all their numbers\n"
        f"{lines}\n\n{instability_summary(runs)}\n:::\n\n"
        ":::{dropdown} Provenance\n"
        f"**{done} of the first design's {planned} runs have finished.** {notes}\n\n"
        f"{provenance(runs, note)}\n\nThe calibrated design: {exact_note}\n:::\n")


# ------------------------------------------------------------------ exercises
def exact_start_demo(seed: int = 0, lr: float = 1e-4) -> dict:
    """The exact-start discriminator on two batches of real MNIST digits (one distribution):
    D and its input gradient before any step, and after one Adam step of the discriminator."""
    import torch

    from flowlib.data.mnist import load_mnist
    from flowlib.training.gan import discriminator_update, input_gradient

    torch.manual_seed(seed)
    x = torch.as_tensor(load_mnist("test").images[:128]).float().div(255.0)
    real, fake = x[:64], x[64:]
    disc = ConvDiscriminator(exact_start=True)
    opt = torch.optim.Adam(disc.parameters(), lr=lr, betas=(0.5, 0.999))
    with torch.no_grad():
        d0 = torch.sigmoid(disc(fake))
    before = {"d_min": float(d0.min()), "d_max": float(d0.max()),
              "grad": float(input_gradient(disc, fake).norm(dim=1).mean())}
    discriminator_update(disc, opt, real, fake)
    with torch.no_grad():
        gap = float(disc(real).mean() - disc(fake).mean())
    after = {"logit_gap": gap, "gain": float(disc.gain.detach()),
             "grad": float(input_gradient(disc, fake).norm(dim=1).mean())}
    return {"before": before, "after": after, "lr": lr}


def exact_start_answer(seed: int = 0) -> str:
    d = exact_start_demo(seed)
    b, a = d["before"], d["after"]
    same = (f"D = {b['d_min']:g} on every image" if b["d_min"] == b["d_max"] else
            f"D lies between {b['d_min']:.6f} and {b['d_max']:.6f}")
    return (f"Before any step, {same} and the input gradient's norm is {b['grad']:g}: exactly "
            "zero, no push. After "
            f"one Adam step (lr {d['lr']:g}) with one half of a batch of 128 MNIST digits called "
            "real and the other half fake (one distribution on both sides), the "
            f"gain is {a['gain']:+.1e} (Adam's first step is about the learning rate, whatever "
            f"the gradient), the mean logit on the half called real exceeds that on the half "
            f"called fake by {a['logit_gap']:.1e}, and the input gradient's norm is "
            f"{a['grad']:.1e}: tiny, but no longer zero, and pointing "
            "wherever these 64 digits happened to differ from those 64. This is the "
            "finite-sample effect the calibrated design isolates: the discriminator learns "
            "from noise, and the generator would follow.")


def smoke_command(exact: bool = True, seed: int = 0) -> str:
    """The ``flowlib train`` command of one NSGAN run of the calibrated design at smoke
    (lr 1e-4, Adam), exact start or (``exact=False``) a fresh discriminator."""
    from flowlib.studies import nash_exact
    cell = ({"method": "nsgan", "optimizer": "adam", "variant": "exact", "lr": REFERENCE_LR}
            if exact else {"method": "nsgan", "optimizer": "adam", "variant": "fresh-d",
                           "lr": REFERENCE_LR})
    argv = list(nash_exact._argv("smoke", cell, seed))
    name = "exact" if exact else "fresh"
    return "python -m flowlib " + " ".join(argv) + f" --out runs/nash-smoke-{name}"


def smoke_answer(runs: list[Run], exact_runs: list[Run] = ()) -> str:
    """What the shipped quick runs say, to compare a smoke run against: the first study's
    fresh-discriminator runs at lr 1e-4 and, where shipped, the calibrated design's exact-start
    runs at the same rate (Adam), each KL at step 10."""
    gan = cell_runs(runs, "nsgan", "reference", REFERENCE_LR)
    exact = sorted((r for r in exact_runs if r.spec.get("method") == "nsgan"
                    and r.spec.get("optimizer") == "adam" and r.spec.get("variant") == "exact"
                    and r.spec.get("lr") == REFERENCE_LR), key=lambda r: r.seed)
    n = numbers(runs)
    if exact:
        open_q = (f"The calibrated design's exact-start runs at the same rate (quick, "
                  f"{len(exact)} seed{'s' if len(exact) > 1 else ''}) had "
                  f"{_rng([value_at_step(r, 10) for r in exact], '.3g')} nats per image at step "
                  "10: put your exact-start smoke run beside that.")
    else:
        open_q = ("The exact-start run is the open question: the calibrated design's rows above "
                  "say *not run yet* at this rate.")
    return (
        f"The shipped quick runs with a fresh discriminator at lr 1e-4 had an exact KL of "
        f"{_rng([value_at_step(r, 10) for r in gan], '.0f')} nats per image at step 10 (NLL "
        f"trained alike: {n['kl10_nll']}). The smoke preset keeps the teacher's architecture "
        "and weights (--init teacher) and the rates you pass, but trains on batches of 32, not "
        "64, and measures the KL on 200 held-out images, not 1 000: compare orders of "
        "magnitude, not digits. Expect the fresh-discriminator run far above NLL's few nats "
        f"at step 10, as the shipped runs are. {open_q} If the exact-start KL at step 10 is "
        "orders of magnitude smaller, much of the shipped departure was the fresh "
        "discriminator's slope; if it is of the same size, the game leaves the equilibrium even "
        "from a perfect start. One smoke seed is an anecdote, not a verdict: the design's rule "
        "reads three seeds, with the standard error beside every KL (the run's metrics.jsonl "
        "has kl and kl_se at each check).")


# ------------------------------------------------------------------ the study's tables (Markdown)
# The book layer's: the study module holds the design, the rules and the readers.


def departure_table(runs: list[Run]) -> str:
    """Markdown, one row per NSGAN cell that has a finished run: the departure step of each
    seed (— where it stayed), the cell's verdict, the final forward and reverse KL (median and
    range over seeds, nats/image) and the largest KL its NLL controls reached."""
    head = ("| NSGAN variant | learning rate | departure step per seed | verdict | final KL(T‖S) "
            "| final KL(S‖T) | NLL control's largest KL |\n|---|---|---|---|---|---|---|\n")
    return head + "".join(
        f"| {r['variant']} | {r['lr']:g} | {r['steps']} | {r['verdict']} | {r['kl']} | "
        f"{r['reverse_kl']} | {r['control_kl']} |\n" for r in _departure_rows(runs, "<="))


def instability_summary(runs: list[Run]) -> str:
    """One line per run that raised instability flags: each kind with the step it first
    appeared and how many checks flagged it (a run flags at every check while unstable)."""
    lines = []
    for r in runs:
        kinds: dict = {}
        for e in r.events:
            if e.get("event") == "instability":
                first, n = kinds.get(e["kind"], (e["step"], 0))
                kinds[e["kind"]] = (min(first, e["step"]), n + 1)
        if kinds:
            lines.append(f"* `{r.name}`: " + ", ".join(
                f"{k} from step {f} ({n} check{'s' * (n != 1)})" for k, (f, n) in kinds.items()))
    return ("Instability flags: none." if not lines else
            f"Instability flags in {len(lines)} of {len(runs)} runs:\n\n" + "\n".join(lines))

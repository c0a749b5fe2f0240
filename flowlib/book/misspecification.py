"""Companion of the chapter *Experiment 2: misspecification* (``book/misspecification.py``): its figures."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from flowlib.book.plots import log_axis, symlog_axis
from flowlib.studies.misspecification import LADDER, SHAPE_FROM, end_value, relation, student, train_size
from flowlib.studies.results import Run

def pilot_figure(run: Run, teacher_bpd: float):
    """The pilot (one student, one small training set, long): training and validation
    bits/dim with the teacher's own bits/dim for reference (above), the exact KL and LeNet-FID
    against teacher samples (below, each on its own log axis)."""
    fig, (a, b) = plt.subplots(2, 1, figsize=(7.2, 6.2), sharex=True)
    for key, label, ls in (("val_bpd", "validation", "-"), ("train_eval_bpd", "training", "--")):
        s, v = run.series(key)
        a.plot(s, v, ls, color="C2", label=label)
    a.axhline(teacher_bpd, color="k", ls=":", label="the teacher's own bits/dim")
    argv = run.manifest.get("config", {}).get("argv", [])
    n = train_size(run) or (int(argv[argv.index("--train-size") + 1]) if "--train-size" in argv else 0)
    a.set(ylabel="bits/dim (MNIST units)", ylim=(0.8, 5.5),
          title=f"pilot: the teacher-size student on {n:,} synthetic images")
    a.legend(fontsize=9)
    s, v = run.series("kl")
    b.plot(s, v, "o-", color="C3", label="exact KL(teacher ‖ student), nats/image")
    log_axis(b)
    b.set(xlabel="step", ylabel="nats/image")
    b2 = b.twinx()
    s, v = run.series("fid")
    b2.plot(s, v, "s--", color="C0", label="LeNet-FID vs teacher samples")
    log_axis(b2)
    b2.set(ylabel="LeNet-FID")
    b.legend(*[x + y for x, y in zip(b.get_legend_handles_labels(), b2.get_legend_handles_labels())],
             fontsize=9, loc="upper center")
    fig.tight_layout()
    return fig


def pilot_text(run: Run, teacher_bpd: float) -> str:
    """The pilot in numbers: where validation bits/dim was lowest, and the end."""
    s, v = run.series("val_bpd")
    i = int(np.nanargmin(v))
    k = dict(zip(*run.series("kl")))
    f = dict(zip(*run.series("fid")))
    near = min(k, key=lambda t: abs(t - s[i]))
    end_train = run.series("train_eval_bpd")[1][-1]
    return (f"Validation bits/dim was lowest at step {int(s[i])} ({v[i]:.3f}) and ended at "
            f"{v[-1]:.3f}, while training bits/dim fell to {end_train:.3f}, below the teacher's "
            f"own {teacher_bpd:.3f}: the student memorises its 500 images. The exact KL went from "
            f"{k[near]:.0f} nats/image (step {near}) to {k[max(k)]:.0f}; LeNet-FID against teacher "
            f"samples from {f[near]:.0f} to {f[max(f)]:.0f}.")


STUDENT_COLOR = {"tiny": "C0", "slim": "C2", "small": "C3", "medium": "C4"}


def _size_label(n: int) -> str:
    return "infinite data (control)" if n == 0 else f"{n:,} images"


def _curve_range(runs: list[Run]) -> tuple[float | None, float | None]:
    """Lowest and highest validation or training bits/dim of ``runs`` after the first tenth
    of each run (the fall from a random flow's 5+ bits/dim is not what the panel is for)."""
    vals = []
    for r in runs:
        for k in ("val_bpd", "train_eval_bpd"):
            st, v = r.series(k)
            if len(v):
                keep = (np.asarray(st) >= SHAPE_FROM * max(st)) & np.isfinite(v)
                vals += list(np.asarray(v, float)[keep])
    return (min(vals), max(vals)) if vals else (None, None)


def curves_figure(runs: list[Run], n: int):
    """One panel per student at training-set size ``n``: validation (solid) and training
    (dashed) bits/dim, median over seeds with their range as a band, and the student's
    infinite-data control (grey): the finite run minus the control is the overfitting."""
    from flowlib.book.plots import panel_grid, plot_band
    students = [s for s in LADDER if any(student(r) == s for r in runs)]
    fig, axes = panel_grid(len(students), ncols=2, height=3.0)
    for ax, s in zip(axes, students):
        mine = [r for r in runs if student(r) == s and train_size(r) == n]
        control = [r for r in runs if student(r) == s and train_size(r) == 0]
        c = STUDENT_COLOR.get(s, "k")
        plot_band(ax, control, "val_bpd", color="0.45", label="control", ls=":", center="median", marker="")
        plot_band(ax, mine, "val_bpd", color=c, label="validation", center="median", marker="")
        plot_band(ax, mine, "train_eval_bpd", color=c, label="training", ls="--", center="median",
                  marker="", alpha=0.1)
        lo, hi = _curve_range(mine + control)
        if lo is not None:
            # the random start (5+ bits/dim) would flatten the rest; what overfitting does to
            # the validation curve (up to 15 bits/dim) must stay on the panel
            if hi / lo > 3:
                log_axis(ax)
            ax.set_ylim(lo * 0.95, max(hi * 1.05, lo + 1.0))
        ax.set_title(f"{s} ({relation(s)})", fontsize=10)
        ax.set_xlabel("step")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=9, loc="upper right")
        else:   # this student has no finished run at this size yet
            ax.text(0.5, 0.5, "no finished run yet", transform=ax.transAxes, ha="center")
    axes[0].set_ylabel("bits/dim (MNIST units)")
    fig.suptitle(f"Trained on {n:,} synthetic images", fontsize=11)
    fig.tight_layout()
    return fig


def overfitting_figure(runs: list[Run]):
    """Per student: final (solid) and early-stopped (dashed) validation bits/dim minus its
    control's final value, against the training-set size; median and range over seeds (the
    controls' seeds paired by seed where both exist, their median otherwise)."""
    from flowlib.studies.misspecification import early_stop
    fig, ax = plt.subplots(figsize=(7.2, 4.0))
    for s in [s for s in LADDER if any(student(r) == s for r in runs)]:
        # "final" as the rules read it: the median of the last checks (end_value)
        ctrl = {r.seed: end_value(r) for r in runs if student(r) == s and train_size(r) == 0}
        ctrl = {k: v for k, v in ctrl.items() if v is not None and np.isfinite(v)}
        if not ctrl:
            continue
        med = float(np.median(list(ctrl.values())))
        for which, ls in (("final", "-"), ("early-stopped", "--")):
            xs, mid, lo, hi = [], [], [], []
            for n in sorted({train_size(r) for r in runs if train_size(r) > 0}):
                vals = []
                for r in runs:
                    if student(r) != s or train_size(r) != n:
                        continue
                    v = end_value(r) if which == "final" else early_stop(r)[1]
                    if v is not None and np.isfinite(v):
                        vals.append(v - ctrl.get(r.seed, med))
                if vals:
                    xs.append(n)
                    mid.append(np.median(vals))
                    lo.append(min(vals))
                    hi.append(max(vals))
            if not xs:
                continue
            c = STUDENT_COLOR.get(s, "k")
            ax.plot(xs, mid, ls, marker="o", ms=4, color=c, label=f"{s}, {which}")
            if which == "final":
                ax.fill_between(xs, lo, hi, color=c, alpha=0.15)
    ax.axhline(0, color="0.5", lw=0.8)
    ys = [float(y) for line in ax.get_lines() for y in line.get_ydata()]   # the 0 line included
    if ys and max(map(abs, ys)) > 3:   # final gaps reach 15 bits/dim where early-stopped ones are tenths
        symlog_axis(ax, 0.1)
        ax.set_ylim(min(0.0, 1.5 * min(ys)), 1.5 * max(ys))
    if not ax.get_legend_handles_labels()[0]:   # a study still waiting for its first pair
        ax.text(0.5, 0.5, "no finite-set run with its control has finished yet",
                transform=ax.transAxes, ha="center", va="center")
    else:
        log_axis(ax, "x")
    ax.set(xlabel="training-set size (images)", ylabel="validation minus control (bits/dim)",
           title="Overfitting: validation bits/dim above the infinite-data control")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=9, ncol=2)
    fig.tight_layout()
    return fig


def early_final_figure(runs: list[Run]):
    """Early-stopped against final, side by side: validation bits/dim, exact KL and LeNet-FID
    (one panel each) against the training-set size, per student; the final value solid with
    the seeds' range as a band, the early-stopped one (:func:`early_and_final`) dashed, the
    median over seeds. On the FID panel the bars are two bootstrap standard errors of the
    final FID (the median over seeds): the noise of one sample set. The infinite-data
    controls' final values are the short lines at the right edge."""
    from flowlib.studies.misspecification import early_and_final
    panels = (("val_bpd", "validation bits/dim"), ("kl", "exact KL(teacher ‖ student), nats/image"),
              ("fid", "LeNet-FID vs teacher samples"))
    fig, axes = plt.subplots(3, 1, figsize=(7.2, 9.6), sharex=True)
    sizes = sorted({train_size(r) for r in runs if train_size(r) > 0})
    for s in [s for s in LADDER if any(student(r) == s for r in runs)]:
        c = STUDENT_COLOR.get(s, "k")
        by_n = {n: [early_and_final(r) for r in runs if student(r) == s and train_size(r) == n]
                for n in [*sizes, 0]}
        for ax, (key, _) in zip(axes, panels):
            for j, (which, ls) in enumerate((("final", "-"), ("early-stopped", "--"))):
                xs = [n for n in sizes if by_n[n]]
                vals = [[v for x in by_n[n] if np.isfinite(v := x[key][1 - j])] for n in xs]
                xs, vals = [n for n, v in zip(xs, vals) if v], [v for v in vals if v]
                if not xs:
                    continue
                mid = [np.median(v) for v in vals]
                ax.plot(xs, mid, ls, marker="o", mfc=c if j == 0 else "white",
                        ms=4, color=c, label=f"{s}, {which}" if ax is axes[0] else None)
                if j == 0:
                    ax.fill_between(xs, [min(v) for v in vals], [max(v) for v in vals], color=c, alpha=0.15)
                    if key == "fid":
                        se = [np.nanmedian([x["fid_se"][1] for x in by_n[n]]) for n in xs]
                        ax.errorbar(xs, mid, yerr=2 * np.asarray(se), fmt="none", color=c, capsize=3, lw=1)
            ctrl = [x[key][1] for x in by_n[0] if np.isfinite(x[key][1])]
            if ctrl and sizes:
                ax.plot([sizes[-1] * 1.25, sizes[-1] * 1.6], [np.median(ctrl)] * 2, color=c, lw=2.5,
                        solid_capstyle="butt")
    for ax, (key, title) in zip(axes, panels):
        ax.set_title(title, fontsize=10)
        if ax.get_lines():
            log_axis(ax, "y")
        else:   # a study still waiting for its first finite-set run
            ax.text(0.5, 0.5, "no finite-set run has finished yet", transform=ax.transAxes,
                    ha="center", va="center")
    if sizes:
        log_axis(axes[-1], "x")
        axes[-1].set_xticks(sizes, [f"{n:,}" for n in sizes])
        axes[-1].minorticks_off()
        axes[0].text(sizes[-1] * 1.4, 1.0, "control", transform=axes[0].get_xaxis_transform(),
                     ha="center", va="bottom", fontsize=9)
    axes[-1].set_xlabel("training-set size (images)")
    if axes[0].get_legend_handles_labels()[0]:
        axes[0].legend(fontsize=9, ncol=2)
    fig.tight_layout()
    return fig


def search_figure(search: list[Run]):
    """The rate search: each student's infinite-data control at every searched rate,
    validation bits/dim over steps (one panel per student, the teacher's size marked), the
    checks that score it shaded."""
    from flowlib.studies.misspecification import DESIGN_STUDENTS, LR_SEARCH, END_CHECKS
    from flowlib.book.plots import panel_grid
    fig, axes = panel_grid(len(DESIGN_STUDENTS), ncols=2, height=3.0)
    for ax, s in zip(axes, DESIGN_STUDENTS):
        for i, lr in enumerate(LR_SEARCH["lrs"]):
            r = next((x for x in search if student(x) == s and x.spec.get("lr") == lr), None)
            if r is None:
                ax.plot([], [], color=f"C{i}", label=f"{lr:g} (not run yet)")
                continue
            st, v = r.series("val_bpd")
            ax.plot(st, v, color=f"C{i}", label=f"{lr:g}")
            scored = [t for t in st if t > 0][-END_CHECKS:]
            if len(scored):
                ax.axvspan(min(scored), max(scored), color="0.9", zorder=0)
        end = max((float(np.max(r.series("val_bpd")[0])) for r in search), default=1.0)
        ax.set(title=f"{s} ({relation(s)})", xlabel="step", ylim=(1.4, 2.6), xlim=(0, end),
               ylabel="validation bits/dim")
        ax.legend(title="learning rate", fontsize=9, title_fontsize=9)
    fig.tight_layout()
    return fig


def verdicts_table(runs, preset: str, prefixes: tuple[str, ...]) -> str:
    """Markdown: the first and the calibrated rules' verdicts side by side for the findings
    whose names start with ``prefixes`` (``("F3", "F4")``, ``("F5",)``, ``("F6",)``), the
    calibrated ones reading the long controls and the shared-rate runs where shipped."""
    from flowlib.studies import misspecification as exp2
    from flowlib.studies import misspecification_calibrated as cal
    from flowlib.studies.registry import STUDIES
    from flowlib.studies.results import load_study

    extra = {}
    shown = runs[0].spec.get("preset", preset) if runs else preset   # smoke shows quick's
    for name in ("long", "shared-lr"):
        root = STUDIES[f"misspecification-{name}"].shipped(shown)
        extra[name] = load_study(root) if root else []
    both = (("first", exp2.findings(runs)),
            ("calibrated", cal.findings(runs, extra["long"], extra["shared-lr"])))
    return "| finding | rule | status | numbers |\n|---|---|---|---|\n" + "".join(
        f"| {k} | {rule} | **{x['status']}** | {x['numbers']} |\n"
        for rule, v in both for k, x in v.items() if k.startswith(prefixes))

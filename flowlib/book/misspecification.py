"""Companion of the chapter *Experiment 2: misspecification* (``book/misspecification.py``): its figures."""
from __future__ import annotations

import math

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


PILOT = "misspecification-pilot"   # one run made before the design was fixed; not a study


def pilot_runs() -> list[Run]:
    """The pilot (``results/misspecification-pilot``): one shipped run, read, never rerun."""
    from flowlib.core.paths import results_root
    from flowlib.studies.results import load_study
    return load_study(results_root(PILOT))


def teacher_entropy_bpd() -> float:
    """The teacher's entropy in MNIST's bits/dim: the lowest validation any student can reach."""
    from flowlib.core.manifest import read_manifest
    from flowlib.data.synthetic import teacher_dir
    return read_manifest(teacher_dir())["results"]["entropy"]["bits_per_dim"]


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
        if not ax.get_legend_handles_labels()[0]:   # no finished run at this size yet
            ax.text(0.5, 0.5, "no finished run yet", transform=ax.transAxes, ha="center")
    axes[0].set_ylabel("bits/dim (MNIST units)")
    # one key for every panel, above them (outside the data); the bands are the seeds' range
    from matplotlib.lines import Line2D
    seeds = max((len([r for r in runs if student(r) == s and train_size(r) == n]) for s in students),
                default=0)
    fig.legend(handles=[Line2D([], [], color="k", label="validation"),
                        Line2D([], [], color="k", ls="--", label="training"),
                        Line2D([], [], color="0.45", ls=":", label="control (fresh data), validation")],
               loc="upper center", bbox_to_anchor=(0.5, 0.955), ncol=3, fontsize=9, frameon=False)
    fig.suptitle(f"Trained on {n:,} synthetic images (median of {seeds} seeds, band: their range)",
                 fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return fig


def overfitting_figure(runs: list[Run]):
    """Per student: final (solid) and early-stopped (dashed) validation bits/dim minus its
    control's final value, against the training-set size; median and range over seeds (the
    controls' seeds paired by seed where both exist, their median otherwise)."""
    from flowlib.studies.misspecification import early_stop
    fig, ax = plt.subplots(figsize=(7.2, 4.8))
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
    if ax.get_legend_handles_labels()[0]:   # below the axes, outside the data
        from matplotlib.lines import Line2D
        keys = [Line2D([], [], color=STUDENT_COLOR.get(s, "k"), label=s) for s in LADDER
                if any(lab.startswith(s + ",") for lab in ax.get_legend_handles_labels()[1])]
        keys += [Line2D([], [], color="k", label="final (band: seeds' range)"),
                 Line2D([], [], color="k", ls="--", label="early-stopped")]
        fig.legend(handles=keys, fontsize=9, ncol=3, loc="lower center", frameon=False)
        fig.tight_layout(rect=(0, 0.12, 1, 1))
    else:
        fig.tight_layout()
    return fig


def _short(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else f"{n:,}"


def early_final_figure(runs: list[Run]):
    """Early-stopped against final, as small multiples: one row per yardstick (validation
    bits/dim, exact KL, LeNet-FID), one column per student, against the training-set size.
    In each panel the final value is solid with the seeds' range as a band, the early-stopped
    one (:func:`early_and_final`) dashed with open markers, both the median over seeds, and
    the student's infinite-data control a dotted horizontal line; on the FID row the bars
    are two bootstrap standard errors of the final FID (the noise of one sample set). Rows
    share their log axis, so students compare across a row."""
    from flowlib.studies.misspecification import early_and_final
    panels = (("val_bpd", "validation\nbits/dim"), ("kl", "exact KL,\nnats/image"),
              ("fid", "LeNet-FID vs\nteacher samples"))
    students = [s for s in LADDER if any(student(r) == s for r in runs)]
    sizes = sorted({train_size(r) for r in runs if train_size(r) > 0})
    fig, axes = plt.subplots(len(panels), max(len(students), 1), figsize=(7.2, 7.4),
                             sharex=True, sharey="row", squeeze=False)
    for j, s in enumerate(students):
        c = STUDENT_COLOR.get(s, "k")
        by_n = {n: [early_and_final(r) for r in runs if student(r) == s and train_size(r) == n]
                for n in [*sizes, 0]}
        for i, (key, _) in enumerate(panels):
            ax = axes[i, j]
            for k, (which, ls) in enumerate((("final", "-"), ("early-stopped", "--"))):
                xs = [n for n in sizes if by_n[n]]
                vals = [[v for x in by_n[n] if np.isfinite(v := x[key][1 - k])] for n in xs]
                xs, vals = [n for n, v in zip(xs, vals) if v], [v for v in vals if v]
                if not xs:
                    continue
                mid = [np.median(v) for v in vals]
                ax.plot(xs, mid, ls, marker="o", mfc=c if k == 0 else "white", ms=4, color=c)
                if k == 0:
                    ax.fill_between(xs, [min(v) for v in vals], [max(v) for v in vals], color=c, alpha=0.15)
                    if key == "fid":
                        se = [np.nanmedian([x["fid_se"][1] for x in by_n[n]]) for n in xs]
                        ax.errorbar(xs, mid, yerr=2 * np.asarray(se), fmt="none", color=c, capsize=2, lw=1)
            ctrl = [x[key][1] for x in by_n[0] if np.isfinite(x[key][1])]
            if ctrl:
                ax.axhline(np.median(ctrl), color="0.35", ls=":", lw=1.2)
            if i == 0:
                ax.set_title(f"{s}\n({relation(s)})", fontsize=10)
            if j == 0:
                ax.set_ylabel(panels[i][1], fontsize=10)
    for ax in axes.flat:
        if ax.get_lines():
            log_axis(ax, "y")
        ax.tick_params(labelsize=9)
    if sizes:
        log_axis(axes[-1, 0], "x")
        for ax in axes[-1]:
            ax.set_xticks(sizes, [_short(n) for n in sizes])
            ax.minorticks_off()
            ax.set_xlim(sizes[0] / 1.6, sizes[-1] * 1.6)
        for ax in axes.flat:   # minorticks_off dropped the log y axes' labelled minor ticks
            if ax.get_lines():
                log_axis(ax, "y")
    fig.supxlabel("training-set size (images)", fontsize=10)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    fig.legend(handles=[Line2D([], [], color="k", marker="o", ms=4, label="final (median)"),
                        Patch(color="k", alpha=0.15, label="seeds' range"),
                        Line2D([], [], color="k", ls="--", marker="o", mfc="white", ms=4,
                               label="early-stopped"),
                        Line2D([], [], color="0.35", ls=":", label="control (fresh data)")],
               loc="upper center", ncol=4, fontsize=9, frameon=False, bbox_to_anchor=(0.5, 1.0))
    fig.tight_layout(rect=(0, 0, 1, 0.96))
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
    from flowlib.book.findings import readings_table
    rows = [r for r in verdict_rows(runs, preset) if r["verdict"].startswith(prefixes)]
    return readings_table(rows, prefixes[0] if len(prefixes) == 1 else None)


# ------------------------------------------------------------------ the lesson (issue 32)
# Everything the chapter's text quotes is computed here from the shipped runs: the findings
# box, the summary table, the explanation of the one anomalous cell, the exercises' answers.
from flowlib.studies import misspecification as _M   # noqa: E402
from flowlib.studies.results import median_range, value_at   # noqa: E402

_VERDICTS: dict = {}


def extra_studies(runs: list[Run], preset: str) -> dict[str, list[Run]]:
    """The calibrated rules' own runs, as shipped (``long``: the long controls, ``shared-lr``:
    the specification contrast at one rate); empty lists where nothing is shipped yet."""
    from flowlib.studies.registry import STUDIES
    from flowlib.studies.results import load_study
    shown = runs[0].spec.get("preset", preset) if runs else preset   # smoke shows quick's
    out = {}
    for name in ("long", "shared-lr"):
        root = STUDIES[f"misspecification-{name}"].shipped(shown)
        out[name] = load_study(root) if root else []
    return out


def verdict_rows(runs: list[Run], preset: str) -> list[dict]:
    """The Findings page's rows of F3-F6 for these runs (one builder,
    :func:`flowlib.studies.findings.e2_rows`), computed once per set of runs (the calibrated F5
    measures the teacher's own FID, which takes a while)."""
    from flowlib.studies.findings import e2_rows
    key = (preset, tuple(r.name for r in runs))
    if key not in _VERDICTS:
        extra = extra_studies(runs, preset)
        _VERDICTS[key] = e2_rows(runs or None, extra["long"], extra["shared-lr"], preset,
                                 long_shipped=bool(extra["long"]),
                                 shared_shipped=bool(extra["shared-lr"]))
    return _VERDICTS[key]


def verdicts(runs: list[Run], preset: str) -> tuple[dict, dict]:
    """(first rules' findings, calibrated rules' findings), each keyed by the rule's own name
    ('F4 (n = 300)'), from :func:`verdict_rows`."""
    rows = verdict_rows(runs, preset)
    return tuple({_rule_name(r["verdict"], rule): r for r in rows
                  if r["verdict"].endswith(f"{rule})")} for rule in ("first rule", "calibrated"))


def _rule_name(name: str, rule: str) -> str:
    """'F4 (n = 300; first rule)' -> 'F4 (n = 300)'; 'F5 (calibrated)' -> 'F5' (the inverse
    of the Findings page's naming)."""
    head = name[:-len(f"{rule})")].rstrip()
    return head[:-1] + ")" if head.endswith(";") else head[:-1].rstrip()


def _status(s: str) -> str:
    """A verdict as the box says it: 'incomplete: 8/18 runs' -> 'incomplete (8 of 18 runs shipped)'."""
    if s.startswith("incomplete:"):
        got, _, rest = s.split(":", 1)[1].strip().partition(" ")
        have, want = got.split("/")
        return f"**incomplete** ({have} of {want} {rest} shipped)"
    return f"**{s}**"


def _size_of(key: str) -> str:
    """'F4 (n = 1,000, one rate)' -> '1,000'."""
    import re
    m = re.search(r"n = ([\d,]+)", key)
    return m.group(1).rstrip(",") if m else key


def _cell(runs, s, n):
    return sorted((r for r in runs if student(r) == s and train_size(r) == n), key=lambda r: r.seed)


def _kl_low(r: Run) -> float:
    """A run's lowest exact KL after step 0 (nats/image)."""
    s, v = r.series("kl")
    v = [float(x) for st, x in zip(s, v) if st > 0 and np.isfinite(x)]
    return min(v) if v else float("nan")


def lesson_numbers(runs: list[Run], s: str = _M.TEACHER_SIZE) -> dict:
    """The headline of the idea: student ``s`` on the smallest training set, median over seeds:
    final training and validation bits/dim, the KL at its lowest and at the end, its control's
    final KL; and the teacher's own bits/dim (its entropy in MNIST units)."""
    n = _M.finite_sizes(runs)[0]
    rs, cs = _cell(runs, s, n), _cell(runs, s, 0)
    med = lambda v: float(np.nanmedian(v)) if len(v) else float("nan")   # noqa: E731
    return {"n": n, "seeds": len(rs),
            "train": med([end_value(r, "train_eval_bpd") for r in rs]),
            "val": med([end_value(r) for r in rs]),
            "best_val": med([_M.early_stop(r)[1] for r in rs]),
            "kl_low": med([_kl_low(r) for r in rs]),
            "kl_final": med([value_at(r, "kl") for r in rs]),
            "kl_control": med([value_at(r, "kl") for r in cs]),
            "teacher_bpd": teacher_entropy_bpd()}


def findings_points(runs: list[Run], preset: str) -> list[str]:
    """The "What this chapter finds" box of chapter 9: the idea's headline numbers, then the
    calibrated verdicts of F3, F4 and F5 with their counts, the first rules' beside each as a
    sub-point, and the long controls shipped so far. Markdown, one string per bullet."""
    from flowlib.studies import misspecification_calibrated as cal
    first, calib = verdicts(runs, preset)
    x = lesson_numbers(runs)
    pts = [f"**Finite data, exact distance.** On {x['n']:,} images the teacher-size student's "
           f"training bits/dim ends at {x['train']:.2f}, below the teacher's own "
           f"{x['teacher_bpd']:.2f}, while its exact KL to the teacher rises from "
           f"{x['kl_low']:,.0f} nats/image at its lowest to {x['kl_final']:,.0f} at the end "
           f"(median of {x['seeds']} seeds); on fresh data (its control) it ends at "
           f"{x['kl_control']:,.0f}. Training NLL falls while the distance to the truth grows."]
    f4 = {k: v for k, v in calib.items() if k.startswith("F4")}
    f4_first = {k: v for k, v in first.items() if k.startswith("F4")}
    sizes = _M.finite_sizes(runs)[:_M.VERDICT_SIZES]
    val = {(s, n): float(np.nanmedian([end_value(r) for r in _cell(runs, s, n)]))
           for s in _M.DESIGN_STUDENTS for n in sizes}
    pts.append(
        "**F4, a smaller student validating better than the teacher-size one, at one learning "
        "rate (calibrated):** " + "; ".join(f"at {_size_of(k)} images {_status(v['status'])}"
                                            for k, v in f4.items())
        + ".\n  - First rule (each student at its own searched rate): "
        + "; ".join(f"at {_size_of(k)} images **{v['status']}**" for k, v in f4_first.items())
        + ". Final validation bits/dim (median), tiny against the teacher-size student: "
        + "; ".join(f"{val[('tiny', n)]:.2f} against {val[(_M.TEACHER_SIZE, n)]:.2f} at {n:,} images"
                    for n in sizes) + ".")
    # F3: the first rule's tolerance against the distance between two seeds of one control
    within = {s: cal.within_distance([r.series("val_bpd") for r in _cell(runs, s, 0)])
              for s in _M.DESIGN_STUDENTS}
    within = {s: w for s, w in within.items() if np.isfinite(w)}
    pts.append(
        f"**F3, different training NLL but alike convergence (calibrated, on the long controls):** "
        f"{_status(calib['F3']['status'])}.\n  - First rule: **{first['F3']['status']}**, but its "
        f"shape tolerance ({_M.TOL_SHAPE}) is smaller than the distance between two seeds of one "
        f"student's own control (up to {max(within.values()):.2f}): it fails a student against "
        "itself, so that verdict says nothing.")
    readings = cal.f5_readings(runs)
    outs = [cal.f5_outcome(r["dk"], r["df"], r["kl_noise"], r["fid_noise"]) for r in readings]
    over = [r for r, o in zip(readings, outs) if o in ("hit", "miss", "inconclusive")]
    fac = lambda k: math.exp(float(np.median([r[k] for r in over]))) if over else float("nan")   # noqa: E731
    pts.append(
        f"**F5, overfitting hurts NLL more than FID (calibrated):** {_status(calib['F5']['status'])}: "
        f"{len(over)} of {len(readings)} finite-set runs overfit beyond their own control's seed "
        f"noise; of those {outs.count('hit')} hit, {outs.count('miss')} miss and "
        f"{outs.count('inconclusive')} are inconclusive. Against its control a median run's KL "
        f"grew x{fac('dk'):.1f}, its FID x{fac('df'):.2f}.\n  - First rule: "
        f"**{first['F5']['status']}** ({first['F5']['numbers'].split(';')[0]}).")
    extra = extra_studies(runs, preset)
    want = len(cal.long_jobs(preset)) if preset != "smoke" else 0
    gaps = [(r, cal.long_gap(r)) for r in sorted(extra["long"], key=lambda r: r.name)]
    pts.append(
        f"**How close each student gets to the teacher** (infinite data, 30 000 steps): "
        f"{len(gaps)} of {want} long controls shipped"
        + (": " + "; ".join(f"{student(r)} seed {r.seed} ends {g['kl']:,.0f} ± {g['kl_se']:.0f} "
                            f"nats/image ({g['kl_bpd']:.3f} bits/dim) above it" for r, g in gaps)
           if gaps else "") + ".")
    return pts


def lesson_figure(runs: list[Run], s: str = _M.TEACHER_SIZE, seed: int = 0):
    """The idea in one run: student ``s`` on the smallest training set (one seed). Above: its
    training and validation bits/dim with the teacher's own bits/dim and the validation of its
    infinite-data control; below: the exact KL to the teacher of the run and of its control
    (log axis). Legends above the panels, outside the data."""
    x = lesson_numbers(runs, s)
    n = x["n"]
    run = next(r for r in _cell(runs, s, n) if r.seed == seed)
    ctrl = next((r for r in _cell(runs, s, 0) if r.seed == seed), None)
    fig, (a, b) = plt.subplots(2, 1, figsize=(7.2, 6.4), sharex=True)
    st, v = run.series("train_eval_bpd")
    a.plot(st[st > 0], v[st > 0], "--", color="C3", label=f"training images ({n:,})")
    st, v = run.series("val_bpd")
    a.plot(st[st > 0], v[st > 0], "-", color="C3", label="validation images")
    if ctrl is not None:
        st, v = ctrl.series("val_bpd")
        a.plot(st[st > 0], v[st > 0], ":", color="0.4", label="control (fresh data), validation")
    a.axhline(x["teacher_bpd"], color="k", lw=0.8, label="the teacher's own bits/dim")
    log_axis(a)
    a.set(ylabel="bits/dim (MNIST units)")
    a.legend(fontsize=9, ncol=2, loc="lower left", bbox_to_anchor=(0, 1.02), frameon=False)
    st, v = run.series("kl")
    b.plot(st[st > 0], v[st > 0], "o-", color="C3", label=f"trained on {n:,} images")
    if ctrl is not None:
        st, v = ctrl.series("kl")
        b.plot(st[st > 0], v[st > 0], "o:", color="0.4", label="control (fresh data)")
    log_axis(b)
    b.set(xlabel="training step", ylabel="exact KL(teacher ‖ student)\nnats/image")
    b.legend(fontsize=9, ncol=2, loc="lower left", bbox_to_anchor=(0, 1.02), frameon=False)
    fig.tight_layout()
    return fig


def figure_notes(runs: list[Run], s: str = _M.TEACHER_SIZE, seed: int = 0) -> dict[str, str]:
    """The numbers under the chapter's three main figures, read from the runs (the captions say
    what to look at and carry no number): ``idea`` (student ``s``, seed ``seed``, on the
    smallest set: its exact KL at the first check and at the end, its control's at the end),
    ``curves`` (the highest median validation bits/dim each student reaches there) and
    ``early_final`` (the early-stopped and final KL there, median over seeds, per student)."""
    n = _M.finite_sizes(runs)[0]
    med = lambda v: float(np.nanmedian(v)) if len(v) else float("nan")   # noqa: E731
    out = {}
    run = next((r for r in _cell(runs, s, n) if r.seed == seed), None)
    ctrl = next((r for r in _cell(runs, s, 0) if r.seed == seed), None)
    if run is not None:
        st, v = run.series("kl")
        first = next((float(x) for a, x in zip(st, v) if a > 0 and np.isfinite(x)), float("nan"))
        out["idea"] = (f"In this run the exact KL goes from **{first:,.0f}** nats/image at its "
                       f"first check to **{value_at(run, 'kl'):,.0f}** at the end"
                       + (f", while its control ends at **{value_at(ctrl, 'kl'):,.0f}**"
                          if ctrl is not None else "") + ".")
    peaks = []
    for t in _M.DESIGN_STUDENTS:
        rs = _cell(runs, t, n)
        if rs:
            # after step 0: the untrained network's check is not the student's climb
            tops = [np.nanmax(v[st > 0]) for st, v in (r.series("val_bpd") for r in rs)]
            peaks.append(f"{t} {med(tops):.1f}")
    if peaks:
        out["curves"] = (f"The highest validation bits/dim each student reaches on {n:,} images "
                         "(median over seeds): " + ", ".join(peaks) + ".")
    pairs = []
    for t in _M.DESIGN_STUDENTS:
        rs = _cell(runs, t, n)
        early = [_M._nearest(r, "kl", _M.early_stop(r)[0]) for r in rs if _M.early_stop(r)[0]]
        early = [x for x in early if x is not None]
        final = [value_at(r, "kl") for r in rs]
        if early and final:
            e, f = med(early), med(final)
            pairs.append(f"{t} {e:,.0f} → {f:,.0f} (×{f / e:.0f})")
    if pairs:
        out["early_final"] = (f"The exact KL on {n:,} images, early-stopped → final (nats/image, "
                              "median over seeds): " + "; ".join(pairs) + ".")
    return out


def shared_rate_text(runs: list[Run], preset: str) -> str:
    """The specification contrast at one learning rate (the calibrated F4), read from the runs:
    every student's final validation bits/dim at the shared rate per training-set size (median
    and range over seeds), which smaller students end below the teacher-size student in every
    seed, and the verdict. Empty until the shared-rate runs are shipped."""
    from flowlib.studies import misspecification_calibrated as cal
    from flowlib.studies.findings import decided
    shared = extra_studies(runs, preset)["shared-lr"]
    _, calib = verdicts(runs, preset)
    keys = [k for k in calib if k.startswith("F4") and "one rate" in k]
    if not shared or not keys or not all(decided(calib[k]) for k in keys):
        return ""
    ref = _M.TEACHER_SIZE
    parts, below_all = [], {}
    for k in keys:
        n = int(_size_of(k).replace(",", ""))
        v = cal.shared_rate_values(runs, shared, n)
        parts.append(f"on {n:,} images " + ", ".join(
            f"`{t}` {median_range(v[t]['final'], '.2f')}" for t in _M.DESIGN_STUDENTS if v[t]["final"]))
        below_all[n] = [t for t in _M.DESIGN_STUDENTS if _M.relation(t) == "smaller" and v[t]["final"]
                        and max(v[t]["final"]) < min(v[ref]["final"])]
    says = "; ".join(f"{', '.join(f'`{t}`' for t in below) or 'no smaller student'} at {n:,}"
                     for n, below in below_all.items())
    verdict = ", ".join(f"*{calib[k]['status']}* at {_size_of(k)}" for k in keys)
    rate = f"{cal.SHARED_LR:.0e}".replace("e-0", "e-")
    slim_below = all("slim" in b for b in below_all.values())
    return (f"**At one learning rate ({rate} for every student, the calibrated F4), the contrast "
            f"is one of specification.** Final validation bits/dim (median and range over seeds): "
            f"{'; '.join(parts)}. Ending below the teacher-size student in every seed: {says}. "
            f"The calibrated F4: {verdict}. "
            + ("At the searched rates (below), `slim` ended *above* the teacher-size student; at "
               "one rate it ends below it at every size, so that contrast was the rates', not "
               "the specification's." if slim_below else
               "At one rate `slim` does not end below the teacher-size student at every size, as "
               "at the searched rates (below)."))


def summary_table(runs: list[Run]) -> str:
    """Markdown, one row per student: the exact KL to the teacher (nats/image, median over
    seeds) at the end of training and, in brackets, where early stopping would stop, for each
    training-set size and the infinite-data control. The full table (ranges, validation
    bits/dim, FID) is :func:`early_final_table`."""
    from flowlib.studies.misspecification import early_and_final
    sizes = [*_M.finite_sizes(runs), 0]
    head = ("| student | " + " | ".join("control" if n == 0 else f"{n:,} images" for n in sizes)
            + " |\n|---|" + "---:|" * len(sizes) + "\n")
    body = ""
    for s in [s for s in LADDER if any(student(r) == s for r in runs)]:
        cells = []
        for n in sizes:
            ef = [early_and_final(r)["kl"] for r in _cell(runs, s, n)]
            fin = [f for _, f in ef if np.isfinite(f)]
            early = [e for e, _ in ef if np.isfinite(e)]
            cells.append("—" if not fin else f"{np.median(fin):,.0f}"
                         + (f" ({np.median(early):,.0f})" if early and n else ""))
        body += f"| {s} ({relation(s)}) | " + " | ".join(cells) + " |\n"
    return head + body


def early_above_final(runs: list[Run]) -> list[dict]:
    """The cells (student, finite size) whose early-stopped KL (median over seeds) lies above
    their final KL, and for each seed what was read: the step of the lowest validation
    bits/dim, the quality check the KL was read at (the nearest; KL is measured every fifth
    check), the validation bits/dim there, the KL there and at the last quality check at or
    before the early-stopping step."""
    from flowlib.studies.misspecification import early_and_final
    out = []
    for n in _M.finite_sizes(runs):
        for s in LADDER:
            rs = _cell(runs, s, n)
            ef = [early_and_final(r)["kl"] for r in rs]
            if not rs or not np.nanmedian([e for e, _ in ef]) > np.nanmedian([f for _, f in ef]):
                continue
            seeds = []
            for r, (e, f) in zip(rs, ef):
                step, best = _M.early_stop(r)
                ks, kv = r.series("kl")
                ks, kv = ks[ks > 0], kv[ks > 0]
                read = int(ks[np.argmin(np.abs(ks - step))])
                before = [(int(a), float(b)) for a, b in zip(ks, kv) if a <= step]
                vs, vv = r.series("val_bpd")
                seeds.append({"seed": r.seed, "best_step": step, "best_val": best, "read_step": read,
                              "val_at_read": float(vv[list(vs).index(read)]) if read in vs else float("nan"),
                              "kl_early": e, "kl_final": f,
                              "kl_before": before[-1] if before else None,
                              "unstable": _M.unstable(r)})
            out.append({"student": s, "n": n, "early": float(np.nanmedian([e for e, _ in ef])),
                        "final": float(np.nanmedian([f for _, f in ef])), "seeds": seeds})
    return out


def anomaly_text(runs: list[Run]) -> str:
    """Markdown explaining every cell of :func:`early_above_final`: why the early-stopped KL can
    lie above the final one (a median of two seeds, one read inside a blow-up)."""
    cells = early_above_final(runs)
    if not cells:
        return "In every cell the early-stopped KL lies at or below the final one."
    parts = []
    for c in cells:
        seeds = c["seeds"]
        head = (f"**Why is the early-stopped KL above the final one for {c['student']} at "
                f"{c['n']:,} images?** Its {c['early']:,.0f} is the median of {len(seeds)} seeds, "
                + " and ".join(f"{x['kl_early']:,.0f}" for x in seeds)
                + f" (final: {c['final']:,.0f}, from " + " and ".join(f"{x['kl_final']:,.0f}" for x in seeds)
                + "); with two seeds the median is their mean, so one bad reading is half of it. ")
        odd = [x for x in seeds if x["read_step"] > x["best_step"] and x["val_at_read"] > x["best_val"] + 0.1]
        for x in odd:
            kb = x["kl_before"]
            head += (f"Seed {x['seed']}'s validation bits/dim was lowest at step {x['best_step']:,} "
                     f"({x['best_val']:.3f}). The KL is measured only every 500 steps and read at the "
                     f"measurement nearest that step: step {x['read_step']:,}, "
                     f"{x['read_step'] - x['best_step']} steps later, when the run had just blown up "
                     f"(validation {x['val_at_read']:.2f} bits/dim there"
                     + ("; F6's first rule flags its gradient spike" if x["unstable"] else "")
                     + f"). The {x['kl_early']:,.0f} is the blow-up's KL, not the early-stopped "
                     "model's"
                     + (f"; at step {kb[0]:,}, the last measurement before the best step, the KL "
                        f"was {kb[1]:,.0f}" if kb else "") + ". ")
        head += ("Early stopping did not pick a worse model; the table reads the KL of a model a "
                 "few hundred steps away from it. The reading is the one F5's first rule uses, so "
                 "it is left as it was stated and explained here instead.") if odd else ""
        parts.append(head)
    return "\n\n".join(parts)


def dropdown(title: str, body: str, open_: bool = False) -> str:
    """MyST Markdown for a collapsed block (a sphinx-design dropdown) holding ``body``."""
    return f"::::{{dropdown}} {title}\n" + (":open:\n" if open_ else "") + f"\n{body}\n::::\n"


def calibrated_provenance(runs: list[Run], preset: str) -> str:
    """Where the calibrated rules' own runs stand: shipped and awaited, with their provenance."""
    from flowlib.studies import misspecification_calibrated as cal
    from flowlib.studies.results import provenance
    extra = extra_studies(runs, preset)
    shown = runs[0].spec.get("preset", preset) if runs else preset
    want = {"long": {j.name for j in cal.long_jobs(shown)} if shown != "smoke" else set(),
            "shared-lr": {j.name for j in cal.shared_jobs(shown)}}
    out = []
    for name, what in (("long", "The long controls (30 000 steps on fresh data)"),
                       ("shared-lr", "The specification contrast at one learning rate (2e-3)")):
        got = {r.name for r in extra[name]}
        missing = sorted(want[name] - got)
        out.append(f"**{what}**: {len(got & want[name])} of {len(want[name])} runs shipped in "
                   f"<code>results/misspecification-{name}-{shown}</code>"
                   + (f"; still training or waiting: {', '.join(f'<code>{m}</code>' for m in missing)}"
                      if missing else "") + ". "
                   + (provenance(extra[name], "") if extra[name] else ""))
    return "\n\n".join(out)


def exercise_kl_answer(runs: list[Run], s: str = _M.TEACHER_SIZE, seed: int = 0):
    """The answer of exercise 1: the run's last logged KL and its standard error."""
    from flowlib.book.lesson import answer
    n = _M.finite_sizes(runs)[0]
    r = next(r for r in _cell(runs, s, n) if r.seed == seed)
    kl, se = value_at(r, "kl"), value_at(r, "kl_se")
    return answer(
        f"With the 1 000 samples you get {kl:,.1f} ± {se:.1f} nats/image, the run's last logged "
        "value to the printed digits: the same weights, the same held-out samples and the "
        "teacher's log-densities stored with them, so nothing is random. With 200 samples the "
        f"estimate moves by a few of its own standard errors, which are about √5 ≈ 2.2 times "
        f"larger (roughly ± {2.24 * se:.0f}): a smoke-size check confirms the order of magnitude, "
        "not the digits.")


def exercise_ratio_answer(runs: list[Run]):
    """The answer of exercise 2: per training-set size, the final KL over the early-stopped KL
    (medians over seeds), median and range over students."""
    from flowlib.book.lesson import answer
    from flowlib.studies.misspecification import early_and_final
    parts, below = [], []
    for n in _M.finite_sizes(runs):
        ratios = []
        for s in LADDER:
            ef = [early_and_final(r)["kl"] for r in _cell(runs, s, n)]
            e, f = np.nanmedian([a for a, _ in ef]) if ef else np.nan, np.nanmedian([b for _, b in ef]) if ef else np.nan
            if np.isfinite(e) and np.isfinite(f) and e > 0:
                ratios.append(f / e)
                if f / e < 0.9:
                    below.append(f"{s} at {n:,} images (x{f / e:.1f})")
        if ratios:
            parts.append(f"{n:,} images: x{np.median(ratios):.1f} ({min(ratios):.1f}–{max(ratios):.1f})")
    return answer(
        "Final KL over early-stopped KL, median over the four students (their range): "
        + "; ".join(parts) + ". Early stopping is worth a factor of several at 300 images, a "
        "little at 1 000, and nothing from 3 000 on, where the curves no longer climb."
        + (" The ratios well below 1 (" + "; ".join(below) + ") are cells whose early value was "
           "read inside a blow-up: see the explanation under the table." if below else ""))


def exercise_f5_answer():
    """The answer of exercise 3, computed by the rule itself."""
    from flowlib.book.lesson import answer
    from flowlib.studies import misspecification_calibrated as cal
    L = math.log
    dk, df, kn = L(5), L(1.5), L(1.3)
    a, b = cal.f5_outcome(dk, df, kn, L(1.6)), cal.f5_outcome(dk, df, kn, L(1.1))
    r = cal.F5_RATIO
    return answer(
        f"In logs: dk = log 5 = {dk:.2f} beats the KL noise log 1.3 = {kn:.2f}, so the run "
        f"overfits. A hit needs dk ≥ {r:g} × (df + FID noise) = {r:g} × ({df:.2f} + {L(1.6):.2f}) "
        f"= {r * (df + L(1.6)):.2f}: no. A miss needs df − FID noise = {df - L(1.6):.2f} ≥ dk / {r:g} "
        f"= {dk / r:.2f}: no. So the rule says **{a}**: FID's noise could hide a growth up to "
        f"x{1.5 * 1.6:.1f}, too much to tell. With a noise of only x1.1 the bound is "
        f"{r:g} × ({df:.2f} + {L(1.1):.2f}) = {r * (df + L(1.1)):.2f} ≤ {dk:.2f}, and the rule says "
        f"**{b}**. The same two growth factors are inconclusive or a hit depending on how noisy "
        "FID is between seeds, which is why the calibrated rule measures that noise instead of "
        "assuming a bootstrap error.")


# ------------------------------------------------------------------ the study's tables (Markdown)
# The book layer's: the study module holds the design, the rules and the readers.
from flowlib.models.realnvp import SIZES, RealNVP  # noqa: E402
from flowlib.studies.misspecification import (DESIGN_STUDENTS, LR_SEARCH, early_and_final,  # noqa: E402
                                              early_stop, search_score, select_lrs)

def parameter_table() -> str:
    lines = ["| size | vs teacher | parameters | couplings (checkerboard/channel/last) | width | blocks |",
             "|---|---|---|---|---|---|"]
    for name, cfg in SIZES.items():
        lines.append(f"| {name} | {relation(name)} | {RealNVP(cfg).num_parameters():,} | "
                     f"{cfg.checkerboard}/{cfg.channelwise}/{cfg.last} | {cfg.width} | {cfg.blocks} |")
    return "\n".join(lines)

def search_table(search: list[Run]) -> str:
    """Markdown: the rate search, one row per student and rate: the score (median validation
    bits/dim of the last checks), the lowest and the last check, and which rate is selected
    (once every rate of the student's search has finished)."""
    chosen = select_lrs(search)
    head = ("| student | learning rate | score (median of the last checks) | lowest check | "
            "last check | selected |\n|---|---|---|---|---|---|\n")
    body = ""
    for s in DESIGN_STUDENTS:
        for lr in LR_SEARCH["lrs"]:
            r = next((x for x in search if x.spec.get("student") == s and x.spec.get("lr") == lr), None)
            if r is None:
                body += f"| {s} | {lr:g} | not run yet | | | |\n"
                continue
            _, v = r.series("val_bpd")
            score = search_score(r)
            mark = ("**yes**" if chosen.get(s) == lr else "") if s in chosen else "(search running)"
            body += (f"| {s} | {lr:g} | {'—' if score is None else f'{score:.3f}'} | "
                     f"{np.nanmin(v):.3f} | {v[-1]:.3f} | {mark} |\n")
    return head + body

def early_final_table(runs: list[Run]) -> str:
    """Markdown: per student and training-set size, early-stopped (at the lowest validation
    bits/dim) and final figures side by side (:func:`early_and_final`), median and range over
    seeds: validation bits/dim, exact KL (nats/image), LeNet-FID against teacher samples with
    its bootstrap standard error."""
    head = ("| student | training set | seeds | best-val step | validation bits/dim: best → final "
            "| exact KL: best → final | LeNet-FID: best → final (± s.e.) |\n|---|---|---|---|---|---|---|\n")
    body = ""
    cells: dict = {}
    for r in runs:
        cells.setdefault((train_size(r), LADDER.index(student(r)), student(r)), []).append(r)
    for (n, _, s), rs in sorted(cells.items(), key=lambda kv: ((kv[0][0] or 10**9), kv[0][1])):
        steps = [e for r in rs if (e := early_stop(r)[0]) is not None]
        ef = [early_and_final(r) for r in rs]

        def pair(k, fmt=".1f"):
            return f"{median_range([x[k][0] for x in ef], fmt)} → {median_range([x[k][1] for x in ef], fmt)}"
        body += (f"| {s} | {'infinite (control)' if n == 0 else f'{n:,}'} | {len(rs)} | "
                 f"{median_range(steps, '.0f')} | {pair('val_bpd', '.3f')} | {pair('kl')} | "
                 f"{pair('fid')} (± {median_range([x['fid_se'][1] for x in ef])}) |\n")
    return head + body

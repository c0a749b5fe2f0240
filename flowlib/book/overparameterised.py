"""Companion of the chapter *Overparameterised models* (``book/overparameterised.py``): its
figures. The numbers (F6's counts, its rule) live in :mod:`flowlib.studies.misspecification`."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from flowlib.book.plots import COLUMN_IN, log_axis, panel_grid, symlog_axis
from flowlib.models.realnvp import SIZES, RealNVP
from flowlib.studies.misspecification import (LADDER, TEACHER_SIZE, finite_sizes, overfitting_gap,
                                              relation, speed, student, student_speeds, train_size,
                                              unstable)
from flowlib.studies.results import Run, median_range, value_at

COUNTS = (("training\nimages / s", speed),
          ("overfitting gap\n(bits/dim)", lambda r: overfitting_gap(r)[1]),
          ("final LeNet-FID\nvs teacher", lambda r: value_at(r, "fid")))


def counts_figure(runs: list[Run]):
    """Speed, overfitting gap and final FID against the student's parameter count (each
    student's tick names it): gap and FID one line per finite training-set size, the median
    over seeds with the seeds' range as an error bar; the dotted line is the teacher's size.
    The speed panel shows the quiet-machine benchmark in black (what F6 reads), where shipped,
    and the runs' own logged speeds (all finite-set runs of the student, median and range) in
    grey: made on another machine, sharing its CPU, they compare with each other, not with
    the benchmark. One legend above the panels, outside the data."""
    fig, axes = plt.subplots(3, 1, figsize=(COLUMN_IN, 8.6))  # stacked, to stay legible
    bench = student_speeds(runs[0].spec.get("preset", "quick")) if runs else {}
    present = [s for s in LADDER if any(student(r) == s for r in runs)]
    nparams = {s: next((r.manifest.get("results", {}).get("parameters") for r in runs
                        if student(r) == s and r.manifest.get("results", {}).get("parameters")), None)
               or RealNVP(SIZES[s]).num_parameters() for s in present}
    for i, n in enumerate(finite_sizes(runs)):
        cells = [(s, [r for r in runs if student(r) == s and train_size(r) == n]) for s in present]
        cells = [(s, rs) for s, rs in cells if rs]
        for ax, (_, get) in zip(axes[1:], COUNTS[1:]):
            vals = [[v for r in rs if (v := get(r)) is not None and np.isfinite(v)] for _, rs in cells]
            keep = [j for j, v in enumerate(vals) if v]
            mid = np.array([np.median(vals[j]) for j in keep])
            err = np.array([[mid[k] - min(vals[j]), max(vals[j]) - mid[k]] for k, j in enumerate(keep)]).T
            ax.errorbar([nparams[cells[j][0]] for j in keep], mid, yerr=err if len(keep) else None,
                        fmt="o-", color=f"C{i}", capsize=3, label=f"{n:,} images")
    logged = {s: [v for r in runs if student(r) == s and train_size(r) > 0 and (v := speed(r))]
              for s in present}
    ss = [s for s in present if logged[s]]
    if ss:
        mid = np.array([np.median(logged[s]) for s in ss])
        axes[0].errorbar([nparams[s] for s in ss], mid,
                         yerr=np.array([[m - min(logged[s]), max(logged[s]) - m] for m, s in zip(mid, ss)]).T,
                         fmt="o--", color="0.5", capsize=3, label="the runs' own logs (busy CPU, another machine)")
    if bench:
        sb = [s for s in present if s in bench]
        axes[0].plot([nparams[s] for s in sb], [bench[s] for s in sb], "ks-",
                     label="quiet benchmark (what F6 reads)")
    teacher = RealNVP(SIZES[TEACHER_SIZE]).num_parameters()
    for ax, (title, _) in zip(axes, COUNTS):
        ax.axvline(teacher, color="k", ls=":", lw=1)
        ax.set_xscale("log")
        ax.set_xticks([nparams[s] for s in present], [f"{s}\n{nparams[s] / 1000:.0f}k" for s in present])
        ax.minorticks_off()
        ax.set_ylabel(title, fontsize=10)
        if not ax.get_legend_handles_labels()[0]:   # a study still waiting for its first run
            ax.text(0.5, 0.5, "no finite-set run has finished yet", transform=ax.transAxes,
                    ha="center", va="center")
    axes[-1].set_xlabel("student (parameters)")
    if axes[0].get_legend_handles_labels()[0]:
        axes[0].legend(fontsize=9, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=1, frameon=False)
    if axes[1].get_legend_handles_labels()[0]:
        axes[1].legend(fontsize=9, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=4, frameon=False,
                       title="trained on", title_fontsize=9, alignment="left")
    if finite_sizes(runs):
        log_axis(axes[0])
        lo = min([*bench.values(), *[x for v in logged.values() for x in v]], default=None)
        if lo:   # a labelled power of ten below the slowest student
            axes[0].set_ylim(bottom=0.9 * 10 ** np.floor(np.log10(lo)))
        # gaps run from 17 bits/dim at 300 images to about 0 (or just below) at 10 000, and one
        # unstable seed's FID is ten times the rest: linear axes would flatten every other point
        symlog_axis(axes[1], 0.1)
        log_axis(axes[2])
    for ax in axes:   # set_xticks above is kept; log_axis only touched y
        ax.set_xlim(min(nparams.values()) / 1.3, max(nparams.values()) * 1.3) if nparams else None
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


# ------------------------------------------------------------------ the lesson (issue 32)
def _cell(runs, s, n):
    return sorted((r for r in runs if student(r) == s and train_size(r) == n), key=lambda r: r.seed)


def _larger() -> str:
    return next(s for s in LADDER if relation(s) == "larger")


def _props(numbers: str) -> dict[str, bool]:
    """'slow: 1/1 (supported); unstable: 0/1 (not supported); ...' -> {'slow': True, ...}:
    a property holds when it holds for every larger student."""
    out = {}
    for part in numbers.split("; "):
        name, _, rest = part.partition(": ")
        k, _, m = rest.split(" ")[0].partition("/")
        if k.isdigit() and m.isdigit():
            out[name] = int(m) > 0 and int(k) == int(m)
    return out


def _say(props_by_size: dict[int, dict[str, bool]]) -> str:
    """The properties in words, once when every size agrees, per size otherwise."""
    names = list(next(iter(props_by_size.values()), {}))
    parts = []
    for name in names:
        vals = {n: p.get(name) for n, p in props_by_size.items()}
        if len(set(vals.values())) == 1:
            parts.append(f"{name} {'yes' if next(iter(vals.values())) else 'no'}")
        else:
            parts.append(f"{name} " + ", ".join(f"{'yes' if v else 'no'} at {n:,}" for n, v in vals.items()))
    return ", ".join(parts)


def findings_points(runs: list[Run], preset: str) -> list[str]:
    """The "What this chapter finds" box of chapter 10: F6's calibrated verdict per size with
    its four properties, the first rule's beside it, and the headline numbers of each
    property (larger student against the teacher-size one), all read from the shipped runs."""
    from flowlib.book.misspecification import verdicts
    from flowlib.studies import misspecification_calibrated as cal
    from flowlib.studies.misspecification import SPIKE_FACTOR, VERDICT_SIZES
    first, calib = verdicts(runs, preset)
    big, ref = _larger(), TEACHER_SIZE
    bench = student_speeds(runs[0].spec.get("preset", preset) if runs else preset)
    sizes = finite_sizes(runs)[:VERDICT_SIZES]
    c_props = {n: _props(calib[f"F6 (n = {n:,})"]["numbers"]) for n in sizes}
    f_props = {n: _props(first[f"F6 (n = {n:,})"]["numbers"]) for n in sizes}
    differ = sorted({k for n in sizes for k in c_props[n] if c_props[n][k] != f_props[n].get(k)})
    holds = {k: all(c_props[n].get(k) for n in sizes) for k in next(iter(c_props.values()), {})}

    def med(v):
        v = [x for x in v if x is not None and np.isfinite(x)]
        return float(np.median(v)) if v else float("nan")

    def yes(k):
        return "yes" if holds.get(k) else "no"
    pts = ["**F6, overparameterised students are slow, unstable, overfit heavily and give poorer "
           "images (calibrated):** " + "; ".join(f"at {n:,} images **{calib[f'F6 (n = {n:,})']['status']}**"
                                                 for n in sizes)
           + f": {_say(c_props)}.\n  - First rule: " + "; ".join(
               f"at {n:,} images **{first[f'F6 (n = {n:,})']['status']}**" for n in sizes)
           + f": {_say(f_props)}"
           + (f". The two rules differ on {', '.join(differ)}: see below." if differ else ".")]
    if big in bench and ref in bench:
        pts.append(f"**Slow: {yes('slow')}.** The larger student ({big}, twice the teacher's "
                   f"parameters) trains at {bench[big]:.0f} images/s against the teacher-size "
                   f"student's {bench[ref]:.0f} on a quiet machine, "
                   f"{100 * (1 - bench[big] / bench[ref]):.0f}% fewer.")
    early = {s: [r for n in sizes for r in _cell(runs, s, n) if M_unstable(r)] for s in (big, ref)}
    late = {s: [r for n in sizes for r in _cell(runs, s, n) if cal.unstable_after(r)] for s in (big, ref)}
    ctrl = [r for r in _cell(runs, big, 0) if M_unstable(r)]
    total = {s: sum(len(_cell(runs, s, n)) for n in sizes) for s in (big, ref)}
    at = []
    for r in [*early[big], *ctrl]:
        g = [(x["step"], x["grad_norm"]) for x in r.rows if "grad_norm" in x and np.isfinite(x["grad_norm"])]
        m = np.median([v for _, v in g])
        at += [st for st, v in g if v > SPIKE_FACTOR * m]
    pts.append(f"**Unstable: {yes('unstable')}" + (", not beyond its own controls" if not holds.get("unstable") else "")
               + f".** A gradient spike (over {SPIKE_FACTOR:g} times the run's median) hits "
               f"{len(early[big])} of its {total[big]} runs at {' and '.join(f'{n:,}' for n in sizes)} "
               f"images, but also {len(ctrl)} of its {len(_cell(runs, big, 0))} controls on fresh data"
               + (f", every spike between step {min(at)} and {max(at)}, around the end of the "
                  "learning rate's warm-up" if at else "")
               + f"; after step {cal.F6_FROM}, {len(late[big])} of its runs spike (the teacher-size "
               f"student's: {len(late[ref])} of {total[ref]}).")
    gaps = {(s, n): med([overfitting_gap(r)[1] for r in _cell(runs, s, n)]) for s in (big, ref) for n in sizes}
    pts.append(f"**Overfits heavily: {yes('overfits heavily')}.** Validation minus training "
               "bits/dim at the end (median): " + "; ".join(
                   f"{gaps[(big, n)]:.1f} against {gaps[(ref, n)]:.2f} at {n:,} images" for n in sizes) + ".")
    fids = {(s, n): med([value_at(r, "fid") for r in _cell(runs, s, n)]) for s in (big, ref) for n in sizes}
    pts.append(f"**Poorer images: {yes('poorer images')}.** Final LeNet-FID against teacher samples "
               "(median): " + "; ".join(f"{fids[(big, n)]:.0f} against {fids[(ref, n)]:.0f} at {n:,} images"
                                        for n in sizes) + ".")
    return pts


def M_unstable(r: Run) -> bool:
    """F6's first-rule instability (:func:`flowlib.studies.misspecification.unstable`)."""
    from flowlib.studies.misspecification import unstable
    return unstable(r)


def speed_note(runs: list[Run], preset: str) -> str:
    """Why the quiet benchmark is slower than the busy runs' own logs, from the manifests: the
    benchmark ran on another machine (the one the first rate-search runs also ran on, slower
    still there), and its step keeps the default memory layout where the trainer uses
    channels-last. Neither touches F6, which compares students on one machine."""
    import collections
    import json
    from flowlib.studies.results import load_study, shipped_results
    shown = runs[0].spec.get("preset", preset) if runs else preset
    folder = shipped_results("student-speed", shown)
    if not (folder / "speeds.json").exists():
        return "*No quiet benchmark is shipped; F6 reads the runs' own logged speeds.*"
    bench = student_speeds(shown)
    bm = json.loads((folder / "manifest.json").read_text())
    try:
        search = load_study(shipped_results("misspecification-lr", shown))
    except Exception:   # noqa: BLE001 - the note works without the search
        search = []
    # a control adopted from the search is the same run twice: one entry per (student, end time)
    every = {(student(r), r.manifest.get("finished_utc")): r for r in [*runs, *search]}.values()
    by_dev = collections.defaultdict(lambda: collections.defaultdict(list))
    for r in every:
        v = speed(r)
        if v:
            by_dev[(r.manifest.get("device", "?"), str(r.manifest.get("finished_utc", ""))[:10])][student(r)].append(v)
    same = {k: v for k, v in by_dev.items() if k[0] == bm.get("device")}
    other = {k: v for k, v in by_dev.items() if k[0] != bm.get("device")}
    ref, big = TEACHER_SIZE, _larger()
    logged = {s: float(np.median([v for r in runs if student(r) == s and train_size(r) > 0
                                  and (v := speed(r))] or [np.nan])) for s in (ref, big)}
    text = (f"**Why is the quiet benchmark slower than the busy runs?** The benchmark measured "
            f"{bench[ref]:.0f} images/s for the teacher-size student; its finite-set runs, sharing "
            f"their CPU with another run, logged a median of {logged[ref]:.0f}. It is not the "
            "speed's arithmetic (both divide images by the seconds spent in training steps, one "
            f"thread each). Read from the manifests, the two come from different machines: the "
            f"benchmark ran on {bm.get('finished_utc', '?')[:10]} on a machine recorded only as "
            f"\"{bm.get('device')}\" (the code of that day did not yet record the CPU's model)")
    if same:
        text += ("; the only study runs recorded the same way, made that day, logged " + ", ".join(
            f"{s} {np.median(v):.0f}" for d in same.values() for s, v in sorted(d.items()))
            + " images/s there, slower than the benchmark, as busy runs should be")
    devs = sorted({d for d, _ in other})
    text += (". Every other run ran on " + " or ".join(f"\"{d}\"" for d in devs) + f" ({', '.join(sorted({day for _, day in other}))}). "
             + ("The benchmark times the trainer's own channels-last memory layout. "
                if json.loads((folder / "speeds.json").read_text()).get("channels_last") else
                "The benchmark's training step also keeps PyTorch's default memory layout, where "
                "the trainer converts every model to channels-last (its <code>channels_last</code> "
                "setting), which is faster for convolutions on many CPUs (a rough interleaved "
                "timing while this page was written, on a busy 2-core machine, gave about 1.2 "
                "times); the benchmark now times the trainer's layout, and this one was made "
                "before it did. ")
             + "Neither changes F6: *slow* compares students measured on one machine, and the larger "
             f"student's speed over the teacher-size student's is {bench[big] / bench[ref]:.2f} in "
             f"the benchmark and {logged[big] / logged[ref]:.2f} in the runs' logs.")
    return text


def exercise_speed_answer(runs: list[Run], preset: str):
    """Exercise 1's answer: the shipped ratios of the larger to the teacher-size student."""
    from flowlib.book.lesson import answer
    bench = student_speeds(runs[0].spec.get("preset", preset) if runs else preset)
    big, ref = _larger(), TEACHER_SIZE
    logged = {s: float(np.median([v for r in runs if student(r) == s and train_size(r) > 0
                                  and (v := speed(r))])) for s in (big, ref)}
    return answer(
        f"Your absolute numbers depend on your CPU (the shipped benchmark: {bench[ref]:.0f} "
        f"images/s for {ref}, {bench[big]:.0f} for {big}), but the ratio {big}/{ref} should come "
        f"out near the shipped {bench[big] / bench[ref]:.2f} (the runs' own logs give "
        f"{logged[big] / logged[ref]:.2f}): a convolution net with about twice the parameters "
        "does about twice the arithmetic per image. With 10 steps and one repeat the ratio is "
        "noisier than the shipped 30 steps × 3 repeats; on a busy machine, noisier still.")


def exercise_spikes_answer(runs: list[Run]):
    """Exercise 2's answer: where the larger student's gradient spikes fall, by run."""
    from flowlib.book.lesson import answer
    from flowlib.studies.misspecification import SPIKE_FACTOR
    big = _larger()
    steps = []
    for r in [r for r in runs if student(r) == big]:
        g = [(x["step"], x["grad_norm"]) for x in r.rows if "grad_norm" in x and np.isfinite(x["grad_norm"])]
        med = np.median([v for _, v in g]) if g else np.nan
        steps += [(r.name, st) for st, v in g if v > SPIKE_FACTOR * med]
    runs_with = sorted({n for n, _ in steps})
    at = [st for _, st in steps]
    return answer(
        f"{len(runs_with)} of the {sum(student(r) == big for r in runs)} runs of {big} have a "
        f"spike, {len(at)} spikes in all, at steps {min(at)}–{max(at)}" if at else "No spikes."
        ) if not at else answer(
        f"{len(runs_with)} of the {sum(student(r) == big for r in runs)} runs of {big} (controls "
        f"included) have a spike, {len(at)} logged spikes in all, every one between step "
        f"{min(at)} and step {max(at)}: inside or just after the learning rate's warm-up (200 "
        "steps), in the controls on fresh data as much as on 300 images. Counted from step 0 "
        "they make the larger student 'unstable'; counted after step 400, as the calibrated "
        "rule does, they do not.")


# ------------------------------------------------------------------ F6's table (Markdown)
# The book layer's: the study module holds the design, the rules and the readers.
def f6_table(runs: list[Run]) -> str:
    """Markdown: F6's four counts per student and finite training-set size, median and range
    over seeds: training images per second, unstable seeds (:func:`unstable`), the overfitting
    gap above the teacher's own bits/dim (:func:`overfitting_gap`), final LeNet-FID with its
    bootstrap standard error."""
    bench = student_speeds(runs[0].spec.get("preset", "quick")) if runs else {}
    head = ("| student | vs teacher | parameters | training set | seeds | images/s (F6's: "
            f"{'quiet benchmark' if bench else 'logged, no benchmark shipped'}) | images/s logged "
            "(busy CPU) | unstable seeds | gap (bits/dim) | LeNet-FID (± s.e.) |\n"
            "|---|---|---|---|---|---|---|---|---|---|\n")
    body = ""
    for n in finite_sizes(runs):
        for s in LADDER:
            rs = [r for r in runs if student(r) == s and train_size(r) == n]
            if not rs:
                continue
            p = rs[0].manifest.get("results", {}).get("parameters")
            logged = median_range([speed(r) for r in rs])
            body += (f"| {s} | {relation(s)} | {p:,} | {n:,} | {len(rs)} | "
                     f"{f'{bench[s]:.1f}' if s in bench else logged} | {logged} | "
                     f"{sum(unstable(r) for r in rs)} | "
                     f"{median_range([overfitting_gap(r)[1] for r in rs], '.3f')} | "
                     f"{median_range([value_at(r, 'fid') for r in rs])} (± {median_range([value_at(r, 'fid_se') for r in rs])}) |\n"
                     if p else "")
    return head + body if body else "*No finite-set run has finished yet.*"

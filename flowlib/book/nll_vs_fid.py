"""Companion of the chapter *What NLL and FID say about each other* (``book/nll_vs_fid.py``):
its findings box, figures and tables, all read from the shipped runs."""
from __future__ import annotations

import math
import re

import matplotlib.pyplot as plt
import numpy as np

from flowlib.book.nll_vs_gan import LOSS_COLOR as LOSS_COLORS  # one colour per loss, book-wide
from flowlib.studies.nll_vs_fid import Track

SIZE_COLORS = {300: "#d7301f", 1000: "#fc8d59", 3000: "#4a90c2", 10_000: "#08519c", 0: "0.1"}
LOSS_NAMES = {"nll": "NLL", "nsgan": "NSGAN", "wgan-gp": "WGAN-GP", "hybrid": "hybrid"}
STUDENTS = ("tiny", "slim", "small", "medium")


def _ok(t: Track) -> np.ndarray:
    return np.isfinite(t.nll) & np.isfinite(t.fid) & (t.fid > 0) & (t.nll > 0)


def train_size(run: str) -> int:
    """Experiment 2's training-set size from a run name ('small-n300-seed0' -> 300); 0 for
    an infinite-data control ('small-stream-seed1')."""
    m = re.search(r"-n(\d+)-", run)
    return int(m.group(1)) if m else 0


def _size_label(n: int) -> str:
    return f"{n:,} images" if n else "infinite data (control)"


def mnist_figure(ts: list[Track]):
    """Experiment 1 on MNIST: one line per run (validation bits/dim against LeNet-FID over
    training, dot at its end), coloured by training loss; the legend below the data."""
    fig, ax = plt.subplots(figsize=(7.2, 4.6))
    mine = [t for t in ts if t.space == "mnist"]
    seen = set()
    for t in mine:
        ok = _ok(t)
        c = LOSS_COLORS.get(t.group, "0.3")
        ax.plot(t.fid[ok], t.nll[ok], "-", color=c, lw=1.3, alpha=0.85)
        if ok.any():
            ax.plot(t.fid[ok][-1:], t.nll[ok][-1:], "o", ms=6, color=c,
                    label=None if t.group in seen else LOSS_NAMES.get(t.group, t.group))
            seen.add(t.group)
    ax.set(xscale="log", yscale="log", xlabel="LeNet-FID against MNIST validation (lower: better images)",
           ylabel="validation bits/dim (lower: better)")
    ax.grid(alpha=0.3, which="major")
    ax.legend(title="trained by", ncol=4, fontsize=10, title_fontsize=10,
              loc="upper center", bbox_to_anchor=(0.5, -0.17), frameon=False)
    fig.tight_layout()
    return fig


def nash_figure(ts: list[Track]):
    """The Nash experiment on synthetic MNIST, one panel: every checked step of every run as a
    small dot coloured by its loss (where each loss keeps the model), each run's end as a large
    one. Paths are not drawn: NSGAN's jump by orders of magnitude between checks, and 48 of
    them drawn as lines hid everything else."""
    fig, ax = plt.subplots(figsize=(7.2, 4.4))
    mine = [t for t in ts if t.experiment == "Nash"]
    for group in ("nll", "nsgan"):
        runs = [t for t in mine if t.group == group]
        if not runs:
            continue
        c = LOSS_COLORS.get(group, "0.3")
        pts = np.concatenate([np.stack([t.fid[_ok(t)], t.nll[_ok(t)]], 1) for t in runs])
        end = np.array([(t.fid[_ok(t)][-1], t.nll[_ok(t)][-1]) for t in runs if _ok(t).any()])
        ax.plot(pts[:, 0], pts[:, 1], ".", ms=2.5, color=c, alpha=0.3, zorder=1)
        ax.plot(end[:, 0], end[:, 1], "o", ms=6, color=c, mec="k", mew=0.5, zorder=3,
                label=f"{LOSS_NAMES[group]} ({len(runs)} runs)")
    ax.set(xscale="log", yscale="log", xlabel="LeNet-FID against teacher samples",
           ylabel="exact KL(teacher ‖ model), nats/image")
    ax.grid(alpha=0.3)
    ax.legend(title="trained by (large dot: a run's end)", ncol=2, fontsize=10, title_fontsize=10,
              loc="upper center", bbox_to_anchor=(0.5, -0.17), frameon=False)
    fig.tight_layout()
    return fig


def synthetic_figure(ts: list[Track]):
    """Experiment 2 as small multiples: one panel per student; in each, that student's runs in
    colour by training-set size (a line per run over training, a dot at its end) and the other
    students' end points in light grey for context; the axes shared, so the panels compare."""
    mine = [t for t in ts if t.experiment == "Experiment 2"]
    students = [s for s in STUDENTS if any(t.group == s for t in mine)]
    rows = max(1, math.ceil(len(students) / 2))
    fig, axes = plt.subplots(rows, 2, figsize=(7.2, 2.7 * rows + 0.9), sharex=True, sharey=True,
                             squeeze=False)
    ends = np.array([(t.fid[_ok(t)][-1], t.nll[_ok(t)][-1], i) for i, s in enumerate(students)
                     for t in mine if t.group == s and _ok(t).any()])
    for k, (ax, s) in enumerate(zip(axes.flat, students)):
        if len(ends):
            other = ends[ends[:, 2] != k]
            ax.plot(other[:, 0], other[:, 1], ".", ms=4, color="0.8", zorder=0)
        for t in [t for t in mine if t.group == s]:
            ok = _ok(t)
            c = SIZE_COLORS.get(train_size(t.run), "0.4")
            ax.plot(t.fid[ok], t.nll[ok], "-", color=c, lw=1.0, alpha=0.8, zorder=2)
            if ok.any():
                ax.plot(t.fid[ok][-1:], t.nll[ok][-1:], "o", ms=4, color=c, zorder=3)
        ax.set_title(f"student {s}", fontsize=10)
        ax.set(xscale="log", yscale="log")
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(students):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("LeNet-FID against teacher samples", fontsize=10)
    for ax in axes[:, 0]:
        ax.set_ylabel("exact KL, nats/image", fontsize=10)
    handles = [plt.Line2D([], [], color=c, marker="o", ms=4, lw=1.2, label=_size_label(n))
               for n, c in SIZE_COLORS.items()]
    fig.legend(handles=handles, title="training set", ncol=3, fontsize=9.5,
               title_fontsize=9.5, loc="lower center", frameon=False)
    fig.tight_layout(rect=(0, 0.11, 1, 1))
    return fig


def rank_table(rc: list[dict]) -> str:
    """Markdown: Spearman's rho between likelihood and FID per experiment (a few rows)."""
    return ("| experiment | likelihood | runs | checks | ρ, every check | ρ, final points |\n"
            "|---|---|---|---|---|---|\n" + "".join(
                f"| {r['experiment']} | {r['likelihood']} | {r['runs']} | {r['points']:,} | "
                f"{r['rho_all']:+.2f} | {r['rho_final']:+.2f} |\n" for r in rc))


def family_counts(rows: list[dict], runs) -> dict[str, tuple[int, int]]:
    """Per loss family of the search: (runs whose likelihood collapsed while FID fell, runs)."""
    fam = {r.name: r.spec.get("family", r.loss) for r in runs}
    counts = {f: sum(v == f for v in fam.values()) for f in dict.fromkeys(fam.values())}
    return {f: (sum(fam.get(x["run"]) == f for x in rows), n) for f, n in counts.items()}


def collapse_summary(rows: list[dict], runs) -> str:
    """One sentence: how many search configurations of each loss lost likelihood while
    gaining FID."""
    c = family_counts(rows, runs)
    return "Configurations whose likelihood collapsed while their FID improved, per loss: " + "; ".join(f"{f.upper()}: {k} of {n} configurations" for f, (k, n) in c.items()) + "."


def collapse_table(rows: list[dict], runs) -> str:
    """Markdown: the runs of :func:`flowlib.studies.nll_vs_fid.likelihood_lost_images_gained`,
    with how many runs of each family were looked at."""
    head = ("| run | steps | validation bits/dim | LeNet-FID |\n|---|---|---|---|\n")
    body = "".join(f"| {x['run']} | {x['from_step']} → {x['to_step']} | {x['bpd'][0]:.1f} → "
                   f"{x['bpd'][1]:.1f} | {x['fid'][0]:.0f} → {x['fid'][1]:.0f} |\n" for x in rows)
    return head + body + "\n" + "; ".join(
        f"{f}: {k} of {n} finished configurations" for f, (k, n) in family_counts(rows, runs).items()) + "."


def f5_by_size(runs) -> list[dict]:
    """Per training-set size, F5's calibrated readings counted: runs, overfitting runs, hits,
    misses, inconclusive, and the median growth factors of the KL and of FID over the control."""
    from flowlib.studies.misspecification_calibrated import f5_outcome, f5_readings
    readings = f5_readings(runs)
    out = []
    for n in sorted({r["n"] for r in readings}):
        rs = [r for r in readings if r["n"] == n]
        res = [f5_outcome(r["dk"], r["df"], r["kl_noise"], r["fid_noise"]) for r in rs]
        over = [r for r, o in zip(rs, res) if o in ("hit", "miss", "inconclusive")]
        med = (lambda k: math.exp(float(np.median([r[k] for r in over]))) if over else math.nan)
        out.append({"n": n, "runs": len(rs), "over": len(over), "hit": res.count("hit"),
                    "miss": res.count("miss"), "inconclusive": res.count("inconclusive"),
                    "kl": med("dk"), "fid": med("df")})
    return out


def f5_calibrated_table(runs) -> str:
    """Markdown: F5's calibrated readings (:mod:`flowlib.studies.misspecification_calibrated`)
    per training-set size: how many runs overfit beyond their own control's noise, how many
    of those are hits, misses and inconclusive, and the median growth factors of the KL and of
    FID over the control (all from the shipped runs)."""
    head = ("| training set | overfit / runs | hit · miss · inconclusive | KL × control | "
            "FID × control |\n|---|---|---|---|---|\n")
    g = (lambda v: "—" if not math.isfinite(v) else f"{v:.2g}")
    return head + "".join(
        f"| {r['n']:,} | {r['over']} / {r['runs']} | {r['hit']} · {r['miss']} · "
        f"{r['inconclusive']} | {g(r['kl'])} | {g(r['fid'])} |\n" for r in f5_by_size(runs))


def findings_box(f5: dict | None, rc: list[dict], by_size: list[dict], collapsed: dict):
    """The chapter's "What this chapter finds" box. ``f5``: F5's row of
    :func:`flowlib.studies.findings.summary`; ``rc``: :func:`rank_correlations`; ``by_size``:
    :func:`f5_by_size`; ``collapsed``: :func:`family_counts` of the search."""
    from flowlib.book.findings import link
    from flowlib.book.lesson import findings_box as box
    points = []
    if f5:
        points.append(f"**Overfitting hurts the likelihood much more than FID (F5): "
                      f"{f5['verdict']}.** {f5['reason'][0].upper() + f5['reason'][1:]}; "
                      f"{f5['headline']}.")
    small, large = (by_size[0], by_size[-1]) if by_size else (None, None)
    if small and large and small is not large:
        points.append(
            f"**It depends on how much there is to overfit.** With {small['n']:,} training "
            f"images {small['over']} of {small['runs']} runs overfit beyond their control's "
            f"noise and {small['hit']} are clear hits (KL ×{small['kl']:.2g}, FID "
            f"×{small['fid']:.2g}); with {large['n']:,}, {large['over']} of {large['runs']} "
            f"overfit and {large['hit']} {'is a hit' if large['hit'] == 1 else 'are hits'}.")
    by = {r["experiment"]: r for r in rc}
    if "Experiment 1" in by:
        e1 = by["Experiment 1"]
        syn = [r for r in rc if r["experiment"] != "Experiment 1"]
        points.append(
            f"**On MNIST the two yardsticks rank the final models in opposite orders** "
            f"(Spearman ρ = {e1['rho_final']:+.2f} over Experiment 1's {e1['runs']} runs: the "
            "NLL-trained flows have the best bits/dim and the worst FID); on synthetic MNIST "
            "they mostly agree ("
            + ", ".join(f"{r['experiment']} ρ = {r['rho_final']:+.2f}" for r in syn) + ").")
    if collapsed:
        adv = {f: v for f, v in collapsed.items() if f != "nll"}
        k = sum(a for a, _ in adv.values())
        points.append(
            f"**Images can improve while the likelihood collapses**: in the adversarial "
            f"search, {k} configurations' bits/dim grew at least twofold while their FID fell ("
            + ", ".join(f"{f.upper()} {a} of {n}" for f, (a, n) in adv.items())
            + (f"; NLL {collapsed['nll'][0]} of {collapsed['nll'][1]}" if "nll" in collapsed else "")
            + ").")
    return box(points, footer=f"Generated from the shipped runs; {link('F5')}.")


"""Companion of the chapter *What NLL and FID say about each other* (``book/nll_vs_fid.py``): its figure."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from flowlib.studies.nll_vs_fid import Track


def figure(ts: list[Track], highlight: str | None = None):
    """Two panels (MNIST above, synthetic below, so each keeps the column's width); runs of
    ``highlight`` in colour, the others in grey."""
    fig, axes = plt.subplots(2, 1, figsize=(7.2, 9))
    groups = sorted({(t.experiment, t.group) for t in ts})
    colors = {g: f"C{i % 10}" for i, g in enumerate(groups)}
    for ax, space in zip(axes, ("mnist", "synthetic")):
        labelled = set()
        for t in [t for t in ts if t.space == space]:
            on = highlight in (None, "all", t.experiment)
            key = (t.experiment, t.group)
            lab = f"{t.experiment}: {t.group}" if on and key not in labelled else None
            labelled.add(key)
            ok = np.isfinite(t.nll) & np.isfinite(t.fid) & (t.fid > 0) & (t.nll > 0)
            ax.plot(t.fid[ok], t.nll[ok], "-", color=colors[key] if on else "0.85",
                    alpha=0.9 if on else 0.6, lw=1.2 if on else 0.8, zorder=2 if on else 1)
            if ok.any():
                ax.plot(t.fid[ok][-1:], t.nll[ok][-1:], "o", ms=5, color=colors[key] if on else "0.8",
                        label=lab, zorder=3 if on else 1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        if space == "mnist":
            ax.set(xlabel="LeNet-FID vs MNIST validation", ylabel="validation bits/dim (exact)",
                   title="MNIST: Experiment 1")
        else:
            ax.set(xlabel="LeNet-FID vs teacher samples", ylabel="exact KL(teacher ‖ model), nats/image",
                   title="synthetic MNIST: Nash experiment, Experiment 2")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=9, ncol=2)
    fig.suptitle("each line: one run over training (dot: its end); "
                 + ("all experiments" if highlight in (None, "all") else f"highlighted: {highlight}"),
                 fontsize=11)
    fig.tight_layout()
    return fig


def collapse_table(rows: list[dict], runs) -> str:
    """Markdown: the runs of :func:`flowlib.studies.nll_vs_fid.likelihood_lost_images_gained`,
    with how many runs of each family were looked at."""
    fam = {r.name: r.spec.get("family", r.loss) for r in runs}
    counts = {f: sum(v == f for v in fam.values()) for f in dict.fromkeys(fam.values())}
    hits = {f: sum(fam[x["run"]] == f for x in rows) for f in counts}
    head = ("| run | steps | validation bits/dim | LeNet-FID |\n|---|---|---|---|\n")
    body = "".join(f"| {x['run']} | {x['from_step']} → {x['to_step']} | {x['bpd'][0]:.1f} → "
                   f"{x['bpd'][1]:.1f} | {x['fid'][0]:.0f} → {x['fid'][1]:.0f} |\n" for x in rows)
    return (head + body + "\n" + "; ".join(f"{f}: {hits[f]} of {n} finished configurations" for f, n in counts.items())
            + ".")


def f5_calibrated_table(runs) -> str:
    """Markdown: F5's calibrated readings (:mod:`flowlib.studies.misspecification_calibrated`)
    per training-set size: how many runs overfit beyond their own control's noise, how many
    of those are hits, misses and inconclusive, and the median growth factors of the KL and of
    FID over the control (all from the shipped runs)."""
    import math

    from flowlib.studies.misspecification_calibrated import f5_outcome, f5_readings
    readings = f5_readings(runs)
    head = ("| training set | overfit / runs | hit · miss · inconclusive | KL × control | "
            "FID × control |\n|---|---|---|---|---|\n")
    body = ""
    for n in sorted({r["n"] for r in readings}):
        rs = [r for r in readings if r["n"] == n]
        out = [f5_outcome(r["dk"], r["df"], r["kl_noise"], r["fid_noise"]) for r in rs]
        over = [r for r, o in zip(rs, out) if o in ("hit", "miss", "inconclusive")]
        med = (lambda k: f"{math.exp(float(np.median([r[k] for r in over]))):.2g}" if over else "—")
        body += (f"| {n:,} | {len(over)} / {len(rs)} | {out.count('hit')} · {out.count('miss')} · "
                 f"{out.count('inconclusive')} | {med('dk')} | {med('df')} |\n")
    return head + body

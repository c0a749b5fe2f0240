"""Every run of every experiment on one picture: likelihood against FID (chapter "What NLL
and FID say about each other").

Two yardsticks never mix: on MNIST the likelihood is the exact validation bits/dim and FID
is LeNet-FID against MNIST validation images (Experiment 1); on synthetic MNIST the
likelihood is the exact KL to the teacher and FID is LeNet-FID against teacher samples
(the Nash experiment, Experiment 2). Each run contributes every checked step.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import spearmanr

from flowlib.studies.results import Run


@dataclass
class Track:
    experiment: str      # "Experiment 1", "Nash", "Experiment 2"
    space: str           # "mnist" or "synthetic"
    run: str
    group: str           # loss / method / student
    nll: np.ndarray      # val bits/dim (mnist) or exact KL nats/image (synthetic)
    fid: np.ndarray
    steps: np.ndarray


def tracks(exp1_runs=(), nash_runs=(), exp2_runs=()) -> list[Track]:
    out = []

    def pair(r: Run, key: str):
        s1, a = r.series(key)
        s2, b = r.series("fid")
        common = sorted(set(s1.tolist()) & set(s2.tolist()))
        ia = [list(s1).index(s) for s in common]
        ib = [list(s2).index(s) for s in common]
        return np.asarray(common), a[ia], b[ib]

    for r in exp1_runs:
        s, a, b = pair(r, "val_bpd")
        out.append(Track("Experiment 1", "mnist", r.name, r.loss, a, b, s))
    for r in nash_runs:
        s, a, b = pair(r, "kl")
        out.append(Track("Nash", "synthetic", r.name, r.spec.get("method", "?"), a, b, s))
    for r in exp2_runs:
        s, a, b = pair(r, "kl")
        out.append(Track("Experiment 2", "synthetic", r.name, r.spec.get("student", "?"), a, b, s))
    return out


def rank_correlations(ts: list[Track]) -> list[dict]:
    """Spearman's rho between likelihood and FID per experiment: all checks, and final points."""
    rows = []
    for exp in dict.fromkeys(t.experiment for t in ts):
        mine = [t for t in ts if t.experiment == exp]
        allx = np.concatenate([t.nll for t in mine]) if mine else np.array([])
        ally = np.concatenate([t.fid for t in mine]) if mine else np.array([])
        ok = np.isfinite(allx) & np.isfinite(ally)
        fx = np.array([t.nll[-1] for t in mine if len(t.nll)])
        fy = np.array([t.fid[-1] for t in mine if len(t.fid)])
        okf = np.isfinite(fx) & np.isfinite(fy)

        def rho(x, y):
            return float(spearmanr(x, y).statistic) if len(x) > 2 and np.ptp(x) > 0 and np.ptp(y) > 0 else float("nan")
        rows.append({"experiment": exp, "runs": len(mine), "points": int(ok.sum()),
                     "rho_all": rho(allx[ok], ally[ok]), "rho_final": rho(fx[okf], fy[okf]),
                     "likelihood": "validation bits/dim" if mine and mine[0].space == "mnist"
                     else "exact KL (nats/image)"})
    return rows


def likelihood_lost_images_gained(runs: list[Run], factor: float = 2.0) -> list[dict]:
    """Runs whose validation bits/dim grew at least ``factor``-fold while their LeNet-FID fell,
    from their first check after step 0 to their last: a flow whose images improve as its
    likelihood collapses (what an adversarial loss can do, and a likelihood cannot)."""
    out = []
    for r in runs:
        s_b, b = r.series("val_bpd")
        s_f, f = r.series("fid")
        common = [s for s in s_b.tolist() if s > 0 and s in s_f.tolist()]
        if len(common) < 2:
            continue
        first, last = common[0], common[-1]
        b0, b1 = b[list(s_b).index(first)], b[list(s_b).index(last)]
        f0, f1 = f[list(s_f).index(first)], f[list(s_f).index(last)]
        if np.isfinite([b0, b1, f0, f1]).all() and b1 >= factor * b0 and f1 < f0:
            out.append({"run": r.name, "from_step": int(first), "to_step": int(last),
                        "bpd": (float(b0), float(b1)), "fid": (float(f0), float(f1))})
    return out

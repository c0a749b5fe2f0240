"""Experiment 2's analysis: students of the synthetic-MNIST teacher (chapters "Experiment 2:
misspecification" and "Overparameterised models").

Runs (``results/misspecification-<preset>/<student>-n<size>-seed<s>/``, :func:`jobs`) log at every check: validation bits/dim (``val_bpd``) and bits/dim
of a fixed subset of their training set (``train_eval_bpd``), both in MNIST's units; the exact
KL to the teacher on held-out samples (``kl``, ``kl_se``, nats per image); LeNet-FID against
teacher samples. Everything here reads those files.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from flowlib.data.synthetic import Teacher, synthetic_mnist
from flowlib.metrics.likelihood import bpd_256
from flowlib.models.realnvp import SIZES, RealNVP
from flowlib.studies.results import Run, fmt, load_study, value_at, verdict
from flowlib.studies.runner import Job

LADDER = tuple(SIZES)  # smallest to largest


# Experiment 2: students of the teacher, smaller, equal and larger (named sizes; the teacher
# is "small"), trained by NLL from random initialisation on synthetic training sets of
# several sizes, all for the same number of steps with the preset's optimiser settings.
TEACHER_SIZE = "small"

PLAN = {"smoke": {"students": ("micro", "tiny"), "train_sizes": (500,), "steps": 30, "every": 15},
        "quick": {"students": ("micro", "tiny", "small", "medium", "base"),
                  "train_sizes": (1000, 10_000), "steps": 800, "every": 100},
        "full": {"students": ("micro", "tiny", "small", "medium", "base", "large"),
                 "train_sizes": (1000, 5000, 50_000), "steps": 20_000, "every": 1000}}


def jobs(preset: str, seeds) -> list[Job]:
    plan = PLAN[preset]
    jobs = []
    for seed in seeds:
        for n in plan["train_sizes"]:
            for student in plan["students"]:
                argv = ["train", "--loss", "nll", "--preset", preset, "--seed", str(seed),
                        "--size", student, "--data", "synthetic", "--train-size", str(n),
                        "--steps", str(plan["steps"]), "--eval-every", str(plan["every"]),
                        "--quality-every", str(plan["every"]), "--no-progress"]
                jobs.append(Job(f"{student}-n{n}-seed{seed}", tuple(argv),
                                {"student": student, "train_size": n, "seed": seed,
                                 "loss": "nll", "preset": preset}))
    return jobs


def load(root) -> list[Run]:
    runs = load_study(root)
    order = {s: i for i, s in enumerate(LADDER)}
    return sorted(runs, key=lambda r: (r.spec.get("train_size", 0),
                                       order.get(r.spec.get("student"), 99), r.seed))


def student(r: Run) -> str:
    return r.spec.get("student", "?")


def train_size(r: Run) -> int:
    return int(r.spec.get("train_size", 0))


def relation(name: str) -> str:
    """'smaller' / 'teacher size' / 'larger' than the teacher."""
    i, t = LADDER.index(name), LADDER.index(TEACHER_SIZE)
    return "smaller" if i < t else "larger" if i > t else "teacher size"


def early_stop(r: Run) -> tuple[int | None, float | None]:
    """(step, value) of the lowest validation bits/dim: where early stopping would stop."""
    s, v = r.series("val_bpd")
    ok = np.isfinite(v)
    if not ok.any():
        return None, None
    i = int(np.nanargmin(np.where(ok, v, np.nan)))
    return int(s[i]), float(v[i])


def speed(r: Run) -> float | None:
    """Median training images per second over the run's log rows."""
    v = [x["img_per_s"] for x in r.rows if "img_per_s" in x and not x.get("event")]
    return float(np.median(v)) if v else None


def max_grad(r: Run) -> float | None:
    v = [x["grad_norm"] for x in r.rows if "grad_norm" in x and not x.get("event")]
    return float(np.max(v)) if v else None


@lru_cache(maxsize=None)
def teacher_subset_bpd(k_train: int, k_val: int, teacher_sha256: str | None = None) -> tuple[float, float]:
    """The teacher's own bits/dim (MNIST units) on the first ``k_train`` training and the first
    ``k_val`` validation samples: what a perfect student would score on the images a run's
    ``train_eval_bpd`` and ``val_bpd`` are taken on. They differ by sampling alone (0.032
    bits/dim at 2000 each, train the higher), which the overfitting gap must not count."""
    teacher = Teacher.by_sha256(teacher_sha256) if teacher_sha256 else None
    return (bpd_256(synthetic_mnist("train", k_train, teacher).log_p),
            bpd_256(synthetic_mnist("validation", k_val, teacher).log_p))


def overfitting_gap(r: Run) -> tuple[float | None, float | None]:
    """(raw, excess) gap at the run's end, bits/dim. raw = validation − training bits/dim;
    excess = the same with each term measured above the teacher's own bits/dim on those
    images (validation KL-like excess minus training excess): 0 for a perfect student."""
    v, t = value_at(r, "val_bpd"), value_at(r, "train_eval_bpd")
    if v is None or t is None:
        return None, None
    k = int(((r.rows[0] if r.rows else {}).get("train") or {}).get("val_images") or 0)
    if k <= 0:
        return v - t, None
    # train_eval is the first val_images images of the training set, or all of a smaller one
    tt, tv = teacher_subset_bpd(min(k, train_size(r)) if train_size(r) else k, k,
                                r.rows[0].get("teacher_sha256") if r.rows else None)
    return v - t, (v - tv) - (t - tt)


def run_rows(runs: list[Run]) -> list[dict]:
    out = []
    for r in runs:
        es_step, es_val = early_stop(r)
        raw_gap, gap = overfitting_gap(r)
        out.append({
            "run": r.name, "student": student(r), "relation": relation(student(r)),
            "train_size": train_size(r), "seed": r.seed,
            "parameters": r.manifest.get("results", {}).get("parameters"),
            "train_bpd": value_at(r, "train_eval_bpd"), "val_bpd": value_at(r, "val_bpd"),
            "gap": gap, "raw_gap": raw_gap,
            "kl": value_at(r, "kl"), "kl_se": value_at(r, "kl_se"), "fid": value_at(r, "fid"),
            "best_val_step": es_step, "best_val_bpd": es_val,
            "kl_at_best": value_at(r, "kl", es_step) if es_step is not None else None,
            "fid_at_best": value_at(r, "fid", es_step) if es_step is not None else None,
            "img_per_s": speed(r), "max_grad_norm": max_grad(r),
            "events": len([e for e in r.events if e.get("event") == "instability"]),
            "diverged": r.outcome == "diverged", "minutes": r.manifest.get("wall_time_s", 0) / 60})
    return out


def grouped(rows: list[dict]) -> dict[tuple[str, int], list[dict]]:
    g: dict = {}
    for x in rows:
        g.setdefault((x["student"], x["train_size"]), []).append(x)
    return g


def students_table(runs: list[Run]) -> str:
    """The closing note's table: per student and training-set size, mean ± sd over seeds."""
    rows = run_rows(runs)
    head = ("| student | vs teacher | parameters | train size | seeds | train bits/dim | val bits/dim "
            "| gap | KL (nats/image) | KL s.e. | LeNet-FID vs teacher | best-val step | img/s "
            "| events | wall min |\n|" + "---|" * 15 + "\n")
    body = ""
    for (st, n), xs in grouped(rows).items():
        p = xs[0]["parameters"]
        body += (f"| {st} | {xs[0]['relation']} | {p:,} | {n:,} | {len(xs)} | "
                 f"{fmt([x['train_bpd'] for x in xs], 3)} | {fmt([x['val_bpd'] for x in xs], 3)} | "
                 f"{fmt([x['gap'] for x in xs], 3)} | {fmt([x['kl'] for x in xs], 1)} | "
                 f"{fmt([x['kl_se'] for x in xs], 1)} | {fmt([x['fid'] for x in xs], 1)} | "
                 f"{fmt([x['best_val_step'] for x in xs], 0)} | {fmt([x['img_per_s'] for x in xs], 0)} | "
                 f"{sum(x['events'] for x in xs)} | {fmt([x['minutes'] for x in xs], 1)} |\n")
    return head + body


def parameter_table() -> str:
    lines = ["| size | vs teacher | parameters | couplings (checkerboard/channel/last) | width | blocks |",
             "|---|---|---|---|---|---|"]
    for name, cfg in SIZES.items():
        lines.append(f"| {name} | {relation(name)} | {RealNVP(cfg).num_parameters():,} | "
                     f"{cfg.checkerboard}/{cfg.channelwise}/{cfg.last} | {cfg.width} | {cfg.blocks} |")
    return "\n".join(lines)


# ------------------------------------------------------------------ findings


def findings(runs: list[Run]) -> dict[str, dict]:
    """F3, F4, F5, F6 by rules fixed in advance (documented in the chapter)."""
    rows = run_rows(runs)
    out = {}
    if not rows:
        return out
    n_max, n_min = max(x["train_size"] for x in rows), min(x["train_size"] for x in rows)
    g = grouped(rows)

    def mean(xs, key):
        v = [x[key] for x in xs if x[key] is not None and math.isfinite(x[key])]
        return float(np.mean(v)) if v else float("nan")

    def nanmean(v):
        v = [x for x in v if x is not None and math.isfinite(x)]
        return float(np.mean(v)) if v else float("nan")

    # F3: different final training NLL, but alike convergence (steps to 90% of own improvement)
    big = {s: xs for (s, n), xs in g.items() if n == n_max}
    finals = {s: mean(xs, "train_bpd") for s, xs in big.items()}
    sds = [float(np.std([x["train_bpd"] for x in xs if x["train_bpd"] is not None], ddof=1))
           for xs in big.values() if len(xs) > 1]
    seed_sd = float(np.mean(sds)) if sds else float("nan")
    spread = max(finals.values()) - min(finals.values()) if finals else float("nan")

    def t90(r: Run):
        s, v = r.series("val_bpd")
        ok = np.isfinite(v)
        if ok.sum() < 2:
            return None
        s, v = s[ok], v[ok]
        target = v[0] - 0.9 * (v[0] - np.min(v))
        return int(s[np.argmax(v <= target)])
    t = {s: nanmean([t90(r) for r in runs if student(r) == s and train_size(r) == n_max])
         for s in big}
    tv = [v for v in t.values() if math.isfinite(v) and v > 0]
    alike = bool(tv) and max(tv) / min(tv) <= 2.0
    different = math.isfinite(spread) and math.isfinite(seed_sd) and spread > 2 * seed_sd
    out["F3"] = {"status": "undetermined (needs ≥ 2 seeds)" if not math.isfinite(seed_sd) else
                 verdict(alike + different, 2),
                 "numbers": (f"n = {n_max:,}: final training bits/dim range {spread:.3f} across students "
                             f"(seed sd {seed_sd:.3f}); steps to 90% of own validation improvement: "
                             + ", ".join(f"{s} {v:.0f}" for s, v in t.items()))}
    # F4: overfitting visible in validation NLL; a well-specified student validating worse
    small = {s: xs for (s, n), xs in g.items() if n == n_min}
    rising = [s for s, xs in small.items()
              if mean(xs, "val_bpd") > mean(xs, "best_val_bpd") + 0.01 and mean(xs, "gap") > 0]
    teach = mean(small.get(TEACHER_SIZE, []), "val_bpd")
    worse_than = [s for s, xs in small.items() if relation(s) == "smaller" and mean(xs, "val_bpd") < teach]
    a, b = bool(rising), bool(worse_than)
    better = [f"{s} ({mean(small[s], 'val_bpd'):.3f})" for s in worse_than]
    teach_text = ((f"the teacher-size student validates at {teach:.3f} bits/dim, worse than the smaller "
                   + ", ".join(better) if better else
                   f"the teacher-size student validates at {teach:.3f} bits/dim, better than every "
                   "smaller student") if math.isfinite(teach)
                  else "no teacher-size student in this study")
    out["F4"] = {"status": verdict(bool(a) + bool(b), 2),
                 "numbers": (f"n = {n_min:,}: validation bits/dim rose after its minimum (with a positive gap above the teacher) "
                             f"for {', '.join(rising) or 'no student'}; {teach_text}")}
    # F5: from the early-stopping point to the end, relative KL increase vs relative FID increase
    over = [x for x in rows if x["best_val_step"] is not None and x["kl_at_best"] and x["fid_at_best"]
            and x["kl"] is not None and x["fid"] is not None and x["val_bpd"] is not None
            and x["best_val_bpd"] is not None and x["val_bpd"] > x["best_val_bpd"] + 0.01]
    rel = [((x["kl"] / x["kl_at_best"] - 1), (x["fid"] / x["fid_at_best"] - 1)) for x in over]
    more = sum(k > f for k, f in rel)
    out["F5"] = {"status": "no overfitting runs" if not rel else
                 verdict(more, len(rel)),
                 "numbers": (f"{len(rel)} runs overfit (validation rose > 0.01 bits/dim after its "
                             f"minimum); the exact KL grew relatively more than FID in {more}/{len(rel)}"
                             + (f"; median relative increase KL {np.median([k for k, _ in rel]):+.1%}, "
                                f"FID {np.median([f for _, f in rel]):+.1%}" if rel else ""))}
    # F6: larger students vs the teacher-size student
    parts = {}
    for n in sorted({x["train_size"] for x in rows}):
        ref = g.get((TEACHER_SIZE, n), [])
        for (s, nn), xs in g.items():
            if nn != n or relation(s) != "larger" or not ref:
                continue
            parts.setdefault("slower", []).append(mean(xs, "img_per_s") < mean(ref, "img_per_s"))
            parts.setdefault("unstable", []).append(sum(x["events"] + x["diverged"] for x in xs) >
                                                    sum(x["events"] + x["diverged"] for x in ref))
            parts.setdefault("overfit more", []).append(mean(xs, "gap") > mean(ref, "gap"))
            parts.setdefault("poorer images", []).append(mean(xs, "fid") > mean(ref, "fid"))
    held = {k: f"{sum(v)}/{len(v)}" for k, v in parts.items()}
    full = sum(all(v) for v in parts.values())
    out["F6"] = {"status": "no data" if not parts else "supported" if full == len(parts)
                 else "not supported" if not any(any(v) for v in parts.values()) else "mixed",
                 "numbers": "larger students vs the teacher-size student, (size, n) pairs where it holds: "
                            + ", ".join(f"{k} {v}" for k, v in held.items())}
    return out

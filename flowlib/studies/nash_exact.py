"""The Nash experiment at the exact equilibrium (issue 33): the design, the departure rule and
the matched-distance reading. Stated on 2026-12-07, implemented and unit-tested
(``tests/studies/test_nash_exact.py``) before any of its runs.

Why a second design. The first (:mod:`flowlib.studies.nash`, 69 runs, kept as it is) started
the generator at the teacher but the discriminator at PyTorch's random initialisation (or
trained first against the teacher), whose input gradient was 0.065-0.082 at step 0: the
generator started with a systematic push that Adam turns into full-size steps, so "NSGAN
leaves" was partly "Adam follows a fixed, imperfect slope". Its NLL controls ran on another
optimiser (beta1 0.9 against NSGAN's 0.5), and its departure bar was ten times the control's
largest KL, so a control that swung (NLL with SGD reached 164-270 nats) hid any drift.

This design:

- **Start at the exact equilibrium**: the discriminator's logits are scaled by a gain that
  starts at 0 (``--d-start exact``): D = 1/2 for every input and the generator's first gradient
  is exactly 0. Any departure comes from the discriminator learning from finite samples of two
  identical distributions (the thesis' question).
- **Controls that differ from NSGAN only in the loss**: NLL on the same optimiser and betas
  (Adam (0.5, 0.999): ``--gen-beta1 0.5``; or the same plain SGD); a *frozen discriminator*
  (``--freeze-disc``): from the exact start the generator must never move (the machinery's
  check), from a fresh discriminator it follows that discriminator's fixed slope alone.
- **A departure rule with an absolute bar** (:func:`reading`): a run *leaves* at the first
  check where ``KL(T||S) - 2 SE > DEPARTURE_NATS`` (or the KL is not finite); otherwise it
  *drifts* when its last KL is more than two combined standard errors above its first
  check's and more than two of its own above 0; otherwise it *stays*. The same rule reads the
  NLL controls. A cell's verdict is its seeds' common reading, or *mixed* with the counts.
- **Matched distance** (:func:`kl_at_distance`): NSGAN's and its control's KL where each has
  travelled :data:`MATCH_DISTANCES` in parameter space (Euclidean, from the start), per seed;
  the comparison Adam cannot fake by step size alone.
- **The grid** (:func:`design_cells`): the exact start at the five rates :data:`LRS` with Adam
  and with SGD, three seeds, each NSGAN run with its NLL control; SGD runs
  :data:`SGD_STEPS` steps (a cap: at the first design's per-step distances SGD cannot reach
  Adam's ~0.1 in 400 steps); a frozen fresh discriminator at every Adam rate; at 1e-4 with
  Adam, one change at a time from the exact start: R1 (gamma 1, 10), spectral norm, beta1 0.9
  (with its NLL control at beta1 0.9), the finite synthetic set (with its own NLL control),
  the fresh and the trained-first discriminators of the first design, and the frozen exact
  one. 105 runs; about 17 CPU core-hours at quick (Adam runs 4-5 minutes, SGD runs 20-25).
"""
from __future__ import annotations

import math

import numpy as np

from flowlib.studies.results import Run, load_study, median_range
from flowlib.studies.design import Design
from flowlib.studies.runner import Job

LRS = (1e-6, 1e-5, 3e-5, 1e-4, 2e-4)
REFERENCE_LR = 1e-4
SEEDS = (0, 1, 2)
STEPS = {"smoke": 30, "quick": 400, "full": 5000}
SGD_STEPS = {"smoke": 40, "quick": 2000, "full": 20_000}
PLAN = {"smoke": {"every": 15, "dense": (10, 20), "train_size": 500, "pretrain": 20},
        "quick": {"every": 100, "dense": (10, 200), "train_size": 10_000, "pretrain": 300},
        "full": {"every": 500, "dense": (10, 200), "train_size": 50_000, "pretrain": 2000}}

# NSGAN variants at REFERENCE_LR with Adam, one change from the exact start; the second item
# says whether the variant has its own NLL control (else: Adam's NLL control at that rate)
VARIANTS = {
    "r1-1": (("--r1", "1"), False),
    "r1-10": (("--r1", "10"), False),
    "spectral-norm": (("--spectral-norm",), False),
    "beta1-0.9": (("--gan-beta1", "0.9"), True),
    "finite": ((), True),
    "fresh-d": (("--d-start", "fresh"), False),
    "trained-first": (("--d-start", "fresh", "--pretrain-disc", "{pretrain}", "--d-lr", f"{REFERENCE_LR:g}"), False),
    "frozen-exact": (("--freeze-disc",), False),
}
FROZEN_FRESH = "frozen-fresh"   # crossed with every Adam rate: the fixed-slope effect alone

DEPARTURE_NATS = 1.0                     # nats/image: about 28 standard errors of the KL estimator
MATCH_DISTANCES = (0.003, 0.01, 0.03, 0.1)


def design_cells() -> list[dict]:
    """The design's cells, ``{"method", "optimizer", "variant", "lr"}``, in a fixed order."""
    cells = []
    for opt in ("adam", "sgd"):
        for lr in LRS:
            cells += [{"method": m, "optimizer": opt, "variant": "exact", "lr": lr}
                      for m in ("nsgan", "nll")]
    cells += [{"method": "nsgan", "optimizer": "adam", "variant": FROZEN_FRESH, "lr": lr} for lr in LRS]
    for v, (_, own) in VARIANTS.items():
        cells.append({"method": "nsgan", "optimizer": "adam", "variant": v, "lr": REFERENCE_LR})
        if own:
            cells.append({"method": "nll", "optimizer": "adam", "variant": v, "lr": REFERENCE_LR})
    return cells


def _argv(preset: str, cell: dict, seed: int) -> tuple[str, ...]:
    plan, method, opt, variant, lr = (PLAN[preset], cell["method"], cell["optimizer"],
                                      cell["variant"], cell["lr"])
    steps = (SGD_STEPS if opt == "sgd" else STEPS)[preset]
    argv = ["train", "--loss", method, "--preset", preset, "--seed", str(seed), "--init", "teacher",
            "--steps", str(steps), "--eval-every", str(plan["every"]),
            "--quality-every", str(plan["every"]), "--dense-checks", *map(str, plan["dense"]),
            "--reverse-kl", "--lr", f"{lr:g}", "--warmup-steps", "0", "--final-lr-frac", "1",
            "--no-ema", "--no-progress"]
    argv += (["--data", "synthetic", "--train-size", str(plan["train_size"])]
             if variant == "finite" else ["--data", "teacher-stream"])
    if opt == "sgd":
        argv += ["--optimizer", "sgd"]
    beta1 = "0.9" if variant == "beta1-0.9" else "0.5"
    if method == "nll":
        argv += ["--gen-beta1", beta1] if opt == "adam" else []
        return tuple(argv)
    argv += ["--gan-beta1", "0.5"]
    if variant == FROZEN_FRESH:
        return tuple(argv + ["--d-lr", f"{lr:g}", "--d-start", "fresh", "--freeze-disc"])
    flags = [f.format(pretrain=plan["pretrain"]) for f in VARIANTS.get(variant, ((), False))[0]]
    if "--d-lr" not in flags:
        argv += ["--d-lr", f"{lr:g}"]
    if "--d-start" not in flags:
        argv += ["--d-start", "exact"]
    if variant == "beta1-0.9":
        argv[argv.index("--gan-beta1") + 1] = "0.9"
        flags = []
    return tuple(argv + flags)


def design(preset: str) -> Design:
    """One job per (cell, seed) of :func:`design_cells`, :data:`SEEDS`: what ``flowlib
    experiment nash-exact`` runs."""
    def job(c, seed):
        return Job(f"{c['method']}-{c['optimizer']}-{c['variant']}-lr{c['lr']:g}-seed{seed}",
                   _argv(preset, c, seed),
                   {**c, "loss": c["method"], "seed": seed, "preset": preset,
                    "data": "finite" if c["variant"] == "finite" else "stream"})
    return Design("nash-exact", tuple(design_cells()), seeds=tuple(SEEDS), job=job)


def jobs(preset: str, seeds=None) -> list[Job]:
    return design(preset).expand(seeds)


# ------------------------------------------------------------------ the rule
def reading(steps, kl, se, bar: float = DEPARTURE_NATS) -> tuple[str, int | None]:
    """One run's reading of its exact-KL curve ``(steps, kl, se)`` (nats/image): ``("leaves",
    step)`` at the first check with ``kl - 2 se > bar`` or a non-finite KL; else
    ``("drifts", None)`` when the last KL exceeds the first check's (after step 0) by more
    than two combined standard errors and 0 by more than two of its own; else ``("stays",
    None)``; ``("no data", None)`` without a check after step 0."""
    steps, kl, se = (np.asarray(steps, float), np.asarray(kl, float), np.asarray(se, float))
    keep = steps > 0
    steps, kl, se = steps[keep], kl[keep], np.where(np.isfinite(se[keep]), se[keep], 0.0)
    if not len(steps):
        return "no data", None
    for s, k, e in zip(steps, kl, se):
        if not math.isfinite(k) or k - 2 * e > bar:
            return "leaves", int(s)
    rise = kl[-1] - kl[0]
    if rise > 2 * math.hypot(se[-1], se[0]) and kl[-1] > 2 * se[-1]:
        return "drifts", None
    return "stays", None


def cell_word(readings: list[str]) -> str:
    """A cell's verdict: its seeds' common reading, else 'mixed (a leave, b drift, c stay)'."""
    if not readings:
        return "no data"
    if len(set(readings)) == 1:
        return readings[0]
    return (f"mixed ({readings.count('leaves')} leave, {readings.count('drifts')} drift, "
            f"{readings.count('stays')} stay)")


def distance_at_checks(run_rows: list[dict], check_steps) -> np.ndarray:
    """The distance travelled (``param_distance``, logged on training rows) at each check
    step, linearly interpolated, 0 at step 0; NaN beyond the last logged step."""
    pts = sorted({(0, 0.0)} | {(r["step"], r["param_distance"]) for r in run_rows
                               if r.get("param_distance") is not None and not r.get("event")})
    s, d = np.array([p[0] for p in pts], float), np.array([p[1] for p in pts], float)
    return np.interp(np.asarray(check_steps, float), s, d, right=np.nan)


def kl_at_distance(distance, kl, target: float) -> float | None:
    """The KL where the run first travelled ``target``: linear in log-distance between the
    two checks around the crossing (``distance`` and ``kl`` per check, increasing steps).
    None when the run never travelled that far (or had a non-finite KL before)."""
    distance, kl = np.asarray(distance, float), np.asarray(kl, float)
    for i in range(1, len(distance)):
        d0, d1 = distance[i - 1], distance[i]
        if not (math.isfinite(d1) and math.isfinite(kl[i])):
            return None
        if d1 >= target:
            if d0 <= 0 or not math.isfinite(d0) or d1 == d0:
                return float(kl[i])
            t = (math.log(target) - math.log(d0)) / (math.log(d1) - math.log(d0))
            return float(kl[i - 1] + min(max(t, 0.0), 1.0) * (kl[i] - kl[i - 1]))
    return None


def run_curve(r: Run) -> dict:
    """A run's checks: steps, exact KL, its standard error, distance travelled."""
    steps, kl = r.series("kl")
    _, se = r.series("kl_se")
    return {"steps": steps, "kl": kl, "se": se,
            "distance": distance_at_checks(r.rows, steps)}


def control_of(runs: list[Run], run: Run) -> Run | None:
    """An NSGAN run's NLL control: same seed, rate and optimiser; the variant's own control
    where it has one (beta1 0.9, the finite set), else the exact-start one."""
    sp = run.spec
    own = VARIANTS.get(sp.get("variant"), ((), False))[1]
    want = sp.get("variant") if own else "exact"
    for r in runs:
        x = r.spec
        if (x.get("method") == "nll" and r.seed == run.seed and x.get("lr") == sp.get("lr")
                and x.get("optimizer") == sp.get("optimizer") and x.get("variant") == want):
            return r
    return None


def table_rows(runs: list[Run]) -> list[dict]:
    """Per NSGAN cell: the readings of its seeds and of their controls, the median departure
    step, and NSGAN's and the control's KL at each matched distance (median over seeds)."""
    out = []
    for c in design_cells():
        if c["method"] != "nsgan":
            continue
        mine = [r for r in runs if all(r.spec.get(k) == v for k, v in c.items())]
        if not mine:
            continue
        reads, ctrl, steps = [], [], []
        match = {d: ([], []) for d in MATCH_DISTANCES}
        for r in sorted(mine, key=lambda r: r.seed):
            cur = run_curve(r)
            word, step = reading(cur["steps"], cur["kl"], cur["se"])
            reads.append(word)
            steps.append(step)
            ctl = control_of(runs, r)
            if ctl is not None:
                cc = run_curve(ctl)
                ctrl.append(reading(cc["steps"], cc["kl"], cc["se"])[0])
                for d in MATCH_DISTANCES:
                    match[d][0].append(kl_at_distance(cur["distance"], cur["kl"], d))
                    match[d][1].append(kl_at_distance(cc["distance"], cc["kl"], d))
        out.append({**c, "seeds": len(mine), "verdict": cell_word(reads),
                    "control": cell_word(ctrl), "departure": median_range(
                        [s for s in steps if s is not None], ".0f"),
                    "matched": {d: (median_range(a, ".3g"), median_range(b, ".3g"))
                                for d, (a, b) in match.items()}})
    return out


def findings(runs: list[Run]) -> dict[str, dict]:
    """F2 at the exact equilibrium: *supported* when NSGAN leaves at every Adam rate while
    none of its NLL controls does, *not supported* when NSGAN leaves at no rate (with Adam or
    SGD), *mixed* otherwise; incomplete until every exact-start cell has its runs."""
    preset = runs[0].spec.get("preset", "quick") if runs else "quick"
    want = {j.name for j in jobs(preset) if j.spec["variant"] == "exact"}
    have = {r.name for r in runs} & want
    key = "F2 (at the exact Nash equilibrium)"
    if have != want:
        return {key: {"status": f"incomplete: {len(have)}/{len(want)} runs of the exact-start cells",
                      "numbers": "waiting for its runs"}}
    rows = [x for x in table_rows(runs) if x["variant"] == "exact"]
    adam = [x for x in rows if x["optimizer"] == "adam"]
    leaves = [x["verdict"] == "leaves" for x in adam]
    controls_leave = any(x["control"] == "leaves" or x["control"].startswith("mixed") for x in adam)
    if all(leaves) and not controls_leave:
        status = "supported"
    elif not any(x["verdict"] == "leaves" for x in rows):
        status = "not supported"
    else:
        status = "mixed"
    return {key: {"status": status, "numbers": "; ".join(
        f"{x['optimizer']} {x['lr']:g}: NSGAN {x['verdict']}, NLL {x['control']}" for x in rows)}}


def load(root) -> list[Run]:
    """The study's finished runs in the design's order, then seed."""
    order = {tuple(sorted(c.items())): i for i, c in enumerate(design_cells())}
    return sorted(load_study(root), key=lambda r: (order.get(tuple(sorted(
        (k, r.spec.get(k)) for k in ("method", "optimizer", "variant", "lr"))), 999), r.seed))


# ------------------------------------------------------------------ the chapter's reading
NOT_RUN = "not run yet"


def cell_label(cell: dict) -> str:
    """A cell of the design in words (the chapter's tables)."""
    method = "NSGAN" if cell["method"] == "nsgan" else "NLL control"
    opt = "Adam (0.5, 0.999)" if cell["optimizer"] == "adam" else "plain SGD"
    what = {"exact": "exact start", FROZEN_FRESH: "frozen fresh D", "r1-1": "exact start, R1 (gamma 1)",
            "r1-10": "exact start, R1 (gamma 10)", "spectral-norm": "exact start, spectral-norm D",
            "beta1-0.9": "exact start, beta1 0.9", "finite": "exact start, finite set",
            "fresh-d": "fresh D", "trained-first": "D trained first",
            "frozen-exact": "frozen exact D"}.get(cell["variant"], cell["variant"])
    if cell["variant"] == "beta1-0.9":
        opt = "Adam (0.9, 0.999)"
    return f"{method}, {what}, {opt}"


def cell_status(runs: list[Run], preset: str = "quick", seeds=SEEDS) -> list[dict]:
    """Every cell of the design with what its shipped runs say: ``{"cell", "label", "lr",
    "runs", "planned", "reading"}``; ``reading`` is :data:`NOT_RUN` for a cell none of whose
    runs has finished, ``"k/n runs"`` for one still partial, else its seeds' common reading
    by :func:`reading` (the rule stated before the runs; nothing here changes it)."""
    names = {r.name for r in runs}
    by_name = {r.name: r for r in runs}
    out = []
    for c in design_cells():
        want = [f"{c['method']}-{c['optimizer']}-{c['variant']}-lr{c['lr']:g}-seed{s}" for s in seeds]
        have = [n for n in want if n in names]
        if not have:
            word = NOT_RUN
        elif len(have) < len(want):
            word = f"{len(have)}/{len(want)} runs"
        else:
            word = cell_word([reading(*(run_curve(by_name[n])[k] for k in ("steps", "kl", "se")))[0]
                              for n in have])
        out.append({"cell": c, "label": cell_label(c), "lr": c["lr"], "runs": len(have),
                    "planned": len(want), "reading": word})
    return out

"""The Nash-equilibrium study (chapter *Is the Nash equilibrium a resting place?*): its jobs,
its departure rule and its verdict.

Runs (``results/nash-<preset>/<method>-<variant>-lr<rate>-seed<s>/``, see :func:`jobs`) start
at the synthetic-MNIST teacher's weights (the generator *is* the data distribution) and log,
at every check, the exact KL(teacher || student) on held-out teacher samples (``kl``,
``kl_se``, nats per image), the exact reverse KL(student || teacher) from the student's own
samples (``reverse_kl``), LeNet-FID and class coverage against teacher samples, and the
generator's and the discriminator's input gradients. Values span orders of magnitude:
summaries are medians and ranges over seeds.

The study this replaces (a warm-up schedule, beta1 0.9, one learning rate, the retired
teacher) is kept, marked superseded, in ``results/superseded/nash-quick``.
"""
from __future__ import annotations

import math
import statistics

import numpy as np

from flowlib.studies.results import Run, load_study, median_range, value_at, verdict
from flowlib.studies.design import Design
from flowlib.studies.runner import Job

# ------------------------------------------------------------------ the design
# Stated before any of its runs; the chapter repeats it. The study above let the step size
# grow with time (a warm-up) and used beta1 = 0.9 and no regulariser, so it could not say
# whether NSGAN or its settings leave the equilibrium. This design asks two questions, each
# with an NLL control trained exactly alike:
#
# A. Does the time to leave depend on the step size? NSGAN (Adam betas (0.5, 0.999) for both
#    players, no regulariser, a fresh discriminator at the generator's learning rate, fresh
#    teacher samples every step) and NLL, at constant learning rates LRS: no warm-up, no decay.
# B. Does any optimiser or regulariser keep NSGAN at the equilibrium? At REFERENCE_LR, one
#    change at a time from that reference (VARIANTS): beta1 0.9; plain SGD (with its own NLL
#    control: SGD's steps are not Adam's); R1 on reals with gamma 1 and 10; a spectrally
#    normalised discriminator; a discriminator first trained alone on the fixed generator;
#    the finite synthetic set instead of the stream (with its own NLL control).
#
# The NLL controls keep NLL's own optimiser settings (Adam (0.9, 0.999), or SGD where the
# variant is SGD): "alike" means the same rate, data, steps, seed and starting point.
# A fractional design (a full factorial of 5 rates x 8 variants x 2 losses is 240 runs): the
# reference variant is crossed with every rate; the others are at REFERENCE_LR only. Every
# cell has SEEDS seeds. Checks every 10 steps for the first 200, then every EVERY; each logs
# the exact KL both ways, LeNet-FID and class coverage against teacher samples, and the
# generator's and the discriminator's input gradients.
LRS = (1e-6, 1e-5, 3e-5, 1e-4, 2e-4)
REFERENCE_LR = 1e-4
SEEDS = (0, 1, 2)
VARIANTS = {  # name: (flags of `flowlib train` added to the reference, has its own NLL control)
    "reference": ((), False),
    "beta1-0.9": (("--gan-beta1", "0.9"), False),
    "sgd": (("--optimizer", "sgd"), True),
    "r1-1": (("--r1", "1"), False),
    "r1-10": (("--r1", "10"), False),
    "spectral-norm": (("--spectral-norm",), False),
    "pretrained-d": (("--pretrain-disc", "{pretrain}"), False),
    "finite": ((), True),
}
PLAN = {"smoke": {"steps": 30, "every": 15, "dense": (10, 20), "train_size": 500, "pretrain": 20},
               "quick": {"steps": 400, "every": 100, "dense": (10, 200), "train_size": 10_000, "pretrain": 300},
               "full": {"steps": 5000, "every": 500, "dense": (10, 200), "train_size": 50_000, "pretrain": 2000}}


# Added after the first three reference runs were seen, before any cell had its three seeds
# (said so in the chapter): a discriminator freshly initialised at the generator's rate barely
# trains at the small rates (at 1e-6 its input gradient stayed near 0.065 for 400 steps), so
# there the generator drifts along a random discriminator's gradient rather than against a
# discriminator at the equilibrium. So the "D trained first" variant is crossed with every
# rate too, its discriminator always at REFERENCE_LR (pre-trained 300 steps against the fixed
# teacher, then kept learning): both players start at, and can stay near, the equilibrium.
CROSSED = ("reference", "pretrained-d")


def design_cells() -> list[dict]:
    """The design's cells, ``{"method", "variant", "lr"}``, in a fixed order."""
    cells = []
    for lr in LRS:
        cells += [{"method": m, "variant": "reference", "lr": lr} for m in ("nsgan", "nll")]
    for variant, (_, own_control) in VARIANTS.items():
        if variant == "reference":
            continue
        cells.append({"method": "nsgan", "variant": variant, "lr": REFERENCE_LR})
        if own_control:
            cells.append({"method": "nll", "variant": variant, "lr": REFERENCE_LR})
    # the crossed variants at every other rate (the reference is crossed by the loop above)
    cells += [{"method": "nsgan", "variant": v, "lr": lr}
              for v in CROSSED if v != "reference" for lr in LRS if lr != REFERENCE_LR]
    return cells


def design(preset: str) -> Design:
    """One job per (cell, seed) of the design (:func:`design_cells`), :data:`SEEDS`."""
    plan = PLAN[preset]

    def job(cell, seed):
        method, variant, lr = cell["method"], cell["variant"], cell["lr"]
        flags, _ = VARIANTS[variant]
        argv = ["train", "--loss", method, "--preset", preset, "--seed", str(seed),
                "--init", "teacher", "--steps", str(plan["steps"]),
                "--eval-every", str(plan["every"]), "--quality-every", str(plan["every"]),
                "--dense-checks", *map(str, plan["dense"]), "--reverse-kl",
                "--lr", f"{lr:g}", "--warmup-steps", "0", "--final-lr-frac", "1",
                "--no-ema", "--no-progress"]
        argv += (["--data", "synthetic", "--train-size", str(plan["train_size"])]
                 if variant == "finite" else ["--data", "teacher-stream"])
        if method == "nsgan":
            d_lr = REFERENCE_LR if variant == "pretrained-d" else lr
            argv += ["--d-lr", f"{d_lr:g}", "--gan-beta1", "0.5"]
            argv += [f.format(pretrain=plan["pretrain"]) for f in flags]
        elif variant == "sgd":
            argv += ["--optimizer", "sgd"]
        data = "finite" if variant == "finite" else "stream"
        return Job(f"{method}-{variant}-lr{lr:g}-seed{seed}", tuple(argv),
                   {"method": method, "loss": method, "variant": variant, "lr": lr,
                    "data": data, "seed": seed, "preset": preset})
    return Design("nash", tuple(design_cells()), seeds=tuple(SEEDS), job=job)


def jobs(preset: str, seeds=None) -> list[Job]:
    return design(preset).expand(seeds)


# The departure rule, fixed before the runs (and unit-tested on constructed curves): an NSGAN
# run *leaves the equilibrium* at the first check where its exact KL(teacher || student)
# exceeds DEPARTURE_FACTOR times the largest KL its NLL control (same learning rate, optimiser,
# data and seed) reached at any check up to then, and at least DEPARTURE_FLOOR nats/image (an
# NLL control that stays within sampling noise of 0 must not make any wobble a departure).
DEPARTURE_FACTOR = 10.0
DEPARTURE_FLOOR = 1.0


def departure_step(steps, kl_gan, steps_nll, kl_nll, factor: float = DEPARTURE_FACTOR,
                   floor: float = DEPARTURE_FLOOR):
    """The first step at which the NSGAN curve ``(steps, kl_gan)`` leaves the equilibrium by the
    rule above, judged against the NLL curve ``(steps_nll, kl_nll)``; None if it never does.
    A non-finite KL (a run that blew up) counts as leaving. Once the control's own KL has been
    non-finite, the bar is infinite: nothing finite is ten times farther than a control that
    blew up (a clarification written before any control did)."""
    steps, kl_gan = np.asarray(steps), np.asarray(kl_gan, dtype=float)
    steps_nll, kl_nll = np.asarray(steps_nll), np.asarray(kl_nll, dtype=float)
    for s, k in zip(steps, kl_gan):
        seen = kl_nll[steps_nll <= s]
        bar = (floor if not len(seen) else math.inf if not np.isfinite(seen).all()
               else max(floor, factor * float(np.max(np.abs(seen)))))
        if not np.isfinite(k) or k > bar:
            return int(s)
    return None


def _control(runs: list[Run], run: Run) -> Run | None:
    """The NLL control of an NSGAN run: same seed and learning rate, and the same optimiser
    and data where the variant has its own control."""
    variant = run.spec.get("variant")
    own = VARIANTS.get(variant, ((), False))[1]
    for r in runs:
        if (r.spec.get("method") == "nll" and r.seed == run.seed and r.spec.get("lr") == run.spec.get("lr")
                and r.spec.get("variant") == (variant if own else "reference")):
            return r
    return None


def departures(runs: list[Run]) -> list[dict]:
    """Per NSGAN run of the design: its cell, seed and departure step (None: stayed), judged
    against its NLL control by :func:`departure_step`; a run whose control is missing is kept
    with ``control`` False and no departure step (:func:`cell_verdicts` names it)."""
    out = []
    for r in runs:
        if r.spec.get("method") != "nsgan" or "variant" not in r.spec:
            continue
        c = _control(runs, r)
        row = {"variant": r.spec["variant"], "lr": r.spec["lr"], "seed": r.seed,
               "control": c is not None, "final_kl": value_at(r, "kl"), "step": None,
               "control_max_kl": None}
        if c is not None:
            row["step"] = departure_step(*r.series("kl"), *c.series("kl"))
            kl = c.series("kl")[1]
            row["control_max_kl"] = float(np.nanmax(np.abs(kl))) if len(kl) else None
        if r.outcome == "diverged" and row["step"] is None:
            # a run stopped by a non-finite loss left the equilibrium where it stopped
            row["step"] = next((int(e["step"]) for e in r.events if e.get("event") == "diverged"),
                               r.manifest.get("results", {}).get("diverged_at_step"))
        out.append(row)
    return out


def cell_verdicts(rows: list[dict]) -> dict[tuple[str, float], str]:
    """Per (variant, lr) cell: *leaves* (every seed departed), *stays* (none did), or *mixed*,
    with the number of seeds; from :func:`departures`' rows."""
    cells: dict = {}
    missing: dict = {}
    for row in rows:
        key = (row["variant"], row["lr"])
        if row.get("control", True):
            cells.setdefault(key, []).append(row["step"] is not None)
        else:  # a seed without its control is not judged, and the cell says so
            missing[key] = missing.get(key, 0) + 1
            cells.setdefault(key, [])
    word = {"supported": "leaves", "not supported": "stays", "mixed": "mixed", "no data": "no data"}
    return {k: f"{word[verdict(sum(v), len(v))]} ({sum(v)}/{len(v)} seeds"
               + (f"; {missing[k]} without a control" if k in missing else "") + ")"
            for k, v in cells.items()}


# ------------------------------------------------------------------ reading the runs
VARIANT_LABEL = {"reference": "Adam (0.5, 0.999), no regulariser", "beta1-0.9": "Adam beta1 0.9",
                 "sgd": "plain SGD", "r1-1": "R1 (gamma 1)", "r1-10": "R1 (gamma 10)",
                 "spectral-norm": "spectral-norm D", "pretrained-d": "D trained first",
                 "finite": "finite synthetic set"}


def load(root) -> list[Run]:
    """The study's finished runs in the design's order (:func:`design_cells`), then seed."""
    order = {(c["method"], c["variant"], c["lr"]): i for i, c in enumerate(design_cells())}
    runs = load_study(root)
    return sorted(runs, key=lambda r: (order.get(cell_of(r), 999), r.seed))


def cell_of(run: Run) -> tuple:
    """(method, variant, lr) of a run of the design."""
    return run.spec.get("method"), run.spec.get("variant"), run.spec.get("lr")


def cell_runs(runs: list[Run], method: str, variant: str, lr: float) -> list[Run]:
    return [r for r in runs if cell_of(r) == (method, variant, lr)]


def _median(v) -> str:
    v = [x for x in v if x is not None and np.isfinite(x)]
    return f"{statistics.median(v):.3g}" if v else "—"


def _summary(v) -> str:
    """'median (min–max)' over seeds, '+ k infinite' for KLs recorded as infinite."""
    return median_range(v, ".3g", infinite=True)


def progress(runs: list[Run]) -> tuple[int, int]:
    """(finished runs of the design, runs the design has at 3 seeds)."""
    names = {j.name for j in jobs(runs[0].spec.get("preset", "quick") if runs else "quick")}
    return sum(r.name in names for r in runs), len(names)



# The verdict, fixed with the design before any of its runs (and unit-tested): no verdict
# until every run of the cells it reads has finished ("incomplete"); then
# - by step size: the reference cells (one per learning rate), *supported* when NSGAN leaves
#   the equilibrium (every seed, by the departure rule) at every rate, *not supported* when
#   it leaves at none, *mixed* otherwise;
# - with a stabiliser or another optimiser: the other variants at REFERENCE_LR, *supported*
#   when every one of them leaves, *not supported* when none does, *mixed* otherwise (then
#   the ones that keep NSGAN at the equilibrium are named).
def three_way(cell_words: list[str]) -> str:
    """The book's three-way verdict over cells: *supported* when every cell leaves, *not
    supported* when every cell stays, *mixed* otherwise (a cell whose seeds disagree counts
    as neither)."""
    if not cell_words:
        return "no data"
    if all(w.startswith("leaves") for w in cell_words):
        return "supported"
    if all(w.startswith("stays") for w in cell_words):
        return "not supported"
    return "mixed"


def _departure_text(steps: list, lr: float) -> str:
    """Departure steps of a cell's seeds as a reader should take them: a departure at the
    first check (step DENSE) is an upper bound, '<= 10'; seeds that stayed are counted."""
    left = [s for s in steps if s is not None]
    if not left:
        return ""
    first = min(left)
    bound = "<= " if first <= 10 else ""
    spread = f", range {min(left)}-{max(left)}" if min(left) < max(left) else ""
    return (f", departure step median {bound}{_median(left)}{spread} over {len(left)}/{len(steps)} "
            f"seeds (lr x step {bound}{_median([lr * s for s in left])})")


def findings(runs: list[Run]) -> dict[str, dict]:
    rows = departures(runs)
    cells = cell_verdicts(rows)
    done = {r.name for r in runs}
    expected = {j.name: j.spec for j in jobs(runs[0].spec.get("preset", "quick") if runs else "quick")}

    def complete(pred) -> tuple[int, int]:
        names = [n for n, s in expected.items() if pred(s)]
        return sum(n in done for n in names), len(names)

    def steps_of(variant, lr):
        return [x["step"] for x in rows if (x["variant"], x["lr"]) == (variant, lr)]

    out = {}
    for variant, name in (("reference", "F2 (at the Nash equilibrium, by step size)"),
                          ("pretrained-d", "F2 (at the Nash equilibrium, D trained first, by step size)")):
        have, want = complete(lambda s, v=variant: s["variant"] == v
                              or (s["method"] == "nll" and s["variant"] == "reference"))
        words = [cells.get((variant, lr), "not run") for lr in LRS]
        per_lr = "; ".join(f"{lr:g}: {w}{_departure_text(steps_of(variant, lr), lr)}"
                           for lr, w in zip(LRS, words))
        out[name] = {
            "status": three_way(words) if have == want else f"incomplete: {have}/{want} runs of its cells",
            "numbers": (f"NSGAN leaves at {sum(w.startswith('leaves') for w in words)}/{len(LRS)} "
                        f"learning rates, stays at {sum(w.startswith('stays') for w in words)}; "
                        f"per rate: {per_lr}")}
    variants = [v for v in VARIANTS if v != "reference"]
    have, want = complete(lambda s: s["lr"] == REFERENCE_LR)
    words = [cells.get((v, REFERENCE_LR), "not run") for v in variants]
    stay = [VARIANT_LABEL[v] for v, w in zip(variants, words) if w.startswith("stays")]
    status = three_way(words) if have == want else f"incomplete: {have}/{want} runs of its cells"
    per_v = "; ".join(f"{VARIANT_LABEL[v]}: {w}{_departure_text(steps_of(v, REFERENCE_LR), REFERENCE_LR)}"
                      for v, w in zip(variants, words))
    out[f"F2 (at the Nash equilibrium, stabilised, lr {REFERENCE_LR:g})"] = {
        "status": status + (f" (kept at the equilibrium: {', '.join(stay)})"
                            if status == "mixed" and stay else ""),
        "numbers": f"NSGAN leaves in {sum(w.startswith('leaves') for w in words)}/{len(variants)} variants; {per_v}"}
    return out

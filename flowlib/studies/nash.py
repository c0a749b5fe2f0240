"""The Nash-equilibrium experiment's analysis: what its chapter computes and draws.

Runs (``results/nash-<preset>/<method>-<data>-seed<s>/``, see
:func:`jobs`) start at the teacher's weights and log, every k
steps, the exact KL to the teacher on held-out teacher samples (``kl``, ``kl_se`` in nats
per image), LeNet-FID against teacher samples, and validation bits/dim (MNIST units).
"""
from __future__ import annotations

import statistics

from flowlib.studies.results import Run, fmt, load_study, value_at, verdict
from flowlib.studies.runner import Job

METHODS = ("nsgan", "nsgan-pretrained-d", "nll")
METHOD_LABEL = {"nsgan": "NSGAN, fresh D", "nsgan-pretrained-d": "NSGAN, D trained first",
                "nll": "NLL"}
METHOD_COLOR = {"nsgan": "C3", "nsgan-pretrained-d": "C1", "nll": "C0"}
DATA_LABEL = {"finite": "finite synthetic set", "stream": "fresh teacher samples"}
DATA_STYLE = {"finite": "-", "stream": "--"}


# The Nash-equilibrium experiment: a student with the teacher's architecture *starts at the
# teacher's weights* (the generator is the true distribution), then trains by NSGAN with a
# fresh discriminator, by NSGAN after the discriminator alone was trained first, or by NLL;
# on a finite synthetic training set or on fresh teacher samples every step. All at one
# learning rate and without EMA (the raw weights are what moves away, or not).
PLAN = {"smoke": {"steps": 30, "every": 15, "train_size": 500, "pretrain": 20},
        "quick": {"steps": 500, "every": 100, "train_size": 10_000, "pretrain": 500},
        "full": {"steps": 10_000, "every": 500, "train_size": 50_000, "pretrain": 5000}}

LR = 2e-4


DATA = ("finite", "stream")


def jobs(preset: str, seeds) -> list[Job]:
    plan = PLAN[preset]
    jobs = []
    for seed in seeds:
        for data in DATA:
            for method in METHODS:
                loss = "nll" if method == "nll" else "nsgan"
                argv = ["train", "--loss", loss, "--preset", preset, "--seed", str(seed),
                        "--init", "teacher", "--steps", str(plan["steps"]),
                        "--eval-every", str(plan["every"]), "--quality-every", str(plan["every"]),
                        "--lr", str(LR), "--no-ema", "--no-progress"]
                argv += (["--data", "synthetic", "--train-size", str(plan["train_size"])]
                         if data == "finite" else ["--data", "teacher-stream"])
                if method == "nsgan-pretrained-d":
                    argv += ["--pretrain-disc", str(plan["pretrain"])]
                jobs.append(Job(f"{method}-{data}-seed{seed}", tuple(argv),
                                {"method": method, "loss": loss, "data": data, "seed": seed,
                                 "preset": preset}))
    return jobs


def load(root) -> list[Run]:
    runs = load_study(root)
    order = {m: i for i, m in enumerate(METHODS)}
    return sorted(runs, key=lambda r: (r.spec.get("data", ""), order.get(r.spec.get("method"), 9),
                                       r.seed))


def groups(runs: list[Run]) -> dict[tuple[str, str], list[Run]]:
    out: dict = {}
    for r in runs:
        out.setdefault((r.spec.get("method"), r.spec.get("data")), []).append(r)
    return out


def check_steps(runs: list[Run]) -> list[int]:
    return sorted(set().union(*[set(r.series("kl")[0].tolist()) for r in runs]))


def table(runs: list[Run]) -> str:
    """Markdown: exact KL (nats/image) after each checked step, mean ± sd over seeds."""
    steps = check_steps(runs)
    shown = [s for s in steps if s > 0]
    head = ("| method | data | seeds | " + " | ".join(f"KL @ {s}" for s in shown)
            + " | final LeNet-FID vs teacher | runs with instability (first step) |\n|"
            + "---|" * (len(shown) + 5) + "\n")
    body = ""
    for (method, data), rs in groups(runs).items():
        cells = [fmt([value_at(r, "kl", s) for r in rs], 2) for s in shown]
        # a run flags at every check while it stays unstable: count runs, not flags
        firsts = [min(e["step"] for e in flagged) for r in rs
                  if (flagged := [e for e in r.events if e.get("event") == "instability"])]
        events = f"{len(firsts)}/{len(rs)}" + (f" ({', '.join(map(str, sorted(firsts)))})" if firsts else "")
        body += (f"| {METHOD_LABEL.get(method, method)} | {DATA_LABEL.get(data, data)} | {len(rs)} | "
                 + " | ".join(cells)
                 + f" | {fmt([value_at(r, 'fid') for r in rs], 1)} | {events} |\n")
    return head + body


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


def findings(runs: list[Run]) -> dict[str, dict]:
    """F2 at the Nash equilibrium: does NSGAN leave it while NLL stays?

    Compared per (seed, data) at the last check: *supported* if every NSGAN run (either
    discriminator) ends with a larger exact KL than the NLL run of the same seed and data,
    *not supported* if none does, *mixed* otherwise; *inconclusive* for runs made before the
    adversarial machinery was corrected. Values span orders of magnitude: median and range.
    """
    by = {(r.spec.get("method"), r.spec.get("data"), r.seed): r for r in runs}
    pairs = []
    for (method, data, seed), r in by.items():
        if method in ("nsgan", "nsgan-pretrained-d") and ("nll", data, seed) in by:
            a, b = value_at(r, "kl"), value_at(by["nll", data, seed], "kl")
            if a is not None and b is not None:
                pairs.append((a, b))
    wins = sum(a > b for a, b in pairs)
    status = verdict(wins, len(pairs))
    # Runs made before the adversarial machinery was corrected (no discriminator input
    # gradient logged: a warm-up confounding step size with time, beta1 0.9, fakes off the
    # pixel range) cannot separate NSGAN from those settings: no verdict from them.
    if pairs and not all(any("d_input_grad_fake" in x for x in r.rows)
                         for r in runs if r.spec.get("method", "").startswith("nsgan")):
        status = "inconclusive: runs made before the adversarial machinery was corrected"
    ns = [a for a, _ in pairs]
    nl = [b for _, b in pairs]
    return {"F2 (at the Nash equilibrium)": {
        "status": status,
        "numbers": (f"final exact KL larger for NSGAN than for NLL in {wins}/{len(pairs)} "
                    f"(seed, data) pairs; NSGAN median {_median(ns)} (range {_range(ns)}) vs "
                    f"NLL median {_median(nl)} (range {_range(nl)}) nats/image")}}


def _median(v) -> str:
    return f"{statistics.median(v):.3g}" if v else "—"


def _range(v) -> str:
    return f"{min(v):.3g}..{max(v):.3g}" if v else "—"


# ------------------------------------------------------------------ the redesigned study (issue 17)
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
DESIGN_PLAN = {"smoke": {"steps": 30, "every": 15, "dense": (10, 20), "train_size": 500, "pretrain": 20},
               "quick": {"steps": 400, "every": 100, "dense": (10, 200), "train_size": 10_000, "pretrain": 300},
               "full": {"steps": 5000, "every": 500, "dense": (10, 200), "train_size": 50_000, "pretrain": 2000}}


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
    return cells


def design_jobs(preset: str, seeds=SEEDS) -> list[Job]:
    """One job per (cell, seed) of the design (:func:`design_cells`)."""
    plan = DESIGN_PLAN[preset]
    jobs = []
    for cell in design_cells():
        method, variant, lr = cell["method"], cell["variant"], cell["lr"]
        flags, _ = VARIANTS[variant]
        for seed in seeds:
            argv = ["train", "--loss", method, "--preset", preset, "--seed", str(seed),
                    "--init", "teacher", "--steps", str(plan["steps"]),
                    "--eval-every", str(plan["every"]), "--quality-every", str(plan["every"]),
                    "--dense-checks", *map(str, plan["dense"]), "--reverse-kl",
                    "--lr", f"{lr:g}", "--warmup-steps", "0", "--final-lr-frac", "1",
                    "--no-ema", "--no-progress"]
            argv += (["--data", "synthetic", "--train-size", str(plan["train_size"])]
                     if variant == "finite" else ["--data", "teacher-stream"])
            if method == "nsgan":
                argv += ["--d-lr", f"{lr:g}", "--gan-beta1", "0.5"]
                argv += [f.format(pretrain=plan["pretrain"]) for f in flags]
            elif variant == "sgd":
                argv += ["--optimizer", "sgd"]
            data = "finite" if variant == "finite" else "stream"
            jobs.append(Job(f"{method}-{variant}-lr{lr:g}-seed{seed}", tuple(argv),
                            {"method": method, "loss": method, "variant": variant, "lr": lr,
                             "data": data, "seed": seed, "preset": preset}))
    return jobs


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
    A non-finite KL (a run that blew up) counts as leaving."""
    import numpy as np
    steps, kl_gan = np.asarray(steps), np.asarray(kl_gan, dtype=float)
    steps_nll, kl_nll = np.asarray(steps_nll), np.asarray(kl_nll, dtype=float)
    for s, k in zip(steps, kl_gan):
        seen = kl_nll[steps_nll <= s]
        bar = max(floor, factor * float(np.nanmax(np.abs(seen)))) if len(seen) else floor
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
    against its NLL control by :func:`departure_step`; runs without a control are left out."""
    import numpy as np
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

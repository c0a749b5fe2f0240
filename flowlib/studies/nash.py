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

"""Experiment 1 at each run's best sampling temperature (issue 35): the rule, its job, its reading.

Stated on 2026-12-07, implemented and unit-tested (``tests/studies/test_nll_vs_gan_temperature.py``)
before it was run on any run of the fair fight. Every final figure of Experiment 1 so far is
measured at temperature 1 (latents ``N(0, base_std^2 I)`` with the base std each run trained
with, 1.0 for all of them; :mod:`flowlib.metrics.final`), while flows are customarily sampled
below it (Glow used 0.7) and the book's own teacher rule (:mod:`flowlib.studies.teacher`) found
0.9 best for the same architecture trained longer by NLL. So a second reading, beside the first:

**The rule** (:data:`RULE`, :func:`choose_temperature`), the teacher's approach with a tolerance
taken from a null measured in the same scan:

1. For each temperature ``T`` of :data:`TEMPERATURES` (0.5, 0.6, ..., 1.0; a factor on the
   run's base std) and each noise seed of :data:`NOISE_SEEDS` (the same seed for every
   temperature), draw :data:`SCAN_IMAGES` samples (2 000) and compute their LeNet-FID against
   :data:`REFERENCE_IMAGES` (all 10 000) MNIST *validation* digits. Test digits never choose.
2. Score each temperature by the mean of its FIDs over the noise seeds; ``T_min`` is the
   temperature of lowest score.
3. **The null**: one model at one temperature under different noise seeds, where no effect can
   exist. A temperature's spread is the largest difference between two of its FIDs
   (:func:`~flowlib.studies.misspecification_calibrated.null_spread`).
4. **Ties go toward temperature 1**: a temperature is *tied* with ``T_min`` when its score
   exceeds ``T_min``'s by no more than the larger of the two temperatures' spreads; the chosen
   temperature is the highest tied one (``T_min`` itself when no higher one is tied). With a
   single noise seed there is no null: the plain minimum (of equal scores, the higher
   temperature).
   A non-finite score (a dead sampler) is never chosen.

**Its job**: ``python -m flowlib nll-vs-gan-temperature --preset quick`` computes the rule for
each final run of ``results/nll-vs-gan-<preset>`` whose weights (``model.pt``) are there, then
the test LeNet-FID of :data:`~flowlib.metrics.final.PLANS`' sample count (10 000 at quick) at
the chosen temperature with the final evaluation's noise seed
(:data:`~flowlib.metrics.final.SAMPLE_SEED`), and writes ``temperature.json`` beside the run
(the scan, the null, the choice, the test figures; model SHA-256, commit, device, time),
skipped when it exists for the same weights. Runs without weights are named, not guessed.

**The reading** (:func:`f1_readings`): F1 at temperature 1 stays the primary verdict
(:func:`flowlib.studies.nll_vs_gan.findings`); the secondary applies F1's rule
(:func:`~flowlib.studies.nll_vs_gan.f1_verdict`) to the test LeNet-FIDs at each run's chosen
temperature (NLL *and* the adversarial runs, each by this rule, so the comparison stays like
for like) and says whether that changes the primary verdict. A generator counts as alive at
its chosen temperature when it was alive at its end (gradient) and its samples there cover at
least :data:`~flowlib.studies.nll_vs_gan.ALIVE_MIN_CLASSES` classes.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from flowlib.core.errors import FlowlibError
from flowlib.core.presets import pick
from flowlib.studies.misspecification_calibrated import null_spread

FILE = "temperature.json"
TEMPERATURES = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)   # factors on the run's base std; 1.0 = primary
SCAN_IMAGES = 2000            # samples per (temperature, noise seed), as the validation checks
REFERENCE = "mnist-validation"
REFERENCE_IMAGES = 10_000     # every validation digit: the reference's own noise kept small
NOISE_SEEDS = (0, 1, 2)       # the same seed at every temperature; three give the null
RULE = ("the highest temperature of 0.5, 0.6, ..., 1.0 whose mean LeNet-FID (2 000 samples, noise "
        "seeds 0, 1 and 2, against the 10 000 MNIST validation digits) is within the noise of the "
        "lowest mean: at most the larger of the two temperatures' spreads (largest difference "
        "between two noise seeds) above it; temperature 1 is the primary reading")


class TemperatureError(FlowlibError, ValueError):
    """A scan the rule cannot read, or a run it cannot be computed for."""


@dataclass(frozen=True)
class TemperaturePlan:
    temperatures: tuple
    scan_images: int
    reference_images: int
    noise_seeds: tuple


PLANS = {"smoke": TemperaturePlan((0.8, 1.0), 200, 200, (0, 1)),
         "quick": TemperaturePlan(TEMPERATURES, SCAN_IMAGES, REFERENCE_IMAGES, NOISE_SEEDS),
         "full": TemperaturePlan(TEMPERATURES, SCAN_IMAGES, REFERENCE_IMAGES, NOISE_SEEDS)}


# ------------------------------------------------------------------ the rule
def choose_temperature(scan: list[dict]) -> dict:
    """The rule of the module's docstring on ``scan``: rows ``{"temperature", "seed",
    "lenet_fid"}``, one per temperature and noise seed. Returns the chosen ``temperature``,
    ``minimum`` (``T_min``), each temperature's ``score`` (mean FID) and ``spread`` (its null,
    NaN with one seed), the ``tolerance`` applied against ``T_min`` for the chosen one, and
    ``tied`` (the temperatures within it)."""
    if not scan:
        raise TemperatureError("An empty temperature scan: nothing to choose from.")
    temps = sorted({float(r["temperature"]) for r in scan})
    seeds = sorted({r["seed"] for r in scan})
    by = {(float(r["temperature"]), r["seed"]): r["lenet_fid"] for r in scan}
    if len(by) != len(scan) or len(by) != len(temps) * len(seeds):
        raise TemperatureError(f"The scan must hold one FID per temperature and noise seed "
                               f"({len(temps)} x {len(seeds)}), it holds {len(scan)} rows.")
    score, spread = {}, {}
    for t in temps:
        v = [float(by[t, s]) for s in seeds]
        score[t] = sum(v) / len(v) if all(map(math.isfinite, v)) else math.inf
        spread[t] = null_spread(v) if len(seeds) > 1 else math.nan
    finite = [t for t in temps if math.isfinite(score[t])]
    if not finite:
        raise TemperatureError("No temperature of the scan has a finite FID: the sampler is dead.")
    t_min = min(finite, key=lambda t: (score[t], -t))   # equal scores: the higher temperature

    def tol(t):
        s = [x for x in (spread[t], spread[t_min]) if math.isfinite(x)]
        return max(s) if s else 0.0

    tied = [t for t in finite if score[t] - score[t_min] <= tol(t)] if len(seeds) > 1 else [t_min]
    chosen = max(tied)
    return {"temperature": chosen, "minimum": t_min, "tolerance": tol(chosen), "tied": tied,
            "score": {f"{t:g}": score[t] for t in temps},
            "spread": {f"{t:g}": spread[t] for t in temps}, "noise_seeds": seeds}


# ------------------------------------------------------------------ the job
def scan_run(model, plan: TemperaturePlan) -> list[dict]:
    """The scan of the rule for ``model`` (temperatures as factors on its base std): one row
    per temperature and noise seed (:func:`flowlib.studies.teacher.temperature_scan`, the
    teacher's scan, with every validation digit as reference)."""
    from flowlib.studies.teacher import temperature_scan
    base = model.config.base_std
    rows = []
    for seed in plan.noise_seeds:
        got = temperature_scan(model, [t * base for t in plan.temperatures], n=plan.scan_images,
                               seed=seed, reference=REFERENCE, n_reference=plan.reference_images)
        for t, r in zip(plan.temperatures, got):
            rows.append({**r, "temperature": float(t), "base_std": r["temperature"], "seed": seed})
    return rows


def temperature_evaluation(run_dir, preset: str, *, force: bool = False) -> dict:
    """Compute the rule for the finished run ``run_dir`` (its ``model.pt``), then the test
    LeNet-FID at the chosen temperature as the final evaluation measures it at temperature 1
    (same sample count and noise seed); write and return ``run_dir/temperature.json``. Skips
    (returns the stored reading) when it exists for the same weights and plan, unless ``force``."""
    import torch

    from flowlib.core.manifest import device_description, git_commit
    from flowlib.core.paths import atomic_write_bytes, sha256_file
    from flowlib.metrics.fid import fid
    from flowlib.metrics.final import PLANS as FINAL_PLANS, SAMPLE_SEED, stored_result
    from flowlib.models.flows import evaluating
    from flowlib.models.realnvp import RealNVP

    run_dir = Path(run_dir)
    model_path = run_dir / "model.pt"
    if not model_path.exists():
        raise TemperatureError(f"{run_dir.name} has no model.pt (only the seed-0 runs ship their "
                               "weights): remake them with `python -m flowlib job nll-vs-gan --preset "
                               f"quick --job {run_dir.name} --root DIR`, then run this on DIR.")
    plan, n_test = pick(preset, PLANS), pick(preset, FINAL_PLANS).fid_images
    digest = sha256_file(model_path)
    path = run_dir / FILE
    stored = stored_result(path, digest, _plan_dict(plan), force)
    if stored is not None:
        return stored
    t0 = time.time()
    model = RealNVP.load(model_path).eval()
    scan = scan_run(model, plan)
    choice = choose_temperature(scan)
    t = choice["temperature"]
    g = torch.Generator().manual_seed(SAMPLE_SEED)
    with evaluating(model):
        r = fid(lambda b: model.sample(b, temperature=t, generator=g), reference="mnist-test",
                n=n_test)
    test = {k: v for k, v in r.as_dict().items() if k in (
        "fid", "n", "n_reference", "precision", "recall", "classes_covered", "class_kl", "seconds")}
    out = {"rule": RULE, "plan": _plan_dict(plan), "preset": preset, "model_sha256": digest,
           "base_std": model.config.base_std, "scan": scan, **choice,
           "test": {"temperature": t, "sample_seed": SAMPLE_SEED, "reference": "mnist-test",
                    "lenet": test},
           **git_commit(), "device": device_description(), "torch": torch.__version__,
           "seconds": round(time.time() - t0, 2),
           "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    atomic_write_bytes(path, (json.dumps(out, indent=1) + "\n").encode())
    return out


def _plan_dict(plan: TemperaturePlan) -> dict:
    d = asdict(plan)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def read(root) -> dict[str, dict]:
    """Every run's ``temperature.json`` under the study folder ``root``, by run name."""
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(Path(root).glob(f"*/{FILE}"))}


# ------------------------------------------------------------------ the reading
def f1_readings(runs, readings: dict[str, dict]) -> dict[str, dict]:
    """F1 at temperature 1 (primary) and at each run's chosen temperature (secondary), for
    every comparison :func:`flowlib.studies.nll_vs_gan.findings` makes on LeNet-FID.
    ``readings``: :func:`read`'s ``temperature.json`` by run name. Per comparison: both
    statuses, ``changed`` (whether the secondary's verdict differs from the primary's; None
    while the secondary is incomplete) and its numbers; a seed enters the secondary only when
    both of its runs have a reading."""
    from flowlib.studies.nll_vs_gan import (ALIVE_MIN_CLASSES, LOSS_LABEL, alive, f1_verdict,
                                            final_rows, findings)
    from flowlib.studies.results import median_range
    primary = findings(runs)
    rows = final_rows(runs)
    by = {(r["loss"], r["seed"]): r for r in rows}
    out = {}
    for fam in [f for f in ("nsgan", "wgan-gp", "hybrid") if any(r["loss"] == f for r in rows)]:
        name = "F1 (LeNet-FID)" if fam == "nsgan" else f"F1 (LeNet-FID, against {LOSS_LABEL.get(fam, fam)})"
        seeds = sorted(s for (l, s) in by if l == "nll" and (fam, s) in by)
        have = [s for s in seeds if by["nll", s]["run"] in readings and by[fam, s]["run"] in readings]
        triples, temps = [], []
        for s in have:
            a, b = readings[by["nll", s]["run"]], readings[by[fam, s]["run"]]
            lb = b["test"]["lenet"]
            live = alive({"final_grad_norm": by[fam, s]["final_grad_norm"],
                          "classes": lb.get("classes_covered")})
            triples.append((a["test"]["lenet"]["fid"], lb["fid"], live))
            temps.append((a["temperature"], b["temperature"]))
        first = primary.get(name, {}).get("status", "no data")
        if len(have) < len(seeds) or not seeds:
            second, changed = (f"incomplete: {len(have)}/{len(seeds)} seeds with both runs' "
                               "temperature readings"), None
            numbers = "waiting for the readings it needs (`python -m flowlib nll-vs-gan-temperature`)"
        else:
            second, detail = f1_verdict(triples)
            changed = second != first
            numbers = (f"{detail}; at the chosen temperatures (NLL, {LOSS_LABEL.get(fam, fam)}) "
                       + ", ".join(f"({x:g}, {y:g})" for x, y in temps)
                       + f": NLL {median_range([a for a, _, _ in triples])} vs "
                       f"{LOSS_LABEL.get(fam, fam)} {median_range([b for _, b, _ in triples])}"
                       f" (alive there: a gradient at its end and >= {ALIVE_MIN_CLASSES} classes)")
        out[name] = {"primary": first, "secondary": second, "changed": changed, "numbers": numbers}
    return out


def readings_markdown(runs, readings: dict[str, dict]) -> str:
    """Markdown: :func:`f1_readings` as a table (primary, secondary, whether it changes the
    verdict), or a sentence while no run has its reading."""
    if not readings:
        return ("*No final run has its temperature reading yet* (`python -m flowlib "
                "nll-vs-gan-temperature --preset quick`): F1 is read at temperature 1 only.")
    lines = ["| comparison | at T = 1 (primary) | at the chosen temperatures | changes the verdict |",
             "|---|---|---|---|"]
    for name, r in f1_readings(runs, readings).items():
        changed = "—" if r["changed"] is None else ("**yes**" if r["changed"] else "no")
        lines.append(f"| {name} | {r['primary']} | {r['secondary']}: {r['numbers']} | {changed} |")
    return "\n".join(lines)


# ------------------------------------------------------------------ the command
def _cmd(args) -> int:
    from flowlib.studies.results import shipped_results
    if args.preset == "smoke" and not args.root:
        raise TemperatureError("At smoke (which reads the shipped quick study) pass --root: a smoke "
                               "reading must never be written beside the shipped quick runs.")
    if args.teacher:   # the compute-matched NLL row of the parity table (issue 35)
        from flowlib.data.synthetic import teacher_dir
        from flowlib.studies.nll_vs_gan_parity import teacher_evaluation
        r = teacher_evaluation(teacher_dir(), args.preset, force=args.force)
        print(f"[temperature] teacher: LeNet-FID {r['lenet_fid_T1']:.1f} at T = 1, "
              f"{r['lenet_fid_chosen']:.1f} at its chosen {r['temperature']:g}; Inception-FID "
              f"{r.get('inception_fid_T1', float('nan')):.1f} and {r.get('inception_fid_chosen', float('nan')):.1f}",
              flush=True)
        return 0
    root = Path(args.root) if args.root else shipped_results("nll-vs-gan", args.preset)
    dirs = sorted(p.parent for p in root.glob("*/manifest.json"))
    if args.runs:
        unknown = sorted(set(args.runs) - {d.name for d in dirs})
        if unknown:
            raise TemperatureError(f"No finished run {', '.join(unknown)} under {root}.")
        dirs = [d for d in dirs if d.name in args.runs]
    missing = [d.name for d in dirs if not (d / "model.pt").exists()]
    for d in dirs:
        if d.name in missing:
            continue
        r = temperature_evaluation(d, args.preset, force=args.force)
        print(f"[temperature] {d.name}: chose {r['temperature']:g} (lowest mean {r['minimum']:g}, "
              f"tolerance {r['tolerance']:.1f}); test LeNet-FID there {r['test']['lenet']['fid']:.1f} "
              f"(n={r['test']['lenet']['n']})", flush=True)
    if missing:
        print(f"[temperature] no weights (model.pt), not computed: {', '.join(missing)}", flush=True)
    return 1 if missing and args.runs else 0


def add_cli(sub) -> None:
    p = sub.add_parser("nll-vs-gan-temperature",
                       help="Experiment 1: each final run's sampling temperature by the stated rule")
    p.add_argument("--preset", default="quick")
    p.add_argument("--root", default=None,
                   help="the study folder (default: the shipped results/nll-vs-gan-PRESET)")
    p.add_argument("--runs", nargs="*", default=None, help="only these runs (names)")
    p.add_argument("--force", action="store_true", help="recompute even when temperature.json is current")
    p.add_argument("--teacher", action="store_true",
                   help="instead: measure the book's teacher as the final runs are measured, at "
                        "temperature 1 and at its chosen temperature (results/teacher/)")
    p.set_defaults(func=_cmd)

"""The study ``nll-vs-gan`` (Experiment 1): its jobs, and its numbers and verdicts.

The same Real NVP, from the same initialisation for a given seed, trained by NLL, NSGAN,
WGAN-GP and the hybrid λ·NLL + NSGAN, each with the configuration a stated search selected
(the studies ``nll-vs-gan-search`` and ``nll-vs-gan-hybrid``, below): the fair fight. Read
from ``results/nll-vs-gan-<preset>`` (:mod:`flowlib.studies.results`), figures in
:mod:`flowlib.book.nll_vs_gan`.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from flowlib.studies.design import Design, grid
from flowlib.studies.results import Run, load_study, median_range, shipped_results, verdict
from flowlib.studies.runner import Job

LOSS_ORDER = ("nll", "nsgan", "wgan-gp", "hybrid")

LOSS_LABEL = {"nll": "NLL", "nsgan": "NSGAN", "wgan-gp": "WGAN-GP", "hybrid": "hybrid (λ·NLL + NSGAN)",
              "minimax": "minimax"}


def load(root) -> list[Run]:
    """The study's runs under ``root``, in :data:`LOSS_ORDER` then seed."""
    return load_study(root, LOSS_ORDER)


def final_rows(runs: list[Run]) -> list[dict]:
    """One row per run: its final figures (None where absent, e.g. a diverged run)."""
    rows = []
    for r in runs:
        f = r.final or {}
        res = r.manifest.get("results", {})
        rows.append({"run": r.name, "loss": r.loss, "seed": r.seed, "outcome": r.outcome,
                     "test_bpd": f.get("test_bpd"),
                     "lenet_fid": (f.get("lenet") or {}).get("fid"),
                     "precision": (f.get("lenet") or {}).get("precision"),
                     "recall": (f.get("lenet") or {}).get("recall"),
                     "classes": (f.get("lenet") or {}).get("classes_covered"),
                     "inception_fid": (f.get("inception") or {}).get("fid"),
                     "inception_n": (f.get("inception") or {}).get("n"),
                     "lenet_n": (f.get("lenet") or {}).get("n"),
                     "events": len([e for e in r.events if e.get("event") == "instability"]),
                     "diverged_at": res.get("diverged_at_step"),
                     "steps": res.get("steps"),
                     "final_grad_norm": next((x["grad_norm"] for x in reversed(r.rows)
                                              if "grad_norm" in x), None),
                     "fid_rebound": fid_rebound(r),
                     **_best_and_last(r, "fid"),
                     "minutes": train_minutes(r),
                     "device": r.manifest.get("device", "?")})
    return rows


def train_minutes(run: Run) -> float:
    """Minutes the run spent training (the trainer's own clock, which a resumed run carries
    over from its checkpoint; quality checks excluded): the manifest's ``wall_time_s`` counts
    only the last process of a resumed run. Both are wall clocks: on a CPU shared with other
    jobs they include the others' turns."""
    t = [x["train_seconds"] for x in run.rows if "train_seconds" in x]
    return (t[-1] if t else run.manifest.get("wall_time_s", 0)) / 60


def _best_and_last(run: Run, key: str) -> dict:
    """The validation figure ``key`` at the run's best check (lowest value; the
    best-checkpoint figure) and its step, and at its last check: the curve in two numbers."""
    steps, v = run.series(key)
    ok = np.isfinite(v)
    if not ok.any():
        return {f"best_{key}": None, f"best_{key}_step": None, f"last_{key}": None}
    i = int(np.argmin(np.where(ok, v, np.inf)))
    return {f"best_{key}": float(v[i]), f"best_{key}_step": int(steps[i]),
            f"last_{key}": float(v[ok][-1])}


def minutes_by_device(rows: list[dict]) -> str:
    """Training minutes per run (:func:`train_minutes`), 'median (range) (device)' for each
    device: a CPU run's minutes and a GPU run's are not one population."""
    devices = sorted({r["device"] for r in rows})
    return "; ".join(median_range([r["minutes"] for r in rows if r["device"] == d])
                     + (f" ({d})" if len(devices) > 1 else "") for d in devices)


def bpd_decimals(values) -> int:
    """Decimals to print bits/dim with, one rule for the summary and the run table: three for
    a density model's (1.532), none for an adversarial flow's thousands (24417)."""
    finite = [abs(x) for x in values if x is not None and math.isfinite(x)]
    return 3 if max(finite, default=0) < 100 else 0


def summary(runs: list[Run]) -> dict[str, dict]:
    """Per loss: 'median (range)' strings over seeds (FIDs of dead and live generators span a
    decade), and the raw lists."""
    out = {}
    rows = final_rows(runs)
    for loss in [l for l in LOSS_ORDER if any(r["loss"] == l for r in rows)]:
        rs = [r for r in rows if r["loss"] == loss]
        col = {k: [r[k] for r in rs] for k in rs[0]}
        out[loss] = {"seeds": len(rs), "raw": col,
                     "test_bpd": median_range(col["test_bpd"], f".{bpd_decimals(col['test_bpd'])}f"),
                     "lenet_fid": median_range(col["lenet_fid"]),
                     "inception_fid": median_range(col["inception_fid"]),
                     "precision": median_range(col["precision"], ".3f"),
                     "recall": median_range(col["recall"], ".3f"),
                     "classes": median_range(col["classes"], ".0f"),
                     "unstable": sum(unstable_seed(r) for r in rs),
                     "diverged": sum(d is not None for d in col["diverged_at"]),
                     "minutes": minutes_by_device(rs)}
    return out



def fid_floors(preset: str) -> dict | None:
    """The shipped real-versus-real floors at ``preset``'s final sample sizes
    (``benchmarks/fid_floors.py``; at ``smoke``, quick's); None where none is shipped."""
    import json
    path = shipped_results("fid-floors", preset) / "floors.json"
    return json.loads(path.read_text()) if path.exists() else None


ALIVE_MIN_CLASSES = 8  # a generator covering fewer digit classes at its end has collapsed


def alive(row: dict) -> bool:
    """A generator that still trains at its end: a non-zero gradient at its last logged step
    and at least :data:`ALIVE_MIN_CLASSES` of the 10 classes covered by its final samples."""
    g, k = row.get("final_grad_norm"), row.get("classes")
    return g is not None and g > 0 and k is not None and k >= ALIVE_MIN_CLASSES


def _or_inf(x):
    return math.inf if x is None else x


def f1_verdict(triples: list[tuple]) -> tuple[str, str]:
    """F1's rule, fixed before the fair-fight reruns: ``triples`` are (NLL FID, adversarial FID,
    adversarial generator alive) per seed. Only seeds whose adversarial generator is alive
    (:func:`alive`) are compared: a verdict against a dead generator is about a bug, not about
    the loss. No alive seed: *inconclusive: the adversarial baseline failed*. Otherwise
    :func:`~flowlib.studies.results.verdict` of the seeds where NLL's FID is lower."""
    live = [(a, b) for a, b, ok in triples if ok]
    if not triples:
        return "no data", "no seed with both runs"
    if not live:
        return ("inconclusive: the adversarial baseline failed",
                f"0/{len(triples)} adversarial generators alive at their end (non-zero gradient, "
                f">= {ALIVE_MIN_CLASSES} classes)")
    wins = sum(a < b for a, b in live)
    return verdict(wins, len(live)), (f"NLL lower in {wins}/{len(live)} seeds with a live "
                                      f"adversarial generator ({len(triples) - len(live)} dead "
                                      "ones not counted)")


def findings(runs: list[Run], search: list[dict] | None = None) -> dict[str, dict]:
    """F1 and F2 as these runs show them: a status and the numbers behind it.

    F1 (NLL does well in FID against NSGAN): by :func:`f1_verdict`, seed by seed (same
    initialisation), counting only seeds whose adversarial generator is alive; LeNet-FID and
    Inception-FID against NSGAN, and LeNet-FID against each other adversarial family present
    (WGAN-GP, the hybrid) beside it. Medians and ranges over seeds.
    F2 from initialisation: for the fair fight's selected runs with its search (``search``:
    :func:`search_rows`), by :func:`f2_init_rule`; runs made before the adversarial machinery
    was corrected read *inconclusive*.
    """
    rows = final_rows(runs)
    by = {(r["loss"], r["seed"]): r for r in rows}
    out = {}
    if any("family" in r.spec for r in runs):   # the fair fight: no verdict from part of it
        want = [(f, s) for f in FAMILIES for s in FINAL_SEEDS]
        # a run that diverged has finished too (no final figures: it is dead, never "waiting")
        have = sum(k in by and (by[k]["lenet_fid"] is not None or by[k]["outcome"] == "diverged")
                   for k in want)
        if have < len(want):
            waiting = {"status": f"incomplete: {have}/{len(want)} selected runs with final figures",
                       "numbers": "waiting for the runs it reads"}
            return {"F1 (LeNet-FID)": waiting, "F2 (from initialisation)": waiting}
    for fam in [f for f in ("nsgan", "wgan-gp", "hybrid") if any(r["loss"] == f for r in rows)]:
        seeds = sorted({r["seed"] for r in rows if ("nll", r["seed"]) in by and (fam, r["seed"]) in by})
        # A verdict against a generator that collapsed to one class says little about a
        # working GAN: count those runs so the reader sees it beside the verdict.
        collapsed = sum(by[fam, s]["classes"] is not None and by[fam, s]["classes"] <= 1 for s in seeds)
        keys = (("lenet_fid", "LeNet-FID"), ("inception_fid", "Inception-FID")) if fam == "nsgan" \
            else (("lenet_fid", "LeNet-FID"),)
        for key, label in keys:
            # an adversarial run that diverged has no FID: a dead seed (counted, never compared)
            triples = [(by["nll", s][key], _or_inf(by[fam, s][key]),
                        by[fam, s][key] is not None and alive(by[fam, s])) for s in seeds
                       if by["nll", s][key] is not None
                       and (by[fam, s][key] is not None or by[fam, s]["outcome"] == "diverged")]
            status, detail = f1_verdict(triples)
            name = f"F1 ({label})" if fam == "nsgan" else f"F1 ({label}, against {LOSS_LABEL.get(fam, fam)})"
            out[name] = {
                "status": status,
                "numbers": (f"{detail}; NLL {median_range([a for a, _, _ in triples])} vs "
                            f"{LOSS_LABEL.get(fam, fam)} {median_range([b for _, b, _ in triples])}"
                            + (f"; {collapsed}/{len(seeds)} {LOSS_LABEL.get(fam, fam)} runs ended on "
                               "a single class (collapsed)" if collapsed else ""))}
    ns = [r for r in rows if r["loss"] == "nsgan"]
    corrected = all(any("d_input_grad_fake" in x for x in r.rows) for r in runs if r.loss == "nsgan")
    if not ns:
        status, numbers = "no data", "no NSGAN run"
    elif not corrected:
        # Runs made before the adversarial machinery was corrected (they never logged the
        # discriminator's input gradient) cannot tell NSGAN's instability from that machinery's
        # bugs (a generator gradient of exactly 0 from step 80): no verdict from them.
        status = "inconclusive: runs made before the adversarial machinery was corrected"
        numbers = (f"{sum(unstable_seed(r) for r in ns)}/{len(ns)} NSGAN runs diverged, died or "
                   "lost their gains")
    else:
        status, numbers = f2_init_rule(search or [], rows)
    out["F2 (from initialisation)"] = {"status": status, "numbers": numbers}
    return out


# ------------------------------------------------------------------ the fair-fight search
# Stated before any of its runs (issue 15; the chapter repeats it): a random search of as
# many configurations on each side (not as much compute: an adversarial step also trains a
# discriminator; :mod:`flowlib.studies.nll_vs_gan_parity` counts minutes and images), one seed, every configuration the same number of steps and images
# (1 000 steps of 64 images at quick), selected by the validation LeNet-FID of 2 000 samples
# at the last step (never test), counting only generators alive at their end. The selected
# configuration of each family then gets 3 seeds at the study's full length and test
# figures. The whole distribution is reported, not only the winners (Lucic et al. 2018).
SEARCH = {"smoke": {"configs": {"nll": 2, "nsgan": 1, "wgan-gp": 1}, "steps": 20, "every": 10},
          "quick": {"configs": {"nll": 24, "nsgan": 16, "wgan-gp": 8}, "steps": 1000, "every": 250},
          "full": {"configs": {"nll": 24, "nsgan": 16, "wgan-gp": 8}, "steps": 10_000, "every": 1000}}
SEARCH_SEED = 2026  # the draws of the search space, fixed before any run


def _log_uniform(rng, lo: float, hi: float) -> float:
    return float(f"{math.exp(rng.uniform(math.log(lo), math.log(hi))):.3g}")


def search_space(family: str, rng) -> dict:
    """One configuration of ``family`` drawn from its stated space (flags of ``flowlib train``).

    - ``nll``: lr log-uniform in [3e-4, 5e-3]; warm-up 0, 100 or 200 steps; final lr 0 or 10%
      of lr; EMA 0.999 or none.
    - ``nsgan``: generator lr log-uniform in [3e-5, 1e-3]; discriminator lr 0.5, 1, 2 or 4
      times it (TTUR); beta1 0, 0.5 or 0.9 (both players); regulariser none, R1 with gamma
      0.1, 1 or 10, or spectral norm; 1 or 2 discriminator steps.
    - ``wgan-gp``: lr log-uniform in [3e-5, 1e-3], critic lr 1 or 2 times it, beta1 0 or 0.5,
      beta2 0.9, 5 critic steps, penalty 10 (Gulrajani et al. 2017; Flow-GAN's settings are
      inside this space).
    """
    if family == "nll":
        lr = _log_uniform(rng, 3e-4, 5e-3)
        cfg = {"lr": lr, "warmup-steps": int(rng.choice([0, 100, 200])),
               "final-lr-frac": float(rng.choice([0.0, 0.1]))}
        if rng.random() < 0.5:
            cfg["no-ema"] = True
        return cfg
    if family == "nsgan":
        lr = _log_uniform(rng, 3e-5, 1e-3)
        cfg = {"lr": lr, "d-lr": float(f"{lr * float(rng.choice([0.5, 1, 2, 4])):.3g}"),
               "gan-beta1": float(rng.choice([0.0, 0.5, 0.9])), "d-steps": int(rng.choice([1, 2]))}
        reg = rng.choice(["none", "r1-0.1", "r1-1", "r1-10", "spectral-norm"])
        if reg.startswith("r1"):
            cfg["r1"] = float(reg.split("-", 1)[1])
        elif reg == "spectral-norm":
            cfg["spectral-norm"] = True
        return cfg
    if family == "wgan-gp":
        lr = _log_uniform(rng, 3e-5, 1e-3)
        return {"lr": lr, "d-lr": float(f"{lr * float(rng.choice([1, 2])):.3g}"),
                "gan-beta1": float(rng.choice([0.0, 0.5])), "gan-beta2": 0.9, "d-steps": 5}
    raise ValueError(f"unknown search family {family!r}")


def search_configs(preset: str) -> list[tuple[str, dict]]:
    """The search's configurations, ``(name, flags)``, the same on every machine and run."""
    rng = np.random.default_rng(SEARCH_SEED)
    out = []
    for family, n in SEARCH[preset]["configs"].items():
        for i in range(n):
            out.append((f"{family}-c{i:02d}", {"loss": family, **search_space(family, rng)}))
    return out


def search_design(preset: str) -> Design:
    """The search: one cell per sampled configuration (:func:`search_configs`), seed 0 only."""
    plan = SEARCH[preset]

    def job(c, seed):
        name, cfg = c["name"], c["config"]
        argv = ["train", "--preset", preset, "--seed", str(seed), "--steps", str(plan["steps"]),
                "--eval-every", str(plan["every"]), "--quality-every", str(plan["every"]),
                "--no-progress"]
        for k, v in cfg.items():
            argv += [f"--{k}"] if v is True else [f"--{k}", str(v)]
        return Job(name, tuple(argv), {"family": cfg["loss"], "loss": cfg["loss"], "seed": seed,
                                       "preset": preset, "config": cfg})
    return Design("nll-vs-gan-search", tuple({"name": n, "config": c} for n, c in search_configs(preset)),
                  seeds=(0,), fixed_seeds=True, job=job)


def search_jobs(preset: str, seeds=None) -> list[Job]:
    return search_design(preset).expand(seeds)


def select(runs: list[Run], family: str):
    """The selected run of ``family``: the lowest validation LeNet-FID at the last check among
    its runs alive there (:func:`search_rows`' ``alive``: an adversarial generator by
    :func:`alive`, an NLL run when it did not diverge). None when no run of the family
    qualifies."""
    live = [x for x in search_rows(runs) if x["family"] == family and x["alive"]]
    if not live:
        return None
    best = min(live, key=lambda x: x["fid"])
    return next(r for r in runs if r.name == best["name"])


def search_rows(runs: list[Run]) -> list[dict]:
    """One row per finished search configuration: its family, flags, validation LeNet-FID and
    classes at the last check, its training minutes (:func:`train_minutes`), whether its
    generator is alive there (``alive``: the selection's
    criterion, :func:`alive`, but an NLL run is alive unless it diverged; ``alive_strict``:
    :func:`alive` for every family, the criterion F2 applies to the selected runs)."""
    rows = []
    for r in runs:
        family = r.spec.get("family")
        checks = [x for x in r.rows if "fid" in x and not x.get("event")]
        if family is None or not checks:
            continue
        last = checks[-1]
        g = next((x["grad_norm"] for x in reversed(r.rows) if "grad_norm" in x), None)
        strict = r.outcome != "diverged" and alive({"final_grad_norm": g,
                                                     "classes": last.get("classes_covered")})
        live = strict or (family == "nll" and r.outcome != "diverged")
        rows.append({"name": r.name, "family": family,
                     "config": {k: v for k, v in r.spec.get("config", {}).items() if k != "loss"},
                     "fid": last["fid"], "classes": last.get("classes_covered"), "alive": live,
                     "step": last.get("step"),
                     "n": (r.rows[0].get("train") or {}).get("quality_images") if r.rows else None,
                     "alive_strict": strict,
                     "minutes": train_minutes(r)})
    return sorted(rows, key=lambda x: (list(SEARCH["quick"]["configs"]).index(x["family"])
                                       if x["family"] in SEARCH["quick"]["configs"] else 9, x["fid"]))


def saturated_shares(root, n: int = 256, seed: int = 0) -> list[dict]:
    """For each run under ``root`` that ships its final weights (``model.pt``): the share of
    the pixels of ``n`` samples (fixed noise ``seed``) that sit in the flat ends of the flow's
    output sigmoid (:func:`flowlib.training.gan.saturated_fraction`), where no gradient comes
    back, the share of those at the black end (``black``), and the run's classes and validation
    FID at its last check."""
    import torch

    from flowlib.models.realnvp import RealNVP
    from flowlib.training.gan import saturated_black_share, saturated_fraction
    rows = {x["name"]: x for x in search_rows(load_study(root))}
    out = []
    for path in sorted(Path(root).glob("*/model.pt")):
        model = RealNVP.load(path).eval()
        with torch.no_grad():
            z = torch.randn(n, model.dim, generator=torch.Generator().manual_seed(seed))
            raw = model.decode(z * model.config.base_std)
        share = saturated_fraction(raw, model.config.alpha)
        row = rows.get(path.parent.name, {})
        out.append({"name": path.parent.name, "saturated": share,
                    "black": saturated_black_share(raw, model.config.alpha), "classes": row.get("classes"),
                    "fid": row.get("fid"), "alive": row.get("alive")})
    return out



# ------------------------------------------------------------------ after the search
# Stated with the search, before its runs. The hybrid loss lambda * NLL + NSGAN is swept with
# the selected NSGAN configuration over HYBRID_LAMBDAS (nats per dimension; the shipped study's
# 0.05 up to Flow-GAN's effective weight, log-spaced), one seed, the search's length, and the
# lambda with the lowest validation FID among live generators is kept. Then every family's
# selection runs FINAL_SEEDS seeds at FINAL_STEPS steps, with the final evaluation on test.
HYBRID_LAMBDAS = (0.05, 0.5, 5.0, 50.0, 500.0)
FAMILIES = ("nll", "nsgan", "wgan-gp", "hybrid")
FINAL_SEEDS = (0, 1, 2)
FINAL_STEPS = {"smoke": 30, "quick": 6000, "full": 30_000}
FINAL_EVERY = {"smoke": 15, "quick": 500, "full": 2500}   # quality checks: 12 over a run


def _flags(config: dict) -> list[str]:
    out = []
    for k, v in config.items():
        if k == "loss":
            continue
        out += [f"--{k}"] if v is True else [f"--{k}", str(v)]
    return out


def hybrid_design(preset: str, nsgan_config: dict) -> Design:
    """The hybrid sweep: the selected NSGAN configuration's flags with each lambda of
    :data:`HYBRID_LAMBDAS`, seed 0 only."""
    plan = SEARCH[preset]

    def job(c, seed):
        lam = c["lambda"]
        cfg = {**{k: v for k, v in nsgan_config.items() if k != "loss"}, "hybrid-lambda": lam}
        argv = ["train", "--preset", preset, "--seed", str(seed), "--steps", str(plan["steps"]),
                "--eval-every", str(plan["every"]), "--quality-every", str(plan["every"]),
                "--no-progress", "--loss", "hybrid", *_flags(cfg)]
        return Job(f"hybrid-l{lam:g}", tuple(argv), {"family": "hybrid", "loss": "hybrid",
                                                     "seed": seed, "preset": preset,
                                                     "config": {"loss": "hybrid", **cfg}})
    return Design("nll-vs-gan-hybrid", grid(**{"lambda": HYBRID_LAMBDAS}), seeds=(0,),
                  fixed_seeds=True, job=job)


def hybrid_sweep_jobs(preset: str, nsgan_config: dict) -> list[Job]:
    return hybrid_design(preset, nsgan_config).expand()


def final_design(preset: str, selected: dict[str, dict], families=FAMILIES) -> Design:
    """The fair fight itself: each of ``families``' selected configuration (``selected``:
    family -> its search flags, as in ``job.json``'s ``config``), :data:`FINAL_SEEDS` at
    :data:`FINAL_STEPS`. A family without a selection (no live configuration) is refused by
    name: the chapter then reports that family's baseline as failed, never a default."""
    from flowlib.studies.runner import StudyError
    missing = [f for f in families if not selected.get(f)]
    if missing:
        raise StudyError(f"No selected configuration for {', '.join(missing)}: finish the search "
                         "(and the hybrid sweep) first; a family with no live configuration "
                         "makes F1 inconclusive for it.")
    steps, every = FINAL_STEPS[preset], FINAL_EVERY[preset]

    def job(c, seed):
        family = c["family"]
        cfg = selected[family]
        argv = ["train", "--preset", preset, "--seed", str(seed), "--steps", str(steps),
                "--eval-every", str(every), "--quality-every", str(every), "--no-progress",
                "--loss", family, *_flags(cfg)]
        return Job(f"{family}-seed{seed}", tuple(argv),
                   {"family": family, "loss": family, "seed": seed, "preset": preset,
                    "config": cfg})
    return Design("nll-vs-gan", grid(family=tuple(families)), seeds=tuple(FINAL_SEEDS), job=job)


def final_jobs(preset: str, selected: dict[str, dict], seeds=None,
               families=FAMILIES) -> list[Job]:
    return final_design(preset, selected, families).expand(seeds)


def _shipped_or_refuse(name: str, preset: str, jobs: list[Job]) -> list[Run]:
    """The finished runs of the shipped study ``name`` at ``preset`` (at ``smoke``, the shipped
    ``quick`` one: a smoke run only exercises the code), refusing by name while any of
    ``jobs`` has not finished: a selection is made once, over every stated configuration."""
    from flowlib.studies.runner import StudyError
    root = shipped_results(name, preset)
    done = {p.parent.name for p in root.glob("*/manifest.json")}
    missing = [j.name for j in jobs if j.name not in done]
    if missing:
        raise StudyError(f"{len(missing)} of {len(jobs)} configurations of {name} have not finished "
                         f"under {root} ({', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''}): "
                         f"finish it first (`python -m flowlib experiment {name} --preset "
                         f"{root.name.rsplit('-', 1)[1]}`); nothing is selected from part of a search.")
    # only the stated jobs, each as stated: a run left by an earlier configuration of the same
    # name (e.g. a sweep made with an earlier NSGAN selection) must not be selected from
    import json
    stated = {j.name: list(j.argv) for j in jobs}
    runs = [r for r in load_study(root) if r.name in stated]
    stale = [r.name for r in runs
             if json.loads((r.directory / "job.json").read_text()).get("argv") != stated[r.name]]
    if stale:
        raise StudyError(f"{', '.join(stale)} under {root} ran another configuration than the one "
                         "now stated: move them away and run them again.")
    return runs


def selection(preset: str, family: str) -> dict | None:
    """``family``'s selected configuration (the ``config`` of its search run; None when none
    is alive at its end). Made once every configuration *of that family* has finished, refused
    by name before: a family's selection reads its own runs only, so one family's final runs
    can start while another's search still runs. The hybrid's comes from its sweep, which
    uses NSGAN's selection."""
    base = "quick" if preset == "smoke" else preset
    if family == "hybrid":
        nsgan = selection(preset, "nsgan")
        if nsgan is None:
            return None
        runs = _shipped_or_refuse("nll-vs-gan-hybrid", preset, hybrid_sweep_jobs(base, nsgan))
    else:
        runs = _shipped_or_refuse("nll-vs-gan-search", preset,
                                  [j for j in search_jobs(base) if j.spec["family"] == family])
    best = select(runs, family)
    return best.spec["config"] if best else None


def selections(preset: str) -> dict[str, dict | None]:
    """Every family's :func:`selection` (NLL, NSGAN and WGAN-GP from the search, the hybrid
    from its sweep); refuses while any family has unfinished configurations."""
    return {f: selection(preset, f) for f in FAMILIES}


def selected_nsgan(preset: str) -> dict:
    """The search's selected NSGAN configuration, for the hybrid sweep."""
    from flowlib.studies.runner import StudyError
    best = selection(preset, "nsgan")
    if best is None:
        raise StudyError("No NSGAN configuration of the search is alive at its end: there is no "
                         "NSGAN setting to sweep the hybrid's lambda with.")
    return best


def selected_hybrid_design(preset: str) -> Design:
    """The ``nll-vs-gan-hybrid`` study: :func:`hybrid_design` with the selected NSGAN
    configuration (one seed: another ``seeds`` is refused)."""
    return hybrid_design(preset, selected_nsgan(preset))


def hybrid_jobs(preset: str, seeds=None) -> list[Job]:
    return selected_hybrid_design(preset).expand(seeds)


def fair_fight_design(preset: str, families=FAMILIES) -> Design:
    """The ``nll-vs-gan`` study's design: :func:`final_design` with each family's
    :func:`selection` (refused by name while a family's search or sweep is unfinished)."""
    return final_design(preset, {f: selection(preset, f) for f in families}, families)


def fair_fight_jobs(preset: str, seeds=None, families=FAMILIES) -> list[Job]:
    """The fair fight's selected runs (:func:`final_jobs` of each family's :func:`selection`):
    what the ``nll-vs-gan`` study runs. A family's runs are listed once its own search (for the
    hybrid: its sweep) has finished; ``families`` picks some (the background runs of the
    families already selected), the study lists all four and refuses until each is ready."""
    return final_jobs(preset, {f: selection(preset, f) for f in families}, seeds, families)


# ------------------------------------------------------------------ F2 from initialisation, for the fair fight
# Written before any of the selected runs, revised after a review (still before them):
# the verdict reads the selected runs only. A seed is *unstable* when it diverged, ended
# dead (not alive: the same criterion for NLL as for the adversarial losses), or its
# validation LeNet-FID rose above REBOUND x its own best at a later check (a run that does
# not hold its gains). *Supported* when NSGAN's share of unstable seeds exceeds NLL's, *not
# supported* otherwise. The search's share of configurations that ended dead or diverged,
# NSGAN against NLL, is reported beside it, not counted: it was seen before the rule was
# written.
REBOUND = 1.5


def fid_rebound(run: Run) -> float | None:
    """Largest ratio of a validation LeNet-FID to the best one before it (1: never rose)."""
    _, v = run.series("fid")
    v = v[np.isfinite(v)]
    if len(v) < 2:
        return None
    return float(np.max(v / np.minimum.accumulate(v)))


def unstable_seed(row: dict) -> bool:
    """The criterion above for one final run (a row of :func:`final_rows`)."""
    return (row["diverged_at"] is not None or not alive(row)
            or (row.get("fid_rebound") or 1.0) > REBOUND)


def f2_init_rule(search: list[dict], final: list[dict]) -> tuple[str, str]:
    """F2 from initialisation by the rule above. ``search``: :func:`search_rows` (reported);
    ``final``: :func:`final_rows` of the selected runs (judged)."""
    def share(family, key="alive"):
        xs = [x for x in search if x["family"] == family]
        return (sum(not x.get(key, x["alive"]) for x in xs) / len(xs), len(xs)) if xs else (float("nan"), 0)
    (ns, n_ns), (nl, n_nl) = share("nsgan"), share("nll")
    nl_strict, _ = share("nll", "alive_strict")
    u = {f: [unstable_seed(r) for r in final if r["loss"] == f] for f in ("nsgan", "nll")}
    if not u["nsgan"] or not u["nll"]:
        return "no data", "needs the selected NSGAN and NLL runs"
    rate = {f: sum(v) / len(v) for f, v in u.items()}
    status = "supported" if rate["nsgan"] > rate["nll"] else "not supported"
    searched = (f"; in the search (seen before this rule, not counted): {ns:.0%} of {n_ns} NSGAN "
                f"configurations dead or diverged at their end against {nl:.0%} of {n_nl} NLL ones "
                f"diverged ({nl_strict:.0%} dead or diverged by NSGAN's criterion, at least "
                f"{ALIVE_MIN_CLASSES} classes)" if n_ns and n_nl else "")
    return status, (f"selected runs: {sum(u['nsgan'])}/{len(u['nsgan'])} NSGAN seeds unstable "
                    f"(diverged, dead, or validation FID above {REBOUND}x its best) against "
                    f"{sum(u['nll'])}/{len(u['nll'])} NLL seeds" + searched)

"""Experiment 2, calibrated (issue 34): every rule measured against its own null, one learning
rate for the specification contrast, and long infinite-data controls.

Stated on 2026-12-07, implemented and unit-tested (``tests/studies/test_calibrated_rules.py``)
before any run of the two designs below. The F5 and F6 rules also read the 52 shipped design
runs of :mod:`flowlib.studies.misspecification`, which had been seen: for those two these are
rules *changed after seeing results*, and the chapter shows the first rules' verdicts beside
these and says why each changed.

Why each first rule was blind to its noise (measured on the shipped infinite-data controls,
where no effect can exist):

- F3's shape tolerance (0.15) was below the distance between two seeds of one student's own
  control (0.13-0.40 for the teacher-size student and slim, 0.28-0.97 for tiny): a student
  failed against itself.
- F5 allowed FID twice its bootstrap standard error (3-5% of FID), but between two seeds of one
  control FID differs by a factor up to 3.6 (tiny), 1.6 (slim), 1.9 (teacher size), 1.2
  (medium) at the last quality checks; and its "early" point was read while a run was still
  undertrained.
- F6 counted a gradient-norm spike anywhere, but the larger student's spikes (steps 60-120, at
  the end of warm-up) occur in all three of its controls too.
- F4's "a well-specified student validates worse than a misspecified one" compared students at
  different searched rates (tiny and the teacher-size student at 4e-3, slim and medium at
  2e-3).

The calibrated rules (each takes its tolerance from a null measured in the same runs):

- **F3** "alike": each student's control curves, normalised as before, come as close to the
  reference (teacher-size) student's as two seeds of one student come: the smallest distance
  over seed pairs at most the largest seed-to-seed distance of any student (the null). A
  student compared with its own other seeds passes by construction.
  Read on the **long controls** (:func:`long_jobs`, ten times the study's length), where
  optimisation no longer limits every student. "Different" is unchanged (disjoint seed
  ranges of final training bits/dim more than 0.01 apart).
- **F5**: each finite-set run against its *own* infinite-data control (same student, seed
  and rate) at the same steps, on a log scale: ``dk = log(KL_run / KL_control)``,
  ``df = log(FID_run / FID_control)`` (FID above the teacher's own floor at that sample size,
  as the KL is above its exact zero), each the mean of the logs at the last
  :data:`F5_CHECKS` quality checks. The noise of each is the largest difference of the same
  statistic between two seeds of that student's controls (``kl_noise``, ``fid_noise``). A run
  *overfits* when ``dk > kl_noise``; among those, a **hit** when ``dk >= F5_RATIO * max(0,
  df + fid_noise)`` (the KL's growth factor is at least the square of the largest FID growth
  factor the noise allows), a **miss** when ``df - fid_noise >= dk / F5_RATIO`` (even at its
  smallest, FID grew at least as a square root of the KL's growth), otherwise
  **inconclusive** (FID's noise is too large to tell). Supported when every decided run is a
  hit, not supported when none is; runs where FID rose and where it fell are counted apart.
  No undertrained early point is read: the comparison is at the end, at the same step.
- **F6** "unstable": a run is unstable when it diverged or its gradient norm spiked above 10
  times its median *after step* :data:`F6_FROM` (twice the warm-up); a student's instability
  is the fraction of unstable finite-set seeds minus the fraction of unstable control seeds,
  and the larger student is "unstable" when its excess is positive and above the reference's.
  "Poorer images": the larger student's log-FID seed range above the reference's by the
  larger of the two students' ``fid_noise``. "Slow" and "overfits heavily" as before.
- **F4** at one shared rate :data:`SHARED_LR` (2e-3, where slim's and medium's searches landed
  and the teacher-size student's search was a near tie): the first rule, unchanged, on tiny
  and the teacher-size student retrained at that rate (:func:`shared_jobs`) beside slim and
  medium's design runs; the overfitting half reads the teacher-size student's controls at
  that rate.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from flowlib.studies import misspecification as M
from flowlib.studies.design import Design, grid
from flowlib.studies.results import Run, median_range, verdict
from flowlib.studies.runner import Job, StudyError

# ------------------------------------------------------------------ the two new designs
LONG_STEPS = {"smoke": 60, "quick": 30_000, "full": 200_000}   # ten times the study's length
LONG_EVERY = {"smoke": 15, "quick": 200, "full": 1_000}        # validation checks; quality x5
LONG_SEEDS = (0, 1)
SHARED_LR = 2e-3
SHARED_STUDENTS = ("tiny", "small")   # the students whose searched rate was not SHARED_LR


def long_design(preset: str) -> Design:
    """The long infinite-data controls: every design student on fresh teacher samples at its
    searched rate for :data:`LONG_STEPS` steps, constant rate after warm-up, seeds
    :data:`LONG_SEEDS`, every student's seed 0 first. What ``flowlib experiment
    misspecification-long`` runs; about 12-14 core-hours at quick on a 2-core CPU."""
    lrs = M.searched_lrs(preset)
    missing = [s for s in M.DESIGN_STUDENTS if s not in lrs]
    if missing:
        raise StudyError(f"No searched learning rate for {', '.join(missing)}: run the search "
                         f"first (`python -m flowlib experiment misspecification-lr --preset "
                         f"{preset}`).")

    def job(c, seed):
        s = c["student"]
        return Job(f"{s}-long-seed{seed}",
                   M._argv(preset, s, seed, 0, lrs[s], LONG_STEPS[preset], LONG_EVERY[preset]),
                   {"student": s, "train_size": 0, "data": "stream", "seed": seed, "lr": lrs[s],
                    "loss": "nll", "preset": preset, "steps": LONG_STEPS[preset]})
    return Design("misspecification-long", grid(student=M.DESIGN_STUDENTS), seeds=LONG_SEEDS,
                  job=job, seed_outer=True)


def long_jobs(preset: str, seeds=None) -> list[Job]:
    return long_design(preset).expand(seeds)


def shared_design(preset: str) -> Design:
    """The specification contrast at one rate: :data:`SHARED_STUDENTS` at :data:`SHARED_LR` on
    the verdict sizes (300 and 1 000 images at quick) and their infinite-data controls, at the
    design's length, three seeds. A control's seed 0 at that rate is the rate search's run:
    adopted. What ``flowlib experiment misspecification-shared-lr`` runs (18 runs at quick)."""
    return M.design(preset, {s: SHARED_LR for s in SHARED_STUDENTS}, study="misspecification-shared-lr",
                    students=SHARED_STUDENTS,
                    sizes=(*M.DESIGN_SIZES[preset][:M.VERDICT_SIZES], 0))


def shared_jobs(preset: str, seeds=None) -> list[Job]:
    return shared_design(preset).expand(seeds)


# ------------------------------------------------------------------ F3, calibrated
def within_distance(curves: list) -> float:
    """The largest :func:`~flowlib.studies.misspecification.shape_distance` between two seeds'
    curves of one student (its null); NaN with fewer than two seeds."""
    d = [M.shape_distance(a, b) for a, b in itertools.combinations(curves, 2)]
    return max(d) if d else math.nan


def between_distance(curves_a: list, curves_b: list) -> float:
    """The smallest shape distance over the pairs (a seed of one student, a seed of another):
    the two students are as close as their closest seeds."""
    d = [M.shape_distance(a, b) for a in curves_a for b in curves_b]
    return min(d) if d else math.nan


def f3_calibrated(final_train: dict[str, list], curves: dict[str, list],
                  reference: str) -> tuple[str, str]:
    """F3 with its tolerance from its null. ``final_train`` as in
    :func:`~flowlib.studies.misspecification.f3_rule`; ``curves``: student -> a list of its
    controls' validation curves ``(steps, bits/dim)``, one per seed (at least two).

    Alike: for every other student, :func:`between_distance` to the reference is at most the
    *null*, the largest :func:`within_distance` of any student (the farthest apart two seeds
    of one student came). A student against its own other seeds passes by construction.
    Calibrated on constructed curves (``tests/studies/test_calibrated_rules.py``): with four
    students identical but for seed noise, all three comparisons pass in about 95% of draws;
    a student converging three times slower fails in about 85%, five times slower in about
    98%. (The median over seed pairs against each pair's own null, tried first, failed
    identical students in 37% of draws: rejected before any long control had run.)
    Different: unchanged."""
    names = list(final_train)
    pairs = list(zip(names, names[1:]))
    distinct = [M.above(final_train[a], final_train[b], M.TOL_BPD) or
                M.above(final_train[b], final_train[a], M.TOL_BPD) for a, b in pairs]
    within = {s: within_distance(c) for s, c in curves.items()}
    null = max((w for w in within.values() if math.isfinite(w)), default=math.nan)
    between = {s: between_distance(c, curves[reference]) for s, c in curves.items() if s != reference}
    ok = {s: math.isfinite(between[s]) and math.isfinite(null) and between[s] <= null
          for s in between}
    different, alike = bool(pairs) and all(distinct), bool(ok) and all(ok.values())
    return verdict(different + alike, 2), (
        f"neighbouring students with distinct final training NLL: {sum(distinct)}/{len(pairs)}; "
        "closest distance of each student's control curves to the teacher-size student's: "
        + ", ".join(f"{s} {between[s]:.2f}" for s in between)
        + f", against the largest distance between two seeds of one student, {null:.2f} ("
        + ", ".join(f"{s} {w:.2f}" for s, w in within.items()) + f"); alike in "
        f"{sum(ok.values())}/{len(ok)}")


# ------------------------------------------------------------------ F5, calibrated
F5_CHECKS = 2        # the end of a run for F5: the mean log over its last two quality checks
F5_RATIO = M.F5_RATIO


def end_log(r: Run, key: str, floor: float = 0.0) -> float:
    """Mean of ``log(value - floor)`` over ``r``'s last :data:`F5_CHECKS` checks of ``key``
    after step 0; NaN when any is missing, non-finite or not above ``floor``, or the run
    diverged."""
    s, v = r.series(key)
    tail = [float(x) - floor for st, x in zip(s, v) if st > 0][-F5_CHECKS:]
    if r.outcome == "diverged" or len(tail) < F5_CHECKS or not all(
            math.isfinite(x) and x > 0 for x in tail):
        return math.nan
    return float(np.mean(np.log(tail)))


def null_spread(values: list[float]) -> float:
    """The largest difference between two of ``values`` (seeds of one configuration): the
    null a difference must beat. NaN with fewer than two finite values."""
    fin = [x for x in values if math.isfinite(x)]
    return max(abs(a - b) for a, b in itertools.combinations(fin, 2)) if len(fin) > 1 else math.nan


def f5_outcome(dk: float, df: float, kl_noise: float, fid_noise: float) -> str:
    """One run's F5 reading (log units, see the module): 'no overfitting', 'hit', 'miss' or
    'inconclusive'; 'no data' when a figure is missing."""
    if not all(map(math.isfinite, (dk, df, kl_noise, fid_noise))):
        return "no data"
    if dk <= kl_noise:
        return "no overfitting"
    if dk >= F5_RATIO * max(0.0, df + fid_noise):
        return "hit"
    if df - fid_noise >= dk / F5_RATIO:
        return "miss"
    return "inconclusive"


def f5_calibrated(readings: list[dict]) -> tuple[str, str]:
    """F5 over ``readings``, one per finite-set run: ``dk``, ``df`` (log ratios against its own
    control) and the student's ``kl_noise`` and ``fid_noise`` (:func:`f5_outcome`)."""
    out = [f5_outcome(r["dk"], r["df"], r["kl_noise"], r["fid_noise"]) for r in readings]
    over = [r for r, o in zip(readings, out) if o in ("hit", "miss", "inconclusive")]
    hits, misses = out.count("hit"), out.count("miss")
    decided = hits + misses
    status = verdict(hits, decided) if decided else ("inconclusive" if over else "no data")

    def factor(v):
        return "—" if not v else f"x{math.exp(np.median(v)):.2g} ({math.exp(min(v)):.2g}–{math.exp(max(v)):.2g})"
    rose = sum(r["df"] > 0 for r in over)
    return status, (
        f"{len(over)}/{len(readings)} runs overfit (KL above their own control by more than the "
        f"controls' seed spread); of those {hits} hit, {misses} miss, "
        f"{out.count('inconclusive')} inconclusive (FID's noise too large to tell); KL "
        f"{factor([r['dk'] for r in over])} vs FID {factor([r['df'] for r in over])} against "
        f"the control (median and range); FID rose in {rose}, fell in {len(over) - rose}"
        + (f"; {out.count('no data')} run(s) without figures" if "no data" in out else ""))


def f5_readings(design: list[Run]) -> list[dict]:
    """F5's readings from the design's runs: every finite-set run against the control of the
    same student and seed, FID above the teacher's own floor at the run's sample size."""
    controls = {(M.student(r), r.seed): r for r in design if M.train_size(r) == 0}
    floor = _floor(design)
    noise = {}
    for s in {M.student(r) for r in design}:
        cs = [r for (st, _), r in controls.items() if st == s]
        noise[s] = (null_spread([end_log(c, "kl") for c in cs]),
                    null_spread([end_log(c, "fid", floor) for c in cs]))
    out = []
    for r in design:
        c = controls.get((M.student(r), r.seed))
        if M.train_size(r) == 0 or c is None:
            continue
        out.append({"run": r.name, "student": M.student(r), "n": M.train_size(r),
                    "dk": end_log(r, "kl") - end_log(c, "kl"),
                    "df": end_log(r, "fid", floor) - end_log(c, "fid", floor),
                    "kl_noise": noise[M.student(r)][0], "fid_noise": noise[M.student(r)][1]})
    return out


def _floor(runs: list[Run]) -> float:
    """The teacher's own LeNet-FID at the runs' quality sample size (FID's small-sample bias)."""
    start = runs[0].rows[0] if runs and runs[0].rows else {}
    return M.teacher_fid_floor(int((start.get("train") or {}).get("quality_images") or 2000),
                               start.get("teacher_sha256"))


# ------------------------------------------------------------------ F6, calibrated
F6_FROM = 400   # spikes counted after twice the warm-up (200 steps at quick)


def unstable_after(r: Run, start: int = F6_FROM) -> bool:
    """Diverged, or a gradient norm above ``SPIKE_FACTOR`` times the run's median after step
    ``start``."""
    if r.outcome == "diverged":
        return True
    g = [(x["step"], x["grad_norm"]) for x in r.rows if "grad_norm" in x]
    v = np.array([x for _, x in g], float)
    ok = np.isfinite(v)
    if ok.sum() < 5:
        return False
    med = np.median(v[ok])
    return any(st > start and math.isfinite(x) and x > M.SPIKE_FACTOR * med for st, x in g)


def excess_instability(finite: list[bool], controls: list[bool]) -> float:
    """Fraction of unstable finite-set seeds minus that of the same student's controls."""
    if not finite:
        return math.nan
    return sum(finite) / len(finite) - (sum(controls) / len(controls) if controls else 0.0)


def f6_calibrated(larger: dict[str, dict], reference: dict) -> tuple[str, str]:
    """F6 with calibrated instability and image quality. Each dict: per-seed ``img_per_s``,
    ``unstable`` (finite-set seeds, :func:`unstable_after`), ``control_unstable`` (the
    student's controls), ``gap`` (bits/dim), ``log_fid`` (:func:`end_log` of FID above the
    teacher's floor), and ``fid_noise`` (the student's log-FID null, :func:`null_spread` of
    its controls). Properties as in the module docstring;
    supported when all four hold for every larger student, not supported when none holds."""
    if not larger:
        return "no data", "no larger student"
    props = {"slow": [], "unstable": [], "overfits heavily": [], "poorer images": []}
    ref_ips = np.nanmedian(np.asarray(reference["img_per_s"], float))
    ref_ex = excess_instability(reference["unstable"], reference["control_unstable"])
    for x in larger.values():
        props["slow"].append(bool(np.nanmedian(np.asarray(x["img_per_s"], float))
                                  <= (1 - M.TOL_SLOWER) * ref_ips))
        ex = excess_instability(x["unstable"], x["control_unstable"])
        props["unstable"].append(bool(ex > 0 and ex > max(0.0, ref_ex)))
        props["overfits heavily"].append(M.above(x["gap"], reference["gap"], M.TOL_GAP))
        tol = max(x["fid_noise"], reference["fid_noise"])
        props["poorer images"].append(math.isfinite(tol) and M.above(x["log_fid"], reference["log_fid"], tol))
    each = {k: verdict(sum(v), len(v)) for k, v in props.items()}
    overall = ("supported" if all(v == "supported" for v in each.values()) else
               "not supported" if not any(any(v) for v in props.values()) else "mixed")
    return overall, "; ".join(f"{k}: {sum(props[k])}/{len(props[k])} ({v})" for k, v in each.items())


# ------------------------------------------------------------------ reading the studies
def long_gap(r: Run) -> dict:
    """How close a long control got to the teacher: the exact KL(teacher || student) at its
    last check with its standard error (nats/image; the NLL above the teacher's entropy) and
    the same in bits/dim, and its end validation bits/dim."""
    kl, se = M._num(M.value_at(r, "kl")), M._num(M.value_at(r, "kl_se"))
    per_dim = 784 * math.log(2)
    return {"kl": kl, "kl_se": se, "kl_bpd": kl / per_dim, "kl_bpd_se": se / per_dim,
            "val_bpd": M.end_value(r, "val_bpd")}


def shared_rate_values(design: list[Run], shared: list[Run], n: int) -> dict[str, dict]:
    """Every student at :data:`SHARED_LR` on ``n`` images (0: its infinite-data control): per
    seed (in seed order) its final and its best (early-stopping) validation bits/dim, from the
    design's runs at that rate and the shared-rate runs of :data:`SHARED_STUDENTS`."""
    runs = [r for r in design if r.spec.get("lr") == SHARED_LR
            and M.student(r) not in SHARED_STUDENTS] + list(shared)
    out = {}
    for s in M.DESIGN_STUDENTS:
        rs = sorted((r for r in runs if M.student(r) == s and M.train_size(r) == n),
                    key=lambda r: r.seed)
        out[s] = {"final": [M.end_value(r) for r in rs], "best": [M.early_stop(r)[1] for r in rs],
                  "seeds": [r.seed for r in rs]}
    return out


def findings(design: list[Run], long: list[Run] | None = None,
             shared: list[Run] | None = None, search: list[Run] | None = None) -> dict[str, dict]:
    """The calibrated verdicts, keyed like :func:`flowlib.studies.misspecification.findings`.
    F3 waits for every long control (both seeds of every student); F4 at the shared rate for
    every shared-rate run; F5 and F6 read the design's runs."""
    long, shared, search = long or [], shared or [], search or []
    preset = design[0].spec.get("preset", "quick") if design else "quick"
    sizes = M.DESIGN_SIZES[preset][:M.VERDICT_SIZES]
    out = {}

    def cell(runs, s, n):
        return sorted((r for r in runs if M.student(r) == s and M.train_size(r) == n), key=lambda r: r.seed)

    want_long = {j.name for j in long_jobs(preset)} if preset != "smoke" else set()
    got_long = {r.name for r in long}
    if want_long and not want_long <= got_long:
        out["F3"] = {"status": f"incomplete: {len(want_long & got_long)}/{len(want_long)} long controls",
                     "numbers": "waiting for the long controls"}
    else:
        n3 = sizes[-1]
        final_train = {s: [M.end_value(r, "train_eval_bpd") for r in cell(design, s, n3)]
                       for s in M.DESIGN_STUDENTS}
        curves = {s: [r.series("val_bpd") for r in cell(long, s, 0)] for s in M.DESIGN_STUDENTS}
        out["F3"] = dict(zip(("status", "numbers"), f3_calibrated(final_train, curves, M.TEACHER_SIZE)))

    want_shared = {j.name for j in shared_jobs(preset)}
    got_shared = {r.name for r in shared}
    for n in sizes:
        key = f"F4 (n = {n:,}, one rate)"
        if not want_shared <= got_shared:
            out[key] = {"status": f"incomplete: {len(want_shared & got_shared)}/{len(want_shared)} runs",
                        "numbers": "waiting for the shared-rate runs"}
            continue
        at_rate = shared_rate_values(design, shared, n)
        final_val = {s: v["final"] for s, v in at_rate.items()}
        best_val = {s: v["best"] for s, v in at_rate.items()}
        controls = {r.seed: r for r in cell(shared, M.TEACHER_SIZE, 0)}
        rise = [M.end_value(controls[seed]) - M._num(M.early_stop(controls[seed])[1])
                if seed in controls else math.nan for seed in at_rate[M.TEACHER_SIZE]["seeds"]]
        smaller = [s for s in M.DESIGN_STUDENTS if M.relation(s) == "smaller"]
        status, numbers = M.f4_rule(final_val, best_val, M.TEACHER_SIZE, smaller, rise)
        out[key] = {"status": status, "numbers": "final validation bits/dim at 2e-3 " + ", ".join(
            f"{s} {median_range(v, '.3f')}" for s, v in final_val.items()) + "; " + numbers}

    def waiting(pred):
        """The 'incomplete' reading while any design run a rule reads is missing, else None
        (without it, F6's speed, read from the quiet-machine benchmark, gave a verdict from
        no runs at all)."""
        got, want = M.design_progress(design, pred)
        return None if got == want else {"status": f"incomplete: {got}/{want} runs",
                                         "numbers": "waiting for the runs it reads"}

    out["F5"] = waiting(lambda sp: True) or dict(zip(("status", "numbers"),
                                                      f5_calibrated(f5_readings(design))))
    quiet = M.student_speeds(preset)
    floor = _floor(design)
    larger = [s for s in M.DESIGN_STUDENTS if M.relation(s) == "larger"]
    for n in sizes:
        def props(s, n=n):
            rs, cs = cell(design, s, n), cell(design, s, 0)
            return {"img_per_s": [quiet[s]] if s in quiet else [M._num(M.speed(r)) for r in rs],
                    "unstable": [unstable_after(r) for r in rs],
                    "control_unstable": [unstable_after(c) for c in cs],
                    "gap": [M._num(M.overfitting_gap(r)[1]) for r in rs],
                    "log_fid": [end_log(r, "fid", floor) for r in rs],
                    "fid_noise": null_spread([end_log(c, "fid", floor) for c in cs])}
        out[f"F6 (n = {n:,})"] = waiting(lambda sp, n=n: sp["train_size"] in (0, n)) or dict(
            zip(("status", "numbers"), f6_calibrated({s: props(s) for s in larger},
                                                     props(M.TEACHER_SIZE))))
    return out

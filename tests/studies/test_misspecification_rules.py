"""Issue 18's rules for F3-F6 on constructed inputs: each shown passing where it must, and not
passing where it must not (equal NLLs, a curve converging 5x slower, FID noise as large as the
change, a larger student that is only slower)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from flowlib.studies import misspecification as M

STEPS = np.arange(0, 1100, 100)


def curve(start, end, rate):
    return STEPS, end + (start - end) * np.exp(-STEPS / rate)


def test_above_needs_disjoint_seed_ranges_beyond_the_tolerance():
    assert M.above([1.10, 1.12], [1.00, 1.05], 0.01)
    assert not M.above([1.10, 1.02], [1.00, 1.05], 0.01)     # ranges overlap
    assert not M.above([1.055], [1.05], 0.01)                # apart, but within tolerance
    assert not M.above([], [1.0]) and not M.above([math.nan], [1.0])


def test_f3_different_and_alike():
    final = {"tiny": [1.60, 1.61, 1.62], "slim": [1.50, 1.51, 1.49], "small": [1.40, 1.41, 1.42]}
    curves = {"tiny": curve(6.0, 1.6, 150), "slim": curve(5.0, 1.5, 160), "small": curve(4.0, 1.4, 150)}
    status, numbers = M.f3_rule(final, curves, "small")
    assert status == "supported", numbers


def test_f3_is_not_supported_when_nll_is_the_same_and_one_student_converges_five_times_slower():
    final = {"tiny": [1.40, 1.42, 1.41], "slim": [1.41, 1.40, 1.42], "small": [1.40, 1.41, 1.42]}
    curves = {"tiny": curve(6.0, 1.6, 750), "slim": curve(5.0, 1.5, 150), "small": curve(4.0, 1.4, 150)}
    status, numbers = M.f3_rule(final, curves, "small")
    assert status == "not supported", numbers
    # the same curves with distinct NLLs: only one half holds
    final["tiny"] = [1.60, 1.61, 1.62]
    final["slim"] = [1.50, 1.51, 1.52]
    assert M.f3_rule(final, curves, "small")[0] == "mixed"


def test_f4_overfitting_and_a_smaller_student_validating_better():
    final = {"small": [1.60, 1.62, 1.61], "tiny": [1.55, 1.56, 1.57], "micro": [1.80, 1.81, 1.82]}
    best = {"small": [1.50, 1.51, 1.52], "tiny": [1.54, 1.55, 1.56], "micro": [1.79, 1.80, 1.81]}
    status, numbers = M.f4_rule(final, best, "small", ["micro", "tiny"])
    assert status == "supported" and "tiny" in numbers, numbers
    # no overfitting (final = best) and every smaller student worse: not supported
    flat = {"small": [1.50, 1.51, 1.52], "tiny": [1.55, 1.56, 1.57], "micro": [1.80, 1.81, 1.82]}
    assert M.f4_rule(flat, flat, "small", ["micro", "tiny"])[0] == "not supported"
    # no best values recorded: no evidence of overfitting
    assert M.f4_rule(final, {**best, "small": []}, "small", ["micro"])[0] == "not supported"


def test_f5_counts_fid_noise_against_the_claim():
    clear = {"kl_best": 100, "kl_final": 160, "fid_best": 50, "fid_final": 52, "fid_se": 1}
    assert M.f5_rule([clear, clear])[0] == "supported"          # +60% vs at most +8%
    noisy = {**clear, "fid_se": 10}                              # FID could have moved +44%
    assert M.f5_rule([noisy])[0] == "not supported"
    assert M.f5_rule([clear, noisy])[0] == "mixed"
    assert M.f5_rule([])[0] == "no data"
    # missing evidence never reads as "FID unharmed": alone it is no data, beside a run that
    # counts it makes the verdict mixed
    assert M.f5_rule([{**clear, "fid_final": math.nan}])[0] == "no data"
    assert M.f5_rule([{**clear, "kl_best": 0.0}])[0] == "no data"
    assert M.f5_rule([clear, {**clear, "fid_final": math.nan}])[0] == "mixed"


def test_f6_each_property_by_its_own_criterion():
    ref = {"img_per_s": [400, 410, 390], "unstable": [False] * 3, "gap": [0.05, 0.06, 0.05],
           "fid": [40, 41, 42], "fid_se": [1, 1, 1]}
    heavy = {"img_per_s": [100, 110, 90], "unstable": [True, False, False], "gap": [0.20, 0.25, 0.22],
             "fid": [60, 62, 61], "fid_se": [1, 1, 1]}
    status, numbers = M.f6_rule({"base": heavy}, ref)
    assert status == "supported", numbers
    only_slower = {**ref, "img_per_s": [100, 110, 90]}
    status, numbers = M.f6_rule({"base": only_slower}, ref)
    assert status == "mixed" and "slow: 1/1" in numbers and "poorer images: 0/1" in numbers
    same = dict(ref)
    assert M.f6_rule({"base": same}, ref)[0] == "not supported"


# ------------------------------------------------------------------ the design as jobs
def _run(spec, val, outcome="done", tail=None):
    """A search run whose last checks are ``tail`` (default: five checks at ``val``)."""
    from flowlib.studies.results import Run
    tail = [val] * M.END_CHECKS if tail is None else tail
    rows = [{"step": 0, "val_bpd": 9.0}] + [{"step": 100 * (i + 1), "val_bpd": v}
                                             for i, v in enumerate(tail)]
    return Run(name="r", loss="nll", seed=0, directory=None,
               manifest={"results": {"outcome": outcome}}, rows=rows, final=None, spec=spec)


def test_the_lr_search_picks_the_lowest_validation_and_never_a_diverged_run():
    runs = [_run({"student": "small", "lr": 1e-3}, 1.60), _run({"student": "small", "lr": 2e-3}, 1.55),
            _run({"student": "small", "lr": 4e-3}, 1.20, outcome="diverged"),
            _run({"student": "tiny", "lr": 4e-3}, math.nan), _run({"student": "tiny", "lr": 1e-3}, 1.9),
            _run({"student": "tiny", "lr": 2e-3}, 2.0),
            _run({"student": "slim", "lr": 1e-3}, 1.5)]      # its search is not finished
    assert M.select_lrs(runs) == {"small": 2e-3, "tiny": 1e-3}


def test_the_lr_search_scores_the_last_checks_so_a_late_jump_loses_and_one_spike_does_not():
    settled = [1.62, 1.61, 1.60, 1.60, 1.59]
    jumped = [1.58, 1.57, 1.85, 1.95, 1.90]        # lowest before, unstable over its last checks
    spiked = [1.57, 1.56, 1.56, 1.55, 1.75]        # one bad final check
    runs = [_run({"student": "slim", "lr": 1e-3}, None, tail=[1.70] * 5),
            _run({"student": "slim", "lr": 2e-3}, None, tail=settled),
            _run({"student": "slim", "lr": 4e-3}, None, tail=jumped)]
    assert M.select_lrs(runs) == {"slim": 2e-3}
    runs[2] = _run({"student": "slim", "lr": 4e-3}, None, tail=spiked)
    assert M.select_lrs(runs) == {"slim": 4e-3}
    # nothing after step 0 to score, or a non-finite check among the scored: never chosen
    assert M.search_score(_run({"student": "slim", "lr": 4e-3}, None, tail=[])) is None
    assert M.search_score(_run({"student": "slim", "lr": 4e-3}, None, tail=[2.0, 1.0])) == 1.5
    assert M.search_score(_run({"student": "slim", "lr": 4e-3}, None, tail=[1.0] * 4 + [math.nan])) is None


def test_the_search_runs_the_controls_command_and_the_design_adopts_the_selected_one(tmp_path, monkeypatch):
    lrs = {s: 2e-3 for s in M.DESIGN_STUDENTS}
    search = {j.name: j for j in M.lr_search_jobs("quick")}
    design = M.design_jobs("quick", lrs=lrs)
    for j in design:
        if j.spec["train_size"] == 0 and j.spec["seed"] == 0:
            twin = search[f"{j.spec['student']}-lr0.002"]
            assert j.argv == twin.argv and j.same_run.name == twin.name
        else:
            assert j.same_run is None
    monkeypatch.setenv("FLOWLIB_RESULTS", str(tmp_path))     # another preset's search is never read
    assert all(j.same_run is None or j.same_run.parent == tmp_path / "misspecification-lr-quick"
               for j in M.design_jobs("quick", lrs=lrs))


def test_the_design_needs_every_searched_rate_and_has_three_seeds_where_verdicts_are_read():
    from flowlib.cli import build_parser
    from flowlib.studies.runner import StudyError
    with pytest.raises(StudyError, match="No searched learning rate for .*misspecification-lr"):
        M.design_jobs("quick", lrs={"small": 2e-3})
    lrs = {s: 1e-3 * (i + 1) for i, s in enumerate(M.DESIGN_STUDENTS)}
    jobs = M.design_jobs("quick", lrs=lrs)
    sizes = M.DESIGN_SIZES["quick"]
    assert len(sizes) >= 4 and min(sizes) <= 500 and max(sizes) >= 10_000
    assert "slim" in M.DESIGN_STUDENTS and M.relation("slim") == "smaller"
    seeds = {}
    for j in jobs:
        seeds.setdefault((j.spec["student"], j.spec["train_size"]), set()).add(j.spec["seed"])
    for (s, n), ss in seeds.items():
        verdict_cell = n == 0 or n in sizes[:M.VERDICT_SIZES]
        assert len(ss) == (3 if verdict_cell else 2), (s, n, ss)
    parser = build_parser()
    for j in jobs:
        a = parser.parse_args([*j.argv, "--out", "x"])
        assert a.final_lr_frac == 1.0 and a.lr == lrs[j.spec["student"]]   # constant, searched
        assert (a.data == "teacher-stream") == (j.spec["train_size"] == 0)
    assert len({j.name for j in jobs}) == len(jobs)


def test_the_lr_search_runs_and_feeds_the_design(tmp_path):
    from flowlib.studies import runner
    from flowlib.studies.results import load_study
    jobs = [j for j in M.lr_search_jobs("smoke") if j.spec["student"] == "tiny"]
    results = runner.run_jobs(jobs, tmp_path, n_parallel=2)
    assert [r.status for r in results] == ["done"] * 3, \
        [(r.out / "log.txt").read_text()[-1500:] for r in results]
    chosen = M.select_lrs(load_study(tmp_path))
    assert set(chosen) == {"tiny"} and chosen["tiny"] in M.LR_SEARCH["lrs"]
    assert M.searched_lrs("smoke") == {s: M.SMOKE_LR for s in M.DESIGN_STUDENTS}
    lrs = {s: chosen.get(s, 2e-3) for s in M.DESIGN_STUDENTS}
    assert any(j.spec["lr"] == chosen["tiny"] for j in M.design_jobs("smoke", lrs=lrs)
               if j.spec["student"] == "tiny")


def test_f6_instability_is_divergence_or_a_gradient_spike_not_memorising():
    from flowlib.studies.results import Run

    def run(grads, outcome="done", events=()):
        rows = [{"step": i * 20, "grad_norm": g} for i, g in enumerate(grads)] + list(events)
        return Run("r", "nll", 0, None, {"results": {"outcome": outcome}}, rows, None)
    steady = [2.0, 2.5, 1.8, 2.2, 2.1, 2.4, 1.9]
    memorising = [{"event": "instability", "step": 900, "kind": "bpd_exploded", "val_bpd": 4.9}]
    assert not M.unstable(run(steady, events=memorising))
    assert M.unstable(run(steady + [60.0]))
    assert M.unstable(run(steady, outcome="diverged"))


def test_the_shipped_pilot_is_what_the_design_was_based_on():
    """The design says the teacher-size student overfits 500 images within its 3000 steps:
    the shipped pilot's own curves must show it (and the test fails when it is missing)."""
    from flowlib.core.paths import results_root
    from flowlib.studies.results import load_study
    [pilot] = load_study(results_root("misspecification-pilot"))
    assert pilot.manifest["commit"] == "82f0f17" and pilot.manifest["results"]["steps"] == 4000
    s, v = pilot.series("val_bpd")
    best = int(np.nanargmin(v))
    assert s[best] < M.DESIGN_STEPS["quick"] / 2 and v[-1] > v[best] + 1.0


# ------------------------------------------------------------------ the study's wiring of the rules
DSTEPS = list(range(0, 3100, 100))
TRAIN = {"tiny": 1.9, "slim": 1.7, "small": 1.5, "medium": 1.3}   # final training bits/dim


def _design_runs(world: str, drop=(), end_jump=None):
    """Every run of the design at quick with constructed metrics. ``world``: "thesis" (every
    claim holds) or "null" (students alike, nothing overfits, FID moves within its noise).
    ``end_jump``: (predicate on a run's spec, bits/dim added to its last checks' validation)."""
    from pathlib import Path
    from flowlib.studies.results import Run
    runs = []
    for name, spec in M._design_names("quick").items():
        if name in drop:
            continue
        s, n = spec["student"], spec["train_size"]
        end = TRAIN[s] if world == "thesis" else 1.5
        train = [end + 4 * math.exp(-t / 300) for t in DSTEPS]
        over = world == "thesis" and n and s in ("small", "medium")
        slope = 0.0006 if s == "medium" else 0.0004          # the larger student overfits more
        val = [x + (slope * max(0, t - 1000) if over else 0.0) for x, t in zip(train, DSTEPS)]
        if world == "thesis" and n and s in ("tiny", "slim"):
            val = [x - 0.25 for x in val]          # the smaller students validate better at the end
        if end_jump and end_jump[0](spec):
            jump = end_jump[1]
            val = val[:len(val) - len(jump)] + [x + j for x, j in zip(val[len(val) - len(jump):], jump)]
        kl = [100 + (0.05 * max(0, t - 1000) if over else 0) for t in DSTEPS]
        rows = [{"event": "start", "step": 0, "train": {"val_images": 2000}}]
        for t, v, tr, k in zip(DSTEPS, val, train, kl):
            row = {"step": t, "val_bpd": v, "kl": k}
            if n:
                row["train_eval_bpd"] = tr
            if t % 500 == 0:
                fid = 60.0 + (1.0 if over and t > 1000 else 0.0) + (20 if world == "thesis" and s == "medium" else 0)
                row.update(fid=fid, fid_se=0.5)
            rows.append(row)
        slow = world == "thesis" and s == "medium"
        rows += [{"step": t, "img_per_s": 50.0 if slow else 100.0,
                  "grad_norm": 100.0 if (slow and t == 1500) else 1.0} for t in DSTEPS]
        runs.append(Run(name, "nll", spec["seed"], Path("."), {"results": {"outcome": "done"}}, rows, None,
                        spec=spec))
    return runs


@pytest.fixture
def no_teacher_gap(monkeypatch):
    """The gap's teacher correction reads the teacher's samples: constant here."""
    monkeypatch.setattr(M, "teacher_subset_bpd", lambda *a, **k: (1.0, 1.0))
    monkeypatch.setattr(M, "teacher_fid_floor", lambda *a, **k: 5.0)   # FID measured above it
    # speeds from the constructed runs' own logs, not from the shipped quiet benchmark
    monkeypatch.setattr(M, "student_speeds", lambda *a, **k: {})


def test_the_study_reads_every_rule_on_the_runs_it_states(no_teacher_gap):
    f = M.findings(_design_runs("thesis"))
    assert set(f) == {"F3", "F4 (n = 300)", "F4 (n = 1,000)", "F5", "F6 (n = 300)", "F6 (n = 1,000)"}
    assert f["F3"]["status"] == "supported", f["F3"]
    assert f["F4 (n = 300)"]["status"] == "supported", f["F4 (n = 300)"]
    assert f["F5"]["status"] == "supported", f["F5"]
    assert f["F6 (n = 1,000)"]["status"] == "supported", f["F6 (n = 1,000)"]
    null = M.findings(_design_runs("null"))
    assert null["F3"]["status"] == "mixed"                # alike, but the same training NLL
    assert null["F4 (n = 300)"]["status"] == "not supported"
    assert null["F5"]["status"] == "no data"              # nothing overfits
    assert null["F6 (n = 300)"]["status"] == "not supported"


def test_f6_reads_speed_from_the_quiet_benchmark_when_it_is_shipped(no_teacher_gap, monkeypatch):
    """The runs' own speeds (equal in the null design) were logged on a shared CPU; a shipped
    quiet-machine benchmark in which the larger student is half as fast makes it slow."""
    null = M.findings(_design_runs("null"))
    assert "slow: 0/1" in null["F6 (n = 300)"]["numbers"]
    monkeypatch.setattr(M, "student_speeds", lambda *a, **k: {M.TEACHER_SIZE: 240.0, "medium": 120.0})
    quiet = M.findings(_design_runs("null"))
    assert "slow: 1/1" in quiet["F6 (n = 300)"]["numbers"]
    assert quiet["F6 (n = 300)"]["status"] == "mixed"


def test_no_verdict_while_a_run_it_reads_is_missing(no_teacher_gap):
    f = M.findings(_design_runs("thesis", drop={"medium-n300-seed2"}))
    assert f["F6 (n = 300)"]["status"] == "incomplete: 5/6 runs"
    assert f["F4 (n = 300)"]["status"] == "incomplete: 14/15 runs"   # with the controls it reads
    assert f["F5"]["status"].startswith("incomplete")
    assert f["F3"]["status"] == "supported" and f["F6 (n = 1,000)"]["status"] == "supported"


def test_f3_shapes_are_compared_after_the_shared_first_drop():
    """Two students that fall alike from a random flow's 12 bits/dim but then approach their
    ends at rates five times apart: alike from step 0 (the shared drop dominates), not alike
    from 10% of the run on."""
    steps = np.arange(0, 3100, 100)
    fast = 1.5 + 10 * np.exp(-steps / 40) + 0.5 * np.exp(-steps / 300)
    slow = 1.7 + 10 * np.exp(-steps / 40) + 0.5 * np.exp(-steps / 1500)
    sa, va = M.normalised(steps, fast)
    sb, vb = M.normalised(steps, slow)
    assert np.max(np.abs(va - vb)) < M.TOL_SHAPE            # the first version's reading
    assert M.shape_distance((steps, slow), (steps, fast)) > M.TOL_SHAPE


def test_f4_overfitting_must_exceed_the_controls_own_rise():
    final = {"small": [1.60, 1.61, 1.62], "tiny": [1.55, 1.56, 1.57]}
    best = {"small": [1.58, 1.59, 1.60], "tiny": [1.54, 1.55, 1.56]}
    assert M.f4_rule(final, best, "small", ["tiny"])[0] == "supported"        # +0.02 > 0.01
    # the control itself ends 0.015 above its best: +0.02 is noise, not overfitting
    assert M.f4_rule(final, best, "small", ["tiny"], [0.015] * 3)[0] == "mixed"
    assert M.f4_rule(final, best, "small", ["tiny"], [0.0, math.nan, 0.0])[0] == "mixed"


def test_the_rules_read_a_runs_end_as_its_last_five_checks_so_one_jump_does_not_decide(no_teacher_gap):
    """The two 4e-3 controls jumped by 0.1-0.3 bits/dim in their last 300 steps; a jump like
    that at the last check of every teacher-size run must not read as overfitting (F4) nor
    make it an overfitting run (F5), while a rise held over the last five checks must."""
    at_300 = (lambda sp: sp["student"] == M.TEACHER_SIZE and sp["train_size"] == 300)
    jumped = M.findings(_design_runs("null", end_jump=(at_300, [0.3])))
    assert jumped["F4 (n = 300)"]["status"] == "not supported", jumped["F4 (n = 300)"]
    assert jumped["F5"]["status"] == "no data", jumped["F5"]
    held = M.findings(_design_runs("null", end_jump=(at_300, [0.3] * 5)))
    # it overfits, and the smaller students (unchanged) now validate better than it
    assert held["F4 (n = 300)"]["status"] == "supported", held["F4 (n = 300)"]
    assert held["F5"]["status"] != "no data"
    # a non-finite check among the last five: no end to read, so no evidence either way
    broken = M.findings(_design_runs("null", end_jump=(at_300, [math.inf, 0.3, 0.3, 0.3, 0.3])))
    assert broken["F4 (n = 300)"]["status"] == "not supported", broken["F4 (n = 300)"]


def test_f5_reads_no_data_when_no_overfitting_run_has_finite_figures():
    bad = {"kl_best": math.nan, "kl_final": 160, "fid_best": 50, "fid_final": 52, "fid_se": 1}
    assert M.f5_rule([bad, bad])[0] == "no data"


def test_the_f6_table_shows_the_speed_the_rule_reads_beside_the_logged_one(no_teacher_gap, monkeypatch):
    """The table is the book layer's (flowlib.book.overparameterised); the rule it shows is here."""
    from flowlib.book import overparameterised as BO
    f6_table = BO.f6_table
    monkeypatch.setattr(BO, "student_speeds", lambda *a, **k: {})   # no shipped benchmark
    runs = _design_runs("thesis")
    for r in runs:
        r.manifest["results"]["parameters"] = 1000
    table = f6_table(runs)
    assert "logged, no benchmark shipped" in table and "| medium | larger | 1,000 | 300 |" in table
    monkeypatch.setattr(BO, "student_speeds", lambda *a, **k: {s: 321.0 for s in M.DESIGN_STUDENTS})
    table = f6_table(runs)
    assert "quiet benchmark" in table and "| medium | larger | 1,000 | 300 | 3 | 321.0 | 50.0 |" in table


def test_the_study_without_its_search_names_the_command_that_runs_it(tmp_path, monkeypatch):
    from flowlib.studies.runner import StudyError
    monkeypatch.setenv("FLOWLIB_RESULTS", str(tmp_path))      # no search at full here
    with pytest.raises(StudyError, match="misspecification-lr --preset full"):
        M.jobs("full")


def test_early_and_final_read_kl_and_fid_at_the_quality_check_nearest_the_best_step():
    """Early stopping stops at the lowest validation check (step 600 here); KL and FID are
    measured every fifth check, so their early value is the nearest quality check (500), never
    the step-0 check of a random network; the final validation value is the last five checks'
    median, not the last check alone."""
    from flowlib.studies.results import Run
    val = [9.0, 3.0, 2.5, 2.2, 2.1, 2.05, 2.0, 2.1, 2.3, 2.6, 3.0, 9.9]   # steps 0..1100, best at 600
    rows = [{"step": 100 * i, "val_bpd": v} for i, v in enumerate(val)]
    for row in rows:
        if row["step"] % 500 == 0:
            row.update(kl=1000.0 + row["step"], fid=900.0 - row["step"] / 2, fid_se=row["step"] / 100)
    r = Run("r", "nll", 0, None, {"results": {"outcome": "done"}}, rows, None, spec={})
    ef = M.early_and_final(r)
    assert ef["val_bpd"] == (2.0, 2.6)            # the median of 2.1, 2.3, 2.6, 3.0, 9.9
    assert ef["kl"] == (1500.0, 2000.0) and ef["fid"] == (650.0, 400.0) and ef["fid_se"] == (10.0, 10.0)
    empty = M.early_and_final(Run("e", "nll", 0, None, {}, [{"step": 0}], None, spec={}))
    assert all(math.isnan(a) and math.isnan(b) for a, b in empty.values())


def test_the_early_final_figure_draws_every_student_on_the_constructed_design(no_teacher_gap):
    import matplotlib
    matplotlib.use("Agg")
    from flowlib.book.misspecification import early_final_figure
    fig = early_final_figure(_design_runs("thesis"))
    # small multiples: one column per student, one row per yardstick, each panel with its
    # final (solid) and early-stopped (dashed) line; one legend for all, outside the panels
    top = fig.axes[:len(M.DESIGN_STUDENTS)]
    assert [ax.get_title().split("\n")[0] for ax in top] == list(M.DESIGN_STUDENTS)
    assert len(fig.axes) == 3 * len(M.DESIGN_STUDENTS)
    for ax in fig.axes:
        styles = {line.get_linestyle() for line in ax.get_lines() if len(line.get_xdata()) > 1}
        assert {"-", "--"} <= styles
    assert [t.get_text() for t in fig.axes[-1].get_xticklabels()] == ["300", "1k", "3k", "10k"]
    assert [t.get_text() for t in fig.legends[0].get_texts()][0] == "final (median)"

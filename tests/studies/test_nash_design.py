"""The redesigned Nash study (issue 17): its departure rule on constructed curves, including the
cases that must not count as leaving, and its fractional design as jobs."""
from __future__ import annotations

import math

import pytest

from flowlib.cli import build_parser
from flowlib.studies import nash

STEPS = list(range(0, 210, 10))


def test_a_run_that_leaves_departs_at_its_first_check_past_ten_times_the_control():
    control = [0.0] + [0.3] * 20                    # NLL wanders up to 0.3 nats
    gan = [0.0, 0.2, 0.5, 1.0, 2.9, 3.1, 40.0] + [1e3] * 14
    assert nash.departure_step(STEPS, gan, STEPS, control) == 50   # 3.1 > 10 x 0.3


def test_staying_within_ten_times_the_control_is_not_leaving():
    control = [0.0] + [2.0] * 20
    gan = [0.0] + [19.0] * 20                       # large, but under 10 x 2.0
    assert nash.departure_step(STEPS, gan, STEPS, control) is None


def test_a_wobble_against_a_control_at_zero_is_not_leaving():
    control = [0.0] + [0.01] * 20                   # 10 x 0.01 = 0.1: the floor of 1 nat rules
    gan = [0.0] + [0.6, -0.4] * 10
    assert nash.departure_step(STEPS, gan, STEPS, control) is None
    assert nash.departure_step(STEPS, [0.0] + [1.5] * 20, STEPS, control) == 10


def test_a_blown_up_run_leaves_and_a_later_control_excursion_does_not_excuse_it():
    control = [0.0] * 10 + [500.0] * 11             # the control moves only after step 90
    gan = [0.0, 0.1, 30.0] + [math.nan] * 18
    assert nash.departure_step(STEPS, gan, STEPS, control) == 20
    assert nash.departure_step(STEPS, [0.0, math.inf] + [0.0] * 19, STEPS, control) == 10


def test_a_control_that_blew_up_excuses_any_finite_excursion_but_not_a_blow_up():
    control = [0.0, 0.1, 0.2, 0.2, 0.2, math.nan] + [0.2] * 15   # non-finite at step 50
    gan = [0.0, 0.5, 1.2, 1.5, 1.9, 1e3] + [1e4] * 15             # under 10 x 0.2 until 50
    assert nash.departure_step(STEPS, gan, STEPS, control) is None
    assert nash.departure_step(STEPS, gan[:6] + [math.inf] * 15, STEPS, control) == 60
    # before the control blew up, the bar was 10 x its largest KL as usual
    assert nash.departure_step(STEPS, [0.0, 0.5, 2.5] + [0.0] * 18, STEPS, control) == 20


def test_departure_steps_are_summarised_by_median_and_range():
    text = nash._departure_text([30, 70, None, 50], 1e-4)
    assert "departure step median 50, range 30-70 over 3/4 seeds" in text
    assert "range" not in nash._departure_text([20, 20, 20], 1e-4)   # one value, no range


def test_cell_verdicts_count_seeds():
    rows = [{"variant": "reference", "lr": 1e-4, "step": s} for s in (30, 50, 70)]
    rows += [{"variant": "r1-10", "lr": 1e-4, "step": s} for s in (None, None, 120)]
    rows += [{"variant": "sgd", "lr": 1e-4, "step": None} for _ in range(3)]
    v = nash.cell_verdicts(rows)
    assert v["reference", 1e-4] == "leaves (3/3 seeds)"
    assert v["r1-10", 1e-4] == "mixed (1/3 seeds)"
    assert v["sgd", 1e-4] == "stays (0/3 seeds)"


def test_the_design_is_fractional_with_a_control_for_every_nsgan_cell():
    jobs = nash.jobs("quick")
    names = [j.name for j in jobs]
    assert len(names) == len(set(names))
    cells = nash.design_cells()
    # the reference crossed with every rate (NSGAN and NLL), the other variants at one rate,
    # and D-trained-first crossed with every rate too (added after three runs, said so)
    assert len(cells) == 2 * len(nash.LRS) + (len(nash.VARIANTS) - 1) + 2 + (len(nash.LRS) - 1)
    assert len(jobs) == len(cells) * len(nash.SEEDS)
    assert min(nash.LRS) <= 1e-6 and max(nash.LRS) >= 2e-4 and len(nash.LRS) >= 5
    parser = build_parser()
    for j in jobs:
        args = parser.parse_args([*j.argv, "--out", "unused"])
        assert args.warmup_steps == 0 and args.final_lr_frac == 1.0   # constant step size
        assert args.init == "teacher" and args.reverse_kl and args.dense_checks == [10, 200]
        if j.spec["method"] == "nsgan":
            d_lr = nash.REFERENCE_LR if j.spec["variant"] == "pretrained-d" else args.lr
            assert args.d_lr == d_lr and (args.gan_beta1 == 0.9) == (j.spec["variant"] == "beta1-0.9")
            assert (args.pretrain_disc > 0) == (j.spec["variant"] == "pretrained-d")
        assert (args.data == "synthetic") == (j.spec["variant"] == "finite")


@pytest.mark.parametrize("variant", [v for v in nash.VARIANTS])
def test_every_nsgan_run_of_the_design_finds_its_nll_control(variant):
    from flowlib.studies.results import Run

    def run(spec):
        return Run(name="x", loss=spec["loss"], seed=spec["seed"], directory=None, manifest={},
                   rows=[], final=None, spec=spec)
    jobs = nash.jobs("quick")
    runs = [run(j.spec) for j in jobs]
    for r in runs:
        if r.spec["method"] == "nsgan" and r.spec["variant"] == variant:
            c = nash._control(runs, r)
            assert c is not None and c.spec["method"] == "nll" and c.seed == r.seed
            assert c.spec["lr"] == r.spec["lr"]
            assert c.spec["variant"] == (variant if variant in ("sgd", "finite") else "reference")


def test_a_diverged_run_leaves_where_it_stopped_and_a_seed_without_control_is_named():
    from flowlib.studies.results import Run

    def run(spec, kl, outcome="done", events=()):
        rows = [{"step": s, "kl": k} for s, k in zip(STEPS, kl)] + list(events)
        return Run("r", spec["loss"], spec["seed"], None, {"results": {"outcome": outcome}},
                   rows, None, spec=spec)
    base = {"variant": "reference", "lr": 1e-4, "data": "stream"}
    runs = [run({**base, "method": "nll", "loss": "nll", "seed": 0}, [0.0] + [0.2] * 20),
            # blew up at step 70: its KL rows stop before anything large was measured
            run({**base, "method": "nsgan", "loss": "nsgan", "seed": 0}, [0.0, 0.1, 0.2], "diverged",
                [{"event": "diverged", "step": 70}]),
            run({**base, "method": "nsgan", "loss": "nsgan", "seed": 1}, [0.0] * 21)]   # no control
    rows = nash.departures(runs)
    assert [(r["seed"], r["step"], r["control"]) for r in rows] == [(0, 70, True), (1, None, False)]
    assert nash.cell_verdicts(rows)["reference", 1e-4] == "leaves (1/1 seeds; 1 without a control)"


def _study(kl_of, skip=()):
    """Runs of the whole design at `quick` with constructed KL curves: ``kl_of(spec)`` gives a
    run's curve over STEPS; jobs named in ``skip`` have not finished."""
    from flowlib.studies.results import Run
    return [Run(j.name, j.spec["loss"], j.spec["seed"], None, {"results": {"outcome": "done"}},
                [{"step": s, "kl": k} for s, k in zip(STEPS, kl_of(j.spec))], None, spec=j.spec)
            for j in nash.jobs("quick") if j.name not in skip]


def _nll_calm_gan_leaves(spec):
    return [0.0] + [0.2] * 20 if spec["method"] == "nll" else [0.0] + [50.0] * 20


def test_findings_support_f2_only_when_every_cell_leaves_and_name_what_stays():
    f = nash.findings(_study(_nll_calm_gan_leaves))
    assert f["F2 (at the Nash equilibrium, by step size)"]["status"] == "supported"
    assert f["F2 (at the Nash equilibrium, stabilised, lr 0.0001)"]["status"] == "supported"

    def r1_stays(spec):   # R1 (gamma 10) keeps NSGAN within the control's range in every seed
        return [0.0] + [0.2] * 20 if spec["variant"] == "r1-10" else _nll_calm_gan_leaves(spec)
    f = nash.findings(_study(r1_stays))
    assert f["F2 (at the Nash equilibrium, by step size)"]["status"] == "supported"
    stab = f["F2 (at the Nash equilibrium, stabilised, lr 0.0001)"]
    assert stab["status"] == "mixed (kept at the equilibrium: R1 (gamma 10))"
    assert "NSGAN leaves in 6/7 variants" in stab["numbers"]


def test_findings_do_not_support_f2_when_nsgan_stays_with_its_control():
    f = nash.findings(_study(lambda spec: [0.0] + [0.2] * 20))
    assert f["F2 (at the Nash equilibrium, by step size)"]["status"] == "not supported"
    assert f["F2 (at the Nash equilibrium, stabilised, lr 0.0001)"]["status"] == "not supported"


def test_small_step_sizes_that_stay_make_the_step_size_verdict_mixed_with_lr_times_step():
    def slow(spec):   # leaves at step 50 from lr 3e-5 up, stays below
        if spec["method"] == "nll" or spec["lr"] < 3e-5:
            return [0.0] + [0.2] * 20
        return [0.0] * 5 + [50.0] * 16
    v = nash.findings(_study(slow))["F2 (at the Nash equilibrium, by step size)"]
    assert v["status"] == "mixed"
    assert "1e-06: stays (0/3 seeds)" in v["numbers"] and "NSGAN leaves at 3/5" in v["numbers"]
    assert "0.0002: leaves (3/3 seeds), departure step median 50 over 3/3 seeds (lr x step 0.01)" in v["numbers"]


def test_no_verdict_before_every_run_of_its_cells_has_finished():
    one = "nll-reference-lr1e-05-seed2"      # a missing *control* also withholds the verdict
    f = nash.findings(_study(_nll_calm_gan_leaves, skip={one}))
    assert f["F2 (at the Nash equilibrium, by step size)"]["status"] == "incomplete: 29/30 runs of its cells"
    # the D-trained-first row reads the same NLL controls
    assert f["F2 (at the Nash equilibrium, D trained first, by step size)"]["status"].startswith("incomplete: 29/30")
    # the variants' verdict reads the reference at 1e-4 and the variants: all finished
    assert f["F2 (at the Nash equilibrium, stabilised, lr 0.0001)"]["status"] == "supported"
    f = nash.findings(_study(_nll_calm_gan_leaves, skip={"nsgan-sgd-lr0.0001-seed0"}))
    assert f["F2 (at the Nash equilibrium, stabilised, lr 0.0001)"]["status"].startswith("incomplete: 32/33")
    from flowlib.book.nash import departure_table   # the table is the book layer's
    table = departure_table(_study(_nll_calm_gan_leaves))
    assert table.count("\n") == 2 + len(nash.LRS) + len(nash.VARIANTS) - 1 + len(nash.LRS) - 1
    assert "| plain SGD | 0.0001 | <= 10, <= 10, <= 10 | leaves (3/3 seeds) | 50 (50–50)" not in table
    assert "| plain SGD | 0.0001 | <= 10, <= 10, <= 10 | leaves (3/3 seeds) | 50 | " in table


def test_cells_whose_seeds_disagree_make_the_verdict_mixed_never_not_supported():
    def two_of_three(spec):      # every NSGAN cell: seeds 0 and 1 leave, seed 2 stays
        if spec["method"] == "nll" or spec["seed"] == 2:
            return [0.0] + [0.2] * 20
        return [0.0] + [50.0] * 20
    f = nash.findings(_study(two_of_three))
    for name, v in f.items():
        assert v["status"] == "mixed", (name, v)
    assert "leaves at 0/5 learning rates, stays at 0" in f["F2 (at the Nash equilibrium, by step size)"]["numbers"]
    assert nash.three_way(["leaves (3/3 seeds)", "stays (0/3 seeds)"]) == "mixed"
    assert nash.three_way(["stays (0/3 seeds)"] * 2) == "not supported"


def test_a_departure_at_the_first_check_is_reported_as_an_upper_bound():
    v = nash.findings(_study(_nll_calm_gan_leaves))["F2 (at the Nash equilibrium, by step size)"]
    assert "0.0001: leaves (3/3 seeds), departure step median <= 10 over 3/3 seeds (lr x step <= 0.001)" in v["numbers"]

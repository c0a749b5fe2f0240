"""Issue 33's departure rule and design on constructed inputs: leaves, drifts and stays;
matched-distance interpolation; a control whose noise hid a drift under the first rule."""
import math

import numpy as np

from flowlib.studies import nash
from flowlib.studies import nash_exact as N

STEPS = np.array([0, 10, 20, 50, 100, 200, 300, 400])


def test_reading_leaves_drifts_stays():
    se = np.full(len(STEPS), 0.04)
    assert N.reading(STEPS, [0, 0.4, 0.6, 1.0, 1.2, 1.5, 2.0, 3.0], se) == ("leaves", 100)
    # KL rising steadily but staying below the bar: drifts
    assert N.reading(STEPS, [0, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8], se) == ("drifts", None)
    # within the estimator's noise of where it began: stays
    assert N.reading(STEPS, [0, 0.03, 0.01, 0.04, 0.02, 0.05, 0.03, 0.06], se) == ("stays", None)
    # a reading just above the bar but within two standard errors of it does not leave
    assert N.reading([0, 10], [0, 1.05], [0, 0.04])[0] != "leaves"
    assert N.reading([0, 10, 20], [0, 0.5, math.inf], [0, 0.04, math.nan]) == ("leaves", 20)
    assert N.reading([0], [0.0], [0.0]) == ("no data", None)


def test_a_control_whose_noise_hid_a_drift_under_the_first_rule():
    """The shipped SGD cell: NSGAN's KL rose to 1.4-1.85 nats, its NLL-SGD control swung to
    164-270, which put the first rule's bar at 1 640-2 700: 'stays'. The absolute bar reads
    the NSGAN run alone: it leaves."""
    kl_gan = [0, 0.01, 0.05, 0.3, 0.9, 1.2, 1.5, 1.8]
    kl_nll = [0, 5, 30, 164, 90, 120, 150, 100]
    assert nash.departure_step(STEPS, kl_gan, STEPS, kl_nll) is None           # first rule
    assert N.reading(STEPS, kl_gan, np.full(len(STEPS), 0.05)) == ("leaves", 200)


def test_kl_at_matched_distance():
    dist = [0.0, 0.001, 0.002, 0.004, 0.01, 0.02]
    kl = [0.0, 0.1, 0.2, 0.4, 1.0, 2.0]
    # 0.003 lies between 0.002 and 0.004: log-distance interpolation, halfway in log terms
    t = (math.log(0.003) - math.log(0.002)) / (math.log(0.004) - math.log(0.002))
    assert math.isclose(N.kl_at_distance(dist, kl, 0.003), 0.2 + t * 0.2)
    assert N.kl_at_distance(dist, kl, 0.01) == 1.0
    assert N.kl_at_distance(dist, kl, 0.1) is None                    # never travelled that far
    assert N.kl_at_distance([0, 0.002, math.nan], [0, 0.1, 0.2], 0.01) is None


def test_distance_at_checks_interpolates_the_training_rows():
    rows = [{"step": 20, "param_distance": 0.2}, {"step": 40, "param_distance": 0.3},
            {"step": 0, "kl": 0.0}, {"event": "x", "step": 30, "param_distance": 9.0}]
    d = N.distance_at_checks(rows, [0, 10, 20, 30, 40, 50])
    assert np.allclose(d[:5], [0, 0.1, 0.2, 0.25, 0.3]) and math.isnan(d[5])


def test_cell_word():
    assert N.cell_word(["leaves"] * 3) == "leaves"
    assert N.cell_word(["leaves", "drifts", "stays"]) == "mixed (1 leave, 1 drift, 1 stay)"


def _arg(argv, flag):
    return argv[argv.index(flag) + 1] if flag in argv else None


def test_the_design():
    jobs = {j.name: j for j in N.jobs("quick")}
    assert len(jobs) == 105
    for j in jobs.values():
        a, sp = j.argv, j.spec
        assert _arg(a, "--init") == "teacher" and _arg(a, "--warmup-steps") == "0"
        assert _arg(a, "--steps") == ("2000" if sp["optimizer"] == "sgd" else "400")
        if sp["method"] == "nsgan":
            want = "fresh" if sp["variant"] in ("fresh-d", "trained-first", "frozen-fresh") else "exact"
            assert a.count("--d-start") == 1 and _arg(a, "--d-start") == want, j.name
            assert ("--freeze-disc" in a) == sp["variant"].startswith("frozen"), j.name
            # its control differs in the loss only: optimiser, betas, rate, data, steps
            ctl = N.control_of([_Run(c) for c in jobs.values()], _Run(j))
            assert ctl is not None, j.name
            c = ctl.job.argv
            for flag in ("--optimizer", "--lr", "--data", "--train-size", "--steps", "--seed"):
                assert _arg(c, flag) == _arg(a, flag), (j.name, flag)
            if sp["optimizer"] == "adam":
                assert _arg(c, "--gen-beta1") == _arg(a, "--gan-beta1"), j.name
    assert _arg(jobs["nsgan-adam-trained-first-lr0.0001-seed0"].argv, "--pretrain-disc") == "300"


class _Run:
    """A job as a finished run, enough for control_of."""
    def __init__(self, job):
        self.job, self.spec, self.seed = job, job.spec, job.spec["seed"]


def test_the_chapter_reads_every_cell_as_not_run_until_its_runs_exist():
    rows = N.cell_status([])
    assert len(rows) == len(N.design_cells()) and sum(r["planned"] for r in rows) == 105
    assert all(r["reading"] == N.NOT_RUN and r["runs"] == 0 for r in rows)
    # one finished seed of a cell: partial, never a reading of the rule
    job = next(j for j in N.jobs("quick") if j.name == "nsgan-adam-exact-lr0.0001-seed0")
    part = _Run(job)
    part.name = job.name
    row = next(r for r in N.cell_status([part]) if r["cell"] == {k: job.spec[k] for k in
                                                                 ("method", "optimizer", "variant", "lr")})
    assert row["reading"] == "1/3 runs" and row["runs"] == 1

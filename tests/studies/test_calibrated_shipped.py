"""The calibrated Experiment 2's runs (issue 34): every run of the two new designs is either
shipped (made by its job's command with the current teacher) or parked with its checkpoint
under results/in-progress to be resumed; a run that is neither is a missing result. Shipped
weights reproduce their recorded exact KL."""
from __future__ import annotations

import json

import pytest

from flowlib.core.paths import results_root
from flowlib.studies import misspecification_calibrated as cal
from flowlib.studies.results import load_study

DESIGNS = {"misspecification-long": cal.long_jobs("quick"),
           "misspecification-shared-lr": cal.shared_jobs("quick")}


def _state(study):
    jobs = {j.name: j for j in DESIGNS[study]}
    shipped = results_root(f"{study}-quick")
    parked = results_root("in-progress") / f"{study}-quick"
    runs = load_study(shipped) if any(shipped.glob("*/manifest.json")) else []
    return jobs, runs, parked, {p.parent.name for p in parked.glob("*/checkpoint.pt")}


@pytest.mark.parametrize("study", DESIGNS)
def test_shipped_and_parked_runs_are_the_designs(study):
    from flowlib.data.synthetic import Teacher
    jobs, runs, parked, waiting = _state(study)
    sha = Teacher.load().sha256
    for r in runs:
        assert r.name in jobs, r.name
        assert json.loads((r.directory / "job.json").read_text())["argv"] == list(jobs[r.name].argv)
        assert r.manifest["commit"] and r.outcome in ("done", "diverged")
        assert r.rows[0]["teacher_sha256"] == sha
        assert not (r.directory / "checkpoint.pt").exists()
    for name in waiting:   # a parked run is a run of this design, resumable, not also shipped
        assert name in jobs and name not in {r.name for r in runs}, name
        assert json.loads((parked / name / "job.json").read_text())["argv"] == list(jobs[name].argv)


# Strict: a design still being trained fails its mark once its last run ships, and the mark
# goes (the shared-rate design was completed on 2026-12-07).
STILL_TRAINING = {"misspecification-long": "issue 34: the long controls (8 runs, ~12 "
                  "core-hours) are resumable jobs trained over several sessions"}


@pytest.mark.parametrize("study", [pytest.param(s, marks=pytest.mark.xfail(
    strict=True, reason=STILL_TRAINING[s])) if s in STILL_TRAINING else s for s in DESIGNS])
def test_every_run_of_the_design_is_shipped(study):
    jobs, runs, _, _ = _state(study)
    missing = set(jobs) - {r.name for r in runs}
    assert not missing, f"not shipped yet: {sorted(missing)}"


def test_shipped_weights_reproduce_their_kl():
    from flowlib.data.synthetic import Teacher, synthetic_mnist
    from flowlib.metrics.likelihood import kl_to_teacher
    from flowlib.models.realnvp import RealNVP
    from flowlib.training.metrics_file import read_metrics
    models = sorted(p for s in DESIGNS for p in (results_root(f"{s}-quick")).glob("*/model.pt"))
    assert models, "no shipped weights under results/misspecification-{long,shared-lr}-quick"
    for path in models:
        rows = read_metrics(path.parent)
        start = next(r for r in rows if r.get("event") == "start")
        last = [r for r in rows if r.get("kl") is not None][-1]
        teacher = Teacher.by_sha256(start["teacher_sha256"])
        est = kl_to_teacher(RealNVP.load(path), synthetic_mnist("test", start["kl_images"], teacher))
        assert abs(est.value - last["kl"]) <= 1e-3 * max(1.0, abs(last["kl"])), (path.parent.name, est, last["kl"])

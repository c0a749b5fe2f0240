"""Studies as independent resumable jobs: local parallel runs, a Slurm array, no mixing."""
from __future__ import annotations

import json

import pytest

from flowlib.studies import runner


def _jobs():
    return [runner.Job(f"nll-seed{s}", ("train", "--loss", "nll", "--preset", "smoke", "--seed",
                                        str(s), "--steps", "3", "--no-progress"),
                       {"loss": "nll", "seed": s}) for s in (0, 1)]


def test_two_jobs_in_parallel_then_skipped_on_rerun(tmp_path):
    jobs = _jobs()
    results = runner.run_jobs(jobs, tmp_path, n_parallel=2)
    assert [r.status for r in results] == ["done", "done"], \
        [(r.out / "log.txt").read_text()[-2000:] for r in results]
    merged = runner.collect(tmp_path)
    assert [m["name"] for m in merged] == ["nll-seed0", "nll-seed1"]
    assert all(m["results"]["outcome"] == "done" and m["results"]["steps"] == 3 for m in merged)
    assert all("final_val_bpd" in m["results"] and m["seed"] in (0, 1) for m in merged)
    again = runner.run_jobs(jobs, tmp_path, n_parallel=2)
    assert [r.status for r in again] == ["skipped (finished)"] * 2


def test_foreign_results_are_refused_and_kept(tmp_path):
    (tmp_path / "nll-seed0").mkdir()
    (tmp_path / "nll-seed0" / "job.json").write_text(json.dumps({"argv": ["train", "--other"]}))
    with pytest.raises(runner.StudyError, match="another configuration.*Nothing was overwritten"):
        runner.run_jobs(_jobs(), tmp_path)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "notes.txt").write_text("mine")
    with pytest.raises(runner.StudyError, match="not a run of this study"):
        runner.job_state(tmp_path / "x", _jobs()[0])
    assert (tmp_path / "x" / "notes.txt").read_text() == "mine"


def test_gpu_assignment_spreads_parallel_jobs_over_the_visible_gpus():
    assert runner.gpu_assignment(4, 2) == [0, 1, 0, 1]
    assert runner.gpu_assignment(3, 4) == [0, 1, 2]
    assert runner.gpu_assignment(2, 0) == [None, None]

"""Studies as independent resumable jobs: local parallel runs, a Slurm array, no mixing."""
from __future__ import annotations

import json

import pytest

from flowlib.studies import runner
from flowlib.studies.nll_vs_gan import jobs as nll_vs_gan_jobs


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


def test_emit_slurm_array_runs_the_same_commands(tmp_path):
    jobs = nll_vs_gan_jobs("full", [0, 1, 2])
    assert len(jobs) == 9 and {j.spec["loss"] for j in jobs} == {"nll", "nsgan", "hybrid"}
    script = runner.emit_slurm(jobs, tmp_path / "exp1-full", tmp_path / "exp1.slurm.sh")
    text = script.read_text()
    assert "#SBATCH --array=0-8" in text and "-m flowlib $args $resume" in text
    lines = script.with_suffix(".jobs.tsv").read_text().splitlines()
    assert len(lines) == 9
    name, args = lines[2].split("\t")
    assert name == "hybrid-seed0" and "--hybrid-lambda" in args and "--out" in args

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


def test_a_finished_run_of_the_same_command_is_adopted_not_trained_again(tmp_path):
    search = tmp_path / "search"
    first = runner.run_jobs(_jobs()[:1], search)
    assert first[0].status == "done"
    job = runner.Job("control-seed0", _jobs()[0].argv, {"loss": "nll", "seed": 0, "data": "stream"},
                     same_run=search / "nll-seed0")
    study = tmp_path / "study"
    out = runner.run_jobs([job], study)
    assert out[0].status == "adopted (the same run)"
    assert (study / "control-seed0" / "metrics.jsonl").read_bytes() == \
        (search / "nll-seed0" / "metrics.jsonl").read_bytes()
    assert json.loads((study / "control-seed0" / "job.json").read_text())["spec"]["data"] == "stream"
    assert "adopted from" in (study / "control-seed0" / "log.txt").read_text()
    assert runner.run_jobs([job], study)[0].status == "skipped (finished)"
    # a run of another command is refused, and nothing is copied
    other = runner.Job("other-seed0", (*_jobs()[0].argv[:-1], "--steps", "4"), {},
                       same_run=search / "nll-seed0")
    with pytest.raises(runner.StudyError, match="not `flowlib train.*rerun the search"):
        runner.run_jobs([other], study)
    assert not (study / "other-seed0").exists()
    # nothing there to adopt: the job trains as usual
    fresh = runner.Job("nll-seed1", _jobs()[1].argv, {"loss": "nll", "seed": 1},
                       same_run=tmp_path / "nowhere")
    assert runner.run_jobs([fresh], study)[0].status == "done"


def test_gpu_assignment_spreads_parallel_jobs_over_the_visible_gpus():
    assert runner.gpu_assignment(4, 2) == [0, 1, 0, 1]
    assert runner.gpu_assignment(3, 4) == [0, 1, 2]
    assert runner.gpu_assignment(2, 0) == [None, None]


def test_jobs_auto_is_one_job_per_core_or_per_gpu(monkeypatch):
    monkeypatch.setattr(runner.os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    monkeypatch.setattr(runner, "_visible_gpus", lambda: 3)
    assert runner.auto_parallel(20) == 8            # CPU: one job per core
    assert runner.auto_parallel(5) == 5             # never more than the study's jobs
    assert runner.auto_parallel(20, "cuda") == 3    # one per visible GPU
    monkeypatch.setattr(runner, "_visible_gpus", lambda: 0)
    assert runner.auto_parallel(20, "cuda") == 1


@pytest.mark.parametrize("bad", ["0", "-2", "two"])
def test_jobs_flag_refuses_what_is_not_a_count(bad, capsys):
    from flowlib.cli import main
    with pytest.raises(SystemExit):
        main(["experiment", "gan-control", "--preset", "smoke", "--jobs", bad])
    assert "--jobs takes a positive number or auto" in capsys.readouterr().err


def test_local_runner_killed_mid_study_resumes_and_equals_an_uninterrupted_study(tmp_path):
    """SIGKILL to the whole local study (runner and its training child) while the second job is
    between checkpoints; the same command again skips the finished job, resumes the partial one,
    and the study equals one made without interruption, number for number."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from flowlib.cli import main
    from flowlib.core.paths import REPO_ROOT
    from tests.studies.test_slurm import _numbers  # a run's metrics without its timings

    root = tmp_path / "killed"
    argv = ["experiment", "gan-control", "--preset", "smoke", "--seeds", "0", "1", "--jobs", "1",
            "--out", str(root)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "flowlib", *argv], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            start_new_session=True)
    victim = root / "seed1"
    deadline = time.time() + 600
    while not (victim / "checkpoint.pt").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (root / "seed0" / "manifest.json").exists(), "the first job did not finish first"
    assert (victim / "checkpoint.pt").exists() and not (victim / "manifest.json").exists(), \
        "the kill did not land between the second job's first checkpoint and its end"
    assert main(argv) == 0
    log = (victim / "log.txt").read_text()
    assert "--resume" in log, "the second job started over instead of resuming"
    clean = tmp_path / "clean"
    assert main([*argv[:-1], str(clean)]) == 0
    for seed in ("seed0", "seed1"):
        assert _numbers(root / seed) == _numbers(clean / seed), seed
        assert json.loads((root / seed / "final.json").read_text()) == \
            json.loads((clean / seed / "final.json").read_text())
        lines = (root / seed / "metrics.jsonl").read_text().splitlines()
        assert len(lines) == len(set(lines)), "duplicated metrics lines after the resume"

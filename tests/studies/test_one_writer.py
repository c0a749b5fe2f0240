"""The runner and the run lock: a second runner of a study leaves the runs that a first one is
writing alone ("running elsewhere"), and a lock left by a dead process does not block."""
import json
import os
import socket
import subprocess
import sys
import time

from flowlib.core.paths import REPO_ROOT
from flowlib.studies import runner


def test_a_second_runner_leaves_the_run_a_first_runner_writes_alone(tmp_path, capsys):
    """The issue's reproduction: `flowlib experiment gan-control --out Y` twice, the second
    while the first trains seed 0. The second must report seed 0 as running elsewhere, naming
    the process, and neither resume it nor count it as finished; seed 0 is made once."""
    from flowlib.cli import main
    root = tmp_path / "study"
    argv = ["experiment", "gan-control", "--preset", "smoke", "--seeds", "0", "--jobs", "1",
            "--out", str(root)]
    first = subprocess.Popen([sys.executable, "-m", "flowlib", *argv], cwd=REPO_ROOT,
                             env={**os.environ, "OMP_NUM_THREADS": "1"}, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    run = root / "seed0"
    try:
        deadline = time.time() + 300
        while not (run / "job.json").exists() and time.time() < deadline:
            assert first.poll() is None, first.communicate()[0][-2000:]
            time.sleep(0.05)
        assert main(argv) == 0
        first_still_ran = first.poll() is None
        second = capsys.readouterr().out
    finally:
        out, _ = first.communicate(timeout=600)
    assert "[study] seed0: running elsewhere (pid" in second, second
    assert first_still_ran, "the first runner ended before the second was tried"
    assert first.returncode == 0, out[-2000:]
    assert f"on host {socket.gethostname()}" in second, second
    assert "0/1 runs finished" in second and "left alone: seed0" in second, second
    assert "[study] seed0: done" in out and "1/1 runs finished" in out, out
    log = (run / "log.txt").read_text()
    assert log.count("$ ") == 1 and "--resume" not in log, log    # started once, never resumed
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r.get("event") for r in rows].count("start") == 1
    checks = [r["step"] for r in rows if "fid" in r]
    trained = [r["step"] for r in rows if "g_loss" in r]
    assert checks == sorted(set(checks)) and trained == sorted(set(trained))  # nothing twice
    assert json.loads((run / "manifest.json").read_text())["results"]["outcome"] == "done"
    assert not (run / ".lock").exists()


def test_a_run_whose_lock_was_left_by_a_dead_process_is_run(tmp_path):
    """A folder holding only a `.lock` of a killed runner is this study's (not foreign
    results), and its lock is taken over."""
    job = runner.Job("nll-seed0", ("train", "--loss", "nll", "--preset", "smoke", "--seed", "0",
                                   "--steps", "3", "--quality-every", "0", "--no-progress"),
                     {"loss": "nll", "seed": 0})
    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / job.name).mkdir()
    (tmp_path / job.name / ".lock").write_text(json.dumps({"host": socket.gethostname(),
                                                           "pid": dead.pid}))
    result, = runner.run_jobs([job], tmp_path)
    assert result.status == "done", (result.out / "log.txt").read_text()[-2000:]
    assert not (tmp_path / job.name / ".lock").exists()

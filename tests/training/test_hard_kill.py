"""A training process killed with SIGKILL between two checkpoints, then resumed by
``flowlib train --out DIR --resume`` alone, ends exactly where an uninterrupted run ends."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

TIMING = {"img_per_s", "train_seconds", "wall_seconds", "quality_seconds", "seconds"}


def _rows(run):
    """Every logged number but timings and the resume's own record of where it ran."""
    lines = (run / "metrics.jsonl").read_text().splitlines()
    rows = [json.loads(l) for l in lines]  # no torn line survives a resume
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows
            if r.get("event") != "resume"]


def _train(argv, out, **kw):
    return subprocess.Popen([sys.executable, "-m", "flowlib", "train", *argv, "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"}, **kw)


@pytest.mark.parametrize("loss", ["nll", "nsgan"])
def test_sigkill_between_checkpoints_then_resume_alone(tmp_path, loss):
    argv = ["--preset", "smoke", "--loss", loss, "--steps", "60", "--threads", "1", "--seed", "4",
            "--no-progress"] + (["--lr", "2e-4"] if loss != "nll" else [])
    straight = tmp_path / "straight"
    assert _train(argv, straight).wait(timeout=600) == 0
    killed = tmp_path / "killed"
    proc = _train(argv, killed)
    deadline = time.time() + 300
    while not (killed / "checkpoint.pt").exists() and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # into the next checkpoint interval
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    step = torch.load(killed / "checkpoint.pt", weights_only=False)["step"]
    assert step < 60 and not (killed / "model.pt").exists(), "the kill did not land mid-run"
    resumed = subprocess.run([sys.executable, "-m", "flowlib", "train", "--out", str(killed),
                              "--resume"], capture_output=True, text=True, timeout=600,
                             env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert _rows(killed) == _rows(straight)        # every logged number, nothing duplicated
    # the resume says where the rest of the run was made (machine and commit)
    resumes = [json.loads(l) for l in (killed / "metrics.jsonl").read_text().splitlines()
               if json.loads(l).get("event") == "resume"]
    assert [r["step"] for r in resumes] == [step]
    assert resumes[0]["machine"].startswith("CPU") and "commit" in resumes[0]
    a = torch.load(straight / "model.pt", weights_only=True)["state_dict"]
    b = torch.load(killed / "model.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(v, b[k]) for k, v in a.items())


def test_a_time_budget_run_killed_and_resumed_keeps_its_schedule(tmp_path):
    out = tmp_path / "budget"
    proc = _train(["--preset", "quick", "--size", "micro", "--minutes", "0.3", "--checkpoint-every",
                   "20", "--quality-every", "0", "--eval-every", "100000", "--threads", "1",
                   "--no-progress"], out)
    deadline = time.time() + 300
    while time.time() < deadline:
        if (out / "checkpoint.pt").exists():
            total = torch.load(out / "checkpoint.pt", weights_only=False)["total_steps"]
            if total:
                break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert subprocess.run([sys.executable, "-m", "flowlib", "train", "--out", str(out), "--resume"],
                          capture_output=True, timeout=600).returncode == 0
    ck = torch.load(out / "checkpoint.pt", weights_only=False)
    assert total and ck["total_steps"] == total      # fixed at calibration, kept by the resume
    assert ck["step"] == total or ck["train_seconds"] >= 18
    assert (out / "model.pt").exists()
    steps = [r["step"] for r in _rows(out) if "lr" in r]
    assert steps == sorted(set(steps))             # no step logged twice

"""The cluster path against a real Slurm: a study submitted as an array, one task killed with
SIGKILL between checkpoints, the array resubmitted, and the collected study equal to the same
study made by the local runner."""
import json
import subprocess
import time

from flowlib.cli import main
from tests.studies.slurm_fixture import start_slurm, wait_for

TIMING = {"wall_seconds", "quality_seconds", "seconds", "train_seconds", "img_per_s"}


def _numbers(run_dir):
    rows = [json.loads(l) for l in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


def test_study_on_slurm_survives_a_sigkill_and_equals_the_local_run(tmp_path):
    env, stop = start_slurm(tmp_path / "slurm")
    try:
        root = tmp_path / "gan-control-smoke"
        assert main(["experiment", "gan-control", "--preset", "smoke", "--seeds", "0", "1",
                     "--out", str(root), "--emit", "slurm", "--cpus", "1", "--mem", "2G",
                     "--time", "00:20:00"]) == 0
        folder = root.with_name(root.name + ".slurm")
        sbatch = lambda script, *opts: subprocess.run(  # noqa: E731
            ["sbatch", "--parsable", *opts, str(folder / script)], env=env, check=True,
            capture_output=True, text=True).stdout.strip().split(";")[0]
        jid = sbatch("array.sh")
        # kill task 1 with SIGKILL once it has written its first checkpoint
        victim = root / "seed1"
        deadline = time.time() + 300
        while not (victim / "checkpoint.pt").exists() and time.time() < deadline:
            time.sleep(0.05)
        assert (victim / "checkpoint.pt").exists(), "task 1 never wrote a checkpoint"
        subprocess.run(["scancel", "--signal=KILL", f"{jid}_1"], env=env, check=True)
        wait_for(env, jid)
        assert (root / "seed0" / "manifest.json").exists()
        assert not (victim / "manifest.json").exists(), "the kill did not land before the end"
        # resubmitted: task 0 is skipped (finished), task 1 resumes from its checkpoint
        jid2 = sbatch("array.sh")
        wait_for(env, jid2)
        logs = sorted((folder / "logs").glob(f"{jid2}_*.out"))
        assert any("skipped (finished)" in p.read_text() for p in logs)
        assert (victim / "manifest.json").exists() and (victim / "final.json").exists()
        # the collection, as a user runs it after the array
        assert main(["experiment", "gan-control", "--preset", "smoke", "--seeds", "0", "1",
                     "--out", str(root), "--collect"]) == 0
        # the same study by the local runner, two jobs of one thread each
        local = tmp_path / "local"
        assert main(["experiment", "gan-control", "--preset", "smoke", "--seeds", "0", "1",
                     "--jobs", "2", "--out", str(local)]) == 0
        for seed in ("seed0", "seed1"):
            assert _numbers(root / seed) == _numbers(local / seed), seed
            assert json.loads((root / seed / "final.json").read_text()) == \
                json.loads((local / seed / "final.json").read_text())
            for d in (root, local):
                assert json.loads((d / seed / "manifest.json").read_text())["results"]["outcome"] == "done"
    finally:
        stop()

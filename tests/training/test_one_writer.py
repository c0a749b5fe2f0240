"""One writer per run folder: a second process on a held run is refused, naming the holder;
a lock left by a dead process does not block (flowlib.core.runlock)."""
import json
import os
import socket
import subprocess
import sys
import time

import pytest

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def small_data():
    from flowlib.data.mnist import load_mnist
    return load_mnist("train").images[:64], load_mnist("validation").images[:32]


def _flowlib(*argv):
    return [sys.executable, "-m", "flowlib", *argv]


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _holder(folder):
    """A process that holds ``folder`` until its stdin closes; returns it once it holds it."""
    proc = subprocess.Popen([sys.executable, "-c",
                             "import sys; from flowlib.core.runlock import acquire; "
                             f"acquire({str(folder)!r}); print('held', flush=True); sys.stdin.read()"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_train_on_a_running_run_is_refused_and_nothing_is_duplicated(tmp_path):
    """The issue's reproduction: `train ... --out X`, and while it trains `train --out X
    --resume` in another process. The second must exit with a message naming the first
    (host and pid) and write nothing; the first finishes alone, every step logged once."""
    out = tmp_path / "run"
    first = subprocess.Popen(_flowlib("train", "--preset", "smoke", "--steps", "400",
                                      "--quality-every", "0", "--eval-every", "100",
                                      "--checkpoint-every", "15", "--threads", "1",
                                      "--no-progress", "--out", str(out)),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        deadline = time.time() + 300
        while not (out / "checkpoint.pt").exists() and time.time() < deadline:
            assert first.poll() is None, first.communicate()[1][-2000:]
            time.sleep(0.05)
        second = subprocess.run(_flowlib("train", "--out", str(out), "--resume", "--no-progress"),
                                capture_output=True, text=True, timeout=300, env=ENV)
        first_still_ran = first.poll() is None
    finally:
        stdout, stderr = first.communicate(timeout=600)
    assert second.returncode == 2, (second.returncode, second.stdout, second.stderr[-2000:])
    assert first_still_ran, "the first run ended before the second was refused"
    message = second.stderr.strip().splitlines()[-1]
    assert message.startswith("error: ") and "Traceback" not in second.stderr
    assert f"pid {first.pid} on host {socket.gethostname()}" in message, message
    assert "--resume" in message and "another folder" in message, message
    assert "finished" not in second.stdout
    assert first.returncode == 0, stderr[-2000:]
    assert "finished 400 steps" in stdout
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in rows if "lr" in r]
    assert steps == sorted(set(steps)) and steps[-1] == 400      # every step logged once
    assert [r.get("event") for r in rows].count("start") == 1
    assert not any(r.get("event") == "resume" for r in rows)
    assert not (out / ".lock").exists()                         # released, and removed


def test_a_lock_left_by_a_dead_process_does_not_block(tmp_path):
    """A `.lock` naming a process of this host that no longer runs (a killed run) is taken
    over, and the taker says whose it was."""
    out = tmp_path / "run"
    out.mkdir()
    dead = _dead_pid()
    (out / ".lock").write_text(json.dumps({"host": socket.gethostname(), "pid": dead,
                                           "started": "2020-01-01T00:00:00Z"}))
    proc = subprocess.run(_flowlib("train", "--preset", "smoke", "--steps", "3", "--quality-every",
                                   "0", "--threads", "1", "--no-progress", "--out", str(out)),
                          capture_output=True, text=True, timeout=600, env=ENV)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"left locked by pid {dead} on host {socket.gethostname()}" in proc.stderr
    assert "taking the lock over" in proc.stderr
    assert (out / "model.pt").exists() and not (out / ".lock").exists()


def test_the_python_api_and_the_gan_control_refuse_a_held_folder(tmp_path, small_data):
    """`Trainer` (hence `train()`) and the GAN control take the same lock before writing."""
    from flowlib.core.runlock import RunLocked
    from flowlib import training as T
    from flowlib.training import gan_control as C
    out = tmp_path / "held"
    holder = _holder(out)
    try:
        tr, va = small_data
        cfg = T.TrainConfig(size="micro", batch_size=16, max_steps=2, warmup_steps=1, ema=None,
                            eval_every=2, val_images=32, quality_every=None, threads=1)
        with pytest.raises(RunLocked, match=f"pid {holder.pid} on host"):
            T.Trainer(cfg, out, T.make_loss("nll"), T.TrainData(tr, va), progress=False)
        with pytest.raises(RunLocked, match=f"pid {holder.pid} on host"):
            C.train_control(C.PRESETS["smoke"], out, preset="smoke")
        assert sorted(p.name for p in out.iterdir()) == [".lock"]  # nothing written
    finally:
        holder.communicate("")
    assert not out.exists()  # the holder made the folder for nothing, and removed it
    # free again: the same trainer now runs
    T.Trainer(cfg, out, T.make_loss("nll"), T.TrainData(tr, va), progress=False).run()
    assert (out / "model.pt").exists() and not (out / ".lock").exists()

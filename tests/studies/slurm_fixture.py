"""A single-node Slurm started for the tests (Debian's slurm-wlm 22.05 and munge), stopped by
the pids it wrote; ``make test`` installs the packages as it does Chromium."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

CONF = """ClusterName=flowlib
SlurmctldHost={host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
MpiDefault=none
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
NodeName={host} CPUs={cpus} RealMemory=8000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


def _pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def start_slurm(directory: Path):
    """Start munged (if none runs), slurmctld and slurmd; returns the environment to submit with
    and a function that stops what was started."""
    for tool in ("munged", "slurmctld", "slurmd", "sbatch"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is not installed: `make test` installs Debian's slurm-wlm and "
                        "munge (apt-get install slurm-wlm munge).")
    d = directory
    for sub in ("state", "spool"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    host = socket.gethostname()
    conf = d / "slurm.conf"
    conf.write_text(CONF.format(host=host, d=d, cpus=os.cpu_count() or 1))
    env = {**os.environ, "SLURM_CONF": str(conf)}
    started_munge = None
    if subprocess.run(["pgrep", "-x", "munged"], capture_output=True).returncode != 0:
        Path("/run/munge").mkdir(parents=True, exist_ok=True)
        shutil.chown("/run/munge", "munge", "munge")
        subprocess.run(["runuser", "-u", "munge", "--", "munged"], check=True)
        started_munge = _pid(Path("/run/munge/munged.pid"))
    subprocess.run(["slurmctld", "-f", str(conf)], check=True, env=env)
    subprocess.run(["slurmd", "-f", str(conf)], check=True, env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        state = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True,
                               env=env).stdout.strip()
        if state in ("idle", "mix", "alloc"):
            break
        time.sleep(1)
    else:
        log = (d / "slurmctld.log").read_text()[-2000:] if (d / "slurmctld.log").exists() else ""
        pytest.fail(f"the test Slurm did not come up (sinfo: {state!r}); slurmctld log:\n{log}")

    def stop():
        for name in ("slurmd.pid", "slurmctld.pid"):
            pid = _pid(d / name)
            if pid:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        if started_munge:
            try:
                os.kill(started_munge, signal.SIGTERM)
            except ProcessLookupError:
                pass
    return env, stop


def wait_for(env, job_id: str, timeout: float = 600) -> None:
    """Until no task of ``job_id`` is pending or running."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        out = subprocess.run(["squeue", "-h", "-j", job_id], capture_output=True, text=True, env=env)
        if not out.stdout.strip():
            return
        time.sleep(2)
    raise TimeoutError(f"Slurm job {job_id} still queued or running after {timeout} s")

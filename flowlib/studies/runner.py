"""Studies as sets of independent, resumable jobs: run here, in parallel, or on a cluster.

A *job* is one ``python -m flowlib ...`` command writing one run directory. A job is
finished when its directory holds ``manifest.json``; a study rerun after a kill skips
finished jobs and resumes unfinished ones from their checkpoints. Jobs run as separate
processes, so a run that diverges or crashes is recorded and the study goes on.

Scale-out uses existing tools rather than a scheduler of our own: ``--jobs N`` runs N
processes on this machine (``concurrent.futures``), and ``emit_slurm`` writes a Slurm
job-array script that runs the very same command per array index on a cluster. Either
way, results are merged from the per-run manifests (:func:`collect`).
"""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from flowlib.core.devices import resolve_device
from flowlib.core.errors import FlowlibError
from flowlib.core.manifest import read_manifest, write_manifest
from flowlib.core.paths import REPO_ROOT
from flowlib.training.metrics_file import headline

DIVERGED_EXIT = 3  # `python -m flowlib train` exits 3 when its NaN/Inf guard stops a run


class StudyError(FlowlibError, RuntimeError):
    """A study cannot run as asked (mixed-in results, bad job list...)."""


@dataclass(frozen=True)
class Job:
    name: str                 # unique within the study, also the run directory's name
    argv: tuple[str, ...]     # arguments after ``python -m flowlib``, without --out/--resume
    spec: dict = field(default_factory=dict, hash=False, compare=False)  # what the job is

    def command(self, out: Path, resume: bool) -> list[str]:
        return [sys.executable, "-m", "flowlib", *self.argv, "--out", str(out),
                *(["--resume"] if resume else [])]


@dataclass
class JobResult:
    name: str
    status: str       # "done", "skipped (finished)", "failed (exit N)"
    seconds: float
    out: Path


def job_state(out: Path, job: Job) -> str:
    """'finished', 'partial' (a checkpoint to resume) or 'new'. Refuses foreign results."""
    spec_file = out / "job.json"
    if spec_file.exists():
        recorded = json.loads(spec_file.read_text())
        if recorded.get("argv") != list(job.argv):
            raise StudyError(
                f"{out} holds a run of another configuration (it was made by `flowlib "
                f"{' '.join(recorded.get('argv', []))}`, this study asks for `flowlib "
                f"{' '.join(job.argv)}`). Nothing was overwritten: move that folder away or "
                "pass another --out for this study.")
    elif out.exists() and any(out.iterdir()):
        raise StudyError(f"{out} exists and is not a run of this study (no job.json). Nothing "
                         "was overwritten: move it away or choose another --out.")
    if (out / "manifest.json").exists():
        return "finished"
    if (out / "checkpoint.pt").exists():
        return "partial"
    return "new"


def _run_one(job: Job, root: Path, threads: int | None, device: str | None = None) -> JobResult:
    out = root / job.name
    state = job_state(out, job)
    if state == "finished":
        return JobResult(job.name, "skipped (finished)", 0.0, out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "job.json").write_text(json.dumps({"argv": list(job.argv), "spec": job.spec},
                                             indent=1))
    cmd = job.command(out, resume=(state == "partial"))
    env = dict(os.environ)
    if threads:
        cmd += ["--threads", str(threads)]
        env["OMP_NUM_THREADS"] = str(threads)
    if device:  # where it runs, not what it computes: not part of the job's identity
        cmd += ["--device", device]
    start = time.perf_counter()
    with open(out / "log.txt", "a") as log:
        log.write(f"$ {shlex.join(cmd)}\n")
        log.flush()
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT)
    seconds = time.perf_counter() - start
    if proc.returncode in (0, DIVERGED_EXIT):
        # a diverged run is a result too: record it, so a rerun does not repeat it
        outcome = "done" if proc.returncode == 0 else "diverged"
        write_manifest(out, config={"argv": list(job.argv), **job.spec},
                       seed=job.spec.get("seed"), wall_time_s=seconds, outcome=outcome,
                       device=resolve_device(device) if device else None, threads=threads,
                       **headline(out))
        return JobResult(job.name, outcome, seconds, out)
    return JobResult(job.name, f"failed (exit {proc.returncode})", seconds, out)


def run_jobs(jobs: list[Job], root: Path, n_parallel: int = 1,
             threads_total: int | None = None, device: str | None = None) -> list[JobResult]:
    """Run ``jobs`` under ``root``, ``n_parallel`` at a time; print one line per job.
    ``device`` (e.g. ``"cuda"``) is passed to every job as ``--device``; several jobs may
    share one GPU."""
    names = [j.name for j in jobs]
    if len(set(names)) != len(names):
        raise StudyError("two jobs of the study share a name: " + ", ".join(
            sorted({n for n in names if names.count(n) > 1})))
    for job in jobs:  # refuse mixed-in results before starting anything
        job_state(root / job.name, job)
    root.mkdir(parents=True, exist_ok=True)
    cores = threads_total or os.cpu_count() or 1
    threads = max(1, cores // max(1, n_parallel)) if n_parallel > 1 else None
    results = []
    with ThreadPoolExecutor(max_workers=max(1, n_parallel)) as pool:
        for r in pool.map(lambda j: _run_one(j, root, threads, device), jobs):
            print(f"[study] {r.name}: {r.status}" + (f" in {r.seconds:.0f} s" if r.seconds else ""),
                  flush=True)
            results.append(r)
    return results


def emit_slurm(jobs: list[Job], root: Path, script: Path, *, time_limit: str = "04:00:00",
               gpus: int = 1, cpus: int = 8, python: str = "python") -> Path:
    """Write a Slurm job-array script: array index i runs job i, resuming if it was cut off."""
    lines = []
    for job in jobs:
        out = root / job.name
        args = shlex.join([*job.argv, "--out", str(out)])
        lines.append(f"{job.name}\t{args}")
    jobs_file = script.with_suffix(".jobs.tsv")
    jobs_file.write_text("\n".join(lines) + "\n")
    script.write_text(f"""#!/bin/bash
#SBATCH --job-name=flowlib-{root.name}
#SBATCH --array=0-{len(jobs) - 1}
#SBATCH --time={time_limit}
#SBATCH --cpus-per-task={cpus}
#SBATCH --gres=gpu:{gpus}
#SBATCH --output={root}/slurm-%A_%a.out
# One array task per run of the study; the command is the same as `--jobs N` runs
# locally. Resubmitting the script resumes cut-off runs and skips finished ones.
set -euo pipefail
cd {shlex.quote(str(REPO_ROOT))}
line=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" {shlex.quote(str(jobs_file))})
name=${{line%%$'\\t'*}}
args=${{line#*$'\\t'}}
out={shlex.quote(str(root))}/$name
if [ -f "$out/manifest.json" ]; then echo "$name finished already"; exit 0; fi
resume=""
if [ -f "$out/checkpoint.pt" ]; then resume="--resume"; fi
eval {python} -m flowlib $args $resume
""")
    script.chmod(0o755)
    return script


def collect(root: Path) -> list[dict]:
    """The manifests of every finished run under ``root`` (merged results of a study)."""
    runs = []
    for manifest in sorted(Path(root).glob("*/manifest.json")):
        m = read_manifest(manifest.parent)
        m["name"] = manifest.parent.name
        job = manifest.parent / "job.json"
        if job.exists():
            m["job"] = json.loads(job.read_text())
        runs.append(m)
    return runs

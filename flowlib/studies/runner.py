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
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from flowlib.core.devices import resolve_device
from flowlib.core.errors import FlowlibError
from flowlib.core.manifest import git_commit, read_manifest, write_manifest
from flowlib.core.paths import REPO_ROOT
from flowlib.core.runlock import LOCK_FILE, RunLocked, acquire, describe, release
from flowlib.training.metrics_file import headline

DIVERGED_EXIT = 3  # `python -m flowlib train` exits 3 when its NaN/Inf guard stops a run
ELSEWHERE = "running elsewhere"  # the status of a job whose folder another process holds


class StudyError(FlowlibError, RuntimeError):
    """A study cannot run as asked (mixed-in results, bad job list...)."""


@dataclass(frozen=True)
class Job:
    name: str                 # unique within the study, also the run directory's name
    argv: tuple[str, ...]     # arguments after ``python -m flowlib``, without --out/--resume
    spec: dict = field(default_factory=dict, hash=False, compare=False)  # what the job is
    # a finished run of the very same command elsewhere (another study's folder): adopted
    # (copied) instead of trained again, when it exists (:func:`run_job`)
    same_run: Path | None = field(default=None, hash=False, compare=False)

    def command(self, out: Path, resume: bool) -> list[str]:
        return [sys.executable, "-m", "flowlib", *self.argv, "--out", str(out),
                *(["--resume"] if resume else [])]


def same_command(recorded, argv) -> bool:
    """Whether a run folder's recorded command and a job's are the same run: for ``train``,
    equal run specs (:class:`~flowlib.training.spec.RunSpec`; flag order and spelling, e.g.
    ``2e-3`` against ``0.002``, do not matter, and job files written before the spec read
    alike); for another command, the same arguments."""
    recorded, argv = list(recorded), list(argv)
    if recorded[:1] == argv[:1] == ["train"]:
        from flowlib.training.spec import RunSpec, SpecError
        try:
            return RunSpec.from_argv(recorded) == RunSpec.from_argv(argv)
        except SpecError:
            return False
    return recorded == argv


def _run_spec(job: Job) -> dict:
    """``{"run_spec": ...}``: a ``train`` job's typed run spec, every field, for a job file
    (empty for the other commands). ``argv`` stays the identity; this is what it resolved to."""
    if job.argv[:1] != ("train",):
        return {}
    from flowlib.training.spec import RunSpec
    return {"run_spec": RunSpec.from_argv(job.argv).as_dict()}


@dataclass
class JobResult:
    name: str
    status: str       # "done", "skipped (finished)", "failed (exit N)", "running elsewhere (...)"
    seconds: float
    out: Path


def job_state(out: Path, job: Job) -> str:
    """'finished', 'partial' (a checkpoint to resume) or 'new'. Refuses foreign results."""
    spec_file = out / "job.json"
    if spec_file.exists():
        recorded = json.loads(spec_file.read_text())
        if not same_command(recorded.get("argv", []), job.argv):
            raise StudyError(
                f"{out} holds a run of another configuration (it was made by `flowlib "
                f"{' '.join(recorded.get('argv', []))}`, this study asks for `flowlib "
                f"{' '.join(job.argv)}`). Nothing was overwritten: move that folder away or "
                "pass another --out for this study.")
    elif out.exists() and any(p.name != LOCK_FILE for p in out.iterdir()):
        raise StudyError(f"{out} exists and is not a run of this study (no job.json). Nothing "
                         "was overwritten: move it away or choose another --out.")
    if (out / "manifest.json").exists():
        return "finished"
    if (out / "checkpoint.pt").exists():
        return "partial"
    return "new"


def run_job(job: Job, out: Path, *, threads: int | None = None, device: str | None = None,
            final=None) -> JobResult:
    """Run one job into ``out``: the one code path of the local runner, of a Slurm array task
    (``python -m flowlib job``) and of a user by hand, so each writes the same files.

    A finished job is skipped; a partial one (a checkpoint) resumes; a new one starts. The
    training command runs as a child process with ``threads`` and ``device`` (where it runs,
    not what it computes: not part of the job's identity). Exit 0 or a divergence
    (:data:`DIVERGED_EXIT`) writes ``manifest.json`` (outcome, device, threads, headline
    numbers): a diverged run is a result, recorded so that a rerun does not repeat it. Then
    ``final(out)``, if given, makes the run's final evaluation.

    The run folder is held (:mod:`flowlib.core.runlock`) from before the first write to the
    end, the training child holding it with this process; a folder another process holds (a
    second runner of the study, a requeued cluster task whose first copy still runs) is left
    alone and reported as :data:`ELSEWHERE`, neither resumed nor counted as finished.
    """
    state = job_state(out, job)
    if state == "finished":
        return JobResult(job.name, "skipped (finished)", 0.0, out)
    try:
        lock = acquire(out)
    except RunLocked as err:
        return JobResult(job.name, f"{ELSEWHERE} ({describe(err.holder)})", 0.0, out)
    try:
        return _run_held(job, out, lock, threads=threads, device=device, final=final)
    finally:
        release(lock)


def _run_held(job: Job, out: Path, lock, *, threads, device, final) -> JobResult:
    state = job_state(out, job)  # again: the last holder may have finished it meanwhile
    if state == "finished":
        return JobResult(job.name, "skipped (finished)", 0.0, out)
    if state == "new" and adopt(job, out):
        return JobResult(job.name, "adopted (the same run)", 0.0, out)
    (out / "job.json").write_text(json.dumps({"argv": list(job.argv), "spec": job.spec,
                                              **_run_spec(job)}, indent=1))
    cmd = job.command(out, resume=(state == "partial"))
    source = git_commit()  # the code that runs is the tree of now, not of the job's end
    env = dict(os.environ)
    if threads:
        cmd += ["--threads", str(threads)]
        env["OMP_NUM_THREADS"] = str(threads)
    if device:
        cmd += ["--device", device]
    start = time.perf_counter()
    with open(out / "log.txt", "a") as log:
        # paths relative to the repository: a shipped log names no machine's folders
        log.write(f"$ {shlex.join(cmd)}\n".replace(str(REPO_ROOT) + "/", ""))
        log.flush()
        with lock.for_child(env) as (env, fds):  # the child writes the run under this lock
            proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                  cwd=REPO_ROOT, pass_fds=fds)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, DIVERGED_EXIT):
        return JobResult(job.name, f"failed (exit {proc.returncode})", seconds, out)
    outcome = "done" if proc.returncode == 0 else "diverged"
    write_manifest(out, config={"argv": list(job.argv), **job.spec, **_resolved(out)},
                   seed=job.spec.get("seed"), wall_time_s=seconds, outcome=outcome,
                   device=resolve_device(device) if device else None, threads=threads,
                   source=source, **headline(out))
    if final is not None and outcome == "done":
        final(out)
    return JobResult(job.name, outcome, seconds, out)


def adopt(job: Job, out: Path) -> bool:
    """Copy ``job.same_run`` into ``out`` when it is a finished run of exactly ``job``'s command
    (the same argv, hence the same run: a search's run at the rate it selected *is* the
    study's run at that rate); its log says where it came from. False when there is nothing
    to adopt; a folder there made by another command is refused, never copied."""
    src = Path(job.same_run) if job.same_run else None
    if src is None or not (src / "manifest.json").exists():
        return False
    recorded = json.loads((src / "job.json").read_text()).get("argv")
    if not same_command(recorded or [], job.argv):
        raise StudyError(f"{src} was named as the same run as {job.name}, but it was made by "
                         f"`flowlib {' '.join(recorded or [])}`, not `flowlib {' '.join(job.argv)}`. "
                         "Nothing was copied: the study and its search disagree; rerun the search.")
    shutil.copytree(src, out, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("checkpoint.pt", "snapshot-*.pt", LOCK_FILE))
    # the run is this study's now: its job file names this job (same command, this spec)
    (out / "job.json").write_text(json.dumps({"argv": list(job.argv), "spec": job.spec,
                                              **_run_spec(job), "adopted_from": src.name},
                                             indent=1))
    with open(out / "log.txt", "a") as log:
        where = str(src.resolve()).replace(str(REPO_ROOT) + "/", "")
        log.write(f"# adopted from {where}: the same command, run once\n")
    return True


def _resolved(out: Path) -> dict:
    """The settings the run actually used (``train``: every TrainConfig field, defaults and
    penalties included, as the trainer's start row records them), for the manifest."""
    from flowlib.training.metrics_file import read_metrics
    try:
        start = next((r for r in read_metrics(out) if r.get("event") == "start"), {})
    except (OSError, ValueError):
        return {}
    return {"train": start["train"]} if "train" in start else {}


def gpu_assignment(n_jobs: int, n_gpus: int) -> list[int | None]:
    """The GPU each of ``n_jobs`` parallel job slots uses: round-robin over ``n_gpus`` visible
    devices (slot i on GPU i mod n), None without GPUs."""
    return [i % n_gpus if n_gpus else None for i in range(n_jobs)]


def auto_parallel(n_jobs: int, device: str | None = None) -> int:
    """How many jobs ``--jobs auto`` runs at once: one per visible GPU with ``--device cuda``;
    on a CPU, one per core with one thread each, which ``benchmarks/study_throughput.py``
    measured at 1.34x the throughput of one job using both cores on this project's 2-core
    machine (``results/study-throughput/benchmark.json``): small models do not keep several
    threads busy. Never more than the study's jobs."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    n = max(1, _visible_gpus()) if (device or "").startswith("cuda") else cores
    return max(1, min(n, n_jobs))


def run_jobs(jobs: list[Job], root: Path, n_parallel: int = 1,
             threads_total: int | None = None, device: str | None = None,
             final=None) -> list[JobResult]:
    """Run ``jobs`` under ``root``, ``n_parallel`` at a time, each by :func:`run_job`; print one
    line per job. With ``device="cuda"`` and several visible GPUs, parallel slots are spread
    over them (:func:`gpu_assignment`: each job gets ``--device cuda:N``)."""
    names = [j.name for j in jobs]
    if len(set(names)) != len(names):
        raise StudyError("two jobs of the study share a name: " + ", ".join(
            sorted({n for n in names if names.count(n) > 1})))
    for job in jobs:  # refuse mixed-in results before starting anything
        job_state(root / job.name, job)
    root.mkdir(parents=True, exist_ok=True)
    cores = threads_total or os.cpu_count() or 1
    threads = max(1, cores // max(1, n_parallel)) if n_parallel > 1 else None
    n_gpus = _visible_gpus() if device == "cuda" else 0
    slots = gpu_assignment(max(1, n_parallel), n_gpus)
    free = list(range(len(slots)))
    lock = threading.Lock()

    def one(job):
        with lock:
            slot = free.pop(0)
        try:
            dev = f"cuda:{slots[slot]}" if slots[slot] is not None else device
            return run_job(job, root / job.name, threads=threads, device=dev, final=final)
        finally:
            with lock:
                free.append(slot)

    results = []
    with ThreadPoolExecutor(max_workers=max(1, n_parallel)) as pool:
        for r in pool.map(one, jobs):
            print(f"[study] {r.name}: {r.status}" + (f" in {r.seconds:.0f} s" if r.seconds else ""),
                  flush=True)
            results.append(r)
    return results


def _visible_gpus() -> int:
    import torch
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


@dataclass(frozen=True)
class SlurmOptions:
    """What a cluster user sets: ``sbatch`` options of every array task."""
    time: str = "04:00:00"
    cpus: int = 4
    mem: str = "8G"
    partition: str | None = None
    account: str | None = None
    python: str = sys.executable  # the interpreter that emitted the script (its environment)


def emit_slurm(study: str, preset: str, seeds, root: Path, n_jobs: int, *,
               device: str | None = None, options: SlurmOptions = SlurmOptions()) -> Path:
    """Write ``<root>.slurm/``: ``array.sh`` (task i runs ``python -m flowlib job`` for job i,
    the local runner's code path), ``collect.sh`` (``flowlib experiment --collect``, the final
    evaluations and the summary) and ``submit.sh``, which submits the array and then collect
    with ``--dependency=afterok``. The log folder is created now (Slurm refuses an ``--output``
    in a folder that does not exist). Tasks are ``--requeue``-able: a preempted or killed task
    resumes from its last checkpoint when it runs again; finished tasks are skipped; a
    diverged run is recorded and its task exits 0. GPUs are requested only for
    ``--device cuda``."""
    folder = root.with_name(root.name + ".slurm")
    logs = folder / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    seed_args = f"--seeds {' '.join(str(s) for s in seeds)} " if seeds is not None else ""
    common = f"{options.python} -m flowlib {{cmd}} {shlex.quote(study)} --preset {preset} {seed_args}"
    header = ["#!/bin/bash", f"#SBATCH --time={options.time}", f"#SBATCH --cpus-per-task={options.cpus}",
              f"#SBATCH --mem={options.mem}"]
    header += [f"#SBATCH --partition={options.partition}"] if options.partition else []
    header += [f"#SBATCH --account={options.account}"] if options.account else []
    gpu = ["#SBATCH --gres=gpu:1"] if device and str(device).startswith("cuda") else []
    dev = f" --device {device}" if device else ""
    (folder / "array.sh").write_text("\n".join(header + gpu + [
        f"#SBATCH --job-name=flowlib-{study}",
        f"#SBATCH --array=0-{n_jobs - 1}",
        "#SBATCH --requeue",
        f"#SBATCH --output={logs}/%A_%a.out",
        "# One array task per job of the study, by the local runner's code path: a finished job",
        "# is skipped, a cut-off one resumes, a diverged one is recorded (exit 0).",
        "set -euo pipefail",
        f"mkdir -p {shlex.quote(str(logs))}",
        f"cd {shlex.quote(str(REPO_ROOT))}",
        "exec " + common.format(cmd="job") + f"--root {shlex.quote(str(root))} "
        "--index \"$SLURM_ARRAY_TASK_ID\" --threads \"${SLURM_CPUS_PER_TASK:-1}\"" + dev, ""]))
    (folder / "collect.sh").write_text("\n".join(header[:1] + [
        f"#SBATCH --job-name=flowlib-{study}-collect", "#SBATCH --time=01:00:00",
        f"#SBATCH --cpus-per-task={options.cpus}", f"#SBATCH --mem={options.mem}"]
        + header[4:] + [f"#SBATCH --output={logs}/collect-%j.out", "set -euo pipefail",
                        f"cd {shlex.quote(str(REPO_ROOT))}",
                        "exec " + common.format(cmd="experiment") + f"--out {shlex.quote(str(root))} --collect", ""]))
    (folder / "submit.sh").write_text("\n".join([
        "#!/bin/bash", "# Submit the study's array, then its collection once every task succeeded.",
        "set -euo pipefail", f"cd {shlex.quote(str(folder))}",
        "jid=$(sbatch --parsable array.sh)",
        "sbatch --dependency=afterok:${jid%%;*} collect.sh",
        'echo "submitted array $jid and its collection"', ""]))
    for name in ("array.sh", "collect.sh", "submit.sh"):
        (folder / name).chmod(0o755)
    return folder


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

"""Benchmark (prints measured numbers; not a test): how a study of small models should use this
machine's cores: one job at a time with every core (1 x C threads) or one job per core
(C x 1 thread). Both arms run the same jobs through the real runner
(:func:`flowlib.studies.runner.run_jobs`): ``--n`` NLL runs of the quick preset's Real NVP,
``--steps`` steps each, different seeds.

    flock /tmp/flowlib-cpu.lock python benchmarks/study_throughput.py [--publish]

Needs a quiet machine (nothing else training): the two arms share it in turn, never together.
``--publish`` writes ``results/study-throughput/benchmark.json`` with its provenance; the
command line's ``--jobs auto`` is set from that file's winner.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flowlib.core.manifest import git_commit  # noqa: E402
from flowlib.core.paths import results_root  # noqa: E402
from flowlib.studies.runner import Job, run_jobs  # noqa: E402


def study(n: int, steps: int) -> list[Job]:
    return [Job(f"seed{s}", ("train", "--preset", "quick", "--seed", str(s), "--steps", str(steps),
                             "--eval-every", str(steps), "--no-progress"), {"seed": s})
            for s in range(n)]


def arm(jobs: list[Job], n_parallel: int, threads_total: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        results = run_jobs(jobs, Path(tmp), n_parallel=n_parallel, threads_total=threads_total)
        seconds = time.perf_counter() - start
    bad = [r.name for r in results if r.status != "done"]
    if bad:
        raise SystemExit(f"jobs failed in the {n_parallel}-parallel arm: {bad}")
    return seconds


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=4, help="jobs in the study")
    p.add_argument("--steps", type=int, default=150, help="training steps per job")
    p.add_argument("--publish", action="store_true")
    args = p.parse_args(argv)
    cores = os.cpu_count() or 1
    jobs = study(args.n, args.steps)
    # The serial arm runs with every core (the runner leaves torch's own thread count, the
    # cores); the parallel arm with one thread per job.
    serial = arm(jobs, 1, cores)
    parallel = arm(jobs, cores, cores)
    ratio = serial / parallel
    images = args.n * args.steps * 64
    print(f"1 x {cores} threads: {serial:.0f} s ({images / serial:.0f} img/s over the study)")
    print(f"{cores} x 1 thread : {parallel:.0f} s ({images / parallel:.0f} img/s over the study)")
    print(f"{cores} x 1 is {ratio:.2f}x the throughput of 1 x {cores}")
    if args.publish:
        out = results_root("study-throughput")
        out.mkdir(parents=True, exist_ok=True)
        (out / "benchmark.json").write_text(json.dumps({
            "jobs": args.n, "steps": args.steps, "batch": 64, "cores": cores,
            "serial_seconds": round(serial, 1), "parallel_seconds": round(parallel, 1),
            "parallel_over_serial_throughput": round(ratio, 3),
            "winner": "one job per core" if ratio > 1 else "one job with every core",
            "source_commit": git_commit()["commit"][:7], "torch": torch.__version__,
            "machine": f"{platform.machine()}, {cores} cores, nothing else running",
            "date": time.strftime("%Y-%m-%d"),
            "command": "python benchmarks/study_throughput.py --publish"}, indent=1) + "\n")
        print(f"wrote {out / 'benchmark.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

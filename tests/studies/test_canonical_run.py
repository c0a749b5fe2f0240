"""The canonical Real NVP run is found by the registry (one way to find results), and a run
trained now when it is absent comes back with the same published files."""
from __future__ import annotations

import json

from flowlib.core.paths import results_root
from flowlib.studies.registry import CANONICAL_RUN, canonical_run


def test_the_shipped_canonical_run_is_what_the_registry_finds():
    folder, canonical = canonical_run("quick")
    assert canonical and folder == results_root(CANONICAL_RUN)
    assert (folder / "manifest.json").exists() and (folder / "model.pt").exists()


def test_without_it_a_run_is_trained_now_and_published(tmp_path, monkeypatch):
    (tmp_path / "classifier").symlink_to(results_root("classifier"))   # training's checks use it
    monkeypatch.setenv("FLOWLIB_RESULTS", str(tmp_path))   # a results root with no canonical run
    folder, canonical = canonical_run("quick")   # absent: a smoke run now, never 15 minutes unasked
    assert not canonical and folder.name == "published"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["config"]["preset"] == "smoke" and manifest["seed"] == 0
    assert manifest["results"]["test_bpd"] > 0 and (folder / "model.pt").exists()

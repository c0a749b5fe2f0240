"""One results root (issue 37): every reader and writer asks :func:`results_root` at use time,
so ``FLOWLIB_RESULTS`` moves them all at once, and nothing in the package binds the folder
at import."""
import ast
from pathlib import Path

import pytest

from flowlib.core.errors import FlowlibError
from flowlib.core.paths import REPO_ROOT, results_root

PACKAGE = REPO_ROOT / "flowlib"


def test_the_default_root_is_the_clones_results_folder(monkeypatch):
    monkeypatch.delenv("FLOWLIB_RESULTS", raising=False)
    assert results_root() == REPO_ROOT / "results"
    assert results_root("teacher", "manifest.json") == REPO_ROOT / "results" / "teacher" / "manifest.json"


def test_the_environment_moves_every_reader_at_use_time(tmp_path, monkeypatch):
    """Set after import: the registry, the teacher, the classifier and the shipped-results
    reader all follow."""
    from flowlib.data.synthetic import teacher_dir
    from flowlib.metrics.classifier import classifier_dir
    from flowlib.studies import registry
    from flowlib.studies.results import shipped_results
    monkeypatch.setenv("FLOWLIB_RESULTS", str(tmp_path))
    assert registry.get("nash").folder("quick") == tmp_path / "nash-quick"
    assert shipped_results("misspecification-lr", "smoke") == tmp_path / "misspecification-lr-quick"
    assert teacher_dir() == tmp_path / "teacher"
    assert classifier_dir() == tmp_path / "classifier"
    assert registry.get("nash").shipped("quick") is None      # an empty root ships nothing
    # a study's shipped folder: at smoke, quick's (the smoke-to-quick rule lives in one place)
    run = tmp_path / "misspecification-lr-quick" / "tiny-lr0.004-seed0"
    run.mkdir(parents=True)
    assert registry.get("misspecification-lr").shipped("smoke") is None   # no run finished
    (run / "manifest.json").write_text("{}")
    assert registry.get("misspecification-lr").shipped("smoke") == run.parent
    assert registry.get("misspecification-lr").shipped("quick") == run.parent
    assert registry.get("misspecification-lr").shipped("full") is None


def test_a_root_that_is_not_a_folder_is_refused_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLIB_RESULTS", str(tmp_path / "typo"))
    with pytest.raises(FlowlibError, match="FLOWLIB_RESULTS=.*typo.*is not a folder.*unset it"):
        results_root()


def _module_level_results(tree: ast.Module) -> list[int]:
    """Lines where a module binds a results folder at import: a top-level assignment whose
    value calls ``results_root``/``teacher_dir``/``classifier_dir`` or names ``RESULTS``."""
    bad = []
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            for sub in ast.walk(node.value):
                if (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name)
                        and sub.func.id in {"results_root", "teacher_dir", "classifier_dir"}) \
                        or (isinstance(sub, ast.Name) and sub.id == "RESULTS"):
                    bad.append(node.lineno)
    return bad


def test_no_module_binds_the_results_folder_at_import():
    found = {str(p.relative_to(REPO_ROOT)): lines for p in sorted(PACKAGE.rglob("*.py"))
             if (lines := _module_level_results(ast.parse(p.read_text())))}
    assert not found, f"bound at import (use results_root() inside the function): {found}"


def test_the_import_binding_check_catches_a_planted_constant():
    planted = ast.parse('from flowlib.core.paths import results_root\nROOT = results_root("x")\n'
                        'def f():\n    return results_root("y")\n')
    assert _module_level_results(planted) == [2]
    assert _module_level_results(ast.parse("RESULTS_DIR = RESULTS / 'x'\n")) == [1]

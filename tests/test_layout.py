"""The package's architecture, checked: layers that import downward only, no cycle, no code or
machine paths among the shipped results, and the top-level names that the docs promise."""
import ast
import json
import re
from pathlib import Path

import pytest

import flowlib
from flowlib.core.paths import REPO_ROOT, results_root

PACKAGE = Path(flowlib.__file__).parent
# lowest first: a module may import its own layer and those below it, never one above
LAYERS = ("core", "models", "data", "metrics", "training", "studies", "book")


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        yield ".".join(("flowlib", *rel.parts)).removesuffix(".__init__"), path


def _is_module(name: str) -> bool:
    """Whether ``flowlib.a.b`` names a module or a package (not a function or class in one)."""
    where = PACKAGE.joinpath(*name.split(".")[1:])
    return where.with_suffix(".py").exists() or (where / "__init__.py").exists()


def _flowlib_imports(path: Path, top_level_only: bool, package: tuple | None = None):
    """The flowlib modules ``path`` imports, in every spelling: ``import flowlib.a``,
    ``from flowlib.a import b`` (``flowlib.a.b`` when ``b`` is a module or package),
    ``from flowlib import a`` (a package imported by name) and relative imports."""
    tree = ast.parse(path.read_text())
    package = package or ("flowlib", *path.relative_to(PACKAGE).parent.parts)
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            parts = (package[:len(package) - node.level + 1] if node.level else ())
            module = ".".join((*parts, *([node.module] if node.module else [])))
            if module != "flowlib" and not module.startswith("flowlib."):
                continue
            for alias in node.names:
                full = f"{module}.{alias.name}"
                yield full if _is_module(full) else module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names
                        if a.name == "flowlib" or a.name.startswith("flowlib."))


def _layer(module: str):
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def test_every_import_points_down_the_layers():
    upward = []
    for name, path in _modules():
        mine = _layer(name)
        if mine is None:  # flowlib/__init__, cli, __main__: the top, above every layer
            continue
        for imp in _flowlib_imports(path, top_level_only=False):
            theirs = _layer(imp)
            if theirs is not None and theirs > mine:
                upward.append(f"{name} ({LAYERS[mine]}) imports {imp} ({LAYERS[theirs]})")
    assert not upward, "\n".join(upward)


def test_the_module_import_graph_has_no_cycle():
    graph = {name: set(_flowlib_imports(path, top_level_only=False)) for name, path in _modules()}
    state = {}

    def visit(node, stack):
        if state.get(node) == "done":
            return
        assert state.get(node) != "open", " -> ".join(stack + [node])
        state[node] = "open"
        for nxt in graph.get(node, ()):
            if nxt != node and nxt in graph:
                visit(nxt, stack + [node])
        state[node] = "done"

    for node in graph:
        visit(node, [])


def test_top_level_names_are_what_the_docstrings_say():
    import flowlib.metrics.fid  # noqa: F401  (the submodule loaded first, as in a chapter)
    from flowlib import fid, load_mnist, RealNVP
    assert callable(fid) and fid is flowlib.metrics.fid.fid
    assert load_mnist.__module__ == "flowlib.data.mnist" and RealNVP.__module__ == "flowlib.models.realnvp"


def test_every_error_flowlib_raises_on_purpose_has_one_base():
    from flowlib.core.errors import FlowlibError
    errors = []
    for name, path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.name.endswith(("Error", "Diverged", "Missing")):
                module = __import__(name, fromlist=[node.name])
                if not issubclass(getattr(module, node.name), FlowlibError):
                    errors.append(f"{name}.{node.name}")
    assert not errors, errors


def test_results_hold_no_code_and_no_machine_paths():
    code = [p for p in results_root().rglob("*") if p.suffix in (".py", ".sh", ".ipynb")]
    assert not code, code
    machine = []
    for p in results_root().rglob("*.json"):
        def walk(v):
            if isinstance(v, str) and v.startswith("/") and len(Path(v).parts) > 2:
                machine.append(f"{p.relative_to(REPO_ROOT)}: {v}")
            elif isinstance(v, dict):
                for x in v.values():
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
        walk(json.loads(p.read_text()))
    assert not machine, machine
    # nor in the text beside them (logs, notes, commands)
    texts = [p for p in results_root().rglob("*") if p.suffix in (".txt", ".json", ".jsonl", ".md")]
    found = [str(p.relative_to(REPO_ROOT)) for p in texts if MACHINE_PATH.search(p.read_text())]
    assert not found, found


# a folder of some machine: a home (/home/<user>, /root, /Users/<user>), a scratch or work
# area, a temporary folder, an installation (/opt), a mount; at the start of a word only
MACHINE_PATH = re.compile(r"(^|[^A-Za-z0-9_.])/(work|home|root|Users|mnt|scratch|tmp|opt|"
                          r"private|var/folders|media|srv|data)(/|\b)")


@pytest.mark.parametrize("text", [
    "$ /opt/torch/.venv/bin/python3 -m flowlib train --out /tmp/session/run",
    "run in /tmp/flowlib-gpu-session/exp1-quick/nsgan-seed2", '"cwd": "/home/ada/flowlib"',
    "cd /root && make", "log at /root", "/Users/ada/runs/x", "see /work/main/results",
    "/mnt/c/data", "(/scratch/x)", "/private/var/folders/ab/T/x",
])
def test_the_machine_path_pattern_catches_homes_tmp_and_opt(text):
    assert MACHINE_PATH.search(text), text


@pytest.mark.parametrize("text", [
    "results/nll-vs-gan-quick/nll-seed0", "python -m flowlib train --out runs/tmp/x",
    "$WORK/exp1-quick/nll-seed1", "bits/dim", "img/s", "~/.cache/flowlib", "0.5/optimal",
])
def test_the_machine_path_pattern_leaves_relative_paths_and_units_alone(text):
    assert not MACHINE_PATH.search(text), text


def test_the_import_reader_sees_every_spelling_of_an_import(tmp_path):
    """A planted ``from flowlib import studies`` in a core module once passed the layer test."""
    plant = tmp_path / "probe.py"  # read as if it were flowlib/core/probe.py
    plant.write_text("from flowlib import studies\nfrom flowlib.studies import runner\n"
                     "import flowlib.book\nfrom flowlib.training.config import TrainConfig\n"
                     "from ..models import realnvp\nfrom . import paths\n"
                     "def f():\n    from flowlib import book as b\n")
    seen = set(_flowlib_imports(plant, top_level_only=False, package=("flowlib", "core")))
    assert seen == {"flowlib.studies", "flowlib.studies.runner", "flowlib.book",
                    "flowlib.training.config", "flowlib.models.realnvp", "flowlib.core.paths"}, seen


def _tracked_weights() -> list[str]:
    import subprocess
    out = subprocess.run(["git", "ls-files", "results"], cwd=REPO_ROOT, capture_output=True,
                         text=True, check=True).stdout.split()
    return [f.removeprefix("results/") for f in out if f.endswith(".pt")]


def test_weights_ship_only_where_a_chapter_or_a_test_loads_them():
    """The weight policy (flowlib.studies.results.SHIPPED_WEIGHTS): superseded runs keep their
    metrics and manifests, not their weights; every other model file names its reader."""
    from flowlib.studies.results import unexplained_weights
    files = _tracked_weights()
    assert files, "no weight files found in git: is this a clone?"
    assert not unexplained_weights(files), unexplained_weights(files)


def test_the_weight_policy_refuses_superseded_and_unnamed_weights():
    from flowlib.studies.results import unexplained_weights
    ok = ["teacher/model.pt", "nll-vs-gan-quick/nsgan-seed0/model.pt",
          "in-progress/misspecification-long-quick/slim-long-seed0/checkpoint.pt"]
    assert unexplained_weights(ok) == []
    bad = ["superseded/nll-vs-gan-quick/nll-seed0/model.pt",    # superseded: metrics only
           "nll-vs-gan-quick/nsgan-seed1/model.pt",             # seed 1: no reader loads it
           "nash-quick/a/b/model.pt",                           # a pattern's * is one folder
           "misspecification-quick/tiny-n300-seed0/checkpoint.pt"]
    assert unexplained_weights(bad) == bad

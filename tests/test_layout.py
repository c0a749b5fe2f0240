"""The package's architecture, checked: layers that import downward only, no cycle, no code or
machine paths among the shipped results, and the top-level names that the docs promise."""
import ast
import json
import re
from pathlib import Path

import flowlib
from flowlib.core.paths import REPO_ROOT, RESULTS

PACKAGE = Path(flowlib.__file__).parent
# lowest first: a module may import its own layer and those below it, never one above
LAYERS = ("core", "models", "data", "metrics", "training", "studies", "book")


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        yield ".".join(("flowlib", *rel.parts)).removesuffix(".__init__"), path


def _flowlib_imports(path: Path, top_level_only: bool):
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("flowlib"):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                yield full if (PACKAGE / Path(*full.split(".")[1:])).with_suffix(".py").exists() \
                    else node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("flowlib"))


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
    code = [p for p in RESULTS.rglob("*") if p.suffix in (".py", ".sh", ".ipynb")]
    assert not code, code
    machine = []
    for p in RESULTS.rglob("*.json"):
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
    pattern = re.compile(r"(^|[^A-Za-z0-9_.])/(work|home|root|Users|mnt|scratch)/")
    texts = [p for p in RESULTS.rglob("*") if p.suffix in (".txt", ".json", ".jsonl", ".md")]
    found = [str(p.relative_to(REPO_ROOT)) for p in texts if pattern.search(p.read_text())]
    assert not found, found

"""The book pipeline: Jupytext chapters -> papermill -> Jupyter Book -> ``_build/html``.

Each chapter is a percent-format ``book/NAME.py``. It is converted to a notebook by
jupytext, executed by papermill with ``preset`` (and any chapter parameters)
injected, and the executed ``book/NAME.ipynb`` is what Jupyter Book renders
(``execute_notebooks: "off"``): one execution, the one that ships.

Incremental: a chapter is executed again only when its source, the flowlib package,
``results/``, the preset or its parameters changed (a stamp in ``_build/stamps``).
A failing chapter is reported by name and cell; its previous output and every
other chapter's output are kept, and the failed notebook is saved under
``_build/failed`` for inspection.

    python -m flowlib book build   [--preset quick] [--force] [-p KEY VALUE ...]
    python -m flowlib book chapter NAME [--preset quick] [-p KEY VALUE ...]
    python -m flowlib book list
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

from flowlib.core.errors import FlowlibError
from flowlib.core.paths import REPO_ROOT
from flowlib.core.presets import check_preset

VENDOR_FILES = ("vendor/require.js", "vendor/embed-amd.js")
# Cells may legitimately run for a while at quick/full (they train when asked to), and at any
# preset when a reader asks a chapter to retrain (-p rerun True): no limit then (cell_timeout).
CELL_TIMEOUT_S = {"smoke": 900, "quick": None, "full": None}


def cell_timeout(preset: str, params: dict) -> int | None:
    """Seconds a cell may run: the preset's limit (a smoke build must not hang), none when the
    chapter is asked to retrain (a smoke rerun of three studies takes longer than a build's
    cell on a busy machine)."""
    return None if params.get("rerun") in (True, "True", "true", 1) else CELL_TIMEOUT_S[preset]


class BookError(FlowlibError, RuntimeError):
    """The book cannot be built as asked."""


@dataclass
class ChapterResult:
    name: str
    status: str  # "executed", "up to date", "failed"
    seconds: float = 0.0
    message: str = ""


@dataclass(frozen=True)
class Book:
    """A book tree: ``_config.yml``, ``_toc.yml``, ``book/NAME.py``; built under ``_build``.

    The repository is the default; tests build a copy in a temporary folder.
    """
    root: Path = REPO_ROOT

    @property
    def book_dir(self) -> Path:
        return self.root / "book"

    @property
    def build_dir(self) -> Path:
        return self.root / "_build"

    def chapters(self) -> list[str]:
        """Chapter names in table-of-contents order (``book/NAME.py`` listed in ``_toc.yml``)."""

        toc = yaml.safe_load((self.root / "_toc.yml").read_text())
        files = [toc["root"]]

        def _walk(entries):
            for entry in entries or []:
                if "file" in entry:
                    files.append(entry["file"])
                _walk(entry.get("sections"))

        _walk(toc.get("chapters"))
        for part in toc.get("parts", []) or []:
            _walk(part.get("chapters"))
        return [Path(f).stem for f in files
                if (self.root / f).parent == self.book_dir
                and (self.root / f).with_suffix(".py").exists()]

    def source(self, name: str) -> Path:
        known = self.chapters()
        if name not in known:
            raise BookError(f"No chapter named {name!r}. The chapters are: {', '.join(known)}. "
                            "Use one of these names, e.g. `make chapter NAME=data`.")
        return self.book_dir / f"{name}.py"

    # ------------------------------------------------------------ stamps
    def input_digest(self, name: str, preset: str, params: dict) -> str:
        """What a chapter's output depends on: its source, flowlib, results/, preset, parameters."""
        h = hashlib.sha256()
        h.update((self.book_dir / f"{name}.py").read_bytes())
        _hash_tree(h, REPO_ROOT / "flowlib", ("*.py",))
        _hash_tree(h, REPO_ROOT / "results", ("*",))
        h.update(json.dumps({"preset": preset, "params": params}, sort_keys=True).encode())
        return h.hexdigest()

    def _stamp(self, name: str) -> Path:
        return self.build_dir / "stamps" / f"{name}.json"

    def is_up_to_date(self, name: str, digest: str) -> bool:
        stamp = self._stamp(name)
        if not (self.book_dir / f"{name}.ipynb").exists() or not stamp.exists():
            return False
        try:
            return json.loads(stamp.read_text()).get("digest") == digest
        except json.JSONDecodeError:
            return False

    # ------------------------------------------------------------ execution
    def execute_chapter(self, name: str, preset: str, params: dict | None = None, *,
                        force: bool = False) -> ChapterResult:
        """Execute one chapter into ``book/NAME.ipynb``; never leaves a half-written notebook."""
        import jupytext
        import papermill
        from papermill.exceptions import PapermillExecutionError

        check_preset(preset)
        params = dict(params or {})
        source = self.source(name)
        digest = self.input_digest(name, preset, params)
        if not force and self.is_up_to_date(name, digest):
            return ChapterResult(name, "up to date")
        nb = jupytext.read(source)
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nb.metadata["jupytext"] = {"formats": "py:percent"}
        # Every page's inline figures carry their smallest text for the legibility check
        # (_prepare_page): a hidden cell, after `%matplotlib inline`, imports the book layer.
        inline = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                       and c.source.strip() == "%matplotlib inline"), None)
        if inline is not None:
            nb.cells.insert(inline + 1, nbformat.v4.new_code_cell(
                "import flowlib.book  # figures carry their smallest text (legibility check)",
                metadata={"tags": ["remove-cell"]}))
        start = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix=f"flowlib-{name}-") as tmp:
            src_nb, out_nb = Path(tmp) / f"{name}.src.ipynb", Path(tmp) / f"{name}.ipynb"
            jupytext.write(nb, src_nb)
            env_backup = os.environ.pop("MPLBACKEND", None)  # Agg would swallow inline figures
            try:
                papermill.execute_notebook(
                    str(src_nb), str(out_nb), parameters={"preset": preset, **params},
                    kernel_name="python3", cwd=str(self.book_dir), progress_bar=False,
                    execution_timeout=cell_timeout(preset, params), report_mode=False,
                    config=kernel_config(Path(tmp)))
            except PapermillExecutionError as err:
                failed = self.build_dir / "failed" / f"{name}.ipynb"
                failed.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(out_nb, failed)
                msg = (f"chapter {name!r} (book/{name}.py) failed in cell {err.cell_index} "
                       f"(execution count {err.exec_count}): {err.ename}: {err.evalue}\n"
                       f"--- cell source ---\n{err.source}\n--- the executed notebook with the "
                       f"traceback is {failed}; the previous output of this chapter, if any, "
                       "was kept.")
                return ChapterResult(name, "failed", time.perf_counter() - start, msg)
            except Exception as err:  # kernel died, timeout, ...
                return ChapterResult(name, "failed", time.perf_counter() - start,
                                     f"chapter {name!r} (book/{name}.py) could not be executed: "
                                     f"{type(err).__name__}: {err}")
            finally:
                if env_backup is not None:
                    os.environ["MPLBACKEND"] = env_backup
            illegible = _prepare_page(out_nb, name)
            if illegible:
                failed = self.build_dir / "failed" / f"{name}.ipynb"
                failed.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(out_nb, failed)
                return ChapterResult(name, "failed", time.perf_counter() - start,
                                     f"chapter {name!r} (book/{name}.py) has figures a reader "
                                     "cannot read:\n" + "\n".join(illegible) + "\nThe previous "
                                     "output of this chapter, if any, was kept.")
            shutil.copyfile(out_nb, self.book_dir / f"{name}.ipynb")
        seconds = time.perf_counter() - start
        self._stamp(name).parent.mkdir(parents=True, exist_ok=True)
        self._stamp(name).write_text(json.dumps(
            {"digest": digest, "preset": preset, "params": params, "seconds": round(seconds, 1)}))
        return ChapterResult(name, "executed", seconds)

    def execute_all(self, preset: str, params: dict | None = None, *, force: bool = False,
                    names: list[str] | None = None) -> list[ChapterResult]:
        results = []
        for name in names or self.chapters():
            print(f"[book] {name}: ", end="", flush=True)
            r = self.execute_chapter(name, preset, params, force=force)
            print(f"{r.status}" + (f" in {r.seconds:.0f} s" if r.seconds else ""), flush=True)
            if r.message:
                print(r.message, file=sys.stderr, flush=True)
            results.append(r)
        return results

    # ------------------------------------------------------------ html
    def check_vendor(self) -> None:
        missing = [f for f in VENDOR_FILES if not (self.book_dir / "_static" / f).exists()]
        if missing:
            raise BookError(
                f"The bundled JavaScript is missing ({', '.join(missing)} under book/_static/). "
                "Run `make vendor` (it fetches the widget manager, RequireJS and MathJax with "
                "`npm pack`), or `make book`, which does it for you.")

    def build_html(self, *, strict: bool = True) -> Path:
        """Run Jupyter Book on the executed notebooks; return ``_build/html/index.html``."""
        self.check_vendor()
        missing = [n for n in self.chapters() if not (self.book_dir / f"{n}.ipynb").exists()]
        if missing:
            raise BookError(f"Chapters not executed yet: {', '.join(missing)}. Run `make book`.")
        jb = Path(sys.executable).parent / "jupyter-book"
        cmd = [str(jb) if jb.exists() else "jupyter-book", "build", str(self.root),
               "--builder", "html"]
        if strict:
            cmd += ["-W", "--keep-going"]
        proc = subprocess.run(cmd, cwd=self.root)
        if proc.returncode != 0:
            raise BookError(f"jupyter-book build failed (exit {proc.returncode}); warnings are "
                            "errors, see the messages above.")
        index = self.build_dir / "html" / "index.html"
        if not index.exists():
            raise BookError(f"jupyter-book finished but {index} is missing.")
        return index


def kernel_config(folder: Path):
    """How papermill's kernel talks to it: over Unix sockets in ``folder``, not over TCP.

    Why: ipykernel logs "Kernel is running over TCP without encryption" each time a kernel
    starts on TCP without CurveZMQ keys, one line per chapter (14 in a book's build log), and
    that warning names the remedy, IPC transport. The kernel is a child process of this build
    on the same machine, so local sockets are all it needs; they live in the chapter's own
    temporary folder (not the kernel's working directory, ``book/``) and go with it.
    """
    from traitlets.config import Config
    config = Config()
    config.KernelManager.transport = "ipc"
    config.KernelManager.ip = str(folder / "kernel")  # the socket files: kernel-<port>
    config.NotebookClient.kernel_manager_class = "flowlib.book.kernel_manager.QuietShutdownKernelManager"
    return config


PLUMBING_TAGS = {"parameters", "injected-parameters"}


# Pages that are not chapters to rerun: the preface explains rerunning at length, the
# references page computes nothing.
NO_RUN_BOX = {"preface", "references"}


def repository_url() -> str | None:
    """The repository a reader clones: ``$FLOWLIB_REPOSITORY_URL``, else the checkout's
    ``origin`` remote when it is a web address; None when neither names one."""
    url = os.environ.get("FLOWLIB_REPOSITORY_URL")
    if not url:
        proc = subprocess.run(["git", "config", "--get", "remote.origin.url"], cwd=REPO_ROOT,
                              capture_output=True, text=True)
        url = proc.stdout.strip() if proc.returncode == 0 else ""
    return url if url.startswith(("https://", "http://")) else None


def run_box(name: str) -> str:
    """The "run it yourself" box of a chapter page (MyST)."""
    url = repository_url()
    clone = (f"a clone of [the repository]({url}) (`git clone {url}`)" if url
             else "a clone of the book's repository (its README lists both commands)")
    return (":::{admonition} Run this chapter yourself\n:class: tip\n"
            f"From {clone}: `make chapter NAME={name}` re-executes this page and rebuilds the "
            f"website (`PRESET=smoke` for a one-minute pass, `PRESET=full` for the thesis-scale "
            "settings on a GPU); `make book` builds the whole book. The notebook offered by the "
            "download button at the top of this page runs in any Jupyter where `flowlib` is "
            "installed (`pip install -e .` in the clone, or the wheel `make wheel` builds): it "
            "reads the shipped runs from the clone's `results/`, or from the folder named by the "
            "environment variable `FLOWLIB_RESULTS`; where it finds neither, it says so and runs "
            "the chapter live at the smoke preset.\n:::")


def _prepare_page(path: Path, name: str) -> list[str]:
    """Make an executed chapter into its page; return legibility problems (empty when none).

    - Tag with ``remove-cell`` the cells a reader needs not see: the parameters cell, the one
      papermill injects, and ``%matplotlib inline`` (the notebook keeps them; the page does not).
    - Put the "run it yourself" box under the chapter's title, or under its "What this chapter
      finds" box where it has one: the lesson comes first.
    - Check every inline figure's smallest text against the column
      (:func:`flowlib.book.legibility.check_notebook`).
    """
    from flowlib.book.legibility import check_notebook
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        plumbing = (PLUMBING_TAGS & set(tags)) or cell.source.strip() in ("%matplotlib inline",)
        if cell.cell_type == "code" and plumbing and "remove-cell" not in tags:
            tags.append("remove-cell")
    if name not in NO_RUN_BOX:
        title = next((i for i, c in enumerate(nb.cells)
                      if c.cell_type == "markdown" and c.source.lstrip().startswith("# ")), None)
        if title is not None:
            # the lesson first: under the chapter's "What this chapter finds" box if it has one
            finds = next((i for i, c in enumerate(nb.cells) if i > title and _shows_findings(c)),
                         None)
            at = (finds if finds is not None else title) + 1
            nb.cells.insert(at, nbformat.v4.new_markdown_cell(
                run_box(name), metadata={"tags": ["flowlib-run-box"]}))
    nbformat.write(nb, path)
    return check_notebook(nb, name)


def _shows_findings(cell) -> bool:
    """Whether a code cell displays the chapter's "What this chapter finds" box
    (:func:`flowlib.book.lesson.findings_box`)."""
    return cell.cell_type == "code" and any(
        "flowlib-finds" in "".join(o.get("data", {}).get("text/markdown", ""))
        for o in cell.get("outputs", []))


def _hash_tree(h, root: Path, patterns: tuple[str, ...]) -> None:
    if not root.exists():
        return
    for path in sorted({p for pat in patterns for p in root.rglob(pat)}):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())


def chapters() -> list[str]:
    return Book().chapters()


# ---------------------------------------------------------------- command line
def _params(pairs) -> dict:

    params = {}
    for key, value in pairs or []:
        try:
            params[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[key] = value  # a bare word is a string
    return params


def _report(results: list[ChapterResult]) -> int:
    failed = [r for r in results if r.status == "failed"]
    if failed:
        print(f"\n[book] {len(failed)} chapter(s) failed: {', '.join(r.name for r in failed)}. "
              "The other chapters' outputs were kept; fix the cell named above and rerun "
              "`make book` (only what changed is executed again).", file=sys.stderr)
        return 1
    return 0


def _cmd_build(args) -> int:
    book = Book()
    check_preset(args.preset)
    book.check_vendor()
    t0 = time.perf_counter()
    rc = _report(book.execute_all(args.preset, _params(args.param), force=args.force))
    if rc:
        return rc
    index = book.build_html()
    print(f"[book] built {index} in {time.perf_counter() - t0:.0f} s")
    return 0


def _cmd_chapter(args) -> int:
    if not args.name:
        raise BookError("Which chapter? Give its name, e.g. `make chapter NAME=data`; the "
                        f"chapters are: {', '.join(chapters())}.")
    book = Book()
    check_preset(args.preset)
    book.source(args.name)
    rc = _report(book.execute_all(args.preset, _params(args.param), force=True,
                                  names=[args.name]))
    if rc or args.no_html:
        return rc
    print(f"[book] built {book.build_html()}")
    return 0


def _cmd_list(args) -> int:
    for name in chapters():
        print(name)
    return 0


def add_cli(sub) -> None:
    p = sub.add_parser("book", help="execute the chapters and build the HTML book")
    bsub = p.add_subparsers(dest="book_command", metavar="ACTION", required=True)
    for action, func, helptext in (("build", _cmd_build, "execute what changed, build HTML"),
                                   ("chapter", _cmd_chapter, "re-execute one chapter"),
                                   ("list", _cmd_list, "list chapter names")):
        q = bsub.add_parser(action, help=helptext)
        q.set_defaults(func=func)
        if action == "list":
            continue
        if action == "chapter":
            q.add_argument("name", nargs="?", default="")
            q.add_argument("--no-html", action="store_true", help="execute only")
        else:
            q.add_argument("--force", action="store_true", help="re-execute every chapter")
        q.add_argument("--preset", default="quick", help="smoke | quick | full")
        q.add_argument("-p", "--param", nargs=2, action="append", metavar=("KEY", "VALUE"),
                       help="a chapter parameter (Python literal), e.g. -p rerun True")


if __name__ == "__main__":  # python -m flowlib.book.build ...
    parser = argparse.ArgumentParser(prog="python -m flowlib.book.build")
    add_cli(parser.add_subparsers(dest="command", required=True))
    a = parser.parse_args()
    raise SystemExit(a.func(a))

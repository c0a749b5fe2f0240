"""The real book pipeline: chapters executed by papermill at smoke, built with warnings as errors."""
from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest

from flowlib.book.build import Book, BookError
from flowlib.core.paths import REPO_ROOT
from tests.conftest import copy_book_tree

pytestmark = pytest.mark.book


def test_every_chapter_executes_and_the_book_builds(smoke_book):
    html = smoke_book.build_dir / "html"
    for name in smoke_book.chapters():
        nb = nbformat.read(smoke_book.book_dir / f"{name}.ipynb", as_version=4)
        # papermill injected the preset into the executed notebook
        injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
        assert injected and 'preset = "smoke"' in injected[0].source, name
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                  if o.get("output_type") == "error"]
        assert not errors, f"{name}: {errors[:1]}"
        page = html / "book" / f"{name}.html"
        assert page.exists(), page
        # each page offers its executed notebook for download
        assert (html / "_sources" / "book" / f"{name}.ipynb").exists()
        assert f"_sources/book/{name}.ipynb" in page.read_text()
    assert (html / "index.html").exists()


def test_rebuild_is_incremental(smoke_book):
    results = smoke_book.execute_all("smoke")
    assert {r.status for r in results} == {"up to date"}


def _book_with_chapter(folder, name: str, source: str) -> Book:
    """A copy of the book with one more chapter ``name`` (its percent-format ``source``) in
    its table of contents."""
    book = Book(copy_book_tree(folder))
    (book.book_dir / f"{name}.py").write_text(source)
    toc = (book.root / "_toc.yml").read_text()
    (book.root / "_toc.yml").write_text(toc + f"      - file: book/{name}\n")
    return book


def test_failing_chapter_names_chapter_and_cell_and_keeps_outputs(tmp_path):
    book = _book_with_chapter(tmp_path / "b", "broken",
                              '# %% tags=["parameters"]\npreset = "quick"\n\n# %%\nx = 1\n\n# %%\n'
                              'raise ValueError("deliberately broken cell")\n')
    ok = book.execute_chapter("preface", "smoke")
    assert ok.status == "executed"
    before = (book.book_dir / "preface.ipynb").read_bytes()
    r = book.execute_chapter("broken", "smoke")
    assert r.status == "failed"
    assert "chapter 'broken'" in r.message and "ValueError: deliberately broken cell" in r.message
    assert "failed in cell" in r.message and 'raise ValueError' in r.message
    assert (book.build_dir / "failed" / "broken.ipynb").exists()
    assert not (book.book_dir / "broken.ipynb").exists()  # no half-written output
    assert (book.book_dir / "preface.ipynb").read_bytes() == before
    # a source change re-executes only that chapter
    assert book.execute_chapter("preface", "smoke").status == "up to date"
    src = book.book_dir / "preface.py"
    src.write_text(src.read_text() + "\n# %%\nprint('changed')\n")
    assert book.execute_chapter("preface", "smoke").status == "executed"
    assert book.execute_chapter("preface", "quick").status == "executed"  # preset changed


def test_a_chapter_with_an_illegible_figure_fails_and_names_it(tmp_path):
    """The legibility rule in the real pipeline: a five-panel row at 8 pt (text about 5 px on
    the page) fails its chapter, by name and cell; the same figure split into rows passes and
    its page gets the run-it-yourself box under its title."""
    book = Book(copy_book_tree(tmp_path / "b"))
    chapter = ('# %% tags=["parameters"]\npreset = "quick"\n\n# %% [markdown]\n# # A figure\n\n'
               '# %%\n# %matplotlib inline\n\n# %%\nimport matplotlib.pyplot as plt\n'
               'fig, axes = plt.subplots({rows}, {cols}, figsize=({w}, 3))\n'
               'for ax in fig.axes:\n    ax.set_title("panel", fontsize={pt})\n')
    (book.book_dir / "wide.py").write_text(chapter.format(rows=1, cols=5, w=18, pt=8))
    toc = (book.root / "_toc.yml").read_text()
    (book.root / "_toc.yml").write_text(toc + "      - file: book/wide\n")
    r = book.execute_chapter("wide", "smoke")
    assert r.status == "failed", r
    assert "chapter 'wide'" in r.message and "wide, code cell" in r.message
    assert "below the book's minimum" in r.message and "figsize" in r.message
    assert not (book.book_dir / "wide.ipynb").exists()
    (book.book_dir / "wide.py").write_text(chapter.format(rows=3, cols=2, w=7, pt=10))
    r = book.execute_chapter("wide", "smoke")
    assert r.status == "executed", r.message
    nb = nbformat.read(book.book_dir / "wide.ipynb", as_version=4)
    titles = [i for i, c in enumerate(nb.cells) if c.source.startswith("# A figure")]
    assert titles and "Run this chapter yourself" in nb.cells[titles[0] + 1].source
    assert "make chapter NAME=wide" in nb.cells[titles[0] + 1].source


def test_unknown_chapter_and_preset_are_clear_errors(tmp_path):
    book = Book()
    with pytest.raises(BookError, match="No chapter named 'nope'. The chapters are: preface, data"):
        book.source("nope")
    from flowlib.core.presets import PresetError
    with pytest.raises(PresetError, match="Unknown preset 'huge'.*smoke, quick, full"):
        book.execute_chapter("preface", "huge")


@pytest.mark.parametrize("args,needle", [
    (["book", "PRESET=huge"], "unknown PRESET 'huge'"),
    (["chapter", "PRESET=quick"], "which chapter?"),
])
def test_make_targets_reject_bad_input(args, needle):
    proc = subprocess.run(["make", "--no-print-directory", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    assert needle in proc.stderr


def test_cli_unknown_chapter_is_one_paragraph(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "flowlib", "book", "chapter", "nope",
                           "--preset", "smoke"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: No chapter named 'nope'") and "Traceback" not in proc.stderr


def test_no_generated_notebooks_are_tracked():
    tracked = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=REPO_ROOT,
                             capture_output=True, text=True).stdout.split()
    assert tracked == []
    for name in Book().chapters():
        text = (REPO_ROOT / "book" / f"{name}.py").read_text()
        assert "# %%" in text and 'tags=["parameters"]' in text, name


def test_the_kernel_talks_over_local_sockets_so_the_log_has_no_transport_warning(tmp_path, capfd):
    """ipykernel warns "Kernel is running over TCP without encryption" on every TCP start: one
    line per chapter in the build log. The build's kernels use IPC, and the lesson's box puts
    the run-it-yourself box under the findings box."""
    book = _book_with_chapter(tmp_path / "b", "tiny",
                              '# %% tags=["parameters"]\npreset = "quick"\n\n# %% [markdown]\n# # Tiny\n\n'
                              '# %%\nfrom flowlib.book.lesson import findings_box\nfindings_box(["one"])\n')
    r = book.execute_chapter("tiny", "smoke")
    assert r.status == "executed", r.message
    assert "without encryption" not in capfd.readouterr().err
    nb = nbformat.read(book.book_dir / "tiny.ipynb", as_version=4)
    box = next(i for i, c in enumerate(nb.cells) if "flowlib-finds" in str(c.get("outputs")))
    assert "Run this chapter yourself" in nb.cells[box + 1].source


def test_the_builds_kernel_manager_does_not_interrupt_a_kernel_it_shuts_down():
    """jupyter_client interrupts (SIGINT) every kernel before asking it to shut down, which
    logs "KeyboardInterrupt caught in kernel" in the build log; the build's manager skips that
    interrupt while shutting down, and only then (the stock manager, with no kernel running,
    refuses to interrupt)."""
    import asyncio

    from jupyter_client.manager import AsyncKernelManager

    from flowlib.book import build
    from flowlib.book.kernel_manager import QuietShutdownKernelManager
    cls = build.kernel_config(REPO_ROOT).NotebookClient.kernel_manager_class
    assert cls == "flowlib.book.kernel_manager.QuietShutdownKernelManager"
    quiet, stock = QuietShutdownKernelManager(), AsyncKernelManager()
    for km in (quiet, stock):
        km.shutting_down = True
    asyncio.run(quiet._async_interrupt_kernel())            # skipped: nothing raised
    with pytest.raises(RuntimeError, match="No kernel is running"):
        asyncio.run(stock._async_interrupt_kernel())
    quiet.shutting_down = False
    with pytest.raises(RuntimeError, match="No kernel is running"):
        asyncio.run(quiet._async_interrupt_kernel())         # not shutting down: interrupts

"""Shared fixtures: the real MNIST, and one smoke build of the real book per session."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flowlib.core.paths import REPO_ROOT


@pytest.fixture(scope="session")
def mnist_cache_file() -> Path:
    """The verified MNIST cache (fetched on first use, exactly as the book does)."""
    from flowlib.data import mnist as data
    data.load_mnist("test")
    return data.cache_path()


@pytest.fixture
def fresh_data_module(monkeypatch, tmp_path):
    """flowlib.data.mnist pointed at an empty cache directory, with its in-process memo cleared."""
    from flowlib.data import mnist as data
    monkeypatch.setenv("FLOWLIB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("FLOWLIB_TORCHVISION_ROOT", raising=False)
    data._load_all.cache_clear()
    yield data
    data._load_all.cache_clear()


def copy_book_tree(dest: Path) -> Path:
    """A copy of the book's sources (config, toc, chapters, static files) to build elsewhere."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(REPO_ROOT / name, dest / name)
    shutil.copytree(REPO_ROOT / "book", dest / "book",
                    ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints", "__pycache__"))
    # what a working checkout also holds: stray Markdown the build must ignore (pytest's cache
    # README once broke `make test && make book`)
    for stray in (".pytest_cache/README.md", "runs/notes.md", "logs/README.md"):
        (dest / stray).parent.mkdir(parents=True, exist_ok=True)
        (dest / stray).write_text("# not part of the book\n")
    return dest


@pytest.fixture(scope="session")
def smoke_book(tmp_path_factory):
    """Every chapter executed by papermill at ``smoke`` and the HTML built, warnings as errors.

    Built in a temporary copy so the tests never touch the reader's own ``_build``.
    """
    from flowlib.book.build import Book
    book = Book(copy_book_tree(tmp_path_factory.mktemp("book")))
    book.check_vendor()
    results = book.execute_all("smoke")
    failed = [r for r in results if r.status == "failed"]
    assert not failed, "\n\n".join(r.message for r in failed)
    index = book.build_html()
    assert index.exists()
    return book

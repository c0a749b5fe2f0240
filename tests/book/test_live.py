"""Run it anywhere (issue 32): a chapter that finds no shipped results says so in one line and
runs live at the smoke preset, on a classifier and a teacher it makes itself; with the shipped
results it changes nothing."""
from __future__ import annotations

import nbformat
import pytest

from flowlib.book import live
from flowlib.book.build import Book
from tests.conftest import copy_book_tree

pytestmark = pytest.mark.book


def test_with_the_shipped_results_a_chapter_keeps_its_preset(monkeypatch):
    monkeypatch.delenv("FLOWLIB_RESULTS", raising=False)
    said = []
    assert live.shipped_found()
    assert live.chapter_preset("quick", log=said.append) == "quick" and not said


def test_an_empty_results_folder_is_not_mistaken_for_the_shipped_one(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLIB_RESULTS", str(tmp_path))
    assert not live.shipped_found()
    (tmp_path / "teacher").mkdir()
    (tmp_path / "teacher" / "model.pt").write_bytes(b"")
    assert not live.shipped_found()          # a teacher without its manifest, no classifier


def test_a_chapter_without_shipped_results_runs_live_at_smoke(tmp_path, monkeypatch):
    """The synthetic-MNIST chapter (it reads the teacher and the classifier), asked for quick
    with an empty results folder: it says so once, makes both pieces in the live folder, and
    runs at smoke to the end."""
    empty, made = tmp_path / "empty", tmp_path / "live"
    empty.mkdir()
    monkeypatch.setenv("FLOWLIB_RESULTS", str(empty))
    monkeypatch.setenv(live.LIVE_ENV, str(made))
    book = Book(copy_book_tree(tmp_path / "book"))
    r = book.execute_chapter("synthetic_mnist", "quick")
    assert r.status == "executed", r.message
    nb = nbformat.read(book.book_dir / "synthetic_mnist.ipynb", as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []) if o.get("output_type") == "stream")
    assert text.count("No shipped results found") == 1 and "live at the smoke preset" in text
    assert (made / "teacher" / "manifest.json").exists()
    assert (made / "classifier" / "lenet.pt").exists()
    assert not any(empty.iterdir())          # the empty folder stays untouched

"""The parts every chapter's lesson shares: the "What this chapter finds" box at its top and
the answers of its exercises, hidden until the reader opens them.

Both are MyST Markdown that a cell *displays* (the book renders displayed Markdown as MyST,
``nb_render_markdown_format: myst`` in ``_config.yml``), so the numbers in them come from the
chapter's code and the shipped results, never typed into the text.
"""
from __future__ import annotations

from IPython.display import Markdown

FINDS_TITLE = "What this chapter finds"


def findings_box(points: list[str], footer: str = "", title: str = FINDS_TITLE) -> Markdown:
    """The box under a chapter's question: its answer in a few bullet points (Markdown each)."""
    body = "\n".join(f"- {p}" for p in points)
    return Markdown(f":::{{admonition}} {title}\n:class: note flowlib-finds\n{body}\n"
                    + (f"\n{footer}\n" if footer else "") + ":::\n")


def answer(text: str, title: str = "What you should find") -> Markdown:
    """An exercise's answer, collapsed until the reader opens it (a sphinx-design dropdown)."""
    return Markdown(f":::{{dropdown}} {title}\n{text}\n:::\n")

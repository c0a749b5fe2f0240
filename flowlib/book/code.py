"""The library's own code in the text: a chapter shows the function it teaches, read from
``flowlib`` when the chapter runs (:func:`inspect.getsource`), so the page cannot drift from
the code that made its numbers.

``show_source(AffineCoupling.encode)`` in a cell displays that method as a highlighted Python
block under a one-line caption naming its file and lines; ``lines=(first, last)`` keeps a part
of a long function (numbered as in the file). The block is Markdown (a ```python fence), which
Jupyter and the book both render as highlighted code.
"""
from __future__ import annotations

import inspect
import textwrap
from pathlib import Path

from IPython.display import Markdown

from flowlib.core.errors import FlowlibError

PACKAGE_PARENT = Path(__file__).resolve().parents[2]


class SourceError(FlowlibError, ValueError):
    """Source asked for that cannot be shown (no source, or lines outside the object)."""


def _where(obj) -> str:
    """The file of ``obj`` as a reader finds it in the repository (``flowlib/models/flows.py``)."""
    path = Path(inspect.getsourcefile(obj)).resolve()
    try:
        return path.relative_to(PACKAGE_PARENT).as_posix()
    except ValueError:
        return f"{obj.__module__.replace('.', '/')}.py"


def source(obj, lines: tuple[int, int] | None = None) -> tuple[str, str, int, int]:
    """``(code, file, first, last)``: the source of ``obj`` (a function, method or class),
    dedented, and the line numbers it spans in its file. ``lines=(first, last)``: only those
    lines, numbered as in the file, which must lie inside ``obj``."""
    try:
        text, start = inspect.getsourcelines(obj)
    except (OSError, TypeError) as err:
        raise SourceError(f"No source to show for {obj!r}: {err}. Pass a flowlib function, "
                          "method or class.") from None
    end = start + len(text) - 1
    if lines is not None:
        first, last = lines
        if not start <= first <= last <= end:
            raise SourceError(f"Lines {first}-{last} are not inside {obj.__qualname__}, which "
                              f"spans lines {start}-{end} of {_where(obj)}.")
        text, start, end = text[first - start:last - start + 1], first, last
    return textwrap.dedent("".join(text)).rstrip() + "\n", _where(obj), start, end


def show_source(obj, lines: tuple[int, int] | None = None) -> Markdown:
    """Display the source of ``obj`` as a highlighted block under its file and line numbers."""
    code, where, first, last = source(obj, lines)
    name = getattr(obj, "__qualname__", getattr(obj, "__name__", ""))
    part = "from " if lines else ""
    fence = "````" if "```" in code else "```"
    return Markdown(f"{part}`{name}` in **{where}**, lines {first}–{last}:\n\n"
                    f"{fence}python\n{code}{fence}\n")

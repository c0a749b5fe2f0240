"""The library's own code in the text: a chapter shows the function it teaches, read from
``flowlib`` when the chapter runs (:func:`inspect.getsource`), so the page cannot drift from
the code that made its numbers.

``show_source(AffineCoupling.encode)`` in a cell displays that method as a highlighted Python
block under a one-line caption naming its file and lines; ``lines=(first, last)`` keeps a part
of a long function (numbered as in the file), and ``start="..."``/``stop="..."`` the part
between two lines of text. The block is Markdown (a ```python fence), which
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


def source(obj, lines: tuple[int, int] | None = None, *, start: str | None = None,
           stop: str | None = None) -> tuple[str, str, int, int]:
    """``(code, file, first, last)``: the source of ``obj`` (a function, method or class),
    dedented, and the line numbers it spans in its file.

    A part only: ``lines=(first, last)``, numbered as in the file and inside ``obj``; or
    ``start``/``stop``, from the first line containing ``start`` through the first line from
    there containing ``stop`` (text, not numbers, so the part follows the code when lines
    above it change)."""
    try:
        text, begin = inspect.getsourcelines(obj)
    except (OSError, TypeError) as err:
        raise SourceError(f"No source to show for {obj!r}: {err}. Pass a flowlib function, "
                          "method or class.") from None
    end = begin + len(text) - 1
    if start is not None or stop is not None:
        if lines is not None:
            raise SourceError("Give lines=(first, last) or start/stop, not both.")
        i = next((k for k, line in enumerate(text) if start is None or start in line), None)
        j = next((k for k in range(i or 0, len(text)) if stop is None or stop in text[k]), None)
        if i is None or j is None:
            missing = start if i is None else stop
            raise SourceError(f"{missing!r} is not in the source of {obj.__qualname__} "
                              f"({_where(obj)}, lines {begin}-{end}): the code changed; update "
                              "the chapter that shows it.")
        lines = (begin + i, begin + j)
    if lines is not None:
        first, last = lines
        if not begin <= first <= last <= end:
            raise SourceError(f"Lines {first}-{last} are not inside {obj.__qualname__}, which "
                              f"spans lines {begin}-{end} of {_where(obj)}.")
        text, begin, end = text[first - begin:last - begin + 1], first, last
    return textwrap.dedent("".join(text)).rstrip() + "\n", _where(obj), begin, end


def show_source(obj, lines: tuple[int, int] | None = None, *, start: str | None = None,
                stop: str | None = None) -> Markdown:
    """Display the source of ``obj`` (or the part :func:`source` selects) as a highlighted
    block under its file and line numbers."""
    code, where, first, last = source(obj, lines, start=start, stop=stop)
    name = getattr(obj, "__qualname__", getattr(obj, "__name__", ""))
    part = "from " if (lines or start or stop) else ""
    fence = "````" if "```" in code else "```"
    return Markdown(f"{part}`{name}` in **{where}**, lines {first}–{last}:\n\n"
                    f"{fence}python\n{code}{fence}\n")

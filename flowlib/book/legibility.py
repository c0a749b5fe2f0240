"""Figures a reader can read: the smallest text of a figure, measured where the page shows it.

The book's column is about :data:`COLUMN_PX` pixels wide at a 1280-pixel window (the browser
test measures it); a wider figure is shrunk to fit, and its text with it. A figure is
*legible* when its smallest text, after that shrinking, is at least :data:`MIN_TEXT_PX`
pixels: 70% of the body text's 16 px. Measured in font size (matplotlib's points at the
figure's dpi), which is what a reader compares with the body text.

Every figure a chapter shows goes through one of two checks: a precomputed frame of a control
is checked when it is made (:func:`frame_png` raises), and an inline figure carries its
smallest text in its output's metadata (:func:`register_inline_check`), which the book build
checks against the PNG's width (:func:`check_notebook`).
"""
from __future__ import annotations

from flowlib.core.errors import FlowlibError

COLUMN_PX = 680       # a cell output's width at a 1280 px window (688 measured by the browser test)
BODY_TEXT_PX = 16.0   # the theme's body text
MIN_TEXT_PX = 0.7 * BODY_TEXT_PX
METADATA_KEY = "flowlib_min_text_px"


class IllegibleFigure(FlowlibError, ValueError):
    """A figure whose smallest text would be below :data:`MIN_TEXT_PX` on the page."""


def min_text_px(fig, dpi: float | None = None) -> float | None:
    """The smallest font size of ``fig``'s visible, non-empty text, in pixels at ``dpi``
    (default: the figure's own); None for a figure with no text."""
    from matplotlib.text import Text
    fig.draw_without_rendering()  # tick labels exist only once the figure has been drawn
    sizes = [t.get_fontsize() for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip() and t.get_figure(root=True) is fig]
    return min(sizes) * (dpi or fig.dpi) / 72.0 if sizes else None


def shown_text_px(text_px: float | None, png_width: int, column_px: int = COLUMN_PX) -> float | None:
    """``text_px`` of a PNG ``png_width`` pixels wide, as shown in the column (shrunk to fit)."""
    if text_px is None:
        return None
    return text_px * min(1.0, column_px / png_width)


def _width(png: bytes) -> int:
    return int.from_bytes(png[16:20], "big")  # the IHDR chunk's width


def _problem(text_px, width, what: str) -> str | None:
    shown = shown_text_px(text_px, width)
    if shown is None or shown >= MIN_TEXT_PX:
        return None
    return (f"{what}: its smallest text would be {shown:.1f} px on the page ({text_px:.1f} px "
            f"in a {width} px wide image, shrunk to the {COLUMN_PX} px column), below the "
            f"book's minimum of {MIN_TEXT_PX:.1f} px. Make the figure narrower (figsize), "
            "split its panels over rows, or raise its font sizes.")


def frame_png(frame, dpi: int = 100, what: str = "a precomputed frame") -> bytes:
    """PNG bytes of a control's frame (:func:`flowlib.core.images.to_png`: a figure, an image
    array or PNG bytes); a figure is refused (:class:`IllegibleFigure`) if its text would be
    too small in the book's column. ``dpi`` 100: the inline figures' own, so one figure size
    reads the same in a control and on the page."""
    from flowlib.core.images import to_png
    text_px = min_text_px(frame, dpi) if hasattr(frame, "savefig") else None
    png = to_png(frame, dpi=dpi)
    problem = _problem(text_px, _width(png), what)
    if problem:
        raise IllegibleFigure(problem)
    return png


def _inline_png(fig):
    """IPython's PNG of an inline figure, with its smallest text in the output's metadata."""
    from IPython.core.pylabtools import print_figure
    png = print_figure(fig, "png", bbox_inches="tight")  # what the inline backend shows
    if png is None:  # a figure with nothing drawn
        return None
    return png, {METADATA_KEY: min_text_px(fig)}


def register_inline_check() -> None:
    """In a running IPython, give every displayed matplotlib figure its smallest text size in
    the output metadata (checked by the book build). Nothing outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of the book
        return
    ip = get_ipython()
    if ip is None:
        return
    from matplotlib.figure import Figure
    ip.display_formatter.formatters["image/png"].for_type(Figure, _inline_png)


def check_notebook(nb, chapter: str) -> list[str]:
    """Every inline figure of an executed notebook (``nbformat`` node) whose text would be too
    small on the page, as messages naming the chapter, cell and figure."""
    import base64
    problems = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            data, md = out.get("data", {}), out.get("metadata", {})
            px = (md.get("image/png") or {}).get(METADATA_KEY, md.get(METADATA_KEY))
            if "image/png" not in data or px is None:
                continue
            width = _width(base64.b64decode(data["image/png"]))
            problem = _problem(px, width, f"{chapter}, code cell {i}")
            if problem:
                problems.append(problem)
    return problems

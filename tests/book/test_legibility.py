"""The legibility rule on constructed figures: what must pass and what must not."""
from __future__ import annotations

import base64

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import pytest  # noqa: E402

from flowlib.book import legibility as L  # noqa: E402


def _fig(width_in, fontsize, dpi=100):
    fig, ax = plt.subplots(figsize=(width_in, 3), dpi=dpi)
    ax.plot([0, 1], [0, 1])
    ax.set_title("a title", fontsize=fontsize)
    ax.tick_params(labelsize=fontsize)
    ax.set_xlabel("x", fontsize=fontsize)
    return fig


def test_min_text_px_is_the_smallest_visible_text_at_the_dpi():
    fig = _fig(4, 12)
    fig.axes[0].set_ylabel("tiny", fontsize=6)
    assert L.min_text_px(fig) == pytest.approx(6 * 100 / 72)
    assert L.min_text_px(fig, dpi=72) == pytest.approx(6)
    fig.axes[0].yaxis.label.set_visible(False)
    assert L.min_text_px(fig) == pytest.approx(12 * 100 / 72)
    plt.close("all")
    empty = plt.figure()
    assert L.min_text_px(empty) is None


def test_a_narrow_figure_with_body_sized_text_passes_a_wide_one_is_refused():
    ok = L.frame_png(_fig(6, 11, dpi=90))  # about 560 px wide: not shrunk
    assert ok[:8] == b"\x89PNG\r\n\x1a\n"
    # five panels' worth of width at 10 pt: shrunk to the column, its text falls below the floor
    with pytest.raises(L.IllegibleFigure, match="below the book's minimum.*figsize"):
        L.frame_png(_fig(18, 10, dpi=90), what="the wide frame")
    # the same text on a small scale is refused even when not shrunk
    with pytest.raises(L.IllegibleFigure, match="smallest text would be"):
        L.frame_png(_fig(4, 6, dpi=90))
    # images without text (digit grids) are not text: never refused
    assert L.frame_png(__import__("numpy").zeros((28, 2800), dtype="uint8"))[:4] == b"\x89PNG"


def _notebook(fig):
    png, md = L._inline_png(fig)
    out = nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(png).decode()},
                                 metadata={"image/png": md})
    cell = nbformat.v4.new_code_cell("fig", outputs=[out])
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# t"), cell])


def test_the_build_check_reads_inline_figures_from_the_notebook():
    assert L.check_notebook(_notebook(_fig(6, 11)), "chapter") == []
    problems = L.check_notebook(_notebook(_fig(20, 10)), "chapter")
    assert len(problems) == 1 and problems[0].startswith("chapter, code cell 1")
    # an output written without the measure (e.g. an Image of PNG bytes) is not judged
    nb = _notebook(_fig(20, 10))
    nb.cells[1].outputs[0].metadata = {}
    assert L.check_notebook(nb, "chapter") == []
    plt.close("all")


def test_tick_labels_count_although_they_exist_only_once_drawn():
    fig, ax = plt.subplots(figsize=(4, 3), dpi=100)
    ax.plot([0, 1], [0, 1])
    ax.tick_params(labelsize=5)            # the only text: tick labels at 5 pt
    assert L.min_text_px(fig) == pytest.approx(5 * 100 / 72)
    with pytest.raises(L.IllegibleFigure):
        L.frame_png(fig)


def test_a_log_axis_under_a_decade_labels_more_than_one_tick():
    """log_axis labels 2 and 5 within each decade; on an axis spanning less than a decade (the
    training-speed panel: 280-950 images/s) that can leave one label, so 3 and 4 count too."""
    from flowlib.book.plots import log_axis

    def labels(lo, hi):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [lo, hi])
        log_axis(ax)
        ax.set_ylim(lo, hi)           # limits set after the call still count
        fig.canvas.draw()
        shown = {t.get_text() for t in ax.yaxis.get_ticklabels(minor=True) if t.get_text()}
        plt.close(fig)
        return shown

    assert {"300", "400", "500"} <= labels(280, 950)
    wide = labels(1, 1000)
    assert {"2", "5", "20", "50"} <= wide and "300" not in wide and "3" not in wide

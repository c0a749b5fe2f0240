"""A smoke build's cells are limited (a hang must fail the build), a chapter asked to retrain is
not (a smoke rerun of three studies outlasted the limit on a busy 2-core machine)."""
from flowlib.book.build import CELL_TIMEOUT_S, _params, cell_timeout


def test_smoke_cells_are_limited_unless_the_chapter_retrains():
    assert cell_timeout("smoke", {}) == CELL_TIMEOUT_S["smoke"] == 900
    assert cell_timeout("smoke", {"rerun": False}) == 900
    assert cell_timeout("smoke", _params([("rerun", "True")])) is None   # -p rerun True
    assert cell_timeout("quick", {}) is None

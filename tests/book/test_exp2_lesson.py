"""Chapters 9 and 10 read as lessons: their main-text table is short, the one anomalous cell of
the early/final table is explained from the metrics, and F6's properties are parsed from the
rule's own words (not typed)."""
from __future__ import annotations

import pytest

from flowlib.book import misspecification as C9
from flowlib.book import overparameterised as C10
from flowlib.studies import misspecification as M
from flowlib.studies.results import StudyMissing, shipped_results


@pytest.fixture(scope="module")
def runs():
    try:
        return M.load(shipped_results("misspecification", "quick"))
    except StudyMissing:
        pytest.skip("Experiment 2's quick runs are not shipped")


def test_the_main_text_table_is_one_row_per_student(runs):
    rows = [line for line in C9.summary_table(runs).splitlines() if line.startswith("| ")][1:]
    assert len(rows) == len({M.student(r) for r in runs}) <= 10


def test_an_early_kl_above_the_final_one_is_explained_by_where_it_was_read(runs):
    cells = C9.early_above_final(runs)
    for c in cells:
        assert c["early"] > c["final"]
    text = C9.anomaly_text(runs)
    for c in cells:
        assert f"{c['n']:,} images" in text
        # a seed read after its best step, inside a blow-up, is named with both steps
        for x in c["seeds"]:
            if x["read_step"] > x["best_step"] and x["val_at_read"] > x["best_val"] + 0.1:
                assert f"step {x['best_step']:,}" in text and f"step {x['read_step']:,}" in text


def test_f6_properties_are_read_from_the_rules_own_numbers():
    numbers = ("slow: 1/1 (supported); unstable: 0/1 (not supported); "
               "overfits heavily: 1/1 (supported); poorer images: 0/1 (not supported)")
    assert C10._props(numbers) == {"slow": True, "unstable": False, "overfits heavily": True,
                                   "poorer images": False}
    assert C10._say({300: C10._props(numbers), 1000: C10._props(numbers.replace("unstable: 0/1", "unstable: 1/1"))}) \
        == "slow yes, unstable no at 300, yes at 1,000, overfits heavily yes, poorer images no"


def test_the_dropdown_is_a_collapsed_myst_block():
    md = C9.dropdown("title", "| a |\n|---|\n| 1 |")
    assert md.startswith("::::{dropdown} title\n") and md.rstrip().endswith("::::")

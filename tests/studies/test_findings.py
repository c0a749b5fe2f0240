"""The findings page's table is generated from results/, never typed: it regenerates identically."""
from __future__ import annotations

import json

from flowlib.core.paths import results_root
from flowlib.studies import findings


def test_findings_table_regenerates_identically_from_shipped_results():
    stored = json.loads((results_root("findings-quick.json")).read_text())
    assert findings.findings_table("quick") == stored
    assert stored[0]["id"] == "F1"   # in the abstract's order, F1's rows first
    assert {r["id"] for r in stored} == {"F1", "F2", "F3", "F4", "F5", "F6"}
    md = findings.markdown(stored)
    rows = [line for line in md.splitlines() if line.startswith("| **")]
    assert len(rows) == len(stored) and "**F6**" in md


PLAIN = {"holds", "does not hold", "holds in part", "not run yet"}


def test_six_rows_one_per_finding_each_with_a_verdict_number_reason_and_reconciling_sentence():
    stored = json.loads((results_root("findings-quick.json")).read_text())
    six = findings.summary(stored)
    assert [s["id"] for s in six] == ["F1", "F2", "F3", "F4", "F5", "F6"]
    for s in six:
        assert s["verdict"] in PLAIN or s["verdict"].startswith("not decided yet"), s
        assert any(ch.isdigit() for ch in s["headline"]), s["headline"]
        assert s["reason"] and s["reconcile"].endswith("."), s
        assert s["readings"] and all("plain" in r for r in s["readings"])
        assert sum(r["primary"] for r in s["readings"]) >= 1
    # every verdict row of the table is beneath exactly one of the six
    assert sum(len(s["readings"]) for s in six) == len(stored)


def test_plain_words_and_their_combination():
    assert findings.plain("supported (exploratory: seen before this reading was written)") == "holds"
    assert findings.plain("not supported") == "does not hold"
    assert findings.plain("mixed (kept at the equilibrium: plain SGD)") == "holds in part"
    assert findings.plain("incomplete: 8/18 runs") == "not decided yet (8/18 runs made)"
    assert findings.combine(["supported", "not supported"]) == "holds in part"
    assert findings.combine(["supported", "incomplete: 1/8 long controls"]) == "holds"
    assert findings.combine(["not run yet"]) == "not run yet"


def test_a_reading_whose_numbers_changed_shape_falls_back_to_its_status_not_a_made_up_number():
    rows = [{"id": "F1", "verdict": "F1 (LeNet-FID)", "status": "supported", "numbers": "??",
             "source": "results/x"}]
    f1 = findings.summary(rows)[0]
    assert f1["verdict"] == "holds" and f1["headline"] == "supported"
    assert findings.summary(rows)[1]["verdict"] == "not run yet"   # F2: nothing shipped


def test_the_page_has_six_top_level_rows_and_no_jargon():
    from flowlib.book import findings as page
    stored = json.loads((results_root("findings-quick.json")).read_text())
    md = page.page(stored, "quick")
    main = md.split(":::", 2)[1]   # the container around the six rows
    assert len([line for line in main.splitlines() if line.startswith("| <span id=")]) == 6
    assert "retired teacher" not in md and "lent GPU" not in md
    assert "`" not in md   # code is <code>, so no literal backtick can reach the page


def test_the_chapters_row_builders_make_the_table():
    """One builder: the table is the four studies' row builders on the shipped runs, and each
    builder says *not run yet*, with the command, for a study with no runs."""
    for rows, fid in ((findings.e1_rows(None, None), "F1"), (findings.nash_rows(None), "F2"),
                      (findings.nash_exact_rows(None), "F2"),
                      (findings.e2_rows(None), "F3")):
        assert rows[0]["id"] == fid and rows[0]["status"] == "not run yet"
        assert "python -m flowlib experiment" in rows[0]["numbers"]
    assert [r["id"] for r in findings.e2_rows(None)] == ["F3", "F4", "F5", "F6"]
    table = findings.findings_table("quick")
    assert [r["id"] for r in table] == sorted(r["id"] for r in table)

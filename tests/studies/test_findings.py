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

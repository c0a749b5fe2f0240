"""The findings page's table is generated from results/, never typed: it regenerates identically."""
from __future__ import annotations

import json

from flowlib.core.paths import RESULTS
from flowlib.studies import findings


def test_findings_table_regenerates_identically_from_shipped_results():
    stored = json.loads((RESULTS / "findings-quick.json").read_text())
    assert findings.findings_table("quick") == stored
    assert [r["id"] for r in stored][:2] == ["F1", "F1"] or stored[0]["status"] == "not run yet"
    assert {r["id"] for r in stored} == {"F1", "F2", "F3", "F4", "F5", "F6"}
    md = findings.markdown(stored)
    rows = [line for line in md.splitlines() if line.startswith("| **")]
    assert len(rows) == len(stored) and "**F6**" in md

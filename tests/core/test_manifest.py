"""A benchmark's result is written beside a manifest that names it and the commit that made it."""
from __future__ import annotations

import json


def test_write_benchmark_writes_the_result_and_a_manifest_naming_it(tmp_path):
    from flowlib.core.manifest import write_benchmark
    path = write_benchmark(tmp_path / "speeds", "speeds.json", {"tiny": 467.7},
                           config={"preset": "quick"}, wall_time_s=12.3, threads=1)
    assert json.loads(path.read_text()) == {"tiny": 467.7}
    man = json.loads((tmp_path / "speeds" / "manifest.json").read_text())
    assert man["results"] == {"file": "speeds.json"} and man["config"] == {"preset": "quick"}
    assert man["commit"] and man["device"].endswith("1 thread") and man["wall_time_s"] == 12.3

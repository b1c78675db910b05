"""The benchmark runner works end to end (`benchmarks/run.py --quick`): no timings are asserted.

It builds small arrays, has every installed implementation read and write them, checks
each result against the source data (a wrong result makes the run fail) and prints the
table and the bar checks.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

RUN = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


def test_quick_benchmark_run(tmp_path):
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, str(RUN), "--quick", "--dir", str(tmp_path), "--json", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| case | zarrconv |" in proc.stdout and "Bars (issues 2 and 4):" in proc.stdout
    rows = json.loads(out.read_text())["rows"]
    cases = [r["case"] for r in rows]
    assert any(c.startswith("dense") and c.endswith("read") for c in cases)
    assert any(c.startswith("sharded") and c.endswith("write") for c in cases)
    assert any("reads of one" in c for c in cases) and any(c.startswith("memory") for c in cases)
    assert sum(c.startswith("scaling") for c in cases) == 4
    for row in rows:
        ours = row["zarrconv"]
        assert ours["error"] is None and not ours["wrong"] and ours["seconds"] > 0, row
        for name, res in row.items():
            if isinstance(res, dict):
                assert not res["wrong"], (row["case"], name)  # every peer reads our files correctly
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # the data was cleaned up

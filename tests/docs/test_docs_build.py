"""The documentation site builds with warnings as errors, and its Python examples run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def test_mkdocs_build_strict(tmp_path):
    site = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    api = (site / "api" / "zarrconv" / "index.html").read_text()
    for name in ("create_array", "open_group", "consolidate_metadata", "CheckReport"):
        assert name in api, f"the API reference lost {name}"
    assert "write_image" in (site / "api" / "ome" / "index.html").read_text()
    assert "assign_crs" in (site / "api" / "geo" / "index.html").read_text()
    bench = (site / "benchmarks" / "index.html").read_text()
    if (ROOT / "benchmarks" / "README.md").exists():
        assert "Not measured yet" not in bench
    for page in ("guarantees", "comparison", "getting-started", "guide/ome-zarr", "guide/geozarr"):
        assert (site / page / "index.html").exists(), page


def _python_blocks(page: Path) -> list[str]:
    """The ```python blocks of a page (```py blocks are shown but not run: clusters, cloud accounts)."""
    return re.findall(r"^```python\n(.*?)^```", page.read_text(), re.S | re.M)


# the user-facing pages; contract.md and architecture.md hold signatures and sketches, not examples
USER_PAGES = [DOCS / "index.md", DOCS / "getting-started.md", *sorted((DOCS / "guide").glob("*.md"))]
PAGES = [p.relative_to(DOCS).as_posix() for p in USER_PAGES if _python_blocks(p)]


@pytest.mark.parametrize("page", PAGES)
def test_examples_run(page, tmp_path, monkeypatch):
    """Every ```python block of a page runs, in order, in a fresh directory."""
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    for i, block in enumerate(_python_blocks(DOCS / page)):
        code = compile(block, f"{page} (python block {i + 1})", "exec")
        exec(code, namespace)  # noqa: S102 - the documentation's own examples

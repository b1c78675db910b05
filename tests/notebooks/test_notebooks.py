"""The notebooks run from top to bottom, and their outputs say what the text claims."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

# text each notebook must print: the checks its prose relies on
EXPECTED = {
    "ome_walkthrough.ipynb": [
        "level 1 equals the 2 x 2 block mean of level 0 (to rounding): True",
        "identical to what zarrconv wrote: True",
        "problems: []",
        "└── labels/  [OME-Zarr 0.5]",
    ],
    "geozarr_walkthrough.ipynb": [
        "same CRS: True | same transform: True | same values: True",
        "problems found by geo.validate: []",
        "WGS 84 / UTM zone 33N (EPSG:32633)",
    ],
    "cloud_walkthrough.ipynb": [
        "window equal to the source: True",
        "identical to what was written: True",
        "valid (1 nodes (1 arrays), checks: spec, data, 4 chunks decoded)",
        "server stopped, exit status 0",
    ],
}
FIGURES = {"ome_walkthrough.ipynb": 2, "geozarr_walkthrough.ipynb": 2, "cloud_walkthrough.ipynb": 1}


def _outputs(nb: nbformat.NotebookNode) -> tuple[str, int, list[str]]:
    text, figures, errors = [], 0, []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream" and out.name == "stdout":
                text.append(out.text)
            elif out.output_type in ("display_data", "execute_result"):
                figures += "image/png" in out.data
                text.append(out.data.get("text/plain", ""))
            elif out.output_type == "error":
                errors.append(f"{out.ename}: {out.evalue}")
    return "".join(text), figures, errors


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_executes(name, tmp_path):
    copy = tmp_path / name
    shutil.copy(NOTEBOOKS / name, copy)
    nb = nbformat.read(copy, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    text, figures, errors = _outputs(nb)
    assert not errors
    for line in EXPECTED[name]:
        assert line in text, f"{name} no longer prints {line!r}"
    assert figures == FIGURES[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_saved_notebook_has_its_outputs(name):
    """The copy in the repository is saved executed, so its figures show without running it."""
    text, figures, errors = _outputs(nbformat.read(NOTEBOOKS / name, as_version=4))
    assert not errors and figures == FIGURES[name]
    assert all(line in text for line in EXPECTED[name])

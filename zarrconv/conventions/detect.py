"""Which conventions a node's attributes follow, told from the attributes alone (nothing is read), and
the validators of the conventions a hierarchy uses.

``zarrconv info`` and ``tree`` print the names :func:`detect_conventions` finds; ``zarrconv validate``
runs :func:`check_conventions`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..check import Problem
from ..errors import ZarrconvError

#: the convention packages with a ``validate(url, **kwargs)``, by the name their problems are tagged with.
#: They are imported when a hierarchy uses them: each imports xarray, pyproj or pint (seconds), which a
#: store without conventions should not pay for.
VALIDATORS = {"ome": "zarrconv.conventions.ome", "geo": "zarrconv.conventions.geo"}


def detect_conventions(attrs: dict[str, Any]) -> list[str]:
    """Names of the conventions whose attributes a node carries (OME-Zarr, GeoZarr, CF, GDAL).

    >>> detect_conventions({"ome": {"version": "0.5", "multiscales": []}, "proj:code": "EPSG:4326"})
    ['OME-Zarr 0.5', 'GeoZarr conventions (proj:)']
    """
    found: list[str] = []
    ome = attrs.get("ome")
    if isinstance(ome, dict):
        found.append(f"OME-Zarr {ome.get('version', '?')}")
    elif isinstance(attrs.get("multiscales"), list) and any(
            isinstance(m, dict) and "axes" in m for m in attrs["multiscales"]):
        versions = {m.get("version", "?") for m in attrs["multiscales"] if isinstance(m, dict)}
        found.append("OME-Zarr " + "/".join(sorted(str(v) for v in versions)))
    elif any(k in attrs for k in ("plate", "well", "image-label", "bioformats2raw.layout")):
        found.append("OME-Zarr")
    geo = sorted({k.split(":", 1)[0] + ":" for k in attrs if k.startswith(("proj:", "spatial:"))})
    if "zarr_conventions" in attrs or geo:
        found.append("GeoZarr conventions" + (f" ({', '.join(geo)})" if geo else ""))
    if isinstance(attrs.get("multiscales"), dict):
        found.append("zarr-conventions multiscales")
    if "grid_mapping" in attrs or "grid_mapping_name" in attrs or "crs_wkt" in attrs:
        found.append("CF grid mapping")
    if "_CRS" in attrs:
        found.append("GDAL _CRS")
    return found


@dataclass
class ConventionFindings:
    """What :func:`check_conventions` found: the validators run, their errors and their warnings."""

    checked: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def check_conventions(url: str, attributes: Iterable[dict[str, Any]], *, strict: bool = False,
                      storage_options: dict[str, Any] | None = None) -> ConventionFindings:
    """Run the OME-Zarr and GeoZarr validators on ``url`` when the attributes of its nodes use them.

    What a validator lists in its result's ``warnings`` (readable but not standard) goes to
    ``warnings``. The OME-Zarr validator grades by the specification's key words (SHOULD breaches
    are its warnings); ``strict`` makes those errors. A validator's message ``"/node: text"`` becomes
    a :class:`~zarrconv.check.Problem` at that node, any other at ``"/"``.
    """
    findings = ConventionFindings()
    tags = {t.split(" ")[0] for attrs in attributes for t in detect_conventions(attrs)}
    wanted = []
    if "OME-Zarr" in tags:
        wanted.append("ome")
    if tags & {"GeoZarr", "CF", "GDAL", "zarr-conventions"}:
        wanted.append("geo")
    for name in wanted:
        module = VALIDATORS[name]
        try:
            validate = importlib.import_module(module).validate
        except (ImportError, AttributeError):
            findings.problems.append(Problem("/", name, f"{module}.validate is not available in this installation; "
                                                        "convention not checked"))
            continue
        kwargs: dict[str, Any] = {"storage_options": storage_options} if storage_options else {}
        if name == "ome":
            kwargs["strict"] = strict
        try:
            found = validate(url, **kwargs)
        except ZarrconvError as e:
            found = [str(e)]
        findings.problems += [_at_node(name, p) for p in found]
        findings.warnings += [_at_node(name, w) for w in getattr(found, "warnings", [])]
        findings.checked.append(name)
    return findings


def _at_node(check: str, finding: Any) -> Problem:
    text = str(finding)
    node, sep, rest = text.partition(": ")
    if sep and node.startswith("/") and " " not in node:
        return Problem(node, check, rest)
    return Problem("/", check, text)


__all__ = ["ConventionFindings", "check_conventions", "detect_conventions"]

"""Rules of the plate, well and image-label objects that a JSON Schema cannot express.

They read the raw JSON objects (after the object passed its schema, so the types are
known) and apply to every validated version (0.4, 0.5, 0.6rc0); where the versions
differ, the rule says so. Each rule cites the sentence of the specification it comes
from ("0.4 l.NNN" is the line of ``index.bs`` on ome/ngff-spec branch 0.4, "0.5" likewise,
"0.6" is ``index.md`` on main, version 0.6rc0) and records a MUST breach as an error and a
SHOULD breach as a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._findings import Findings

__all__ = ["container_rules", "image_label_rules", "plate_rules", "repeated", "well_rules"]


def repeated(values: list[Any]) -> list[Any]:
    """The values that occur more than once, sorted by their text."""
    return sorted({v for v in values if values.count(v) > 1}, key=str)


def _names(items: Any) -> list[Any]:
    return [x.get("name") for x in items if isinstance(x, Mapping)] if isinstance(items, list) else []


def plate_rules(plate: Mapping[str, Any], version: str, where: str, f: Findings) -> None:
    """The plate: names, well paths and indices, acquisitions."""
    rows, columns = _names(plate.get("rows")), _names(plate.get("columns"))
    for what, names in (("row", rows), ("column", columns)):
        # MUST NOT be a duplicate of any other name (0.4 l.525/540, 0.5 l.482/497, 0.6 l.1627/1645)
        dup = repeated(names)
        if dup:
            f.must(f"{where}: plate {what} names must be unique; repeated: {dup}")
        # "Care SHOULD be taken to avoid collisions on case-insensitive filesystems"
        # (0.4 l.526/541, 0.5 l.483/498, 0.6 l.1628/1646)
        folded = [n.lower() for n in names if isinstance(n, str)]
        if not dup and repeated(folded):
            f.should(f"{where}: plate {what} names {names} should not differ only by case "
                     "(they collide on case-insensitive file systems)")
    wells = [w for w in plate.get("wells") or [] if isinstance(w, Mapping)]
    dup_paths = repeated([w.get("path") for w in wells])
    if dup_paths:
        f.must(f"{where}: plate well paths must be unique; repeated: {dup_paths}")
    for w in wells:
        _well_entry(w, rows, columns, where, f)
    acquisitions = [a for a in plate.get("acquisitions") or [] if isinstance(a, Mapping)]
    # each acquisition id MUST be a unique integer (0.4 l.509, 0.5 l.466, 0.6 l.1608)
    dup_ids = repeated([a.get("id") for a in acquisitions])
    if dup_ids:
        f.must(f"{where}: plate acquisition ids must be unique; repeated: {dup_ids}")
    for a in acquisitions:
        # each acquisition SHOULD contain name and maximumfieldcount (0.4 l.512-513,
        # 0.5 l.469-470, 0.6 l.1610-1612; required by every version's strict_plate schema)
        for key in ("name", "maximumfieldcount"):
            if key not in a:
                f.should(f"{where}: plate acquisition {a.get('id')!r} should have a {key!r}")
    # the plate SHOULD contain a name (0.4 l.532, 0.5 l.489, 0.6 l.1634; strict_plate schemas)
    if "name" not in plate:
        f.should(f"{where}: the plate should have a 'name'")
    # 0.4: the plate SHOULD contain a version (0.4 l.544; strict_plate schema of 0.4). From
    # 0.5 on the version is that of the 'ome' object.
    if version == "0.4" and "version" not in plate:
        f.should(f"{where}: the 0.4 plate should state its 'version'")
    # The plate SHOULD also contain field_count (0.4 l.529), but no strict schema or suite
    # of any version asks for it (their strict plates have none): not reported.


def _well_entry(w: Mapping[str, Any], rows: list[Any], columns: list[Any], where: str, f: Findings) -> None:
    path, ri, ci = w.get("path"), w.get("rowIndex"), w.get("columnIndex")
    # rowIndex/columnIndex MUST be 0-based indices into rows/columns (0.4 l.552-554,
    # 0.5 l.509-511, 0.6 l.1658-1662)
    if not (isinstance(ri, int) and 0 <= ri < len(rows)) or not (isinstance(ci, int) and 0 <= ci < len(columns)):
        f.must(f"{where}: plate well {path!r}: rowIndex {ri!r} / columnIndex {ci!r} out of range "
               f"for {len(rows)} rows and {len(columns)} columns")
        return
    # "The path MUST consist of a name in the rows list, a file separator (/), and a name
    # from the columns list, in that order. [...] rowIndex, columnIndex, and path MUST all
    # refer to the same row/column pair." (0.4 l.549-555, 0.5 l.506-512, 0.6 l.1653-1663)
    expect = f"{rows[ri]}/{columns[ci]}"
    if path != expect:
        f.must(f"{where}: plate well path {path!r} must be '{{row}}/{{column}}' = {expect!r} "
               f"for rowIndex {ri} and columnIndex {ci}")


def well_rules(well: Mapping[str, Any], version: str, where: str, f: Findings) -> None:
    """The well: unique field paths; 0.4 wells should state their version."""
    images = [im for im in well.get("images") or [] if isinstance(im, Mapping)]
    # the path MUST NOT be a duplicate of any other path (0.4 l.583, 0.5 l.540, 0.6 l.1691)
    dup = repeated([im.get("path") for im in images])
    if dup:
        f.must(f"{where}: well image paths must be unique; repeated: {dup}")
    # 0.4: the well SHOULD contain a version (0.4 l.588; strict_well schema of 0.4)
    if version == "0.4" and "version" not in well:
        f.should(f"{where}: the 0.4 well should state its 'version'")


def image_label_rules(label: Mapping[str, Any], version: str, where: str, f: Findings) -> None:
    """The image-label object: unique label values; colors (and in 0.4 a version) recommended."""
    for key in ("colors", "properties"):
        items = label.get(key)
        if not isinstance(items, list):
            continue
        # "All the values under the label-value key MUST be unique" (0.4 l.474; 0.5 l.431
        # and 0.6 l.1518 "one JSON object for each unique custom label"; properties
        # describe "the unique label values", 0.4 l.481, 0.6 l.1528)
        dup = repeated([c.get("label-value") for c in items if isinstance(c, Mapping)])
        if dup:
            f.must(f"{where}: image-label {key}: label-value must be unique; repeated: {dup}")
    # image-label SHOULD contain colors (0.4 l.469, 0.5 l.426, 0.6 l.1514; strict_label schemas)
    if "colors" not in label:
        f.should(f"{where}: image-label should have 'colors'")
    # 0.4: image-label SHOULD contain a version (0.4 l.493; strict_label schema of 0.4)
    if version == "0.4" and "version" not in label:
        f.should(f"{where}: the 0.4 image-label should state its 'version'")


def container_rules(kind: str, ns: Mapping[str, Any], version: str, where: str, f: Findings) -> None:
    """The rules beyond the schema of a group of ``kind`` "label", "plate" or "well" (every
    version; ``ns`` holds the OME keys); nothing for other kinds."""
    if kind == "label":
        image_label_rules(ns["image-label"], version, where, f)
    elif kind == "plate":
        plate_rules(ns["plate"], version, where, f)
    elif kind == "well":
        well_rules(ns["well"], version, where, f)

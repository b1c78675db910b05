"""Rules of axes and multiscale objects shared by every validated version (0.4, 0.5, 0.6rc0).

Line references as in :mod:`._container_rules`: "0.4 l.NNN" is ``index.bs`` of ome/ngff-spec
branch 0.4 (0.5 likewise), "0.6" is ``index.md`` of version 0.6rc0. A MUST breach is recorded
as an error, a SHOULD breach as a warning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._container_rules import repeated
from ._findings import Findings
from ._units import unit_problem

__all__ = ["axes_rules", "multiscale_recommendations", "scale_recommendations"]

#: Order of axis types in a multiscale image: time, then channel or custom, then space.
_TYPE_RANK = {"time": 0, "space": 2}


def axes_rules(axes: Sequence[Mapping[str, Any]], where: str, f: Findings, *, image: bool) -> None:
    """Unique names, the order of an image's axes, recommended types and units.

    ``image`` is true for the axes of a multiscale image (0.4/0.5 ``axes``, 0.6 the
    coordinate systems of ``multiscales``), whose order the specification fixes.
    """
    names = [a.get("name") for a in axes]
    # names MUST be unique (0.4 l.241, 0.5 l.183, 0.6 l.270 "within the same coordinate system")
    dup = repeated(names)
    if dup:
        f.must(f"{where}: axis names must be unique; repeated: {dup}")
    if image:
        # "the entries MUST be ordered by type where the time axis must come first (if
        # present), followed by the channel or custom axis (if present) and the axes of type
        # space" (0.4 l.359, 0.5 l.305, 0.6 l.1303)
        ranks = [_TYPE_RANK.get(a.get("type") or "", 1) for a in axes]
        if ranks != sorted(ranks):
            f.must(f"{where}: axes {names} must be ordered time, then channel/custom, then space")
    for a in axes:
        # each axis SHOULD contain the field type (0.4 l.242, 0.5 l.184, 0.6 l.255); other
        # than the listed types it MAY take custom values, which are therefore not reported
        if "type" not in a:
            f.should(f"{where}: axis {a.get('name')!r} should have a 'type'")
        # the unit SHOULD be one of the listed space/time units (0.4 l.243, 0.5 l.185,
        # 0.6 l.261-262): "micron", "um" or a space unit on a time axis are warnings. An
        # axis without unit is not reported: every version's strict suite has such axes
        # (a time axis without unit in strict image_omero).
        problem = unit_problem(a.get("unit"), a.get("type"))
        if problem:
            if isinstance(a.get("unit"), str):
                f.should(f"{where}: axis {a.get('name')!r}: {problem}")
            else:
                f.must(f"{where}: axis {a.get('name')!r}: {problem}")


def multiscale_recommendations(ms: Mapping[str, Any], version: str, where: str, f: Findings) -> None:
    """What each multiscales object SHOULD contain (the strict_image schemas require it)."""
    # "Each multiscales dictionary SHOULD contain the field name [...] type [...] metadata"
    # (0.4 l.378-381, 0.5 l.324-327, 0.6 l.1397-1404)
    for key in ("name", "type", "metadata"):
        if key not in ms:
            f.should(f"{where}: the multiscale should have a {key!r}")
    # 0.4: "It SHOULD contain the field version" (0.4 l.378)
    if version == "0.4" and "version" not in ms:
        f.should(f"{where}: the 0.4 multiscale should state its 'version'")


def scale_recommendations(values: Sequence[Any], where: str, f: Findings) -> None:
    """Scale factors SHOULD be non-zero (0.6 l.847); a zero scale is not invertible."""
    if any(v == 0 for v in values):
        f.should(f"{where}: scale {list(values)} has a zero factor, which makes the coordinates degenerate")

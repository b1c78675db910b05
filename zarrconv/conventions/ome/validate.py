"""Check OME-Zarr metadata and hierarchies against the specification (0.4 and 0.5).

Two layers:

* :func:`validate_attrs` checks one group's attributes: against zarrconv's JSON Schemas
  (``conventions/ome/schemas/<version>/*.schema.json``, the rules of the specification in
  our own words) and then the rules a schema cannot express: unique axis names, axis
  order, units (pint, against the specification's lists), vector lengths, unique label
  values, plate well paths against row and column names.
* :func:`validate` walks a store from an OME group (image, labels, plate, wells, fields,
  bioformats2raw series) and adds what needs the arrays: datasets exist with the right
  dimensionality, Zarr format and ``dimension_names``; level shapes agree with the
  scales; label images are integer and match their image; the version is the same
  throughout.

Both return a list of sentences, each starting with the node path; empty means valid.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import zarrconv as zc
from zarrconv.conventions._schemas import load_json
from zarrconv.errors import MetadataError, NodeNotFoundError

from ._units import unit_problem
from .models import Multiscale, OmeMetadata, compose, detect_version, parse_attrs

__all__ = ["validate", "validate_attrs"]

#: Group kinds with a schema each (``conventions/ome/schemas/<version>/<kind>.schema.json``).
_SCHEMA_KINDS = ("image", "label", "labels", "plate", "well", "bioformats2raw", "series")
#: The Zarr format each validated OME-Zarr version is stored in.
_ZARR_FORMAT = {"0.5": 3, "0.4": 2}


def _repeated(values: list[Any], key: Any = None) -> list[Any]:
    """The values that occur more than once, sorted (``key`` as for :func:`sorted`)."""
    return sorted({v for v in values if values.count(v) > 1}, key=key)


@functools.cache
def _validators() -> dict[str, Any]:
    """One jsonschema validator per "<version>/<kind>", sharing a local registry."""
    try:
        import jsonschema
        from referencing import Registry, Resource
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("zarrconv.conventions.ome.validate needs jsonschema: pip install jsonschema") from exc

    resources = []
    names = ["common.schema.json"]
    for version in ("0.4", "0.5"):
        names += [f"{version}/{k}.schema.json" for k in _SCHEMA_KINDS]
    docs = {}
    for n in names:
        doc = load_json("ome", "schemas", *n.split("/"))
        docs[n] = doc
        resources.append((doc["$id"], Resource.from_contents(doc)))
    registry = Registry().with_resources(resources)
    out = {}
    for n, doc in docs.items():
        if n == "common.schema.json":
            continue
        cls = jsonschema.validators.validator_for(doc)
        out[n.removesuffix(".schema.json")] = cls(doc, registry=registry)
    return out


def _schema_problems(attrs: Mapping[str, Any], version: str, kind: str, where: str) -> list[str]:
    validator = _validators()[f"{version}/{kind}"]
    out = []
    for err in sorted(validator.iter_errors(dict(attrs)), key=lambda e: list(map(str, e.absolute_path))):
        loc = err.json_path if err.absolute_path else "$"
        out.append(f"{where}: {loc}: {err.message} (schema {version}/{kind})")
    return out


def _kinds(md: OmeMetadata) -> list[str]:
    kinds = []
    if md.multiscales is not None:
        kinds.append("image")
    if md.image_label is not None:
        kinds.append("label")
    if md.labels is not None:
        kinds.append("labels")
    if md.plate is not None:
        kinds.append("plate")
    if md.well is not None:
        kinds.append("well")
    if md.bioformats2raw_layout is not None and md.plate is None:
        kinds.append("bioformats2raw")
    if md.series is not None:
        kinds.append("series")
    return kinds


def _axes_problems(ms: Multiscale, w: str) -> list[str]:
    out = []
    names = ms.axis_names
    dup = _repeated(names)
    if dup:
        out.append(f"{w}: axis names must be unique; repeated: {dup}")
    rank = {"time": 0, "space": 2}
    ranks = [rank.get(a.type or "", 1) for a in ms.axes]
    if ranks != sorted(ranks):
        out.append(f"{w}: axes {names} must be ordered time, then channel/custom, then space")
    for a in ms.axes:
        problem = unit_problem(a.unit, a.type)
        if problem:
            out.append(f"{w}: axis {a.name!r}: {problem}")
    nd = len(ms.axes)

    def check_transforms(trs: list[Any], loc: str) -> None:
        for t in trs:
            if t.values is not None and len(t.values) != nd:
                out.append(f"{w}: {loc}: {t.type} has {len(t.values)} values for {nd} axes")
            if t.type == "scale" and t.values is not None and any(v == 0 for v in t.values):
                out.append(f"{w}: {loc}: a scale of 0 makes the coordinates degenerate")

    for ds in ms.datasets:
        check_transforms(ds.transforms, f"dataset {ds.path!r}")
    check_transforms(ms.transforms, "multiscale coordinateTransformations")
    paths = ms.paths
    if len(set(paths)) != len(paths):
        out.append(f"{w}: dataset paths must be unique, got {paths}")
    return out


def validate_attrs(attrs: Mapping[str, Any], version: str | None = None, *, where: str = "/") -> list[str]:
    """Problems of one group's attributes (empty list when valid).

    ``version`` defaults to the version the attributes declare; only 0.4 and 0.5 are
    checked (older versions yield one problem saying so).
    """
    try:
        md = parse_attrs(attrs, where)
    except MetadataError as e:
        return [str(e)]
    if md is None:
        return [f"{where}: no OME-Zarr metadata"]
    declared = md.version
    version = version or declared
    out: list[str] = []
    if version not in ("0.4", "0.5"):
        return [f"{where}: OME-Zarr version {version!r} is not validated (zarrconv validates 0.4 and 0.5)"]
    if declared != version:
        out.append(f"{where}: metadata declares version {declared!r}, expected {version!r}")
    if version == "0.5" and not isinstance(attrs.get("ome"), Mapping):
        out.append(f"{where}: OME-Zarr 0.5 metadata must be inside attributes['ome']")
        return out
    if version == "0.4" and "ome" in attrs and not any(k in attrs for k in ("multiscales", "plate", "well", "labels")):
        out.append(f"{where}: OME-NGFF 0.4 metadata lives at the top level of .zattrs, not under 'ome'")
        return out
    kinds = _kinds(md)
    if not kinds:
        out.append(f"{where}: OME metadata without multiscales, labels, image-label, plate, well, "
                   "bioformats2raw.layout or series")
    for kind in kinds:
        out += _schema_problems(attrs, version, kind, where)
    for i, ms in enumerate(md.multiscales or []):
        out += _axes_problems(ms, f"{where}: multiscales[{i}]" if len(md.multiscales or []) > 1 else where)
    if md.image_label is not None:
        for key, items in (("colors", [c.label_value for c in md.image_label.colors or []]),
                           ("properties", [p.get("label-value") for p in md.image_label.properties or []])):
            dup = _repeated(items, key=str)
            if dup:
                out.append(f"{where}: image-label {key}: label-value must be unique; repeated: {dup}")
    if md.plate is not None:
        p = md.plate
        for kind_name, names in (("row", p.rows), ("column", p.columns)):
            dup = _repeated(names)
            if dup:
                out.append(f"{where}: plate {kind_name} names must be unique; repeated: {dup}")
        seen = set()
        for w in p.wells:
            if w.path in seen:
                out.append(f"{where}: plate well {w.path!r} is listed twice")
            seen.add(w.path)
            if not (0 <= w.row_index < len(p.rows)) or not (0 <= w.column_index < len(p.columns)):
                out.append(f"{where}: plate well {w.path!r}: rowIndex/columnIndex out of range")
                continue
            expect = f"{p.rows[w.row_index]}/{p.columns[w.column_index]}"
            if w.path != expect:
                out.append(f"{where}: plate well {w.path!r} does not match rowIndex {w.row_index} and "
                           f"columnIndex {w.column_index}, which name {expect!r}")
        dup_ids = _repeated([a.id for a in p.acquisitions or []])
        if dup_ids:
            out.append(f"{where}: plate acquisition ids must be unique; repeated: {dup_ids}")
    if md.well is not None:
        dup = _repeated([im.path for im in md.well.images])
        if dup:
            out.append(f"{where}: well image paths must be unique; repeated: {dup}")
    return out


# --------------------------------------------------------------------- hierarchy checks


class _Walker:
    def __init__(self, root: zc.Group) -> None:
        self.root = root
        self.problems: list[str] = []
        self.versions: dict[str, str] = {}

    def loc(self, group: zc.Group) -> str:
        rel = group.path[len(self.root.path):].strip("/")
        return rel or "/"

    def metadata(self, group: zc.Group) -> OmeMetadata | None:
        attrs = group.attrs.asdict()
        where = self.loc(group)
        self.problems += validate_attrs(attrs, where=where) if detect_version(attrs) is not None else []
        try:
            md = parse_attrs(attrs, where)
        except MetadataError:
            return None
        if md is not None:
            self.versions[where] = md.version
            expected_format = _ZARR_FORMAT.get(md.version)
            if expected_format is not None and group.zarr_format != expected_format:
                self.problems.append(f"{where}: OME-Zarr {md.version} needs Zarr v{expected_format} groups, "
                                     f"this one is v{group.zarr_format}")
        return md

    def child(self, group: zc.Group, path: str, what: str) -> Any:
        try:
            return group[path]
        except (NodeNotFoundError, zc.InvalidPathError):
            base = self.loc(group)
            self.problems.append(f"{base}: {what} {path!r} does not exist")
            return None

    # -- images ------------------------------------------------------------------------------
    def image(self, group: zc.Group, md: OmeMetadata, *, label_of: list[tuple[int, ...]] | None = None) -> list[tuple[int, ...]]:
        where = self.loc(group)
        assert md.multiscales is not None
        expected_format = _ZARR_FORMAT.get(md.version)
        shapes_first: list[tuple[int, ...]] = []
        for mi, ms in enumerate(md.multiscales):
            w = where if len(md.multiscales) == 1 else f"{where}: multiscales[{mi}]"
            nd = len(ms.axes)
            shapes: list[tuple[int, ...]] = []
            arrays = []
            for ds in ms.datasets:
                arr = self.child(group, ds.path, "dataset")
                if arr is None:
                    return shapes_first
                if not isinstance(arr, zc.Array):
                    self.problems.append(f"{w}: dataset {ds.path!r} is a group, not an array")
                    return shapes_first
                arrays.append(arr)
                shapes.append(tuple(arr.shape))
                if arr.ndim != nd:
                    self.problems.append(f"{w}: dataset {ds.path!r} has {arr.ndim} dimensions but there are {nd} axes")
                if expected_format is not None and arr.zarr_format != expected_format:
                    self.problems.append(f"{w}: dataset {ds.path!r} is a Zarr v{arr.zarr_format} array; "
                                         f"OME-Zarr {md.version} needs v{expected_format}")
                if md.version == "0.5" and arr.zarr_format == 3:
                    dn = arr.dimension_names
                    if dn is None or list(dn) != ms.axis_names:
                        self.problems.append(f"{w}: dataset {ds.path!r} has dimension_names {None if dn is None else list(dn)}, "
                                             f"which must equal the axis names {ms.axis_names}")
                if label_of is not None and arr.dtype.kind not in "iu":
                    self.problems.append(f"{w}: label dataset {ds.path!r} has dtype {arr.dtype}; labels must be integers")
            if any(len(s) != nd for s in shapes):
                continue
            self._shapes_vs_scales(ms, shapes, w)
            if md.omero is not None:
                cidx = next((i for i, a in enumerate(ms.axes) if a.type == "channel"), None)
                n = shapes[0][cidx] if cidx is not None else 1
                if md.omero.channels and len(md.omero.channels) != n:
                    self.problems.append(f"{w}: omero lists {len(md.omero.channels)} channels, the image has {n}")
            if label_of is not None:
                if len(shapes) != len(label_of):
                    self.problems.append(f"{w}: the label image has {len(shapes)} levels, its image has {len(label_of)}")
                else:
                    for k, (ls, im) in enumerate(zip(shapes, label_of)):
                        if len(ls) != len(im) or any(a not in (b, 1) for a, b in zip(ls, im)):
                            self.problems.append(f"{w}: level {k} shape {ls} must equal its image's {im} "
                                                 "(or be 1 along an axis)")
                            break
            if mi == 0:
                shapes_first = shapes
        if label_of is None:
            lg = group.get("labels")
            if isinstance(lg, zc.Group):
                lmd = self.metadata(lg)
                if lmd is not None and lmd.labels is not None:
                    for name in lmd.labels:
                        sub = self.child(lg, name, "label image")
                        if not isinstance(sub, zc.Group):
                            continue
                        smd = self.metadata(sub)
                        if smd is None or smd.multiscales is None:
                            self.problems.append(f"{self.loc(sub)}: a label image must have multiscales metadata")
                            continue
                        self.image(sub, smd, label_of=shapes_first)
                elif lmd is None:
                    self.problems.append(f"{self.loc(lg)}: a 'labels' group must list its label images")
        return shapes_first

    def _shapes_vs_scales(self, ms: Multiscale, shapes: list[tuple[int, ...]], w: str) -> None:
        nd = len(ms.axes)
        for k in range(1, len(shapes)):
            if any(a > b for a, b in zip(shapes[k], shapes[k - 1])):
                self.problems.append(f"{w}: dataset {ms.datasets[k].path!r} {shapes[k]} is larger than the "
                                         f"previous level {shapes[k - 1]}; levels go from largest to smallest")
        try:
            scales = [compose(ds.transforms, nd)[0] for ds in ms.datasets]
        except MetadataError:
            return
        if not all(ds.transforms for ds in ms.datasets):
            return
        s0 = scales[0]
        for k in range(1, len(shapes)):
            for i, ax in enumerate(ms.axes):
                if s0[i] == 0:
                    continue
                ratio = scales[k][i] / s0[i]
                if ratio <= 0:
                    continue
                expect = shapes[0][i] / ratio
                if abs(shapes[k][i] - expect) >= 1 + 1e-9 * expect and not (shapes[k][i] == 1 and expect < 1):
                    self.problems.append(
                        f"{w}: dataset {ms.datasets[k].path!r} axis {ax.name!r}: length {shapes[k][i]} does not "
                        f"match its scale (level 0 length {shapes[0][i]} x scale ratio 1/{ratio:g} = {expect:g})")

    # -- containers --------------------------------------------------------------------------
    def plate(self, group: zc.Group, md: OmeMetadata) -> None:
        assert md.plate is not None
        acq_ids = {a.id for a in md.plate.acquisitions or []}
        multi = len(acq_ids) > 1
        for w in md.plate.wells:
            wg = self.child(group, w.path, "well")
            if not isinstance(wg, zc.Group):
                continue
            wmd = self.metadata(wg)
            if wmd is None or wmd.well is None:
                self.problems.append(f"{self.loc(wg)}: a well group must have 'well' metadata")
                continue
            for im in wmd.well.images:
                if multi and im.acquisition is None:
                    self.problems.append(f"{self.loc(wg)}: field {im.path!r} needs an 'acquisition' "
                                         "(the plate has several)")
                if im.acquisition is not None and acq_ids and im.acquisition not in acq_ids:
                    self.problems.append(f"{self.loc(wg)}: field {im.path!r} refers to acquisition "
                                         f"{im.acquisition}, which the plate does not define")
                fg = self.child(wg, im.path, "field")
                if isinstance(fg, zc.Group):
                    self.node(fg)

    def container(self, group: zc.Group, md: OmeMetadata) -> None:
        ome = group.get("OME")
        paths: list[str] | None = None
        if isinstance(ome, zc.Group):
            omd = self.metadata(ome)
            if omd is not None and omd.series is not None:
                paths = omd.series
        if paths is None:
            paths = []
            i = 0
            while isinstance(group.get(str(i)), zc.Group):
                paths.append(str(i))
                i += 1
            if not paths:
                self.problems.append(f"{self.loc(group)}: bioformats2raw container without images "
                                     "(no OME/series and no group '0')")
        for p in paths:
            g = self.child(group, p, "series image")
            if isinstance(g, zc.Group):
                self.node(g)

    def node(self, group: zc.Group) -> None:
        md = self.metadata(group)
        if md is None:
            if detect_version(group.attrs.asdict()) is None:
                self.problems.append(f"{self.loc(group)}: no OME-Zarr metadata")
            return
        if md.plate is not None:
            self.plate(group, md)
        elif md.multiscales is not None:
            self.image(group, md)
        elif md.bioformats2raw_layout is not None:
            self.container(group, md)
        elif md.well is not None:
            for im in md.well.images:
                fg = self.child(group, im.path, "field")
                if isinstance(fg, zc.Group):
                    self.node(fg)


def validate(store: Any, path: str | None = None, *, storage_options: dict | None = None) -> list[str]:
    """Check an OME-Zarr hierarchy; returns the problems found (empty when valid).

    ``store`` is anything :func:`zarrconv.open_group` accepts or a Group; the walk starts at
    ``path`` and follows what the metadata references: an image's datasets and labels, a
    plate's wells and fields, a bioformats2raw container's series.
    """
    if isinstance(store, zc.Group):
        group = store[path] if path else store
    else:
        try:
            group = zc.open_group(store, path=path, mode="r", storage_options=storage_options)
        except NodeNotFoundError as e:
            return [str(e)]
    walker = _Walker(group)
    walker.node(group)
    versions = sorted(set(walker.versions.values()))
    if len(versions) > 1:
        detail = ", ".join(f"{k}: {v}" for k, v in sorted(walker.versions.items()))
        walker.problems.append(f"/: the OME-Zarr version must be the same throughout the hierarchy; found {detail}")
    return list(dict.fromkeys(walker.problems))  # each problem once, in the order found

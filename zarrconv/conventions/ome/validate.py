"""Check OME-Zarr metadata and hierarchies against the specification (0.4, 0.5, 0.6rc0).

Severity follows the specification's own key words: breaking a MUST makes a document
invalid (an *error*); breaking a SHOULD is a *warning*, and an error only with
``strict=True`` (the way the specification's "strict" schemas and suites treat them).
Both functions return a :class:`ValidationReport`: a list of the errors (empty means
valid) whose ``warnings`` attribute lists the rest.

Two layers:

* :func:`validate_attrs` checks one group's attributes. 0.4 and 0.5 against zarrconv's JSON
  Schemas (``conventions/ome/schemas/<version>/*.schema.json``, the rules of the
  specification in our own words), 0.6rc0 against the specification's own schemas
  (``conventions/ome/schemas/0.6rc0``); then the rules a schema cannot express (modules
  ``_axes_rules``, ``_container_rules``, ``_validate_06``, each rule citing its sentence of
  the specification): unique axis names, axis order, units, vector lengths, unique label
  values, plate well paths against row and column names, and the recommendations.
* :func:`validate` walks a store from an OME group (image, labels, plate, wells, fields,
  bioformats2raw series) and adds what needs the arrays: datasets exist with the right
  dimensionality, Zarr format and ``dimension_names``; level shapes agree with the
  scales; label images are integer and match their image; the version is the same
  throughout.

Each sentence starts with the node path.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import zarrconv as zc
from zarrconv.conventions._schemas import load_json
from zarrconv.errors import MetadataError, NodeNotFoundError

from ._axes_rules import axes_rules, multiscale_recommendations, scale_recommendations
from ._container_rules import container_rules, repeated
from ._findings import Findings, ValidationReport
from ._validate_06 import OFFICIAL_SCHEMA_VERSIONS, validate_06
from .models import Multiscale, OmeMetadata, compose, detect_version, parse_attrs

__all__ = ["ValidationReport", "validate", "validate_attrs"]

#: Group kinds with a schema each (``conventions/ome/schemas/<version>/<kind>.schema.json``).
_SCHEMA_KINDS = ("image", "label", "labels", "plate", "well", "bioformats2raw", "series")
#: The Zarr format each validated OME-Zarr version is stored in.
_ZARR_FORMAT = {"0.6": 3, "0.6rc0": 3, "0.5": 3, "0.4": 2}


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


def _multiscale_rules(ms: Multiscale, raw: Mapping[str, Any], version: str, w: str, f: Findings) -> None:
    """The 0.4/0.5 multiscale rules beyond the schema (0.4 l.356-381, 0.5 l.302-327)."""
    axes_rules(raw["axes"], w, f, image=True)
    multiscale_recommendations(raw, version, w, f)
    nd = len(ms.axes)

    def check_transforms(trs: list[Any], loc: str) -> None:
        for t in trs:
            # "The length of the scale and translation array MUST be the same as the length
            # of axes" (0.4 l.371, 0.5 l.317)
            if t.values is not None and len(t.values) != nd:
                f.must(f"{w}: {loc}: {t.type} has {len(t.values)} values for {nd} axes")
            if t.type == "scale" and t.values is not None:
                scale_recommendations(t.values, f"{w}: {loc}", f)

    for ds in ms.datasets:
        check_transforms(ds.transforms, f"dataset {ds.path!r}")
    check_transforms(ms.transforms, "multiscale coordinateTransformations")
    # each dataset path names one resolution level "ordered from largest to smallest"
    # (0.4 l.364, 0.5 l.310): one path cannot be two levels
    dup = repeated(ms.paths)
    if dup:
        f.must(f"{w}: dataset paths must be unique, got {ms.paths}")


def _check_04_05(attrs: Mapping[str, Any], version: str, where: str, f: Findings) -> None:
    if version == "0.5" and not isinstance(attrs.get("ome"), Mapping):
        f.must(f"{where}: OME-Zarr 0.5 metadata must be inside attributes['ome']")
        return
    if version == "0.4" and "ome" in attrs and not any(k in attrs for k in ("multiscales", "plate", "well", "labels")):
        f.must(f"{where}: OME-NGFF 0.4 metadata lives at the top level of .zattrs, not under 'ome'")
        return
    try:
        md = parse_attrs(attrs, where)
    except MetadataError as e:
        f.must(str(e))
        return
    assert md is not None  # detect_version found OME metadata
    ns: Mapping[str, Any] = attrs["ome"] if version == "0.5" else attrs
    kinds = _kinds(md)
    if not kinds:
        f.must(f"{where}: OME metadata without multiscales, labels, image-label, plate, well, "
               "bioformats2raw.layout or series")
    for kind in kinds:
        if not f.schema(_validators()[f"{version}/{kind}"], attrs, where, f"schema {version}/{kind}"):
            continue  # the rules below read what the schema guarantees
        if kind == "image":
            multiscales = md.multiscales or []
            for i, ms in enumerate(multiscales):
                w = f"{where}: multiscales[{i}]" if len(multiscales) > 1 else where
                _multiscale_rules(ms, ns["multiscales"][i], version, w, f)
        else:
            container_rules(kind, ns, version, where, f)


def _check_attrs(attrs: Mapping[str, Any], version: str | None, where: str, f: Findings) -> None:
    declared = detect_version(attrs)
    if declared is None:
        f.must(f"{where}: no OME-Zarr metadata")
        return
    version = version or declared
    if declared != version:
        f.must(f"{where}: metadata declares version {declared!r}, expected {version!r}")
    if version in OFFICIAL_SCHEMA_VERSIONS:
        validate_06(attrs, version, where, f)
    elif version in ("0.4", "0.5"):
        _check_04_05(attrs, version, where, f)
    else:
        known = ", ".join(("0.4", "0.5", *sorted(OFFICIAL_SCHEMA_VERSIONS)))
        f.must(f"{where}: OME-Zarr version {version!r} is not validated (zarrconv validates {known})")


def validate_attrs(
    attrs: Mapping[str, Any], version: str | None = None, *, where: str = "/", strict: bool = False
) -> ValidationReport:
    """Check one group's attributes: the errors (empty when valid), warnings in ``.warnings``.

    ``version`` defaults to the version the attributes declare; 0.4, 0.5 and 0.6rc0 are
    checked, and "0.6" against the 0.6rc0 text (other versions yield one error saying so). ``strict=True`` makes the
    specification's recommendations (SHOULD) errors too, like its strict schemas.
    """
    f = Findings()
    _check_attrs(attrs, version, where, f)
    return f.report(strict)


# --------------------------------------------------------------------- hierarchy checks


def _namespace(attrs: Mapping[str, Any]) -> Mapping[str, Any]:
    """Where a group's OME keys live: ``attributes['ome']`` (0.5 on) or the attributes (0.4)."""
    ome = attrs.get("ome")
    return ome if isinstance(ome, Mapping) else attrs


class _Walker:
    def __init__(self, root: zc.Group) -> None:
        self.root = root
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.versions: dict[str, str] = {}

    def loc(self, group: zc.Group) -> str:
        rel = group.path[len(self.root.path):].strip("/")
        return rel or "/"

    def metadata(self, group: zc.Group) -> OmeMetadata | None:
        attrs = group.attrs.asdict()
        where = self.loc(group)
        if detect_version(attrs) is not None:
            report = validate_attrs(attrs, where=where)
            self.problems += report
            self.warnings += report.warnings
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
                self.labels(lg, shapes_first)
        return shapes_first

    def labels(self, lg: zc.Group, shapes: list[tuple[int, ...]]) -> None:
        """The label images a 'labels' group lists, each checked against its image's shapes."""
        lmd = self.metadata(lg)
        if lmd is None:
            self.problems.append(f"{self.loc(lg)}: a 'labels' group must list its label images")
            return
        if lmd.labels is None:
            return
        for name in lmd.labels:
            sub = self.child(lg, name, "label image")
            if not isinstance(sub, zc.Group):
                continue
            smd = self.metadata(sub)
            if smd is None or smd.multiscales is None:
                self.problems.append(f"{self.loc(sub)}: a label image must have multiscales metadata")
                continue
            self.image(sub, smd, label_of=shapes)
        # "All label images SHOULD be listed within this metadata file" (0.5 l.405, 0.6 l.1505);
        # 0.4 says instead "Unlisted groups MAY be labels" (0.4 l.459)
        if lmd.version != "0.4":
            listed = {n.strip("/") for n in lmd.labels}
            for name, sub in sorted(lg.groups()):
                if name not in listed and "image-label" in _namespace(sub.attrs.asdict()):
                    self.warnings.append(f"{self.loc(sub)}: label image {name!r} should be listed in the "
                                         "'labels' metadata of its 'labels' group")

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
    def empty_plate_groups(self, group: zc.Group, md: OmeMetadata) -> None:
        """Row and well groups without images: "A well row group SHOULD NOT be present if
        there are no images in the well row. A well group SHOULD NOT be present if there
        are no images in the well." (0.4 l.198-199, 0.5 l.128-129, 0.6 l.122-123)"""
        assert md.plate is not None
        wells = {w.path for w in md.plate.wells}
        for row, rg in sorted(group.groups()):
            if row not in md.plate.rows:
                continue
            in_row = {p for p in wells if p.split("/")[0] == row}
            if not in_row:
                self.warnings.append(f"{self.loc(rg)}: row group {row!r} has no wells; it should not be present")
                continue
            for column in sorted(set(dict(rg.groups())) & set(md.plate.columns)):
                if f"{row}/{column}" not in wells:
                    self.warnings.append(f"{self.loc(rg)}/{column}: well group {row}/{column} is not a well of the "
                                         "plate (it has no images); it should not be present")

    def plate(self, group: zc.Group, md: OmeMetadata) -> None:
        assert md.plate is not None
        self.empty_plate_groups(group, md)
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


def validate(
    store: Any, path: str | None = None, *, strict: bool = False, storage_options: dict | None = None
) -> ValidationReport:
    """Check an OME-Zarr hierarchy: the errors (empty when valid), warnings in ``.warnings``.

    ``store`` is anything :func:`zarrconv.open_group` accepts or a Group; the walk starts at
    ``path`` and follows what the metadata references: an image's datasets and labels, a
    plate's wells and fields, a bioformats2raw container's series. ``strict=True`` makes
    the specification's recommendations (SHOULD) errors too.
    """
    if isinstance(store, zc.Group):
        group = store[path] if path else store
    else:
        try:
            group = zc.open_group(store, path=path, mode="r", storage_options=storage_options)
        except NodeNotFoundError as e:
            return ValidationReport([str(e)])
    walker = _Walker(group)
    walker.node(group)
    versions = sorted(set(walker.versions.values()))
    if len(versions) > 1:
        detail = ", ".join(f"{k}: {v}" for k, v in sorted(walker.versions.items()))
        # "The OME-Zarr Metadata version MUST be consistent within a hierarchy" (0.5 l.165, 0.6 l.188)
        walker.problems.append(f"/: the OME-Zarr version must be the same throughout the hierarchy; found {detail}")
    findings = Findings()
    findings.errors, findings.warnings = walker.problems, walker.warnings
    return findings.report(strict)

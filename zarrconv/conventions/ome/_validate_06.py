"""Validation of OME-Zarr 0.6rc0 group attributes.

The structure is checked with the specification's own JSON Schemas
(``conventions/ome/schemas/0.6rc0``, one schema per group kind, so that each message
names the part that is wrong); the rules a schema cannot express follow in Python, with
the line of the 0.6rc0 text (``index.md`` of ome/ngff-spec) they come from. Everything here
reads the raw JSON, so it does not depend on how zarrconv models 0.6 for reading.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from zarrconv.conventions._schemas import load_json, schema_path

from ._axes_rules import axes_rules, multiscale_recommendations, scale_recommendations
from ._container_rules import container_rules, repeated
from ._findings import Findings

__all__ = ["OFFICIAL_SCHEMA_VERSIONS", "validate_06"]

#: Declared version -> the published text (and folder of official schemas) it is checked
#: against. "0.6" is what ngff-zarr 0.50 writes for 0.6; the only 0.6 text published is
#: 0.6rc0, so such documents are checked against it (its schemas see version "0.6rc0").
OFFICIAL_SCHEMA_VERSIONS = {"0.6rc0": "0.6rc0", "0.6": "0.6rc0"}

#: Key of the 'ome' object -> the official schema of that group kind.
_KIND_SCHEMAS = {
    "multiscales": "image",
    "image-label": "label",
    "plate": "plate",
    "well": "well",
    "scene": "scene",
    "bioformats2raw.layout": "bf2raw",
    "series": "ome",
}


@functools.cache
def _validators(version: str) -> dict[str, Any]:
    """One jsonschema validator per official schema name of ``version``."""
    import jsonschema
    from referencing import Registry, Resource

    folder = schema_path("ome", "schemas", version, "_version.schema").parent
    docs = {p.stem: load_json("ome", "schemas", version, p.name) for p in sorted(folder.glob("*.schema"))}
    registry = Registry().with_resources(
        [(doc["$id"], Resource.from_contents(doc)) for doc in docs.values()]
    )
    return {name: jsonschema.validators.validator_for(doc)(doc, registry=registry) for name, doc in docs.items()}


def validate_06(attrs: Mapping[str, Any], version: str, where: str, f: Findings) -> None:
    """Check the attributes of one 0.6rc0 group; findings go to ``f``."""
    ns = attrs.get("ome")
    # "The group attributes MUST contain a key ome [...] a JSON object that MUST contain a
    # version key" (0.6 l.190-191)
    if not isinstance(ns, Mapping):
        f.must(f"{where}: OME-Zarr {version} metadata must be inside attributes['ome']")
        return
    text = OFFICIAL_SCHEMA_VERSIONS[version]
    if version != text:
        attrs = {**attrs, "ome": {**ns, "version": text}}
    kinds = [kind for key, kind in _KIND_SCHEMAS.items() if key in ns]
    if "labels" in ns:
        # the labels group: "a JSON object with the key labels, whose value is a JSON array
        # of paths" (0.6 l.1503); no official schema has it
        labels = ns["labels"]
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            f.must(f"{where}: 'labels' must be an array of paths, got {labels!r}")
    elif not kinds:
        f.must(f"{where}: no OME-Zarr metadata in attributes['ome'] (none of "
               f"{', '.join(sorted(_KIND_SCHEMAS))} or labels)")
    for kind in kinds:
        if not f.schema(_validators(text)[kind], attrs, where, f"official schema {text}/{kind}"):
            continue
        if kind == "image":
            for i, ms in enumerate(ns["multiscales"]):
                _multiscale_rules(ms, version, f"{where}: multiscales[{i}]", f)
        elif kind == "scene":
            _coordinate_systems(ns["scene"].get("coordinateSystems") or [], f"{where}: scene", f, image=False)
        else:
            container_rules(kind, ns, version, where, f)


def _coordinate_systems(systems: list[Mapping[str, Any]], where: str, f: Findings, *, image: bool) -> None:
    # the name MUST be "unique among all entries in a coordinateSystems array" (0.6 l.211)
    dup = repeated([cs.get("name") for cs in systems])
    if dup:
        f.must(f"{where}: coordinate system names must be unique; repeated: {dup}")
    for cs in systems:
        axes_rules(cs.get("axes") or [], f"{where}: coordinate system {cs.get('name')!r}", f, image=image)


def _multiscale_rules(ms: Mapping[str, Any], version: str, where: str, f: Findings) -> None:
    systems = ms.get("coordinateSystems") or []
    # the conditions on axes (count, order) "apply to all coordinate systems inside
    # multiscales metadata" (0.6 l.1297-1307)
    _coordinate_systems(systems, where, f, image=True)
    multiscale_recommendations(ms, version, where, f)
    dims = {cs.get("name"): len(cs.get("axes") or []) for cs in systems}
    outputs = []
    for ds in ms.get("datasets") or []:
        for t in ds.get("coordinateTransformations") or []:
            w = f"{where}: dataset {ds.get('path')!r}"
            inp, out = t.get("input") or {}, t.get("output") or {}
            # "The input object MUST specify a path field matching the path field of the
            # dataset. The name field under input SHOULD be omitted." (0.6 l.1334-1335)
            if inp.get("path") != ds.get("path"):
                f.must(f"{w}: the transformation's input path {inp.get('path')!r} must be the dataset path")
            if inp.get("name") is not None:
                f.should(f"{w}: the transformation's input should have no 'name'")
            # "The path field of output SHOULD be omitted." (0.6 l.1340)
            if out.get("path") is not None:
                f.should(f"{w}: the transformation's output should have no 'path'")
            outputs.append(out.get("name"))
            _parameter_lengths(t, dims.get(out.get("name")), w, f)
    # the output "MUST be the name of a coordinate system. It MUST be the same value for
    # every resolution level in a single multiscales" (0.6 l.1338-1339)
    if len(set(outputs)) > 1:
        f.must(f"{where}: every dataset transformation must output the same coordinate system; got {outputs}")
    for name in dict.fromkeys(outputs):
        if name not in dims:
            f.must(f"{where}: dataset transformations output {name!r}, which is not a coordinate system "
                   f"of the multiscale ({sorted(map(str, dims))})")


def _parameter_lengths(t: Mapping[str, Any], ndim: int | None, where: str, f: Findings) -> None:
    """Scale and translation arrays have one value per axis: the input and output
    dimensionality "MUST equal the length of the scale/translation array" (0.6 l.818-819,
    845-846); the multiscale's dataset transformations output its intrinsic system."""
    steps = t.get("transformations") if t.get("type") == "sequence" else [t]
    for step in steps or []:
        kind = step.get("type")
        values = step.get(kind) if kind in ("scale", "translation") else None
        if not isinstance(values, list):
            continue
        if ndim is not None and len(values) != ndim:
            f.must(f"{where}: {kind} has {len(values)} values for {ndim} axes")
        if kind == "scale":
            scale_recommendations(values, where, f)

"""``zarrconv info`` and ``zarrconv tree``: what a node is, and the hierarchy below it."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from ..check import broken_consolidated_members
from ..conventions.detect import detect_conventions
from ..core import Array, Group
from ..core import open as open_node_at
from .common import EXIT_OK, EXIT_PROBLEMS, human_bytes, options_for, shape_str


def _codec_str(doc: dict) -> str:
    name = doc.get("name", doc.get("id", "?"))
    conf = doc.get("configuration")
    if conf is None:
        conf = {k: v for k, v in doc.items() if k != "id"}
    if name == "sharding_indexed":
        inner = " -> ".join(_codec_str(c) for c in conf.get("codecs", []))
        return f"sharding_indexed(chunk_shape={shape_str(conf.get('chunk_shape'))}, codecs=[{inner}])"
    args = ", ".join(f"{k}={v}" for k, v in conf.items())
    return f"{name}({args})" if args else name


def _open_node(url: str, options: dict[str, Any], consolidated: bool | None = None) -> Any:
    return open_node_at(url, mode="r", storage_options=options_for(url, options), consolidated=consolidated)


def _array_facts(array: Array, listing: list[str] | None = None) -> dict[str, Any]:
    """Everything ``info`` reports about an array, as JSON-able values."""
    keys = list(array.stored_chunk_keys(listing))
    stored = sum(array.store.sizes(keys))
    meta = array.metadata
    codecs = meta.codecs if array.zarr_format == 3 else [
        *(meta.filters or []), *([meta.compressor] if meta.compressor else [])]
    logical = array.nbytes if array.dtype.kind != "O" else None
    fill = array.fill_value
    return {
        "node": "array",
        "path": array.name,
        "zarr_format": array.zarr_format,
        "shape": list(array.shape),
        "dtype": str(array.dtype),
        "data_type": meta.data_type.json if array.zarr_format == 3 else str(array.dtype),
        "chunks": list(array.chunks),
        "shards": list(array.shards) if array.shards else None,
        "dimension_names": list(array.dimension_names) if array.dimension_names else None,
        "fill_value": fill.item() if isinstance(fill, np.generic) else fill,
        "codecs": [_codec_str(c) for c in codecs],
        "stored_objects": len(keys),
        "grid_objects": array.nshards,
        "stored_bytes": stored,
        "logical_bytes": logical,
        "compression_ratio": (logical / stored) if logical and stored else None,
        "attributes": sorted(array.attrs.keys()),
        "conventions": detect_conventions(dict(array.attrs)),
    }


def _group_facts(group: Group) -> dict[str, Any]:
    members = dict(group.members(max_depth=None))
    prefix = f"{group.path}/" if group.path else ""
    listing = list(group.store.list_prefix(prefix))
    arrays = {k: v for k, v in members.items() if not hasattr(v, "members")}
    array_facts = {k: _array_facts(a, listing) for k, a in sorted(arrays.items())}
    conventions = detect_conventions(dict(group.attrs))
    for name, node in sorted(members.items()):
        for c in detect_conventions(dict(node.attrs)):
            tagged = f"{c} at /{name}" if c not in conventions else None
            if tagged and not any(x.startswith(c) for x in conventions):
                conventions.append(tagged)
    stored = sum(f["stored_bytes"] for f in array_facts.values())
    logical = sum(f["logical_bytes"] or 0 for f in array_facts.values())
    return {
        "node": "group",
        "path": group.name,
        "zarr_format": group.zarr_format,
        "consolidated": group.is_consolidated,
        "groups": sum(1 for v in members.values() if hasattr(v, "members")),
        "arrays": len(arrays),
        "stored_bytes": stored,
        "logical_bytes": logical,
        "compression_ratio": (logical / stored) if logical and stored else None,
        "attributes": sorted(group.attrs.keys()),
        "conventions": conventions,
        "members": array_facts,
    }


def _print_array_facts(f: dict[str, Any], out: Callable[[str], None]) -> None:
    out(f"node:               array {f['path']}")
    out(f"zarr format:        {f['zarr_format']}")
    out(f"shape:              {shape_str(f['shape'])}")
    dt = f["data_type"] if isinstance(f["data_type"], str) else json.dumps(f["data_type"])
    out(f"dtype:              {f['dtype']}" + (f" (data type {dt})" if dt != f["dtype"] else ""))
    out(f"chunks:             {shape_str(f['chunks'])}")
    if f["shards"]:
        out(f"shards:             {shape_str(f['shards'])}")
    if f["dimension_names"]:
        out(f"dimension names:    {', '.join(str(d) for d in f['dimension_names'])}")
    out(f"fill value:         {f['fill_value']!r}")
    out(f"codecs:             {' -> '.join(f['codecs']) or 'none'}")
    what = "shards" if f["shards"] else "chunks"
    out(f"{'stored ' + what + ':':<20}{f['stored_objects']} of {f['grid_objects']}")
    _print_sizes_and_tags(f, out)


def _print_group_facts(f: dict[str, Any], out: Callable[[str], None]) -> None:
    out(f"node:               group {f['path']}")
    out(f"zarr format:        {f['zarr_format']}")
    out(f"consolidated:       {'yes' if f['consolidated'] else 'no'}")
    out(f"members:            {f['arrays']} arrays, {f['groups']} groups")
    _print_sizes_and_tags(f, out)
    if f["members"]:
        out("arrays:")
        width = max(len(k) for k in f["members"])
        for name, m in f["members"].items():
            ratio = f"{m['compression_ratio']:.2f}x" if m["compression_ratio"] else "-"
            shards = f" shards {shape_str(m['shards'])}" if m["shards"] else ""
            out(f"  {name:<{width}}  {shape_str(m['shape'])} {m['dtype']} chunks {shape_str(m['chunks'])}{shards}"
                f"  {human_bytes(m['stored_bytes'])} stored, ratio {ratio}")


def _print_sizes_and_tags(f: dict[str, Any], out: Callable[[str], None]) -> None:
    """The lines an array's and a group's description share: sizes, attributes, conventions."""
    out(f"stored size:        {human_bytes(f['stored_bytes'])}")
    if f["logical_bytes"] is not None:
        out(f"logical size:       {human_bytes(f['logical_bytes'])}")
    if f["compression_ratio"]:
        out(f"compression ratio:  {f['compression_ratio']:.2f}")
    if f["attributes"]:
        out(f"attributes:         {', '.join(f['attributes'])}")
    out(f"conventions:        {', '.join(f['conventions']) or 'none detected'}")


def _broken_members(node: Array | Group) -> list[str]:
    return broken_consolidated_members(node) if isinstance(node, Group) else []


def _report_broken(problems: list[str]) -> int:
    for p in problems:
        print(f"zarrconv: problem: {p}", file=sys.stderr)
    return EXIT_PROBLEMS if problems else EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    """``zarrconv info URL`` (exit 1 when a member's own metadata is broken)."""
    node = _open_node(args.url, args.storage_options)
    facts = _group_facts(node) if hasattr(node, "members") else _array_facts(node)
    facts["url"] = args.url
    broken = _broken_members(node)
    if args.json:
        print(json.dumps({**facts, "problems": broken}, indent=2, default=str))
        return _report_broken(broken)
    out = print
    out(f"url:                {args.url}")
    if facts["node"] == "array":
        _print_array_facts(facts, out)
        return EXIT_OK
    _print_group_facts(facts, out)
    return _report_broken(broken)


def tree_lines(node: Array | Group) -> list[str]:
    """The hierarchy below ``node`` as text lines: shape, dtype, chunks (and shards) of each array."""
    def describe(a: Any) -> str:
        shards = f" shards={shape_str(a.shards)}" if a.shards else ""
        return f"{shape_str(a.shape)} {a.dtype} chunks={shape_str(a.chunks)}{shards}"

    def group_label(g: Any) -> str:
        tags = detect_conventions(dict(g.attrs))
        return ("/" if g is not node else "") + (f"  [{', '.join(tags)}]" if tags else "")

    if not hasattr(node, "members"):
        return [f"{node.name} {describe(node)}"]
    return node.tree(array_label=describe, group_label=group_label).splitlines()


def cmd_tree(args: argparse.Namespace) -> int:
    """``zarrconv tree URL`` (exit 1 when a member's own metadata is broken)."""
    node = _open_node(args.url, args.storage_options)
    print("\n".join(tree_lines(node)))
    return _report_broken(_broken_members(node))

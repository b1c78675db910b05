"""The ``zarrconv`` command: inspect, validate, convert Zarr stores and build OME / geo products.

Subcommands::

    zarrconv info URL              what a node is: format, shape, chunks, codecs, sizes, conventions
    zarrconv tree URL              the hierarchy with shapes, dtypes and chunks
    zarrconv validate URL          spec and convention checks (--data decodes every chunk; --strict:
                                   OME-Zarr recommendations are errors, not warnings)
    zarrconv convert SRC DST       copy, rechunk, re-shard, re-compress, v2 <-> v3
    zarrconv ome pyramid SRC DST   an OME-Zarr multiscale image from a Zarr array or a TIFF
    zarrconv ome upgrade PATH --to V   OME-Zarr metadata 0.4 -> 0.5 -> 0.6 in place (no chunk touched)
    zarrconv ome transform PATH SOURCE TARGET COORDINATES
                                   points moved between coordinate systems (OME-Zarr 0.6)
    zarrconv geo info URL          CRS, bounds and resolution of every georeferenced node

Exit status: 0 on success, 1 when ``validate`` finds problems (or ``info`` / ``tree`` a member
whose own metadata is broken behind consolidated metadata), 2 on an error (one readable line on
stderr; ``--debug`` prints the traceback too).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from . import __version__
from .errors import ZarrconvError

EXIT_OK, EXIT_PROBLEMS, EXIT_ERROR = 0, 1, 2


# -- small helpers ------------------------------------------------------------------------------

def _is_remote(url: str) -> bool:
    return "://" in url and not url.startswith("file://")


def parse_storage_options(items: Sequence[str] | None) -> dict[str, Any]:
    """``KEY=VALUE`` pairs as a (nested, for dotted keys) dict; values parsed as JSON when they are JSON.

    >>> parse_storage_options(["anon=true", "client_kwargs.endpoint_url=http://127.0.0.1:9000"])
    {'anon': True, 'client_kwargs': {'endpoint_url': 'http://127.0.0.1:9000'}}
    """
    out: dict[str, Any] = {}
    for item in items or ():
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--storage-option {item!r} must look like KEY=VALUE")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        target = out
        *parents, last = key.split(".")
        for p in parents:
            target = target.setdefault(p, {})
            if not isinstance(target, dict):
                raise ValueError(f"--storage-option {item!r} conflicts with an earlier non-dict value for {p!r}")
        target[last] = value
    return out


def _options_for(url: str, options: dict[str, Any]) -> dict[str, Any] | None:
    """Storage options apply to remote URLs only (local paths take none)."""
    return options if options and _is_remote(url) else None


def _human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def _shape_str(shape: Iterable[int] | None) -> str:
    if shape is None:
        return "-"
    parts = [str(int(s)) for s in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def _codec_str(doc: dict) -> str:
    name = doc.get("name", doc.get("id", "?"))
    conf = doc.get("configuration")
    if conf is None:
        conf = {k: v for k, v in doc.items() if k != "id"}
    if name == "sharding_indexed":
        inner = " -> ".join(_codec_str(c) for c in conf.get("codecs", []))
        return f"sharding_indexed(chunk_shape={_shape_str(conf.get('chunk_shape'))}, codecs=[{inner}])"
    args = ", ".join(f"{k}={v}" for k, v in conf.items())
    return f"{name}({args})" if args else name


class _Progress:
    """A tqdm bar on a terminal; silent when stderr is not a terminal or with --quiet."""

    def __init__(self, enabled: bool, total: int | None, desc: str, unit: str = "chunk") -> None:
        self._bar = None
        if enabled and (total is None or total > 1) and sys.stderr.isatty():
            try:
                from tqdm import tqdm
            except ImportError:  # tqdm is in the [cli] extra
                return
            self._bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False)

    def update(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# -- describing nodes ---------------------------------------------------------------------------

def detect_conventions(attrs: dict[str, Any]) -> list[str]:
    """Names of the conventions whose attributes a node carries (OME-Zarr, GeoZarr, CF, GDAL)."""
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


def _open_node(url: str, options: dict[str, Any], consolidated: bool | None = None) -> Any:
    import zarrconv as zc

    return zc.open(url, mode="r", storage_options=_options_for(url, options), consolidated=consolidated)


def _object_sizes(store: Any, keys: list[str]) -> list[int]:
    """Stored sizes of keys, without reading them where the store allows it."""
    from .store.local import LocalStore

    if isinstance(store, LocalStore):
        sizes = []
        for k in keys:
            try:
                sizes.append(os.path.getsize(os.path.join(store.root, *k.split("/"))))
            except OSError:
                sizes.append(0)
        return sizes
    fs = getattr(store, "fs", None)
    root = getattr(store, "root", None)
    if fs is not None and root is not None and keys:
        try:  # one listing with details instead of one request per key
            common = os.path.commonpath(keys) if len(keys) > 1 else keys[0].rpartition("/")[0]
            base = "/".join(p for p in (root, common) if p)
            listed = fs.find(base, detail=True)
            by_key = {fs._strip_protocol(path)[len(root) + 1 if root else 0:]: int(info.get("size") or 0)
                      for path, info in listed.items()}
            if all(k in by_key for k in keys):
                return [by_key[k] for k in keys]
        except Exception:  # some filesystems cannot list with sizes: fall back to reading
            pass
    return [len(b or b"") for b in store.get_many([(k, None) for k in keys])]


def _chunk_keys(array: Any, listing: Iterable[str]) -> list[str]:
    """The stored chunk (or shard) keys of ``array`` among store keys ``listing``."""
    prefix = f"{array.path}/" if array.path else ""
    decode = array.metadata.chunk_key_encoding.decode
    grid = array.metadata.chunk_grid.grid_shape(array.shape)
    out = []
    for key in listing:
        if not key.startswith(prefix):
            continue
        coords = decode(key[len(prefix):])
        if coords is not None and len(coords) == len(grid) and all(0 <= c < g for c, g in zip(coords, grid)):
            out.append(key)
    return out


def _array_facts(array: Any, listing: list[str] | None = None) -> dict[str, Any]:
    """Everything ``info`` reports about an array, as JSON-able values."""
    prefix = f"{array.path}/" if array.path else ""
    keys = _chunk_keys(array, listing if listing is not None else array.store.list_prefix(prefix))
    stored = sum(_object_sizes(array.store, keys))
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


def _group_facts(group: Any) -> dict[str, Any]:
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
        "consolidated": group._consolidated is not None,
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
    out(f"shape:              {_shape_str(f['shape'])}")
    dt = f["data_type"] if isinstance(f["data_type"], str) else json.dumps(f["data_type"])
    out(f"dtype:              {f['dtype']}" + (f" (data type {dt})" if dt != f["dtype"] else ""))
    out(f"chunks:             {_shape_str(f['chunks'])}")
    if f["shards"]:
        out(f"shards:             {_shape_str(f['shards'])}")
    if f["dimension_names"]:
        out(f"dimension names:    {', '.join(str(d) for d in f['dimension_names'])}")
    out(f"fill value:         {f['fill_value']!r}")
    out(f"codecs:             {' -> '.join(f['codecs']) or 'none'}")
    what = "shards" if f["shards"] else "chunks"
    out(f"{'stored ' + what + ':':<20}{f['stored_objects']} of {f['grid_objects']}")
    out(f"stored size:        {_human_bytes(f['stored_bytes'])}")
    if f["logical_bytes"] is not None:
        out(f"logical size:       {_human_bytes(f['logical_bytes'])}")
    if f["compression_ratio"]:
        out(f"compression ratio:  {f['compression_ratio']:.2f}")
    if f["attributes"]:
        out(f"attributes:         {', '.join(f['attributes'])}")
    out(f"conventions:        {', '.join(f['conventions']) or 'none detected'}")


def broken_members(node: Any) -> list[str]:
    """``"/path: what"`` for each member of a group opened from consolidated metadata whose own
    metadata documents do not parse.

    ``info`` and ``tree`` describe a group from its consolidated metadata (one read); a member
    whose own document is broken looks healthy there while every reader that opens it fails.
    """
    from .core.nodes import fetch_docs, join, parse_docs

    if not hasattr(node, "members") or node._consolidated is None:
        return []
    paths = [join(node.path, rel) for rel, _ in node.members(max_depth=None)]
    found = []
    try:
        docs: list[Any] = fetch_docs(node.store, paths, node.zarr_format)
    except ZarrconvError:  # some document is not JSON: find which, one node at a time
        docs = []
        for path in paths:
            try:
                docs.append(fetch_docs(node.store, [path], node.zarr_format)[0])
            except ZarrconvError as e:
                found.append(f"/{path}: {e}")
                docs.append(None)
    for path, doc in zip(paths, docs):
        try:
            if doc is not None:
                parse_docs(node.store, path, doc)
        except ZarrconvError as e:
            found.append(f"/{path}: {e}")
    return [f"{f}; only the consolidated metadata describes it as healthy (zarrconv validate checks both)"
            for f in sorted(found)]


def _report_broken(problems: list[str]) -> int:
    for p in problems:
        print(f"zarrconv: problem: {p}", file=sys.stderr)
    return EXIT_PROBLEMS if problems else EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    """``zarrconv info URL`` (exit 1 when a member's own metadata is broken)."""
    node = _open_node(args.url, args.storage_options)
    facts = _group_facts(node) if hasattr(node, "members") else _array_facts(node)
    facts["url"] = args.url
    broken = broken_members(node)
    if args.json:
        print(json.dumps({**facts, "problems": broken}, indent=2, default=str))
        return _report_broken(broken)
    out = print
    out(f"url:                {args.url}")
    if facts["node"] == "array":
        _print_array_facts(facts, out)
        return EXIT_OK
    out(f"node:               group {facts['path']}")
    out(f"zarr format:        {facts['zarr_format']}")
    out(f"consolidated:       {'yes' if facts['consolidated'] else 'no'}")
    out(f"members:            {facts['arrays']} arrays, {facts['groups']} groups")
    out(f"stored size:        {_human_bytes(facts['stored_bytes'])}")
    out(f"logical size:       {_human_bytes(facts['logical_bytes'])}")
    if facts["compression_ratio"]:
        out(f"compression ratio:  {facts['compression_ratio']:.2f}")
    if facts["attributes"]:
        out(f"attributes:         {', '.join(facts['attributes'])}")
    out(f"conventions:        {', '.join(facts['conventions']) or 'none detected'}")
    if facts["members"]:
        out("arrays:")
        width = max(len(k) for k in facts["members"])
        for name, f in facts["members"].items():
            ratio = f"{f['compression_ratio']:.2f}x" if f["compression_ratio"] else "-"
            shards = f" shards {_shape_str(f['shards'])}" if f["shards"] else ""
            out(f"  {name:<{width}}  {_shape_str(f['shape'])} {f['dtype']} chunks {_shape_str(f['chunks'])}{shards}"
                f"  {_human_bytes(f['stored_bytes'])} stored, ratio {ratio}")
    return _report_broken(broken)


def tree_lines(node: Any) -> list[str]:
    """The hierarchy below ``node`` as text lines: shape, dtype, chunks (and shards) of each array."""
    def describe(a: Any) -> str:
        shards = f" shards={_shape_str(a.shards)}" if a.shards else ""
        return f"{_shape_str(a.shape)} {a.dtype} chunks={_shape_str(a.chunks)}{shards}"

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
    return _report_broken(broken_members(node))


# -- validate -----------------------------------------------------------------------------------

@dataclass
class Problem:
    """One thing ``validate`` found wrong: where, which check, what."""

    node: str
    check: str
    message: str

    def __str__(self) -> str:
        return f"{self.node}: [{self.check}] {self.message}"


def _walk_metadata(store: Any, path: str, problems: list[Problem]) -> Iterator[tuple[str, Any]]:
    """Every node below ``path`` (itself included) with its parsed metadata; failures become problems.

    Reads each node's documents directly (never consolidated metadata), so that a broken
    node is reported and its siblings are still checked.
    """
    from .core.nodes import fetch_docs, join, parse_docs
    from .format.metadata import GroupMetadata

    def parse_one(p: str) -> Any:
        try:
            docs = fetch_docs(store, [p], None)[0]
            if not docs:
                return None
            return parse_docs(store, p, docs)
        except ZarrconvError as e:
            problems.append(Problem("/" + p, "spec", str(e)))
            return None

    root = parse_one(path)
    if root is None:
        if not problems:
            from .errors import NodeNotFoundError

            raise NodeNotFoundError(f"no Zarr array or group at {path or '/'!r} in {store.url}")
        return
    pending = [(path, root)]
    while pending:
        p, meta = pending.pop()
        yield p, meta
        if isinstance(meta, GroupMetadata):
            _, dirs = store.list_dir(f"{p}/" if p else "")
            for d in sorted(dirs, reverse=True):
                child = parse_one(join(p, d))
                if child is not None:
                    pending.append((join(p, d), child))


def _check_array_spec(store: Any, path: str, meta: Any, problems: list[Problem]) -> None:
    from .codecs import build_pipeline

    if not meta.chunk_grid.is_regular:
        return
    try:
        build_pipeline(meta)
    except ZarrconvError as e:
        problems.append(Problem("/" + path, "codecs", str(e)))


def _check_consolidated(store: Any, path: str, meta: Any, nodes: dict[str, Any], problems: list[Problem]) -> None:
    """Consolidated metadata must list exactly the nodes below the group, with their current documents."""
    from .core.consolidated import consolidated_docs
    from .core.nodes import join, parse_docs, read_consolidated

    try:
        cons = read_consolidated(store, path, meta)
    except ZarrconvError as e:
        problems.append(Problem("/" + path, "consolidated", str(e)))
        return
    if cons is None:
        return
    prefix = f"{path}/" if path else ""
    below = {p[len(prefix):]: m for p, m in nodes.items() if p.startswith(prefix) and p != path}
    for rel in sorted(set(below) - set(cons)):
        problems.append(Problem("/" + path, "consolidated",
                                f"node {rel!r} exists but is missing from the consolidated metadata "
                                "(re-run zarrconv.consolidate_metadata)"))
    broken = {p.node.lstrip("/") for p in problems if p.check == "spec"}
    for rel in sorted(set(cons) - set(below)):
        full = join(path, rel)
        bad = next((b for b in sorted(broken) if full == b or full.startswith(f"{b}/")), None)
        if bad is None:
            what = "which does not exist in the store"
        elif bad == full:
            what = "whose own metadata is broken (see its [spec] problem); readers of the consolidated copy miss that"
        else:
            what = f"below /{bad}, whose own metadata is broken (see its [spec] problem)"
        problems.append(Problem("/" + path, "consolidated", f"consolidated metadata lists {rel!r}, {what}"))
    for rel in sorted(set(cons) & set(below)):
        try:
            listed = consolidated_docs(parse_docs(store, join(path, rel), cons[rel]))
        except ZarrconvError as e:
            problems.append(Problem("/" + path, "consolidated", f"entry {rel!r}: {e}"))
            continue
        if _comparable(listed) != _comparable(consolidated_docs(below[rel])):
            problems.append(Problem("/" + path, "consolidated",
                                    f"consolidated metadata of {rel!r} differs from its own metadata document "
                                    "(stale; re-run zarrconv.consolidate_metadata)"))


def _comparable(docs: dict[str, Any]) -> str:
    cleaned = {}
    for name, doc in docs.items():
        if isinstance(doc, dict):
            doc = {k: v for k, v in doc.items() if k != "consolidated_metadata"}
            if name == ".zattrs" and not doc:
                continue
        cleaned[name] = doc
    return json.dumps(cleaned, sort_keys=True, default=str)


def _check_xarray(arrays: dict[str, Any], problems: list[Problem]) -> None:
    """Attributes of xarray datasets that xarray's zarr engine cannot read (one group at a time)."""
    from .format.xarray_attrs import xarray_problems

    by_group: dict[str, dict[str, Any]] = {}
    for path, meta in arrays.items():
        parent, _, name = path.rpartition("/")
        by_group.setdefault(parent, {})[name] = meta
    for parent, group_arrays in sorted(by_group.items()):
        for name, message in xarray_problems(group_arrays):
            problems.append(Problem("/" + "/".join(p for p in (parent, name) if p), "xarray", message))


def _check_data(url: str, options: dict[str, Any], problems: list[Problem], progress: bool) -> int:
    """Decode every stored chunk through :func:`zarrconv.check`; returns the number checked."""
    from .check import check

    spec_nodes = {p.node for p in problems}
    with _Progress(progress, None, "checking chunks") as bar:
        report = check(url, storage_options=_options_for(url, options), progress=bar.update)
    for p in report.problems:
        if p.node in spec_nodes:  # already reported by the metadata checks
            continue
        problems.append(Problem(p.node, "data", p.message))
    return report.chunks_checked


def _convention_checks(url: str, options: dict[str, Any], all_attrs: list[dict[str, Any]],
                       problems: list[Problem], warnings: list[Problem], strict: bool = False) -> list[str]:
    """OME-Zarr and GeoZarr validators for the conventions the store's attributes use.

    What a validator lists in its result's ``warnings`` (readable but not standard) goes to ``warnings``.
    The OME-Zarr validator grades by the specification's key words (SHOULD breaches are its
    warnings); ``strict`` makes those errors.
    """
    import importlib

    ran = []
    tags = {t.split(" ")[0] for attrs in all_attrs for t in detect_conventions(attrs)}
    wanted = []
    if "OME-Zarr" in tags:
        wanted.append(("ome", "zarrconv.conventions.ome"))
    if tags & {"GeoZarr", "CF", "GDAL", "zarr-conventions"}:
        wanted.append(("geo", "zarrconv.conventions.geo"))
    for name, module in wanted:
        try:
            validate = importlib.import_module(module).validate
        except (ImportError, AttributeError):
            problems.append(Problem("/", name, f"{module}.validate is not available in this installation; "
                                                "convention not checked"))
            continue
        try:
            kwargs = {"storage_options": _options_for(url, options)} if _options_for(url, options) else {}
            if name == "ome":
                kwargs["strict"] = strict
            found = validate(url, **kwargs)
        except ZarrconvError as e:
            found = [str(e)]
        for into, texts in ((problems, found), (warnings, getattr(found, "warnings", []))):
            for p in texts:
                text = str(p)
                node, sep, rest = text.partition(": ")
                if sep and node.startswith("/") and " " not in node:
                    into.append(Problem(node, name, rest))
                else:
                    into.append(Problem("/", name, text))
        ran.append(name)
    return ran


def cmd_validate(args: argparse.Namespace) -> int:
    """``zarrconv validate URL [--data] [--json] [--strict]``."""
    from .format.metadata import ArrayMetadata
    from .store import make_store

    store = make_store(args.url, mode="r", storage_options=_options_for(args.url, args.storage_options))
    problems: list[Problem] = []
    nodes = dict(_walk_metadata(store, "", problems))
    arrays = {p: m for p, m in nodes.items() if isinstance(m, ArrayMetadata)}
    for p, m in nodes.items():
        if isinstance(m, ArrayMetadata):
            _check_array_spec(store, p, m, problems)
        else:
            _check_consolidated(store, p, m, nodes, problems)
    _check_xarray(arrays, problems)
    checks = ["spec"]
    chunks_checked = None
    if args.data:
        chunks_checked = _check_data(args.url, args.storage_options, problems, not args.quiet)
        checks.append("data")
    warnings: list[Problem] = []
    checks += _convention_checks(args.url, args.storage_options, [m.attributes for m in nodes.values()], problems,
                                 warnings, strict=args.strict)
    if args.json:
        print(json.dumps({"url": args.url, "valid": not problems, "checks": checks, "nodes": len(nodes),
                          "arrays": len(arrays), "chunks_checked": chunks_checked, "strict": args.strict,
                          "problems": [asdict(p) for p in problems], "warnings": [asdict(w) for w in warnings]},
                         indent=2))
    else:
        for p in problems:
            print(p)
        for w in warnings:
            print(f"{w.node}: [{w.check}] warning: {w.message}")
        summary = f"{len(nodes)} nodes ({len(arrays)} arrays), checks: {', '.join(checks)}"
        if chunks_checked is not None:
            summary += f", {chunks_checked} chunks decoded"
        if warnings:
            summary += f", {len(warnings)} warning{'s' if len(warnings) != 1 else ''}"
        if problems:
            print(f"{args.url}: INVALID, {len(problems)} problem{'s' if len(problems) != 1 else ''} in {summary}")
        else:
            print(f"{args.url}: valid ({summary})")
    return EXIT_PROBLEMS if problems else EXIT_OK


# -- convert ------------------------------------------------------------------------------------

def parse_shape_option(value: str | None, name: str) -> Any:
    """``"64,64"`` -> (64, 64); ``"64"`` -> 64 (every dimension of every array); ``"auto"`` and None stay;
    -1 means the whole axis."""
    if value is None or value == "auto":
        return value
    try:
        if "," not in value:
            return int(value)
        return tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise ValueError(f"{name} {value!r} must be comma-separated integers such as 64,256,256, or 'auto'") from None


def parse_compressor_option(value: str | None) -> Any:
    """``zstd``, ``zstd:5`` (level), ``gzip:6``, ``blosc``, ``blosc:9`` or ``none`` as v3 codec documents."""
    if value is None:
        return None
    name, _, level = value.partition(":")
    name = name.strip().lower()
    if name in ("none", "null", ""):
        return []
    if not level:
        return name
    try:
        lvl = int(level)
    except ValueError:
        raise ValueError(f"compressor level in {value!r} must be an integer") from None
    if name == "zstd":
        return {"name": "zstd", "configuration": {"level": lvl, "checksum": False}}
    if name == "gzip":
        return {"name": "gzip", "configuration": {"level": lvl}}
    if name == "blosc":
        return {"name": "blosc", "configuration": {"cname": "zstd", "clevel": lvl, "shuffle": "shuffle", "blocksize": 0}}
    raise ValueError(f"compressor {name!r} takes no level here; use zstd, gzip or blosc with ':LEVEL'")


def convert_store(src_url: str, dst_url: str, *, zarr_format: int = 3, chunks: Any = None, shards: Any = None,
                  compressor: Any = None, overwrite: bool = False, consolidate: bool = True,
                  storage_options: dict[str, Any] | None = None, progress: bool = False) -> int:
    """:func:`zarrconv.convert` with the command's storage options and progress bar.

    Returns the number of blocks copied. ``compressor`` is what ``zc.convert`` takes as
    ``compressors`` (see :func:`parse_compressor_option`).
    """
    import zarrconv as zc

    options = storage_options or {}
    state = {"done": 0, "total": 0}
    bars: list[_Progress] = []

    def report(done: int, total: int) -> None:
        if not bars:  # the first call, before any block is copied, tells the total
            bars.append(_Progress(progress, total, "copying", unit="block"))
        bars[0].update(done - state["done"])
        state.update(done=done, total=total)

    try:
        zc.convert(src_url, dst_url, zarr_format=zarr_format, chunks=chunks, shards=shards, compressors=compressor,
                   overwrite=overwrite, consolidated=consolidate, progress=report,
                   storage_options=_options_for(src_url, options), dst_storage_options=_options_for(dst_url, options))
    finally:
        for bar in bars:
            bar.close()
    return state["total"]


def cmd_convert(args: argparse.Namespace) -> int:
    """``zarrconv convert SRC DST``."""
    n = convert_store(args.src, args.dst, zarr_format=args.zarr_format,
                      chunks=parse_shape_option(args.chunks, "--chunks"),
                      shards=parse_shape_option(args.shards, "--shards"),
                      compressor=parse_compressor_option(args.compressor), overwrite=args.overwrite,
                      consolidate=not args.no_consolidate, storage_options=args.storage_options,
                      progress=not args.quiet)
    if not args.quiet:
        print(f"converted {args.src} -> {args.dst} (Zarr v{args.zarr_format}, {n} blocks copied)")
    return EXIT_OK


# -- ome ----------------------------------------------------------------------------------------

def _read_pyramid_source(src: str, path: str | None,
                         options: dict[str, Any]) -> tuple[Any, tuple[str, ...] | None, dict[str, Any]]:
    """The image to downsample (numpy for a TIFF, dask over the Zarr array otherwise), its
    axis names, and what a TIFF's metadata says: ``scale``/``units`` by axis name, ``channels``."""
    if src.lower().endswith((".tif", ".tiff")) and not _is_remote(src):
        from .conventions.ome.tiff import read_tiff

        image = read_tiff(src)
        found: dict[str, Any] = {"scale": image.scale, "units": image.units}
        if image.channels is not None:
            found["channels"] = image.channels
        return image.data, image.axes, found
    import zarrconv as zc

    from .errors import NodeNotFoundError

    array = zc.open(src, path, mode="r", storage_options=_options_for(src, options))
    if hasattr(array, "members"):
        inner = sorted(k for k, v in array.members(max_depth=None) if not hasattr(v, "members"))
        listed = ", ".join(inner[:6]) + (", ..." if len(inner) > 6 else "") if inner else "none"
        raise NodeNotFoundError(f"{src}{'/' + path if path else ''} is a group, not an array: choose the array "
                                f"to downsample with --path (arrays in it: {listed})")
    names = tuple(array.dimension_names) if array.dimension_names and all(array.dimension_names) else None
    try:
        import dask.array as da
    except ImportError:
        return array[...], names, {}
    return da.from_array(array, chunks=array.shards or array.chunks, asarray=True), names, {}


def cmd_ome_pyramid(args: argparse.Namespace) -> int:
    """``zarrconv ome pyramid SRC DST``."""
    from .conventions import ome

    data, names, found = _read_pyramid_source(args.src, args.path, args.storage_options)
    axes = tuple(args.axes) if args.axes else names
    kwargs: dict[str, Any] = {"method": args.method, "version": args.version, "downscale": args.downscale}
    if axes:
        kwargs["axes"] = list(axes)
        # the TIFF's physical sizes and channels; --scale/--units below take precedence
        for key in ("scale", "units"):
            by_axis = {a: v for a, v in found.get(key, {}).items() if a in axes}
            if by_axis:
                kwargs[key] = by_axis
    if "channels" in found:
        kwargs["channels"] = found["channels"]
    if args.levels is not None:
        kwargs["levels"] = args.levels
    if args.scale:
        kwargs["scale"] = [float(s) for s in args.scale.split(",")]
    if args.units:
        kwargs["units"] = [u or None for u in args.units.split(",")]
    if args.chunks:
        kwargs["chunks"] = parse_shape_option(args.chunks, "--chunks")
    if args.shards:
        kwargs["shards"] = parse_shape_option(args.shards, "--shards")
    if args.name:
        kwargs["name"] = args.name
    dst_opts = _options_for(args.dst, args.storage_options)
    group = ome.write_image(data, args.dst, overwrite=args.overwrite, storage_options=dst_opts, **kwargs)
    if not args.quiet:
        levels = [(k, v) for k, v in group.members() if not hasattr(v, "members")]
        shapes = ", ".join(f"{k}: {_shape_str(v.shape)}" for k, v in levels)
        print(f"wrote OME-Zarr {args.version} pyramid {args.dst} with {len(levels)} levels ({shapes})")
    return EXIT_OK


# -- geo ----------------------------------------------------------------------------------------

def _open_tree(url: str, options: dict[str, Any]) -> Any:
    import xarray as xr

    engine = "zarrconv" if "zarrconv" in xr.backends.list_engines() else "zarr"
    kwargs: dict[str, Any] = {"engine": engine, "decode_times": False}
    if _options_for(url, options):
        kwargs["storage_options"] = _options_for(url, options)
    return xr.open_datatree(url, **kwargs)


def geo_facts(tree: Any) -> list[dict[str, Any]]:
    """CRS, transform, bounds and resolution of every node of ``tree`` that has a CRS or a transform."""
    from .conventions import geo

    out = []
    for node in tree.subtree:
        if not node.data_vars:
            continue
        crs = geo.crs(node)
        try:
            transform = geo.transform(node)
            bounds = geo.bounds(node)
        except (ValueError, KeyError):  # no identifiable x/y dimensions
            transform = bounds = None
        if crs is None and transform is None:
            continue
        epsg = crs.to_epsg() if crs is not None else None
        out.append({
            "path": node.path,
            "variables": sorted(str(v) for v in node.data_vars if node[v].ndim >= 2),
            "crs": crs.name if crs is not None else None,
            "crs_code": f"EPSG:{epsg}" if epsg else None,
            "transform": list(transform) if transform else None,
            "resolution": [abs(transform[0]), abs(transform[4])] if transform else None,
            "bounds": list(bounds) if bounds else None,
            "units": (crs.axis_info[0].unit_name if crs is not None and crs.axis_info else None),
            "sizes": {str(k): int(v) for k, v in node.sizes.items()},
        })
    return out


def cmd_ome_transform(args: argparse.Namespace) -> int:
    """``zarrconv ome transform PATH SOURCE TARGET COORDINATES`` (the RFC-5 conformance
    "dingus" contract): prints ``{"coordinates": [...]}``, or ``{"message": ...}`` and exits
    non-zero when the points cannot be transformed."""
    from .conventions import ome

    try:
        points = json.loads(args.coordinates)
        out = ome.transform_coordinates(args.path, args.source, args.target, points,
                                        storage_options=args.storage_options)
    except (ZarrconvError, ValueError) as e:
        print(json.dumps({"message": " ".join(str(e).split())}))
        return EXIT_ERROR
    print(json.dumps({"coordinates": out.tolist()}))
    return EXIT_OK


def cmd_ome_upgrade(args: argparse.Namespace) -> int:
    """``zarrconv ome upgrade PATH --to 0.5|0.6``."""
    from .conventions.ome.upgrade import upgrade

    done = upgrade(args.path, args.to, storage_options=args.storage_options)
    if not done:
        print(f"{args.path}: already OME-Zarr {args.to}; nothing to do")
    for rel in done:
        print(f"upgraded {args.path.rstrip('/')}/{rel}".rstrip("/") + f" to OME-Zarr {args.to}")
    return EXIT_OK


def cmd_geo_info(args: argparse.Namespace) -> int:
    """``zarrconv geo info URL``."""
    facts = geo_facts(_open_tree(args.url, args.storage_options))
    if args.json:
        print(json.dumps({"url": args.url, "nodes": facts}, indent=2))
        return EXIT_OK
    if not facts:
        print(f"{args.url}: no georeferenced variables found (no CRS and no regular x/y coordinates)")
        return EXIT_OK
    for f in facts:
        print(f"{f['path']}  {', '.join(f['variables'])}")
        crs = f["crs"] or "unknown"
        print(f"  crs:         {crs}" + (f" ({f['crs_code']})" if f["crs_code"] else ""))
        if f["resolution"]:
            unit = f" {f['units']}" if f["units"] else ""
            print(f"  resolution:  {f['resolution'][0]:g} x {f['resolution'][1]:g}{unit}")
        if f["bounds"]:
            print("  bounds:      " + ", ".join(f"{b:.10g}" for b in f["bounds"]) + "  (xmin, ymin, xmax, ymax)")
        if f["transform"]:
            print("  transform:   " + ", ".join(f"{t:.10g}" for t in f["transform"]) + "  (a, b, c, d, e, f)")
        print("  size:        " + ", ".join(f"{k}={v}" for k, v in f["sizes"].items()))
    return EXIT_OK


# -- the parser ---------------------------------------------------------------------------------

def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--storage-option", "-S", action="append", default=[], metavar="KEY=VALUE",
                        dest="storage_option",
                        help="fsspec option for remote URLs (repeatable; dotted keys nest, values are JSON "
                             "when they parse: -S anon=true -S client_kwargs.endpoint_url=http://...)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary lines")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``zarrconv`` command."""
    parser = argparse.ArgumentParser(
        prog="zarrconv", description="Inspect, validate and convert Zarr v2/v3 stores (OME-Zarr, GeoZarr).",
        epilog="Exit status: 0 ok, 1 validation problems, 2 errors.")
    parser.add_argument("--version", action="version", version=f"zarrconv {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("info", help="format, shape, chunks, codecs, sizes and conventions of a node")
    p.add_argument("url", help="path or URL of an array or group")
    p.add_argument("--json", action="store_true", help="print JSON")
    _common(p)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("tree", help="the hierarchy with shapes, dtypes and chunks")
    p.add_argument("url")
    _common(p)
    p.set_defaults(func=cmd_tree)

    p = sub.add_parser("validate", help="check metadata against the spec and conventions (exit 1 on problems)")
    p.add_argument("url")
    p.add_argument("--data", action="store_true", help="also decode every stored chunk (finds corrupt chunks)")
    p.add_argument("--json", action="store_true", help="print a JSON report")
    p.add_argument("--strict", action="store_true",
                   help="OME-Zarr: the specification's recommendations (SHOULD) are errors too, not warnings")
    _common(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("convert", help="copy with another format, chunking, sharding or compressor")
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--zarr-format", type=int, choices=(2, 3), default=3, help="format of the copy (default 3)")
    p.add_argument("--chunks", help="chunk shape such as 64,256,256 (-1: whole axis; default: keep)")
    p.add_argument("--shards", help="shard shape (v3), a multiple of the chunks, or 'auto'")
    p.add_argument("--compressor", help="zstd, zstd:LEVEL, gzip[:LEVEL], blosc[:LEVEL] or none (default: keep)")
    p.add_argument("--overwrite", action="store_true", help="replace DST if it exists")
    p.add_argument("--no-consolidate", action="store_true", help="do not write consolidated metadata")
    _common(p)
    p.set_defaults(func=cmd_convert)

    ome = sub.add_parser("ome", help="OME-Zarr (OME-NGFF) images").add_subparsers(
        dest="ome_command", required=True, metavar="COMMAND")
    p = ome.add_parser("pyramid", help="write a multiscale OME-Zarr image from a Zarr array or a TIFF")
    p.add_argument("src", help="a Zarr array (path/URL) or a .tif/.tiff file")
    p.add_argument("dst", help="the OME-Zarr image to write")
    p.add_argument("--path", help="the array inside SRC when SRC is a group")
    p.add_argument("--axes", help="axis names in order, such as czyx (default: the dimension names or the TIFF axes)")
    p.add_argument("--scale", help="physical pixel size per axis, such as 1,0.5,0.25,0.25")
    p.add_argument("--units", help="unit per axis, such as ,micrometer,micrometer,micrometer (empty: none)")
    p.add_argument("--levels", type=int, help="number of levels (default: until a level fits in one chunk)")
    p.add_argument("--downscale", type=int, default=2, help="factor between levels on spatial axes (default 2)")
    p.add_argument("--method", default="mean", choices=("mean", "gaussian", "nearest", "mode"))
    p.add_argument("--chunks", help="chunk shape of every level")
    p.add_argument("--shards", help="shard shape (0.5 / Zarr v3 only)")
    p.add_argument("--version", default="0.5", choices=("0.4", "0.5", "0.6"), help="OME-NGFF version (default 0.5)")
    p.add_argument("--name", help="image name stored in the metadata")
    p.add_argument("--overwrite", action="store_true", help="replace DST if it exists")
    _common(p)
    p.set_defaults(func=cmd_ome_pyramid)
    p = ome.add_parser("transform", help="move points between coordinate systems of an OME-Zarr 0.6 hierarchy")
    p.add_argument("path", help="the OME-Zarr hierarchy (its root holds a scene or a multiscale image)")
    p.add_argument("source", help="name of the coordinate system the points are in")
    p.add_argument("target", help="name of the coordinate system to express them in")
    p.add_argument("coordinates", help="the points as a JSON array of arrays, such as '[[1, 2]]'")
    _common(p)
    p.set_defaults(func=cmd_ome_transform)
    p = ome.add_parser("upgrade", help="rewrite OME-Zarr 0.4/0.5 metadata as 0.5/0.6 in place (chunks untouched)")
    p.add_argument("path", help="the OME-Zarr hierarchy (image, plate, bioformats2raw container)")
    p.add_argument("--to", default="0.6", choices=("0.5", "0.6"), help="target version (default 0.6)")
    _common(p)
    p.set_defaults(func=cmd_ome_upgrade)

    geo = sub.add_parser("geo", help="georeferenced (GeoZarr / CF) data").add_subparsers(
        dest="geo_command", required=True, metavar="COMMAND")
    p = geo.add_parser("info", help="CRS, bounds and resolution of every georeferenced node")
    p.add_argument("url")
    p.add_argument("--json", action="store_true", help="print JSON")
    _common(p)
    p.set_defaults(func=cmd_geo_info)
    return parser


def _one_line(e: BaseException) -> str:
    from .errors import ContainsNodeError

    text = " ".join(str(e).split()) or type(e).__name__
    if isinstance(e, ContainsNodeError) and "--overwrite" not in text:
        text += " (on the command line: --overwrite)"
    return f"zarrconv: error: {text}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``zarrconv`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.storage_options = parse_storage_options(args.storage_option)
        return int(args.func(args))
    except KeyboardInterrupt:
        print("zarrconv: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into head & co: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except (ZarrconvError, OSError, ValueError, TypeError, KeyError, ImportError) as e:
        if args.debug:
            traceback.print_exc()
        print(_one_line(e), file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

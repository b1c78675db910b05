"""``zarrconv validate``: spec, consolidated-metadata, xarray and convention checks (``--data``: every chunk)."""

from __future__ import annotations

import argparse
import importlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from ..check import check
from ..codecs import build_pipeline
from ..conventions.detect import detect_conventions
from ..core.consolidated import consolidated_docs
from ..core.nodes import fetch_docs, join, parse_docs, read_consolidated
from ..errors import NodeNotFoundError, ZarrconvError
from ..format.metadata import ArrayMetadata, GroupMetadata
from ..format.xarray_attrs import xarray_problems
from ..store import make_store
from .common import EXIT_OK, EXIT_PROBLEMS, Progress, options_for


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
    if not meta.chunk_grid.is_regular:
        return
    try:
        build_pipeline(meta)
    except ZarrconvError as e:
        problems.append(Problem("/" + path, "codecs", str(e)))


def _check_consolidated(store: Any, path: str, meta: Any, nodes: dict[str, Any], problems: list[Problem]) -> None:
    """Consolidated metadata must list exactly the nodes below the group, with their current documents."""
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
    by_group: dict[str, dict[str, Any]] = {}
    for path, meta in arrays.items():
        parent, _, name = path.rpartition("/")
        by_group.setdefault(parent, {})[name] = meta
    for parent, group_arrays in sorted(by_group.items()):
        for name, message in xarray_problems(group_arrays):
            problems.append(Problem("/" + "/".join(p for p in (parent, name) if p), "xarray", message))


def _check_data(url: str, options: dict[str, Any], problems: list[Problem], progress: bool) -> int:
    """Decode every stored chunk through :func:`zarrconv.check`; returns the number checked."""
    spec_nodes = {p.node for p in problems}
    with Progress(progress, None, "checking chunks") as bar:
        report = check(url, storage_options=options_for(url, options), progress=bar.update)
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
            kwargs = {"storage_options": options_for(url, options)} if options_for(url, options) else {}
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
    store = make_store(args.url, mode="r", storage_options=options_for(args.url, args.storage_options))
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

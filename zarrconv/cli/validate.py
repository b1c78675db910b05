"""``zarrconv validate``: spec, consolidated-metadata, xarray and convention checks (``--data``: every chunk)."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from typing import Any

from ..check import Problem, check, check_metadata
from ..conventions.detect import check_conventions
from .common import EXIT_OK, EXIT_PROBLEMS, Progress, options_for


def _check_data(url: str, options: dict[str, Any] | None, problems: list[Problem], progress: bool) -> int:
    """Decode every stored chunk through :func:`zarrconv.check`; returns the number checked. Nodes the
    metadata checks already reported are not reported again."""
    reported = {p.node for p in problems}
    with Progress(progress, None, "checking chunks") as bar:
        report = check(url, storage_options=options, progress=bar.update)
    problems += [replace(p, check="data") for p in report.problems if p.node not in reported]
    return report.chunks_checked


def _as_json(p: Problem) -> dict[str, str]:
    return {"node": p.node, "check": p.check, "message": p.message}


def cmd_validate(args: argparse.Namespace) -> int:
    """``zarrconv validate URL [--data] [--json] [--strict]``."""
    options = options_for(args.url, args.storage_options)
    found = check_metadata(args.url, storage_options=options)
    problems = list(found.problems)
    checks = ["spec"]
    chunks_checked = None
    if args.data:
        chunks_checked = _check_data(args.url, options, problems, not args.quiet)
        checks.append("data")
    conventions = check_conventions(args.url, [m.attributes for m in found.nodes.values()], strict=args.strict,
                                    storage_options=options)
    problems += conventions.problems
    warnings = conventions.warnings
    checks += conventions.checked
    nodes, arrays = len(found.nodes), len(found.arrays)
    if args.json:
        print(json.dumps({"url": args.url, "valid": not problems, "checks": checks, "nodes": nodes,
                          "arrays": arrays, "chunks_checked": chunks_checked, "strict": args.strict,
                          "problems": [_as_json(p) for p in problems], "warnings": [_as_json(w) for w in warnings]},
                         indent=2))
        return EXIT_PROBLEMS if problems else EXIT_OK
    for p in problems:
        print(p)
    for w in warnings:
        print(f"{w.node}: [{w.check}] warning: {w.message}")
    summary = f"{nodes} nodes ({arrays} arrays), checks: {', '.join(checks)}"
    if chunks_checked is not None:
        summary += f", {chunks_checked} chunks decoded"
    if warnings:
        summary += f", {len(warnings)} warning{'s' if len(warnings) != 1 else ''}"
    if problems:
        print(f"{args.url}: INVALID, {len(problems)} problem{'s' if len(problems) != 1 else ''} in {summary}")
    else:
        print(f"{args.url}: valid ({summary})")
    return EXIT_PROBLEMS if problems else EXIT_OK

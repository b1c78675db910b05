"""What every ``zarrconv`` command shares: exit codes, storage options, number and shape formatting,
the progress bar and the ``--chunks``/``--shards`` option parser."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

EXIT_OK, EXIT_PROBLEMS, EXIT_ERROR = 0, 1, 2


def is_remote(url: str) -> bool:
    """Whether ``url`` names a remote store (a URL with a scheme other than ``file://``)."""
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


def options_for(url: str, options: dict[str, Any]) -> dict[str, Any] | None:
    """Storage options apply to remote URLs only (local paths take none)."""
    return options if options and is_remote(url) else None


def human_bytes(n: float) -> str:
    """``1536`` -> ``"1.5 KiB"``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def shape_str(shape: Iterable[int] | None) -> str:
    """A shape as Python prints a tuple: ``(3,)``, ``(64, 64)``; ``-`` for None."""
    if shape is None:
        return "-"
    parts = [str(int(s)) for s in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


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


class Progress:
    """A tqdm bar on a terminal; silent when stderr is not a terminal or with --quiet."""

    def __init__(self, enabled: bool, total: int | None, desc: str, unit: str = "chunk") -> None:
        self._bar = None
        if enabled and (total is None or total > 1) and sys.stderr.isatty():
            try:  # tqdm is in the [cli] extra: optional, and imported only when a bar is drawn
                from tqdm import tqdm
            except ImportError:
                return
            self._bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False)

    def update(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

"""Run-time settings, changed with :func:`set` (globally or as a context manager).

``threads``: worker threads for chunk I/O and codecs (default: CPU count).
``remote_concurrency``: concurrent requests one batch may have in flight on a remote store.
``retries`` / ``retry_backoff``: attempts and initial backoff (s) for transient remote errors.
``remote_store``: which implementation serves remote URLs: ``"auto"`` (obstore for ``s3://`` and
``http(s)://`` when it is installed and takes the storage options, fsspec otherwise), ``"obstore"``
or ``"fsspec"`` (see ``zarrconv/store/obstore_url.py``).
"""

from __future__ import annotations

import os
from typing import Any

_settings: dict[str, Any] = {
    "threads": os.cpu_count() or 2,
    "remote_concurrency": 64,
    "retries": 5,
    "retry_backoff": 0.05,
    "remote_store": "auto",
}


def get(name: str) -> Any:
    """The current value of a setting."""
    return _settings[name]


class _Setter:
    def __init__(self, old: dict[str, Any]) -> None:
        self._old = old

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        _settings.update(self._old)


def set(**values: Any) -> _Setter:  # noqa: A001 - mirrors dask.config.set
    """Change settings; usable as a context manager that restores them on exit."""
    unknown = [k for k in values if k not in _settings]
    if unknown:
        raise KeyError(f"unknown zarrconv setting(s) {unknown}; known: {sorted(_settings)}")
    old = {k: _settings[k] for k in values}
    _settings.update(values)
    return _Setter(old)

"""Which URLs go to obstore, and how ``storage_options`` become an obstore store.

zarrconv takes the ``storage_options`` people already pass to fsspec (s3fs's ``key``, ``secret``,
``endpoint_url``, ``anon``, ``client_kwargs={"region_name": ...}``) and translates them to
obstore's configuration; obstore's own keys (``aws_endpoint``, ``region``, ``client_options``,
``retry_config``, ...) pass through unchanged. The setting ``zarrconv.config`` ``remote_store``
chooses the implementation:

* ``"auto"`` (the default): obstore for ``s3://``, ``http://`` and ``https://`` when the ``obstore``
  package is installed and every storage option is one obstore understands (or one of s3fs's that
  translate), fsspec otherwise;
* ``"obstore"``: obstore for every scheme it serves (``s3``, ``gs``, ``az``/``abfs``, ``http(s)``),
  an error when it is missing or refuses an option;
* ``"fsspec"``: always fsspec.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from collections import OrderedDict
from datetime import timedelta
from typing import Any

from .. import config
from ..errors import StoreError

#: schemes obstore serves when chosen explicitly, and the ones it takes by default
OBSTORE_SCHEMES = frozenset({"s3", "s3a", "gs", "gcs", "az", "azure", "abfs", "abfss", "adl", "http", "https"})
DEFAULT_SCHEMES = frozenset({"s3", "http", "https"})
CHOICES = ("auto", "obstore", "fsspec")

#: s3fs option -> obstore S3 option (values converted by ``_s3fs_value``)
_S3FS_KEYS = {"key": "access_key_id", "secret": "secret_access_key", "token": "session_token",
              "endpoint_url": "endpoint", "anon": "skip_signature"}
_S3FS_CLIENT_KWARGS = {"region_name": "region", "endpoint_url": "endpoint",
                       "aws_access_key_id": "access_key_id", "aws_secret_access_key": "secret_access_key",
                       "aws_session_token": "session_token"}
#: s3fs options that only tune s3fs itself and have no meaning for obstore
_S3FS_IGNORED = frozenset({"use_listings_cache", "listings_expiry_time", "max_paths", "skip_instance_cache",
                           "default_block_size", "default_fill_cache", "default_cache_type", "asynchronous",
                           "loop", "cache_regions"})


class NotForObstore(StoreError):
    """The URL or its options cannot be served by obstore (under ``remote_store='auto'`` fsspec serves it)."""


def scheme_of(url: str) -> str:
    """The scheme of ``url`` (``s3`` for ``s3://bucket/key``), or ``""`` for chained or plain paths."""
    if "::" in url or "://" not in url:
        return ""
    return url.split("://", 1)[0].lower()


def obstore_installed() -> bool:
    """Whether the optional ``obstore`` package can be imported."""
    return importlib.util.find_spec("obstore") is not None


def remote_store_choice() -> str:
    """The ``remote_store`` setting, checked."""
    choice = config.get("remote_store")
    if choice not in CHOICES:
        raise StoreError(f"zarrconv.config 'remote_store' must be one of {CHOICES}, got {choice!r}")
    return choice


def wants_obstore(url: str) -> bool:
    """Whether ``url`` should be tried with obstore under the current ``remote_store`` setting.

    Raises :class:`StoreError` when obstore is required (``remote_store='obstore'``) but not installed
    or the scheme is not one obstore serves.
    """
    choice = remote_store_choice()
    scheme = scheme_of(url)
    if choice == "fsspec":
        return False
    if choice == "auto":
        return scheme in DEFAULT_SCHEMES and obstore_installed()
    if scheme not in OBSTORE_SCHEMES:
        raise StoreError(f"remote_store='obstore' cannot open {url!r}: obstore serves "
                         f"{sorted(OBSTORE_SCHEMES)} URLs (local paths use zarrconv's LocalStore)")
    if not obstore_installed():
        raise StoreError(f"remote_store='obstore' but the obstore package is not installed (pip install "
                         f"'zarrconv[obstore]'); cannot open {url!r}")
    return True


def _flag(value: Any) -> bool:
    """A boolean option, also when it came from a command line as text."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _s3_options(options: dict[str, Any]) -> dict[str, Any]:
    """s3fs-style options as obstore S3 options; obstore's own keys pass through."""
    out: dict[str, Any] = {}
    for name, value in options.items():
        if name in _S3FS_IGNORED:
            continue
        if name == "client_kwargs":
            for inner, v in dict(value or {}).items():
                if inner not in _S3FS_CLIENT_KWARGS:
                    raise NotForObstore(f"s3fs client_kwargs {inner!r} has no obstore equivalent")
                out[_S3FS_CLIENT_KWARGS[inner]] = v
        elif name == "anon":
            out["skip_signature"] = _flag(value)
        elif name in _S3FS_KEYS:
            if value is not None:
                out[_S3FS_KEYS[name]] = value
        elif name in ("config_kwargs", "s3_additional_kwargs", "requester_pays", "version_aware",
                      "session", "profile", "username", "password", "kwargs", "fixed_upload_size"):
            if value:
                raise NotForObstore(f"s3fs option {name!r} has no obstore equivalent")
        else:
            out[name] = value
    endpoint = out.get("endpoint") or out.get("aws_endpoint")
    if isinstance(endpoint, str) and endpoint.startswith("http://"):
        client_options = dict(out.get("client_options") or {})
        client_options.setdefault("allow_http", True)
        out["client_options"] = client_options
    return out


def _http_options(url: str, options: dict[str, Any]) -> dict[str, Any]:
    out = dict(options)
    if url.lower().startswith("http://"):
        client_options = dict(out.get("client_options") or {})
        client_options.setdefault("allow_http", True)
        out["client_options"] = client_options
    return out


def _no_client_retries(options: dict[str, Any]) -> dict[str, Any]:
    """Unless the user configured obstore's own retries, turn them off: zarrconv retries transient errors
    itself (``retries``, ``retry_backoff``), so that one setting governs every remote store."""
    if "retry_config" in options:
        return options
    backoff = {"init_backoff": timedelta(milliseconds=50), "max_backoff": timedelta(seconds=1), "base": 2.0}
    return {**options, "retry_config": {"max_retries": 0, "backoff": backoff, "retry_timeout": timedelta(minutes=3)}}


def obstore_options(url: str, storage_options: dict[str, Any] | None) -> dict[str, Any]:
    """The keyword arguments for ``obstore.store.from_url(url, ...)``.

    Raises :class:`NotForObstore` for s3fs options obstore has no equivalent of.
    """
    options = dict(storage_options or {})
    scheme = scheme_of(url)
    if scheme in ("s3", "s3a"):
        options = _s3_options(options)
    elif scheme in ("http", "https"):
        options = _http_options(url, options)
    return _no_client_retries(options)


#: how many obstore clients (one per URL and options) a process keeps for reuse
CLIENT_CACHE_SIZE = 64
_clients: OrderedDict[str, Any] = OrderedDict()
_clients_lock = threading.Lock()


def _forget_clients() -> None:  # a forked child cannot use its parent's clients (their runtime is gone)
    global _clients_lock
    _clients.clear()
    _clients_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_clients)


def _cache_key(url: str, kwargs: dict[str, Any]) -> str:
    return json.dumps([url, kwargs], sort_keys=True, default=repr)


def build(url: str, storage_options: dict[str, Any] | None) -> Any:
    """An ``obstore`` store for ``url``; :class:`NotForObstore` when obstore refuses the options.

    Clients are kept per URL and options (the last :data:`CLIENT_CACHE_SIZE` of them): opening the same
    location again reuses the client and its open connections instead of paying new connections (and
    their round trips) on every open.
    """
    from obstore.exceptions import BaseError, UnknownConfigurationKeyError
    from obstore.store import from_url

    kwargs = obstore_options(url, storage_options)
    key = _cache_key(url.rstrip("/"), kwargs)
    with _clients_lock:
        if key in _clients:
            _clients.move_to_end(key)
            return _clients[key]
    try:
        client = from_url(url.rstrip("/"), **kwargs)
    except (UnknownConfigurationKeyError, TypeError) as e:
        raise NotForObstore(f"obstore does not take these storage_options for {url!r}: {e}") from e
    except (BaseError, ValueError) as e:
        raise StoreError(f"obstore cannot open {url!r}: {e}") from e
    with _clients_lock:
        client = _clients.setdefault(key, client)
        _clients.move_to_end(key)
        while len(_clients) > CLIENT_CACHE_SIZE:
            _clients.popitem(last=False)
    return client


__all__ = ["CHOICES", "CLIENT_CACHE_SIZE", "DEFAULT_SCHEMES", "OBSTORE_SCHEMES", "NotForObstore", "build", "obstore_installed",
           "obstore_options", "remote_store_choice", "scheme_of", "wants_obstore"]

"""Zipped OME-Zarr (RFC-9): one ``.ozx`` file holding one OME-Zarr hierarchy.

Reading needs nothing special: a local path ending in ``.ozx`` (or ``.zip``) opens as a
:class:`~zarrconv.store.zip.ZipStore`, so ``open_image("image.ozx")`` works; and
``write_image(data, "image.ozx", version="0.5")`` writes the pyramid beside the file and packs it.

:func:`write_ozx` packs a hierarchy written anywhere zarrconv can read (a directory, a memory
store) the way RFC-9 recommends: the root ``zarr.json`` first, then every other
``zarr.json`` breadth-first, then the chunks; members stored uncompressed (Zarr compresses
already) with ZIP64 records; the archive comment ``{"ome": {"version": ..., "zipFile":
{"centralDirectory": {"jsonFirst": true}}}}``.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

import zarrconv as zc
from zarrconv.errors import ContainsNodeError, MetadataError, StoreError
from zarrconv.store import make_store

from .models import detect_version

__all__ = ["is_ozx_target", "ozx_comment", "write_ozx", "write_via_directory"]

_DOC = "zarr.json"


def _member_order(keys: list[str]) -> list[str]:
    """RFC-9 order: root ``zarr.json``, the other ``zarr.json`` breadth-first, then the rest."""
    docs = [k for k in keys if k == _DOC or k.endswith("/" + _DOC)]
    rest = sorted(k for k in keys if k not in set(docs))
    return sorted(docs, key=lambda k: (k.count("/"), k)) + rest


def write_ozx(source: Any, target: str | os.PathLike[str], *, storage_options: dict | None = None) -> str:
    """Pack the OME-Zarr hierarchy at ``source`` (anything :func:`zarrconv.open_group`
    accepts; it must be Zarr v3, OME-Zarr 0.5 or later) into the zip file ``target``.

    The archive is written beside ``target`` and renamed over it when complete. Returns the
    OME-Zarr version recorded in the archive comment.
    """
    root = zc.open_group(source, mode="r", storage_options=storage_options)
    if root.zarr_format != 3:
        raise MetadataError(f"{root.store.url}: a zipped OME-Zarr holds a Zarr v3 hierarchy (OME-Zarr 0.5+); "
                            "this one is Zarr v2: upgrade it first (zarrconv ome upgrade)")
    version = detect_version(root.attrs.asdict())
    if version is None:
        raise MetadataError(f"{root.store.url}: no OME-Zarr metadata at the root of the hierarchy")
    store = make_store(source, mode="r", storage_options=storage_options)
    prefix = f"{root.path}/" if root.path else ""
    keys = [k[len(prefix):] for k in store.list_prefix(prefix) if not k.rsplit("/", 1)[-1].startswith(".zarrconv")]
    target = os.fspath(target)
    tmp = f"{target}.zarrconv-tmp-{uuid.uuid4().hex}"
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            for key in _member_order(keys):
                data = store.get(prefix + key)
                if data is None:
                    raise StoreError(f"{store.describe(prefix + key)} vanished while being packed")
                info = zipfile.ZipInfo(key, date_time=(1980, 1, 1, 0, 0, 0))
                with zf.open(info, "w", force_zip64=True) as member:
                    member.write(bytes(data))
            zf.comment = json.dumps({"ome": {"version": version,
                                             "zipFile": {"centralDirectory": {"jsonFirst": True}}}}).encode()
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return version


def ozx_comment(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The ``ome`` object of a zipped OME-Zarr's archive comment (None when absent or not JSON)."""
    with zipfile.ZipFile(os.fspath(path)) as zf:
        raw = zf.comment
    try:
        doc = json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    ome = doc.get("ome") if isinstance(doc, dict) else None
    return ome if isinstance(ome, dict) else None


def is_ozx_target(store: Any, path: str | None) -> bool:
    """Whether ``store`` names a local ``.ozx`` file to write a whole hierarchy into."""
    if path or not isinstance(store, (str, os.PathLike)):
        return False
    s = os.fspath(store).rstrip("/")
    return s.endswith(".ozx") and "://" not in s


def write_via_directory(target: str | os.PathLike[str], overwrite: bool, write: Callable[[str], Any]) -> zc.Group:
    """Run ``write(directory)`` on a temporary directory beside ``target``, pack the result
    into ``target`` with :func:`write_ozx` and return its root group (read-only)."""
    target = os.fspath(target).rstrip("/")
    if os.path.exists(target) and not overwrite:
        raise ContainsNodeError(f"{target} exists; pass overwrite=True to replace it")
    tmp = f"{target}.zarrconv-tmp-{uuid.uuid4().hex}"
    try:
        write(tmp)
        write_ozx(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return zc.open_group(target, mode="r")

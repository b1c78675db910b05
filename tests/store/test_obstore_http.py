"""ObstoreStore over HTTP: ``python -m http.server`` (no Range support, no WebDAV listing) and a threaded
test server on 127.0.0.1 that honours Range and fails requests with 503 on purpose, to see retries,
batching and the bound on requests in flight. Counted, not timed."""

from __future__ import annotations

import re
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

import zarrconv as zc
from zarrconv.errors import StoreError
from zarrconv.store import ObstoreStore, make_store

obstore = pytest.importorskip("obstore")
zarr = pytest.importorskip("zarr")


def test_http_server_without_range_or_listing(served):
    """``http.server`` ignores Range and answers PROPFIND with 501: ranges are cut from the whole object,
    listings read the HTML index (through fsspec)."""
    url, local = served
    (local / "blob").write_bytes(b"0123456789")
    g = zc.create_group(str(local / "g.zarr"), attributes={"a": 1})
    g.create_array("x", shape=(4,), dtype="i1")[:] = [1, 2, 3, 4]
    g.create_group("sub").create_array("y", shape=(2, 2), dtype="f8")[:] = 1.5
    store = make_store(url)
    assert isinstance(store, ObstoreStore)
    assert store.get_many([("blob", (2, 5)), ("blob", (-3, None)), ("blob", (7, None)), ("blob", None),
                           ("none", None), ("none", (1, 2))]) == [b"234", b"789", b"789", b"0123456789", None,
                                                                 None]
    remote = zc.open_group(f"{url}/g.zarr", mode="r")
    assert sorted(dict(remote.members())) == ["sub", "x"]
    assert remote["sub/y"][:].tolist() == [[1.5, 1.5], [1.5, 1.5]]


# -- a server that honours Range and injects failures ---------------------------------------------

class _Stats:
    def __init__(self, fail_first: int, fail_status: int, delay: float) -> None:
        self.lock = threading.Lock()
        self.fail_first = fail_first  # every path fails this many times before it is served
        self.fail_status = fail_status
        self.delay = delay
        self.attempts: dict[str, int] = {}
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.ranges = 0


def _handler(root: Path, stats: _Stats) -> type[SimpleHTTPRequestHandler]:
    class Handler(SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            with stats.lock:
                stats.requests += 1
                stats.in_flight += 1
                stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
                seen = stats.attempts.get(self.path, 0)
                stats.attempts[self.path] = seen + 1
            try:
                threading.Event().wait(stats.delay)
                if seen < stats.fail_first:
                    self._send(stats.fail_status, b"injected failure")
                    return
                path = root / self.path.lstrip("/")
                if not path.is_file():
                    self._send(404, b"not found")
                    return
                data = path.read_bytes()
                match = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", ""))
                if match is None:
                    self._send(200, data)
                    return
                with stats.lock:
                    stats.ranges += 1
                first, last = match.groups()
                start = len(data) - int(last) if not first else int(first)
                stop = len(data) if (not first or not last) else int(last) + 1
                start, stop = max(0, start), min(len(data), stop)
                if start >= len(data):
                    self._send(416, b"")
                    return
                self._send(206, data[start:stop], {"Content-Range": f"bytes {start}-{stop - 1}/{len(data)}"})
            finally:
                with stats.lock:
                    stats.in_flight -= 1

        def _send(self, status: int, body: bytes, headers: dict | None = None) -> None:
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # every connection of a batch is accepted at once


@pytest.fixture
def ranged_server(tmp_path):
    """Start a Range-aware threaded server: returns ``start(fail_first=0, fail_status=503, delay=0)`` giving
    (base URL, served directory, stats)."""
    servers = []

    def start(fail_first: int = 0, fail_status: int = 503, delay: float = 0.0):
        root = tmp_path / f"root{len(servers)}"
        root.mkdir()
        stats = _Stats(fail_first, fail_status, delay)
        server = _Server(("127.0.0.1", 0), _handler(root, stats))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", root, stats

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_sharded_read_uses_byte_ranges(ranged_server):
    url, root, stats = ranged_server()
    x = np.arange(1600, dtype="i4").reshape(40, 40)
    zc.create_array(str(root / "s.zarr"), shape=x.shape, chunks=(4, 4), shards=(20, 20), dtype=x.dtype)[:] = x
    a = zc.open_array(f"{url}/s.zarr")
    before = stats.requests
    np.testing.assert_array_equal(a[2:6, 2:6], x[2:6, 2:6])
    # one shard: its index (a suffix range) then the four inner chunks, merged by obstore into one request
    assert stats.requests - before == 2 and stats.ranges == 2


def test_transient_errors_are_retried_to_exact_data(ranged_server):
    url, root, stats = ranged_server(fail_first=2)
    x = np.arange(400, dtype="f8").reshape(20, 20)
    a = zc.create_array(str(root / "f.zarr"), shape=x.shape, chunks=(5, 5), dtype=x.dtype, fill_value=-1)
    a[:] = x
    a[:5, :5] = -1  # not stored: a 404 reads as the fill value, not retried
    x[:5, :5] = -1
    with zc.config.set(retries=3, retry_backoff=0.001):
        np.testing.assert_array_equal(zc.open_array(f"{url}/f.zarr")[:], x)
    chunk_paths = [p for p in stats.attempts if "/c/" in p]
    assert len(chunk_paths) == 16 and all(stats.attempts[p] == 3 for p in chunk_paths)


def test_retries_give_up_with_a_clear_error(ranged_server):
    url, root, stats = ranged_server(fail_first=10)
    (root / "k").write_bytes(b"abc")
    with zc.config.set(retries=2, retry_backoff=0.001), pytest.raises(StoreError, match=r"/k.*3 attempts"):
        make_store(url).get("k")
    assert stats.attempts["/k"] == 3


def test_a_final_error_is_not_retried(ranged_server):
    url, root, stats = ranged_server(fail_first=10, fail_status=403)
    (root / "k").write_bytes(b"abc")
    with zc.config.set(retries=5, retry_backoff=0.001), pytest.raises(StoreError, match="403"):
        make_store(url).get("k")
    assert stats.attempts["/k"] == 1


def test_one_read_is_one_concurrent_batch(ranged_server):
    url, root, stats = ranged_server(delay=0.05)
    x = np.arange(3600, dtype="f4").reshape(60, 60)
    zc.create_array(str(root / "c.zarr"), shape=x.shape, chunks=(6, 6), dtype=x.dtype)[:] = x  # 100 chunks
    a = zc.open_array(f"{url}/c.zarr")
    with zc.config.set(remote_concurrency=16):
        before = stats.requests
        np.testing.assert_array_equal(a[:], x)
    assert stats.requests - before == 100
    assert stats.max_in_flight == 16  # bounded, and the whole batch was issued at once

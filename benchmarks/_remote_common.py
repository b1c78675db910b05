"""What the remote benchmarks (``bench_obstore.py``, ``bench_remote.py``) share: free ports, servers
started on 127.0.0.1 and waited for, stopped at the end, and the credentials of the moto S3 server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], url: str, env: dict | None = None, timeout: float = 60) -> subprocess.Popen:
    """Start ``cmd`` and wait until something answers on ``url`` (any HTTP status counts)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd[0]} exited with code {proc.returncode} before answering on {url}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return proc
        except urllib.error.HTTPError:
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"nothing answered on {url} within {timeout:g} s")


def stop(procs: Iterable[subprocess.Popen]) -> None:
    """Terminate the servers this benchmark started (killed after 10 s)."""
    for p in procs:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


def start_moto(port: int) -> subprocess.Popen:
    """A moto S3 server on 127.0.0.1:``port``."""
    moto_exe = Path(sys.executable).parent / "moto_server"
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    return start([str(moto_exe), "-H", "127.0.0.1", "-p", str(port)], f"http://127.0.0.1:{port}/moto-api/", env)


def s3_options(endpoint: str) -> dict:
    """s3fs-style ``storage_options`` for the moto server at ``endpoint``."""
    return {"endpoint_url": endpoint, "key": "testing", "secret": "testing", "anon": False,
            "client_kwargs": {"region_name": "us-west-2"}}


def best(fn: Callable[[], object], repeat: int) -> float:
    """The shortest of ``repeat`` timings of ``fn()``, in seconds."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def best_interleaved(fns: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Each function once to warm up (imports, connection pools), then ``repeat`` rounds in which every
    function runs once in turn (so a load spike hits all of them); the best time of each."""
    for fn in fns.values():
        fn()
    out = dict.fromkeys(fns, float("inf"))
    for _ in range(repeat):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            out[name] = min(out[name], time.perf_counter() - t)
    return out

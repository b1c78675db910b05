"""Fixtures for the command-line tests: the installed command and a loopback S3 server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
ZARRCONV = BIN / "zarrconv"


def run(*args: str, check: int | None = 0, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    """Run the installed ``zarrconv`` command; assert its exit status when ``check`` is not None."""
    proc = subprocess.run([str(ZARRCONV), *map(str, args)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})}, **kwargs)
    if check is not None:
        assert proc.returncode == check, (
            f"zarrconv {' '.join(map(str, args))} exited {proc.returncode}, expected {check}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def zarrconv_bin() -> Path:
    assert ZARRCONV.exists(), f"the console script {ZARRCONV} is not installed (pip install -e .)"
    return ZARRCONV


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory):
    """A moto S3 server on 127.0.0.1 with a free port; yields (endpoint, storage options)."""
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                                stdout=fh, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(endpoint, timeout=1)
                break
            except Exception:
                if proc.poll() is not None:
                    raise RuntimeError(f"moto_server exited: {log.read_text()}") from None
                time.sleep(0.1)
        options = {"key": "testing", "secret": "testing", "client_kwargs": {"endpoint_url": endpoint}}
        import s3fs

        fs = s3fs.S3FileSystem(**options)
        fs.mkdir("cli-bucket")
        yield endpoint, options
    finally:
        proc.terminate()
        proc.wait(timeout=10)

"""Shared fixtures: a real S3 server (moto) and a real HTTP server, both on 127.0.0.1 only."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_answering(url: str, proc: subprocess.Popen, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} before answering on {url}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # it answered, even if with an error status
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not answer on {url} within {timeout} s")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def start_moto_server(port: int | None = None) -> tuple[subprocess.Popen, str]:
    """Start ``moto_server`` on 127.0.0.1 and return (process, endpoint URL) once it answers."""
    port = port or free_port()
    exe = Path(sys.executable).parent / "moto_server"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "moto.server"]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    proc = subprocess.Popen([*cmd, "-H", "127.0.0.1", "-p", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait_until_answering(endpoint + "/moto-api/", proc, "moto_server")
    except BaseException:
        _stop(proc)
        raise
    return proc, endpoint


def s3_options(endpoint: str) -> dict:
    """s3fs storage_options for the loopback moto server."""
    return {"endpoint_url": endpoint, "key": "testing", "secret": "testing", "anon": False,
            "client_kwargs": {"region_name": "us-west-2"}}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The endpoint URL of a moto S3 server on 127.0.0.1, running for the whole session."""
    pytest.importorskip("s3fs")
    pytest.importorskip("moto")
    proc, endpoint = start_moto_server()
    try:
        yield endpoint
    finally:
        _stop(proc)


@pytest.fixture
def s3_storage_options(s3_endpoint: str) -> dict:
    """storage_options that point s3fs at the test server."""
    return s3_options(s3_endpoint)


@pytest.fixture
def s3_bucket(s3_storage_options: dict) -> str:
    """A fresh, empty bucket for one test; returns ``s3://<bucket>``."""
    import s3fs

    fs = s3fs.S3FileSystem(**s3_storage_options)
    name = f"test-{uuid.uuid4().hex[:12]}"
    fs.mkdir(name)
    fs.invalidate_cache()
    return f"s3://{name}"


@pytest.fixture(scope="session")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """``python -m http.server`` on 127.0.0.1 serving a temporary directory: (base URL, directory)."""
    root = tmp_path_factory.mktemp("http-root")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port),
                             "--directory", str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_answering(url + "/", proc, "http.server")
        yield url, root
    finally:
        _stop(proc)


#: Azurite's well-known development account (public, documented by Microsoft: not a secret)
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#: where ``npm ci --prefix tests/azurite`` puts the pinned Azurite (tests/azurite/package-lock.json)
AZURITE_LOCAL = Path(__file__).parent / "azurite" / "node_modules" / ".bin" / "azurite-blob"


def _azurite_executable() -> str | None:
    if AZURITE_LOCAL.exists():
        return str(AZURITE_LOCAL)
    return os.environ.get("ZARRCONV_AZURITE") or shutil.which("azurite-blob")


def _create_azure_container(endpoint: str, name: str) -> None:
    """Create a blob container on Azurite: one REST call signed with the account's shared key."""
    import base64
    import hashlib
    import hmac
    from email.utils import formatdate

    date, version = formatdate(usegmt=True), "2021-08-06"
    signed = "\n".join(["PUT", *[""] * 11, f"x-ms-date:{date}\nx-ms-version:{version}",
                        f"/{AZURITE_ACCOUNT}/{AZURITE_ACCOUNT}/{name}\nrestype:container"])
    signature = base64.b64encode(hmac.new(base64.b64decode(AZURITE_KEY), signed.encode(), hashlib.sha256).digest())
    request = urllib.request.Request(
        f"{endpoint}/{name}?restype=container", method="PUT",
        headers={"x-ms-date": date, "x-ms-version": version, "Content-Length": "0",
                 "Authorization": f"SharedKey {AZURITE_ACCOUNT}:{signature.decode()}"})
    urllib.request.urlopen(request, timeout=10).close()


@pytest.fixture(scope="session")
def azurite_endpoint() -> Iterator[str]:
    """The blob endpoint (``http://127.0.0.1:<port>/devstoreaccount1``) of an Azurite server started on
    127.0.0.1 for the session, in memory. Skipped where Azurite is not installed (``npm ci --prefix
    tests/azurite``, which ``make test`` runs when npm is available)."""
    exe = _azurite_executable()
    if exe is None:
        pytest.skip("Azurite is not installed: npm ci --prefix tests/azurite (needs node and npm)")
    port = free_port()
    proc = subprocess.Popen([exe, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence",
                             "--silent", "--disableTelemetry", "--skipApiVersionCheck"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_until_answering(f"http://127.0.0.1:{port}/", proc, "azurite-blob")
        yield f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
    finally:
        _stop(proc)


@pytest.fixture
def azure_container(azurite_endpoint: str) -> tuple[str, dict]:
    """A fresh container on Azurite: (``az://<container>``, obstore storage_options for it)."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    _create_azure_container(azurite_endpoint, name)
    return f"az://{name}", {"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY,
                            "endpoint": azurite_endpoint, "client_options": {"allow_http": True}}

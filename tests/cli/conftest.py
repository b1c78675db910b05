"""Fixtures for the command-line tests: the installed command (the S3 server is tests/conftest.py's)."""

from __future__ import annotations

import os
import subprocess
import sys
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

"""Fixtures shared by the store tests."""

from __future__ import annotations

import multiprocessing
import shutil

import pytest


def _sum_into(arr, q) -> None:
    q.put(float(arr[:].sum()))


@pytest.fixture
def sum_in_forked_child():
    """Read an array whole in a process forked from this one; return the sum the child computed."""

    def run(arr, timeout: float = 120) -> float:
        ctx = multiprocessing.get_context("fork")
        q = ctx.Queue()
        p = ctx.Process(target=_sum_into, args=(arr, q))
        p.start()
        p.join(timeout)
        assert p.exitcode == 0
        return q.get(timeout=5)

    return run


@pytest.fixture
def served(http_server, request):
    """A fresh directory inside the ``http.server`` root, named after the test: (its URL, its local path)."""
    url, root = http_server
    name = f"{request.module.__name__.rsplit('.', 1)[-1]}-" + request.node.name.replace("[", "-").replace("]", "")
    local = root / name
    if local.exists():
        shutil.rmtree(local)
    local.mkdir()
    return f"{url}/{name}", local

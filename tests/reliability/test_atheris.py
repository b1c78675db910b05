"""A short coverage-guided fuzzing run with atheris (skipped when atheris is not installed).

The harness (``atheris_harness.py``) feeds chunks to every codec chain and documents to
every metadata parser; any exception other than a ZarrconvError, a crash, a leak over
the RSS limit or a single allocation over 256 MiB fails the run. Run it longer by hand::

    python tests/reliability/atheris_harness.py -max_total_time=600 /tmp/corpus
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HARNESS = Path(__file__).with_name("atheris_harness.py")


def test_short_atheris_run(tmp_path: Path) -> None:
    pytest.importorskip("atheris")
    corpus = tmp_path / "corpus"
    res = subprocess.run(
        [sys.executable, str(HARNESS), "-max_total_time=4", "-rss_limit_mb=1536", "-malloc_limit_mb=256",
         "-timeout=20", "-print_final_stats=1", str(corpus)],
        capture_output=True, timeout=600, cwd=tmp_path,
    )
    log = res.stderr.decode(errors="replace")
    assert res.returncode == 0, log[-4000:]
    assert "Done" in log and len(list(corpus.iterdir())) >= 10  # it ran, from the seeded corpus

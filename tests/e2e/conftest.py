"""Fixtures for end-to-end tests: the CLI and agents as real subprocesses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from opensweep.testing.processes import Procs


@pytest.fixture
def procs(tmp_path: Path, sqlite_url: str) -> Iterator[Procs]:
    p = Procs(sqlite_url, tmp_path)
    yield p
    p.cleanup()

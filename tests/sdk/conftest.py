"""SDK tests: a fresh process-wide SDK state per test, in a scratch working directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import opensweep
from opensweep.client import connect
from opensweep.client.base import Client
from opensweep.sdk import session


@pytest.fixture(autouse=True)
def fresh_sdk(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No run left over from another test, no agent environment, fast flushes."""
    for name in ("OPENSWEEP_RUN_ID", "OPENSWEEP_SWEEP_ID", "OPENSWEEP_PARAMS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENSWEEP_LOG_FLUSH_INTERVAL", "0.01")
    monkeypatch.chdir(tmp_path)
    yield
    for run in list(session._state.live):
        run.finish(timeout=5)
    if session._state.agent is not None:
        session._state.agent.close(timeout=5)
    session._state.env_run_joined = False
    session._publish(None)
    assert opensweep.run is None


@pytest.fixture
def url(store_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A store on SQLite and on PostgreSQL, also as ``OPENSWEEP_URL``."""
    monkeypatch.setenv("OPENSWEEP_URL", store_url)
    return store_url


@pytest.fixture
def sqlite(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite store only (for tests where the database makes no difference)."""
    monkeypatch.setenv("OPENSWEEP_URL", sqlite_url)
    return sqlite_url


@pytest.fixture
def client(sqlite: str) -> Iterator[Client]:
    """A client of the SQLite store the SDK writes to."""
    c = connect(sqlite)
    yield c
    c.close()

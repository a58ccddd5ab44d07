"""A controller on a real SQLite file with a fake clock: tests move time, they do not sleep."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from opensweep.controller.clock import FakeClock
from opensweep.controller.controller import Controller
from opensweep.store import open_store

HEARTBEAT_TIMEOUT = 60.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=1_700_000_000.0)


@pytest.fixture
def controller(sqlite_url: str, clock: FakeClock) -> Iterator[Controller]:
    c = Controller(open_store(sqlite_url), clock=clock, heartbeat_timeout=HEARTBEAT_TIMEOUT)
    yield c
    c.close()

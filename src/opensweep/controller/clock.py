"""Where the controller reads the time. Injected, so tests move time instead of sleeping."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch (wall time: it is stored and compared across processes)."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class FakeClock:
    """A clock that moves only when told to. ``advance()`` replaces ``sleep()`` in tests."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError(f"a clock does not go back (advance({seconds}))")
        self._now += float(seconds)
        return self._now

    def set(self, now: float) -> None:
        if now < self._now:
            raise ValueError(f"a clock does not go back (set({now}) < {self._now})")
        self._now = float(now)

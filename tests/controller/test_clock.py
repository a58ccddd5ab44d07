from __future__ import annotations

import time

import pytest

from opensweep.controller.clock import FakeClock, SystemClock


def test_fake_clock_moves_only_when_told() -> None:
    clock = FakeClock(start=100.0)
    assert clock.now() == clock.now() == 100.0
    assert clock.advance(2.5) == 102.5
    clock.set(200.0)
    assert clock.now() == 200.0
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        clock.set(199.0)


def test_system_clock_is_wall_time() -> None:
    assert abs(SystemClock().now() - time.time()) < 5

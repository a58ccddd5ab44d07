"""The in-process client: the controller itself, over the store a URL names."""

from __future__ import annotations

import math
import os

from opensweep.controller.clock import Clock
from opensweep.controller.controller import Controller
from opensweep.errors import InvalidRequest
from opensweep.store import open_store

DEFAULT_HEARTBEAT_TIMEOUT = 60.0


def heartbeat_timeout_from_env() -> float:
    """``OPENSWEEP_HEARTBEAT_TIMEOUT`` (seconds), else 60."""
    text = os.environ.get("OPENSWEEP_HEARTBEAT_TIMEOUT")
    if not text:
        return DEFAULT_HEARTBEAT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value > 0:
        raise InvalidRequest(
            f"OPENSWEEP_HEARTBEAT_TIMEOUT must be a number of seconds > 0 (got {text!r})"
        )
    return value


class LocalClient(Controller):
    """A :class:`~opensweep.client.base.Client` that runs the controller in this process.

    Agents on one machine share a SQLite file this way; agents on many machines can share a
    PostgreSQL database directly (or go through ``opensweep server`` with an ``http://`` URL).
    """

    def __init__(
        self,
        url: str,
        *,
        clock: Clock | None = None,
        heartbeat_timeout: float | None = None,
    ) -> None:
        if heartbeat_timeout is None:
            heartbeat_timeout = heartbeat_timeout_from_env()
        super().__init__(open_store(url), clock=clock, heartbeat_timeout=heartbeat_timeout)

    def __repr__(self) -> str:
        return f"LocalClient({self.url!r})"

"""A real uvicorn on 127.0.0.1 (in a thread, on a free port) over a real store."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from opensweep.client.http import HttpClient
from opensweep.server.app import create_app
from opensweep.testing.servers import ServerThread


@contextlib.contextmanager
def serve(app: Any, port: int | None = None) -> Iterator[ServerThread]:
    server = ServerThread(app, port).start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Live:
    url: str
    token: str | None
    app: Any

    def raw(self, token: str | None = "default") -> httpx.Client:
        """A plain httpx client (for requests the HttpClient would never send)."""
        chosen = self.token if token == "default" else token
        headers = {"authorization": f"Bearer {chosen}"} if chosen else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def client(self, **kwargs: Any) -> HttpClient:
        return HttpClient(self.url, token=self.token, **kwargs)


TOKEN = "test-token-0123456789abcdef"


@pytest.fixture
def live(store_url: str) -> Iterator[Live]:
    """A server over a fresh store (SQLite and PostgreSQL), with a token."""
    app = create_app(store_url, token=TOKEN, heartbeat_timeout=60.0)
    with serve(app) as server:
        yield Live(server.url, TOKEN, app)


@pytest.fixture
def live_sqlite(sqlite_url: str) -> Iterator[Live]:
    app = create_app(sqlite_url, token=TOKEN, heartbeat_timeout=60.0)
    with serve(app) as server:
        yield Live(server.url, TOKEN, app)


@pytest.fixture
def http(live: Live) -> Iterator[HttpClient]:
    with live.client(retry_for=5.0) as client:
        yield client

"""A real uvicorn on 127.0.0.1 (in a thread, on a free port) over a real store."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn

from opensweep.client.http import HttpClient
from opensweep.server.app import create_app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """uvicorn serving ``app`` on 127.0.0.1:``port`` until :meth:`stop`."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


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

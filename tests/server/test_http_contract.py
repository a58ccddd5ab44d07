"""The client contract suite over HTTP: HttpClient -> real uvicorn on 127.0.0.1 -> controller,
on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from opensweep.client.base import Client
from opensweep.testing.client_contract import ClientContract

from .conftest import Live


class TestHttpClient(ClientContract):
    @pytest.fixture
    def client(self, live: Live) -> Iterator[Client]:
        c = live.client(retry_for=5.0)
        yield c
        c.close()

"""API tests read sweeps written through a real client, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from opensweep.api import Api
from opensweep.client import connect
from opensweep.client.base import Client


@pytest.fixture
def client(store_url: str) -> Iterator[Client]:
    c = connect(store_url)
    yield c
    c.close()


@pytest.fixture
def api(client: Client) -> Api:
    return Api(client=client)

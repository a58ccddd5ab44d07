"""The client contract suite on the in-process client, over SQLite and PostgreSQL."""

from __future__ import annotations

from opensweep.testing.client_contract import ClientContract


class TestLocalClient(ClientContract):
    pass  # the default `client` fixture: LocalClient(store_url)

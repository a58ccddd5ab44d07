"""The store contract suite on SQLite and PostgreSQL (``store_url`` is parametrized)."""

from __future__ import annotations

from opensweep.testing.store_contract import StoreContract


class TestSQLStore(StoreContract):
    pass

"""Where sweeps, runs and metrics live: :func:`open_store` picks the back end from a URL.

``sqlite:///path`` (or a bare file path) for the embedded default, ``postgresql://...`` for a
shared server (psycopg 3). HTTP URLs are not stores: ``opensweep.client.connect`` handles them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from opensweep.store.base import Propose, Store

T = TypeVar("T")

DEFAULT_URL = "sqlite:///opensweep.db"


def open_store(url: str) -> Store:
    """Open (and, for an empty database, create) the store at ``url``.

    Raises :class:`~opensweep.errors.StoreError` when the database cannot be opened or its schema
    is older than this code (run :func:`upgrade`), and
    :class:`~opensweep.errors.SchemaVersionError` when it is newer.
    """
    from opensweep.store.sql import SQLStore

    return SQLStore(url)


def upgrade(url: str) -> tuple[str | None, str]:
    """Migrate the database at ``url`` to this code's schema (``opensweep db upgrade``).

    Returns ``(revision before, revision after)``; before is None for a new database.
    """
    from opensweep.store.sql import engine, schema

    normalized = engine.normalize_url(url)
    sql_engine = engine.create_engine(normalized)
    try:
        return _guarded(lambda: schema.migrate(sql_engine, normalized), normalized)
    finally:
        sql_engine.dispose()


def schema_revision(url: str) -> str | None:
    """The schema revision of the database at ``url`` (None when it has no opensweep schema)."""
    from opensweep.store.sql import engine, schema

    normalized = engine.normalize_url(url)
    sql_engine = engine.create_engine(normalized)

    def read() -> str | None:
        with engine.read_tx(sql_engine) as conn:
            return schema.current_revision(conn)

    try:
        return _guarded(read, normalized)
    finally:
        sql_engine.dispose()


def _guarded(fn: Callable[[], T], url: str) -> T:
    from opensweep.store.sql.engine import translate_db_errors

    with translate_db_errors(url):
        return fn()


__all__ = ["DEFAULT_URL", "Propose", "Store", "open_store", "schema_revision", "upgrade"]

"""Hot read queries run on the driver's cursor.

A query that returns tens of thousands of rows (a sweep's metric series, the runs handed to
``claim_next``) spends most of its time building SQLAlchemy ``Row`` objects: measured 3-4x the
driver's own ``fetchall`` on both SQLite and PostgreSQL. These statements are still written with
SQLAlchemy Core, compiled once per dialect, and executed on the raw DBAPI cursor of the same
connection (inside the same transaction).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


class RawQuery:
    """A Core ``SELECT`` with named ``bindparam``s, executed on the driver cursor."""

    def __init__(self, statement: sa.Select[Any]) -> None:
        self._statement = statement
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None]] = {}

    def _compile(self, conn: Connection) -> tuple[str, tuple[str, ...] | None]:
        dialect = conn.dialect
        entry = self._compiled.get(dialect.name)
        if entry is None:
            compiled = self._statement.compile(dialect=dialect)
            order = tuple(compiled.positiontup or ()) if compiled.positional else None
            entry = (compiled.string, order)
            self._compiled[dialect.name] = entry
        return entry

    def rows(self, conn: Connection, **params: Any) -> list[tuple[Any, ...]]:
        sql, order = self._compile(conn)
        args: Any = [params[name] for name in order] if order is not None else params
        dbapi_conn = conn.connection.dbapi_connection
        assert dbapi_conn is not None  # a checked-out connection always has one
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute(sql, args)
            return list(cursor.fetchall())
        finally:
            cursor.close()

"""Hot statements run on the driver's cursor.

A query that returns tens of thousands of rows (a sweep's metric series, the runs handed to
``claim_next``) spends most of its time building SQLAlchemy ``Row`` objects: measured 3-4x the
driver's own ``fetchall`` on both SQLite and PostgreSQL. And the statements of a trial (a claim,
a log batch, a finish: each a few statements inside SQLite's one write lock) cost about 60 us
each through SQLAlchemy's execution machinery against 15 us on the cursor. These statements are
still written with SQLAlchemy Core, compiled once per dialect, and executed on the raw DBAPI
cursor of the same connection (inside the same transaction).

Only plain bind parameters: no expanding ``IN`` lists and no type processing (the columns these
statements touch are text, integers and floats, which both drivers take as they are).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from opensweep.store.sql.engine import DB_ERRORS


class RawQuery:
    """A Core statement with named ``bindparam``s, executed on the driver cursor."""

    def __init__(self, statement: sa.Executable) -> None:
        self._statement = statement
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}

    def _compile(self, conn: Connection) -> tuple[str, tuple[str, ...] | None, dict[str, Any]]:
        dialect = conn.dialect
        entry = self._compiled.get(dialect.name)
        if entry is None:
            compiled = self._statement.compile(dialect=dialect)  # type: ignore[attr-defined]
            order = tuple(compiled.positiontup or ()) if compiled.positional else None
            # literals in the statement (``version + 1``) are bind parameters with a value
            defaults = {k: v for k, v in compiled.params.items() if v is not None}
            entry = (compiled.string, order, defaults)
            self._compiled[dialect.name] = entry
        return entry

    def _execute(self, conn: Connection, params: dict[str, Any], fetch: bool) -> Any:
        sql, order, defaults = self._compile(conn)
        values = {**defaults, **params} if defaults else params
        args: Any = [values[name] for name in order] if order is not None else values
        dbapi_conn = conn.connection.dbapi_connection
        assert dbapi_conn is not None  # a checked-out connection always has one
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute(sql, args)
            return list(cursor.fetchall()) if fetch else cursor.rowcount
        except DB_ERRORS as exc:
            if conn.dialect.is_disconnect(exc, dbapi_conn, cursor):  # type: ignore[arg-type]
                # What SQLAlchemy does for the statements it runs: this connection is dead,
                # and (a restarted server) so are the pooled ones. Without this, the dead
                # connection would go back to the pool and fail the next call too.
                conn.invalidate(exc)
                conn.engine.dispose()
            raise
        finally:
            cursor.close()

    def rows(self, conn: Connection, **params: Any) -> list[tuple[Any, ...]]:
        """Every row the statement returns (a SELECT, or a change with RETURNING)."""
        result: list[tuple[Any, ...]] = self._execute(conn, params, fetch=True)
        return result

    def first(self, conn: Connection, **params: Any) -> tuple[Any, ...] | None:
        found = self.rows(conn, **params)
        return found[0] if found else None

    def run(self, conn: Connection, **params: Any) -> int:
        """Execute a statement that returns no rows; the number of rows it changed."""
        count: int = self._execute(conn, params, fetch=False)
        return count

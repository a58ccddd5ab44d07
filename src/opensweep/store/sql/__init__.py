"""SQL implementation of the store (SQLite and PostgreSQL through SQLAlchemy Core)."""

from __future__ import annotations

from opensweep.store.sql.store import SQLStore

__all__ = ["SQLStore"]

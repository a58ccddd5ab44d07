"""Schema versions: Alembic migrations shipped inside the package.

The revision a database is at is recorded in the table ``opensweep_schema_version`` (Alembic's
version table under our own name, so it never collides with another Alembic user of the same
database, e.g. Optuna). Opening a store:

- empty database -> create the schema by running every migration (under a lock, so many
  processes opening a new database at once create it once);
- at :data:`HEAD_REVISION` -> nothing to do (one cheap query);
- older -> :class:`~opensweep.errors.StoreError` asking for ``opensweep db upgrade``;
- a revision this code does not know (written by a newer opensweep) ->
  :class:`~opensweep.errors.SchemaVersionError`.

To change the schema: edit ``tables.py``, add ``migrations/versions/NNNN_<what>.py`` with
``down_revision`` = the previous head, and bump :data:`HEAD_REVISION` (tests check all three
agree).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from opensweep import errors
from opensweep.store.sql.engine import read_tx, safe_url, write_tx

HEAD_REVISION = "0002"
VERSION_TABLE = "opensweep_schema_version"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_PG_LOCK_KEY = 0x6F70656E7377  # any constant: serialises concurrent migrations on PostgreSQL


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at, or None for a database without our schema."""
    if not sa.inspect(conn).has_table(VERSION_TABLE):
        return None
    revisions = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if not revisions:
        return None
    if len(revisions) > 1:  # Alembic branches: we never create them
        raise errors.StoreError(f"database has several schema revisions: {sorted(revisions)}")
    return str(revisions[0])


def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS_DIR))
    return {rev.revision for rev in script.walk_revisions()}


def head_revision() -> str:
    """The head of the shipped migration scripts (equals :data:`HEAD_REVISION`)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None, "no migration scripts shipped"
    return head


def ensure_schema(engine: Engine, url: str) -> None:
    """Create the schema of an empty database; refuse an older or newer one (see module doc)."""
    with read_tx(engine) as conn:
        revision = current_revision(conn)
    if revision == HEAD_REVISION:
        return
    if revision is None:
        migrate(engine, url)
        return
    _refuse_unknown(revision, url)
    raise errors.StoreError(
        f"the database at {safe_url(url)} has schema revision {revision}, this version of "
        f"opensweep needs {HEAD_REVISION}: back it up, then run `opensweep db upgrade` "
        "with the same URL",
        details={"revision": revision, "expected": HEAD_REVISION},
    )


def migrate(engine: Engine, url: str) -> tuple[str | None, str]:
    """Upgrade the database to :data:`HEAD_REVISION`; returns (revision before, after)."""
    from alembic import command
    from alembic.config import Config

    with write_tx(engine) as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
        before = current_revision(conn)
        if before == HEAD_REVISION:
            return before, HEAD_REVISION
        if before is not None:
            _refuse_unknown(before, url)
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = conn
        command.upgrade(config, HEAD_REVISION)
        return before, HEAD_REVISION


def _refuse_unknown(revision: str, url: str) -> None:
    if revision not in known_revisions():
        raise errors.SchemaVersionError(
            f"the database at {safe_url(url)} has schema revision {revision}, which is newer "
            f"than this version of opensweep knows (latest {HEAD_REVISION}): upgrade opensweep "
            "(pip install -U opensweep) to use it",
            details={"revision": revision, "latest_known": HEAD_REVISION},
        )

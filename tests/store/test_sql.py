"""SQL-store specifics: URLs, SQLite settings, migrations and schema versions, error wrapping."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from opensweep import errors
from opensweep.store import DEFAULT_URL, open_store, schema_revision, upgrade
from opensweep.store.sql import SQLStore, schema
from opensweep.store.sql.engine import create_engine, normalize_url, safe_url
from opensweep.store.sql.tables import metadata
from opensweep.testing.store_contract import make_run, make_sweep, open_worker, run_in_processes


def test_default_url() -> None:
    assert DEFAULT_URL == "sqlite:///opensweep.db"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:////abs/x.db", "sqlite:////abs/x.db"),
        ("postgresql://u@h:5432/db", "postgresql+psycopg://u@h:5432/db"),
        (
            "postgres://u@h/db?options=-csearch_path%3Ds",
            "postgresql+psycopg://u@h/db?options=-csearch_path%3Ds",
        ),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ],
)
def test_normalize_url(given: str, expected: str) -> None:
    assert normalize_url(given) == expected


def test_bare_path_is_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert normalize_url("runs.db") == f"sqlite:///{tmp_path / 'runs.db'}"
    assert normalize_url("sqlite:///runs.db") == f"sqlite:///{tmp_path / 'runs.db'}"
    assert normalize_url("sqlite:///sub/../runs.db") == f"sqlite:///{tmp_path / 'runs.db'}"
    store = open_store("runs.db")
    try:
        store.create_sweep(make_sweep())
    finally:
        store.close()
    assert (tmp_path / "runs.db").exists()
    assert store.url == f"sqlite:///{tmp_path / 'runs.db'}"


def test_in_memory_sqlite() -> None:
    for url in ("sqlite://", "sqlite:///:memory:"):
        store = open_store(url)
        try:
            store.create_sweep(make_sweep())
            assert store.get_sweep("sw1").id == "sw1"
        finally:
            store.close()


@pytest.mark.parametrize("url", ["http://localhost:8765", "mysql://x@y/z", ""])
def test_unsupported_urls(url: str) -> None:
    with pytest.raises(errors.StoreError):
        open_store(url)


def test_sqlite_settings(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    assert isinstance(store, SQLStore)
    try:
        with store._engine.connect() as conn:
            pragma = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")
            }
    finally:
        store.close()
    assert pragma == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "synchronous": 1,  # NORMAL
        "busy_timeout": 60000,
    }


def test_postgres_search_path_option_is_honoured(postgres_url: str) -> None:
    store = open_store(postgres_url)
    try:
        store.create_sweep(make_sweep())
    finally:
        store.close()
    schema_name = postgres_url.rsplit("search_path%3D", 1)[1]
    engine = sa.create_engine(normalize_url(postgres_url.split("?")[0]))
    try:
        with engine.connect() as conn:
            tables = set(
                conn.execute(
                    sa.text(
                        "select table_name from information_schema.tables where table_schema = :s"
                    ),
                    {"s": schema_name},
                ).scalars()
            )
    finally:
        engine.dispose()
    assert {"sweeps", "runs", "history", schema.VERSION_TABLE} <= tables


# ------------------------------------------------------------------------- migrations
def test_head_revision_matches_migration_scripts() -> None:
    assert schema.head_revision() == schema.HEAD_REVISION
    assert schema.HEAD_REVISION in schema.known_revisions()


def test_new_database_is_at_head(store_url: str) -> None:
    assert schema_revision(store_url) is None
    open_store(store_url).close()
    assert schema_revision(store_url) == schema.HEAD_REVISION


def test_migrated_schema_equals_table_definitions(store_url: str) -> None:
    """The migrations build exactly the schema ``tables.py`` declares (nothing forgotten)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    upgrade(store_url)
    engine = create_engine(normalize_url(store_url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "version_table": schema.VERSION_TABLE}
            )
            diffs = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert diffs == []


def test_upgrade_function(store_url: str) -> None:
    assert upgrade(store_url) == (None, schema.HEAD_REVISION)
    assert upgrade(store_url) == (schema.HEAD_REVISION, schema.HEAD_REVISION)
    store = open_store(store_url)
    try:
        store.create_sweep(make_sweep())
        assert store.get_sweep("sw1").id == "sw1"
    finally:
        store.close()


def test_upgrade_from_the_first_revision_keeps_the_data(store_url: str) -> None:
    """A database made by the first release (revision 0001) is refused until upgraded, then
    has the new index and its old runs."""
    from alembic import command
    from alembic.config import Config

    engine = create_engine(normalize_url(store_url))
    try:
        with engine.begin() as conn:
            config = Config()
            config.set_main_option("script_location", str(schema.MIGRATIONS_DIR))
            config.attributes["connection"] = conn
            command.upgrade(config, "0001")
            conn.execute(
                sa.text(
                    "INSERT INTO sweeps (id, name, config, state, seed, created_at, updated_at) "
                    "VALUES ('old', 'old', '{}', 'finished', 1, 1.0, 2.0)"
                )
            )
    finally:
        engine.dispose()
    with pytest.raises(errors.StoreError, match="opensweep db upgrade"):
        open_store(store_url)
    assert upgrade(store_url) == ("0001", schema.HEAD_REVISION)
    store = open_store(store_url)
    try:
        assert store.get_sweep("old").updated_at == 2.0
    finally:
        store.close()
    engine = create_engine(normalize_url(store_url))
    try:
        with engine.connect() as conn:
            indexes = {ix["name"] for ix in sa.inspect(conn).get_indexes("runs")}
    finally:
        engine.dispose()
    assert "ix_runs_sweep_state" in indexes


def _set_revision(url: str, revision: str) -> None:
    engine = create_engine(normalize_url(url))
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(f"UPDATE {schema.VERSION_TABLE} SET version_num = :r"), {"r": revision}
            )
    finally:
        engine.dispose()


def test_newer_schema_is_refused(store_url: str) -> None:
    open_store(store_url).close()
    _set_revision(store_url, "9999")
    with pytest.raises(
        errors.SchemaVersionError, match="newer than this version of opensweep"
    ) as exc:
        open_store(store_url)
    assert exc.value.details["revision"] == "9999"
    with pytest.raises(errors.SchemaVersionError):
        upgrade(store_url)


def test_older_schema_asks_for_upgrade(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    open_store(store_url).close()
    # Pretend this code is one revision ahead of the database.
    known = {*schema.known_revisions(), "9000"}
    monkeypatch.setattr(schema, "HEAD_REVISION", "9000")
    monkeypatch.setattr(schema, "known_revisions", lambda: known)
    with pytest.raises(errors.StoreError, match="opensweep db upgrade") as exc:
        open_store(store_url)
    assert not isinstance(exc.value, errors.SchemaVersionError)


def test_many_processes_open_a_new_database_at_once(store_url: str) -> None:
    """The first open creates the schema exactly once even when processes race for it."""
    assert run_in_processes(open_worker, [(store_url,)] * 3) == [None] * 3
    assert schema_revision(store_url) == schema.HEAD_REVISION


# ------------------------------------------------------------------------- errors
def test_missing_directory_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(errors.StoreError, match="does not exist"):
        open_store(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")


def test_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a database file at all" * 100)
    with pytest.raises(errors.StoreError, match="not a database"):
        open_store(f"sqlite:///{path}")


def test_unreachable_postgres_hides_password() -> None:
    url = "postgresql://alice:s3cr3t-pw@127.0.0.1:1/nowhere?connect_timeout=2"
    with pytest.raises(errors.StoreError) as exc:
        open_store(url)
    assert "s3cr3t-pw" not in str(exc.value)
    assert "127.0.0.1" in str(exc.value)
    assert exc.value.__cause__ is None and exc.value.__suppress_context__


def test_safe_url_masks_password() -> None:
    assert "pw" not in safe_url("postgresql+psycopg://u:pw@h/db")


def test_database_failure_mid_operation_is_a_store_error(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    try:
        path = sqlite_url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as raw:
            raw.execute("DROP TABLE history")
        store.create_sweep(make_sweep())
        store.create_run(make_run("r", sweep_id="sw1"))
        with pytest.raises(errors.StoreError, match="history") as exc:
            store.history("r")
        assert (
            not isinstance(exc.value.__context__, sa.exc.SQLAlchemyError)
            or exc.value.__suppress_context__
        )
    finally:
        store.close()


def test_store_survives_fork(store_url: str) -> None:
    """A forked child gets fresh connections; the parent's pooled ones stay usable."""
    store = open_store(store_url)
    try:
        store.create_sweep(make_sweep("parent"))
        pid = os.fork()
        if pid == 0:  # child: any failure shows up as a non-zero exit code
            code = 1
            try:
                assert isinstance(store, SQLStore)
                inherited = store._engine.pool.checkedin()  # the parent's idle connections
                store.create_sweep(make_sweep("child"))
                ok = store.get_sweep("parent").id == "parent"
                store.close()  # closing the child's connections must not hurt the parent's
                code = 0 if ok and inherited == 0 else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert {s.id for s in store.list_sweeps()} == {"parent", "child"}
    finally:
        store.close()

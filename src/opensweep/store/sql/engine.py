"""Store URLs, engines and error translation.

SQLite: WAL so readers never block the writer, ``busy_timeout`` so concurrent writers wait
instead of failing, ``synchronous=NORMAL`` (durable across process crashes, at most the last
transactions lost on power failure), foreign keys on. pysqlite's own transaction handling is
switched off so that we emit ``BEGIN IMMEDIATE`` for every write transaction: a write then takes
the lock up front and waits for it, instead of failing with SQLITE_BUSY when a read transaction
tries to upgrade.

PostgreSQL: psycopg 3 (``postgresql+psycopg``); query options such as
``options=-csearch_path=...`` pass through to ``psycopg.connect``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url

from opensweep import errors

try:
    import fcntl
except ImportError:  # Windows: SQLite's own busy wait only
    fcntl = None  # type: ignore[assignment]

SQLITE_BUSY_TIMEOUT_MS = 60_000
DB_ERRORS = (sa.exc.SQLAlchemyError, sqlite3.Error, psycopg.Error)
# A duplicate key, as the drivers raise it (RawQuery runs on the driver cursor, not SQLAlchemy).
INTEGRITY_ERRORS = (sqlite3.IntegrityError, psycopg.IntegrityError)
_SQLITE_BEGIN = "opensweep_sqlite_begin"


def normalize_url(url: str) -> str:
    """The canonical form of a store URL: a bare path or a relative SQLite path becomes
    ``sqlite:///<absolute path>``; ``postgresql://`` / ``postgres://`` select psycopg 3."""
    text = str(url).strip()
    if not text:
        raise errors.StoreError("empty store URL")
    if "://" not in text:
        return f"sqlite:///{Path(text).expanduser().resolve()}"
    scheme, rest = text.split("://", 1)
    base = scheme.lower().split("+", 1)[0]
    if base == "sqlite":
        # An absolute path, so the URL means the same file to processes started elsewhere
        # (agents hand it to their children).
        parsed = make_url(text)
        database = parsed.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            return text
        absolute = str(Path(database).expanduser().resolve())
        if absolute == database:
            return text
        return parsed.set(database=absolute).render_as_string(hide_password=False)
    if base in ("postgresql", "postgres"):
        driver = scheme.split("+", 1)[1] if "+" in scheme else "psycopg"
        return f"postgresql+{driver}://{rest}"
    raise errors.StoreError(
        f"unsupported store URL scheme {scheme!r}: use sqlite:///path or postgresql://..."
    )


def safe_url(url: str | URL) -> str:
    """The URL with its password masked, for messages."""
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
        return parsed.render_as_string(hide_password=True)
    except Exception:  # unparsable: say nothing that could hold a secret
        return "<store URL>"


# A forked child (e.g. an agent running the training function in a fork) must not use the
# parent's pooled connections: drop them from every engine's pool, without closing them.
_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()
_WRITER_LOCKS: weakref.WeakKeyDictionary[Engine, WriterLock] = weakref.WeakKeyDictionary()


def _forget_connections_after_fork() -> None:
    for engine in list(_ENGINES):
        engine.dispose(close=False)
    for lock in list(_WRITER_LOCKS.values()):
        lock.forget_after_fork()


os.register_at_fork(after_in_child=_forget_connections_after_fork)


def dispose(engine: Engine) -> None:
    """Close an engine's connections and its SQLite writer lock's file."""
    engine.dispose()
    lock = _WRITER_LOCKS.pop(engine, None)
    if lock is not None:
        lock.close()


def create_engine(url: str) -> Engine:
    """An engine for a normalized store URL (see :func:`normalize_url`)."""
    engine = _create_engine(url)
    _ENGINES.add(engine)
    return engine


def _create_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise errors.StoreError(f"invalid store URL {safe_url(url)}: {exc}") from None
    try:
        if parsed.get_backend_name() == "sqlite":
            return _sqlite_engine(parsed)
        return _postgres_engine(parsed)
    except errors.OpenSweepError:
        raise
    except Exception as exc:
        raise errors.StoreError(f"cannot open store {safe_url(parsed)}: {exc}") from None


# A pooled connection unused for longer than this is pinged before use (see _postgres_engine).
IDLE_PING_SECONDS = 1.0
_LAST_USED = "opensweep_last_used"


def _postgres_engine(url: URL) -> Engine:
    """An engine whose pool pings a connection only when it sat idle.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: a round trip in front of each of
    the three or four transactions of a trial. A connection used less than a second ago was
    fine then; one idle longer (across a database restart, a dropped TCP connection) is
    pinged, and replaced if the ping fails (SQLAlchemy's "custom pessimistic ping" recipe).
    """
    # pool_size is how many connections are *kept* (they open lazily): a server answers agents
    # from a thread pool, and an overflow connection is closed again on return, so each
    # transaction past pool_size would start (and end) a PostgreSQL backend process.
    engine = sa.create_engine(url, pool_size=16, max_overflow=16, pool_recycle=1800)

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info[_LAST_USED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        last = record.info.get(_LAST_USED)
        if last is not None and time.monotonic() - last < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
            dbapi_conn.rollback()  # end the transaction the ping's SELECT began
        except Exception as exc:  # the pool reconnects (and retries checkout) on this
            raise sa.exc.DisconnectionError(str(exc)) from exc

    return engine


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:")
    if not in_memory:
        parent = Path(database).expanduser().resolve().parent
        if not parent.is_dir():
            raise errors.StoreError(f"cannot open SQLite store {database}: {parent} does not exist")
    kwargs: dict[str, Any] = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}}
    if not in_memory:
        # Kept connections cost three file handles each (db, -wal, -shm); a server's threads
        # use a few at once, and a connection opened past pool_size is closed on return.
        kwargs.update(pool_size=8, max_overflow=8)
    engine = sa.create_engine(url, **kwargs)
    if in_memory:
        engine.dispose()
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False}, poolclass=sa.pool.StaticPool
        )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see module doc)
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys = ON")
            if not in_memory:
                cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_SQLITE_BEGIN, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    if not in_memory and fcntl is not None:
        path = str(Path(database).expanduser().resolve())
        _WRITER_LOCKS[engine] = WriterLock(path, SQLITE_BUSY_TIMEOUT_MS / 1000)
    return engine


@contextmanager
def write_tx(engine: Engine) -> Iterator[Connection]:
    """A write transaction: ``BEGIN IMMEDIATE`` on SQLite (under the file's
    :class:`WriterLock`); plain on PostgreSQL (callers lock the rows they change with
    ``FOR UPDATE``)."""
    writer_lock = _WRITER_LOCKS.get(engine)
    # The connection is checked out before the lock and returned (and reset) after it: the
    # lock is what every writer of the file waits for, so it covers only BEGIN to COMMIT.
    with (
        engine.connect() as conn,
        writer_lock.hold() if writer_lock is not None else nullcontext(),
    ):
        if engine.dialect.name == "sqlite":
            conn.execution_options(**{_SQLITE_BEGIN: "IMMEDIATE"})
        with conn.begin():
            yield conn


class WriterLock:
    """Takes turns between the writers of one SQLite file on this machine, before they ask
    SQLite for its write lock.

    SQLite makes a writer that finds the file locked sleep and retry (1, 2, 5, 10, ... 100 ms):
    with four agents each writing a few hundred times a second, most of their time went into
    those sleeps. Waiting here instead, on an OS lock (``flock`` on ``<db>-writer.lock``)
    polled every 0.2 ms, a writer starts within a fraction of a millisecond of the previous
    one's commit. Processes that do not take this lock (an older opensweep, the sqlite3 shell)
    are still kept out by SQLite's own lock. Not available on Windows (no ``fcntl``).
    """

    POLL_SECONDS = 0.0002

    def __init__(self, database: str, timeout: float) -> None:
        self.path = f"{database}-writer.lock"
        self.timeout = timeout
        self._fd: int | None = None
        self._threads = threading.Lock()  # flock does not keep out threads sharing the fd

    def close(self) -> None:
        with self._threads:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def forget_after_fork(self) -> None:
        # A child shares the parent's open file (and so its flock): it opens its own.
        self._fd = None
        self._threads = threading.Lock()

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self._threads:
            fd = self._open()
            if fd is None:  # cannot create the lock file (read-only directory): SQLite waits
                yield
                return
            self._acquire(fd)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _open(self) -> int | None:
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError:
                return None
        return self._fd

    def _acquire(self, fd: int) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise errors.StoreError(
                        f"timed out after {self.timeout:g} s waiting for another writer of "
                        f"{self.path.removesuffix('-writer.lock')}"
                    ) from None
                time.sleep(self.POLL_SECONDS)


@contextmanager
def read_tx(engine: Engine) -> Iterator[Connection]:
    """A read: one snapshot on SQLite (a deferred transaction); on PostgreSQL each statement
    runs on its own (autocommit), which sees what a READ COMMITTED transaction's statements
    would see, without the two round trips of BEGIN and COMMIT."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            yield conn.execution_options(isolation_level="AUTOCOMMIT")
        else:
            with conn.begin():
                yield conn


def describe_db_error(exc: BaseException, url: str) -> str:
    """A one-line message for a driver error, without the URL's password or SQL parameters."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return f"database error ({type(orig).__name__}) on {safe_url(url)}: {text}"


@contextmanager
def translate_db_errors(url: str) -> Iterator[None]:
    """Turn driver and SQLAlchemy errors into StoreError (our own errors pass through)."""
    try:
        yield
    except DB_ERRORS as exc:
        raise errors.StoreError(describe_db_error(exc, url)) from None

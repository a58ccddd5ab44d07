"""Shared fixtures: store URLs for SQLite and PostgreSQL.

PostgreSQL tests use ``OPENSWEEP_TEST_POSTGRES`` (a URL); without it they try the local default
``postgresql://postgres@127.0.0.1:5432/test`` and are skipped, with the reason, when it cannot be
reached. With ``OPENSWEEP_REQUIRE_POSTGRES=1`` (CI) an unreachable server is a failure.
Each test gets its own PostgreSQL schema, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import settings

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"

# CI replays the same Hypothesis examples on every run (a submission must not fail on an example
# it happened to draw that time); `make test` elsewhere draws new ones, and a failure it finds
# becomes a fixed example test.
settings.register_profile("ci", derandomize=True)
if os.environ.get("OPENSWEEP_HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["OPENSWEEP_HYPOTHESIS_PROFILE"])
REFERENCE = Path(__file__).parent / "data" / "wandb-reference"


def _pg_base_url() -> str:
    return os.environ.get("OPENSWEEP_TEST_POSTGRES") or DEFAULT_PG


def _pg_reachable(url: str) -> str | None:
    """None when reachable, else the reason."""
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("select 1")
        return None
    except Exception as exc:  # any failure to connect means "not reachable"
        return f"{type(exc).__name__}: {exc}".strip().splitlines()[0]


_PG_STATUS: dict[str, str | None] = {}


def postgres_base_url() -> str:
    """The PostgreSQL server URL for tests, or skip/fail as described in the module doc."""
    url = _pg_base_url()
    if url not in _PG_STATUS:
        _PG_STATUS[url] = _pg_reachable(url)
    reason = _PG_STATUS[url]
    if reason is not None:
        message = f"PostgreSQL not reachable at {url} ({reason})"
        if os.environ.get("OPENSWEEP_REQUIRE_POSTGRES") == "1":
            pytest.fail(message + " and OPENSWEEP_REQUIRE_POSTGRES=1", pytrace=False)
        pytest.skip(message + "; set OPENSWEEP_TEST_POSTGRES to run these tests")
    return url


def _fresh_pg_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped when the generator ends."""
    import psycopg

    base = postgres_base_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL with a schema of this test alone."""
    yield from _fresh_pg_schema_url()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'opensweep.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every store-backed test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'opensweep.db'}"
    else:
        yield from _fresh_pg_schema_url()


@pytest.fixture
def reference() -> Path:
    """W&B's recorded behaviour (copied from shared/wandb-reference so a clean clone tests)."""
    return REFERENCE

"""connect() and resolve_url(): which client a URL gives, and what a URL means."""

from __future__ import annotations

from pathlib import Path

import pytest

from opensweep.client import DEFAULT_URL, connect, resolve_url
from opensweep.client.local import LocalClient
from opensweep.errors import InvalidRequest


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("OPENSWEEP_URL", raising=False)
    monkeypatch.delenv("OPENSWEEP_TOKEN", raising=False)
    monkeypatch.delenv("OPENSWEEP_HEARTBEAT_TIMEOUT", raising=False)
    monkeypatch.chdir(tmp_path)


def test_default_is_opensweep_db_in_the_working_directory(tmp_path: Path) -> None:
    assert DEFAULT_URL == "sqlite:///opensweep.db"
    assert resolve_url() == f"sqlite:///{tmp_path.resolve() / 'opensweep.db'}"


def test_the_environment_names_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENSWEEP_URL", "postgresql://u@db:5432/sweeps")
    assert resolve_url() == "postgresql://u@db:5432/sweeps"
    assert resolve_url("http://host:8765") == "http://host:8765"  # an explicit URL wins


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("runs.db", "sqlite:///{cwd}/runs.db"),
        ("sub/runs.db", "sqlite:///{cwd}/sub/runs.db"),
        ("/abs/runs.db", "sqlite:////abs/runs.db"),
        ("sqlite:///rel.db", "sqlite:///{cwd}/rel.db"),
        ("sqlite:////abs/x.db", "sqlite:////abs/x.db"),
        ("sqlite+pysqlite:///rel.db?timeout=5", "sqlite+pysqlite:///{cwd}/rel.db?timeout=5"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("postgresql+psycopg://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("https://sweeps.example.org", "https://sweeps.example.org"),
    ],
)
def test_sqlite_paths_become_absolute(given: str, expected: str, tmp_path: Path) -> None:
    assert resolve_url(given) == expected.format(cwd=tmp_path.resolve())


def test_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="ftp"):
        resolve_url("ftp://example.org/x")


def test_a_database_url_gives_a_local_client(tmp_path: Path) -> None:
    client = connect("sweeps.db")
    try:
        assert isinstance(client, LocalClient)
        sweep = client.create_sweep({"method": "grid", "parameters": {"x": {"values": [1]}}})
    finally:
        client.close()
    again = connect(f"sqlite:///{tmp_path / 'sweeps.db'}")
    try:
        assert again.get_sweep(sweep.id).id == sweep.id
    finally:
        again.close()


def test_an_http_url_gives_the_http_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENSWEEP_TOKEN", "t0ken")
    client = connect("http://127.0.0.1:9")  # nothing is sent until a verb is called
    try:
        assert type(client).__name__ == "HttpClient"
        assert client.url.startswith("http://127.0.0.1:9")
    finally:
        client.close()


def test_heartbeat_timeout_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENSWEEP_HEARTBEAT_TIMEOUT", "2.5")
    with LocalClient("a.db") as client:
        assert client.heartbeat_timeout == 2.5
    with LocalClient("a.db", heartbeat_timeout=7) as client:
        assert client.heartbeat_timeout == 7
    monkeypatch.setenv("OPENSWEEP_HEARTBEAT_TIMEOUT", "soon")
    with pytest.raises(InvalidRequest, match="OPENSWEEP_HEARTBEAT_TIMEOUT"):
        LocalClient("a.db")

"""Bearer tokens: required when configured, compared exactly, read-only tokens only read."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from opensweep.client.http import HttpClient
from opensweep.errors import Forbidden, InvalidRequest, Unauthorized
from opensweep.server.app import create_app
from opensweep.server.auth import new_token
from opensweep.wire.models import API_PREFIX

from .conftest import Live, serve

WRITE = new_token()
READ = new_token()


@pytest.fixture
def guarded(sqlite_url: str) -> Iterator[Live]:
    app = create_app(sqlite_url, token=WRITE, read_only_tokens=[READ])
    with serve(app) as server:
        yield Live(server.url, WRITE, app)


def test_requests_without_a_valid_token_are_refused(guarded: Live) -> None:
    cases: list[dict[str, str]] = [
        {},
        {"authorization": "Bearer"},
        {"authorization": f"Bearer {WRITE[:-1]}"},
        {"authorization": f"Bearer {WRITE}x"},
        {"authorization": f"Bearer {WRITE.upper()}"},
        {"authorization": f"Basic {WRITE}"},
        {"authorization": WRITE},
    ]
    with guarded.raw(token=None) as raw:
        for headers in cases:
            response = raw.get(f"{API_PREFIX}/sweeps", headers=headers)
            assert response.status_code == 401, headers
            assert response.json()["code"] == "unauthorized"
            assert response.headers["www-authenticate"] == "Bearer"
            assert WRITE not in response.text
    with guarded.raw() as raw:
        assert raw.get(f"{API_PREFIX}/sweeps").status_code == 200


def test_http_client_raises_unauthorized(guarded: Live) -> None:
    bad = HttpClient(guarded.url, token="wrong-token-0123456789", retry_for=1)
    with bad, pytest.raises(Unauthorized):
        bad.start_run(name="nope")
    with HttpClient(guarded.url, token=WRITE) as good:
        run = good.start_run(name="yes")
        assert good.get_run(run.id).name == "yes"


def test_read_only_token_reads_but_cannot_change(guarded: Live) -> None:
    with HttpClient(guarded.url, token=WRITE) as writer:
        run = writer.start_run(name="r")
    with HttpClient(guarded.url, token=READ) as reader:
        assert reader.get_run(run.id).name == "r"
        assert reader.health()["read_only"] is True
        with pytest.raises(Forbidden):
            reader.finish_run(run.id, exit_code=0)
        with pytest.raises(Forbidden):
            reader.start_run(name="nope")
        assert reader.get_run(run.id).state.value == "running"
    with HttpClient(guarded.url, token=WRITE) as writer:
        assert writer.health() == {
            "status": "ok",
            "version": writer.health()["version"],
            "auth_required": True,
            "read_only": False,
        }


def test_cookie_token_for_browsers(guarded: Live) -> None:
    with guarded.raw(token=None) as raw:
        ok = raw.get(f"{API_PREFIX}/sweeps", headers={"cookie": f"opensweep_token={READ}"})
        assert ok.status_code == 200
        refused = raw.post(
            f"{API_PREFIX}/runs", json={}, headers={"cookie": f"opensweep_token={READ}"}
        )
        assert refused.status_code == 403
        assert refused.json()["code"] == "forbidden"


def test_health_and_openapi_are_public(guarded: Live) -> None:
    with guarded.raw(token=None) as raw:
        health = raw.get(f"{API_PREFIX}/health").json()
        assert health["status"] == "ok" and health["auth_required"] is True
        assert health["read_only"] is True  # an anonymous caller may not change anything
        assert "paths" in raw.get("/openapi.json").json()


def test_open_server_needs_no_token(sqlite_url: str) -> None:
    with serve(create_app(sqlite_url)) as server, HttpClient(server.url) as client:
        assert client.health()["auth_required"] is False
        assert client.start_run(name="free").name == "free"


@pytest.mark.parametrize("token", ["short", "has a space in it 123456", "tab\there-0123456789"])
def test_weak_or_malformed_tokens_are_refused(sqlite_url: str, token: str) -> None:
    with pytest.raises(InvalidRequest):
        create_app(sqlite_url, token=token)


def test_new_tokens_are_long_and_distinct() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(len(t) >= 40 for t in tokens)


def test_dashboard_shells_are_public_and_its_data_is_guarded(guarded: Live) -> None:
    pytest.importorskip("opensweep.server.dashboard")
    with guarded.raw(token=None) as raw:
        assert raw.get("/").status_code == 200
        assert raw.get("/static/common.js").status_code == 200
        assert raw.get("/dashboard/api/sweeps").status_code == 401
        cookie = {"cookie": f"opensweep_token={READ}"}
        assert raw.get("/dashboard/api/sweeps", headers=cookie).status_code == 200
    # The dashboard's routes stay out of the API contract.
    with guarded.raw() as raw:
        paths = raw.get("/openapi.json").json()["paths"]
        assert all(p.startswith(API_PREFIX) for p in paths)

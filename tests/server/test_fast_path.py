"""The fast path answers the agent's hot calls exactly as the FastAPI routes would.

A request with ``Content-Type: application/json; charset=utf-8`` is one the fast path leaves to
the routes, so sending the same body both ways compares the two, byte for byte.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx
import pytest

from opensweep.client.base import LogResult
from opensweep.core.model import LogBatch, MetricRow, Run, RunState
from opensweep.errors import NotFound, StoreError
from opensweep.server import fastpath
from opensweep.server.app import create_app
from opensweep.wire.models import API_PREFIX

from .conftest import TOKEN, serve

P = API_PREFIX
FAST = "application/json"
ROUTED = "application/json; charset=utf-8"


def _run(run_id: str, state: RunState = RunState.RUNNING) -> Run:
    return Run(
        id=run_id,
        name="run-1",
        config={"x": 1.5, "nested": {"y": float("inf")}, "u": "ünï"},
        state=state,
        created_at=1.0,
        sweep_id="s1",
        updated_at=2.0,
        agent_id="agent",
        summary={"loss": float("nan")} if state.is_terminal else {},
        seed=7,
    )


class _Backend:
    """Deterministic answers; run id "missing" is unknown and "boom" breaks the server."""

    url = "stub://"

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def _check(self, ident: str) -> None:
        if ident == "missing":
            raise NotFound(f"run {ident!r} not found", details={"run_id": ident})
        if ident == "boom":
            raise RuntimeError("bug")
        if ident == "db-down":
            raise StoreError("database unavailable")

    def next_run(self, sweep_id: str, agent_id: str) -> Run | None:
        self.calls.append(("next_run", sweep_id, agent_id))
        self._check(sweep_id)
        return None if sweep_id == "done" else _run("r1")

    def log(
        self,
        run_id: str,
        seq: int,
        rows: Sequence[MetricRow],
        summary: Mapping[str, Any] | None = None,
    ) -> LogResult:
        self.calls.append(("log", run_id, seq, list(rows), summary))
        self._check(run_id)
        return LogResult(applied=seq == 0, stop_reason="hyperband" if seq == 3 else None)

    def finish_run(
        self,
        run_id: str,
        *,
        state: RunState | None = None,
        exit_code: int | None = None,
        error: str | None = None,
        last_log: LogBatch | None = None,
    ) -> Run:
        self.calls.append(("finish_run", run_id, state, exit_code, error, last_log))
        self._check(run_id)
        return _run(run_id, state or RunState.FINISHED)

    def finish_and_next(
        self,
        run_id: str,
        agent_id: str,
        *,
        state: RunState | None = None,
        exit_code: int | None = None,
        error: str | None = None,
        last_log: LogBatch | None = None,
    ) -> tuple[Run, Run | None]:
        self.calls.append(("finish_and_next", run_id, agent_id, state, exit_code, error, last_log))
        self._check(run_id)
        return _run(run_id, state or RunState.FINISHED), None if run_id == "last" else _run("r2")

    def heartbeat(self, agent_id: str, run_ids: Sequence[str]) -> dict[str, str]:
        self.calls.append(("heartbeat", agent_id, list(run_ids)))
        return {r: "stopped by user" for r in run_ids if r.startswith("stop")}

    def close(self) -> None:
        pass


@pytest.fixture
def stub() -> Iterator[tuple[str, _Backend]]:
    backend = _Backend()
    with serve(create_app(backend, token=TOKEN, dashboard=False)) as server:  # type: ignore[arg-type]
        yield server.url, backend


@pytest.fixture
def fast_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the handlers the fast path ran."""
    calls: list[str] = []
    original = fastpath.call_in_thread

    async def counting(threads: Any, func: Any, *args: Any) -> Any:
        calls.append(func.__name__)
        return await original(threads, func, *args)

    monkeypatch.setattr(fastpath, "call_in_thread", counting)
    return calls


CASES: list[tuple[str, str]] = [
    (f"{P}/sweeps/s1/next-run", '{"agent_id":"agent-1"}'),
    (f"{P}/sweeps/done/next-run", '{"agent_id":"agent-1"}'),
    (f"{P}/sweeps/missing/next-run", '{"agent_id":"agent-1"}'),
    (f"{P}/sweeps/%C3%BCn%C3%AF/next-run", '{"agent_id":"ägent ☃"}'),
    (f"{P}/runs/r1/log", '{"seq":0,"rows":[{"step":0,"values":{"loss":0.5},"time":1.5}]}'),
    (
        f"{P}/runs/r1/log",
        '{"seq":3,"rows":[{"step":1,"values":{"a":{"__float__":"nan"},"b":[1,{"c":"x"}]}}],'
        '"summary":{"loss":{"__float__":"-inf"}}}',
    ),
    (f"{P}/runs/missing/log", '{"seq":0,"rows":[]}'),
    (f"{P}/runs/r1/log", '{"seq":1,"rows":[{"step":1,"values":{"a":"\\ud800"}}]}'),  # 400
    (f"{P}/runs/r1/log", '{"seq":1,"rows":[],"summary":{"k":"a\\u0000b"}}'),  # 400
    (f"{P}/runs/r1/finish", '{"state":null,"exit_code":0,"error":null}'),
    (f"{P}/runs/r1/finish", '{"state":"killed","exit_code":3.0,"error":"Traceback\\n..."}'),
    (f"{P}/runs/missing/finish", "{}"),
    (f"{P}/runs/db-down/finish", "{}"),
    (f"{P}/runs/r1/finish-and-next", '{"exit_code":0,"agent_id":"agent-1"}'),
    (f"{P}/runs/last/finish-and-next", '{"state":"stopped","agent_id":"a","error":null}'),
    (f"{P}/runs/missing/finish-and-next", '{"agent_id":"a"}'),
    (
        f"{P}/runs/r1/finish-and-next",
        '{"exit_code":0,"agent_id":"a","log":{"seq":2,"rows":[{"step":4,"values":{"loss":0.5}}],'
        '"summary":{"loss":0.5}}}',
    ),
    (
        f"{P}/runs/r1/finish",
        '{"log":{"seq":0,"rows":[{"step":0,"values":{"a":"\\ud800"}}]}}',
    ),  # 400
    (f"{P}/heartbeat", '{"agent_id":"a","run_ids":["r1","stop-2"]}'),
]


def _post(client: httpx.Client, path: str, body: str, content_type: str) -> httpx.Response:
    return client.post(path, content=body.encode(), headers={"content-type": content_type})


@pytest.mark.parametrize(("path", "body"), CASES)
def test_fast_path_answers_like_the_routes(
    stub: tuple[str, _Backend], fast_calls: list[str], path: str, body: str
) -> None:
    url, backend = stub
    headers = {"authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=url, headers=headers) as client:
        routed = _post(client, path, body, ROUTED)
        assert fast_calls == []
        routed_calls = list(backend.calls)
        backend.calls.clear()
        fast = _post(client, path, body, FAST)
        assert len(fast_calls) == 1  # this one took the fast path
    assert backend.calls == routed_calls  # the backend saw the same call
    assert (fast.status_code, fast.content) == (routed.status_code, routed.content)
    assert fast.headers["content-type"] == routed.headers["content-type"] == "application/json"
    assert fast.headers["content-length"] == routed.headers["content-length"]


@pytest.mark.parametrize(
    ("path", "body", "content_type"),
    [
        (f"{P}/sweeps/s1/next-run", '{"agent_id": 7}', FAST),  # the model refuses it
        (f"{P}/sweeps/s1/next-run", '{"agent_id":"a","x":1}', FAST),  # unknown key
        (f"{P}/sweeps/s1/next-run", "not json", FAST),
        (f"{P}/sweeps/s1/next-run", "", FAST),
        (f"{P}/sweeps/s1/next-run", '{"agent_id":"a"}', "text/plain"),
        (f"{P}/sweeps/{'x' * 300}/next-run", '{"agent_id":"a"}', FAST),  # id too long
        (f"{P}/sweeps/a%01b/next-run", '{"agent_id":"a"}', FAST),  # control character
        (f"{P}/runs/r1/log", '{"seq":1,"rows":[{"step":1,"values":{},"time":NaN}]}', FAST),
        (f"{P}/runs/r1/finish", '{"exit_code":"0"}', FAST),
        (f"{P}/runs/r1/finish-and-next", '{"exit_code":0}', FAST),  # no agent_id
        (f"{P}/runs/r1/finish", '{"log":{"seq":-1,"rows":[]}}', FAST),
        (f"{P}/runs/r1/finish", '{"log":{"seq":0,"rows":[{"step":"1","values":{}}]}}', FAST),
        (f"{P}/heartbeat", '{"agent_id":"a","run_ids":"r1"}', FAST),
    ],
)
def test_requests_the_fast_path_refuses_get_the_routes_answer(
    stub: tuple[str, _Backend], fast_calls: list[str], path: str, body: str, content_type: str
) -> None:
    url, _ = stub
    with httpx.Client(base_url=url, headers={"authorization": f"Bearer {TOKEN}"}) as client:
        answer = _post(client, path, body, content_type)
    assert fast_calls == []
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.headers["content-type"] == "application/json"
    error = answer.json()
    assert error["code"] in ("invalid_request", "not_found") and error["message"]


def test_a_trailing_slash_is_left_to_the_routes(
    stub: tuple[str, _Backend], fast_calls: list[str]
) -> None:
    url, _ = stub
    with httpx.Client(base_url=url, headers={"authorization": f"Bearer {TOKEN}"}) as client:
        answer = _post(client, f"{P}/sweeps/s1/next-run/", '{"agent_id":"a"}', FAST)
    assert fast_calls == []
    assert answer.status_code == 307  # Starlette's redirect to the path without the slash


def test_unexpected_errors_are_a_500_that_says_nothing_internal(
    stub: tuple[str, _Backend], fast_calls: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    url, _ = stub
    with httpx.Client(base_url=url, headers={"authorization": f"Bearer {TOKEN}"}) as client:
        answer = _post(client, f"{P}/runs/boom/finish", "{}", FAST)
    assert fast_calls == ["_finish_run"]
    assert answer.status_code == 500
    assert answer.json() == {
        "code": "error",
        "message": "internal server error (see the server log)",
        "details": {},
    }
    assert "bug" not in answer.text
    assert any("internal error on POST" in r.getMessage() for r in caplog.records)


def test_auth_and_size_limit_come_before_the_fast_path(fast_calls: list[str]) -> None:
    backend = _Backend()
    app = create_app(backend, token=TOKEN, max_body_bytes=100, dashboard=False)  # type: ignore[arg-type]
    with serve(app) as server, httpx.Client(base_url=server.url) as client:
        body = '{"agent_id":"a"}'
        assert _post(client, f"{P}/sweeps/s1/next-run", body, FAST).status_code == 401
        client.headers["authorization"] = f"Bearer {TOKEN}"
        big = '{"agent_id":"' + "a" * 200 + '"}'
        answer = _post(client, f"{P}/sweeps/s1/next-run", big, FAST)
        assert answer.status_code == 413 and answer.json()["code"] == "payload_too_large"
    assert fast_calls == [] and backend.calls == []


def test_unparsable_requests_get_a_json_error(stub: tuple[str, _Backend]) -> None:
    """uvicorn's parser refuses a URL over 64 KiB; the answer is still our error body."""
    url, _ = stub
    host, port = url.removeprefix("http://").split(":")
    target = f"{P}/runs/r1/history?keys=" + "k" * 70_000
    request = f"GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"content-type: application/json" in head.lower()
    answer = httpx.Response(400, content=body).json()
    assert answer["code"] == "invalid_request" and answer["message"]


def test_a_body_longer_than_announced_still_meets_the_size_limit() -> None:
    """The size limit counts what streams in, not only the Content-Length."""
    app = create_app(_Backend(), max_body_bytes=50, dashboard=False)  # type: ignore[arg-type]
    body = b'{"agent_id":"' + b"a" * 100 + b'"}'
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"{P}/sweeps/s1/next-run",
        "raw_path": f"{P}/sweeps/s1/next-run".encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"10")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["code"] == "payload_too_large"

"""The HTTP client: the server's errors as the same classes, retries that ride out restarts,
and lost answers that neither lose nor duplicate anything."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from opensweep.client.http import HttpClient, _ClientTransport
from opensweep.core.model import LogBatch, MetricRow, RunState
from opensweep.errors import ConfigError, Conflict, InvalidRequest, NotFound, TransportError
from opensweep.server.app import create_app
from opensweep.testing.servers import ServerThread, free_port

from .conftest import Live, serve

GRID = {"method": "grid", "parameters": {"x": {"values": [1, 2, 3, 4]}}}


def test_server_errors_come_back_as_the_same_classes(http: HttpClient) -> None:
    with pytest.raises(NotFound):
        http.get_run("no-such-run")
    with pytest.raises(NotFound):
        http.get_sweep("ünïcødé/with/slashes")
    with pytest.raises(ConfigError) as err:
        http.create_sweep({"method": "grid", "parameters": {"x": {"values": "nope"}}})
    assert err.value.violations and err.value.violations[0][0].startswith("parameters")
    run = http.start_run(name="r")
    http.finish_run(run.id, exit_code=0)
    with pytest.raises(Conflict):
        http.finish_run(run.id, exit_code=1)
    assert http.finish_run(run.id, exit_code=0).state is RunState.FINISHED  # same end: harmless


def test_unreachable_server_is_a_transport_error() -> None:
    port = free_port()
    client = HttpClient(f"http://127.0.0.1:{port}", retry_for=0.5)
    started = time.monotonic()
    with client, pytest.raises(TransportError) as err:
        client.get_run("x")
    assert time.monotonic() - started < 5  # bounded by retry_for, not by a socket timeout
    assert f"127.0.0.1:{port}" in err.value.message and "gave up after" in err.value.message


def test_waits_for_a_server_that_comes_up(sqlite_url: str) -> None:
    port = free_port()
    server = ServerThread(create_app(sqlite_url), port)
    starter = threading.Timer(1.0, server.start)
    starter.start()
    try:
        with HttpClient(server.url, retry_for=20) as client:
            run = client.start_run(name="patient")  # connection refused at first: retried
            assert client.get_run(run.id).name == "patient"
    finally:
        starter.join()
        server.stop()


def test_carries_on_across_a_server_restart(sqlite_url: str) -> None:
    port = free_port()
    with HttpClient(f"http://127.0.0.1:{port}", retry_for=20) as client:
        with serve(create_app(sqlite_url), port):
            run = client.start_run(name="r")
            assert client.log(run.id, 0, [MetricRow(0, {"a": 1})]).applied
        # Server down: it comes back on the same port while the client is logging.
        second = ServerThread(create_app(sqlite_url), port)
        restart = threading.Timer(0.5, second.start)
        restart.start()
        try:
            assert client.log(run.id, 1, [MetricRow(1, {"a": 2})]).applied
            assert client.log(run.id, 1, [MetricRow(1, {"a": 2})]).applied is False
            assert [r.step for r in client.history(run.id)] == [0, 1]
        finally:
            restart.join()
            second.stop()


class _LoseFirstAnswer(httpx.BaseTransport):
    """Forwards requests to the real server but drops the answer of the first matching one."""

    def __init__(self, path_suffix: str) -> None:
        self._inner = httpx.HTTPTransport()
        self._suffix = path_suffix
        self.dropped = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if self.dropped == 0 and request.url.path.endswith(self._suffix):
            response.read()
            response.close()
            self.dropped += 1
            raise httpx.ReadError("connection reset (test)", request=request)
        return response

    def close(self) -> None:
        self._inner.close()


def test_lost_log_answer_is_retried_and_applied_once(live: Live) -> None:
    lossy = _LoseFirstAnswer("/log")
    with HttpClient(live.url, token=live.token, transport=lossy, retry_for=5) as client:
        run = client.start_run(name="r")
        result = client.log(run.id, 0, [MetricRow(0, {"a": 1}), MetricRow(1, {"a": 2})])
        assert lossy.dropped == 1
        assert result.applied is False  # the retry found the batch already applied
        assert [r.step for r in client.history(run.id)] == [0, 1]
        assert client.get_run(run.id).last_seq == 0


def test_lost_finish_answer_returns_the_finished_run(live: Live) -> None:
    lossy = _LoseFirstAnswer("/finish")
    with HttpClient(live.url, token=live.token, transport=lossy, retry_for=5) as client:
        run = client.start_run(name="r")
        finished = client.finish_run(run.id, exit_code=0)
        assert lossy.dropped == 1
        assert finished.state is RunState.FINISHED


def test_lost_end_answers_write_the_last_rows_once(live: Live) -> None:
    for suffix in ("/finish", "/finish-and-next"):
        lossy = _LoseFirstAnswer(suffix)
        with HttpClient(live.url, token=live.token, transport=lossy, retry_for=5) as client:
            sweep = client.create_sweep(GRID)
            run = client.next_run(sweep.id, "agent-7")
            assert run is not None
            last = LogBatch(0, [MetricRow(0, {"a": 1}), MetricRow(1, {"a": 2})], {"a": 2})
            if suffix == "/finish":
                ended = client.finish_run(run.id, exit_code=0, last_log=last)
            else:
                ended, after = client.finish_and_next(run.id, "agent-7", exit_code=0, last_log=last)
                assert after is not None and len(client.list_runs(sweep.id)) == 2
            assert lossy.dropped == 1
            assert ended.state is RunState.FINISHED and ended.last_seq == 0
            assert [r.step for r in client.history(run.id)] == [0, 1]


def test_lost_next_run_answer_recovers_the_claimed_run(live: Live) -> None:
    lossy = _LoseFirstAnswer("/next-run")
    with HttpClient(live.url, token=live.token, transport=lossy, retry_for=5) as client:
        sweep = client.create_sweep(GRID)
        run = client.next_run(sweep.id, "agent-7")
        assert lossy.dropped == 1
        assert run is not None
        runs = client.list_runs(sweep.id)
        assert [r.id for r in runs] == [run.id]  # the lost claim was found, not made twice
        second = client.next_run(sweep.id, "agent-7")
        assert second is not None and second.id != run.id
        assert len(client.list_runs(sweep.id)) == 2


def test_lost_create_is_reported_not_repeated(live: Live) -> None:
    lossy = _LoseFirstAnswer("/runs")
    client = HttpClient(live.url, token=live.token, transport=lossy, retry_for=5)
    with client, pytest.raises(TransportError, match="may or may not"):
        client.start_run(name="once")


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (502, b"<html>bad gateway</html>", "text/html"),
        (500, b"Internal Server Error", "text/plain"),
        (200, b"<html>captive portal</html>", "text/html"),
        (200, b'{"unexpected": true}', "application/json"),
        (418, b'{"detail": "teapot"}', "application/json"),
    ],
)
def test_answers_that_are_not_our_protocol_are_transport_errors(
    status: int, body: bytes, content_type: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"content-type": content_type})

    client = HttpClient(
        "http://proxy.invalid", transport=httpx.MockTransport(handler), retry_for=0.3
    )
    with client, pytest.raises(TransportError):
        client.get_run("r")


def test_invalid_url_is_a_clear_error() -> None:
    for url in ("http://[broken", "ftp://host", "http://", "localhost:8765", "http://h:99999"):
        with pytest.raises(InvalidRequest, match="invalid server URL"):
            HttpClient(url)


def test_retry_budget_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENSWEEP_RETRY_FOR", "0.2")
    client = HttpClient(f"http://127.0.0.1:{free_port()}")
    assert client.retry_for == 0.2
    started = time.monotonic()
    with client, pytest.raises(TransportError):
        client.list_sweeps()
    assert time.monotonic() - started < 3
    monkeypatch.setenv("OPENSWEEP_RETRY_FOR", "soon")
    with pytest.raises(InvalidRequest, match="OPENSWEEP_RETRY_FOR"):
        HttpClient("http://127.0.0.1:1")


def test_requests_carry_the_token_and_json_and_reuse_one_connection(live: Live) -> None:
    seen: list[httpx.Request] = []
    inner = httpx.HTTPTransport()

    class Recording(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return inner.handle_request(request)

    with HttpClient(live.url, token=live.token, transport=Recording()) as client:
        run = client.start_run(name="r", config={"lr": 0.1})
        client.log(run.id, 0, [MetricRow(0, {"loss": 1.0})])
        assert client.history(run.id, keys=["loss"], after_step=-1)[0].values == {"loss": 1.0}
    start, log, history = seen
    assert start.headers["authorization"] == f"Bearer {live.token}"
    assert start.headers["content-type"] == "application/json"
    assert start.headers["host"] == live.url.removeprefix("http://")
    assert log.url.path == f"/api/v1/runs/{run.id}/log"
    assert history.url.params.get_list("keys") == ["loss"]
    assert "content-type" not in history.headers
    assert all(r.extensions["timeout"]["read"] == 30.0 for r in seen)


def test_the_fallback_sends_through_the_whole_httpx_client(live: Live) -> None:
    """For an httpx without ``Client._transport_for_url``: the same answers, more slowly."""
    with live.client() as client:
        client._transport = _ClientTransport(client._http)
        run = client.start_run(name="r")
        assert client.get_run(run.id).name == "r"
        with pytest.raises(NotFound):
            client.get_run("nope")

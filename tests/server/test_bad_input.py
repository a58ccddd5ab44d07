"""Bad input to every endpoint: a 4xx with ``{code, message}``, and nothing changes."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from opensweep.core.model import MetricRow
from opensweep.wire.models import API_PREFIX

from .conftest import Live

GRID = {
    "method": "grid",
    "metric": {"name": "loss", "goal": "minimize"},
    "parameters": {"x": {"values": [1, 2, 3]}, "y": {"values": ["a", "b"]}},
}
P = API_PREFIX
NUL = "a\x00b"
LONE_SURROGATE_JSON = '"\\ud800"'


@pytest.fixture
def world(live: Live) -> Iterator[dict[str, Any]]:
    """A sweep with a run that logged one batch, a finished plain run; a raw httpx client."""
    with live.client(retry_for=2.0) as client, live.raw() as raw:
        sweep = client.create_sweep(GRID, project="proj")
        run = client.next_run(sweep.id, "agent-1")
        assert run is not None
        client.log(run.id, 0, [MetricRow(0, {"loss": 1.0})], {"loss": 1.0})
        done = client.start_run(name="plain")
        client.finish_run(done.id, exit_code=0)
        yield {"raw": raw, "sweep": sweep.id, "run": run.id, "done": done.id, "client": client}


def snapshot(raw: httpx.Client) -> Any:
    """Everything a reader can see, as JSON."""
    sweeps = raw.get(f"{P}/sweeps").json()
    state: dict[str, Any] = {"sweeps": sweeps, "runs": {}, "history": {}}
    for sweep in sweeps:
        runs = raw.get(f"{P}/sweeps/{sweep['id']}/runs").json()
        state["runs"][sweep["id"]] = runs
        for run in runs:
            state["history"][run["id"]] = raw.get(f"{P}/runs/{run['id']}/history").json()
    return state


def _bad_requests(w: dict[str, Any]) -> list[tuple[str, str, Any, int]]:
    """(method, path, body, expected status). A ``str`` body is sent as raw bytes."""
    s, r, done = w["sweep"], w["run"], w["done"]
    deep: Any = 0
    for _ in range(100):
        deep = [deep]
    row = {"step": 1, "values": {"loss": 0.5}}
    return [
        # sweeps
        ("POST", f"{P}/sweeps", [GRID], 400),
        ("POST", f"{P}/sweeps", "null", 400),
        ("POST", f"{P}/sweeps", "not json", 400),
        ("POST", f"{P}/sweeps", {"config": "grid"}, 400),
        ("POST", f"{P}/sweeps", {"config": GRID, "name": 5}, 400),
        ("POST", f"{P}/sweeps", {"config": GRID, "name": NUL}, 400),
        ("POST", f"{P}/sweeps", {"config": GRID, "name": "x" * 300}, 400),
        ("POST", f"{P}/sweeps", {"config": GRID, "project": ""}, 400),
        ("POST", f"{P}/sweeps", {"config": GRID, "colour": "red"}, 400),
        ("POST", f"{P}/sweeps", {"config": {**GRID, "description": NUL}}, 400),
        ("POST", f"{P}/sweeps", {"config": {**GRID, "seed": 2**80}}, 400),
        ("POST", f"{P}/sweeps", {"config": {**GRID, "x": deep}}, 400),
        ("POST", f"{P}/sweeps", {"config": {"method": "grid"}}, 422),
        ("POST", f"{P}/sweeps", {"config": {"method": "sideways", "parameters": {}}}, 422),
        ("POST", f"{P}/sweeps", {"config": {"métode": "grid", "parameters": {"ü": 1}}}, 422),
        ("GET", f"{P}/sweeps/nope", None, 404),
        ("GET", f"{P}/sweeps/ünïcødé-☃", None, 404),
        ("GET", f"{P}/sweeps/a%00b", None, 400),
        ("GET", f"{P}/sweeps/{'x' * 300}", None, 400),
        ("GET", f"{P}/sweeps?project={'p' * 300}", None, 400),
        ("POST", f"{P}/sweeps/{s}/state", {"action": "explode"}, 400),
        ("POST", f"{P}/sweeps/{s}/state", {"action": 1}, 400),
        ("POST", f"{P}/sweeps/{s}/state", {}, 400),
        ("POST", f"{P}/sweeps/nope/state", {"action": "pause"}, 404),
        ("POST", f"{P}/sweeps/{s}/next-run", {}, 400),
        ("POST", f"{P}/sweeps/{s}/next-run", {"agent_id": 7}, 400),
        ("POST", f"{P}/sweeps/{s}/next-run", {"agent_id": ""}, 400),
        ("POST", f"{P}/sweeps/{s}/next-run", {"agent_id": NUL}, 400),
        ("POST", f"{P}/sweeps/nope/next-run", {"agent_id": "a"}, 404),
        ("GET", f"{P}/sweeps/{s}/runs?updated_after=abc", None, 400),
        ("GET", f"{P}/sweeps/{s}/runs?updated_after=nan", None, 400),
        ("GET", f"{P}/sweeps/{s}/runs?updated_after=inf", None, 400),
        ("GET", f"{P}/sweeps/nope/runs", None, 404),
        ("POST", f"{P}/sweeps/nope/rerun-crashed", {}, 404),
        # runs
        ("POST", f"{P}/runs", {"config": "x"}, 400),
        ("POST", f"{P}/runs", {"name": 5}, 400),
        ("POST", f"{P}/runs", {"config": {"k": NUL}}, 400),
        ("POST", f"{P}/runs", {"config": {}, "extra": True}, 400),
        ("GET", f"{P}/runs/nope", None, 404),
        ("GET", f"{P}/runs/%F0%9F%90%8D", None, 404),
        ("POST", f"{P}/runs/{r}/finish", {"state": "running"}, 400),
        ("POST", f"{P}/runs/{r}/finish", {"state": "bogus"}, 400),
        ("POST", f"{P}/runs/{r}/finish", {"exit_code": "0"}, 400),
        ("POST", f"{P}/runs/{r}/finish", {"exit_code": 2**40}, 400),
        ("POST", f"{P}/runs/{r}/finish", {"exit_code": 1.5}, 400),
        ("POST", f"{P}/runs/{r}/finish", {"error": 5}, 400),
        ("POST", f"{P}/runs/{r}/finish", {"error": NUL}, 400),
        ("POST", f"{P}/runs/nope/finish", {"exit_code": 0}, 404),
        ("POST", f"{P}/runs/{done}/finish", {"exit_code": 3}, 409),
        ("POST", f"{P}/runs/{r}/finish-and-next", {"exit_code": 0}, 400),
        ("POST", f"{P}/runs/{r}/finish-and-next", {"agent_id": "a", "state": "running"}, 400),
        ("POST", f"{P}/runs/{r}/finish-and-next", {"agent_id": NUL}, 400),
        ("POST", f"{P}/runs/nope/finish-and-next", {"agent_id": "a"}, 404),
        ("POST", f"{P}/runs/{done}/finish-and-next", {"agent_id": "a", "exit_code": 3}, 409),
        # a run's last rows, carried by its end: refused as the log endpoint refuses them, and
        # the run does not end either
        ("POST", f"{P}/runs/{r}/finish", {"log": {"seq": -1, "rows": [row]}}, 400),
        ("POST", f"{P}/runs/{r}/finish", {"log": {"seq": 1, "rows": row}}, 400),
        ("POST", f"{P}/runs/{r}/finish", {"log": {"seq": 1, "rows": [row], "x": 1}}, 400),
        ("POST", f"{P}/runs/{r}/finish", {"log": {"seq": 1, "rows": [{**row, "step": -1}]}}, 400),
        ("POST", f"{P}/runs/{r}/finish", {"log": {"seq": 1, "rows": [], "summary": [1]}}, 400),
        (
            "POST",
            f"{P}/runs/{r}/finish-and-next",
            {"agent_id": "a", "log": {"seq": 1, "rows": [{**row, "values": {"a": NUL}}]}},
            400,
        ),
        (
            "POST",
            f"{P}/runs/{r}/finish",
            {"log": {"seq": 1, "rows": [{**row, "values": {"a": 2**70}}]}},
            400,
        ),
        ("POST", f"{P}/runs/{done}/finish", {"log": {"seq": 5, "rows": [row]}}, 409),
        # metrics
        ("POST", f"{P}/runs/{r}/log", {"seq": "1", "rows": [row]}, 400),
        ("POST", f"{P}/runs/{r}/log", {"seq": -1, "rows": [row]}, 400),
        ("POST", f"{P}/runs/{r}/log", {"seq": 1.5, "rows": [row]}, 400),
        ("POST", f"{P}/runs/{r}/log", {"seq": True, "rows": [row]}, 400),
        ("POST", f"{P}/runs/{r}/log", {"seq": 2**53, "rows": [row]}, 400),
        ("POST", f"{P}/runs/{r}/log", {"seq": 1, "rows": row}, 400),
        ("POST", f"{P}/runs/{r}/log", {"seq": 1}, 400),
        ("POST", f"{P}/runs/{r}/log", {"seq": 1, "rows": [{"step": "1", "values": {}}]}, 400),
        ("POST", f"{P}/runs/{r}/log", {"seq": 1, "rows": [{"step": -1, "values": {}}]}, 400),
        ("POST", f"{P}/runs/{r}/log", {"seq": 1, "rows": [{"step": 1, "values": [1]}]}, 400),
        ("POST", f"{P}/runs/{r}/log", {"seq": 1, "rows": [row, {**row, "time": "x"}]}, 400),
        ("POST", f"{P}/runs/{r}/log", {"seq": 1, "rows": [{**row, "values": {"a": NUL}}]}, 400),
        ("POST", f"{P}/runs/{r}/log", {"seq": 1, "rows": [{**row, "values": {"a": 2**70}}]}, 400),
        ("POST", f"{P}/runs/{r}/log", {"seq": 1, "rows": [row], "summary": [1]}, 400),
        ("POST", f"{P}/runs/{r}/log", {"seq": 1, "rows": [row], "summary": {"k": NUL}}, 400),
        (
            "POST",
            f"{P}/runs/{r}/log",
            '{"seq": 1, "rows": [{"step": 1, "values": {"a": ' + LONE_SURROGATE_JSON + "}}]}",
            400,
        ),
        (
            "POST",
            f"{P}/runs/{r}/log",
            '{"seq": 1, "rows": [{"step": 1, "values": {}, "time": NaN}]}',
            400,
        ),
        ("POST", f"{P}/runs/{r}/log", '{"seq": ' + "9" * 5000 + ', "rows": []}', 400),
        ("POST", f"{P}/runs/nope/log", {"seq": 1, "rows": [row]}, 404),
        ("POST", f"{P}/runs/{done}/log", {"seq": 5, "rows": [row]}, 409),
        ("GET", f"{P}/runs/{r}/history?after_step=x", None, 400),
        ("GET", f"{P}/runs/nope/history", None, 404),
        ("POST", f"{P}/heartbeat", {"agent_id": "a", "run_ids": r}, 400),
        ("POST", f"{P}/heartbeat", {"agent_id": "a", "run_ids": [1]}, 400),
        ("POST", f"{P}/heartbeat", {"run_ids": [r]}, 400),
        # routing
        ("GET", f"{P}/nowhere", None, 404),
        ("DELETE", f"{P}/sweeps/{s}", None, 405),
    ]


def _send(raw: httpx.Client, method: str, path: str, body: Any) -> httpx.Response:
    if body is None:
        return raw.request(method, path)
    content = body if isinstance(body, str) else json.dumps(body)
    return raw.request(
        method, path, content=content.encode(), headers={"content-type": "application/json"}
    )


def test_every_bad_request_is_a_clear_4xx_and_changes_nothing(world: dict[str, Any]) -> None:
    raw = world["raw"]
    before = snapshot(raw)
    failures = []
    for method, path, body, status in _bad_requests(world):
        response = _send(raw, method, path, body)
        try:
            payload = response.json()
        except ValueError:
            payload = None
        ok = (
            response.status_code == status
            and isinstance(payload, dict)
            and isinstance(payload.get("code"), str)
            and isinstance(payload.get("message"), str)
            and payload["message"]
        )
        if not ok:
            failures.append(
                f"{method} {path[:80]} {str(body)[:80]}: {response.status_code} "
                f"{response.text[:200]}"
            )
    assert not failures, "\n".join(failures)
    assert snapshot(raw) == before
    # The rejected batches consumed no sequence number: the next one is applied.
    assert world["client"].log(world["run"], 1, [MetricRow(1, {"loss": 0.5})]).applied


def test_validation_errors_name_the_field(world: dict[str, Any]) -> None:
    raw = world["raw"]
    body = {"seq": 1, "rows": [{"step": 1, "values": {}}, {"step": "two", "values": {}}]}
    payload = _send(raw, "POST", f"{P}/runs/{world['run']}/log", body).json()
    assert payload["code"] == "invalid_request"
    assert payload["message"].startswith("rows[1].step:")
    body = {"log": {"seq": 1, "rows": [{"step": 1, "values": {"a": {"b": "\x00"}}}]}}
    payload = _send(raw, "POST", f"{P}/runs/{world['run']}/finish", body).json()
    assert payload["code"] == "invalid_request"
    assert "log.rows[0].values" in payload["message"], payload
    payload = _send(raw, "POST", f"{P}/sweeps", {"config": {"method": "grid"}}).json()
    assert payload["code"] == "invalid_config"
    assert payload["details"]["violations"], payload


def test_huge_payloads_are_refused_with_413(world: dict[str, Any]) -> None:
    raw = world["raw"]
    before = snapshot(raw)
    limit = 16 * 1024 * 1024
    rows = [{"step": i, "values": {"v": "x" * 1000}} for i in range(limit // 1000 + 10)]
    response = _send(raw, "POST", f"{P}/runs/{world['run']}/log", {"seq": 1, "rows": rows})
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while streaming
        yield b'{"seq": 1, "rows": ['
        for _ in range(20):
            yield b" " * (1024 * 1024)
        yield b"]}"

    response = raw.post(
        f"{P}/runs/{world['run']}/log",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert snapshot(raw) == before


def test_non_finite_values_and_unicode_names_round_trip(world: dict[str, Any]) -> None:
    client = world["client"]
    raw = world["raw"]
    sweep = client.create_sweep(GRID, project="projét ☃", name="スイープ ✓")
    assert client.get_sweep(sweep.id).name == "スイープ ✓"
    assert [s.id for s in client.list_sweeps("projét ☃")] == [sweep.id]
    run_id = world["run"]
    values = {"nan": math.nan, "inf": math.inf, "ninf": -math.inf, "ключ": [1.5, math.nan]}
    assert client.log(run_id, 1, [MetricRow(1, values, 3.0)], {"best": -math.inf}).applied
    # A non-standard client may send NaN/Infinity literals: accepted as the same values.
    literal = '{"seq": 2, "rows": [{"step": 2, "values": {"nan": NaN, "inf": -Infinity}}]}'
    assert _send(raw, "POST", f"{P}/runs/{run_id}/log", literal).status_code == 200
    rows = client.history(run_id)
    assert [r.step for r in rows] == [0, 1, 2]
    assert math.isnan(rows[1].values["nan"]) and rows[1].values["inf"] == math.inf
    assert rows[1].values["ninf"] == -math.inf and rows[1].values["ключ"][0] == 1.5
    assert math.isnan(rows[2].values["nan"]) and rows[2].values["inf"] == -math.inf
    assert client.get_run(run_id).summary["best"] == -math.inf
    # ... and the answers are strict JSON (no NaN literal in the body).
    text = raw.get(f"{P}/runs/{run_id}/history").text
    assert "NaN" not in text and "Infinity" not in text
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))

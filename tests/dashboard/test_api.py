"""The dashboard's pages and JSON endpoints over a real uvicorn and a real SQLite store."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from opensweep.client.local import LocalClient
from opensweep.server.app import create_app
from opensweep.server.dashboard import plotly_path, run_log_file
from opensweep.store import open_store
from opensweep.testing.servers import ServerThread

from .conftest import XSS, Live, build_world, loss_of, run_one

# One server and world per worker for this module; the tests that change it come last.
pytestmark = pytest.mark.xdist_group("dashboard-api")


@pytest.fixture
def http(live_world: Live) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_world.url, timeout=30) as client:
        yield client


def test_pages_are_html_shells_with_a_strict_policy(http: httpx.Client, live_world: Live) -> None:
    for path in ("/", f"/sweeps/{live_world.world.main.id}", "/runs/whatever"):
        response = http.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("style-src")[0]
        assert live_world.world.main.id not in response.text  # no data in the shell


def test_plotly_is_served_from_the_installed_package(http: httpx.Client) -> None:
    response = http.get("/vendor/plotly.min.js")
    assert response.status_code == 200
    assert response.content == plotly_path().read_bytes()
    assert "max-age" in response.headers["cache-control"]
    for asset in ("common.js", "sweep.js", "charts.js", "run.js", "index.js", "dashboard.css"):
        assert http.get(f"/static/{asset}").status_code == 200


def test_sweeps_list_counts_runs_and_finds_the_best(http: httpx.Client, live_world: Live) -> None:
    world = live_world.world
    rows = {row["id"]: row for row in http.get("/dashboard/api/sweeps").json()["sweeps"]}
    main = rows[world.main.id]
    assert main["name"] == world.main.name  # raw text: escaping is the page's job
    assert main["project"] == "demo" and main["method"] == "random"
    assert main["runs"] == len(world.runs) == 25
    assert main["runs_by_state"] == {"running": 1, "finished": 22, "failed": 1, "stopped": 1}
    metrics = [(world.metric(r), r.id) for r in world.runs if world.metric(r) is not None]
    best_value, best_id = min(metrics)
    assert main["best"]["value"] == pytest.approx(best_value)
    assert main["best"]["run_id"] == best_id
    assert main["est_runs"] is None
    grid = rows[world.grid.id]
    assert grid["est_runs"] == 6  # 3 x 2 grid points
    assert grid["metric"] == {"name": "acc", "goal": "maximize"}
    assert grid["duration"] >= 0


def test_sweep_meta_has_yaml_config_actions_and_agent_command(
    http: httpx.Client, live_world: Live
) -> None:
    world = live_world.world
    meta = http.get(f"/dashboard/api/sweeps/{world.main.id}").json()
    assert meta["state"] == "running"
    assert meta["actions"] == ["pause", "resume", "stop", "cancel"]
    assert "log_uniform_values" in meta["config_yaml"] and XSS in meta["config_yaml"]
    assert meta["agent_command"] == f"opensweep agent {world.main.path} --url {world.url}"
    columns = {c["name"]: c for c in meta["columns"]}
    assert columns["lr"]["log"] is True and columns["lr"]["kind"] == "numeric"
    assert columns["optimizer"]["categories"] == ["adam", "sgd", XSS]
    assert columns["epochs"]["kind"] == "constant"


def test_importance_ranks_lr_first(http: httpx.Client, live_world: Live) -> None:
    report = http.get(f"/dashboard/api/sweeps/{live_world.world.main.id}/importance").json()
    assert report["metric"] == "val_loss"
    assert report["n_runs"] >= 20
    names = [p["name"] for p in report["params"]]
    assert names[0] == "lr"  # the loss is a valley in log(lr)
    assert set(names) == {"lr", "dropout", "optimizer", "batch_size"}  # the constant is left out
    optimizer = next(p for p in report["params"] if p["name"] == "optimizer")
    assert optimizer["correlation"] is None
    assert [c["value"] for c in optimizer["categories"]] == ["adam", "sgd", XSS]


def test_curves_return_the_metric_over_steps(http: httpx.Client, live_world: Live) -> None:
    world = live_world.world
    ids = [world.stopped_run_id, world.runs[0].id]
    data = http.get(
        f"/dashboard/api/sweeps/{world.main.id}/curves",
        params={"runs": ",".join(ids), "after": "-1,1"},
    ).json()
    assert data["metric"] == "val_loss"
    stopped, first = data["runs"]
    assert stopped["state"] == "stopped" and stopped["stop_reason"].startswith("hyperband")
    assert stopped["steps"] == [0, 1, 2, 3]
    assert first["steps"] == [2, 3]  # only the steps after the one the browser has
    assert first["values"][0] == pytest.approx(loss_of_run(world, ids[1], 2))


def loss_of_run(world: Any, run_id: str, step: int) -> float:
    run = next(r for r in world.runs if r.id == run_id)
    return loss_of(dict(run.config), step)


def test_run_detail_history_and_log_tail(http: httpx.Client, live_world: Live) -> None:
    world = live_world.world
    run_id = world.running_run_id
    detail = http.get(f"/dashboard/api/runs/{run_id}").json()
    assert detail["sweep"]["id"] == world.main.id
    assert detail["sweep"]["metric"] == {"name": "val_loss", "goal": "minimize"}
    assert dict(detail["config"])["optimizer"] in ("adam", "sgd", XSS)
    history = http.get(f"/dashboard/api/runs/{run_id}/history").json()
    assert set(history["series"]) == {"val_loss", "train_loss"}
    assert history["series"]["val_loss"]["steps"] == [0, 1]
    assert history["last_step"] == 1
    later = http.get(f"/dashboard/api/runs/{run_id}/history", params={"after_step": 1}).json()
    assert later["series"] == {} and later["last_step"] == 1
    log = http.get(f"/dashboard/api/runs/{run_id}/log", params={"max_bytes": 100}).json()
    assert log["available"] is True and log["truncated"] is True
    assert log["text"].endswith(f"epoch 199 line {XSS}\n") and len(log["text"]) <= 100
    other = http.get(f"/dashboard/api/runs/{world.runs[0].id}/log").json()
    assert other["available"] is False  # no file: the page says so


def test_log_paths_cannot_escape_the_log_directory(tmp_path: Path) -> None:
    assert run_log_file(tmp_path, "abc", "r1") == tmp_path / "abc" / "r1.log"
    assert run_log_file(tmp_path, "..", "r1") is None
    assert run_log_file(tmp_path, "abc", "../../etc/passwd") is None
    assert run_log_file(tmp_path, "a/b", "r1") is None


def test_unknown_ids_are_404_with_a_message(http: httpx.Client) -> None:
    for path in ("/dashboard/api/sweeps/nope", "/dashboard/api/runs/nope"):
        response = http.get(path)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


class CountingClient(LocalClient):
    """The real client, counting the store reads the dashboard makes."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.calls: list[tuple[str, Any]] = []

    def list_runs(self, sweep_id: str, *, updated_after: float | None = None) -> list[Any]:
        self.calls.append(("list_runs", updated_after))
        return super().list_runs(sweep_id, updated_after=updated_after)

    def history(self, run_id: str, **kwargs: Any) -> list[Any]:
        self.calls.append(("history", run_id))
        return super().history(run_id, **kwargs)


def test_a_poll_costs_one_incremental_query_whatever_the_sweep_size(tmp_path: Path) -> None:
    world = build_world(tmp_path / "db.sqlite", tmp_path / "logs", n_runs=30)
    backend = CountingClient(world.url)
    server = ServerThread(create_app(backend)).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            path = f"/dashboard/api/sweeps/{world.main.id}/runs"
            first = http.get(path).json()
            assert backend.calls == [("list_runs", None)]  # one read for 31 runs
            backend.calls.clear()
            time.sleep(0.6)
            http.get(path, params={"since": first["rev"], "token": first["token"]})
            http.get(f"/dashboard/api/sweeps/{world.main.id}")
            assert [c[0] for c in backend.calls] == ["list_runs"]
            assert backend.calls[0][1] is not None  # with a cursor: only changed rows
            backend.calls.clear()
            http.get("/dashboard/api/sweeps")  # served from the per-sweep caches
            assert len([c for c in backend.calls if c[0] == "list_runs"]) <= 2
            assert not [c for c in backend.calls if c[0] == "history"]
    finally:
        server.stop()
        backend.close()
        world.client.close()


def test_with_a_token_pages_are_public_and_data_is_not(tmp_path: Path) -> None:
    token = "dashboard-token-0123456789"
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    client = LocalClient(url)
    sweep = client.create_sweep({"method": "random", "parameters": {"x": {"values": [1, 2]}}})
    server = ServerThread(create_app(url, token=token)).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            assert http.get("/").status_code == 200
            assert http.get(f"/sweeps/{sweep.id}").status_code == 200
            assert http.get("/static/sweep.js").status_code == 200
            assert http.get("/vendor/plotly.min.js").status_code == 200
            assert http.get(f"/dashboard/api/sweeps/{sweep.id}").status_code == 401
            assert http.get("/dashboard/api/sweeps").status_code == 401
            cookie = {"cookie": f"opensweep_token={token}"}
            ok = http.get(f"/dashboard/api/sweeps/{sweep.id}", headers=cookie)
            assert ok.status_code == 200 and ok.json()["auth_required"] is True
    finally:
        server.stop()
        client.close()


def test_state_changes_through_the_api_show_up(http: httpx.Client, live_world: Live) -> None:
    world = live_world.world
    grid_id = world.grid.id
    response = http.post(f"/api/v1/sweeps/{grid_id}/state", json={"action": "pause"})
    assert response.status_code == 200
    meta = http.get(f"/dashboard/api/sweeps/{grid_id}").json()
    assert meta["state"] == "paused"
    http.post(f"/api/v1/sweeps/{grid_id}/state", json={"action": "resume"})
    assert world.client.get_sweep(grid_id).state.value == "running"


def test_runs_come_as_columns_and_then_only_what_changed(
    http: httpx.Client, live_world: Live
) -> None:
    world = live_world.world
    path = f"/dashboard/api/sweeps/{world.main.id}/runs"
    full = http.get(path).json()
    assert full["full"] is True
    cols = full["runs"]
    assert cols["id"] == [r.id for r in world.runs]  # creation order
    assert cols["index"] == list(range(len(world.runs)))
    by_id = {r.id: r for r in world.runs}
    for i, run_id in enumerate(cols["id"]):
        run = by_id[run_id]
        assert cols["state"][i] == run.state.value
        assert cols["params"]["lr"][i] == pytest.approx(run.config["lr"])
        categories = full["categories"]["optimizer"]
        assert categories[cols["params"]["optimizer"][i]] == run.config["optimizer"]
        assert cols["metric"][i] == pytest.approx(run.summary["val_loss"])
    assert "val_loss" in full["summary_keys"] and "train_loss" in full["summary_keys"]

    # Nothing changed: an incremental poll carries no run at all.
    since = {"since": full["rev"], "token": full["token"]}
    assert http.get(path, params=since).json()["runs"]["id"] == []

    # A new run and a finished one: exactly those two come back.
    new = run_one(world.client, world.main, steps=1)
    world.client.finish_run(world.running_run_id, exit_code=0)
    for _ in range(50):  # the server re-reads the store at most every 0.5 s
        delta = http.get(path, params=since).json()
        if len(delta["runs"]["id"]) == 2:
            break
        time.sleep(0.1)
    assert delta["full"] is False
    assert sorted(delta["runs"]["id"]) == sorted([new.id, world.running_run_id])
    finished = delta["runs"]["id"].index(world.running_run_id)
    assert delta["runs"]["state"][finished] == "finished"
    assert delta["rev"] > full["rev"]

    # A browser with a stale layout token gets everything again.
    stale = http.get(path, params={"since": full["rev"], "token": "old.0"}).json()
    assert stale["full"] is True and len(stale["runs"]["id"]) == len(world.runs) + 1
    # A value the config never declared (set by hand in the store) arrives with its label.
    store = open_store(world.url)
    try:
        store.update_run(new.id, {"config": {**new.config, "optimizer": "lamb"}})
    finally:
        store.close()
    since = {"since": delta["rev"], "token": delta["token"]}
    for _ in range(50):
        delta = http.get(path, params=since).json()
        if delta["runs"]["id"]:
            break
        time.sleep(0.1)
    assert delta["runs"]["id"] == [new.id]
    labels = delta["categories"]["optimizer"]
    assert labels[delta["runs"]["params"]["optimizer"][0]] == "lamb"
    world.client.finish_run(new.id, exit_code=0)
    world.refresh()

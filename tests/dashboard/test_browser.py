"""The dashboard in Debian's chromium (Playwright), against a real server and a real sweep."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

import pytest

from opensweep.client.local import LocalClient
from opensweep.core.model import MetricRow, RunState
from opensweep.server.app import create_app
from opensweep.testing.servers import ServerThread

from .conftest import XSS, Live, build_world, run_one
from .small_png import small_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("dashboard-browser")]

DOCS = Path(__file__).resolve().parents[2] / "docs"


def open_sweep(page: Any, live: Live, sweep_id: str | None = None) -> None:
    page.goto(f"{live.url}/sweeps/{sweep_id or live.world.main.id}")
    page.wait_for_selector("body[data-ready]", state="attached", timeout=20_000)


def table_ids(page: Any) -> list[str]:
    return list(
        page.eval_on_selector_all("#runs tbody tr.data", "rows => rows.map(r => r.dataset.id)")
    )


def key_of(page: Any, label: str) -> str:
    """The data-key of the table column headed ``label``."""
    return str(page.get_attribute(f'#runs thead th[title="{label}"]', "data-key"))


def table_column(page: Any, key: str) -> list[str]:
    index = page.eval_on_selector_all(
        "#runs thead th", f"ths => ths.findIndex(th => th.dataset.key === {json.dumps(key)})"
    )
    return list(
        page.eval_on_selector_all(
            "#runs tbody tr.data", f"rows => rows.map(r => r.children[{index}].textContent)"
        )
    )


def test_leaderboard_lists_runs_best_first(page: Any, live_world: Live) -> None:
    open_sweep(page, live_world)
    world = live_world.world
    with_metric = sorted(
        (world.metric(r), r.created_at, r.id) for r in world.runs if world.metric(r) is not None
    )
    expected = [run_id for _, _, run_id in with_metric]
    shown = table_ids(page)
    # Best (lowest val_loss) first; the table renders the rows in view (it is virtual).
    assert shown[: min(len(shown), 15)] == expected[: min(len(shown), 15)]
    assert page.text_content("#row-count") == f"{len(world.runs)} of {len(world.runs)} runs"
    assert page.get_attribute("#runs tbody tr.data", "class").split() == ["data", "best"]
    assert page.text_content("#title") == world.main.name  # the XSS sweep name, as text


def test_sorting_by_any_column_and_filtering(page: Any, live_world: Live) -> None:
    open_sweep(page, live_world)
    world = live_world.world
    optimizer, dropout = key_of(page, "optimizer"), key_of(page, "dropout")
    page.click(f'#runs thead th[data-key="{optimizer}"]')  # a categorical: by label
    labels = table_column(page, optimizer)
    assert labels == sorted(labels, key=lambda s: (s == "", s.lower())) and len(set(labels)) > 1
    page.click(f'#runs thead th[data-key="{dropout}"]')  # ascending
    dropouts = [float(v) for v in table_column(page, dropout)]
    assert dropouts == sorted(dropouts) and len(dropouts) >= 10
    page.click(f'#runs thead th[data-key="{dropout}"]')  # again: descending
    dropouts = [float(v) for v in table_column(page, dropout)]
    assert dropouts == sorted(dropouts, reverse=True)
    assert page.get_attribute(f'#runs thead th[data-key="{dropout}"]', "class") == "num sorted-desc"

    page.select_option("#state-filter", "failed")
    failed = [r.id for r in world.runs if r.state.value == "failed"]
    assert table_ids(page) == failed
    page.select_option("#state-filter", "")

    target = next(r for r in world.runs if r.id not in (world.xss_run_id,))
    page.fill("#search", target.name)
    assert table_ids(page) == [target.id]
    page.fill("#search", "")
    assert len(table_ids(page)) > 1


def test_parallel_coordinates_draws_one_line_per_run_and_brushing_filters(
    page: Any, live_world: Live
) -> None:
    open_sweep(page, live_world)
    world = live_world.world
    with_metric = [r for r in world.runs if world.metric(r) is not None]
    box = page.locator("#parcoords")
    assert box.get_attribute("data-lines") == str(len(with_metric))
    axes = json.loads(box.get_attribute("data-axes"))
    # One axis per varying parameter (the constant `epochs` has none) plus the metric.
    assert [a["label"] for a in axes] == [
        "batch_size",
        "dropout",
        "lr (log)",
        "optimizer",
        "val_loss",
    ]
    top, bottom = float(box.get_attribute("data-top")), float(box.get_attribute("data-bottom"))

    # Brush the lower half of the metric axis (the better half of the runs).
    box.scroll_into_view_if_needed()
    canvas = box.locator("canvas").bounding_box()
    x = canvas["x"] + axes[-1]["x"]
    page.mouse.move(x, canvas["y"] + (top + bottom) / 2)
    page.mouse.down()
    page.mouse.move(x, canvas["y"] + bottom + 2, steps=5)
    page.mouse.up()
    values = sorted(world.metric(r) or 0.0 for r in with_metric)
    lo, hi = values[0], values[-1]
    middle = lo + (hi - lo) / 2
    inside = {r.id for r in with_metric if (world.metric(r) or 0.0) <= middle}
    page.wait_for_function("() => !document.getElementById('clear-brush').hidden")
    assert set(table_ids(page)) == inside
    assert box.get_attribute("data-highlighted") == str(len(inside))
    page.click("#clear-brush")
    assert len(table_ids(page)) > len(inside)


def test_importance_bars_and_correlations_appear(page: Any, live_world: Live) -> None:
    open_sweep(page, live_world)
    page.wait_for_selector("#importance tr.param", timeout=30_000)
    names = page.eval_on_selector_all(
        "#importance tr.param", "rows => rows.map(r => r.dataset.name)"
    )
    assert names[0] == "lr"
    assert set(names) == {"lr", "dropout", "optimizer", "batch_size"}
    width = page.eval_on_selector("#importance tr.param .imp-bar", "bar => bar.style.width")
    assert float(width.rstrip("%")) > 30
    categories = page.eval_on_selector_all(
        "#importance tr.cat td.name", "tds => tds.map(t => t.textContent)"
    )
    assert f"= {XSS}" in categories  # a category label, as text


def test_metric_scatter_and_curves_with_stopped_runs_cut_short(page: Any, live_world: Live) -> None:
    open_sweep(page, live_world)
    world = live_world.world
    page.wait_for_selector("body[data-ready=plots]", state="attached", timeout=60_000)
    with_metric = [r for r in world.runs if world.metric(r) is not None]
    assert page.get_attribute("#scatter", "data-points") == str(len(with_metric))
    # Tick the stopped run (it may be among the five best, ticked already): its curve is dotted
    # and ends with a cross.
    page.fill("#search", next(r.name for r in world.runs if r.id == world.stopped_run_id))
    page.check(f'#runs tr[data-id="{world.stopped_run_id}"] input[type=checkbox]')
    stopped_traces = (
        "(document.getElementById('curves').data || [])"
        ".filter(t => String(t.name).includes('(stopped)'))"
    )
    page.wait_for_function(f"() => {stopped_traces}.length > 0")
    dashes = page.evaluate(f"() => {stopped_traces}.map(t => t.line.dash)")
    assert dashes == ["dot"]


def test_the_xss_run_name_renders_as_text(page: Any, live_world: Live) -> None:
    world = live_world.world
    page.goto(f"{live_world.url}/")
    page.wait_for_selector("a.sweep-link")
    assert XSS in page.text_content("#sweeps tbody")
    assert page.locator("#sweeps img").count() == 0
    open_sweep(page, live_world)
    page.fill("#search", "onerror")
    cell = page.locator(f'#runs tr[data-id="{world.xss_run_id}"] a.run-link')
    assert cell.text_content() == XSS
    assert page.locator("main img").count() == 0
    page.goto(f"{live_world.url}/runs/{world.xss_run_id}")
    page.wait_for_selector("body[data-ready]", state="attached", timeout=20_000)
    assert page.text_content("#title") == XSS
    assert page.locator("main img").count() == 0
    # `page` fails the test if any dialog (alert) opened.


def test_run_page_shows_state_metrics_and_log_tail(page: Any, live_world: Live) -> None:
    world = live_world.world
    page.goto(f"{live_world.url}/runs/{world.stopped_run_id}")
    page.wait_for_selector("body[data-ready=plots]", state="attached", timeout=60_000)
    assert page.text_content("#state") == "stopped"
    assert "hyperband" in page.text_content("#facts")
    keys = page.eval_on_selector_all("#charts .chart", "divs => divs.map(d => d.dataset.key)")
    assert keys == ["val_loss", "train_loss"]  # the sweep metric first
    assert "No log file" in page.text_content("#log")

    page.goto(f"{live_world.url}/runs/{world.running_run_id}")
    page.wait_for_selector("body[data-ready=plots]", state="attached", timeout=60_000)
    log = page.text_content("#log")
    assert log.endswith(f"epoch 199 line {XSS}\n")
    assert page.locator("#log img").count() == 0


def test_pages_update_live_and_pause_resume_reach_the_store(page: Any, tmp_path: Path) -> None:
    world = build_world(tmp_path / "db.sqlite", tmp_path / "logs", n_runs=6)
    server = ServerThread(create_app(world.url)).start()
    live = Live(server.url, world, None)
    try:
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        open_sweep(page, live)
        assert len(table_ids(page)) == 7
        # A run made after the page loaded shows up without a reload, by an incremental poll.
        new = run_one(world.client, world.main, steps=2)
        page.wait_for_selector(f'#runs tr[data-id="{new.id}"]', timeout=15_000)
        assert any("/runs?since=" in url for url in requests)
        assert page.text_content("#row-count") == "8 of 8 runs"

        page.click('#actions button[data-action="pause"]')
        deadline = time.monotonic() + 10
        while world.client.get_sweep(world.main.id).state.value != "paused":
            assert time.monotonic() < deadline, "pause did not reach the store"
            time.sleep(0.1)
        page.wait_for_function("() => document.getElementById('state').textContent === 'paused'")
        page.click('#actions button[data-action="resume"]')
        deadline = time.monotonic() + 10
        while world.client.get_sweep(world.main.id).state.value != "running":
            assert time.monotonic() < deadline, "resume did not reach the store"
            time.sleep(0.1)
    finally:
        server.stop()
        world.client.close()


def test_an_action_whose_follow_up_read_fails_shows_the_error(page: Any, tmp_path: Path) -> None:
    """The server going away right after a pause: a message, not an uncaught page error."""
    world = build_world(tmp_path / "db.sqlite", tmp_path / "logs", n_runs=2)
    server = ServerThread(create_app(world.url)).start()
    try:
        open_sweep(page, Live(server.url, world, None))
        page.route(f"**/dashboard/api/sweeps/{world.main.id}", lambda route: route.abort())
        page.click('#actions button[data-action="pause"]')
        page.wait_for_function(
            "() => document.getElementById('message').textContent.includes('server unreachable')"
        )
        assert world.client.get_sweep(world.main.id).state.value == "paused"
        page.goto("about:blank")  # no poll may find the server gone below
    finally:
        server.stop()
        world.client.close()


def test_a_token_server_asks_for_the_token_once(page: Any, tmp_path: Path) -> None:
    token = "browser-token-0123456789"
    world = build_world(tmp_path / "db.sqlite", tmp_path / "logs", n_runs=3)
    server = ServerThread(create_app(world.url, token=token)).start()
    try:
        page.goto(f"{server.url}/sweeps/{world.main.id}")
        page.wait_for_selector("form.login input")
        page.fill("form.login input", token)
        page.click("form.login button")
        page.wait_for_selector("body[data-ready]", state="attached", timeout=20_000)
        assert len(table_ids(page)) == 4
        page.click('#actions button[data-action="pause"]')
        page.wait_for_function("() => document.getElementById('state').textContent === 'paused'")
        assert world.client.get_sweep(world.main.id).state.value == "paused"
    finally:
        server.stop()
        world.client.close()


SCREENSHOT_CONFIG: dict[str, Any] = {
    "method": "random",
    "metric": {"name": "val_acc", "goal": "maximize"},
    "parameters": {
        "learning_rate": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1},
        "batch_size": {"values": [32, 64, 128, 256]},
        "dropout": {"min": 0.0, "max": 0.5},
        "optimizer": {"values": ["adam", "sgd", "rmsprop"]},
        "weight_decay": {"distribution": "log_uniform_values", "min": 1e-6, "max": 1e-2},
        "epochs": {"value": 10},
    },
}


def demo_sweep(url: str, n_runs: int) -> str:
    """A plausible sweep for the README picture: accuracy peaks at lr 3e-3 with adam."""
    client = LocalClient(url)
    try:
        sweep = client.create_sweep(SCREENSHOT_CONFIG, project="cifar10", name="resnet18-lr-sweep")
        for i in range(n_runs):
            run = client.next_run(sweep.id, "agent-1")
            assert run is not None
            c = run.config
            peak = 0.93 - 0.06 * (math.log10(c["learning_rate"]) + 2.5) ** 2
            peak -= {"adam": 0.0, "rmsprop": 0.02, "sgd": 0.05}[c["optimizer"]]
            peak -= 0.1 * (c["dropout"] - 0.2) ** 2 + 0.002 * math.log2(c["batch_size"] / 32)
            peak = max(0.1, peak)
            epochs = 3 if i % 7 == 3 else 10  # some runs stopped early
            rows = [
                MetricRow(step=e, values={"val_acc": peak * (1 - 0.6 ** (e + 1)), "epoch": e})
                for e in range(epochs)
            ]
            client.log(run.id, 0, rows, dict(rows[-1].values))
            state = RunState.STOPPED if epochs == 3 else None
            client.finish_run(run.id, exit_code=0, state=state)
        return sweep.id
    finally:
        client.close()


def test_screenshot_of_the_sweep_page(
    page: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's picture; OPENSWEEP_UPDATE_SCREENSHOT=1 writes it to docs/sweep-page.png."""
    monkeypatch.chdir(tmp_path)  # the agent command then shows a short relative URL
    url = "sqlite:///opensweep.db"
    sweep_id = demo_sweep(url, n_runs=100)
    server = ServerThread(create_app(url)).start()
    try:
        page.set_viewport_size({"width": 1200, "height": 900})
        page.goto(f"{server.url}/sweeps/{sweep_id}")
        page.wait_for_selector("#importance tr.param", timeout=30_000)
        page.wait_for_selector("body[data-ready=plots]", state="attached", timeout=60_000)
        target = tmp_path / "sweep-page.png"
        if os.environ.get("OPENSWEEP_UPDATE_SCREENSHOT") == "1":
            DOCS.mkdir(exist_ok=True)
            target = DOCS / "sweep-page.png"
        # Header, leaderboard, parallel coordinates, importance and metric by run.
        bottom = page.evaluate(
            "() => document.querySelector('.two').getBoundingClientRect().bottom"
        )
        clip = {"x": 0, "y": 0, "width": 1200, "height": bottom + 8}
        target.write_bytes(small_screenshot(page, full_page=True, clip=clip))
        assert 0 < target.stat().st_size < 300_000
    finally:
        server.stop()

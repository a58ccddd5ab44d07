"""A real uvicorn on 127.0.0.1 serving the dashboard over a real SQLite store with real sweeps
made through the controller, and (for ``browser`` tests) Debian's chromium driven by Playwright."""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from opensweep.client.local import LocalClient
from opensweep.core.model import MetricRow, Run, RunState, Sweep
from opensweep.server.app import create_app
from opensweep.store import open_store
from opensweep.testing.servers import ServerThread

XSS = "<img src=x onerror=alert(1)>"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

MAIN_CONFIG: dict[str, Any] = {
    "method": "random",
    "seed": 11,  # the same runs every time
    "metric": {"name": "val_loss", "goal": "minimize"},
    "parameters": {
        "lr": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1},
        "dropout": {"min": 0.0, "max": 0.5},
        "optimizer": {"values": ["adam", "sgd", XSS]},
        "batch_size": {"values": [16, 32, 64]},
        "epochs": {"value": 4},
    },
}
GRID_CONFIG: dict[str, Any] = {
    "method": "grid",
    "metric": {"name": "acc", "goal": "maximize"},
    "parameters": {"a": {"values": [1, 2, 3]}, "b": {"values": ["x", "y"]}},
}


def loss_of(config: dict[str, Any], step: int) -> float:
    """A loss that depends mostly on lr (valley at 1e-3), a little on dropout."""
    base = (math.log10(config["lr"]) + 3.0) ** 2 + 0.5 * config["dropout"]
    return base + 1.0 / (step + 1)


@dataclass
class World:
    url: str  # the store
    client: LocalClient
    main: Sweep
    grid: Sweep
    runs: list[Run] = field(default_factory=list)  # of the main sweep, final state
    xss_run_id: str = ""
    stopped_run_id: str = ""
    running_run_id: str = ""
    log_dir: Path = Path()

    def refresh(self) -> None:
        self.runs = self.client.list_runs(self.main.id)

    def metric(self, run: Run) -> float | None:
        value = run.summary.get("val_loss")
        return float(value) if isinstance(value, int | float) else None


def run_one(client: LocalClient, sweep: Sweep, steps: int, metric: str = "val_loss") -> Run:
    run = client.next_run(sweep.id, "agent-test")
    assert run is not None
    rows = []
    for step in range(steps):
        value = loss_of(dict(run.config), step) if metric == "val_loss" else 0.1 * step
        rows.append(MetricRow(step=step, values={metric: value, "train_loss": value * 1.1}))
    summary = dict(rows[-1].values) if rows else {}
    client.log(run.id, 0, rows, summary)
    return run


def build_world(db: Path, log_dir: Path, n_runs: int = 24) -> World:
    url = f"sqlite:///{db}"
    client = LocalClient(url)
    main = client.create_sweep(MAIN_CONFIG, project="demo", name=f"sweep {XSS}")
    grid = client.create_sweep(GRID_CONFIG, project="demo", name="grid-sweep")
    world = World(url=url, client=client, main=main, grid=grid, log_dir=log_dir)
    store = open_store(url)
    try:
        for i in range(n_runs):
            run = run_one(client, main, steps=4)
            if i == 3:  # a run whose name came from a user: it must render as text
                store.update_run(run.id, {"name": XSS})
                world.xss_run_id = run.id
            if i == 5:  # early-stopped after 2 of 4 steps: its curve is cut short
                store.update_run(run.id, {"stop_reason": "hyperband: below rung 1 threshold"})
                client.finish_run(run.id, state=RunState.STOPPED, exit_code=-15)
                world.stopped_run_id = run.id
                continue
            if i == 6:
                client.finish_run(run.id, exit_code=1, error="Traceback: boom")
                continue
            client.finish_run(run.id, exit_code=0)
        running = run_one(client, main, steps=2)
        world.running_run_id = running.id
        (log_dir / main.id).mkdir(parents=True, exist_ok=True)
        (log_dir / main.id / f"{running.id}.log").write_text(
            "".join(f"epoch {i} line {XSS}\n" for i in range(200))
        )
        for _ in range(2):
            grid_run = run_one(client, grid, steps=3, metric="acc")
            client.finish_run(grid_run.id, exit_code=0)
    finally:
        store.close()
    world.refresh()
    return world


@dataclass
class Live:
    url: str
    world: World
    app: Any


@pytest.fixture(scope="module")
def live_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One world and one server per test module (building it is the slow part)."""
    tmp = tmp_path_factory.mktemp("dash")
    world = build_world(tmp / "opensweep.db", tmp / "logs")
    app = create_app(world.url)
    app.state.log_dir = str(world.log_dir)
    server = ServerThread(app).start()
    try:
        yield Live(server.url, world, app)
    finally:
        server.stop()
        world.client.close()


# ---------------------------------------------------------------------------- browser


def chromium_or_skip() -> str:
    if os.path.exists(CHROMIUM) and shutil.which(CHROMIUM):
        return CHROMIUM
    reason = f"chromium not found at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("OPENSWEEP_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + " and OPENSWEEP_REQUIRE_BROWSER=1", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser_context() -> Iterator[Any]:
    """A fresh chromium profile per module, closed afterwards."""
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="opensweep-chromium-")
    try:
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                profile,
                executable_path=executable,
                args=CHROMIUM_ARGS,
                headless=True,
                viewport={"width": 1400, "height": 1000},
            )
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser_context: Any) -> Iterator[Any]:
    """A tab that fails the test on any JavaScript error or dialog (an XSS would open one)."""
    tab = browser_context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    tab.on(
        "dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss())
    )
    tab.problems = problems
    try:
        yield tab
    finally:
        tab.close()
    assert not problems, problems

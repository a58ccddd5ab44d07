"""Time to an interactive sweep page: opensweep vs optuna-dashboard, same trials, same browser.

One data set (N runs x 6 parameters: a log float, a categorical of ints, a float, a categorical
of strings, an int, another log float; one metric) is written to an opensweep SQLite store and
to an Optuna RDB study. Each dashboard is started as its own server process on 127.0.0.1 and
opened in Debian's chromium (the flags of the browser tests, a fresh profile per page load), N
times cold (the server just started: nothing cached) and warm.

Measured (ms from navigation start, inside the page):
- opensweep sweep page: ``table`` = leaderboard, parallel coordinates (one line per run) and
  metric-by-run drawn, page responsive (performance mark ``opensweep:table``); ``+curves`` =
  Plotly loaded and the curves of the best runs drawn; ``sort`` = re-sorting 10,000 rows by a
  column after a click; ``brush`` = brushing the parallel coordinates until the table shows
  the brushed runs.
- optuna-dashboard: its study page until the history plot holds every trial; its Smart Selection
  page (parallel coordinates of every trial + history + table: the counterpart of our sweep
  page) until the parallel coordinates hold every trial and a frame has passed; its trial list
  until it shows the trial count. These are polled every 50 ms on the page's main thread.

    python3 -m venv benchmarks/dashboard/out/venv
    benchmarks/dashboard/out/venv/bin/pip install -r benchmarks/dashboard/requirements.txt
    .venv/bin/python benchmarks/dashboard/run.py            # 10,000 runs, 3 loads each
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
VENV_PY = OUT / "venv" / "bin" / "python"
DASHBOARD_BIN = OUT / "venv" / "bin" / "optuna-dashboard"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CONFIG: dict[str, Any] = {
    "method": "random",
    "seed": 1,
    "metric": {"name": "loss", "goal": "minimize"},
    "parameters": {
        "lr": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1},
        "batch_size": {"values": [16, 32, 64, 128, 256]},
        "dropout": {"min": 0.0, "max": 0.5},
        "optimizer": {"values": ["adam", "sgd", "rmsprop"]},
        "layers": {"min": 1, "max": 8},
        "weight_decay": {"distribution": "log_uniform_values", "min": 1e-6, "max": 1e-2},
    },
}


def trials(n: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        p = {
            "lr": float(10 ** rng.uniform(-5, -1)),
            "batch_size": int(rng.choice([16, 32, 64, 128, 256])),
            "dropout": float(rng.uniform(0, 0.5)),
            "optimizer": str(rng.choice(["adam", "sgd", "rmsprop"])),
            "layers": int(rng.integers(1, 9)),
            "weight_decay": float(10 ** rng.uniform(-6, -2)),
        }
        loss = (math.log10(p["lr"]) + 3) ** 2 + 0.5 * p["dropout"] + 0.05 * p["layers"]
        loss += {"adam": 0.0, "sgd": 0.3, "rmsprop": 0.1}[p["optimizer"]] + rng.normal(0, 0.05)
        out.append({"params": p, "loss": float(loss)})
    return out


def build_opensweep(db: Path, data: list[dict[str, Any]]) -> str:
    """The sweep through the controller; its runs straight into the store (fast bulk load)."""
    from opensweep.client.local import LocalClient
    from opensweep.core.model import Run, RunState
    from opensweep.store import open_store

    url = f"sqlite:///{db}"
    client = LocalClient(url)
    sweep = client.create_sweep(CONFIG, project="bench", name="bench")
    client.close()
    store = open_store(url)
    try:
        t0 = sweep.created_at
        for i, trial in enumerate(data):
            at = t0 + i
            store.create_run(
                Run(
                    id=f"r{i:06d}",
                    name=f"run-{i + 1}",
                    config=trial["params"],
                    state=RunState.FINISHED,
                    created_at=at,
                    updated_at=at + 0.5,
                    finished_at=at + 0.5,
                    sweep_id=sweep.id,
                    summary={"loss": trial["loss"], "epoch": 9},
                    exit_code=0,
                )
            )
    finally:
        store.close()
    return sweep.id


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(argv: list[str], url: str, cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url, timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start: {argv}") from None
                time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def fresh_page(playwright: Any) -> Iterator[Any]:
    profile = tempfile.mkdtemp(prefix="bench-chromium-")
    context = playwright.chromium.launch_persistent_context(
        profile,
        executable_path=CHROMIUM,
        args=ARGS,
        headless=True,
        viewport={"width": 1400, "height": 1000},
    )
    try:
        yield context.new_page()
    finally:
        context.close()
        shutil.rmtree(profile, ignore_errors=True)


def mark(page: Any, name: str) -> float:
    return float(
        page.evaluate(f"() => performance.getEntriesByName({json.dumps(name)})[0].startTime")
    )


def measure_opensweep(page: Any, url: str, n: int) -> dict[str, float]:
    page.goto(url)
    page.wait_for_selector("body[data-ready]", state="attached", timeout=120_000)
    result = {"table": mark(page, "opensweep:table")}
    lines = page.get_attribute("#parcoords", "data-lines")
    assert lines == str(n), f"parallel coordinates drew {lines} lines, not {n}"
    page.wait_for_selector("body[data-ready=plots]", state="attached", timeout=120_000)
    result["+curves"] = mark(page, "opensweep:plots")
    # Responsiveness: sort 10,000 rows by a column; brush the metric axis.
    result["sort"] = page.evaluate(
        """() => new Promise((resolve) => {
          const th = document.querySelector('#runs thead th[title="dropout"]');
          const t = performance.now();
          th.click();
          requestAnimationFrame(() => resolve(performance.now() - t));
        })"""
    )
    box = page.locator("#parcoords")
    box.scroll_into_view_if_needed()
    axes = json.loads(box.get_attribute("data-axes"))
    bottom = float(box.get_attribute("data-bottom"))
    canvas = box.locator("canvas").bounding_box()
    x = canvas["x"] + axes[-1]["x"]
    page.mouse.move(x, canvas["y"] + bottom - 40)
    page.mouse.down()
    page.mouse.move(x, canvas["y"] + bottom + 2, steps=2)
    start = time.perf_counter()
    page.mouse.up()
    page.wait_for_function("() => !document.getElementById('clear-brush').hidden")
    result["brush"] = (time.perf_counter() - start) * 1000
    return result


def _wait_then_now(page: Any, condition: str) -> float:
    """Poll ``condition`` (every 50 ms, on the page's main thread, so a busy page answers late),
    then let a frame pass and read the page clock."""
    page.wait_for_function(condition, timeout=300_000, polling=50)
    return float(
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => r(performance.now())))")
    )


def measure_optuna(page: Any, base: str, n: int) -> dict[str, float]:
    """optuna-dashboard (React + Plotly): its study page (history plot with every trial), its
    Smart Selection page (parallel coordinates of every trial, brushing filters the trials: the
    counterpart of our sweep page) and its trial list."""
    plots = "[...document.querySelectorAll('.js-plotly-plot')]"
    result: dict[str, float] = {}
    page.goto(f"{base}/dashboard/studies/1")
    result["history page"] = _wait_then_now(
        page, f"() => {plots}.some(p => (p.data || []).some(t => (t.x || []).length >= {n}))"
    )
    page.goto(f"{base}/dashboard/studies/1/smartSelection")
    result["parallel coordinates page"] = _wait_then_now(
        page,
        f"() => {plots}.some(p => (p.data || []).some(t => t.type === 'parcoords'"
        f" && t.dimensions.length && t.dimensions[0].values.length >= {n}))",
    )
    page.goto(f"{base}/dashboard/studies/1/trials")
    result["trial list"] = _wait_then_now(
        page, f"() => document.body.innerText.includes('{n} Trials')"
    )
    return result


def summarize(label: str, samples: list[dict[str, float]]) -> None:
    for key in samples[0]:
        values = [s[key] for s in samples]
        print(
            f"| {label} | {key} | {statistics.median(values):.0f} | "
            f"{min(values):.0f}-{max(values):.0f} |",
            flush=True,
        )


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-optuna", action="store_true")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    OUT.mkdir(exist_ok=True)
    data = trials(args.runs)
    work = Path(tempfile.mkdtemp(prefix="bench-dashboard-", dir=OUT))
    db = work / "opensweep.db"
    start = time.perf_counter()
    sweep_id = build_opensweep(db, data)
    print(f"opensweep store: {args.runs} runs in {time.perf_counter() - start:.1f} s", flush=True)
    optuna_db = OUT / f"optuna-{args.runs}.db"  # slow to build (Optuna adds trials one by one)
    if not args.skip_optuna and not optuna_db.exists():
        (work / "trials.json").write_text(json.dumps({"trials": data}))
        partial = work / "optuna.db"
        seconds = timed(
            lambda: subprocess.run(
                [
                    str(VENV_PY),
                    str(HERE / "build_optuna.py"),
                    str(work / "trials.json"),
                    f"sqlite:///{partial}",
                ],
                check=True,
            )
        )
        shutil.move(partial, optuna_db)
        print(f"optuna study: {args.runs} trials in {seconds:.1f} s", flush=True)

    print()
    print("| dashboard | milestone | median ms | range ms |")
    print("|---|---|---:|---:|")
    with sync_playwright() as playwright:
        for temperature in ("cold", "warm"):
            samples = []
            for _ in range(args.repeats):
                port = free_port()
                ui = [
                    sys.executable, "-c", "from opensweep.cli.ui_cmd import ui; ui()",
                    "--url", f"sqlite:///{db}", "--port", str(port), "--no-browser",
                ]  # fmt: skip
                url = f"http://127.0.0.1:{port}"
                with server(ui, url + "/", work):
                    if temperature == "warm":  # the server has read the sweep once
                        httpx.get(f"{url}/dashboard/api/sweeps/{sweep_id}/runs", timeout=120)
                    with fresh_page(playwright) as page:
                        samples.append(
                            measure_opensweep(page, f"{url}/sweeps/{sweep_id}", args.runs)
                        )
            summarize(f"opensweep ({temperature} server)", samples)
        if not args.skip_optuna:
            samples = []
            for _ in range(args.repeats):
                port = free_port()
                argv = [
                    str(DASHBOARD_BIN), f"sqlite:///{optuna_db}",
                    "--port", str(port), "--host", "127.0.0.1", "--quiet",
                ]  # fmt: skip
                url = f"http://127.0.0.1:{port}"
                with server(argv, url + "/dashboard", work), fresh_page(playwright) as page:
                    samples.append(measure_optuna(page, url, args.runs))
            summarize("optuna-dashboard", samples)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

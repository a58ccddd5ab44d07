"""``opensweep ui`` (the dashboard on this machine) and ``opensweep importance`` (a table)."""

from __future__ import annotations

import csv
import functools
import math
import os
import socket
import sys
import threading
import time
import webbrowser
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from opensweep.errors import OpenSweepError

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_UI_PORT = 8765
_HTTP = ("http://", "https://")


def _errors(fn: F) -> F:
    """An opensweep error is one line on stderr and exit code 1 (2 for bad input)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except OpenSweepError as exc:
            Console(stderr=True).print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
            sys.exit(2 if exc.code in ("invalid_request", "invalid_config") else 1)

    return wrapper  # type: ignore[return-value]


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _open_when_up(server: Any, url: str) -> None:
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    if server.started:
        webbrowser.open(url)


@click.command(name="ui")
@click.option(
    "--url",
    envvar="OPENSWEEP_URL",
    default=None,
    help="Store to show: sqlite:///file.db (default ./opensweep.db) or postgresql://...; "
    "an http(s):// server is opened in the browser as it is. Also OPENSWEEP_URL.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help=f"Port on 127.0.0.1 (default {DEFAULT_UI_PORT}, or a free one if it is taken).",
)
@click.option(
    "--log-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where agents write run logs (default OPENSWEEP_LOG_DIR, else ./opensweep-logs).",
)
@click.option("--no-browser", is_flag=True, help="Do not open a browser.")
@_errors
def ui(url: str | None, port: int | None, log_dir: str | None, no_browser: bool) -> None:
    """Open the dashboard: serve it on 127.0.0.1 over the store and open a browser."""
    from opensweep.client import resolve_url

    target = resolve_url(url)
    if target.startswith(_HTTP):
        click.echo(f"opensweep server at {target}: opening it in the browser")
        if not no_browser:
            webbrowser.open(target.rstrip("/") + "/")
        return

    import uvicorn

    from opensweep.server.app import create_app

    if port is None:
        port = DEFAULT_UI_PORT if _port_free(DEFAULT_UI_PORT) else 0
    app = create_app(target)
    app.state.log_dir = log_dir or os.environ.get("OPENSWEEP_LOG_DIR") or "opensweep-logs"
    if port == 0:  # let the OS pick, and know which one it picked before printing
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
    address = f"http://127.0.0.1:{port}/"
    from opensweep.server.protocol import uvicorn_options

    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", **uvicorn_options()
    )
    server = uvicorn.Server(config)
    click.echo(f"opensweep dashboard on {address}  (store: {_shown(target)}; Ctrl+C to stop)")
    if not no_browser:
        threading.Thread(target=_open_when_up, args=(server, address), daemon=True).start()
    server.run()


def _shown(url: str) -> str:
    """A store URL without its password."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest and ":" in rest.split("@", 1)[0]:
        user = rest.split("@", 1)[0].split(":", 1)[0]
        rest = f"{user}:***@{rest.split('@', 1)[1]}"
    return f"{scheme}{sep}{rest}"


# ---------------------------------------------------------------------------- importance


def _csv_rows(path: Path, metric: str | None) -> tuple[list[dict[str, Any]], list[Any], str]:
    """``opensweep runs --csv`` output: ``config.*`` columns are parameters, the metric is
    ``summary.<metric>`` (``--metric``; else the only summary column)."""
    from opensweep.errors import InvalidRequest

    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    header = list(rows[0]) if rows else []
    params = [h for h in header if h.startswith("config.")]
    summaries = [h[len("summary.") :] for h in header if h.startswith("summary.")]
    if metric is None:
        if len(summaries) != 1:
            raise InvalidRequest(
                f"{path}: choose the metric with --metric (summary columns: "
                f"{', '.join(summaries) or 'none'})"
            )
        metric = summaries[0]
    if metric not in summaries:
        raise InvalidRequest(f"{path}: no column summary.{metric}")
    configs = [{p[len("config.") :]: _parse_cell(r[p]) for p in params if r[p] != ""} for r in rows]
    values = [_parse_cell(r[f"summary.{metric}"]) for r in rows]
    return configs, values, metric


def _parse_cell(text: str) -> Any:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _sweep_rows(
    path: str, url: str | None, metric: str | None
) -> tuple[list[Mapping[str, Any]], list[Any], str, Any]:
    from opensweep.client import connect
    from opensweep.config import parse
    from opensweep.core.paths import parse_sweep_path
    from opensweep.errors import InvalidRequest

    client = connect(url, token=os.environ.get("OPENSWEEP_TOKEN"))
    try:
        sweep = client.get_sweep(parse_sweep_path(path).sweep_id)
        runs = client.list_runs(sweep.id)
    finally:
        client.close()
    spec = parse(sweep.config)
    name = metric or (spec.metric.name if spec.metric is not None else None)
    if name is None:
        raise InvalidRequest(f"sweep {sweep.id} has no metric: pass --metric NAME")
    return [r.config for r in runs], [r.summary.get(name) for r in runs], name, spec.space


def _bar(share: float, width: int = 12) -> str:
    full = round(max(0.0, min(1.0, share)) * width)
    return "█" * full + "·" * (width - full)


def _num(value: float | None, digits: int = 3) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:+.{digits}f}"


def importance_table(report: Any) -> Table:
    """The report as a rich table: importance with its spread, and correlation (per category
    for categorical parameters)."""
    title = f"{report.metric or 'metric'}: {report.n_runs} runs"
    if report.model_r2 is not None:
        title += f", forest held-out R² {report.model_r2:.2f}"
    table = Table(title=escape(title), title_justify="left")
    table.add_column("parameter", no_wrap=True, overflow="fold")
    table.add_column("scale")
    table.add_column("importance", justify="right")
    table.add_column("", no_wrap=True)
    table.add_column("± spread", justify="right")
    table.add_column("correlation", justify="right")
    for p in report.params:
        share = p.importance
        kind = {"numeric": "log" if p.log else "linear", "categorical": "categ."}.get(
            p.type, p.type
        )
        table.add_row(
            escape(p.name),
            kind,
            "n/a" if share is None else f"{share:.3f}",
            "" if share is None else _bar(share),
            "" if p.importance_std is None else f"{p.importance_std:.3f}",
            _num(p.correlation)
            if p.correlation is not None
            else "[dim]by category[/dim]"
            if p.categories
            else "[dim]n/a[/dim]",
        )
        for c in p.categories:
            label = c.value if isinstance(c.value, str) else repr(c.value)
            table.add_row(
                f"  [dim]= {escape(str(label))}[/dim]",
                f"[dim]{c.count} runs[/dim]",
                "",
                "",
                "",
                _num(c.correlation),
            )
    return table


@click.command(name="importance")
@click.argument("path")
@click.option("--metric", default=None, help="Metric to explain (default: the sweep's metric).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the forest.")
@click.option(
    "--url",
    envvar="OPENSWEEP_URL",
    default=None,
    help="Where the sweep lives: sqlite:///..., postgresql://... or http(s)://... "
    "Also OPENSWEEP_URL.",
)
@_errors
def importance(path: str, metric: str | None, seed: int, url: str | None) -> None:
    """Parameter importance and correlation for PATH: a sweep (id, project/id or
    entity/project/id) or a CSV written by `opensweep runs --csv`."""
    from opensweep.analysis.importance import compute_importance, params_from_space

    file = Path(path)
    space = None
    configs: Sequence[Mapping[str, Any]]
    if file.suffix.lower() == ".csv" and file.is_file():
        configs, values, name = _csv_rows(file, metric)
    else:
        configs, values, name, space = _sweep_rows(path, url, metric)
    report = compute_importance(
        configs,
        values,
        rng=np.random.default_rng(seed),
        params=params_from_space(space) if space is not None else None,
        metric=name,
    )
    console = Console()  # made here, so it sees the terminal (and COLUMNS) of this call
    console.print(importance_table(report))
    for note in [report.note, *report.notes]:
        if note:
            console.print(f"[dim]note: {escape(note)}[/dim]")


__all__ = ["importance", "importance_table", "ui"]

"""Rich tables for sweeps and runs (the terminal's leaderboard)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from rich.markup import escape
from rich.table import Table

from opensweep.core.encoding import as_metric
from opensweep.core.model import Run, RunState, Sweep

STATE_STYLE = {
    "running": "cyan",
    "finished": "green",
    "stopped": "yellow",
    "failed": "red",
    "crashed": "red",
    "killed": "magenta",
    "paused": "yellow",
    "canceled": "magenta",
}


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def metric_of(sweep: Sweep) -> tuple[str | None, str]:
    metric = sweep.config.get("metric")
    if isinstance(metric, Mapping) and metric.get("name"):
        return str(metric["name"]), str(metric.get("goal", "minimize"))
    return None, "minimize"


def run_metric(run: Run, name: str | None) -> float | None:
    if name is None:
        return None
    value = as_metric(run.summary.get(name))
    return value if value is not None and not math.isnan(value) else None


def ranked(runs: Sequence[Run], name: str | None, goal: str) -> list[Run]:
    """Best first; runs without a value last, in creation order."""
    sign = -1.0 if goal == "maximize" else 1.0
    with_value = [r for r in runs if run_metric(r, name) is not None]
    without = [r for r in runs if run_metric(r, name) is None]
    with_value.sort(key=lambda r: sign * (run_metric(r, name) or 0.0))
    return with_value + without


def fmt(value: Any) -> str:
    """A value as table text; user strings are escaped so they never act as rich markup."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return escape(str(value))


def styled_state(state: str) -> str:
    style = STATE_STYLE.get(state, "white")
    return f"[{style}]{state}[/{style}]"


def short_reason(reason: str | None) -> str:
    """The head of a stop reason ("hyperband band 9") for a table cell."""
    return (reason or "").split(":", 1)[0]


def stop_reasons(runs: Sequence[Run]) -> list[str]:
    """One line per stopped run, with the whole reason (the table shows only its head)."""
    return [
        f"{escape(r.name)}: {escape(r.stop_reason)}"
        for r in runs
        if r.state is RunState.STOPPED and r.stop_reason
    ]


def sweeps_table(rows: Sequence[tuple[Sweep, Sequence[Run]]]) -> Table:
    table = Table(title="sweeps", header_style="bold")
    for col in ("id", "name", "project", "method", "state", "runs", "best"):
        table.add_column(col, no_wrap=col in ("id", "state", "best"))
    for sweep, runs in rows:
        name, goal = metric_of(sweep)
        counts: dict[str, int] = {}
        for r in runs:
            counts[r.state.value] = counts.get(r.state.value, 0) + 1
        best_runs = ranked(runs, name, goal)
        best = run_metric(best_runs[0], name) if best_runs else None
        table.add_row(
            sweep.id,
            fmt(sweep.name),
            fmt(sweep.project or ""),
            str(sweep.config.get("method", "")),
            styled_state(sweep.state.value),
            " ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "0",
            "" if best is None else f"{name}={fmt(best)}",
        )
    return table


def leaderboard(sweep: Sweep, runs: Sequence[Run], top: int | None = None) -> Table:
    name, goal = metric_of(sweep)
    ordered = ranked(runs, name, goal)
    if top is not None:
        ordered = ordered[:top]
    # Parameters that are the same in every run (e.g. `value:` constants) say nothing here.
    flats = [flatten(r.config) for r in runs]
    params = sorted(
        k for k in {k for f in flats for k in f} if len({repr(f.get(k)) for f in flats}) > 1
    )
    table = Table(title=f"leaderboard ({name or 'no metric'}, {goal})", header_style="bold")
    table.add_column("#", justify="right", min_width=2, no_wrap=True)
    table.add_column("run", no_wrap=True, min_width=10)
    table.add_column("state", no_wrap=True, min_width=8)
    if name:
        table.add_column(name, justify="right", style="bold", no_wrap=True, min_width=7)
    for p in params:
        table.add_column(p, justify="right", no_wrap=True, min_width=5)
    table.add_column("note", no_wrap=True, overflow="ellipsis", max_width=20)
    for i, run in enumerate(ordered, 1):
        flat = flatten(run.config)
        value = run_metric(run, name)
        note = short_reason(run.stop_reason) if run.state is RunState.STOPPED else run.notes
        cells = [str(i), fmt(run.name), styled_state(run.state.value)]
        if name:
            cells.append("" if value is None else fmt(value))
        cells += [fmt(flat.get(p, "")) for p in params]
        cells.append(fmt(note or ""))
        table.add_row(*cells)
    return table

"""The dashboard: HTML pages, their JSON endpoints, and Plotly.js from the installed package.

Pages (``/``, ``/sweeps/{id}``, ``/runs/{id}``) are static shells that hold no data; their
scripts fetch JSON from ``/dashboard/api/...``, which the server's token guards like the rest
of the API (a browser presents it as the ``opensweep_token`` cookie).

Reads go through the app's :class:`~opensweep.client.base.Client` (``app.state.client``). A sweep's
runs are cached per sweep and refreshed with one ``list_runs(updated_after=cursor)`` query, so
a poll costs one indexed query whatever the sweep's size, and a 10,000-run page is built from
memory. Browsers poll with ``since=<rev>``: the server numbers every change it sees and sends only
runs changed after the browser's revision.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import yaml
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response

from opensweep.analysis.importance import compute_importance, params_from_space
from opensweep.analysis.runs_table import (
    CategoryIndex,
    ColumnSpec,
    best_run,
    column_specs,
    finite,
    grid_size,
    label,
    rows_to_columns,
    run_row,
    state_counts,
    summary_keys,
)
from opensweep.client.base import Client
from opensweep.config import parse
from opensweep.config.spec import SweepSpec
from opensweep.core.encoding import as_metric, dumps
from opensweep.core.model import SWEEP_ACTIONS, Run, RunState, Sweep, SweepState
from opensweep.errors import InvalidRequest, OpenSweepError

STATIC_DIR = Path(__file__).parent / "static"
# HTML shells and assets carry no data, so a browser can load them before it has a token.
PUBLIC_PATHS = ("/",)
PUBLIC_PREFIXES = ("/sweeps/", "/runs/", "/vendor/")

CURSOR_OVERLAP = 5.0  # seconds re-read before the cursor: a slow writer may commit late
MIN_REFRESH_INTERVAL = 0.5  # seconds between two store reads of one sweep
IMPORTANCE_INTERVAL = 10.0  # seconds between two importance computations of one sweep
MAX_CACHED_SWEEPS = 32
MAX_CURVE_RUNS = 50
DEFAULT_LOG_TAIL = 64 * 1024
_SAFE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")

router = APIRouter(include_in_schema=False)


# ---------------------------------------------------------------------------- caches


@dataclass
class SweepCache:
    """Every run of one sweep as last seen, each with the revision at which it changed."""

    sweep: Sweep
    spec: SweepSpec | None
    columns: list[ColumnSpec]
    categories: dict[str, CategoryIndex]
    epoch: str = field(default_factory=lambda: secrets.token_hex(4))
    runs: dict[str, Run] = field(default_factory=dict)  # creation order
    rev_of: dict[str, int] = field(default_factory=dict)
    index_of: dict[str, int] = field(default_factory=dict)
    rev: int = 0
    cursor: float | None = None
    refreshed_at: float = -math.inf
    summary: list[str] = field(default_factory=list)
    layout: int = 0  # bumped when the summary columns change: browsers then reload everything
    lock: threading.Lock = field(default_factory=threading.Lock)
    rows: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # cells, built on demand
    full_json: tuple[tuple[int, str, str], bytes] | None = None  # (version, the full answer)
    importance: dict[str, Any] | None = None
    importance_key: object = None
    importance_at: float = -math.inf
    importance_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def metric_name(self) -> str | None:
        return self.spec.metric.name if self.spec is not None and self.spec.metric else None

    def refresh(self, client: Client, *, force: bool = False) -> None:
        """Read what changed since the cursor (everything the first time)."""
        with self.lock:
            now = time.monotonic()
            # The sweep row is one cheap read: a pause or cancel shows at once, even while the
            # (costlier) run refresh is throttled.
            self.sweep = client.get_sweep(self.sweep.id)
            if not force and now - self.refreshed_at < MIN_REFRESH_INTERVAL:
                return
            after = None if self.cursor is None else self.cursor - CURSOR_OVERLAP
            changed = client.list_runs(self.sweep.id, updated_after=after)
            self.refreshed_at = now
            fresh = []
            for run in changed:
                if self.runs.get(run.id) == run:
                    continue
                if run.id not in self.index_of:
                    self.index_of[run.id] = len(self.index_of)
                self.rev += 1
                self.runs[run.id] = run
                self.rev_of[run.id] = self.rev
                fresh.append(run)
                stamp = run.updated_at if run.updated_at is not None else run.created_at
                self.cursor = stamp if self.cursor is None else max(self.cursor, stamp)
            for run in fresh:
                self.rows.pop(run.id, None)  # rebuilt when a browser asks for it
            if fresh or not self.summary:
                keys = summary_keys(list(self.runs.values()), self.metric_name)
                if keys != self.summary:
                    self.summary = keys
                    self.layout += 1
                    self.rows.clear()  # every row gets the new columns

    def _cells(self, run_id: str) -> tuple[Any, ...]:
        """The run's table cells, computed once per change of the run."""
        cells = self.rows.get(run_id)
        if cells is None:
            metric = self.spec.metric if self.spec is not None else None
            run, index = self.runs[run_id], self.index_of[run_id]
            cells = run_row(run, self.columns, self.categories, metric, self.summary, index)
            self.rows[run_id] = cells
        return cells

    @property
    def token(self) -> str:
        return f"{self.epoch}.{self.layout}"

    def payload(self, since: int | None, token: str | None) -> bytes:
        """JSON columns of the runs changed after revision ``since`` (all of them when the
        browser's layout ``token`` is stale or absent). The full answer is kept until the next
        change, so more browsers (or a reload) cost nothing."""
        with self.lock:
            full = since is None or token != self.token
            key = (self.rev, self.token, self.sweep.state.value)
            if full and self.full_json is not None and self.full_json[0] == key:
                return self.full_json[1]
            ids = (
                list(self.runs) if full else [i for i in self.runs if self.rev_of[i] > (since or 0)]
            )
            # Cells first: they may add categories the labels below must include.
            columns = rows_to_columns([self._cells(i) for i in ids], self.columns, self.summary)
            body = {
                "full": full,
                "rev": self.rev,
                "token": self.token,
                "count": len(self.runs),
                "sweep_state": self.sweep.state.value,
                "summary_keys": self.summary,
                "categories": {name: c.labels for name, c in self.categories.items()},
                "runs": columns,
            }
            # Every cell is already JSON-safe (non-finite numbers became text), so the plain
            # encoder is enough, and several times faster than a walk over 10,000 rows.
            data = json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
            if full:
                self.full_json = (key, data)
            return data


def _spec_of(sweep: Sweep) -> SweepSpec | None:
    try:
        return parse(sweep.config)
    except OpenSweepError:  # a config this version cannot parse: still show its runs
        return None


def _new_cache(sweep: Sweep) -> SweepCache:
    spec = _spec_of(sweep)
    columns = column_specs(spec) if spec is not None else []
    categories = {c.name: CategoryIndex(c.categories) for c in columns if c.kind != "numeric"}
    return SweepCache(sweep=sweep, spec=spec, columns=columns, categories=categories)


@dataclass
class _ListEntry:
    updated_at: float
    row: dict[str, Any]


class DashboardState:
    """Per-app caches: recently viewed sweeps (LRU) and the sweeps-list rows of settled sweeps."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sweeps: OrderedDict[str, SweepCache] = OrderedDict()
        self._settled: dict[str, _ListEntry] = {}

    def sweep(self, client: Client, sweep_id: str) -> SweepCache:
        with self._lock:
            cache = self._sweeps.get(sweep_id)
            if cache is not None:
                self._sweeps.move_to_end(sweep_id)
        if cache is None:
            fresh = _new_cache(client.get_sweep(sweep_id))  # NotFound for an unknown id
            with self._lock:
                cache = self._sweeps.setdefault(sweep_id, fresh)
                while len(self._sweeps) > MAX_CACHED_SWEEPS:
                    self._sweeps.popitem(last=False)
        cache.refresh(client)
        return cache

    def settled_row(self, sweep: Sweep) -> dict[str, Any] | None:
        entry = self._settled.get(sweep.id)
        return entry.row if entry is not None and entry.updated_at == sweep.updated_at else None

    def remember_settled(self, sweep: Sweep, row: dict[str, Any]) -> None:
        with self._lock:
            self._settled[sweep.id] = _ListEntry(sweep.updated_at, row)


_STATE_LOCK = threading.Lock()


def _state(request: Request) -> DashboardState:
    """The app's dashboard caches, made on first use."""
    app_state = request.app.state
    found = getattr(app_state, "dashboard", None)
    if not isinstance(found, DashboardState):
        with _STATE_LOCK:
            found = getattr(app_state, "dashboard", None)
            if not isinstance(found, DashboardState):
                found = DashboardState()
                app_state.dashboard = found
    return found


def _client(request: Request) -> Client:
    return request.app.state.client  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------- responses


def _json(content: Any) -> Response:
    return Response(
        dumps(content).encode(),
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)  # no inline scripts at all; Plotly's WebGL traces compile shaders with new Function


def _page(name: str) -> Response:
    body = (STATIC_DIR / name).read_bytes()
    return Response(
        body,
        media_type="text/html; charset=utf-8",
        headers={
            "Cache-Control": "no-cache",
            "Content-Security-Policy": _CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        },
    )


@router.get("/")
def sweeps_page() -> Response:
    return _page("index.html")


@router.get("/sweeps/{sweep_id}")
def sweep_page(sweep_id: str) -> Response:
    return _page("sweep.html")


@router.get("/runs/{run_id}")
def run_page(run_id: str) -> Response:
    return _page("run.html")


def plotly_path() -> Path:
    """Plotly.js as the installed ``plotly`` Python package ships it."""
    return Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))


@router.get("/vendor/plotly.min.js")
def plotly_js() -> Response:
    path = plotly_path()
    if not path.is_file():
        return Response("plotly.min.js is missing from the plotly package", status_code=404)
    return FileResponse(
        path,
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=86400"},
    )


# ---------------------------------------------------------------------------- sweeps list


def _duration(sweep: Sweep, runs: Sequence[Run], now: float) -> float:
    if sweep.state in (SweepState.FINISHED, SweepState.CANCELED) and not any(
        r.state is RunState.RUNNING for r in runs
    ):
        ends = [r.finished_at or r.updated_at or r.created_at for r in runs]
        end = max([sweep.updated_at, *ends])
    else:
        end = now
    return max(0.0, end - sweep.created_at)


def _list_row(
    sweep: Sweep, spec: SweepSpec | None, runs: Sequence[Run], now: float
) -> dict[str, Any]:
    metric = spec.metric if spec is not None else None
    best = best_run(runs, metric)
    est = None
    if spec is not None:
        try:
            est = grid_size(spec)
        except OpenSweepError:
            est = None
    return {
        "id": sweep.id,
        "name": sweep.name,
        "path": sweep.path,
        "project": sweep.project,
        "entity": sweep.entity,
        "method": spec.method if spec is not None else sweep.config.get("method"),
        "state": sweep.state.value,
        "runs": len(runs),
        "runs_by_state": state_counts(runs),
        "metric": None if metric is None else {"name": metric.name, "goal": metric.goal},
        "best": None
        if best is None
        else {"value": best[1], "run_id": best[0].id, "run_name": best[0].name},
        "created": sweep.created_at,
        "duration": _duration(sweep, runs, now),
        "est_runs": est,
    }


@router.get("/dashboard/api/sweeps")
def sweeps_data(request: Request, project: str | None = None) -> Response:
    """One row per sweep. A sweep that is over and has no running run never changes again:
    its row is computed once; the others come from the per-sweep caches (one query each)."""
    client, state = _client(request), _state(request)
    now = time.time()
    rows = []
    for sweep in client.list_sweeps(project):
        row = state.settled_row(sweep)
        if row is None:
            cache = state.sweep(client, sweep.id)
            runs = list(cache.runs.values())
            row = _list_row(cache.sweep, cache.spec, runs, now)
            over = cache.sweep.state in (SweepState.FINISHED, SweepState.CANCELED)
            if over and not any(r.state is RunState.RUNNING for r in runs):
                state.remember_settled(cache.sweep, row)
        rows.append(row)
    rows.sort(key=lambda r: -r["created"])
    return _json({"sweeps": rows, "now": now})


# ---------------------------------------------------------------------------- one sweep


def _agent_command(request: Request, client: Client, sweep: Sweep) -> str:
    """What to run on a machine to work on this sweep: the database URL for a local SQLite
    file (agents need no server then), else this server's address."""
    url = client.url
    if not url.startswith("sqlite"):
        url = str(request.base_url).rstrip("/")
    return f"opensweep agent {sweep.path} --url {url}"


@router.get("/dashboard/api/sweeps/{sweep_id}")
def sweep_data(request: Request, sweep_id: str) -> Response:
    client = _client(request)
    cache = _state(request).sweep(client, sweep_id)
    sweep, spec = cache.sweep, cache.spec
    try:
        est = grid_size(spec) if spec is not None else None
    except OpenSweepError:
        est = None
    metric = spec.metric if spec is not None else None
    allowed = [a for a, (sources, _) in SWEEP_ACTIONS.items() if sweep.state in sources]
    return _json(
        {
            "id": sweep.id,
            "name": sweep.name,
            "path": sweep.path,
            "project": sweep.project,
            "entity": sweep.entity,
            "state": sweep.state.value,
            "actions": allowed,
            "method": spec.method if spec is not None else sweep.config.get("method"),
            "metric": None if metric is None else {"name": metric.name, "goal": metric.goal},
            "seed": sweep.seed,
            "created": sweep.created_at,
            "updated": sweep.updated_at,
            "config_yaml": yaml.safe_dump(
                _plain(sweep.config), sort_keys=False, allow_unicode=True
            ),
            "agent_command": _agent_command(request, client, sweep),
            "est_runs": est,
            "columns": [c.to_dict() for c in cache.columns],
            "auth_required": bool(getattr(request.app.state, "auth_required", False)),
        }
    )


def _plain(value: Any) -> Any:
    """Mappings as dicts (YAML cannot dump a MappingProxy) and non-finite floats kept."""
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@router.get("/dashboard/api/sweeps/{sweep_id}/runs")
def sweep_runs(
    request: Request,
    sweep_id: str,
    since: Annotated[int | None, Query(ge=0)] = None,
    token: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    cache = _state(request).sweep(_client(request), sweep_id)
    return Response(
        cache.payload(since, token),
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def _importance(cache: SweepCache) -> dict[str, Any]:
    spec = cache.spec
    if spec is None or spec.metric is None:
        return {"params": [], "n_runs": 0, "note": "the sweep has no metric"}
    name = spec.metric.name
    with cache.lock:
        rows = [(r.config, finite(r.summary.get(name))) for r in cache.runs.values()]
        seed = cache.sweep.seed
    rows = [(c, m) for c, m in rows if m is not None]
    key = hash(tuple((dumps(c), m) for c, m in rows)) if len(rows) < 50_000 else len(rows)
    with cache.importance_lock:
        fresh = time.monotonic() - cache.importance_at < IMPORTANCE_INTERVAL
        if cache.importance is not None and (key == cache.importance_key or fresh):
            return cache.importance
        report = compute_importance(
            [c for c, _ in rows],
            [m for _, m in rows],
            rng=np.random.default_rng(seed),
            params=params_from_space(spec.space),
            metric=name,
        )
        cache.importance = report.to_dict()
        cache.importance_key = key
        cache.importance_at = time.monotonic()
        return cache.importance


@router.get("/dashboard/api/sweeps/{sweep_id}/importance")
def sweep_importance(request: Request, sweep_id: str) -> Response:
    cache = _state(request).sweep(_client(request), sweep_id)
    return _json(_importance(cache))


def _series(rows: Sequence[Any], key: str) -> tuple[list[int], list[float | None]]:
    steps, values = [], []
    for row in rows:
        if key in row.values:
            number = as_metric(row.values[key])
            steps.append(row.step)
            values.append(number if number is not None and math.isfinite(number) else None)
    return steps, values


@router.get("/dashboard/api/sweeps/{sweep_id}/curves")
def sweep_curves(
    request: Request,
    sweep_id: str,
    runs: Annotated[str, Query(max_length=20_000)] = "",
    after: Annotated[str, Query(max_length=20_000)] = "",
    key: Annotated[str | None, Query(max_length=1000)] = None,
) -> Response:
    """The metric (or ``key``) over steps for the listed runs (comma-separated ids); ``after``
    lists, per run, the last step the browser has (-1 for none)."""
    client = _client(request)
    cache = _state(request).sweep(client, sweep_id)
    metric = key or cache.metric_name
    ids = [i for i in runs.split(",") if i][:MAX_CURVE_RUNS]
    afters = [a for a in after.split(",") if a]
    out = []
    for i, run_id in enumerate(ids):
        run = cache.runs.get(run_id)
        if run is None or metric is None:
            continue
        try:
            after_step = int(afters[i]) if i < len(afters) else -1
        except ValueError:
            raise InvalidRequest(f"after: {afters[i]!r} is not a step number") from None
        rows = client.history(run_id, keys=[metric], after_step=after_step)
        steps, values = _series(rows, metric)
        out.append(
            {
                "id": run.id,
                "name": run.name,
                "state": run.state.value,
                "stop_reason": run.stop_reason,
                "steps": steps,
                "values": values,
            }
        )
    return _json({"metric": metric, "runs": out})


# ---------------------------------------------------------------------------- one run


@router.get("/dashboard/api/runs/{run_id}")
def run_data(request: Request, run_id: str) -> Response:
    client = _client(request)
    run = client.get_run(run_id)
    sweep = None
    if run.sweep_id is not None:
        try:
            s = client.get_sweep(run.sweep_id)
            spec = _spec_of(s)
            metric = spec.metric if spec is not None else None
            sweep = {
                "id": s.id,
                "name": s.name,
                "metric": None if metric is None else {"name": metric.name, "goal": metric.goal},
            }
        except OpenSweepError:
            sweep = {"id": run.sweep_id, "name": run.sweep_id, "metric": None}
    return _json(
        {
            "id": run.id,
            "name": run.name,
            "state": run.state.value,
            "stop_reason": run.stop_reason,
            "error": run.error,
            "notes": run.notes,
            "exit_code": run.exit_code,
            "created": run.created_at,
            "updated": run.updated_at,
            "finished": run.finished_at,
            "agent_id": run.agent_id,
            "config": _flat_cells(run.config),
            "summary": _flat_cells(run.summary),
            "sweep": sweep,
        }
    )


def _flat_cells(mapping: Any, prefix: str = "") -> list[list[Any]]:
    """Nested mappings as ``[dotted key, cell]`` pairs (cells are numbers or text)."""
    out: list[list[Any]] = []
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if hasattr(value, "items") and value:
            out.extend(_flat_cells(value, name + "."))
        else:
            number = as_metric(value)
            out.append(
                [name, number if number is not None and math.isfinite(number) else label(value)]
            )
    return out


@router.get("/dashboard/api/runs/{run_id}/history")
def run_history(
    request: Request,
    run_id: str,
    after_step: Annotated[int | None, Query(ge=-1)] = None,
) -> Response:
    """Every numeric key of the run's history after ``after_step``, as step/value columns."""
    rows = _client(request).history(run_id, after_step=after_step)
    series: dict[str, dict[str, list[Any]]] = {}
    last = after_step if after_step is not None else -1
    for row in rows:
        last = max(last, row.step)
        for key, value in row.values.items():
            number = as_metric(value)
            if number is None:
                continue
            s = series.setdefault(key, {"steps": [], "values": []})
            s["steps"].append(row.step)
            s["values"].append(number if math.isfinite(number) else None)
    return _json({"series": series, "last_step": last})


def log_dir(request: Request) -> Path:
    """Where agents write run logs: the app's ``log_dir`` if set, else ``OPENSWEEP_LOG_DIR``,
    else ``./opensweep-logs`` (the agent's default, relative to where it runs)."""
    configured = getattr(request.app.state, "log_dir", None)
    return Path(configured or os.environ.get("OPENSWEEP_LOG_DIR") or "opensweep-logs")


def run_log_file(base: Path, sweep_id: str, run_id: str) -> Path | None:
    """The agent's convention, ``<log dir>/<sweep id>/<run id>.log`` (agent.runner), or None
    when an id could escape the directory."""
    if not (_SAFE_ID.match(sweep_id) and _SAFE_ID.match(run_id)) or ".." in sweep_id + run_id:
        return None
    return base / sweep_id / f"{run_id}.log"


@router.get("/dashboard/api/runs/{run_id}/log")
def run_log(
    request: Request,
    run_id: str,
    max_bytes: Annotated[int, Query(ge=1, le=4 * 1024 * 1024)] = DEFAULT_LOG_TAIL,
) -> Response:
    run = _client(request).get_run(run_id)
    path = None if run.sweep_id is None else run_log_file(log_dir(request), run.sweep_id, run.id)
    if path is None or not path.is_file():
        return _json({"available": False, "path": None if path is None else str(path)})
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - max_bytes))
            data = handle.read(max_bytes)
    except OSError as exc:
        return _json({"available": False, "path": str(path), "error": exc.strerror})
    return _json(
        {
            "available": True,
            "path": str(path),
            "size": size,
            "truncated": size > max_bytes,
            "text": data.decode("utf-8", errors="replace"),
        }
    )


__all__ = ["PUBLIC_PATHS", "PUBLIC_PREFIXES", "STATIC_DIR", "router"]

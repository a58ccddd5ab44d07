"""Read-only views of sweeps and runs (W&B's ``wandb.apis.public.Sweep`` and ``Run``)."""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from opensweep.api.query import MISSING, OrderKey, metric_extremum
from opensweep.client.base import Client
from opensweep.core import model

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger("opensweep")


def _flatten(data: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """``{"opt": {"lr": 0.1}}`` -> ``{"<prefix>opt.lr": 0.1}``."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


class Run:
    """A run as stored: its config, summary, state and history."""

    def __init__(self, client: Client, record: model.Run) -> None:
        self._client = client
        self._record = record

    # fields
    @property
    def id(self) -> str:
        return self._record.id

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def display_name(self) -> str:
        return self._record.name

    @property
    def state(self) -> str:
        """``running``, ``finished``, ``failed``, ``crashed``, ``stopped`` or ``killed``."""
        return self._record.state.value

    @property
    def config(self) -> dict[str, Any]:
        """The run's parameters as plain (nested) values."""
        return copy.deepcopy(dict(self._record.config))

    @property
    def summary(self) -> dict[str, Any]:
        """The last value of every logged key (and what the run wrote into its summary)."""
        return copy.deepcopy(dict(self._record.summary))

    @property
    def sweep_id(self) -> str | None:
        return self._record.sweep_id

    @property
    def project(self) -> str | None:
        return self._record.project

    @property
    def entity(self) -> str | None:
        return self._record.entity

    @property
    def path(self) -> list[str]:
        return [p for p in (self.entity, self.project, self.id) if p]

    @property
    def created_at(self) -> float:
        return self._record.created_at

    @property
    def finished_at(self) -> float | None:
        return self._record.finished_at

    @property
    def exit_code(self) -> int | None:
        return self._record.exit_code

    @property
    def error(self) -> str | None:
        """The traceback or failure message of a failed/crashed run."""
        return self._record.error

    @property
    def stop_reason(self) -> str | None:
        """Why the run was (or is being) stopped early, e.g. the hyperband band and threshold."""
        return self._record.stop_reason

    @property
    def notes(self) -> str | None:
        """What the search method did for this run (e.g. a fallback to random)."""
        return self._record.notes

    @property
    def record(self) -> model.Run:
        return self._record

    def load(self) -> Run:
        """Read the run again (state and summary change while it runs)."""
        self._record = self._client.get_run(self.id)
        return self

    # history
    def _rows(
        self,
        keys: Sequence[str] | None,
        min_step: int | None = None,
        max_step: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        wanted = None if keys is None else [str(k) for k in keys if not str(k).startswith("_")]
        after = None if min_step is None else int(min_step) - 1
        rows = self._client.history(self.id, keys=wanted, after_step=after)
        created = self._record.created_at
        for row in rows:
            if max_step is not None and row.step > max_step:
                break
            if wanted is not None and any(k not in row.values for k in wanted):
                continue  # W&B: with keys, only rows that have all of them
            out: dict[str, Any] = {"_step": row.step}
            if row.time is not None:
                out["_runtime"] = row.time - created
                out["_timestamp"] = row.time
            out.update(row.values)
            yield out

    def scan_history(
        self,
        keys: Sequence[str] | None = None,
        page_size: int = 1000,
        min_step: int | None = None,
        max_step: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every logged row as a dict with ``_step`` (and ``_runtime``, ``_timestamp``)."""
        return self._rows(keys, min_step, max_step)

    def history(
        self,
        samples: int | None = None,
        keys: Sequence[str] | None = None,
        x_axis: str = "_step",
        pandas: bool = True,
        stream: str = "default",
    ) -> pd.DataFrame | list[dict[str, Any]]:
        """The run's rows (all of them unless ``samples`` asks for fewer, evenly spaced)."""
        rows = list(self._rows(keys))
        if samples is not None and 0 < samples < len(rows):
            step = len(rows) / samples
            rows = [rows[int(i * step)] for i in range(samples)]
        if not pandas:
            return rows
        import pandas as pd

        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        return f"<Run {'/'.join(self.path)} ({self.state})>"


class Sweep:
    """A sweep: its config and state, its runs and the best of them."""

    def __init__(self, client: Client, record: model.Sweep) -> None:
        self._client = client
        self._record = record

    @property
    def id(self) -> str:
        return self._record.id

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def config(self) -> dict[str, Any]:
        """The sweep config as the user gave it."""
        return copy.deepcopy(dict(self._record.config))

    @property
    def state(self) -> str:
        """``running``, ``paused``, ``finished`` or ``canceled``."""
        return self._record.state.value

    @property
    def project(self) -> str | None:
        return self._record.project

    @property
    def entity(self) -> str | None:
        return self._record.entity

    @property
    def path(self) -> list[str]:
        return [p for p in (self.entity, self.project, self.id) if p]

    @property
    def record(self) -> model.Sweep:
        return self._record

    def load(self, force: bool = True) -> Sweep:
        """Read the sweep again (its state changes)."""
        self._record = self._client.get_sweep(self.id)
        return self

    @property
    def runs(self) -> list[Run]:
        """The sweep's runs in creation order, read now."""
        return [Run(self._client, r) for r in self._client.list_runs(self.id)]

    @property
    def metric(self) -> tuple[str, str] | None:
        """``(name, goal)`` of the sweep metric, if the config has one."""
        metric = self._record.config.get("metric")
        if not isinstance(metric, Mapping) or not metric.get("name"):
            return None
        return str(metric["name"]), str(metric.get("goal", "minimize"))

    @property
    def order(self) -> str | None:
        """W&B's order string for the sweep metric:``+name`` to minimize, ``-name`` to maximize."""
        metric = self.metric
        if metric is None:
            return None
        name, goal = metric
        return ("+" if goal == "minimize" else "-") + f"summary_metrics.{name}"

    def best_value(self, run: Run) -> float | None:
        """The run's best value of the sweep metric: W&B's extremum over history and summary
        (NaN, inf, bools and strings ignored)."""
        metric = self.metric
        if metric is None:
            return None
        name, goal = metric
        values = [row.values.get(name) for row in self._client.history(run.id, keys=[name])]
        return metric_extremum(values, run.record.summary.get(name), goal)

    def best_run(self, order: str | None = None) -> Run | None:
        """The best run: by the sweep metric's best logged value and goal, or by ``order``
        (W&B's ``"+summary_metrics.loss"``/``"-acc"`` form: ``+`` lowest first, ``-`` highest).

        Runs without a usable value are skipped; None when no run has one. Without a metric and
        an order, the most recent run (as W&B does).
        """
        runs = self.runs
        if not runs:
            return None
        if order is None and self.metric is not None:
            goal = self.metric[1]
            scored = [(self.best_value(r), i, r) for i, r in enumerate(runs)]
            usable = [(v, i, r) for v, i, r in scored if v is not None]
            if not usable:
                return None
            pick = min if goal != "maximize" else max
            # ties: the earliest run wins
            best = pick(usable, key=lambda t: (t[0], -t[1] if goal == "maximize" else t[1]))
            return best[2]
        if order is None:
            logger.warning("opensweep: sweep %s has no metric; returning its latest run", self.id)
            return runs[-1]
        key = OrderKey.parse(order)
        ranked = rank_runs([(key.value(r.record), i, r) for i, r in enumerate(runs)], key.ascending)
        return ranked[0] if ranked else None

    def runs_dataframe(self) -> pd.DataFrame:
        """One row per run: ``id``, ``name``, ``state``, ``config.<key>`` (nested keys joined
        with dots), ``summary.<key>``, ``best.<metric>`` (the sweep metric's best value)."""
        runs = self.runs
        frame = runs_to_dataframe(runs)
        metric = self.metric
        if metric is not None and len(frame):
            frame[f"best.{metric[0]}"] = [self.best_value(r) for r in runs]
        return frame

    def __repr__(self) -> str:
        return f"<Sweep {'/'.join(self.path)} ({self.state})>"


def rank_runs(items: list[tuple[Any, int, Run]], ascending: bool) -> list[Run]:
    """Runs sorted by value (ties: creation order). Numbers come first, then text; missing
    values and NaN are left out."""
    numbers: list[tuple[Any, int, Run]] = []
    texts: list[tuple[Any, int, Run]] = []
    for value, index, run in items:
        if value is MISSING or value is None:
            continue
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isnan(value):
                numbers.append((value, index, run))
        else:
            texts.append((str(value), index, run))
    ranked: list[Run] = []
    for group in (numbers, texts):
        group.sort(key=lambda t: t[1])
        group.sort(key=lambda t: t[0], reverse=not ascending)
        ranked.extend(r for _, _, r in group)
    return ranked


def runs_to_dataframe(runs: Iterable[Run]) -> pd.DataFrame:
    """One row per run with ``id``, ``name``, ``state``, ``sweep_id``, ``stop_reason``, the
    config flattened as ``config.<key>`` and the summary as ``summary.<key>``."""
    import pandas as pd

    records = []
    for run in runs:
        record: dict[str, Any] = {
            "id": run.id,
            "name": run.name,
            "state": run.state,
            "sweep_id": run.sweep_id,
            "created_at": run.created_at,
            "stop_reason": run.stop_reason,
        }
        record.update(_flatten(run.record.config, "config."))
        record.update(_flatten(run.record.summary, "summary."))
        records.append(record)
    return pd.DataFrame(records, columns=None if records else ["id", "name", "state"])

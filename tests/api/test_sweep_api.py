"""``Api().sweep(path)``: paths, runs, ``best_run`` by the sweep metric, the runs DataFrame."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
import pytest

from opensweep.api import Api
from opensweep.client.base import Client
from opensweep.core.model import MetricRow, RunState
from opensweep.errors import InvalidRequest, NotFound

NAN, INF = math.nan, math.inf


def make_sweep(
    client: Client,
    curves: Sequence[Sequence[Any]],
    *,
    goal: str = "minimize",
    metric: bool = True,
    project: str = "proj",
    entity: str | None = None,
    finish: bool = True,
) -> str:
    """A grid sweep with one run per curve; run i has lr = 10**-i and logs ``loss`` per step."""
    config: dict[str, Any] = {
        "method": "grid",
        "parameters": {
            "lr": {"values": [10.0**-i for i in range(len(curves))]},
            "opt": {"parameters": {"name": {"values": ["adam"]}}},
        },
    }
    if metric:
        config["metric"] = {"name": "loss", "goal": goal}
    sweep = client.create_sweep(config, project=project, entity=entity, name="my sweep")
    for curve in curves:
        run = client.next_run(sweep.id, "agent-1")
        assert run is not None
        rows = [MetricRow(step=s, values={"loss": v, "epoch": s}) for s, v in enumerate(curve)]
        summary = {"loss": curve[-1], "epoch": len(curve) - 1} if curve else {}
        client.log(run.id, 0, rows, summary)
        if finish:
            client.finish_run(run.id, exit_code=0)
    return sweep.id


def test_the_three_path_forms_and_unknown_ids(api: Api, client: Client) -> None:
    sweep_id = make_sweep(client, [[1.0]], entity="me")
    for path in (sweep_id, f"proj/{sweep_id}", f"me/proj/{sweep_id}", f"someone/other/{sweep_id}"):
        assert api.sweep(path).id == sweep_id
    with pytest.raises(NotFound, match=r"no sweep 'nope'.*opensweep ls"):
        api.sweep("me/proj/nope")
    with pytest.raises(InvalidRequest, match="invalid sweep path"):
        api.sweep("a/b/c/d")
    with pytest.raises(NotFound, match="no run 'nope'"):
        api.run("nope")


def test_sweep_and_run_fields(api: Api, client: Client) -> None:
    sweep_id = make_sweep(client, [[3.0, 2.0], [5.0]])
    sweep = api.sweep(sweep_id)
    assert (sweep.id, sweep.name, sweep.state, sweep.project) == (
        sweep_id,
        "my sweep",
        "finished",
        "proj",
    )
    assert sweep.config["metric"] == {"name": "loss", "goal": "minimize"}
    assert sweep.order == "+summary_metrics.loss"
    runs = sweep.runs
    assert len(runs) == 2 and [r.id for r in runs] == [r.id for r in sweep.runs]
    first = runs[0]
    assert first.state == "finished" and first.state == RunState.FINISHED
    assert first.config == {"lr": 1.0, "opt": {"name": "adam"}}
    assert first.summary.get("loss") == 2.0 and first.summary.get("nope", 7) == 7
    assert first.sweep_id == sweep_id and first.exit_code == 0
    assert first.stop_reason is None and first.error is None
    first.config["lr"] = 99  # a copy: the stored values do not change
    assert first.config["lr"] == 1.0
    assert api.run(f"proj/{first.id}").summary["loss"] == 2.0


def test_best_run_uses_the_best_logged_value_not_the_last(api: Api, client: Client) -> None:
    # run 0 reached 1.0 and ended at 4.0; run 1 ended at its best, 2.0
    sweep_id = make_sweep(client, [[5.0, 1.0, 4.0], [3.0, 2.0, 2.0], [NAN, -INF, "NaN"]])
    sweep = api.sweep(sweep_id)
    runs = sweep.runs
    best = sweep.best_run()
    assert best is not None and best.id == runs[0].id
    assert sweep.best_value(runs[2]) is None  # NaN, -inf and strings are not values
    # W&B's order strings sort by the summary (the last value)
    by_last = sweep.best_run(order="+summary_metrics.loss")
    assert by_last is not None and by_last.id == runs[1].id
    highest_last = sweep.best_run(order="-loss")
    assert highest_last is not None and highest_last.id == runs[0].id
    smallest_lr = sweep.best_run(order="+config.lr")
    assert smallest_lr is not None and smallest_lr.id == runs[2].id


def test_best_run_maximize_and_ties(api: Api, client: Client) -> None:
    sweep_id = make_sweep(client, [[0.5, 0.9], [0.9, 0.1], [0.2]], goal="maximize")
    best = api.sweep(sweep_id).best_run()
    runs = api.sweep(sweep_id).runs
    assert best is not None and best.id == runs[0].id  # 0.9 twice: the earlier run wins


def test_best_run_without_metric_or_runs(
    api: Api, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    sweep_id = make_sweep(client, [[1.0], [2.0]], metric=False)
    with caplog.at_level(logging.WARNING, logger="opensweep"):
        latest = api.sweep(sweep_id).best_run()
    assert latest is not None and latest.id == api.sweep(sweep_id).runs[-1].id
    assert "no metric" in caplog.text
    empty = client.create_sweep({"method": "random", "parameters": {"x": {"values": [1]}}})
    assert api.sweep(empty.id).best_run() is None
    no_values = make_sweep(client, [[NAN], []])
    assert api.sweep(no_values).best_run() is None


def test_runs_dataframe_has_one_row_per_run(api: Api, client: Client) -> None:
    sweep_id = make_sweep(client, [[5.0, 1.0], [NAN], [3.0]])
    frame = api.sweep(sweep_id).runs_dataframe()
    assert isinstance(frame, pd.DataFrame) and len(frame) == 3
    for column in (
        "id",
        "name",
        "state",
        "config.lr",
        "config.opt.name",
        "summary.loss",
        "best.loss",
    ):
        assert column in frame.columns, column
    assert list(frame["config.lr"]) == [1.0, 0.1, 0.01]
    assert list(frame["config.opt.name"]) == ["adam"] * 3
    assert frame["summary.loss"].iloc[0] == 1.0 and math.isnan(frame["summary.loss"].iloc[1])
    assert frame["best.loss"].iloc[0] == 1.0 and frame["best.loss"].iloc[2] == 3.0
    assert set(frame["state"]) == {"finished"}
    empty = client.create_sweep({"method": "random", "parameters": {"x": {"values": [1]}}})
    assert len(api.sweep(empty.id).runs_dataframe()) == 0


def test_history_and_scan_history(api: Api, client: Client) -> None:
    sweep = client.create_sweep({"method": "random", "parameters": {"x": {"values": [1]}}})
    record = client.next_run(sweep.id, "a")
    assert record is not None
    rows = [
        MetricRow(step=0, values={"loss": 3.0, "acc": 0.1}, time=record.created_at + 1),
        MetricRow(step=1, values={"loss": 2.0}, time=record.created_at + 2),
        MetricRow(step=2, values={"acc": 0.3, "lr": NAN}, time=record.created_at + 3),
        MetricRow(step=5, values={"loss": 1.0, "acc": 0.5}, time=record.created_at + 4),
    ]
    client.log(record.id, 0, rows)
    run = api.run(record.id)
    frame = run.history()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["_step"]) == [0, 1, 2, 5]
    assert list(frame["_runtime"]) == pytest.approx([1, 2, 3, 4])
    assert math.isnan(frame["lr"].iloc[2])
    both = run.history(keys=["loss", "acc"], pandas=False)
    assert isinstance(both, list)
    assert [(r["_step"], r["loss"], r["acc"]) for r in both] == [(0, 3.0, 0.1), (5, 1.0, 0.5)]
    assert set(both[0]) == {"_step", "_runtime", "_timestamp", "loss", "acc"}
    sampled = run.history(samples=2, pandas=False)
    assert isinstance(sampled, list) and [r["_step"] for r in sampled] == [0, 2]
    scanned = list(run.scan_history(keys=["loss"]))
    assert [(r["_step"], r["loss"]) for r in scanned] == [(0, 3.0), (1, 2.0), (5, 1.0)]
    window = list(run.scan_history(min_step=1, max_step=2))
    assert [r["_step"] for r in window] == [1, 2]
    assert run.history(keys=["missing"], pandas=False) == []

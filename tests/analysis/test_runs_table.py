"""Runs as dashboard columns: categories by index, numbers as numbers, text kept as text."""

from __future__ import annotations

import math
from typing import Any

import pytest

from opensweep.analysis.runs_table import (
    CategoryIndex,
    best_run,
    cell,
    column_specs,
    grid_size,
    label,
    run_columns,
    state_counts,
    summary_keys,
)
from opensweep.config import parse
from opensweep.core.model import Run, RunState

CONFIG: dict[str, Any] = {
    "method": "grid",
    "metric": {"name": "acc", "goal": "maximize"},
    "run_cap": 100,
    "parameters": {
        "lr": {"values": [0.1, 0.01]},
        "opt": {"values": ["adam", "sgd", "<b>x</b>"]},
        "nested": {"parameters": {"depth": {"values": [1, 2]}}},
        "seed": {"value": 7},
    },
}


def run(i: int, config: dict[str, Any], summary: dict[str, Any], state: RunState) -> Run:
    return Run(f"r{i}", f"run-{i}", config, state, 100.0 + i, summary=summary)


def test_columns_encode_categories_as_stable_indices() -> None:
    spec = parse(CONFIG)
    columns = column_specs(spec)
    assert [(c.name, c.kind) for c in columns] == [
        ("lr", "categorical"),
        ("nested.depth", "categorical"),
        ("opt", "categorical"),
        ("seed", "constant"),
    ]
    cats = {c.name: CategoryIndex(c.categories) for c in columns if c.kind != "numeric"}
    first = {"lr": 0.1, "opt": "sgd", "nested": {"depth": 2}, "seed": 7}
    second = {"lr": 0.01, "opt": "<b>x</b>", "seed": 7}
    third = {"lr": 0.5, "opt": "adam", "nested": {"depth": 1}}
    runs = [
        run(0, first, {"acc": 0.5}, RunState.FINISHED),
        run(1, second, {"acc": "NaN", "note": "hi"}, RunState.FAILED),
        run(2, third, {}, RunState.RUNNING),
    ]
    cols = run_columns(runs, columns, cats, spec.metric, ["acc", "note"], {"r0": 0, "r1": 1})
    assert cols["id"] == ["r0", "r1", "r2"]
    assert cols["index"] == [0, 1, -1]
    assert cols["params"]["opt"] == [1, 2, 0]
    assert cols["params"]["nested.depth"] == [1, -1, 0]  # -1: the run has no such key
    assert cols["params"]["lr"] == [0, 1, 2]  # 0.5 was not declared: appended, never reordered
    assert cats["lr"].labels == ["0.1", "0.01", "0.5"]
    assert cats["opt"].labels == ["adam", "sgd", "<b>x</b>"]  # text, escaped by the page
    assert cols["metric"] == [0.5, None, None]  # the string "NaN" is not a number
    assert cols["summary"]["acc"] == [0.5, "NaN", None]
    assert cols["summary"]["note"] == [None, "hi", None]


def test_cells_labels_and_summary_keys() -> None:
    assert cell(math.inf) == "inf" and cell(float("nan")) == "NaN" and cell(3) == 3.0
    assert cell({"a": [1, 2]}) == '{"a":[1,2]}'
    assert len(str(cell("x" * 1000))) == 200
    assert label(True) == "true" and label(None) == "null" and label(3000000.0) == "3000000.0"
    runs = [
        run(0, {}, {"loss": 1, "acc": 2, "_step": 3}, RunState.FINISHED),
        run(1, {}, {"acc": 1, "zeta": 0}, RunState.FINISHED),
    ]
    assert summary_keys(runs, "loss") == ["loss", "acc", "zeta"]  # metric first, _step hidden


def test_best_run_counts_and_grid_size() -> None:
    spec = parse(CONFIG)
    runs = [
        run(0, {}, {"acc": 0.5}, RunState.FINISHED),
        run(1, {}, {"acc": 0.9}, RunState.STOPPED),
        run(2, {}, {"acc": math.nan}, RunState.FAILED),
        run(3, {}, {"acc": True}, RunState.RUNNING),
    ]
    best = best_run(runs, spec.metric)
    assert best is not None and best[0].id == "r1" and best[1] == pytest.approx(0.9)
    assert state_counts(runs) == {"running": 1, "finished": 1, "failed": 1, "stopped": 1}
    assert grid_size(spec) == 2 * 3 * 2 * 1
    capped = parse({**CONFIG, "run_cap": 5})
    assert grid_size(capped) == 5
    assert grid_size(parse({**CONFIG, "method": "random"})) is None

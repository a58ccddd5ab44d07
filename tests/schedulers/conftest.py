"""Helpers for scheduler tests: SweepSpecs and Trials built directly (no store, no parser)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from opensweep.config.spec import EarlyTerminateSpec, MetricSpec, SweepSpec
from opensweep.core.encoding import as_metric, decode_value
from opensweep.core.history import Trial
from opensweep.core.model import RunState
from opensweep.core.space import Space

# W&B states -> ours. "pending" does not exist here (a run exists once an agent claims it);
# any non-running state behaves the same for a scheduler: it counts, it is never stopped.
WANDB_STATES: dict[str, RunState] = {
    "running": RunState.RUNNING,
    "finished": RunState.FINISHED,
    "failed": RunState.FAILED,
    "crashed": RunState.CRASHED,
    "killed": RunState.KILLED,
    "stopped": RunState.STOPPED,
    "pending": RunState.STOPPED,
    "preempted": RunState.CRASHED,
}


def make_spec(
    et_type: str,
    options: Mapping[str, Any],
    *,
    metric: str = "loss",
    goal: str = "minimize",
) -> SweepSpec:
    opts = {k: v for k, v in options.items() if k != "type"}
    return SweepSpec(
        method="random",
        space=Space(()),
        metric=MetricSpec(name=metric, goal=goal),  # type: ignore[arg-type]
        early_terminate=EarlyTerminateSpec(type=et_type, options=opts),
    )


def trial(
    run_id: str,
    values: Sequence[float],
    state: RunState = RunState.RUNNING,
    *,
    stop_requested: bool = False,
    index: int = 0,
) -> Trial:
    return Trial(
        run_id=run_id,
        params={},
        state=state,
        metric_history=tuple(float(v) for v in values),
        stop_requested=stop_requested,
        created_index=index,
    )


def trial_from_wandb(run: Mapping[str, Any], metric: str, index: int) -> Trial:
    """A reference-data run (logged rows) as the Trial the controller would build."""
    values: list[float] = []
    for row in run["history"]:
        if metric not in row:
            continue
        number = as_metric(decode_value(row[metric]))
        values.append(math.nan if number is None else number)
    return trial(run["name"], values, WANDB_STATES[run["state"]], index=index)


@pytest.fixture
def spec_of() -> Any:
    return make_spec


@pytest.fixture
def trial_of() -> Any:
    return trial


@pytest.fixture
def wandb_trial() -> Any:
    return trial_from_wandb

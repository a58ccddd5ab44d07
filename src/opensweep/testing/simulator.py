"""A many-agent sweep simulator with fake time, for schedulers (early termination).

Pure and deterministic: no clock, no threads, no randomness. ``agents`` workers each train one
run at a time; a run is a configuration with a known learning curve (its metric after each
epoch) and an epoch duration. Whenever a run logs a value the scheduler is asked, as the
controller does on every flush of ``log()``, and its decisions are applied:

- the run that just logged and is told to stop ends at once (state ``stopped``);
- another running run gets ``stop_requested`` and ends at its next log (the epoch it is in the
  middle of is trained and logged, as when the SDK raises ``RunStopped`` from the next ``log()``).

A scheduler that returns a run that is not running, or one already asked to stop, breaks the
contract: :class:`SchedulerContractError` is raised.

Used by the scheduler tests (promotions step by step) and by ``benchmarks/early_stop``.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opensweep.config.spec import SweepSpec
from opensweep.core.history import Trial
from opensweep.core.model import RunState
from opensweep.schedulers.base import StopDecision

SchedulerFn = Callable[[SweepSpec, Sequence[Trial]], list[StopDecision]]


class SchedulerContractError(AssertionError):
    """The scheduler under test returned a run it must not stop."""


@dataclass(frozen=True)
class CurveConfig:
    """One configuration: its parameters and the metric it logs after each epoch."""

    curve: Sequence[float]
    params: Mapping[str, Any] = field(default_factory=dict)
    epoch_time: float = 1.0


@dataclass(frozen=True)
class SimEvent:
    time: float
    run_id: str
    kind: str  # "start" | "log" | "finish" | "stop_requested" | "stopped"
    iteration: int  # values logged by the run so far
    reason: str = ""


@dataclass(frozen=True)
class SimResult:
    trials: tuple[Trial, ...]  # every run, in creation order, as it ended
    events: tuple[SimEvent, ...]
    epochs: int  # values logged by every run together (the compute spent)
    end_time: float
    scheduler_calls: int

    def trial(self, run_id: str) -> Trial:
        for t in self.trials:
            if t.run_id == run_id:
                return t
        raise KeyError(run_id)

    def stop_reasons(self) -> dict[str, str]:
        return {e.run_id: e.reason for e in self.events if e.kind == "stop_requested"}


@dataclass
class _Run:
    run_id: str
    index: int
    config: CurveConfig
    values: list[float] = field(default_factory=list)
    state: RunState = RunState.RUNNING
    stop_requested: bool = False
    stop_reason: str = ""

    def as_trial(self) -> Trial:
        return Trial(
            run_id=self.run_id,
            params=self.config.params,
            state=self.state,
            metric_history=tuple(self.values),
            summary_metric=self.values[-1] if self.values else None,
            stop_requested=self.stop_requested,
            created_index=self.index,
        )


def run_id_for(index: int) -> str:
    return f"run-{index:04d}"


def simulate(
    spec: SweepSpec,
    configs: Sequence[CurveConfig],
    scheduler: SchedulerFn | None,
    *,
    agents: int = 1,
    max_runs: int | None = None,
    epoch_budget: int | None = None,
) -> SimResult:
    """Run ``configs`` in order on ``agents`` workers until they are used up.

    ``max_runs`` caps how many runs start; ``epoch_budget`` stops starting new runs once that many
    epochs were logged (runs already going are finished or stopped as usual).
    """
    if agents < 1:
        raise ValueError("agents must be >= 1")
    runs: list[_Run] = []
    events: list[SimEvent] = []
    # (time, sequence, agent, run index): the next epoch end of the run an agent is training
    queue: list[tuple[float, int, int, int]] = []
    sequence = 0
    epochs = 0
    calls = 0
    now = 0.0

    def can_start() -> bool:
        if len(runs) >= len(configs):
            return False
        if max_runs is not None and len(runs) >= max_runs:
            return False
        return epoch_budget is None or epochs < epoch_budget

    def start(agent: int, time: float) -> None:
        nonlocal sequence
        while can_start():
            index = len(runs)
            run = _Run(run_id_for(index), index, configs[index])
            runs.append(run)
            events.append(SimEvent(time, run.run_id, "start", 0))
            if not run.config.curve:  # nothing to train: finishes at once
                run.state = RunState.FINISHED
                events.append(SimEvent(time, run.run_id, "finish", 0))
                continue
            sequence += 1
            heapq.heappush(queue, (time + run.config.epoch_time, sequence, agent, index))
            return

    def end(run: _Run, state: RunState, time: float) -> None:
        run.state = state
        kind = "stopped" if state is RunState.STOPPED else "finish"
        events.append(SimEvent(time, run.run_id, kind, len(run.values), run.stop_reason))

    for agent in range(agents):
        start(agent, 0.0)

    while queue:
        now, _, agent, index = heapq.heappop(queue)
        run = runs[index]
        run.values.append(float(run.config.curve[len(run.values)]))
        epochs += 1
        events.append(SimEvent(now, run.run_id, "log", len(run.values)))

        if scheduler is not None:
            calls += 1
            for decision in scheduler(spec, [r.as_trial() for r in runs]):
                _apply(decision, runs, events, now)
        if run.stop_requested:  # asked earlier or just now: this log delivers the stop
            end(run, RunState.STOPPED, now)
        if run.state is RunState.RUNNING and len(run.values) >= len(run.config.curve):
            end(run, RunState.FINISHED, now)

        if run.state is RunState.RUNNING:
            sequence += 1
            heapq.heappush(queue, (now + run.config.epoch_time, sequence, agent, index))
        else:
            start(agent, now)

    return SimResult(
        trials=tuple(r.as_trial() for r in runs),
        events=tuple(events),
        epochs=epochs,
        end_time=now,
        scheduler_calls=calls,
    )


def _apply(
    decision: StopDecision, runs: Sequence[_Run], events: list[SimEvent], now: float
) -> None:
    by_id = {r.run_id: r for r in runs}
    target = by_id.get(decision.run_id)
    if target is None:
        raise SchedulerContractError(f"scheduler stopped an unknown run {decision.run_id!r}")
    if target.state is not RunState.RUNNING:
        raise SchedulerContractError(
            f"scheduler stopped {decision.run_id}, which is {target.state.value}"
        )
    if target.stop_requested:
        raise SchedulerContractError(
            f"scheduler stopped {decision.run_id} again (a stop was already requested)"
        )
    target.stop_requested = True
    target.stop_reason = decision.reason
    events.append(
        SimEvent(now, target.run_id, "stop_requested", len(target.values), decision.reason)
    )

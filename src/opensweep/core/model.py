"""Frozen records for sweeps, runs and metric rows, and the state machines they follow."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class SweepState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"
    CANCELED = "canceled"


class RunState(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"  # exit code 0 / function returned
    FAILED = "failed"  # non-zero exit code or an exception in the function
    CRASHED = "crashed"  # the agent stopped beating (killed machine, kill -9)
    STOPPED = "stopped"  # early-terminated by the scheduler
    KILLED = "killed"  # canceled by the user

    @property
    def is_terminal(self) -> bool:
        return self is not RunState.RUNNING


TERMINAL_RUN_STATES = frozenset(s for s in RunState if s.is_terminal)

# Sweep state transitions: action -> (allowed from, target).
SWEEP_ACTIONS: Mapping[str, tuple[frozenset[SweepState], SweepState]] = {
    "pause": (frozenset({SweepState.RUNNING, SweepState.PAUSED}), SweepState.PAUSED),
    "resume": (frozenset({SweepState.RUNNING, SweepState.PAUSED}), SweepState.RUNNING),
    "stop": (frozenset({SweepState.RUNNING, SweepState.PAUSED}), SweepState.FINISHED),
    "cancel": (frozenset({SweepState.RUNNING, SweepState.PAUSED}), SweepState.CANCELED),
}

# A running run may end in any terminal state; a terminal run never changes again.
RUN_TRANSITIONS: Mapping[RunState, frozenset[RunState]] = {
    RunState.RUNNING: TERMINAL_RUN_STATES,
    **{s: frozenset() for s in TERMINAL_RUN_STATES},
}


def run_state_from_exit(exit_code: int) -> RunState:
    """W&B rule: exit code 0 is finished, anything else failed."""
    return RunState.FINISHED if exit_code == 0 else RunState.FAILED


@dataclass(frozen=True, slots=True)
class Sweep:
    id: str
    name: str
    config: Mapping[str, Any]  # the user's config as given (JSON-safe), the source of truth
    state: SweepState
    seed: int  # from config `seed`, else drawn once at creation so a sweep can be replayed
    created_at: float
    updated_at: float
    project: str | None = None
    entity: str | None = None

    @property
    def path(self) -> str:
        parts = [p for p in (self.entity, self.project) if p]
        return "/".join([*parts, self.id])


@dataclass(frozen=True, slots=True)
class Run:
    id: str
    name: str
    config: Mapping[str, Any]  # parameter values, nested like the user's `parameters`
    state: RunState
    created_at: float
    sweep_id: str | None = None
    updated_at: float | None = None  # set by the controller on every change; a polling cursor
    project: str | None = None
    entity: str | None = None
    agent_id: str | None = None
    heartbeat_at: float | None = None
    finished_at: float | None = None
    exit_code: int | None = None
    stop_reason: str | None = None  # set when a stop was requested or the run was stopped
    error: str | None = None  # traceback or failure message
    notes: str | None = None  # what the search method did, e.g. "random: 1 observation (< 2)"
    summary: Mapping[str, Any] = field(default_factory=dict)
    last_seq: int = -1  # highest log batch sequence number applied (idempotent logging)
    seed: int = 0  # per-run seed derived from the sweep seed

    @property
    def stop_requested(self) -> bool:
        return self.state is RunState.RUNNING and self.stop_reason is not None


@dataclass(frozen=True, slots=True)
class MetricRow:
    """One ``log()`` call: its step, wall time and the values as logged."""

    step: int
    values: Mapping[str, Any]
    time: float | None = None


@dataclass(frozen=True, slots=True)
class LogBatch:
    """One batch of a run's log, as a writer sends it: rows and a summary update under a
    run-local sequence number (a batch is applied once, by its number)."""

    seq: int
    rows: Sequence[MetricRow]
    summary: Mapping[str, Any] | None = None

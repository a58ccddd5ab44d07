"""The ``Client`` protocol: the controller's verbs, and nothing else.

The SDK, agent, API and CLI talk only to a Client. ``connect(url)`` (in ``client/__init__``)
returns a :class:`~opensweep.client.local.LocalClient` for ``sqlite://``/``postgresql://`` URLs
(the controller runs in-process) or an HTTP client for ``http(s)://`` URLs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from opensweep.core.model import LogBatch, MetricRow, Run, RunState, Sweep

SweepAction = Literal["pause", "resume", "stop", "cancel"]


@dataclass(frozen=True)
class LogResult:
    """The answer to a log batch: whether it was new, and whether the run must stop."""

    applied: bool
    stop_reason: str | None = None


class Client(Protocol):
    url: str

    # sweeps
    def create_sweep(
        self,
        config: Mapping[str, Any],
        *,
        project: str | None = None,
        entity: str | None = None,
        name: str | None = None,
    ) -> Sweep: ...  # ConfigError listing every violation; nothing stored then
    def get_sweep(self, sweep_id: str) -> Sweep: ...
    def list_sweeps(self, project: str | None = None) -> list[Sweep]: ...
    def set_sweep_state(self, sweep_id: str, action: SweepAction) -> Sweep: ...
    def rerun_crashed(self, sweep_id: str) -> int:
        """Hand out the grid points of the sweep's crashed runs again; returns how many."""
        ...

    # runs
    def next_run(self, sweep_id: str, agent_id: str) -> Run | None:
        """The next run for this agent, or None when the sweep hands out no more (done/paused)."""
        ...

    def start_run(
        self,
        *,
        project: str | None = None,
        entity: str | None = None,
        name: str | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> Run: ...  # a plain tracked run outside any sweep
    def get_run(self, run_id: str) -> Run: ...
    def update_config(self, run_id: str, config: Mapping[str, Any]) -> Run:
        """Set top-level keys of a running run's config (``wandb.config.update``); a sweep
        run's parameters keep the values the sweep gave them. Conflict once the run ended."""
        ...

    def list_runs(self, sweep_id: str, *, updated_after: float | None = None) -> list[Run]: ...
    def list_plain_runs(self, project: str | None = None) -> list[Run]:
        """Runs started outside any sweep (``start_run``), of ``project`` when given, in
        creation order."""
        ...

    def finish_run(
        self,
        run_id: str,
        *,
        state: RunState | None = None,
        exit_code: int | None = None,
        error: str | None = None,
        last_log: LogBatch | None = None,
    ) -> Run:
        """End a run: exit code 0 -> finished, else failed, unless ``state`` says otherwise
        (a run with a pending stop request ends as ``stopped``).

        ``last_log``: the run's last log batch, written with the end in one transaction (and,
        as any batch, once by its number: a retried finish is harmless). A new batch for a
        run that already ended is a Conflict, as in :meth:`log`."""
        ...

    def finish_and_next(
        self,
        run_id: str,
        agent_id: str,
        *,
        state: RunState | None = None,
        exit_code: int | None = None,
        error: str | None = None,
        last_log: LogBatch | None = None,
    ) -> tuple[Run, Run | None]:
        """``finish_run`` and then ``next_run`` of the run's sweep for ``agent_id``: what an
        agent does between two runs, in one request over HTTP. Returns the ended run and the
        next one (None when the sweep hands out no more, or the run belongs to no sweep). An
        error ending the run claims nothing."""
        ...

    def log(
        self,
        run_id: str,
        seq: int,
        rows: Sequence[MetricRow],
        summary: Mapping[str, Any] | None = None,
    ) -> LogResult: ...
    def heartbeat(self, agent_id: str, run_ids: Sequence[str]) -> dict[str, str]:
        """Keep runs alive; returns run id -> stop reason for runs that must stop."""
        ...

    def history(
        self, run_id: str, *, keys: Sequence[str] | None = None, after_step: int | None = None
    ) -> list[MetricRow]: ...
    def close(self) -> None: ...

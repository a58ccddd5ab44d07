"""The store interface. The SQL implementation (SQLite, PostgreSQL) lives in ``store/sql``.

The store knows no algorithm: the controller hands :meth:`Store.claim_next` a ``propose``
callback which runs inside the store's transaction, so counting runs, checking ``run_cap`` and
grid identity, and inserting the new run are one atomic step even with many agents.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from opensweep.core.model import LogBatch, MetricRow, Run, RunState, Sweep, SweepState

Propose = Callable[[Sweep, Sequence[Run]], Run | None]
ChangeRun = Callable[[Run, Sweep | None], Mapping[str, Any] | None]


class Store(Protocol):
    url: str

    # sweeps
    def create_sweep(self, sweep: Sweep) -> None: ...
    def get_sweep(self, sweep_id: str) -> Sweep: ...  # NotFound
    def list_sweeps(self, project: str | None = None) -> list[Sweep]: ...
    def update_sweep_state(
        self, sweep_id: str, state: SweepState, *, allowed_from: Iterable[SweepState], now: float
    ) -> Sweep: ...  # Conflict when the current state is not in allowed_from

    # runs
    def claim_next(self, sweep_id: str, propose: Propose, *, skip: int = 0) -> Run | None:
        """Atomically: lock the sweep, read its runs, ``propose(sweep, runs)``, insert the result.

        ``runs`` are the sweep's runs in creation order from position ``skip`` on: a caller
        that remembers the first ``skip`` runs (they never go away, and runs are only added
        under the sweep's lock) reads only the new ones, so a claim costs the same at run 5,000
        as at run 100. Returns the inserted run, or None when ``propose`` returned None.
        """
        ...

    def create_run(self, run: Run) -> None: ...  # a plain run outside a sweep
    def get_run(self, run_id: str) -> Run: ...  # NotFound
    def list_runs(
        self,
        sweep_id: str,
        *,
        states: Iterable[RunState] | None = None,
        updated_after: float | None = None,
    ) -> list[Run]: ...  # creation order
    def list_plain_runs(
        self, states: Iterable[RunState] | None = None, *, project: str | None = None
    ) -> list[Run]:
        """Runs outside any sweep (``create_run``), in creation order; only those in ``states``
        and of ``project`` when given (the controller reaps the running ones whose process
        died)."""
        ...

    def count_runs(self, sweep_id: str, *, states: Iterable[RunState] | None = None) -> int:
        """How many runs the sweep has (in ``states``, when given); 0 for an unknown sweep."""
        ...

    def update_run(self, run_id: str, changes: Mapping[str, Any]) -> Run:
        """Change fields of a running run. Conflict if the run is already terminal."""
        ...

    def change_run(
        self, run_id: str, change: ChangeRun, *, log: LogBatch | None = None
    ) -> tuple[Run, Sweep | None]:
        """Atomically: lock the run, read its sweep, ``change(run, sweep)``, apply the changes.

        Returns the run after the change and the sweep as read. ``change`` returning None (or
        nothing to change) changes nothing; it may raise to refuse. Changes to a terminal run
        are a Conflict, as in :meth:`update_run`.

        ``log``, when given, is applied first in the same transaction, as
        :meth:`append_history` applies a batch (once by its number; Conflict for a new batch
        on a terminal run), and ``change`` sees the run after it: a run's last rows and its end
        in one write. ``updated_at`` is the change's to set.
        """
        ...

    def annotate_run(self, run_id: str, notes: str, *, now: float) -> Run:
        """Replace a run's ``notes`` and set ``updated_at``, even on a terminal run (a note is
        not a state change: e.g. marking a crashed run as requeued). The run's sweep gets a
        strictly later ``updated_at`` too, so a caller of ``claim_next(skip=...)`` knows to read
        the sweep's runs again. NotFound for unknown ids."""
        ...

    def heartbeat(self, run_ids: Sequence[str], now: float) -> None: ...

    # metrics
    def append_history(
        self,
        run_id: str,
        seq: int,
        rows: Sequence[MetricRow],
        summary: Mapping[str, Any],
        *,
        now: float | None = None,
    ) -> Run | None:
        """Apply one log batch once; returns the run after it, or None (and no change) when
        ``seq <= run.last_seq`` (a retried batch).

        The summary update is merged into the run's summary in the same transaction; ``now``,
        when given, becomes the run's ``updated_at`` (so ``list_runs(updated_after=)`` sees it).
        NotFound for an unknown run; Conflict when a new batch arrives for a terminal run.
        """
        ...

    def history(
        self, run_id: str, *, keys: Sequence[str] | None = None, after_step: int | None = None
    ) -> list[MetricRow]: ...

    def metric_series(self, sweep_id: str, metric: str) -> dict[str, list[Any]]:
        """run id -> the metric's values in log order, for every run of the sweep (one query)."""
        ...

    def close(self) -> None: ...

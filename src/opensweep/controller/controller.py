"""The controller: the only writer of state.

It turns the verbs of the :class:`~opensweep.client.base.Client` protocol into store changes:
sweeps are created from a validated config, runs are claimed atomically with a suggestion from
the sweep's search method, logged metrics feed the early-termination scheduler on every flush,
and runs whose agent stopped beating are reaped as ``crashed``. Time comes from an injected
:class:`~opensweep.controller.clock.Clock`, so tests move time instead of sleeping.

Decisions the issues leave open (documented here, pinned by ``tests/controller``):

- ``finish_run`` on a run that already ended with the state this call would give it returns the
  run unchanged (a retried call is harmless); any other final state is a ``Conflict``.
- Order of the final state: an explicit ``state`` wins; else a run of a canceled sweep ends
  ``killed``; else a run with a stop request ends ``stopped`` (whatever its exit code: SIGTERM
  gives a non-zero one); else exit code 0 (or none: the function returned) is ``finished`` and
  any other ``failed``.
- A retried log batch (``seq`` already applied) is answered ``applied=False`` even after the run
  ended; a new batch for an ended run is a ``Conflict``.
- A log batch, like a heartbeat, is a sign of life: reaping looks at the latest of
  ``heartbeat_at`` and ``updated_at``. Heartbeats do not move ``updated_at`` (it is the cursor
  of "what changed", and a heartbeat changes nothing a reader shows).
- Reaping happens on the controller's own verbs (``next_run``, ``heartbeat``, ``get_sweep``,
  ``list_runs``, ``get_run``), at most every ``heartbeat_timeout / 4`` seconds per sweep, plus
  ``reap()`` for a server's periodic sweep over everything.
- ``rerun_crashed`` marks crashed runs as *requeued*: they keep their state, history and a note
  saying so, but no longer occupy their grid point or count for ``run_cap``; the search method
  then hands the point out again (grid in its usual order). A finished sweep is reopened.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
import operator
import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from opensweep.client.base import LogResult, SweepAction
from opensweep.config import parse
from opensweep.config.spec import SweepSpec
from opensweep.controller.clock import Clock, SystemClock
from opensweep.controller.names import new_id, random_name, run_name
from opensweep.core.encoding import as_metric
from opensweep.core.history import Trial
from opensweep.core.metrics import MetricUnavailable, extremum
from opensweep.core.model import (
    SWEEP_ACTIONS,
    LogBatch,
    MetricRow,
    Run,
    RunState,
    Sweep,
    SweepState,
    run_state_from_exit,
)
from opensweep.core.space import get_path, set_path
from opensweep.errors import ConfigError, Conflict, InvalidRequest, NotFound, OpenSweepError
from opensweep.schedulers.registry import SCHEDULER_NAMES, get_scheduler
from opensweep.search.registry import METHOD_NAMES, get_method
from opensweep.store.base import Store

CANCELED_REASON = "sweep canceled"
REQUEUED_NOTE = "requeued by rerun-crashed: its grid point is handed out again"

# Methods whose suggestions do not depend on metric values: next_run skips reading them.
_METRIC_BLIND_METHODS = frozenset({"grid", "random"})
_SEED_MASK = (1 << 63) - 1  # run seeds fit a signed 64-bit column
_ABSENT: Any = object()
_ID_ATTEMPTS = 3  # an 8-character id collides about once in 1e12 draws: retrying is enough


@runtime_checkable
class AnnotatingStore(Protocol):
    """A store that can add a note to a run that already ended (needed by ``rerun_crashed``)."""

    def annotate_run(self, run_id: str, notes: str, *, now: float) -> Run: ...


class Controller:
    """Every verb of the Client protocol over a :class:`~opensweep.store.base.Store`."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock | None = None,
        heartbeat_timeout: float = 60.0,
    ) -> None:
        if not heartbeat_timeout > 0:
            raise InvalidRequest(f"heartbeat_timeout must be > 0 (got {heartbeat_timeout})")
        self.store = store
        self.url: str = store.url
        self.clock: Clock = clock or SystemClock()
        self.heartbeat_timeout = float(heartbeat_timeout)
        self._specs: dict[str, SweepSpec] = {}  # configs never change: parse each once
        self._trial_cache = TrialCache()
        self._ledgers: dict[str, RunLedger] = {}
        self._reaped_at: dict[str, float] = {}
        self._settle_checked: dict[str, int] = {}  # sweep id -> its number of runs then

    def __enter__(self) -> Controller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.store.close()

    # ------------------------------------------------------------------ sweeps
    def create_sweep(
        self,
        config: Mapping[str, Any],
        *,
        project: str | None = None,
        entity: str | None = None,
        name: str | None = None,
    ) -> Sweep:
        if not isinstance(config, Mapping):
            raise ConfigError(
                "invalid sweep config",
                violations=[("", f"must be a mapping (got {type(config).__name__})")],
            )
        spec = parse(config)
        _check_registries(spec)
        seed = spec.seed if spec.seed is not None else secrets.randbelow(2**31)
        now = self.clock.now()
        for attempt in range(_ID_ATTEMPTS):
            sweep_id = new_id()
            sweep = Sweep(
                id=sweep_id,
                name=name or spec.name or sweep_id,
                config=dict(config),
                state=SweepState.RUNNING,
                seed=int(seed),
                created_at=now,
                updated_at=now,
                project=project or spec.project,
                entity=entity or spec.entity,
            )
            try:
                self.store.create_sweep(sweep)
                break
            except Conflict:
                if attempt == _ID_ATTEMPTS - 1:
                    raise
        # The stored form, as every other process sees it (and parses it: grid identity must
        # not depend on which process built the spec).
        return self.store.get_sweep(sweep.id)

    def get_sweep(self, sweep_id: str) -> Sweep:
        sweep = self.store.get_sweep(sweep_id)
        if self._reap_sweep(sweep_id):
            sweep = self.store.get_sweep(sweep_id)  # reaping may have finished it
        return sweep

    def list_sweeps(self, project: str | None = None) -> list[Sweep]:
        return self.store.list_sweeps(project)

    def set_sweep_state(self, sweep_id: str, action: SweepAction) -> Sweep:
        if action not in SWEEP_ACTIONS:
            raise InvalidRequest(
                f"unknown sweep action {action!r}: use one of {', '.join(SWEEP_ACTIONS)}",
                details={"action": action},
            )
        allowed_from, target = SWEEP_ACTIONS[action]
        # The store checks the current state under its lock and words a refusal like W&B
        # ("Cannot pause finished sweep.", "Sweep already canceled.").
        sweep = self.store.update_sweep_state(
            sweep_id, target, allowed_from=allowed_from, now=self.clock.now()
        )
        if target is SweepState.CANCELED:
            self._request_stop(
                self.store.list_runs(sweep_id, states=[RunState.RUNNING]), CANCELED_REASON
            )
        elif target is SweepState.RUNNING:
            self._settle_sweep(sweep)  # resuming a sweep with nothing left finishes it
            sweep = self.store.get_sweep(sweep_id)
        return sweep

    def rerun_crashed(self, sweep_id: str) -> int:
        """Hand out the places of the sweep's crashed runs again; returns how many.

        Each crashed run stays (state, history) with a note that it was requeued; it no longer
        occupies its grid point nor counts for ``run_cap``. A finished sweep is reopened.
        """
        sweep = self.store.get_sweep(sweep_id)
        if sweep.state is SweepState.CANCELED:
            raise Conflict(
                "Sweep already canceled.", details={"sweep_id": sweep_id, "state": "canceled"}
            )
        store = self.store
        if not isinstance(store, AnnotatingStore):
            raise OpenSweepError(f"the store at {self.url} cannot requeue runs")
        crashed = [
            r
            for r in self.store.list_runs(sweep_id, states=[RunState.CRASHED])
            if not is_requeued(r)
        ]
        now = self.clock.now()
        for run in crashed:
            notes = f"{run.notes}\n{REQUEUED_NOTE}" if run.notes else REQUEUED_NOTE
            store.annotate_run(run.id, notes, now=now)
        if crashed and sweep.state is SweepState.FINISHED:
            # changed meanwhile (paused, canceled)? leave it as the user set it
            with contextlib.suppress(Conflict):
                self.store.update_sweep_state(
                    sweep_id, SweepState.RUNNING, allowed_from=[SweepState.FINISHED], now=now
                )
            self._settle_sweep(self.store.get_sweep(sweep_id))
        return len(crashed)

    # ------------------------------------------------------------------ runs
    def next_run(self, sweep_id: str, agent_id: str) -> Run | None:
        self._reap_sweep(sweep_id)
        spec = self._specs.get(sweep_id)
        if spec is None or not _is_metric_blind(spec):
            # Read the sweep first: its config, and the metric values (outside the sweep lock).
            sweep = self.store.get_sweep(sweep_id)
            if sweep.state is not SweepState.RUNNING:
                return None
            spec = self._spec(sweep)
        # A method blind to metric values needs only the configs of the runs so far: keep them
        # in a ledger and read only the runs created since, in the claim's one transaction (a
        # claim must not cost more at run 5,000 than at run 100). Any other method reads every
        # run's current state and metric.
        blind = _is_metric_blind(spec)
        series = None if blind else self._series(sweep_id, spec, for_search=True)
        attempt = 0
        while True:
            ledger = self._ledgers.setdefault(sweep_id, RunLedger()) if blind else None
            claim = _Claim(spec, agent_id, self.clock, ledger, series, self._trial_cache)
            try:
                run = self.store.claim_next(sweep_id, claim.propose, skip=claim.skip)
                break
            except _StaleLedger:  # old runs changed (a requeue): read them all once
                self._ledgers[sweep_id] = RunLedger()
            except Conflict:  # the rare run id collision: draw again
                attempt += 1
                if attempt == _ID_ATTEMPTS:
                    raise
        if run is None and claim.why_none not in (None, "not running"):
            assert claim.sweep is not None  # propose saw the sweep and said why
            self._settle_sweep(claim.sweep, done=True)
        if run is not None and ledger is not None:
            ledger.extend([run], start=claim.index, marker=ledger.marker)  # committed: no re-read
        return run

    def start_run(
        self,
        *,
        project: str | None = None,
        entity: str | None = None,
        name: str | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> Run:
        now = self.clock.now()
        run = Run(
            id=new_id(),
            name=name or random_name(),
            config=dict(config or {}),
            state=RunState.RUNNING,
            created_at=now,
            updated_at=now,
            project=project,
            entity=entity,
            heartbeat_at=now,
            seed=secrets.randbelow(2**31),
        )
        self.store.create_run(run)
        return self.store.get_run(run.id)

    def get_run(self, run_id: str) -> Run:
        run = self.store.get_run(run_id)
        now = self.clock.now()
        if self._is_stale(run, now):
            if run.sweep_id is not None:
                self._reap_sweep(run.sweep_id, force=True)
            else:
                self._crash_stale([run], now)
            run = self.store.get_run(run_id)
        return run

    def update_config(self, run_id: str, config: Mapping[str, Any]) -> Run:
        if not isinstance(config, Mapping) or not all(isinstance(k, str) for k in config):
            raise InvalidRequest("config must be a mapping with string keys")
        now = self.clock.now()

        def change(run: Run, sweep: Sweep | None) -> dict[str, Any] | None:
            if run.state.is_terminal:
                raise Conflict(
                    f"run {run.id!r} is already {run.state.value}; its config cannot change",
                    details={"run_id": run.id, "state": run.state.value},
                )
            merged = copy.deepcopy({**run.config, **config})
            if sweep is not None:  # the sweep's choices stand (the SDK warns the user)
                for param in self._spec(sweep).space.params:
                    chosen = get_path(run.config, param.path, _ABSENT)
                    if chosen is not _ABSENT:
                        set_path(merged, param.path, chosen)
            if merged == run.config:
                return None
            return {"config": merged, "updated_at": now}

        run, _ = self.store.change_run(run_id, change)
        return run

    def list_runs(self, sweep_id: str, *, updated_after: float | None = None) -> list[Run]:
        self.store.get_sweep(sweep_id)  # NotFound for an unknown sweep, not an empty list
        self._reap_sweep(sweep_id)
        return self.store.list_runs(sweep_id, updated_after=updated_after)

    def list_plain_runs(self, project: str | None = None) -> list[Run]:
        now = self.clock.now()
        self._crash_stale(self.store.list_plain_runs([RunState.RUNNING], project=project), now)
        return self.store.list_plain_runs(project=project)

    def finish_run(
        self,
        run_id: str,
        *,
        state: RunState | None = None,
        exit_code: int | None = None,
        error: str | None = None,
        last_log: LogBatch | None = None,
    ) -> Run:
        run, sweep = self._end_run(run_id, state, exit_code, error, last_log)
        if sweep is not None:
            self._settle_sweep(sweep)
        return run

    def _end_run(
        self,
        run_id: str,
        state: RunState | None,
        exit_code: int | None,
        error: str | None,
        last_log: LogBatch | None,
    ) -> tuple[Run, Sweep | None]:
        if state is not None:
            state = _terminal_state(state)
        if last_log is not None:
            last_log = dataclasses.replace(last_log, seq=_sequence_number(last_log.seq))
        now = self.clock.now()

        def change(run: Run, sweep: Sweep | None) -> dict[str, Any] | None:
            final = _final_state(run, sweep, state, exit_code)
            if run.state.is_terminal:
                _same_end_or_conflict(run, final)  # a retried finish: nothing to do
                return None
            changes: dict[str, Any] = {"state": final, "finished_at": now, "updated_at": now}
            if exit_code is not None:
                changes["exit_code"] = int(exit_code)
            if error is not None:
                changes["error"] = str(error)
            return changes

        return self.store.change_run(run_id, change, log=last_log)

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
        ended, sweep = self._end_run(run_id, state, exit_code, error, last_log)
        if sweep is None:
            return ended, None
        try:
            # No settling after the end, unlike finish_run: a claim that finds nothing to hand
            # out settles the sweep itself, and one that hands out a run leaves it running.
            return ended, self.next_run(sweep.id, agent_id)
        except BaseException:
            self._settle_sweep(sweep)  # the run ended all the same
            raise

    def log(
        self,
        run_id: str,
        seq: int,
        rows: Sequence[MetricRow],
        summary: Mapping[str, Any] | None = None,
    ) -> LogResult:
        seq = _sequence_number(seq)
        now = self.clock.now()
        # Raises Conflict for a new batch on an ended run; a retried batch returns None.
        after = self.store.append_history(run_id, seq, rows, summary or {}, now=now)
        applied = after is not None
        run = after if after is not None else self.store.get_run(run_id)
        stop_reason = run.stop_reason
        if (
            applied
            and run.sweep_id is not None
            and run.state is RunState.RUNNING
            and stop_reason is None
        ):
            stop_reason = self._early_terminate(run.sweep_id, run_id, rows)
        return LogResult(applied=applied, stop_reason=stop_reason)

    def heartbeat(self, agent_id: str, run_ids: Sequence[str]) -> dict[str, str]:
        ids = list(dict.fromkeys(run_ids))
        now = self.clock.now()
        self.store.heartbeat(ids, now)
        stops: dict[str, str] = {}
        sweep_states: dict[str, SweepState] = {}
        for run_id in ids:
            try:
                run = self.store.get_run(run_id)
            except NotFound:
                stops[run_id] = "run not found"
                continue
            if run.state.is_terminal:
                stops[run_id] = f"run already {run.state.value}"
            elif run.stop_reason is not None:
                stops[run_id] = run.stop_reason
            elif run.sweep_id is not None:
                if run.sweep_id not in sweep_states:
                    sweep_states[run.sweep_id] = self.store.get_sweep(run.sweep_id).state
                if sweep_states[run.sweep_id] is SweepState.CANCELED:
                    stops[run_id] = CANCELED_REASON
        for sweep_id in sweep_states:
            self._reap_sweep(sweep_id)
        return stops

    def history(
        self, run_id: str, *, keys: Sequence[str] | None = None, after_step: int | None = None
    ) -> list[MetricRow]:
        return self.store.history(run_id, keys=keys, after_step=after_step)

    # ------------------------------------------------------------------ reaping
    def reap(self) -> list[Run]:
        """Mark ``crashed`` every running run whose agent has not been heard of for longer than
        ``heartbeat_timeout``; returns those runs.

        It also finishes a sweep left running with nothing to run and nothing left to hand out,
        which happens when the call that ended its last run did not get to settle it (a server
        killed between the two commits, or a settle that failed): no agent may ever come back
        to claim from it and notice.
        """
        crashed: list[Run] = []
        for sweep in self.store.list_sweeps():
            crashed.extend(self._reap_sweep(sweep.id, force=True))
            if sweep.state is SweepState.RUNNING:
                self._settle_forgotten(sweep)
        now = self.clock.now()
        crashed.extend(self._crash_stale(self.store.list_plain_runs([RunState.RUNNING]), now))
        return crashed

    def _reap_sweep(self, sweep_id: str, *, force: bool = False) -> list[Run]:
        now = self.clock.now()
        last = self._reaped_at.get(sweep_id)
        if not force and last is not None and now - last < self.heartbeat_timeout / 4:
            return []
        self._reaped_at[sweep_id] = now
        crashed = self._crash_stale(self.store.list_runs(sweep_id, states=[RunState.RUNNING]), now)
        if crashed:
            self._settle_sweep(self.store.get_sweep(sweep_id))
        return crashed

    def _crash_stale(self, runs: Iterable[Run], now: float) -> list[Run]:
        """End as ``crashed`` the runs not heard of for ``heartbeat_timeout`` (checked again
        under the run's lock: a beat that arrived meanwhile saves the run)."""

        crashed: list[Run] = []

        def crash(run: Run, sweep: Sweep | None) -> dict[str, Any] | None:
            if not self._is_stale(run, now):
                return None  # it beat, logged or ended meanwhile
            silent = now - _last_sign_of_life(run)
            gone = "its agent is gone" if run.sweep_id is not None else "its process is gone"
            return {
                "state": RunState.CRASHED,
                "finished_at": now,
                "updated_at": now,
                "error": (
                    f"no heartbeat for {silent:.0f} s (timeout {self.heartbeat_timeout:g} s): "
                    f"{gone}"
                ),
            }

        for run in runs:
            if self._is_stale(run, now):
                after, _ = self.store.change_run(run.id, crash)
                if after.state is RunState.CRASHED and after.finished_at == now:
                    crashed.append(after)  # crashed by this call, not earlier
        return crashed

    def _is_stale(self, run: Run, now: float) -> bool:
        return (
            run.state is RunState.RUNNING and now - _last_sign_of_life(run) > self.heartbeat_timeout
        )

    # ------------------------------------------------------------------ helpers
    def _spec(self, sweep: Sweep) -> SweepSpec:
        spec = self._specs.get(sweep.id)
        if spec is None:
            spec = self._specs[sweep.id] = parse(sweep.config)
        return spec

    def _series(
        self, sweep_id: str, spec: SweepSpec, *, for_search: bool = False
    ) -> dict[str, list[Any]] | None:
        """The sweep metric's values per run, read only when someone needs them."""
        if spec.metric is None:
            return None
        needed = spec.metric.target is not None or (
            for_search and spec.method not in _METRIC_BLIND_METHODS
        )
        return self.store.metric_series(sweep_id, spec.metric.name) if needed else None

    def _settle_forgotten(self, sweep: Sweep) -> None:
        """Settle ``sweep`` if nothing runs in it, once per number of runs: with nothing running
        and no new run, nothing that decides whether it ran out has changed."""
        if not _can_run_out(self._spec(sweep)):
            return
        if self.store.count_runs(sweep.id, states=[RunState.RUNNING]):
            return  # the end of those runs settles it
        total = self.store.count_runs(sweep.id)
        if self._settle_checked.get(sweep.id) != total:
            self._settle_checked[sweep.id] = total
            self._settle_sweep(sweep)

    def _settle_sweep(self, sweep: Sweep, *, done: bool = False) -> None:
        """Finish a running sweep that will hand out no more runs, once none is running.

        ``done`` says the caller already knows nothing more will be handed out. ``sweep`` may be
        a little stale: the state change is a compare-and-set on RUNNING.
        """
        if sweep.state is not SweepState.RUNNING:
            return
        spec = self._spec(sweep)
        if not done and not _can_run_out(spec):
            return  # a method that runs out by itself is noticed by next_run
        if self.store.count_runs(sweep.id, states=[RunState.RUNNING]):
            return
        if not done:
            if not self._exhausted(sweep, spec):
                return
            if self.store.count_runs(sweep.id, states=[RunState.RUNNING]):
                return  # claimed while we looked (the last grid point, say): it runs now
        # paused, stopped or canceled meanwhile? the user's word stands
        with contextlib.suppress(Conflict):
            self.store.update_sweep_state(
                sweep.id,
                SweepState.FINISHED,
                allowed_from=[SweepState.RUNNING],
                now=self.clock.now(),
            )

    def _exhausted(self, sweep: Sweep, spec: SweepSpec) -> bool:
        """Would ``next_run`` hand out nothing more? Cheap checks first: this runs after every
        finished run of a sweep with a ``run_cap``."""
        if spec.run_cap is not None:
            total = self.store.count_runs(sweep.id)
            if total >= spec.run_cap:
                # requeued runs do not count: only now is it worth reading the crashed ones
                crashed = self.store.list_runs(sweep.id, states=[RunState.CRASHED])
                if _cap_reason(spec, total - sum(map(is_requeued, crashed))) is not None:
                    return True
        series = self._series(sweep.id, spec)
        if series is not None:  # a metric.target
            finished = self.store.list_runs(sweep.id, states=[RunState.FINISHED])
            if _target_reason(spec, finished, series) is not None:
                return True
        if spec.method != "grid":
            return False
        runs = self.store.list_runs(sweep.id)
        trials = self._trial_cache.trials(spec, runs, series, skip_requeued=True)
        rng = np.random.default_rng([sweep.seed & _SEED_MASK, len(runs)])
        return not get_method(spec.method)(spec, trials, 1, rng)

    def _early_terminate(self, sweep_id: str, run_id: str, rows: Sequence[MetricRow]) -> str | None:
        """Run the sweep's scheduler now (on every flush that logged the metric)."""
        spec = self._specs.get(sweep_id) or self._spec(self.store.get_sweep(sweep_id))
        if spec.early_terminate is None or spec.metric is None:
            return None
        metric = spec.metric.name
        if not any(metric in row.values for row in rows):
            return None  # no new value: no threshold and no run's position can have moved
        scheduler = get_scheduler(spec.early_terminate.type)
        runs = self.store.list_runs(sweep_id)
        series = self.store.metric_series(sweep_id, metric)
        decisions = scheduler(spec, self._trial_cache.trials(spec, runs, series))
        by_id = {r.id: r for r in runs}
        stoppable = [
            by_id[d.run_id]
            for d in decisions
            if d.run_id in by_id
            and by_id[d.run_id].state is RunState.RUNNING
            and by_id[d.run_id].stop_reason is None
        ]
        reasons = {d.run_id: d.reason for d in decisions}
        mine: str | None = None
        now = self.clock.now()
        for run in stoppable:
            try:
                self.store.update_run(run.id, {"stop_reason": reasons[run.id], "updated_at": now})
            except Conflict:
                continue  # ended meanwhile
            if run.id == run_id:
                mine = reasons[run.id]
        return mine

    def _request_stop(self, runs: Iterable[Run], reason: str) -> None:
        now = self.clock.now()
        for run in runs:
            try:
                self.store.update_run(run.id, {"stop_reason": reason, "updated_at": now})
            except Conflict:
                continue  # ended meanwhile


# ---------------------------------------------------------------------- pure helpers
def is_requeued(run: Run) -> bool:
    """True for a crashed run whose place ``rerun_crashed`` handed out again."""
    return run.state is RunState.CRASHED and bool(run.notes) and REQUEUED_NOTE in (run.notes or "")


def _check_registries(spec: SweepSpec) -> None:
    """Names the config layer let through but this installation cannot run."""
    violations: list[tuple[str, str]] = []
    if spec.method not in METHOD_NAMES:
        violations.append(
            ("method", f"must be one of {', '.join(METHOD_NAMES)} (got {spec.method!r})")
        )
    if spec.early_terminate is not None:
        if spec.early_terminate.type not in SCHEDULER_NAMES:
            violations.append(
                (
                    "early_terminate.type",
                    f"must be one of {', '.join(SCHEDULER_NAMES)} "
                    f"(got {spec.early_terminate.type!r})",
                )
            )
        if spec.metric is None:
            violations.append(("metric", "early_terminate needs a metric to compare runs by"))
    if violations:
        raise ConfigError("invalid sweep config", violations=violations)
    if spec.early_terminate is not None:
        # Options the config table cannot express (asha: min_iter < max_iter) fail here, at
        # creation, rather than at the first log() of a run.
        get_scheduler(spec.early_terminate.type)(spec, [])


def _run_seed(sweep_seed: int, index: int) -> int:
    state = np.random.SeedSequence([sweep_seed & _SEED_MASK, index]).generate_state(2, np.uint64)
    return int(state[0]) & _SEED_MASK


def _metric_value(value: Any) -> float:
    number = as_metric(value)
    return math.nan if number is None else number


class _Claim:
    """One attempt of ``next_run``: the ``propose`` callback ``claim_next`` runs under the
    sweep's lock, and what it found out (why nothing was proposed, the sweep as locked)."""

    def __init__(
        self,
        spec: SweepSpec,
        agent_id: str,
        clock: Clock,
        ledger: RunLedger | None,
        series: Mapping[str, Sequence[Any]] | None,
        trial_cache: TrialCache,
    ) -> None:
        self.spec = spec
        self.clock = clock
        self.trial_cache = trial_cache
        self.agent_id = agent_id
        self.ledger = ledger
        self.series = series
        self.skip = ledger.size if ledger is not None else 0  # runs the ledger already holds
        self.why_none: str | None = None
        self.sweep: Sweep | None = None
        self.index = 0  # creation index of the proposed run

    def propose(self, locked: Sweep, runs: Sequence[Run]) -> Run | None:
        self.sweep = locked
        if locked.state is not SweepState.RUNNING:  # changed since we looked
            self.why_none = "not running"
            return None
        spec = self.spec
        if self.ledger is not None:
            if not self.ledger.extend(runs, start=self.skip, marker=locked.updated_at):
                raise _StaleLedger  # rolls the claim back; next_run retries with a new ledger
            index, trials = self.ledger.size, self.ledger.trials
            self.why_none = _cap_reason(spec, len(trials))
        else:
            index = len(runs)
            active = [r for r in runs if not is_requeued(r)]
            self.why_none = _cap_reason(spec, len(active)) or _target_reason(
                spec, active, self.series
            )
            trials = self.trial_cache.trials(spec, runs, self.series, skip_requeued=True)
        if self.why_none is not None:
            return None
        rng = np.random.default_rng([locked.seed & _SEED_MASK, index])
        suggestions = get_method(spec.method)(spec, trials, 1, rng)
        if not suggestions:
            self.why_none = "search space exhausted"
            return None
        suggestion = suggestions[0]
        self.index = index
        run_seed = _run_seed(locked.seed, index)
        now = self.clock.now()
        return Run(
            id=new_id(),
            name=run_name(run_seed, index + 1),
            config=dict(suggestion.params),
            state=RunState.RUNNING,
            created_at=now,
            sweep_id=locked.id,
            updated_at=now,
            project=locked.project,
            entity=locked.entity,
            agent_id=self.agent_id,
            heartbeat_at=now,
            notes=suggestion.note,
            seed=run_seed,
        )


class _StaleLedger(Exception):
    """Raised inside a claim whose ledger no longer matches the sweep (see RunLedger)."""


class RunLedger:
    """The runs of a sweep as a metric-blind search method (grid, random) sees them: their
    configs, in creation order, without the requeued ones.

    Kept up to date by reading only the runs created since: runs are never removed and are only
    added under the sweep's lock, so the first ``size`` runs stay the first ``size`` runs. The
    one change to old runs that matters here, a crashed run requeued by ``rerun_crashed``,
    moves the sweep's ``updated_at`` (the ledger's ``marker``): then the ledger is rebuilt.
    States in the trials are as first read (a metric-blind method does not look at them).
    """

    def __init__(self) -> None:
        self.marker: float | None = None  # the sweep's updated_at the runs were read at
        self.size = 0  # runs seen, requeued ones included (the next run's creation index)
        self.trials: list[Trial] = []

    def extend(self, runs: Sequence[Run], *, start: int, marker: float | None) -> bool:
        """Add ``runs``, the sweep's runs from creation index ``start`` on, read when the
        sweep's ``updated_at`` was ``marker``; False (and nothing added) if that is not this
        ledger's marker. Runs it already holds (another thread claimed meanwhile) are skipped."""
        if self.marker is not None and marker != self.marker:
            return False
        if start > self.size:
            raise ValueError(f"ledger holds {self.size} runs; cannot extend from {start}")
        self.marker = marker
        for run in runs[self.size - start :]:
            if not is_requeued(run):
                trial = Trial(
                    run_id=run.id, params=run.config, state=run.state, created_index=self.size
                )
                self.trials.append(trial)
            self.size += 1
        return True


class TrialCache:
    """Trials of ended runs, reused while the store hands back the same (unchanged) Run object.

    An ended run and its history never change, so rebuilding its Trial on every claim (which
    holds the sweep's lock) is wasted work that grows with the sweep: at 2,000 runs it was half
    the cost of a claim.
    """

    def __init__(self) -> None:
        self._by_run: dict[str, tuple[Run, bool, int, Trial]] = {}

    def trials(
        self,
        spec: SweepSpec,
        runs: Sequence[Run],
        series: Mapping[str, Sequence[Any]] | None,
        *,
        skip_requeued: bool = False,
    ) -> list[Trial]:
        metric = spec.metric.name if spec.metric is not None else None
        with_series = series is not None
        trials = []
        for index, run in enumerate(runs):
            if skip_requeued and is_requeued(run):
                continue
            cached = self._by_run.get(run.id)
            if cached is not None and cached[0] is run and cached[1:3] == (with_series, index):
                trials.append(cached[3])
                continue
            values = series.get(run.id, ()) if series is not None else ()
            trial = Trial(
                run_id=run.id,
                params=run.config,
                state=run.state,
                metric_history=tuple(_metric_value(v) for v in values),
                summary_metric=as_metric(run.summary.get(metric)) if metric else None,
                stop_requested=run.stop_requested,
                created_index=index,
            )
            if run.state.is_terminal:
                self._by_run[run.id] = (run, with_series, index, trial)
            trials.append(trial)
        return trials


def _can_run_out(spec: SweepSpec) -> bool:
    """Can the sweep run out of runs to hand out, whatever its method proposes?"""
    target = spec.metric.target if spec.metric is not None else None
    return spec.method == "grid" or spec.run_cap is not None or target is not None


def _best_metric(spec: SweepSpec, run: Run, values: Sequence[Any]) -> float | None:
    """W&B's metric extremum (history and summary, finite values only), or None."""
    if spec.metric is None:
        return None
    kind: Literal["min", "max"] = "min" if spec.metric.goal == "minimize" else "max"
    try:
        return extremum(values, run.summary.get(spec.metric.name), spec.metric.name, kind)
    except MetricUnavailable:
        return None


def _cap_reason(spec: SweepSpec, active: int) -> str | None:
    """Why the sweep hands out no more runs because of ``run_cap``, or None."""
    if spec.run_cap is not None and active >= spec.run_cap:
        return f"run_cap {spec.run_cap} reached"
    return None


def _target_reason(
    spec: SweepSpec, runs: Sequence[Run], series: Mapping[str, Sequence[Any]] | None
) -> str | None:
    """Why the sweep hands out no more runs because a finished run reached ``metric.target``."""
    metric = spec.metric
    if metric is not None and metric.target is not None and series is not None:
        for run in runs:
            if run.state is not RunState.FINISHED:
                continue
            best = _best_metric(spec, run, series.get(run.id, ()))
            if best is not None and not metric.better(metric.target, best):
                return f"metric.target {metric.target:g} reached by run {run.id}"
    return None


def _is_metric_blind(spec: SweepSpec) -> bool:
    """Claims for this sweep need no metric values (and so no current run states either)."""
    target = spec.metric.target if spec.metric is not None else None
    return spec.method in _METRIC_BLIND_METHODS and target is None


def _sequence_number(seq: Any) -> int:
    """A log batch's sequence number: an integer >= 0 (numpy integers welcome, bools not)."""
    try:
        number = operator.index(seq) if not isinstance(seq, bool) else -1
    except TypeError:
        number = -1
    if number < 0:
        raise InvalidRequest(f"seq must be an integer >= 0 (got {seq!r})")
    return number


def _last_sign_of_life(run: Run) -> float:
    return max(t for t in (run.heartbeat_at, run.updated_at, run.created_at) if t is not None)


def _terminal_state(state: RunState | str) -> RunState:
    try:
        parsed = RunState(state)
    except ValueError:
        raise InvalidRequest(
            f"unknown run state {state!r}: use one of "
            f"{', '.join(s.value for s in RunState if s.is_terminal)}",
            details={"state": str(state)},
        ) from None
    if not parsed.is_terminal:
        raise InvalidRequest("a run cannot be finished as 'running'", details={"state": "running"})
    return parsed


def _final_state(
    run: Run, sweep: Sweep | None, explicit: RunState | None, exit_code: int | None
) -> RunState:
    if explicit is not None:
        return explicit
    if sweep is not None and sweep.state is SweepState.CANCELED:
        return RunState.KILLED
    if run.stop_reason is not None:
        return RunState.STOPPED
    return RunState.FINISHED if exit_code is None else run_state_from_exit(exit_code)


def _same_end_or_conflict(run: Run, final: RunState) -> Run:
    if run.state is final:
        return run  # a retried finish: same outcome, nothing to do
    raise Conflict(
        f"run {run.id!r} is already {run.state.value}; it cannot end {final.value}",
        details={"run_id": run.id, "state": run.state.value, "requested": final.value},
    )

"""The SQL store (SQLite and PostgreSQL) behind the :class:`~opensweep.store.base.Store` protocol.

Every write is one transaction: ``BEGIN IMMEDIATE`` on SQLite (one writer at a time, waiting up to
the busy timeout), and ``SELECT ... FOR UPDATE`` on the row being changed on PostgreSQL (the sweep
row for :meth:`SQLStore.claim_next`, the run row for run changes); a log batch on PostgreSQL is a
single statement, its own transaction (``PG_APPEND_HISTORY``). No SQLAlchemy or driver exception
leaves this module: they become :class:`~opensweep.errors.StoreError`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from opensweep import errors
from opensweep.core.model import LogBatch, MetricRow, Run, RunState, Sweep, SweepState
from opensweep.store.base import ChangeRun, Propose
from opensweep.store.sql import codec, schema
from opensweep.store.sql import statements as q
from opensweep.store.sql.engine import (
    INTEGRITY_ERRORS,
    create_engine,
    dispose,
    normalize_url,
    read_tx,
    translate_db_errors,
    write_tx,
)
from opensweep.store.sql.tables import history, runs, sweeps

P = ParamSpec("P")
T = TypeVar("T")

_IN_CHUNK = 500  # ids per IN (...) list; far below SQLite's and PostgreSQL's parameter limits
_RUN_CACHE_LIMIT = 200_000  # decoded runs kept per store for claim_next (cleared when full)


# Verb used in messages for a sweep state change (W&B: "Cannot pause finished sweep.").
_VERB = {
    SweepState.PAUSED: "pause",
    SweepState.RUNNING: "resume",
    SweepState.FINISHED: "stop",
    SweepState.CANCELED: "cancel",
}


def _guard(method: Callable[P, T]) -> Callable[P, T]:
    """Translate database errors into StoreError (our own errors pass through unchanged)."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        store = args[0]
        assert isinstance(store, SQLStore)
        with translate_db_errors(store.url):
            return method(*args, **kwargs)

    return wrapper


class SQLStore:
    """A :class:`~opensweep.store.base.Store` on SQLite or PostgreSQL."""

    def __init__(self, url: str, *, engine: Engine | None = None) -> None:
        self.url = normalize_url(url)
        self._engine = engine if engine is not None else create_engine(self.url)
        self.dialect = self._engine.dialect.name
        self._run_cache: dict[int, tuple[int, Run]] = {}
        self._cursors = SweepCursors()
        try:
            with translate_db_errors(self.url):
                schema.ensure_schema(self._engine, self.url)
        except BaseException:
            dispose(self._engine)
            raise

    def __repr__(self) -> str:
        return f"SQLStore({self._engine.url.render_as_string(hide_password=True)!r})"

    # ------------------------------------------------------------------ sweeps
    @_guard
    def create_sweep(self, sweep: Sweep) -> None:
        row = codec.sweep_to_row(sweep)
        with write_tx(self._engine) as conn:
            exists = conn.execute(q.SWEEP_EXISTS, {"sweep_id": sweep.id}).first()
            if exists is not None:
                raise errors.Conflict(
                    f"sweep {sweep.id!r} already exists", details={"sweep_id": sweep.id}
                )
            conn.execute(sweeps.insert(), row)

    @_guard
    def get_sweep(self, sweep_id: str) -> Sweep:
        with read_tx(self._engine) as conn:
            return self._sweep(conn, sweep_id)

    @_guard
    def list_sweeps(self, project: str | None = None) -> list[Sweep]:
        query = sa.select(*q.SWEEP_COLUMNS).order_by(sweeps.c.created_at, sweeps.c.id)
        if project is not None:
            query = query.where(sweeps.c.project == project)
        with read_tx(self._engine) as conn:
            return [codec.sweep_from_row(r) for r in conn.execute(query)]

    @_guard
    def update_sweep_state(
        self,
        sweep_id: str,
        state: SweepState,
        *,
        allowed_from: Iterable[SweepState],
        now: float,
    ) -> Sweep:
        target = SweepState(state)
        allowed = {SweepState(s) for s in allowed_from}
        with write_tx(self._engine) as conn:
            current = self._sweep(conn, sweep_id, lock=True)
            if current.state not in allowed:
                raise errors.Conflict(
                    _state_change_message(current.state, target),
                    details={
                        "sweep_id": sweep_id,
                        "state": current.state.value,
                        "target": target.value,
                    },
                )
            conn.execute(
                sweeps.update()
                .where(sweeps.c.id == sweep_id)
                .values(state=target.value, updated_at=float(now))
            )
            return dataclasses.replace(current, state=target, updated_at=float(now))

    # ------------------------------------------------------------------ runs
    @_guard
    def claim_next(self, sweep_id: str, propose: Propose, *, skip: int = 0) -> Run | None:
        with write_tx(self._engine) as conn:
            sweep = self._sweep(conn, sweep_id, lock=True)
            if skip > 0:
                known = self._runs_after(conn, sweep_id, skip)
            else:
                known = self._runs_of_sweep(conn, sweep_id)
            run = propose(sweep, known)
            if run is None:
                return None
            if run.sweep_id is None:
                run = dataclasses.replace(run, sweep_id=sweep_id)
            elif run.sweep_id != sweep_id:
                raise errors.InvalidRequest(
                    f"propose returned run {run.id!r} of sweep {run.sweep_id!r}, "
                    f"not of sweep {sweep_id!r}"
                )
            pk = self._insert_run(conn, run)
        # committed: the new run is the sweep's (skip + len(known) + 1)-th
        self._cursors.advance(sweep_id, skip + len(known) + 1, pk)
        return run

    @_guard
    def create_run(self, run: Run) -> None:
        with write_tx(self._engine) as conn:
            if run.sweep_id is not None:
                self._sweep(conn, run.sweep_id, lock=True)
            self._insert_run(conn, run)

    @_guard
    def get_run(self, run_id: str) -> Run:
        with read_tx(self._engine) as conn:
            return codec.run_from_row(self._run_row(conn, run_id))

    @_guard
    def list_runs(
        self,
        sweep_id: str,
        *,
        states: Iterable[RunState] | None = None,
        updated_after: float | None = None,
    ) -> list[Run]:
        rows: Sequence[Any]
        if states is not None:
            wanted = _state_values(states)
            if not wanted:
                return []
            params: dict[str, Any] = {"sweep_id": sweep_id, "states": wanted}
            query = q.LIST_RUNS_IN
            if updated_after is not None:
                query, params["after"] = q.LIST_RUNS_IN_AFTER, float(updated_after)
            with read_tx(self._engine) as conn:
                rows = conn.execute(query, params).all()
        else:
            with read_tx(self._engine) as conn:
                if updated_after is None:
                    rows = q.LIST_RUNS.rows(conn, sweep_id=sweep_id)
                else:
                    rows = q.LIST_RUNS_AFTER.rows(
                        conn, sweep_id=sweep_id, after=float(updated_after)
                    )
        return [codec.run_from_row(row) for row in rows]

    @_guard
    def list_plain_runs(
        self, states: Iterable[RunState] | None = None, *, project: str | None = None
    ) -> list[Run]:
        query = sa.select(*q.RUN_COLUMNS).where(runs.c.sweep_id.is_(None))
        if states is not None:
            query = query.where(runs.c.state.in_(_state_values(states)))
        if project is not None:
            query = query.where(runs.c.project == project)
        with read_tx(self._engine) as conn:
            return [codec.run_from_row(r) for r in conn.execute(query.order_by(runs.c.pk))]

    @_guard
    def count_runs(self, sweep_id: str, *, states: Iterable[RunState] | None = None) -> int:
        if states is not None:
            wanted = _state_values(states)
            if not wanted:
                return 0
            with read_tx(self._engine) as conn:  # by the (sweep_id, state) index
                if len(wanted) == 1:  # "how many are running" after every finished run
                    return int(
                        q.COUNT_RUNS_IN_STATE.rows(conn, sweep_id=sweep_id, state=wanted[0])[0][0]
                    )
                params = {"sweep_id": sweep_id, "states": wanted}
                return int(conn.execute(q.COUNT_RUNS_IN, params).scalar_one())
        cursor = self._cursors.get(sweep_id)
        with read_tx(self._engine) as conn:
            if cursor is not None:  # count only the runs after the last one this store knows
                newer = q.PKS_AFTER_PK.rows(conn, sweep_id=sweep_id, pk=cursor[1])
                if newer:
                    self._cursors.advance(sweep_id, cursor[0] + len(newer), newer[-1][0])
                return cursor[0] + len(newer)
            count, last_pk = conn.execute(q.COUNT_AND_LAST_PK, {"sweep_id": sweep_id}).one()
        if last_pk is not None:
            self._cursors.advance(sweep_id, int(count), int(last_pk))
        return int(count)

    @_guard
    def update_run(self, run_id: str, changes: Mapping[str, Any]) -> Run:
        _check_run_changes(changes)
        with write_tx(self._engine) as conn:
            current = codec.run_from_row(self._run_row(conn, run_id, lock=True))
            return self._apply_run_changes(conn, current, changes)

    @_guard
    def change_run(
        self, run_id: str, change: ChangeRun, *, log: LogBatch | None = None
    ) -> tuple[Run, Sweep | None]:
        with write_tx(self._engine) as conn:
            row = q.RUN_AND_SWEEP_LOCKED.first(conn, run_id=run_id)
            if row is None:
                raise errors.NotFound(f"run {run_id!r} not found", details={"run_id": run_id})
            current = codec.run_from_row(row)
            sweep_row = row[len(codec.RUN_READ_COLUMNS) : -1]
            sweep = None if sweep_row[0] is None else codec.sweep_from_row(sweep_row)
            logged = None
            if log is not None:
                values = _history_params(log.rows)
                logged = self._apply_log(conn, current, row[-1], log.seq, values, log.summary or {})
            if logged:  # the change sees the run as the batch left it
                current = dataclasses.replace(current, **logged)
            changes = {**(logged or {}), **(change(current, sweep) or {})}
            if not changes:
                return current, sweep
            _check_run_changes(changes)
            return self._apply_run_changes(conn, current, changes), sweep

    @_guard
    def annotate_run(self, run_id: str, notes: str, *, now: float) -> Run:
        with write_tx(self._engine) as conn:
            pk, sweep_id = self._run_row(conn, run_id, lock=True, columns=("pk", "sweep_id"))
            changes = {"notes": str(notes), "updated_at": float(now)}
            q.update_run("pk", tuple(changes)).run(conn, **q.run_update_params(pk, changes))
            if sweep_id is not None:
                # A note can change what a claim sees of old runs (a requeued grid point is
                # free again): readers that keep a sweep's runs notice it by the sweep's
                # updated_at (see claim_next's ``skip``), so it moves, even if the clock did not.
                later = sa.case(
                    (sweeps.c.updated_at < float(now), float(now)),
                    else_=sweeps.c.updated_at + 1e-6,
                )
                conn.execute(
                    sweeps.update().where(sweeps.c.id == sweep_id).values(updated_at=later)
                )
            return codec.run_from_row(self._run_row(conn, run_id))

    @_guard
    def heartbeat(self, run_ids: Sequence[str], now: float) -> None:
        ids = list(dict.fromkeys(run_ids))
        if not ids:
            return
        with write_tx(self._engine) as conn:
            for start in range(0, len(ids), _IN_CHUNK):
                conn.execute(
                    q.HEARTBEAT, {"ids": ids[start : start + _IN_CHUNK], "now": float(now)}
                )

    # ------------------------------------------------------------------ metrics
    @_guard
    def append_history(
        self,
        run_id: str,
        seq: int,
        rows: Sequence[MetricRow],
        summary: Mapping[str, Any],
        *,
        now: float | None = None,
    ) -> Run | None:
        """See :meth:`Store.append_history`; ``now`` (optional) also moves ``updated_at`` so a
        ``list_runs(updated_after=...)`` poller sees the new summary."""
        values = _history_params(rows)
        if self.dialect == "postgresql":
            taken = self._pg_append_history(run_id, seq, values, summary, now)
            if taken is not None:
                return taken
            # not taken: a retry, an ended or an unknown run; the transaction below says which
        with write_tx(self._engine) as conn:
            row = self._run_row(conn, run_id, lock=True, columns=q.RUN_COLUMNS_AND_PK)
            current = codec.run_from_row(row)
            pk = row[-1]
            after = self._apply_log(conn, current, pk, seq, values, summary)
            if after is None:
                return None  # already applied: a retry of a batch that got through
            if now is not None:
                after["updated_at"] = float(now)
            changes = {name: codec.run_column(name, value) for name, value in after.items()}
            q.update_run("pk", tuple(changes)).run(conn, **q.run_update_params(pk, changes))
            if summary:  # as a reader will see it (decoded from the stored JSON)
                after["summary"] = codec.loads(changes["summary"])
            return dataclasses.replace(current, **after)

    def _apply_log(
        self,
        conn: Connection,
        current: Run,
        pk: int,
        seq: int,
        values: list[tuple[Any, ...]],
        summary: Mapping[str, Any],
    ) -> dict[str, Any] | None:
        """Insert a log batch's values for the locked run ``current``; returns the run fields
        the batch changes (``last_seq``, ``summary``), or None when it was applied before."""
        if int(seq) <= current.last_seq:
            return None
        if current.state.is_terminal:
            raise errors.Conflict(
                f"run {current.id!r} is already {current.state.value}; it accepts no more metrics",
                details={"run_id": current.id, "state": current.state.value},
            )
        if values:
            self._insert_history(conn, pk, values)
        after: dict[str, Any] = {"last_seq": int(seq)}
        if summary:
            after["summary"] = codec.merged_summary(current.summary, summary)
        return after

    def _pg_append_history(
        self,
        run_id: str,
        seq: int,
        values: list[tuple[Any, ...]],
        summary: Mapping[str, Any],
        now: float | None,
    ) -> Run | None:
        """The common case on PostgreSQL in one round trip (see ``PG_APPEND_HISTORY``): the run
        after the batch, or None when the batch was not taken."""
        with read_tx(self._engine) as conn:  # autocommit: the statement is its own transaction
            row = q.PG_APPEND_HISTORY.first(
                conn,
                run_id=run_id,
                seq=int(seq),
                now=None if now is None else float(now),
                summary=codec.run_column("summary", summary) if summary else None,
                rows=_json_rows(values),
            )
        return None if row is None else codec.run_from_row(row)

    @_guard
    def history(
        self,
        run_id: str,
        *,
        keys: Sequence[str] | None = None,
        after_step: int | None = None,
    ) -> list[MetricRow]:
        with read_tx(self._engine) as conn:
            (pk,) = self._run_row(conn, run_id, columns=("pk",))
            query = (
                sa.select(
                    history.c.step, history.c.key, history.c.num, history.c.value, history.c.time
                )
                .where(history.c.run_pk == pk)
                .order_by(history.c.step, history.c.key)
            )
            if keys is not None:
                wanted = list(dict.fromkeys(str(k) for k in keys))
                if not wanted:
                    return []
                query = query.where(history.c.key.in_(wanted))
            if after_step is not None:
                query = query.where(history.c.step > int(after_step))
            result: list[MetricRow] = []
            step: int | None = None
            current: dict[str, Any] = {}
            time: float | None = None
            for r in conn.execute(query):
                if r.step != step:
                    if step is not None:
                        result.append(MetricRow(step=step, values=current, time=time))
                    step, current, time = int(r.step), {}, r.time
                current[r.key] = codec.decode_metric(r.num, r.value)
                if time is None:
                    time = r.time
            if step is not None:
                result.append(MetricRow(step=step, values=current, time=time))
            return result

    @_guard
    def metric_series(self, sweep_id: str, metric: str) -> dict[str, list[Any]]:
        # One query: every run of the sweep (outer join, so runs without the metric appear with
        # an empty list), each run's rows found through the history primary key.
        series: dict[str, list[Any]] = {}
        decode = codec.decode_metric
        with read_tx(self._engine) as conn:
            rows = q.METRIC_SERIES.rows(conn, sweep_id=sweep_id, metric=metric)
        for run_id, num, value, step in rows:
            values = series.setdefault(run_id, [])
            if step is not None:
                values.append(num if value is None else decode(num, value))
        return series

    def close(self) -> None:
        dispose(self._engine)

    # ------------------------------------------------------------------ helpers
    def _sweep(self, conn: Connection, sweep_id: str, *, lock: bool = False) -> Sweep:
        row = (q.RAW_SWEEP_LOCKED if lock else q.RAW_SWEEP).first(conn, sweep_id=sweep_id)
        if row is None:
            raise errors.NotFound(f"sweep {sweep_id!r} not found", details={"sweep_id": sweep_id})
        return codec.sweep_from_row(row)

    def _run_row(
        self,
        conn: Connection,
        run_id: str,
        *,
        lock: bool = False,
        columns: tuple[str, ...] = codec.RUN_READ_COLUMNS,
    ) -> Any:
        row = q.select_run(columns, lock).first(conn, run_id=run_id)
        if row is None:
            raise errors.NotFound(f"run {run_id!r} not found", details={"run_id": run_id})
        return row

    def _apply_run_changes(self, conn: Connection, current: Run, changes: Mapping[str, Any]) -> Run:
        if current.state.is_terminal:
            raise errors.Conflict(
                f"run {current.id!r} is already {current.state.value}; "
                "a finished run cannot change",
                details={"run_id": current.id, "state": current.state.value},
            )
        if not changes:
            return current
        try:
            values = {name: codec.run_column(name, changes[name]) for name in changes}
        except (TypeError, ValueError) as exc:
            raise errors.InvalidRequest(f"invalid run change: {exc}") from None
        params = q.run_update_params(current.id, values)
        if conn.dialect.update_returning:  # SQLite >= 3.35, PostgreSQL: one round trip
            (row,) = q.update_run("id", tuple(values), returning=True).rows(conn, **params)
        else:
            q.update_run("id", tuple(values)).run(conn, **params)
            row = self._run_row(conn, current.id)
        return codec.run_from_row(row)

    def _insert_run(self, conn: Connection, run: Run) -> int:
        """Insert a run; returns its primary key."""
        # No look-up first (a round trip on every claim): the unique id refuses a duplicate.
        # The failed statement ends the transaction on PostgreSQL; Conflict rolls it back.
        try:
            ((pk,),) = q.INSERT_RUN.rows(conn, **codec.run_to_row(run))
        except INTEGRITY_ERRORS:
            raise errors.Conflict(
                f"run {run.id!r} already exists", details={"run_id": run.id}
            ) from None
        return int(pk)

    def _runs_after(self, conn: Connection, sweep_id: str, skip: int) -> list[Run]:
        """The sweep's runs from creation index ``skip`` on."""
        cursor = self._cursors.get(sweep_id)
        if cursor is not None and cursor[0] == skip:
            rows = q.RUNS_AFTER_PK.rows(conn, sweep_id=sweep_id, pk=cursor[1])
        else:
            rows = q.RUNS_AFTER_OFFSET.rows(conn, **_after(sweep_id, skip))
        if rows:
            self._cursors.advance(sweep_id, skip + len(rows), rows[-1][-1])
        return [codec.run_from_row(row) for row in rows]

    def _runs_of_sweep(self, conn: Connection, sweep_id: str) -> list[Run]:
        """Every run of a sweep in creation order, decoding only rows changed since this store
        last read them (``version``): ``claim_next`` holds the sweep lock while it reads, so
        its cost must not grow with the decoding of thousands of unchanged runs."""
        index = q.RUN_INDEX.rows(conn, sweep_id=sweep_id)
        cache = self._run_cache
        if len(cache) + len(index) > _RUN_CACHE_LIMIT:
            cache.clear()
        stale = [pk for pk, version in index if (cache.get(pk) or (None,))[0] != version]
        if stale:
            query = sa.select(runs.c.pk, runs.c.version, *q.RUN_COLUMNS)
            if len(stale) * 2 > len(index):
                chunks = [query.where(runs.c.sweep_id == sweep_id)]
            else:
                chunks = [
                    query.where(runs.c.pk.in_(stale[i : i + _IN_CHUNK]))
                    for i in range(0, len(stale), _IN_CHUNK)
                ]
            for chunk in chunks:
                for row in conn.execute(chunk):
                    cache[row[0]] = (row[1], codec.run_from_row(row[2:]))
        if index:
            self._cursors.advance(sweep_id, len(index), index[-1][0])
        return [cache[pk][1] for pk, _ in index]

    def _insert_history(self, conn: Connection, run_pk: int, values: list[tuple[Any, ...]]) -> None:
        """Insert history values; a repeated (run, key, step) keeps the last value."""
        if self.dialect == "postgresql":
            conn.execute(q.PG_HISTORY_UPSERT, {"run_pk": run_pk, "rows": _json_rows(values)})
        else:  # SQLite: the driver's executemany on plain tuples (no per-row Python work)
            conn.exec_driver_sql(q.SQLITE_HISTORY_UPSERT, [(run_pk, *v) for v in values])


def _history_params(rows: Sequence[MetricRow]) -> list[tuple[Any, ...]]:
    """(key, step, num, value, time) for every value of every row; when a batch logs a key at
    the same step twice the last value wins (as across batches), once, since PostgreSQL refuses
    to upsert one row twice in a statement."""
    params: dict[tuple[str, int], tuple[Any, ...]] = {}
    encode = codec.encode_metric
    for row in rows:
        step = int(row.step)
        time = None if row.time is None else float(row.time)
        if time is not None and not math.isfinite(time):
            time = None  # as the HTTP API does: a NaN clock reading is no time
        for key, value in row.values.items():
            num, text = encode(value)
            params[(str(key), step)] = (str(key), step, num, text, time)
    return list(params.values())


def _json_rows(values: list[tuple[Any, ...]]) -> str:
    """History values as the JSON array ``PG_BATCH_ROWS`` unpacks (``_history_params`` keeps
    ``num`` and ``time`` finite or None)."""
    return json.dumps(values, separators=(",", ":"), allow_nan=False)


class SweepCursors:
    """Per sweep, a position this store has seen: (number of runs, primary key of the last).

    A sweep's runs are added only under its lock and never removed, so primary keys grow in
    creation order and a (count, pk) pair stays true: the runs after position ``count`` are
    exactly those with a greater pk. That turns "runs after position n" and "how many runs"
    into index seeks that cost the same at run 5,000 as at run 100.
    """

    def __init__(self) -> None:
        self._by_sweep: dict[str, tuple[int, int]] = {}

    def get(self, sweep_id: str) -> tuple[int, int] | None:
        return self._by_sweep.get(sweep_id)

    def advance(self, sweep_id: str, count: int, pk: int) -> None:
        known = self._by_sweep.get(sweep_id)
        if known is None or count > known[0]:  # a later fact; an earlier one stays true too
            self._by_sweep[sweep_id] = (count, int(pk))


def _check_run_changes(changes: Mapping[str, Any]) -> None:
    unknown = sorted(set(changes) - codec.RUN_FIELDS)
    if unknown or "id" in changes:
        raise errors.InvalidRequest(
            f"cannot change run field(s) {', '.join(unknown or ['id'])}",
            details={"fields": unknown or ["id"]},
        )


def _after(sweep_id: str, skip: int) -> dict[str, Any]:
    # LIMIT is required before OFFSET in SQLite; 2**62 stands for "no limit" on both back ends.
    return {"sweep_id": sweep_id, "skip": int(skip), "limit": 1 << 62}


def _state_values(states: Iterable[RunState]) -> list[str]:
    return sorted({RunState(s).value for s in states})


def _state_change_message(current: SweepState, target: SweepState) -> str:
    finished = (SweepState.FINISHED, SweepState.CANCELED)
    if target in finished and current in finished:
        return f"Sweep already {current.value}."
    return f"Cannot {_VERB[target]} {current.value} sweep."

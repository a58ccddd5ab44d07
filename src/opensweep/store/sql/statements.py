"""The SQL store's statements, built once.

Building a SQLAlchemy Core expression costs more than running it (a sweep lookup on SQLite:
230 us built per call, 75 us prebuilt), so every statement a trial runs is built here, with
bind parameters, when the module is imported; the hot ones are :class:`RawQuery` objects that
run on the driver cursor (see ``raw.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from opensweep.core.model import RunState
from opensweep.store.sql import codec
from opensweep.store.sql.raw import RawQuery
from opensweep.store.sql.tables import history, runs, sweeps

RUN_COLUMNS = tuple(runs.c[name] for name in codec.RUN_READ_COLUMNS)
RUN_COLUMNS_AND_PK = (*codec.RUN_READ_COLUMNS, "pk")  # decodes as a run; pk last
BUMP_VERSION = {"version": runs.c.version + 1}

# PostgreSQL: a batch's rows travel as one JSON array of [key, step, num, value, time] (built by
# the json module in C; psycopg dumps a Python list element by element, 3x the CPU for 1,000
# rows), unpacked by the server in one statement. A JSON number's text gives back the exact
# double (repr round-trips), a JSON null is NULL.
PG_BATCH_ROWS = (
    "SELECT e->>0, CAST(e->>1 AS bigint), CAST(e->>2 AS float8), e->>3, CAST(e->>4 AS float8)"
    " FROM json_array_elements(CAST(:rows AS json)) AS e"
)
PG_HISTORY_UPSERT = sa.text(
    "INSERT INTO history (run_pk, key, step, num, value, time) "
    f"SELECT CAST(:run_pk AS integer), batch.* FROM ({PG_BATCH_ROWS}) AS batch "
    "ON CONFLICT (run_pk, key, step) DO UPDATE "
    "SET num = excluded.num, value = excluded.value, time = excluded.time"
)
# PostgreSQL: a log batch as one statement, its own transaction (no BEGIN and COMMIT round
# trips, no lock held across round trips). The update takes the batch only from a running run
# with an older ``last_seq`` (it locks the row; a concurrent change is re-checked by PostgreSQL);
# the summary's top-level keys are merged as ``json`` (not ``jsonb``, which would rewrite numbers:
# 1e300 would come back as an integer), so every value keeps its exact text; the rows go in for
# the run the update returned. No row back: not taken (a retry, an ended or unknown run), and the
# caller finds out why in a transaction of its own.
_RUN_LIST = ", ".join(codec.RUN_READ_COLUMNS)
PG_APPEND_HISTORY = RawQuery(
    sa.text(
        "WITH updated AS ("
        " UPDATE runs SET last_seq = :seq, version = version + 1,"
        " updated_at = COALESCE(CAST(:now AS float8), updated_at),"
        " summary = CASE WHEN CAST(:summary AS text) IS NULL THEN summary ELSE ("
        "  SELECT COALESCE(json_object_agg(merged.key, merged.value), '{}')::text FROM ("
        "   SELECT kept.key, kept.value FROM json_each(CAST(runs.summary AS json)) AS kept"
        "   WHERE kept.key NOT IN (SELECT json_object_keys(CAST(:summary AS json)))"
        "   UNION ALL"
        "   SELECT given.key, given.value FROM json_each(CAST(:summary AS json)) AS given"
        "  ) AS merged) END"
        f" WHERE id = :run_id AND state = '{RunState.RUNNING.value}' AND last_seq < :seq"
        f" RETURNING {_RUN_LIST}, pk"
        "), inserted AS ("
        " INSERT INTO history (run_pk, key, step, num, value, time)"
        f" SELECT updated.pk, batch.* FROM updated, ({PG_BATCH_ROWS}) AS batch"
        " ON CONFLICT (run_pk, key, step) DO UPDATE"
        " SET num = excluded.num, value = excluded.value, time = excluded.time"
        f") SELECT {_RUN_LIST}, pk FROM updated"
    )
)
METRIC_SERIES = RawQuery(
    sa.select(runs.c.id, history.c.num, history.c.value, history.c.step)
    .select_from(
        runs.outerjoin(
            history,
            sa.and_(history.c.run_pk == runs.c.pk, history.c.key == sa.bindparam("metric")),
        )
    )
    .where(runs.c.sweep_id == sa.bindparam("sweep_id"))
    .order_by(runs.c.pk, history.c.step)
)
RUN_INDEX = RawQuery(
    sa.select(runs.c.pk, runs.c.version)
    .where(runs.c.sweep_id == sa.bindparam("sweep_id"))
    .order_by(runs.c.pk)
)
LIST_RUNS = RawQuery(
    sa.select(*RUN_COLUMNS).where(runs.c.sweep_id == sa.bindparam("sweep_id")).order_by(runs.c.pk)
)
LIST_RUNS_AFTER = RawQuery(
    sa.select(*RUN_COLUMNS)
    .where(runs.c.sweep_id == sa.bindparam("sweep_id"))
    .where(runs.c.updated_at > sa.bindparam("after"))
    .order_by(runs.c.pk)
)
# Runs of a sweep after a position: by primary key when this store knows the pk at that
# position (a SweepCursor), else by OFFSET (which steps over every earlier run in the index).
RUNS_AFTER_PK = RawQuery(
    sa.select(*RUN_COLUMNS, runs.c.pk)
    .where(runs.c.sweep_id == sa.bindparam("sweep_id"))
    .where(runs.c.pk > sa.bindparam("pk"))
    .order_by(runs.c.pk)
)
RUNS_AFTER_OFFSET = RawQuery(
    sa.select(*RUN_COLUMNS, runs.c.pk)
    .where(runs.c.sweep_id == sa.bindparam("sweep_id"))
    .order_by(runs.c.pk)
    .limit(sa.bindparam("limit"))
    .offset(sa.bindparam("skip"))
)
COUNT_AND_LAST_PK = sa.select(sa.func.count(), sa.func.max(runs.c.pk)).where(
    runs.c.sweep_id == sa.bindparam("sweep_id")
)
# The pks, not count(*): psycopg prepares a statement after 5 runs and PostgreSQL may then keep a
# generic plan made while the table was small; for count(*) that plan walked the (sweep_id,
# state) index and filtered on pk, every run of the sweep (69 us -> 1 ms per call by run 4,000).
# ORDER BY pk makes (sweep_id, pk) the index for any plan, as for RUNS_AFTER_PK.
PKS_AFTER_PK = RawQuery(
    sa.select(runs.c.pk)
    .where(runs.c.sweep_id == sa.bindparam("sweep_id"))
    .where(runs.c.pk > sa.bindparam("pk"))
    .order_by(runs.c.pk)
)
SWEEP_COLUMNS = tuple(sweeps.c[name] for name in codec.SWEEP_READ_COLUMNS)
SWEEP_BY_ID = sa.select(*SWEEP_COLUMNS).where(sweeps.c.id == sa.bindparam("sweep_id"))
RAW_SWEEP = RawQuery(SWEEP_BY_ID)
RAW_SWEEP_LOCKED = RawQuery(SWEEP_BY_ID.with_for_update())
# A run and its sweep, the run locked: what change_run decides on, in one round trip. (The
# sweep is not locked, as before; read here it may predate a wait for the run's lock.)
RUN_AND_SWEEP_LOCKED = RawQuery(
    sa.select(*RUN_COLUMNS, *SWEEP_COLUMNS, runs.c.pk)  # pk last: a log batch's history needs it
    .select_from(runs.outerjoin(sweeps, sweeps.c.id == runs.c.sweep_id))
    .where(runs.c.id == sa.bindparam("run_id"))
    .with_for_update(of=runs)
)
SWEEP_EXISTS = sa.select(sweeps.c.id).where(sweeps.c.id == sa.bindparam("sweep_id"))
INSERT_RUN = RawQuery(
    runs.insert()
    .values({name: sa.bindparam(name) for name in (*sorted(codec.RUN_FIELDS), "version")})
    .returning(runs.c.pk)
)
COUNT_RUNS = (
    sa.select(sa.func.count()).select_from(runs).where(runs.c.sweep_id == sa.bindparam("sweep_id"))
)
COUNT_RUNS_IN = COUNT_RUNS.where(runs.c.state.in_(sa.bindparam("states", expanding=True)))
COUNT_RUNS_IN_STATE = RawQuery(COUNT_RUNS.where(runs.c.state == sa.bindparam("state")))
LIST_RUNS_IN = (
    sa.select(*RUN_COLUMNS)
    .where(runs.c.sweep_id == sa.bindparam("sweep_id"))
    .where(runs.c.state.in_(sa.bindparam("states", expanding=True)))
    .order_by(runs.c.pk)
)
LIST_RUNS_IN_AFTER = LIST_RUNS_IN.where(runs.c.updated_at > sa.bindparam("after"))
HEARTBEAT = (
    runs.update()
    .where(runs.c.id.in_(sa.bindparam("ids", expanding=True)))
    .where(runs.c.state == RunState.RUNNING.value)
    .values(heartbeat_at=sa.bindparam("now"), **BUMP_VERSION)
)


@functools.cache
def select_run(columns: tuple[str, ...], lock: bool) -> RawQuery:
    query = sa.select(*(runs.c[name] for name in columns)).where(
        runs.c.id == sa.bindparam("run_id")
    )
    return RawQuery(query.with_for_update() if lock else query)


@functools.cache
def update_run(key: str, names: tuple[str, ...], returning: bool = False) -> RawQuery:
    """``UPDATE runs SET <names> = :v_<name>, version = version + 1 WHERE <key> = :key``
    (``RETURNING`` the run's columns when asked)."""
    values: dict[str, Any] = {name: sa.bindparam(f"v_{name}") for name in names}
    update = runs.update().where(runs.c[key] == sa.bindparam("key"))
    update = update.values(**values, **BUMP_VERSION)
    return RawQuery(update.returning(*RUN_COLUMNS) if returning else update)


def run_update_params(key: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    return {"key": key, **{f"v_{name}": value for name, value in values.items()}}


SQLITE_HISTORY_UPSERT = (
    "INSERT INTO history (run_pk, key, step, num, value, time) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (run_pk, key, step) DO UPDATE "
    "SET num = excluded.num, value = excluded.value, time = excluded.time"
)

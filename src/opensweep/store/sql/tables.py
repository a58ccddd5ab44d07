"""The SQL schema (SQLAlchemy Core), shared by SQLite and PostgreSQL.

History is stored long and narrow: one row per (run, key, step). Appending a batch is one
``executemany``; a sweep's metric series is one query on the primary key ``(run_pk, key, step)``
that reads only the rows of that metric (see ``benchmarks/store/RESULTS.md`` for the numbers
that chose this layout over one JSON row per ``log()`` call).

Finite numbers live in ``num`` (a double, exact for floats); every other value (ints, which must
come back as ints, NaN/±inf, strings, bools, dicts) is canonical JSON in ``value`` and ``num``
holds its numeric value when there is a finite one. SQLite turns a NaN double into NULL, so
non-finite values never go into a float column.

Changing this file needs a new migration in ``migrations/versions`` (a test compares the two).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

sweeps = sa.Table(
    "sweeps",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("project", sa.Text),
    sa.Column("entity", sa.Text),
    sa.Column("config", sa.Text, nullable=False),  # canonical JSON
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("seed", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Index("ix_sweeps_project", "project"),
)

runs = sa.Table(
    "runs",
    metadata,
    # Integer primary key: creation order, and a compact key for history rows.
    sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.Text, nullable=False, unique=True),
    sa.Column("sweep_id", sa.Text, sa.ForeignKey("sweeps.id", ondelete="CASCADE")),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("config", sa.Text, nullable=False),  # canonical JSON
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double),
    sa.Column("project", sa.Text),
    sa.Column("entity", sa.Text),
    sa.Column("agent_id", sa.Text),
    sa.Column("heartbeat_at", sa.Double),
    sa.Column("finished_at", sa.Double),
    sa.Column("exit_code", sa.Integer),
    sa.Column("stop_reason", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("notes", sa.Text),
    sa.Column("summary", sa.Text, nullable=False),  # canonical JSON
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("seed", sa.BigInteger, nullable=False),
    # Bumped by every UPDATE of the row: lets a process reuse runs it decoded before.
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Index("ix_runs_sweep_pk", "sweep_id", "pk"),
    sa.Index("ix_runs_sweep_updated", "sweep_id", "updated_at"),
    sa.Index("ix_runs_sweep_state", "sweep_id", "state"),
)

history = sa.Table(
    "history",
    metadata,
    sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("step", sa.BigInteger, primary_key=True),
    sa.Column("num", sa.Double),  # finite numeric value, else NULL
    sa.Column("value", sa.Text),  # canonical JSON unless the value is a finite float
    sa.Column("time", sa.Double),
    # Clustered on the primary key in SQLite: a metric's rows of one run are contiguous.
    sqlite_with_rowid=False,
)

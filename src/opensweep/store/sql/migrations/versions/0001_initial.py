"""Initial schema: sweeps, runs, history.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sweeps",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("project", sa.Text),
        sa.Column("entity", sa.Text),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("seed", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
    )
    op.create_index("ix_sweeps_project", "sweeps", ["project"])
    op.create_table(
        "runs",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.Text, nullable=False, unique=True),
        sa.Column("sweep_id", sa.Text, sa.ForeignKey("sweeps.id", ondelete="CASCADE")),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("config", sa.Text, nullable=False),
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
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("seed", sa.BigInteger, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_runs_sweep_pk", "runs", ["sweep_id", "pk"])
    op.create_index("ix_runs_sweep_updated", "runs", ["sweep_id", "updated_at"])
    op.create_table(
        "history",
        sa.Column(
            "run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("step", sa.BigInteger, primary_key=True),
        sa.Column("num", sa.Double),
        sa.Column("value", sa.Text),
        sa.Column("time", sa.Double),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("history")
    op.drop_table("runs")
    op.drop_table("sweeps")

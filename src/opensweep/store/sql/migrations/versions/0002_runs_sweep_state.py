"""Index runs by (sweep_id, state): "which runs of this sweep are running" is asked after every
finished run and by every reaping pass, and must not read the whole sweep.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_runs_sweep_state", "runs", ["sweep_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_runs_sweep_state", table_name="runs")

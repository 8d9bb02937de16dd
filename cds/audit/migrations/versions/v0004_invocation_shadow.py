"""invocation.shadow: the cards a call's shadow rule versions would have shown (JSON, nullable).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08

One nullable column, no default: existing rows (calls made before any service had shadow
versions) read as NULL, and nothing is rewritten. SQLite adds it with ALTER TABLE ADD COLUMN;
dropping it (downgrade) rebuilds the table in batch mode.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invocation") as batch:
        batch.add_column(sa.Column("shadow", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invocation") as batch:
        batch.drop_column("shadow")

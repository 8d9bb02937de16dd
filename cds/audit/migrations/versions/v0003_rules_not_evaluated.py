"""invocation.rules_not_evaluated: the rule versions a call did not run for want of data.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07

A JSON list, NULL when every pinned rule ran (and on every row written before): each item
`{"rule": id, "version": v, "missing": {prefetch key: why}}`, why being one of
`cds.errors.Unavailability` (unsupported, not-permitted, not-found, timeout, ...).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("invocation", sa.Column("rules_not_evaluated", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invocation") as batch:
        batch.drop_column("rules_not_evaluated")

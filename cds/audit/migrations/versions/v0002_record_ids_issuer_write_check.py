"""Invocation rows carry their own id (written once however often they are replayed) and the EHR
that called; a one-row table the readiness probe writes to.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07

Migrations are frozen history: they spell out their types instead of importing cds.audit.models
(which will keep changing).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    # NULL for the rows written before: a unique index allows any number of NULLs (PostgreSQL,
    # SQLite), and every row written from now on has an id.
    op.add_column("invocation", sa.Column("record_id", sa.String(36), nullable=True))
    op.create_index("ix_invocation_record_id", "invocation", ["record_id"], unique=True)
    op.add_column("invocation", sa.Column("ehr_issuer", sa.String(), nullable=True))
    write_check = op.create_table(
        "write_check",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("checked_at", UTC_TIME, nullable=True),
    )
    op.bulk_insert(write_check, [{"id": 1, "checked_at": None}])


def downgrade() -> None:
    op.drop_table("write_check")
    with op.batch_alter_table("invocation") as batch:
        batch.drop_column("ehr_issuer")
        batch.drop_index("ix_invocation_record_id")
        batch.drop_column("record_id")

"""Initial audit schema: invocation, issued_card, feedback.

Revision ID: 0001
Revises:
Create Date: 2026-11-21

Migrations are frozen history: they spell out their types instead of importing cds.audit.models
(which will keep changing).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "invocation",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("hook_instance", sa.String(64), nullable=False),
        sa.Column("service_id", sa.String(200), nullable=False),
        sa.Column("hook", sa.String(100), nullable=False),
        sa.Column("ruleset_release", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.String(), nullable=True),
        sa.Column("started_at", UTC_TIME, nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
    )
    op.create_index("ix_invocation_hook_instance", "invocation", ["hook_instance"])
    op.create_index("ix_invocation_started_at", "invocation", ["started_at"])

    op.create_table(
        "issued_card",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column(
            "invocation_id",
            BIG_ID,
            sa.ForeignKey("invocation.id", ondelete="CASCADE", name="fk_issued_card_invocation"),
            nullable=False,
        ),
        sa.Column("uuid", sa.String(200), nullable=False),
        sa.Column("rule_id", sa.String(100), nullable=False),
        sa.Column("rule_version", sa.String(32), nullable=False),
        sa.Column("indicator", sa.String(16), nullable=False),
        sa.UniqueConstraint("invocation_id", "uuid", name="uq_issued_card"),
    )
    op.create_index("ix_issued_card_invocation_id", "issued_card", ["invocation_id"])
    op.create_index("ix_issued_card_uuid", "issued_card", ["uuid"])

    op.create_table(
        "feedback",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("dedup_key", sa.String(64), nullable=False),
        sa.Column("service_id", sa.String(200), nullable=False),
        sa.Column("card_uuid", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("accepted_suggestions", sa.JSON(), nullable=False),
        sa.Column("override_system", sa.String(), nullable=True),
        sa.Column("override_code", sa.String(), nullable=True),
        sa.Column("override_display", sa.String(), nullable=True),
        sa.Column("user_comment", sa.Text(), nullable=True),
        sa.Column("outcome_at", UTC_TIME, nullable=False),
        sa.Column("received_at", UTC_TIME, nullable=False),
        sa.Column(
            "invocation_id",
            BIG_ID,
            sa.ForeignKey("invocation.id", ondelete="SET NULL", name="fk_feedback_invocation"),
            nullable=True,
        ),
        sa.UniqueConstraint("dedup_key", name="uq_feedback_dedup_key"),
    )
    op.create_index("ix_feedback_card_uuid", "feedback", ["card_uuid"])
    op.create_index("ix_feedback_invocation_id", "feedback", ["invocation_id"])
    op.create_index("ix_feedback_received_at", "feedback", ["received_at"])


def downgrade() -> None:
    op.drop_table("feedback")
    op.drop_table("issued_card")
    op.drop_table("invocation")

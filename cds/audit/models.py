"""The audit tables: one row per service call, its cards, and every distinct piece of feedback.

What is deliberately absent: the FHIR access token, the JWT, the prefetch and any demographics.
A card can be traced to the exact logic that produced it (rule id and version, ruleset release);
the patient only by the EHR's own id.

These classes describe the schema for queries; the schema itself is created and changed by the
Alembic migrations in `cds/audit/migrations/` (a test checks the two agree).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Column, Field, SQLModel

# SQLite's INTEGER PRIMARY KEY is its rowid (autoincrement); elsewhere a 64-bit id, since an
# audit trail only grows.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes in and out, on every database.

    PostgreSQL stores `timestamptz`; SQLite has no time zones, so the UTC wall time is stored and
    the zone put back on reading. A naive datetime is refused: its meaning would be a guess.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} cannot be stored (zone unknown)")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _id_column() -> Any:
    return Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))


def _invocation_fk(*, nullable: bool, ondelete: str, name: str) -> Any:
    return Field(
        default=None if nullable else ...,
        sa_column=Column(
            BigId,
            sa.ForeignKey("invocation.id", ondelete=ondelete, name=name),
            nullable=nullable,
            index=True,
        ),
    )


class InvocationRow(SQLModel, table=True):
    """One call of a CDS service (written after the response; never holds back the cards)."""

    __tablename__ = "invocation"

    id: int | None = _id_column()
    # Not unique: an EHR may retry a call with the same hookInstance, and every call is kept.
    hook_instance: str = Field(max_length=64, index=True)
    service_id: str = Field(max_length=200)
    hook: str = Field(max_length=100)
    ruleset_release: str = Field(max_length=64)
    patient_id: str | None = None  # the EHR's id only (unbounded: never lose a row to length)
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    duration_ms: float
    status: int
    # The row's own id (cds.audit.store.InvocationRecord.record_id): a row written again (the
    # spool replayed after a crash) is not inserted twice. NULL only for rows of schema 0001.
    record_id: str | None = Field(default=None, max_length=36, unique=True, index=True)
    # The EHR that called: its JWT `iss` (NULL when authentication is off).
    ehr_issuer: str | None = None
    # The pinned rule versions not run because data they need could not be had, with the keys
    # and why (`cds.audit.store.RuleNotEvaluated.to_json`); NULL when every rule ran.
    rules_not_evaluated: list[dict[str, Any]] | None = Field(
        default=None, sa_column=Column(sa.JSON(), nullable=True)
    )
    # The cards the service would have shown with its shadow versions in place, never shown
    # (cds.audit.store.ShadowRecord as JSON); NULL for a service without shadow versions.
    shadow: dict[str, Any] | None = Field(
        default=None, sa_column=Column(sa.JSON(none_as_null=True), nullable=True)
    )


class IssuedCardRow(SQLModel, table=True):
    """A card an invocation returned, with the exact rule version that made it."""

    __tablename__ = "issued_card"
    __table_args__ = (sa.UniqueConstraint("invocation_id", "uuid", name="uq_issued_card"),)

    id: int | None = _id_column()
    invocation_id: int = _invocation_fk(
        nullable=False, ondelete="CASCADE", name="fk_issued_card_invocation"
    )
    # Deterministic (uuid5 of hookInstance and rule@version): what feedback refers to.
    uuid: str = Field(max_length=200, index=True)
    rule_id: str = Field(max_length=100)
    rule_version: str = Field(max_length=32)
    indicator: str = Field(max_length=16)


class FeedbackRow(SQLModel, table=True):
    """One distinct piece of CDS Hooks feedback; the same item posted twice is one row."""

    __tablename__ = "feedback"
    __table_args__ = (sa.UniqueConstraint("dedup_key", name="uq_feedback_dedup_key"),)

    id: int | None = _id_column()
    # sha256 of cds.audit.store.feedback_key: bounded in size whatever the EHR sends, and the
    # unique constraint that makes concurrent duplicate posts store once.
    dedup_key: str = Field(max_length=64)
    service_id: str = Field(max_length=200)
    card_uuid: str = Field(max_length=200, index=True)
    outcome: str = Field(max_length=16)  # accepted | overridden
    accepted_suggestions: list[str] = Field(
        default_factory=list, sa_column=Column(sa.JSON(), nullable=False)
    )
    override_system: str | None = None
    override_code: str | None = None
    override_display: str | None = None
    user_comment: str | None = Field(default=None, sa_column=Column(sa.Text(), nullable=True))
    outcome_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    # The call that issued the card; NULL while unknown (the card's invocation row may be written
    # after the feedback arrives, or never, if that audit write failed). Filled in by whichever
    # of the two writes comes second.
    invocation_id: int | None = _invocation_fk(
        nullable=True, ondelete="SET NULL", name="fk_feedback_invocation"
    )


class WriteCheckRow(SQLModel, table=True):
    """One row, updated by every readiness probe: a write that commits is the proof that the
    audit can be written (a read would succeed on a read-only or deleted database file)."""

    __tablename__ = "write_check"

    id: int = Field(sa_column=Column(sa.Integer(), primary_key=True, autoincrement=False))
    checked_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


# The same tables for SQLAlchemy Core statements (typed; the store writes with Core).
invocation_table = SQLModel.metadata.tables[InvocationRow.__tablename__]
issued_card_table = SQLModel.metadata.tables[IssuedCardRow.__tablename__]
feedback_table = SQLModel.metadata.tables[FeedbackRow.__tablename__]
write_check_table = SQLModel.metadata.tables[WriteCheckRow.__tablename__]
# The audit's own rows (not write_check), parents first.
TABLES: tuple[sa.Table, ...] = (invocation_table, issued_card_table, feedback_table)

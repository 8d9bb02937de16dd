"""The audit store on a real database (SQLite or PostgreSQL), and its migrations.

`open_store(url)` is what the app uses; `upgrade(url)` is what `cds migrate` runs. The schema is
owned by the Alembic migrations packaged in `cds/audit/migrations/`, run with a configuration
built here (no alembic.ini is looked up, whatever the working directory).

Policies (docs design, "Audit policy"):
- an invocation that cannot be written raises; its caller (`cds.audit.writer.AuditWriter`, off
  the request path) keeps it in the spool and tries again while the database is unavailable
  (AuditDatabaseUnavailable), or counts and logs it as lost when the database refuses that row.
  Invocations are written in batches, one transaction each, each row once (its `record_id`);
- feedback that cannot be stored raises, so the EHR gets a 503 and can retry;
- the same feedback posted twice (even concurrently) is stored once: the unique `dedup_key` and
  INSERT ... ON CONFLICT DO NOTHING decide, never a check-then-insert.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import sqlalchemy.exc
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine

from cds.audit.connection import (
    DATABASE_FILE,
    file_identity,
    make_engine,
    operation_deadline,
    safe_url,
    sqlite_file,
)
from cds.audit.models import feedback_table, invocation_table, write_check_table
from cds.audit.models import issued_card_table as card_table
from cds.audit.store import FeedbackResult, InvocationRecord, feedback_key
from cds.cards import OVERRIDE_REASONS
from cds.cdshooks import FeedbackItem
from cds.errors import AuditDatabaseUnavailable, SchemaNotCurrent
from cds.metrics import count_audit_write_failure

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# CDS_DATABASE_TIMEOUT_SECONDS' default, for a store opened without settings (tests, tools).
DEFAULT_TIMEOUT_SECONDS = 5.0
VERSION_TABLE = "alembic_version"  # Alembic's default

# ---------------------------------------------------------------------------------------------
# Migrations


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, built in code. With a connection, migrations run on it."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(url: str | URL, revision: str = "head") -> None:
    """Create or upgrade the audit schema (idempotent: at head, nothing happens)."""
    engine = make_engine(url)
    try:
        # One transaction: on PostgreSQL the whole upgrade applies or none of it does.
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision)
    finally:
        engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The schema revision the database is at; None when never migrated.

    Read directly rather than through Alembic's MigrationContext, which logs a line each time
    it is set up (and readiness probes ask every few seconds). The history is linear: one row.
    """
    if not sa.inspect(connection).has_table(VERSION_TABLE):
        return None
    version = sa.table(VERSION_TABLE, sa.column("version_num", sa.String()))
    revision = connection.execute(sa.select(version.c.version_num)).scalar()
    return str(revision) if revision is not None else None


# ---------------------------------------------------------------------------------------------
# The store


def open_store(
    url: str | URL, *, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
) -> SqlAuditStore:
    """The store for CDS_DATABASE_URL. Never refuses to start: a database that is down or not
    migrated is logged loudly, and cards are served regardless (their audit rows wait in the
    spool until it is fixed); feedback gets 503 until it is."""
    store = SqlAuditStore(make_engine(url, timeout_seconds=timeout_seconds), timeout_seconds)
    store.check_schema()
    return store


class SqlAuditStore:
    """`cds.audit.store.AuditStore` on SQLAlchemy. Thread-safe: each call is one short
    transaction on a pooled connection (invocations are written in batches by the process's
    audit writer thread, feedback from the threadpool).

    Every call ends within `timeout_seconds` (CDS_DATABASE_TIMEOUT_SECONDS), whatever the
    database does (cds.audit.connection), and raises `AuditDatabaseUnavailable` when the
    database could not take or keep the write: down, hung, read-only, not migrated, or a SQLite
    file that is no longer the one at its path (deleted or replaced: what was committed went
    nowhere anyone reads). The connection is then dropped, so a later call starts afresh and
    the store recovers once the cause is fixed.
    """

    def __init__(self, engine: Engine, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.engine = engine
        self.timeout_seconds = timeout_seconds
        self.schema = head_revision()  # the schema this code writes
        # SQLite has one writer at a time. Queueing this process's writers on a lock (woken in
        # turn) instead of in SQLite's busy handler (polling with sleeps of up to 100 ms, in no
        # order) keeps a burst from starving a write past the busy timeout; the busy timeout
        # still covers other processes (workers, `cds migrate`).
        self._sqlite = engine.dialect.name == "sqlite"
        self._writing = threading.Lock()
        self._file = sqlite_file(engine.url) if self._sqlite else None

    def check_writable(self) -> None:
        """Write to the database and commit (readiness): raises unless the audit can be
        written, at this code's schema (SchemaNotCurrent), to the file at its path."""
        with self._transaction() as connection:
            current = current_revision(connection)
            if current != self.schema:
                raise SchemaNotCurrent(
                    f"audit database is at schema {current}, not {self.schema}: run `cds migrate`"
                )
            connection.execute(
                sa.update(write_check_table)
                .where(write_check_table.c.id == 1)
                .values(checked_at=datetime.now(UTC))
            )

    def check_schema(self) -> bool:
        """`check_writable`, logged instead of raised (start-up must not depend on the
        database)."""
        try:
            self.check_writable()
        except Exception as exc:
            log.error(
                "audit database %s is not usable (%s): invocation rows wait in the spool and "
                "feedback gets 503 until it is",
                safe_url(self.engine.url),
                exc,
            )
            return False
        return True

    def record_invocation(self, invocation: InvocationRecord) -> None:
        self.record_invocations([invocation])

    def record_invocations(self, invocations: Sequence[InvocationRecord]) -> None:
        """One transaction for all of them (group commit: one fsync). A row already written
        (same `record_id`) is not written again. Raises on failure, nothing written."""
        if not invocations:
            return
        with self._transaction() as connection:
            self._write_invocations(connection, invocations)

    def record_feedback(
        self, service_id: str, items: list[FeedbackItem], received_at: datetime
    ) -> FeedbackResult:
        if not items:
            return FeedbackResult(stored=0, duplicates=0)
        try:
            with self._transaction() as connection:
                stored = self._write_feedback(connection, service_id, items, received_at)
        except Exception:
            count_audit_write_failure("feedback")
            raise
        return FeedbackResult(stored=stored, duplicates=len(items) - stored)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """One transaction, committed when the block ends, within the timeout; the errors of an
        unusable database as AuditDatabaseUnavailable."""
        try:
            with operation_deadline(self.timeout_seconds):
                # SQLite: this process's writers queue here (see __init__), for a bounded time.
                if self._sqlite and not self._writing.acquire(timeout=self.timeout_seconds):
                    raise AuditDatabaseUnavailable(
                        f"another audit write held SQLite for {self.timeout_seconds:g} s"
                    )
                try:
                    with self.engine.connect() as connection:
                        try:
                            with connection.begin():
                                yield connection
                            self._check_file(connection)
                        except _UNUSABLE as exc:
                            connection.invalidate()  # a fresh connection next time
                            raise AuditDatabaseUnavailable(_short(exc)) from exc
                finally:
                    if self._sqlite:
                        self._writing.release()
        except _UNUSABLE as exc:  # could not even connect
            raise AuditDatabaseUnavailable(_short(exc)) from exc

    def _check_file(self, connection: Connection) -> None:
        """SQLite: the file just written to must still be the one at the database's path."""
        if self._file is None:
            return
        opened = connection.info.get(DATABASE_FILE)
        now = file_identity(self._file)
        if now is None or now != opened:
            gone = "was deleted" if now is None else "was replaced"
            raise DatabaseFileMoved(
                f"the audit database file {self._file} {gone} after this connection opened it: "
                "what it wrote is lost"
            )

    # -- writes ---------------------------------------------------------------------------------

    def _write_invocations(
        self, connection: Connection, invocations: Sequence[InvocationRecord]
    ) -> None:
        # Every card of the batch locked first, in one sorted order (as feedback writes take
        # theirs): the batch and a feedback write on one of its cards see each other.
        issued = {(i.service_id, card.uuid) for i in invocations for card in i.cards}
        _lock_cards(connection, issued)
        # A row submitted twice in one batch (the call's row, then the same row with what its
        # shadow versions would have shown) is one row: the first, with the shadow of either.
        invocations = _one_per_record(invocations)
        # One INSERT for all the rows (SQLAlchemy's "insertmanyvalues"); a row whose record_id
        # is already there (the spool replayed after a crash) is skipped, its cards with it.
        insert = _dialect_insert(connection, invocation_table)
        inserted = connection.execute(
            insert.on_conflict_do_nothing(index_elements=[invocation_table.c.record_id]).returning(
                invocation_table.c.id, invocation_table.c.record_id
            ),
            [
                {
                    "record_id": i.record_id,
                    "hook_instance": i.hook_instance,
                    "service_id": i.service_id,
                    "hook": i.hook,
                    "ruleset_release": i.ruleset_release,
                    "patient_id": i.patient_id,
                    "started_at": i.started_at,
                    "duration_ms": i.duration_ms,
                    "status": i.status,
                    "ehr_issuer": i.ehr_issuer,
                    "rules_not_evaluated": [r.to_json() for r in i.rules_not_evaluated] or None,
                    "shadow": None if i.shadow is None else i.shadow.to_json(),
                }
                for i in invocations
            ],
        ).all()
        id_of = {record_id: invocation_id for invocation_id, record_id in inserted}
        written = [(id_of[i.record_id], i) for i in invocations if i.record_id in id_of]
        ids = [invocation_id for invocation_id, _ in written]
        # What shadow versions would have shown comes after the call's row (cds.shadow runs
        # once the answer has gone, and the row is spooled before it): added to a row already
        # written, never overwriting one.
        shadows = [
            {"rid": i.record_id, "shadow_json": i.shadow.to_json()}
            for i in invocations
            if i.shadow is not None and i.record_id not in id_of
        ]
        if shadows:
            connection.execute(
                sa.update(invocation_table)
                .where(
                    invocation_table.c.record_id == sa.bindparam("rid"),
                    invocation_table.c.shadow.is_(None),
                )
                .values(shadow=sa.bindparam("shadow_json", type_=invocation_table.c.shadow.type)),
                shadows,
            )
        cards = [
            {
                "invocation_id": invocation_id,
                "uuid": card.uuid,
                "rule_id": card.rule_id,
                "rule_version": card.rule_version,
                "indicator": card.indicator,
            }
            for invocation_id, invocation in written
            for card in invocation.cards
        ]
        if not cards:
            return
        connection.execute(sa.insert(card_table), cards)
        # Feedback can arrive before its invocation row is written (it is written after the
        # response): attach it now, to the first of this batch's calls that issued the card (an
        # EHR retry issues the same card again). The card locks make this and the feedback write
        # see each other.
        first_issuer = (
            sa.select(sa.func.min(card_table.c.invocation_id))
            .join(invocation_table, invocation_table.c.id == card_table.c.invocation_id)
            .where(
                card_table.c.invocation_id.in_(ids),
                card_table.c.uuid == feedback_table.c.card_uuid,
                invocation_table.c.service_id == feedback_table.c.service_id,
            )
            .scalar_subquery()
        )
        connection.execute(
            sa.update(feedback_table)
            .where(
                feedback_table.c.invocation_id.is_(None),
                feedback_table.c.card_uuid.in_(sorted({uuid for _, uuid in issued})),
                feedback_table.c.service_id.in_(sorted({service for service, _ in issued})),
                first_issuer.is_not(None),
            )
            .values(invocation_id=first_issuer)
        )

    def _write_feedback(
        self,
        connection: Connection,
        service_id: str,
        items: list[FeedbackItem],
        received_at: datetime,
    ) -> int:
        uuids = sorted({item.card for item in items})
        _lock_cards(connection, ((service_id, uuid) for uuid in uuids))
        issued_by = _invocations_of(connection, service_id, uuids)
        rows = [_feedback_row(service_id, item, received_at, issued_by) for item in items]
        insert = _dialect_insert(connection, feedback_table)
        inserted = connection.execute(
            insert.values(rows)
            .on_conflict_do_nothing(index_elements=[feedback_table.c.dedup_key])
            .returning(feedback_table.c.id)
        )
        return len(inserted.all())


class DatabaseFileMoved(OSError):
    """A SQLite connection wrote to a file that is no longer at the database's path."""


# What makes the database unusable as a whole (down, hung, read-only, not migrated, its file
# gone): the write may succeed later, unchanged. Anything else is about the rows themselves.
_UNUSABLE = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.ProgrammingError,  # PostgreSQL's word for a table or column not there yet
    sqlalchemy.exc.TimeoutError,  # no pooled connection free in time
    DatabaseFileMoved,
)


def _short(exc: BaseException) -> str:
    """An error in one line, without SQL or parameters (never a clinician's comment)."""
    original = getattr(exc, "orig", None)
    text = str(original if original is not None else exc).strip().splitlines()
    return f"{type(original or exc).__name__}: {text[0][:200] if text else ''}"


# The words of the override reasons this service offers on its cards, by (system, code): EHRs
# may name a reason by its code alone (the CDS Hooks 2.0 feedback example does).
_OFFERED_REASONS: dict[tuple[str | None, str], str] = {
    (r.system, r.code): r.display for r in OVERRIDE_REASONS
}


def _feedback_row(
    service_id: str, item: FeedbackItem, received_at: datetime, issued_by: dict[str, int]
) -> dict[str, Any]:
    override = item.overrideReason
    reason = override.reason if override else None
    key = feedback_key(service_id, item)
    return {
        "dedup_key": hashlib.sha256(key.encode()).hexdigest(),
        "service_id": service_id,
        "card_uuid": item.card,
        "outcome": item.outcome,
        "accepted_suggestions": [s.id for s in item.acceptedSuggestions or ()],
        "override_system": reason.system if reason else None,
        "override_code": reason.code if reason else None,
        "override_display": (
            reason.display or _OFFERED_REASONS.get((reason.system, reason.code)) if reason else None
        ),
        "user_comment": override.userComment if override else None,
        "outcome_at": item.outcomeTimestamp,
        "received_at": received_at,
        "invocation_id": issued_by.get(item.card),
    }


def _invocations_of(connection: Connection, service_id: str, uuids: list[str]) -> dict[str, int]:
    """card uuid -> the invocation that issued it (the first, if the EHR retried the call)."""
    rows = connection.execute(
        sa.select(card_table.c.uuid, sa.func.min(card_table.c.invocation_id))
        .join(invocation_table, invocation_table.c.id == card_table.c.invocation_id)
        .where(invocation_table.c.service_id == service_id, card_table.c.uuid.in_(uuids))
        .group_by(card_table.c.uuid)
    )
    return {uuid: invocation_id for uuid, invocation_id in rows}


def _lock_cards(connection: Connection, cards: Iterable[tuple[str, str]]) -> None:
    """Serialise an invocation write and a feedback write that share a card (service id, card
    uuid), so the second one to commit links the feedback to its invocation (under READ
    COMMITTED, two concurrent transactions would otherwise each miss the other's uncommitted
    row). A batch of invocations locks all its cards before writing any of them.

    PostgreSQL: transaction-scoped advisory locks, taken in ascending key order by every writer
    (no deadlock), in one statement. SQLite needs nothing: BEGIN IMMEDIATE already serialises
    writers.
    """
    if connection.dialect.name != "postgresql":
        return
    keys = sorted({_lock_key(service_id, uuid) for service_id, uuid in cards})
    if keys:
        # The array is unnested in its (sorted) order, and the ORDER BY keeps it so.
        connection.execute(
            sa.text(
                "SELECT pg_advisory_xact_lock(key) "
                "FROM (SELECT key FROM unnest(CAST(:keys AS bigint[])) AS key ORDER BY key) AS k"
            ),
            {"keys": keys},
        )


def _lock_key(service_id: str, uuid: str) -> int:
    digest = hashlib.sha256(f"cds-card|{service_id}|{uuid}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)  # advisory lock keys are bigint


def _dialect_insert(connection: Connection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """INSERT with ON CONFLICT support (both dialects spell it the same way)."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    if connection.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"audit store: unsupported database {connection.dialect.name}")


def _one_per_record(invocations: Sequence[InvocationRecord]) -> list[InvocationRecord]:
    """Each record_id once, in first-seen order, carrying the first shadow any copy has."""
    kept: dict[str, InvocationRecord] = {}
    for invocation in invocations:
        first = kept.get(invocation.record_id)
        if first is None:
            kept[invocation.record_id] = invocation
        elif first.shadow is None and invocation.shadow is not None:
            kept[invocation.record_id] = replace(first, shadow=invocation.shadow)
    return list(kept.values())

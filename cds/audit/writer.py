"""The invocation audit writer: one per process, between the card requests and the database.

The rules: a row of a call that was answered is never lost to a crash or an outage, and the
audit never holds back the cards.

- `submit` appends the row to this process's spool (`cds.audit.spool`) before the response goes
  out: one write() of one line (plus an fdatasync with CDS_AUDIT_SPOOL_FSYNC), never a wait on
  the database, never an exception.
- One daemon thread writes what the spools hold, oldest first, in batches of up to
  `BATCH_MAX_ROWS` rows (one transaction each: one fsync for the batch, no contention between
  request threads for SQLite's one write lock), and commits the spool after each. The spools of
  dead processes (adopted at start and every `ORPHAN_SCAN_SECONDS`) go first.
- While the database is unavailable (`AuditDatabaseUnavailable`: down, hung, read-only, not
  migrated, its file gone), the rows stay in the spool and the batch is tried again, after a
  wait doubling from `RETRY_FIRST_SECONDS` to `RETRY_MAX_SECONDS`: one log line when the outage
  starts, one when it ends, with how many rows waited and for how long.
- A row the database refuses by itself (not the database as a whole) is tried alone, and if it
  still fails it is lost. Lost too: rows beyond the spool's bound (CDS_AUDIT_SPOOL_MAX_BYTES) or
  that its disk refuses, and the torn last line a power cut can leave. Each lost row is counted
  (`cds_audit_write_failures_total{record="invocation"}`); the losses are logged once per
  episode, with counts, never once per row.
- `close` (at shutdown) writes what it can within its timeout; what is left stays in the spool,
  said in the log, for the next process that starts on the same database.

A synchronous writer (`for_store` on a `MemoryAuditStore`: tests, replay) writes inline in
`submit` instead, without a spool, so the rows are there as soon as the response is.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from cds.audit.spool import Spool, SpoolFull, database_folder
from cds.audit.store import AuditStore, InvocationRecord, MemoryAuditStore
from cds.errors import AuditDatabaseUnavailable
from cds.metrics import count_audit_write_failure, forget_dead_worker, set_audit_queue_depth
from cds.settings import Settings

log = logging.getLogger("cds.audit.writer")

BATCH_MAX_ROWS = 200  # one transaction: a few tens of ms, however far behind the writer is
CLOSE_TIMEOUT_SECONDS = 10.0  # at shutdown; rows still unwritten stay in the spool
RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 30.0
ORPHAN_SCAN_SECONDS = 5.0  # how soon a live worker takes over the spool of a dead one


class _Episode:
    """A stretch of trouble, logged in two lines however long it lasts: when it starts, and
    when it ends with how many rows it concerned. Thread-safe."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.rows = 0
        self._lock = threading.Lock()

    def happens(self, rows: int) -> bool:
        """Count `rows`; True when this starts the episode (the caller logs it)."""
        with self._lock:
            self.rows += rows
            if self.since is not None:
                return False
            self.since = time.monotonic()
            return True

    def ends(self) -> tuple[int, float] | None:
        """(rows, seconds) of the episode that just ended; None if there was none."""
        with self._lock:
            if self.since is None:
                return None
            ended = (self.rows, time.monotonic() - self.since)
            self.since, self.rows = None, 0
            return ended


class AuditWriter:
    """Writes invocation rows to `store` off the request path, through a spool. Thread-safe."""

    def __init__(
        self,
        store: AuditStore,
        spool_folder: Path | None,
        *,
        spool_max_bytes: int = 256 * 1024 * 1024,
        fsync: bool = False,
        batch_rows: int = BATCH_MAX_ROWS,
    ) -> None:
        """`spool_folder` None: a synchronous writer (no spool, written inline)."""
        self.store = store
        self.spool_folder = spool_folder
        self.spool_max_bytes = spool_max_bytes
        self.fsync = fsync
        self.batch_rows = batch_rows
        self._own: Spool | None = None
        self._spools: list[Spool] = []  # adopted first, then our own (the writer thread's)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._outage = _Episode()  # the database unavailable
        self._drops = _Episode()  # rows the spool could not take

    @property
    def synchronous(self) -> bool:
        return self.spool_folder is None

    @classmethod
    def for_store(cls, store: AuditStore, settings: Settings) -> AuditWriter:
        """The writer an app uses: synchronous on a `MemoryAuditStore` (an append costs
        nothing, and tests read the rows right after the response), else through the spool of
        the configured database."""
        if isinstance(store, MemoryAuditStore):
            return cls(store, None)
        from cds.audit.connection import safe_url  # SQLAlchemy: only for a real database

        return cls(
            store,
            database_folder(settings.audit_spool_dir, safe_url(settings.database_url)),
            spool_max_bytes=settings.audit_spool_max_bytes,
            fsync=settings.audit_spool_fsync,
        )

    @property
    def depth(self) -> int:
        """Rows submitted (or adopted) and not yet written: what the spools hold."""
        spools = list(self._spools)
        return sum(spool.rows for spool in spools)

    # -- the request path ----------------------------------------------------------------------

    def submit(self, invocation: InvocationRecord) -> bool:
        """Keep a row until it is written: on disk when this returns. Never raises, never
        waits on the database. False: the row could not be kept (counted, logged)."""
        if self.synchronous:
            self._write_now([invocation])
            return True
        try:
            spool = self.start()
            spool.append(invocation.to_json())
        except (SpoolFull, OSError) as exc:
            count_audit_write_failure("invocation")
            if self._drops.happens(1):
                log.error(
                    "audit rows cannot be kept (%s): they are lost (the cards went out) until "
                    "the spool (%s) takes rows again",
                    exc,
                    self.spool_folder,
                )
            return False
        ended = self._drops.ends()
        if ended is not None:
            log.error("the audit spool takes rows again: %d rows were lost in %.0f s", *ended)
        self._wake.set()
        set_audit_queue_depth(self.depth)
        return True

    async def record(self, invocation: InvocationRecord) -> bool:
        """`submit` from the event loop: with CDS_AUDIT_SPOOL_FSYNC the disk flush happens in
        a thread, so the loop serves other calls meanwhile."""
        if self.fsync and not self.synchronous:
            return await asyncio.to_thread(self.submit, invocation)
        return self.submit(invocation)

    # -- starting and stopping -----------------------------------------------------------------

    def start(self) -> Spool:
        """Open this process's spool and start the writing thread (which first takes over the
        spools of dead processes). Idempotent; after `close`, starts afresh. Raises OSError
        when the spool folder cannot be written: at start-up, the service then refuses to
        start (it could not keep what it answers)."""
        own = self._own
        if own is not None:
            return own
        assert self.spool_folder is not None, "a synchronous writer has no spool"
        with self._start_lock:
            if self._own is None:
                self._stop.clear()
                self._own = Spool.create(
                    self.spool_folder, max_bytes=self.spool_max_bytes, fsync=self.fsync
                )
                self._spools = [self._own]
                thread = threading.Thread(target=self._run, name="cds-audit-writer", daemon=True)
                self._thread = thread
                thread.start()
            return self._own

    def flush(self, timeout: float = CLOSE_TIMEOUT_SECONDS) -> bool:
        """Wait (at most `timeout` seconds) until every row submitted so far is written or
        counted as lost. True if it was in time."""
        deadline = time.monotonic() + timeout
        while self.depth and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.01)
        return not self.depth

    def close(self, timeout: float = CLOSE_TIMEOUT_SECONDS) -> bool:
        """At shutdown: write what the spools hold, for at most `timeout` seconds, then let go
        of them. True when nothing was left; otherwise the rows left stay in the spool for the
        next process (logged; not lost)."""
        with self._start_lock:
            thread, own = self._thread, self._own
            if thread is None or own is None:
                return True
            self._stop.set()
            self._wake.set()
            thread.join(timeout)
            left = self.depth
            if thread.is_alive():
                # Still in a write (bounded by CDS_DATABASE_TIMEOUT_SECONDS): a daemon thread,
                # it ends with the process, which releases the spool's lock.
                log.error(
                    "audit writer: still writing after %g s of shutdown; %d rows stay in the "
                    "spool %s for the next start",
                    timeout,
                    left,
                    own.folder,
                )
            else:
                for spool in self._spools:
                    spool.close()
                if left:
                    log.warning(
                        "audit writer: %d rows could not be written before shutdown; they stay "
                        "in the spool %s for the next start",
                        left,
                        own.folder,
                    )
            self._thread, self._own, self._spools = None, None, []
            set_audit_queue_depth(0)
            return left == 0

    # -- the writing thread --------------------------------------------------------------------

    def _run(self) -> None:
        assert self.spool_folder is not None
        retry = RETRY_FIRST_SECONDS
        next_scan = 0.0
        while True:
            if time.monotonic() >= next_scan:
                self._adopt_orphans(self.spool_folder)
                next_scan = time.monotonic() + ORPHAN_SCAN_SECONDS
            spool = next((s for s in self._spools if not s.drained), None)
            if spool is None:
                self._forget_drained_orphans()
                if self._stop.is_set():
                    return
                self._wake.wait(max(next_scan - time.monotonic(), 0.0))
                self._wake.clear()
                continue
            try:
                self._write_from(spool)
            except Exception as exc:  # never die: the spool keeps the rows
                if self._outage.happens(0):
                    log.error(
                        "audit database unavailable (%s): rows wait in the spool and are tried "
                        "again, every %g s at most (%d waiting)",
                        exc,
                        RETRY_MAX_SECONDS,
                        self.depth,
                        # Expected (down, hung, read-only...): the message says it all.
                        exc_info=not isinstance(exc, AuditDatabaseUnavailable),
                    )
                if self._stop.is_set():
                    return  # shutting down, and tried once more since: what is left stays
                self._stop.wait(retry)  # `close` ends the wait early, for a last attempt
                retry = min(retry * 2, RETRY_MAX_SECONDS)
                continue
            retry = RETRY_FIRST_SECONDS
            self._forget_drained_orphans()
            ended = self._outage.ends()
            if ended is not None:
                _, seconds = ended
                log.warning(
                    "audit database available again after %.0f s: the rows that waited are "
                    "being written (%d left)",
                    seconds,
                    self.depth,
                )
            set_audit_queue_depth(self.depth)

    def _write_from(self, spool: Spool) -> None:
        """One batch from `spool`: written, then committed in it (raises, committing nothing,
        while the database is unavailable)."""
        batch = spool.read(self.batch_rows)
        rows: list[InvocationRecord] = []
        unreadable = batch.torn
        for line in batch.lines:
            try:
                rows.append(InvocationRecord.from_json(line))
            except (ValueError, KeyError, TypeError):
                unreadable += 1
        self._write_now(rows)
        spool.commit(batch.end, len(batch.lines) + batch.torn)
        if unreadable:
            for _ in range(unreadable):
                count_audit_write_failure("invocation")
            log.error(
                "audit spool %s: %d rows could not be read back (a write cut short): lost",
                spool.owner,
                unreadable,
            )

    def _write_now(self, rows: Sequence[InvocationRecord]) -> None:
        """Write `rows` in one transaction; if that fails for one of its rows (not the database
        as a whole), the rows one by one, so one bad row does not lose the others. Every row
        lost is counted once. Raises AuditDatabaseUnavailable (nothing lost: tried again)."""
        if not rows:
            return
        try:
            self.store.record_invocations(rows)
            return
        except AuditDatabaseUnavailable:
            if self.synchronous:
                self._lost(rows, "the audit database is unavailable")
                return
            raise
        except Exception as exc:
            if len(rows) == 1:
                self._lost(rows, type(exc).__name__)
                return
        for row in rows:
            try:
                self.store.record_invocations([row])
            except AuditDatabaseUnavailable:
                if self.synchronous:
                    self._lost([row], "the audit database is unavailable")
                    continue
                raise  # the rows written alone so far are not written again (record_id)
            except Exception as exc:
                self._lost([row], type(exc).__name__)

    def _lost(self, rows: Sequence[InvocationRecord], why: str) -> None:
        for _ in rows:
            count_audit_write_failure("invocation")
        log.error(
            "audit database refused the row of %s (%s): lost (the cards went out)",
            ", ".join(row.hook_instance for row in rows),
            why,
        )

    # -- the spools of dead processes ----------------------------------------------------------

    def _adopt_orphans(self, folder: Path) -> None:
        try:
            orphans = Spool.adopt_orphans(folder)
        except OSError as exc:
            log.error("audit spool %s cannot be read (%s)", folder, exc)
            return
        for orphan in orphans.adopted:
            log.warning(
                "audit writer: took over the spool of process %d, which ended without shutting "
                "down (%d rows in it to write)",
                orphan.pid,
                orphan.rows,
            )
            if orphan.pid not in orphans.alive_pids:
                forget_dead_worker(orphan.pid)
        self._spools[:0] = orphans.adopted

    def _forget_drained_orphans(self) -> None:
        for spool in [s for s in self._spools if not s.own and s.drained]:
            spool.close()
            self._spools.remove(spool)

"""The invocation audit writer: one per process, between the card requests and the audit store.

The rule (docs design, "Audit policy"): the audit never holds back the cards. A call hands its
row to `AuditWriter.submit`, which never blocks and never raises: the row goes on a bounded
queue, and one daemon thread drains it, writing everything that has queued (up to
`BATCH_MAX_ROWS`) in one transaction (`AuditStore.record_invocations`: group commit, one fsync
for the batch, and no contention between request threads for SQLite's one write lock).

When the database falls behind for long enough to fill the queue (`QUEUE_MAX_ROWS`), or a write
fails, rows are lost: each one is counted (`cds_audit_write_failures_total{record="invocation"}`)
and logged, drops at most once per `DROP_LOG_INTERVAL_SECONDS`. Memory stays bounded whatever
the database does. `close` (at shutdown) drains the queue within a bounded time.

A synchronous writer (`synchronous=True`) writes inline in `submit` instead: what apps built on
a `MemoryAuditStore` (tests, replay) get, so the rows are there as soon as the response is.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Sequence

import sqlalchemy.exc

from cds.audit.store import AuditStore, InvocationRecord, MemoryAuditStore
from cds.metrics import count_audit_write_failure, set_audit_queue_depth

log = logging.getLogger("cds.audit.writer")

QUEUE_MAX_ROWS = 10_000  # about 40 s of calls at 250/s, a few MB of records at most
BATCH_MAX_ROWS = 200  # one transaction: a few tens of ms, however far behind the writer is
CLOSE_TIMEOUT_SECONDS = 10.0  # at shutdown; rows still queued after this are lost and counted
DROP_LOG_INTERVAL_SECONDS = 10.0

# Errors of the connection or the database as a whole (down, locked, timed out): writing the
# rows of a failed batch one by one would fail the same way, once per row.
_WHOLE_STORE_ERRORS = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)


class AuditWriter:
    """Writes invocation rows to `store` off the request path, in batches. Thread-safe."""

    def __init__(
        self,
        store: AuditStore,
        *,
        synchronous: bool = False,
        max_rows: int = QUEUE_MAX_ROWS,
        batch_rows: int = BATCH_MAX_ROWS,
    ) -> None:
        self.store = store
        self.synchronous = synchronous
        self.batch_rows = batch_rows
        self._queue: queue.Queue[InvocationRecord | None] = queue.Queue(maxsize=max_rows)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._dropped = 0  # since the last log line about drops
        self._drop_logged_at = float("-inf")
        self._drop_lock = threading.Lock()

    @classmethod
    def for_store(cls, store: AuditStore) -> AuditWriter:
        """The writer an app uses: synchronous on a `MemoryAuditStore` (an append costs
        nothing, and tests read the rows right after the response), a queue otherwise."""
        return cls(store, synchronous=isinstance(store, MemoryAuditStore))

    @property
    def depth(self) -> int:
        """Rows submitted and not yet written (or lost): queued plus the batch being written."""
        return self._queue.unfinished_tasks

    def submit(self, invocation: InvocationRecord) -> bool:
        """Hand a row over to be written. Never blocks, never raises. False: dropped (counted)."""
        if self.synchronous:
            self._write([invocation])
            return True
        self._start()
        try:
            self._queue.put_nowait(invocation)
        except queue.Full:
            self._drop(invocation, f"the audit queue is full ({self._queue.maxsize:,} rows)")
            return False
        set_audit_queue_depth(self.depth)
        return True

    def flush(self, timeout: float = CLOSE_TIMEOUT_SECONDS) -> bool:
        """Wait (at most `timeout` seconds) until every row submitted so far is written or
        counted as lost. True if the queue drained in time."""
        deadline = time.monotonic() + timeout
        done = self._queue.all_tasks_done
        with done:
            while self._queue.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                done.wait(remaining)
        return True

    def close(self, timeout: float = CLOSE_TIMEOUT_SECONDS) -> bool:
        """At shutdown: write what is queued (bounded by `timeout`) and stop the thread. Rows
        still queued when the time is up are logged and counted as lost. (A row submitted
        afterwards starts a new thread: an app can be started again, as tests do.)"""
        drained = self.flush(timeout)
        if not drained:
            left = self.depth
            log.error(
                "audit writer: %d invocation rows not written within %g s of shutdown: lost",
                left,
                timeout,
            )
            for _ in range(left):
                count_audit_write_failure("invocation")
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            # Full: still stuck in a write; a daemon thread, it ends with the process.
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(None)  # wakes the thread up to stop
            thread.join(timeout=1.0 if drained else 0.0)
        set_audit_queue_depth(self.depth)
        return drained

    # -- the writing thread ---------------------------------------------------------------------

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="cds-audit-writer", daemon=True)
                thread.start()
                self._thread = thread

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                self._queue.task_done()
                return
            batch = [first]
            stop = False
            while len(batch) < self.batch_rows:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.task_done()
                    stop = True
                    break
                batch.append(item)
            try:
                self._write(batch)
            except BaseException:  # pragma: no cover (_write handles Exception; never die)
                log.exception("audit writer: unexpected error")
            finally:
                for _ in batch:
                    self._queue.task_done()
                set_audit_queue_depth(self.depth)
            if stop:
                return

    def _write(self, batch: Sequence[InvocationRecord]) -> None:
        """Write a batch in one transaction; if that fails for one of its rows (not the
        database as a whole), the rows one by one, so one bad row does not lose the others.
        Every row lost is counted once."""
        try:
            self.store.record_invocations(batch)
            return
        except Exception as exc:
            if len(batch) == 1 or isinstance(exc, _WHOLE_STORE_ERRORS):
                self._lost(batch, exc)
                return
            log.warning(
                "audit write failed for a batch of %d invocations (%s): writing them one by one",
                len(batch),
                type(exc).__name__,
            )
        for invocation in batch:
            try:
                self.store.record_invocations([invocation])
            except Exception as exc:
                self._lost([invocation], exc)

    def _lost(self, rows: Sequence[InvocationRecord], exc: Exception) -> None:
        for _ in rows:
            count_audit_write_failure("invocation")
        shown = ", ".join(row.hook_instance for row in rows[:5])
        more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
        log.error(
            "audit write failed for %s%s: the cards went out, these rows are lost",
            shown,
            more,
            exc_info=exc,
        )

    def _drop(self, invocation: InvocationRecord, why: str) -> None:
        count_audit_write_failure("invocation")
        with self._drop_lock:
            self._dropped += 1
            now = time.monotonic()
            if now - self._drop_logged_at < DROP_LOG_INTERVAL_SECONDS:
                return
            dropped, self._dropped, self._drop_logged_at = self._dropped, 0, now
        log.error(
            "audit write failed for %s: %s; %d invocation rows dropped since the last report "
            "(the cards went out)",
            invocation.hook_instance,
            why,
            dropped,
        )

"""What the audit spool adds to a call: the row is written to the worker's spool before the
response (`AuditWriter.submit`: one write(), and an fdatasync with CDS_AUDIT_SPOOL_FSYNC=true).

Timed in process, `submit` alone, on a row like a Synthea call's (three cards); the database
behind the writer is an in-memory one, so only the spool is measured.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.load import percentiles
from cds.audit.store import InvocationRecord, IssuedCard, MemoryAuditStore
from cds.audit.writer import AuditWriter


def _row(i: int) -> InvocationRecord:
    return InvocationRecord(
        hook_instance=f"d1577c69-dfbe-44ad-ba6d-{i:012d}",
        service_id="leg-pain-patient-view",
        hook="patient-view",
        ruleset_release="2026.11.1",
        patient_id=f"patient-{i}",
        started_at=datetime.now(UTC),
        duration_ms=4.2,
        status=200,
        cards=tuple(
            IssuedCard(f"5f0c7a2e-0000-5000-8000-{i:08d}{c:04d}", f"rule-{c}", "1.0.0", "warning")
            for c in range(3)
        ),
        ehr_issuer="https://ehr.example.org",
    )


def submit_cost(directory: Path, *, fsync: bool, rows: int) -> dict[str, Any]:
    """Percentiles (milliseconds) of `submit` over `rows` rows, and the bytes per row."""
    writer = AuditWriter(MemoryAuditStore(), directory / f"spool-fsync-{fsync}", fsync=fsync)
    writer.start()
    records = [_row(i) for i in range(rows)]
    seconds = []
    for record in records:
        started = time.perf_counter()
        writer.submit(record)
        seconds.append(time.perf_counter() - started)
    writer.close()
    return {
        "fsync": fsync,
        "rows": rows,
        "bytes_per_row": len(records[0].to_json()) + 1,
        **percentiles(sorted(seconds)),
    }

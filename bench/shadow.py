"""The cost of shadow rule versions: the latency of section 1 (the Synthea patients as
patient-view requests, sequential, one keep-alive connection, 1 worker, audit on SQLite) on two
servers started side by side: one with the shipped hooks, one with a hooks folder where every
pinned rule is also listed as a shadow at its pinned version (so every rule runs twice a call:
the most shadow work a service can have without new rules).

Passes alternate between the two servers (without, with, without, ...), so load from other
work on the machine falls on both alike. Reported: latency percentiles, server CPU per request
(the process's user + system time, the shadow thread included), the shadow evaluation's own
time as its audit rows record it, and that every call of the shadow server has its shadow
cards in the audit (none given up). Target: p50 with shadows at most 1.5 x without.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import http
from bench.load import percentiles
from bench.server import migrate, running_server

TARGET_RATIO = 1.5
AUDIT_WAIT_SECONDS = 30.0


def shadow_everything(hooks: Path, folder: Path) -> Path:
    """A copy of a hooks folder in which each service lists every rule it pins as a shadow at
    its pinned version."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(hooks.glob("*.json")):
        spec = json.loads(path.read_text("utf-8"))
        spec["shadow"] = dict(spec["rules"])
        (folder / path.name).write_text(json.dumps(spec, indent=2) + "\n", "utf-8")
    return folder


def run(
    bodies: list[bytes],
    *,
    passes: int,
    hooks: Path,
    directory: Path,
    log: Callable[[str], None],
) -> dict[str, Any]:
    shadow_hooks = shadow_everything(hooks, directory / "hooks-shadow")
    urls = {name: f"sqlite:///{directory / f'audit-shadow-{name}.db'}" for name in ("off", "on")}
    for url in urls.values():
        migrate(url)
    log(f"shadow cost: {len(bodies)} patients x {passes} passes per server, alternating")
    with (
        running_server(
            workers=1, database_url=urls["off"], log_dir=directory, name="shadow-off"
        ) as off,
        running_server(
            workers=1,
            database_url=urls["on"],
            log_dir=directory,
            name="shadow-on",
            hooks_dir=shadow_hooks,
        ) as on,
        http.client(off) as off_client,
        http.client(on) as on_client,
    ):
        for server, client in ((off, off_client), (on, on_client)):  # warm-up
            http.sequential(server, client, bodies, passes=1, warmup=0)
        latencies: dict[str, list[float]] = {"off": [], "on": []}
        cpu = {"off": 0.0, "on": 0.0}
        for _ in range(passes):
            for name, server, client in (("off", off, off_client), ("on", on, on_client)):
                measured = http.sequential(server, client, bodies, passes=1, warmup=0)
                latencies[name] += measured.latencies
                cpu[name] += measured.server_cpu
        expected = len(bodies) * (passes + 1)
        rows = _shadow_rows(urls["on"], expected)
    result: dict[str, Any] = {"patients": len(bodies), "passes": passes}
    for name in ("off", "on"):
        stats = percentiles(sorted(latencies[name]))
        result[name] = {**stats, "server_cpu_ms": cpu[name] * 1000 / len(latencies[name])}
    result["p50_ratio"] = result["on"]["p50"] / result["off"]["p50"]
    result["cpu_ratio"] = result["on"]["server_cpu_ms"] / result["off"]["server_cpu_ms"]
    costs = [row["ms"] for row in rows if row.get("cards") is not None]
    result["rules_shadowed"] = _rules_shadowed(shadow_hooks)
    result["audit_rows"] = len(rows)
    result["audit_expected"] = expected
    result["shadow_evaluated"] = len(costs)
    result["shadow_skipped"] = len(rows) - len(costs)
    # Why a call went without its shadow cards: timeout, busy, failed (cds.audit.shadow).
    result["shadow_skipped_why"] = dict(
        Counter(str(row.get("skipped")) for row in rows if row.get("cards") is None)
    )
    result["shadow_ms_median"] = statistics.median(costs) if costs else None
    result["shadow_ms_p99"] = percentiles([c / 1000 for c in sorted(costs)]).get("p99")
    result["met"] = result["p50_ratio"] <= TARGET_RATIO
    return result


def _rules_shadowed(hooks: Path) -> int:
    """Rules listed as shadows by the patient-view service (the one the requests call)."""
    for path in sorted(hooks.glob("*.json")):
        spec = json.loads(path.read_text("utf-8"))
        if spec.get("id") == http.SERVICE_PATH.rsplit("/", 1)[-1]:
            return len(spec.get("shadow") or {})
    return 0


def _shadow_rows(url: str, expected: int) -> list[dict[str, Any]]:
    """The shadow column of every row, once all `expected` rows have theirs (bounded wait).

    A call's row is written first and its shadow record added to it afterwards (the shadow
    versions run after the answer), so a row can be there before its shadow column is: counting
    rows alone would take the last calls' shadows for missing."""
    import sqlalchemy as sa

    from cds.audit.connection import make_engine
    from cds.audit.models import invocation_table

    engine = make_engine(url, immediate_writes=False)
    deadline = time.monotonic() + AUDIT_WAIT_SECONDS
    try:
        while True:
            with engine.connect() as connection:
                values = list(connection.execute(sa.select(invocation_table.c.shadow)).scalars())
            written = sum(value is not None for value in values)
            if written >= expected or time.monotonic() > deadline:
                return [value or {} for value in values]
            time.sleep(0.25)
    finally:
        engine.dispose()


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "target": f"p50 with every rule also shadowed <= {TARGET_RATIO:g} x without "
            "(Synthea, HTTP, 1 worker)",
            "measured": f"{result['on']['p50']:.2f} / {result['off']['p50']:.2f} ms = "
            f"{result['p50_ratio']:.2f} x; {result['shadow_evaluated']:,}/"
            f"{result['audit_expected']:,} calls with their shadow cards audited",
            "met": result["met"]
            and result["shadow_evaluated"] == result["audit_expected"] == result["audit_rows"],
        }
    ]


def _skipped(why: dict[str, int]) -> str:
    if not why:
        return ""
    reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(why.items()))
    return f" (without them: {reasons})"


def markdown(r: dict[str, Any]) -> str:
    from bench.report import _ms

    def line(label: str, s: dict[str, Any]) -> str:
        return (
            f"| {label} | {_ms(s['p50'])} | {_ms(s['p90'])} | {_ms(s['p99'])} | "
            f"{_ms(s['max'])} | {_ms(s['mean'])} | {_ms(s['server_cpu_ms'])} |"
        )

    return "\n".join(
        [
            f"### 7. Shadow rule versions: {r['patients']} Synthea patients, 1 worker, audit on "
            "SQLite",
            "",
            f"Section 1's requests on two servers side by side, passes alternating: the shipped "
            f"hooks, and the same with all {r['rules_shadowed']} pinned rules also listed as "
            f"shadows at their pinned versions; 1 warm-up pass, then {r['passes']} timed passes "
            f"each ({r['off']['n']} requests each). Shadow versions run after the answer, in a "
            f"thread of their own; their time per call (audit rows): median "
            f"{_ms(r['shadow_ms_median'])} ms, p99 {_ms(r['shadow_ms_p99'])} ms; "
            f"{r['shadow_evaluated']:,} of {r['audit_expected']:,} calls with their shadow "
            f"cards in the audit{_skipped(r.get('shadow_skipped_why') or {})}.",
            "",
            "| | p50 ms | p90 ms | p99 ms | max ms | mean ms | server CPU ms/request |",
            "|---|---:|---:|---:|---:|---:|---:|",
            line("without shadows", r["off"]),
            line("every rule also shadowed", r["on"]),
            f"| with / without | {r['p50_ratio']:.2f} x | | | | | {r['cpu_ratio']:.2f} x |",
        ]
    )

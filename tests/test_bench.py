"""The benchmark's machinery (bench/), not its numbers: nothing here is timed."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import load, report

ROOT = Path(__file__).resolve().parents[1]


def test_bench_help_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "--quick" in done.stdout


def test_percentiles_are_nearest_rank_in_milliseconds() -> None:
    stats = load.percentiles([i / 1000 for i in range(1, 101)])  # 1..100 ms
    assert (stats["p50"], stats["p90"], stats["p99"], stats["max"]) == pytest.approx(
        (50, 90, 99, 100)
    )
    assert stats["n"] == 100
    assert load.percentiles([]) == {}


def test_request_bytes_declare_the_body_length() -> None:
    raw = load.request_bytes("127.0.0.1", 8080, "/cds-services/x", b'{"a":1}')
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"POST /cds-services/x HTTP/1.1\r\n")
    assert b"Content-Length: 7" in head
    assert body == b'{"a":1}'


async def _respond(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A tiny HTTP/1.1 server: 200 with Content-Length, or chunked, or 500, by path."""
    while True:
        request_line = await reader.readline()
        if not request_line:
            break
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await reader.readexactly(length)
        path = request_line.split()[1]
        if path == b"/chunked":
            writer.write(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                b'6\r\n{"a":\r\n2\r\n1}\r\n0\r\n\r\n'
            )
        elif path == b"/fail":
            writer.write(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\n\r\n{}")
        else:
            writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n{"a":1}\n')
        await writer.drain()
    writer.close()


async def _drive(path: str, requests: int) -> dict[str, Any]:
    server = await asyncio.start_server(_respond, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        return await load.drive(
            host="127.0.0.1",
            port=port,
            path=path,
            bodies=[b"{}", b'{"b":2}'],
            concurrency=3,
            max_requests=requests,
            duration=30.0,
        )


@pytest.mark.parametrize("path", ["/plain", "/chunked"])
def test_load_generator_counts_answers(path: str) -> None:
    result = asyncio.run(_drive(path, 20))
    assert (result["sent"], result["completed"], result["ok"], result["errors"]) == (20, 20, 20, 0)
    assert result["latency_ms"]["n"] == 20


def test_load_generator_counts_errors() -> None:
    result = asyncio.run(_drive("/fail", 10))
    assert (result["ok"], result["errors"], result["error_kinds"]) == (0, 10, {"HTTP 500": 10})


def _results() -> dict[str, Any]:
    machine = report.machine()
    machine["server_runtime"] = {"uvloop": True, "httptools": True}
    return {
        "machine": machine,
        "targets": [{"target": "p50 <= 5 ms", "measured": "3.00 ms", "met": True}],
        "latency": {
            "patients": 90,
            "passes": 5,
            "warmup_passes": 1,
            "n": 450,
            "p50": 3.0,
            "p90": 4.0,
            "p99": 9.0,
            "max": 20.0,
            "mean": 3.2,
            "rps": 300.0,
            "server_cpu_ms": 2.5,
            "resources_median": 900,
            "resources_max": 4000,
            "body_kb_median": 105.0,
            "body_kb_max": 270.0,
        },
        "throughput": [
            {"database": "PostgreSQL", "skipped": "not reachable"},
        ],
    }


def test_readme_tables_replace_only_their_block(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# Benchmarks\n\nHow to read this.\n", "utf-8")
    report.write_readme(readme, _results())
    first = readme.read_text("utf-8")
    assert first.startswith("# Benchmarks\n\nHow to read this.\n")
    assert "| 3.00 | 4.00 | 9.00 | 20.0 |" in first
    assert "skipped: not reachable" in first
    readme.write_text(first + "\nNotes kept after the block.\n", "utf-8")
    report.write_readme(readme, _results())
    second = readme.read_text("utf-8")
    assert second.count(report.START) == 1
    assert second.endswith("\nNotes kept after the block.\n")


def test_readme_results_heading_is_not_repeated(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# Benchmarks\n\n## Results\n", "utf-8")
    report.write_readme(readme, _results())
    report.write_readme(readme, _results())
    assert readme.read_text("utf-8").count("## Results") == 1


def test_the_shadow_section_shadows_every_pinned_rule_at_its_version(tmp_path: Path) -> None:
    from bench.shadow import markdown, shadow_everything
    from cds.pipeline import Engine

    hooks = shadow_everything(ROOT / "hooks", tmp_path / "hooks")
    for service in Engine.load(hooks).services.values():
        assert [s.rule for s in service.shadow] == list(service.rules)
        assert all(s.lacking == () for s in service.shadow)
    stats = {"p50": 2.0, "p90": 3.0, "p99": 4.0, "max": 5.0, "mean": 2.5, "n": 450}
    table = markdown(
        {
            "patients": 90,
            "passes": 5,
            "rules_shadowed": 18,
            "off": {**stats, "server_cpu_ms": 1.5},
            "on": {**stats, "p50": 2.4, "server_cpu_ms": 1.8},
            "p50_ratio": 1.2,
            "cpu_ratio": 1.2,
            "shadow_ms_median": 0.2,
            "shadow_ms_p99": 0.5,
            "shadow_evaluated": 540,
            "audit_expected": 540,
        }
    )
    assert "| with / without | 1.20 x |" in table

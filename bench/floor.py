"""The parse floor: `orjson.loads` of request bodies, timed in a fresh process.

    python -m bench.floor --runs N FILE...   prints {"FILE": {"median_ms": ..., "cpu_ms": ...}}

A fresh process holds nothing else, so the garbage collector (on, with its default thresholds,
as in any Python program) has only the parsed document to walk. `gc_off_ms` is the same parse
with the collector off, for reference: what the C parser alone costs.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

import orjson


def time_loads(data: bytes, runs: int) -> dict[str, float]:
    orjson.loads(data)  # warm-up
    wall, cpu = [], []
    for _ in range(runs):
        gc.collect()
        started, started_cpu = time.perf_counter(), time.process_time()
        parsed = orjson.loads(data)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        del parsed
    gc.disable()  # for reference: the parse alone, without the collector walking the result
    try:
        no_gc = []
        for _ in range(runs):
            gc.collect()
            started = time.perf_counter()
            parsed = orjson.loads(data)
            no_gc.append(time.perf_counter() - started)
            del parsed
    finally:
        gc.enable()
    return {
        "median_ms": statistics.median(wall) * 1000,
        "min_ms": min(wall) * 1000,
        "cpu_ms": statistics.median(cpu) * 1000,
        "gc_off_ms": statistics.median(no_gc) * 1000,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    result = {str(path): time_loads(path.read_bytes(), max(1, args.runs)) for path in args.files}
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

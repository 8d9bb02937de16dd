"""The local engine: a pool of processes over the cores of one machine.

An export is grouped by patient in two passes, both spread over the workers, with the
population never held in memory:

1. partition: each worker reads chunks of the NDJSON files, keys every line by its patient
   (`charts.chart_key`, mostly without parsing) and appends it, as it is, to one of N bucket
   files on disk by a stable hash of the key;
2. evaluate: each worker takes whole buckets, groups their lines by patient and runs
   `charts.evaluate_lines` on each group: the function Spark's executors run.

Workers are forked after the Evaluator (rule code, terminology) is loaded, so it is loaded once;
a task is a chunk or a bucket (hundreds of charts), so little travels between processes: paths
in, plain results out. Bundle folders need no grouping: a task is a batch of files.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import struct
import tempfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cds.sweep.charts import Line, LineProblem, chart_key, evaluate_bundle, evaluate_lines
from cds.sweep.evaluate import Evaluator
from cds.sweep.results import ChartResult, Problem
from cds.sweep.sources import Chunk, SourcePlan, chunks_of, read_bundle, read_chunk

CHUNK_BYTES = 32 * 1024 * 1024  # a partition task reads about this much
BUCKET_BYTES = 16 * 1024 * 1024  # an evaluate task holds about this much of the export
BUNDLES_PER_TASK = 8
FLUSH_BYTES = 64 * 1024 * 1024  # a partition task writes its buckets out past this much
_RECORD = struct.Struct("<IIIII")  # file, chunk, line number, key length, line length

# Progress: (what, how many more) with what in "bytes" (partition) or "charts" (evaluate).
Progress = Callable[[str, int], None]


@dataclass
class EngineOutput:
    results: list[ChartResult]
    problems: list[Problem]


# What each worker process holds: set once by `_start_worker`, in the worker only.
_worker: dict[str, Any] = {}


def _start_worker(
    evaluator: Evaluator, medications: Mapping[str, Mapping[str, Any]], plan: SourcePlan
) -> None:
    _worker.update(evaluator=evaluator, medications=medications, plan=plan)
    # Everything loaded so far lives for the whole run: keep the collector from walking it
    # again and again while charts are parsed into many short-lived containers.
    gc.freeze()
    gc.set_threshold(10_000, 50, 100)


def run(
    plan: SourcePlan,
    evaluator: Evaluator,
    medications: Mapping[str, Mapping[str, Any]],
    *,
    workers: int,
    progress: Progress,
) -> EngineOutput:
    context = multiprocessing.get_context("fork")  # workers share the loaded Evaluator
    with (
        ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(evaluator, medications, plan),
        ) as pool,
        tempfile.TemporaryDirectory(prefix="cds-sweep-") as tmp,
    ):
        output = EngineOutput([], [])
        if plan.chart_files:
            _sweep_export(pool, plan, Path(tmp), workers, progress, output)
        if plan.bundle_files:
            _sweep_bundles(pool, plan, progress, output)
    return output


def _sweep_export(
    pool: ProcessPoolExecutor,
    plan: SourcePlan,
    directory: Path,
    workers: int,
    progress: Progress,
    output: EngineOutput,
) -> None:
    chunks = chunks_of(plan, CHUNK_BYTES)
    buckets = max(2 * workers, plan.chart_bytes // BUCKET_BYTES + 1)
    line_counts: dict[tuple[int, int], int] = {}
    pending_problems: list[LineProblem] = []
    partitioned = [pool.submit(_partition, chunk, buckets, directory) for chunk in chunks]
    for future in as_completed(partitioned):
        chunk, lines, size = future.result()
        line_counts[(chunk.file, chunk.index)] = lines
        progress("bytes", size)
    evaluated = [pool.submit(_evaluate_bucket, b, directory) for b in range(buckets)]
    for evaluated_future in as_completed(evaluated):
        results, problems = evaluated_future.result()
        output.results += results
        pending_problems += problems
        progress("charts", len(results))
    output.problems += _located(pending_problems, plan, line_counts)


def _sweep_bundles(
    pool: ProcessPoolExecutor, plan: SourcePlan, progress: Progress, output: EngineOutput
) -> None:
    files = plan.bundle_files
    batches = [files[i : i + BUNDLES_PER_TASK] for i in range(0, len(files), BUNDLES_PER_TASK)]
    futures: list[Future[tuple[list[ChartResult], list[Problem]]]] = [
        pool.submit(_evaluate_bundles, batch) for batch in batches
    ]
    for future in as_completed(futures):
        results, problems = future.result()
        output.results += results
        output.problems += problems
        progress("charts", len(results))


def _located(
    problems: list[LineProblem], plan: SourcePlan, line_counts: Mapping[tuple[int, int], int]
) -> list[Problem]:
    """Chunk-relative line numbers made file line numbers (every chunk's count is known)."""
    located = []
    for problem in problems:
        before = sum(
            count
            for (file, chunk), count in line_counts.items()
            if file == problem.file and chunk < problem.chunk
        )
        path = str(plan.file(problem.file).path)
        located.append(Problem(path, before + problem.number, problem.message))
    return located


# -- in the workers ----------------------------------------------------------------------------


def _partition(chunk: Chunk, buckets: int, directory: Path) -> tuple[Chunk, int, int]:
    """Route every line of a chunk to its patient's bucket file. Returns the chunk, how many
    lines start in it (for line numbers) and its size on disk (for progress)."""
    plan: SourcePlan = _worker["plan"]
    file = plan.file(chunk.file)
    resource_type = file.resource_type
    out = [bytearray() for _ in range(buckets)]
    pack = _RECORD.pack
    number = 0
    # The loop every line of the export goes through: kept lean.
    for block in read_chunk(file.path, chunk):
        for raw in block:
            number += 1
            if not raw or raw.isspace():
                continue
            key = chart_key(raw, resource_type).encode()
            buffer = out[bucket_of(key, buckets)]
            buffer += pack(chunk.file, chunk.index, number, len(key), len(raw))
            buffer += key
            buffer += raw
        # A compressed file is one chunk of any size: what is held is bounded by blocks.
        if sum(map(len, out)) >= FLUSH_BYTES:
            _append(out, directory)
    _append(out, directory)
    return chunk, number, (file.size if chunk.end is None else chunk.end) - chunk.start


def _append(out: list[bytearray], directory: Path) -> None:
    pid = multiprocessing.current_process().pid
    for bucket, data in enumerate(out):
        if data:
            # One file per bucket and worker process: appends from one process never interleave.
            with (directory / f"{bucket:05d}-{pid}").open("ab") as f:
                f.write(data)
            data.clear()


def bucket_of(key: bytes, buckets: int) -> int:
    """Stable across processes and runs (Python's hash() is salted per process)."""
    return zlib.crc32(key) % buckets


def _evaluate_bucket(bucket: int, directory: Path) -> tuple[list[ChartResult], list[LineProblem]]:
    groups: dict[str, list[Line]] = {}
    for path in sorted(directory.glob(f"{bucket:05d}-*")):
        for key, line in _records(path.read_bytes()):
            groups.setdefault(key, []).append(line)
        path.unlink()
    evaluator: Evaluator = _worker["evaluator"]
    medications: Mapping[str, Mapping[str, Any]] = _worker["medications"]
    results: list[ChartResult] = []
    problems: list[LineProblem] = []
    with _collector_paused():
        for key in sorted(groups):
            found, bad = evaluate_lines(evaluator, key, groups[key], medications)
            results += found
            problems += bad
    return results, problems


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No garbage collection while a task runs, one full collection after it. A chart parses
    into tens of thousands of containers that reference counting frees (JSON has no cycles);
    the collector would walk them again and again (a fifth of the time). What cycles a task
    leaves are a task's worth, collected at its end."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


def _records(data: bytes) -> Iterator[tuple[str, Line]]:
    view = memoryview(data)
    offset = 0
    size = _RECORD.size
    while offset < len(data):
        file, chunk, number, key_length, raw_length = _RECORD.unpack_from(view, offset)
        offset += size
        key = bytes(view[offset : offset + key_length]).decode()
        offset += key_length
        yield key, Line(file, chunk, number, bytes(view[offset : offset + raw_length]))
        offset += raw_length


def _evaluate_bundles(paths: tuple[Path, ...]) -> tuple[list[ChartResult], list[Problem]]:
    evaluator: Evaluator = _worker["evaluator"]
    results: list[ChartResult] = []
    problems: list[Problem] = []
    with _collector_paused():
        for path in paths:
            bundle, why = read_bundle(path)
            if why is not None:
                problems.append(Problem(str(path), None, why))
                continue
            found, messages = evaluate_bundle(evaluator, bundle)
            results += found
            problems += [Problem(str(path), None, m) for m in messages]
    return results, problems

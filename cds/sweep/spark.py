"""The Spark engine: the same sweep on Apache Spark (PySpark), for populations that outgrow one
machine. The only module that imports pyspark (an optional extra: `pip install
'legpain-cds[sweep]'`), and only when `--engine spark` is asked for.

Spark reads the NDJSON files (gzip too) as lines, keys each line by its patient
(`charts.chart_key`), groups lines by key in its shuffle and runs `charts.evaluate_lines` on
each group on its executors: the local engine's functions, so both give the same results.
Each executor process loads the rule code and terminology once. Bundle folders are shared out
as lists of files, each evaluated with `charts.evaluate_bundle`.

Every executor must see the SOURCE paths (a shared file system, or local mode). Spark binds to
127.0.0.1 unless SPARK_LOCAL_IP says otherwise; its web UI is off and its logging quiet.
"""

from __future__ import annotations

import gc
import os
import pickle
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from cds.sweep.charts import Line, LineProblem, chart_key, evaluate_bundle, evaluate_lines
from cds.sweep.evaluate import EvaluationSpec, Evaluator
from cds.sweep.local import EngineOutput, Progress
from cds.sweep.results import ChartResult, Problem
from cds.sweep.sources import SourcePlan, read_bundle

if TYPE_CHECKING:
    from pyspark import RDD, SparkContext
    from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[*]"
BUCKET_BYTES = 16 * 1024 * 1024  # about this much of the export per evaluate task
PROGRESS_SECONDS = 0.5
# Spark's log, quiet: errors only. The driver counts as an interactive shell, for which Spark
# announces a "default log level" unless its own loggers have one equal to the root's: hence
# the org.apache.spark logger, set to the root's level.
_LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = spark %p %c{1}: %m%n
logger.spark.name = org.apache.spark
logger.spark.level = error
"""


class SparkUnavailable(RuntimeError):
    """Spark cannot be started here: no Java, or pyspark not installed."""


def find_java(environ: Mapping[str, str]) -> str | None:
    """The java Spark would run: $JAVA_HOME/bin/java, else the first on PATH."""
    home = environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("java", path=environ.get("PATH", ""))


def check_can_start(environ: Mapping[str, str]) -> None:
    """Raises SparkUnavailable, with one line saying what to do, before anything starts."""
    if find_java(environ) is None:
        raise SparkUnavailable(
            "--engine spark needs Java 17 or later: no java in JAVA_HOME or on PATH "
            "(install a JDK, e.g. openjdk-17-jre-headless, or use --engine local)"
        )
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise SparkUnavailable(
            "--engine spark needs pyspark: pip install 'legpain-cds[sweep]'"
        ) from None


def start_session(master: str = DEFAULT_MASTER) -> SparkSession:
    """A SparkSession on `master`, bound to the loopback address, UI off, logging quiet."""
    check_can_start(os.environ)
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Executors run this interpreter, so they import the same cds and its dependencies.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    config = Path(tempfile.mkdtemp(prefix="cds-spark-")) / "log4j2.properties"
    config.write_text(_LOG4J2, "utf-8")
    java_options = f"-Dlog4j2.configurationFile={config.as_uri()}"
    session = (
        SparkSession.builder.master(master)
        .appName("cds sweep")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", os.environ["SPARK_LOCAL_IP"])
        .config("spark.driver.bindAddress", os.environ["SPARK_LOCAL_IP"])
        .config("spark.driver.extraJavaOptions", java_options)
        .config("spark.python.worker.reuse", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    # Read once, at start-up, by the driver and local executors (a cluster's executors keep
    # their own logging configuration).
    shutil.rmtree(config.parent, ignore_errors=True)
    return session


def run(
    plan: SourcePlan,
    spec: EvaluationSpec,
    medications: Mapping[str, Mapping[str, Any]],
    *,
    session: SparkSession,
    progress: Progress,
) -> EngineOutput:
    sc = session.sparkContext
    shared = sc.broadcast((pickle.dumps(spec), dict(medications)))
    charts_done = sc.accumulator(0)
    rows: list[tuple[str, Any]] = []
    if plan.chart_files:
        rows += _collecting(_export_rdd(sc, plan, shared, charts_done), charts_done, progress)
    if plan.bundle_files:
        paths = [str(p) for p in plan.bundle_files]
        slices = max(1, min(len(paths), sc.defaultParallelism * 4))
        bundles = sc.parallelize(paths, slices).mapPartitions(
            lambda it: _evaluate_bundle_files(shared.value, it, charts_done)
        )
        rows += _collecting(bundles, charts_done, progress)
    shared.unpersist()
    output = EngineOutput([], [])
    line_problems: list[LineProblem] = []
    for kind, item in rows:
        if kind == "result":
            output.results.append(item)
        elif kind == "line-problem":
            line_problems.append(item)
        else:
            output.problems.append(item)
    output.problems += _located(sc, plan, line_problems)
    return output


def _export_rdd(sc: SparkContext, plan: SourcePlan, shared: Any, charts_done: Any) -> RDD[Any]:
    keyed = sc.union(
        [_keyed_lines(sc, file.index, file.path, file.resource_type) for file in plan.chart_files]
    )
    partitions = max(sc.defaultParallelism * 2, plan.chart_bytes // BUCKET_BYTES + 1)
    return keyed.groupByKey(partitions).mapPartitions(
        lambda groups: _evaluate_groups(shared.value, groups, charts_done)
    )


def _keyed_lines(sc: SparkContext, index: int, path: Path, resource_type: str | None) -> RDD[Any]:
    def key_lines(chunk: int, lines: Iterable[bytes]) -> Iterator[tuple[str, Line]]:
        # A Spark partition of a file plays the part of the local engine's chunk.
        for number, raw in enumerate(lines, start=1):
            if raw.strip():
                yield chart_key(raw, resource_type), Line(index, chunk, number, raw)

    # use_unicode=False: lines as bytes, as the local engine reads them (its stubs say str).
    lines = cast("RDD[bytes]", sc.textFile(path.resolve().as_uri(), use_unicode=False))
    return lines.mapPartitionsWithIndex(key_lines)


def _collecting(rdd: RDD[Any], charts_done: Any, progress: Progress) -> list[Any]:
    """rdd.collect(), reporting charts done (an accumulator the tasks add to) meanwhile."""
    finished = threading.Event()
    reported = 0

    def report() -> None:
        nonlocal reported
        while not finished.wait(PROGRESS_SECONDS):
            now = int(charts_done.value)
            progress("charts", now - reported)
            reported = now

    watcher = threading.Thread(target=report, daemon=True)
    watcher.start()
    try:
        rows = rdd.collect()
    finally:
        finished.set()
        watcher.join()
    progress("charts", int(charts_done.value) - reported)
    return rows


def _located(sc: SparkContext, plan: SourcePlan, problems: list[LineProblem]) -> list[Problem]:
    """Partition-relative line numbers made file line numbers: the lines of the partitions
    before are counted, only for files where a problem was found past the first partition."""
    counts: dict[int, list[int]] = {}
    for problem in problems:
        if problem.chunk > 0 and problem.file not in counts:
            path = plan.file(problem.file).path.resolve().as_uri()
            per_partition = (
                sc.textFile(path, use_unicode=False)
                .mapPartitionsWithIndex(lambda i, it: [(i, sum(1 for _ in it))])
                .collect()
            )
            counts[problem.file] = [n for _, n in sorted(per_partition)]
    located = []
    for problem in problems:
        before = sum(counts.get(problem.file, [])[: problem.chunk])
        path = str(plan.file(problem.file).path)
        located.append(Problem(path, before + problem.number, problem.message))
    return located


# -- on the executors --------------------------------------------------------------------------

# One Evaluator per executor process (Spark reuses its Python workers), by pickled spec.
_evaluators: dict[bytes, Evaluator] = {}


def _evaluator(spec_bytes: bytes) -> Evaluator:
    evaluator = _evaluators.get(spec_bytes)
    if evaluator is None:
        evaluator = _evaluators[spec_bytes] = Evaluator(pickle.loads(spec_bytes))  # noqa: S301 (our own broadcast)
        # Rule code and terminology live as long as the worker: out of the collector's walks.
        gc.freeze()
    return evaluator


def _evaluate_groups(
    shared: tuple[bytes, Mapping[str, Mapping[str, Any]]],
    groups: Iterable[tuple[str, Iterable[Line]]],
    charts_done: Any,
) -> Iterator[tuple[str, Any]]:
    spec_bytes, medications = shared
    evaluator = _evaluator(spec_bytes)
    for key, lines in groups:
        results, problems = evaluate_lines(evaluator, key, list(lines), medications)
        charts_done.add(len(results))
        for result in results:
            yield "result", result
        for problem in problems:
            yield "line-problem", problem


def _evaluate_bundle_files(
    shared: tuple[bytes, Mapping[str, Mapping[str, Any]]], paths: Iterable[str], charts_done: Any
) -> Iterator[tuple[str, ChartResult | Problem]]:
    evaluator = _evaluator(shared[0])
    for path in paths:
        bundle, why = read_bundle(Path(path))
        if why is not None:
            yield "problem", Problem(path, None, why)
            continue
        results, messages = evaluate_bundle(evaluator, bundle)
        charts_done.add(len(results))
        for result in results:
            yield "result", result
        for message in messages:
            yield "problem", Problem(path, None, message)

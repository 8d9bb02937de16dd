"""Spark stays out of the service: not in its runtime lock (so not in its image), never imported
by the request path, the CLI or the local engine."""

from __future__ import annotations

import subprocess
import sys

from tests.support.paths import REPO


def test_pyspark_is_in_the_dev_lock_only() -> None:
    runtime = (REPO / "requirements.lock").read_text()
    development = (REPO / "requirements-dev.lock").read_text()
    for package in ("pyspark==", "py4j=="):
        assert package not in runtime
        assert package in development


def test_only_the_spark_engine_imports_pyspark() -> None:
    probe = (
        "import sys\n"
        "import cds.api.app, cds.cli, cds.sweep.run, cds.sweep.local, cds.sweep.report\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.strip() == "[]"

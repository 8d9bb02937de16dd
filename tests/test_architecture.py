"""The architecture: the pure core reads no clock and does no IO, and rule code reaches other code
only by name.

The pure core is everything between the request's data and the cards: record building, Facts,
rule versions and their libraries, card selection and rendering, the pipeline. It takes `as_of`
as an input, so a replay is exact and a test never depends on the day it runs.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO

CDS = REPO / "cds"
RULES = CDS / "rules"
# Machinery around the rules, run at start-up or by developers, never on the request path: it
# reads released.json, source files (fingerprints) and the record contract, and writes releases.
TOOLING = {RULES / "registry.py", RULES / "release.py", RULES / "fingerprint.py"}
PURE_MODULES = sorted(
    {
        *(CDS / "record").rglob("*.py"),
        CDS / "fhir" / "bundles.py",
        CDS / "facts.py",
        CDS / "fhirtime.py",
        CDS / "cards.py",
        CDS / "pipeline.py",
        *RULES.rglob("*.py"),
    }
    - TOOLING
    # The contract of the record builder's output is read from package data, by tooling.
    - {CDS / "record" / "contract.py"}
)
# Rule versions, rule libraries and selection policies: their fingerprint follows names in the
# source (cds/rules/fingerprint.py), so they must not reach code dynamically.
STATIC_MODULES = sorted(
    p
    for p in PURE_MODULES
    if p.is_relative_to(RULES)
    and p not in TOOLING
    and p.name not in ("legacy.py", "legacy_base.py")
)
DYNAMIC_CALLS = frozenset(
    {
        "getattr",
        "setattr",
        "delattr",
        "globals",
        "locals",
        "vars",
        "eval",
        "exec",
        "__import__",
        "compile",
    }
)

FORBIDDEN_IMPORTS = frozenset(
    {
        "alembic",
        "asyncio",
        "fastapi",
        "http",
        "httpx",
        "io",
        "multiprocessing",
        "os",
        "psycopg",
        "random",
        "redis",
        "requests",
        "secrets",
        "shutil",
        "socket",
        "sqlalchemy",
        "sqlmodel",
        "ssl",
        "starlette",
        "subprocess",
        "sys",
        "tempfile",
        "threading",
        "time",
        "urllib",
        "uvicorn",
    }
)
# Calls that read the clock, randomness, the environment or files, whatever they are imported as.
FORBIDDEN_CALLS = frozenset({"open", "input", "print", "exec", "eval", "__import__", "breakpoint"})
FORBIDDEN_METHODS = frozenset(
    {
        "now",
        "utcnow",
        "today",
        "monotonic",
        "perf_counter",
        "process_time",
        "uuid1",
        "uuid4",
        "getenv",
        "urlopen",
        "read_text",
        "read_bytes",
        "write_text",
        "write_bytes",
        "iterdir",
        "glob",
        "rglob",
    }
)


def impurities(path: Path) -> list[str]:
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    label = path.relative_to(REPO) if path.is_relative_to(REPO) else path.name
    found = []
    for node in ast.walk(tree):
        where = f"{label}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            found += [
                f"{where} import {a.name}"
                for a in node.names
                if a.name.split(".")[0] in FORBIDDEN_IMPORTS
            ]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] in FORBIDDEN_IMPORTS:
                found.append(f"{where} from {node.module} import ...")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_CALLS:
                found.append(f"{where} {func.id}(...)")
            elif isinstance(func, ast.Attribute) and func.attr in FORBIDDEN_METHODS:
                found.append(f"{where} .{func.attr}(...)")
        elif isinstance(node, ast.Attribute) and node.attr == "environ":
            found.append(f"{where} .environ")
        elif isinstance(node, ast.Global | ast.Nonlocal):
            found.append(f"{where} global/nonlocal {', '.join(node.names)}")
    return found


def test_the_scan_covers_the_pure_core() -> None:
    names = {p.relative_to(CDS).as_posix() for p in PURE_MODULES}
    assert {"record/builder.py", "facts.py", "cards.py", "pipeline.py", "rules/base.py"} <= names
    assert any(n.startswith("rules/diuretic_electrolytes/v") for n in names)
    assert any(n.startswith("rules/lib/") for n in names)
    assert "rules/selection/v1.py" in names


def test_the_scan_finds_what_it_forbids(tmp_path: Path) -> None:
    impure = tmp_path / "impure.py"
    impure.write_text(
        "import time\nfrom datetime import datetime\nimport httpx\nimport os.path\n"
        "def f():\n    global X\n    return datetime.now(), time.time(), open('x'), os.environ\n"
        "def g(p):\n    return p.read_text(), date.today(), uuid.uuid4()\n"
    )
    found = "\n".join(impurities(impure))
    expected = (
        "import time",
        "import httpx",
        "import os.path",
        "global",
        ".now(",
        "open(",
        ".today(",
    )
    for impurity in (*expected, ".read_text(", ".uuid4(", ".environ"):
        assert impurity in found


@pytest.mark.parametrize("path", PURE_MODULES, ids=lambda p: p.relative_to(CDS).as_posix())
def test_pure_core_reads_no_clock_and_does_no_io(path: Path) -> None:
    assert impurities(path) == []


def test_importing_the_pure_core_loads_no_io_library() -> None:
    # In a fresh interpreter: the core and every rule module, nothing of HTTP or the database.
    code = (
        "import sys\n"
        "import cds.pipeline, cds.record, cds.facts, cds.cards\n"
        "from cds.rules.registry import load_registry\n"
        "load_registry()\n"
        "io = ('httpx', 'sqlmodel', 'sqlalchemy', 'fastapi', 'starlette', 'requests', 'redis',\n"
        "      'psycopg', 'alembic', 'uvicorn', 'urllib.request', 'http.client')\n"
        "print(','.join(m for m in io if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert result.stdout.strip() == ""


def dynamic_reaches(path: Path) -> list[str]:
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    label = path.relative_to(REPO) if path.is_relative_to(REPO) else path.name
    return [
        f"{label}:{node.lineno} {node.func.id}(...)"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in DYNAMIC_CALLS
    ] + [
        f"{label}:{node.lineno} import importlib"
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        and any(
            (a.name if isinstance(node, ast.Import) else node.module or "").startswith("importlib")
            for a in node.names
        )
    ]


@pytest.mark.parametrize("path", STATIC_MODULES, ids=lambda p: p.relative_to(CDS).as_posix())
def test_rules_reach_code_only_by_name(path: Path) -> None:
    """A rule version's fingerprint follows the names its code reads; getattr with a computed
    name, eval or an import at run time would reach code the fingerprint cannot see."""
    assert dynamic_reaches(path) == []


def test_the_dynamic_scan_finds_what_it_forbids(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text(
        "import importlib\ndef f(x, name):\n    return getattr(x, name), eval(name)\n"
    )
    found = "\n".join(dynamic_reaches(sneaky))
    for expected in ("getattr(", "eval(", "import importlib"):
        assert expected in found

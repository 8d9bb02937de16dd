"""A bad setting or a bad hooks/ file stops the service at start-up with a clear message."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from cds.cli import main
from cds.errors import ServiceConfigError
from cds.pipeline import Engine
from cds.rules.registry import read_released
from tests.support.paths import HOOKS
from tests.support.processes import free_port, wait_for_port


def _hooks_copy(tmp_path: Path) -> Path:
    target = tmp_path / "hooks"
    shutil.copytree(HOOKS, target)
    return target


def _edit(path: Path, **changes: object) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def test_the_shipped_hooks_load() -> None:
    engine = Engine.load(HOOKS)
    assert sorted(engine.services) == [
        "leg-pain-order-select",
        "leg-pain-order-sign",
        "leg-pain-patient-view",
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"rules": {"diuretic-electrolytes": "9.9.9"}},
            "unknown rule version diuretic-electrolytes@9.9.9",
        ),
        ({"rules": {"no-such-rule": "1.0.0"}}, "unknown rule version no-such-rule@1.0.0"),
        ({"hook": "encounter-start"}, "hook must be one of"),
        ({"id": "Not A Valid Id"}, "id"),
        ({"surprise": True}, "surprise"),
        ({"rules": {}}, "rules"),
    ],
)
def test_a_bad_service_file_names_the_file_and_the_problem(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    hooks = _hooks_copy(tmp_path)
    _edit(hooks / "leg-pain-patient-view.json", **change)
    with pytest.raises(ServiceConfigError) as raised:
        Engine.load(hooks)
    assert "leg-pain-patient-view.json" in str(raised.value)
    assert message in str(raised.value)


def test_invalid_json_in_a_service_file(tmp_path: Path) -> None:
    hooks = _hooks_copy(tmp_path)
    (hooks / "broken.json").write_text("{not json")
    with pytest.raises(ServiceConfigError, match=r"broken\.json"):
        Engine.load(hooks)


def test_two_files_with_the_same_service_id(tmp_path: Path) -> None:
    hooks = _hooks_copy(tmp_path)
    shutil.copy(hooks / "leg-pain-patient-view.json", hooks / "copy.json")
    with pytest.raises(ServiceConfigError, match="defined twice"):
        Engine.load(hooks)


def test_a_missing_hooks_directory(tmp_path: Path) -> None:
    with pytest.raises(ServiceConfigError, match="hooks directory not found"):
        Engine.load(tmp_path / "nowhere")


def test_cds_check_accepts_the_shipped_configuration() -> None:
    result = CliRunner().invoke(main, ["check"], env={"CDS_HOOKS_DIR": str(HOOKS)})
    assert result.exit_code == 0, result.output
    assert "configuration OK" in result.output


def test_cds_check_refuses_a_bad_hooks_file(tmp_path: Path) -> None:
    hooks = _hooks_copy(tmp_path)
    _edit(hooks / "leg-pain-order-sign.json", rules={"quinine-for-cramps": "0.0.1"})
    result = CliRunner().invoke(main, ["check"], env={"CDS_HOOKS_DIR": str(hooks)})
    assert result.exit_code != 0
    assert "leg-pain-order-sign.json" in result.output
    assert "quinine-for-cramps@0.0.1" in result.output


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"CDS_PORT": "not-a-port"}, "CDS_PORT"),
        ({"CDS_PORT": "70000"}, "CDS_PORT"),
        ({"CDS_LOG_FORMAT": "xml"}, "CDS_LOG_FORMAT"),
        ({"CDS_FHIR_TIMEOUT_SECONDS": "-1"}, "CDS_FHIR_TIMEOUT_SECONDS"),
        ({"CDS_ALLOWED_FHIR_SERVERS": "ftp://ehr.example.org"}, "CDS_ALLOWED_FHIR_SERVERS"),
        ({"CDS_JWT_REQUIRED": "true"}, "CDS_PUBLIC_URL"),
    ],
)
def test_a_bad_setting_stops_with_the_variable_named(env: dict[str, str], variable: str) -> None:
    result = CliRunner().invoke(main, ["check"], env=env)
    assert result.exit_code == 2
    assert variable in result.output


# ---------------------------------------------------------------------------------------------
# The first hour: what a newcomer or an operator gets wrong is one line, never a traceback


def run_cds(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> CdsRun:
    """The installed `cds` command in a process of its own, with only these CDS_* settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CDS_", "PROMETHEUS_"))}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cds"), *args],
        env={**clean, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    return CdsRun(result.returncode, lines)


@dataclass(frozen=True)
class CdsRun:
    exit_code: int
    lines: list[str]


@pytest.mark.parametrize("command", ["migrate", "serve"])
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://cds:secret@db.example.org/cds", "mysql"),
        ("sqlite:///{tmp}/no-such-folder/cds.db", "no-such-folder"),
    ],
    ids=["unknown scheme", "missing folder"],
)
def test_a_bad_database_url_is_one_line_naming_the_variable(
    tmp_path: Path, command: str, url: str, expected: str
) -> None:
    run = run_cds(command, env={"CDS_DATABASE_URL": url.format(tmp=tmp_path)}, cwd=tmp_path)
    assert run.exit_code == 2
    assert len(run.lines) == 1, run.lines
    assert "CDS_DATABASE_URL" in run.lines[0]
    assert expected in run.lines[0]
    assert "secret" not in run.lines[0]
    assert not (tmp_path / "no-such-folder").exists()


def test_an_unreachable_database_is_one_line_from_migrate(tmp_path: Path) -> None:
    url = f"postgresql://cds:secret@127.0.0.1:{free_port()}/cds"
    run = run_cds("migrate", env={"CDS_DATABASE_URL": url}, cwd=tmp_path)
    assert run.exit_code == 1
    assert len(run.lines) == 1, run.lines
    assert "CDS_DATABASE_URL" in run.lines[0]
    assert "refused" in run.lines[0].lower()
    assert "secret" not in run.lines[0]


def test_a_taken_port_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = run_cds("serve", "--port", str(port), cwd=tmp_path)
    assert run.exit_code == 1
    assert len(run.lines) == 1, run.lines
    assert f"127.0.0.1:{port}" in run.lines[0]
    assert "already in use" in run.lines[0]
    assert "--port" in run.lines[0]


def test_cds_version_names_the_package_and_the_ruleset() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    release = read_released().current
    assert result.output == f"cds {version('legpain-cds')} (ruleset {release})\n"


def test_serve_takes_host_and_port_from_its_flags(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "cds"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("CDS_", "PROMETHEUS_"))},
            "CDS_PORT": "1",  # the flag wins over the setting
            "CDS_DATABASE_URL": f"sqlite:///{tmp_path / 'cds.db'}",
        },
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=30)
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)

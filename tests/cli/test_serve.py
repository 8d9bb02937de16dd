"""A bad setting or a bad hooks/ file stops the service at start-up with a clear message."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cds.cli import main
from cds.errors import ServiceConfigError
from cds.pipeline import Engine
from tests.support.paths import HOOKS


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

"""FHIR R4B validation (cds.validation): every resource a card can carry is valid, `cds check`
says so, and the request path never loads the FHIR models."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from click.testing import CliRunner

from cds.cli import main
from cds.pipeline import Engine
from cds.replay.runner import Replayer
from cds.replay.scenario import discover
from cds.replay.targets import InProcessTarget
from cds.validation import emitted_resources, invalid_resources, resource_problem
from tests.support.paths import FIXTURES, HOOKS, REPO

NO_DATA = "protocol--null-prefetch-is-no-data"  # a whole request, answered 200


def test_every_resource_a_card_can_carry_is_valid_r4b(engine: Engine) -> None:
    emitted = emitted_resources(engine)
    assert len(emitted) > 20
    assert {resource["resourceType"] for _, resource in emitted} == {"ServiceRequest"}
    assert [(label, resource_problem(r)) for label, r in emitted if resource_problem(r)] == []


def test_the_emitted_resources_cover_every_suggestion_the_fixtures_get(engine: Engine) -> None:
    """Suggestions are a rule version's parameters: what cards carry is what check validates."""
    codes = {_code(resource) for _, resource in emitted_resources(engine)}
    seen: set[tuple[str, str]] = set()
    with Replayer(InProcessTarget(engine)) as replayer:
        for candidate in discover([FIXTURES]):
            result = replayer.replay_candidate(candidate)
            assert result is not None
            body = result.response if isinstance(result.response, dict) else {}
            for card in body.get("cards", []):
                for suggestion in card.get("suggestions", []):
                    # Orders the service writes; a stop or hold acts on the EHR's own order.
                    seen |= {
                        _code(action["resource"])
                        for action in suggestion["actions"]
                        if action["type"] == "create"
                    }
    assert seen, "the fixtures get cards with suggestions"
    assert seen <= codes


def _code(resource: dict[str, Any]) -> tuple[str, str]:
    code = resource["code"]
    return code["text"], ",".join(c["code"] for c in code.get("coding", []))


def test_invalid_resources_say_which_and_why() -> None:
    found = invalid_resources(
        [
            {"resourceType": "Observation", "id": "k-1", "status": "final", "code": {"text": "K"}},
            {"resourceType": "Observation", "id": "k-2", "status": "final"},
            {"resourceType": "ServiceRequest", "status": "draft", "intent": "proposal"},
            {"resourceType": "NotAResource"},
            "text",
        ]
    )
    assert [(f.label, f.problem) for f in found] == [
        ("Observation/k-2", "code: Field required"),
        ("ServiceRequest #3", "subject: Field required"),
        ("NotAResource #4", "resourceType 'NotAResource' is not an R4B resource"),
        ("resource #5", "not a JSON object"),
    ]


def test_cds_check_validates_what_cards_can_carry() -> None:
    result = CliRunner().invoke(main, ["check"], env={"CDS_HOOKS_DIR": str(HOOKS)})
    assert result.exit_code == 0, result.output
    assert "FHIR resources cards can carry: valid R4B" in result.output


def test_the_served_app_never_loads_the_fhir_models() -> None:
    code = (
        "import json, sys\n"
        "SERVICE = 'leg-pain-patient-view'\n"
        "from fastapi.testclient import TestClient\n"
        "from cds.api.app import create_app\n"
        "from cds.audit.store import MemoryAuditStore\n"
        "from cds.settings import Settings\n"
        "app = create_app(Settings(database_url='sqlite://'), store=MemoryAuditStore())\n"
        "body = json.loads(open(sys.argv[1]).read())\n"
        "with TestClient(app) as client:\n"
        "    assert client.get('/cds-services').status_code == 200\n"
        "    assert client.post(f'/cds-services/{SERVICE}', json=body).status_code == 200\n"
        "    assert client.get('/openapi.json').status_code == 200\n"
        "print(sorted(m for m in sys.modules if m.startswith('fhir')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(FIXTURES / NO_DATA / "request.json")],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    assert result.stdout.strip() == "[]"

"""Every scenario under fixtures/ replayed in process, and the checks that keep the set honest:
each scenario.json follows the documented format (fixtures/README.md), every rule pinned in
hooks/ has at least two positive and one negative scenario, and a scenario that demands exactly
its cards (`expect.only`) fails when one more card comes back."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from cds.errors import ReplayInputError
from cds.pipeline import Engine
from cds.replay.runner import Replayer
from cds.replay.scenario import Scenario, is_scenario_folder, load_scenario, read_scenario
from cds.replay.targets import Answer, InProcessTarget
from cds.services import ServiceDefinition
from cds.settings import Settings
from tests.support.paths import CLINICAL_CONTENT, FIXTURES

FIXTURE_DIRS = sorted(p for p in FIXTURES.iterdir() if is_scenario_folder(p))
ONLY_DIRS = [p for p in FIXTURE_DIRS if read_scenario(p / "scenario.json").expect.only]
ORDER_HOOK_SERVICES = ("leg-pain-order-select", "leg-pain-order-sign")
MIN_POSITIVE = 2
MIN_NEGATIVE = 1


def catalog_rule_ids() -> set[str]:
    """The rule ids of the clinical catalog: the §2-§18 headings, plus the rule ids the catalog
    gives inside a section (venous-insufficiency in §17)."""
    text = CLINICAL_CONTENT.read_text("utf-8")
    headings = re.findall(r"^## \d+\. (?:Optional: )?`([a-z0-9-]+)`", text, flags=re.MULTILINE)
    inline = re.findall(r"codes\.tsv rule id `([a-z0-9-]+)`", text)
    return {*headings, *inline}


@pytest.mark.parametrize("folder", FIXTURE_DIRS, ids=[p.name for p in FIXTURE_DIRS])
def test_fixture(folder: Path, engine: Engine) -> None:
    item = load_scenario(folder)
    assert item.scenario is not None
    with Replayer(InProcessTarget(engine, Settings())) as replayer:
        result = replayer.replay(item)
    assert result.verdict == "pass", f"{folder.name}: {item.scenario.description}\n{result.diff}"


def test_every_pinned_rule_has_positive_and_negative_fixtures(engine: Engine) -> None:
    # Only rules pinned in hooks/ are held to it, so the requirement grows as rules are pinned.
    pinned = {rule.id for service in engine.services.values() for rule in service.rules}
    positive: Counter[str] = Counter()
    negative: Counter[str] = Counter()
    for folder in FIXTURE_DIRS:
        expect = read_scenario(folder / "scenario.json").expect
        positive.update(card.rule for card in expect.cards)
        negative.update(expect.absent)
    short = [
        f"{rule}: {positive[rule]} positive (need {MIN_POSITIVE}), "
        f"{negative[rule]} negative (need {MIN_NEGATIVE})"
        for rule in sorted(pinned)
        if positive[rule] < MIN_POSITIVE or negative[rule] < MIN_NEGATIVE
    ]
    assert not short, "rules without enough fixtures:\n" + "\n".join(short)


def test_catalog_rule_ids_are_read() -> None:
    # The format check below relies on this list; a parsing slip would let typos through.
    ids = catalog_rule_ids()
    assert len(ids) == 18
    assert {"diuretic-electrolytes", "quinine-for-cramps", "venous-insufficiency"} <= ids


def test_every_fixture_folder_follows_the_format(engine: Engine) -> None:
    catalog = catalog_rule_ids()
    problems: list[str] = []
    for folder in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        if not is_scenario_folder(folder):
            problems.append(f"{folder.name}: no scenario.json")
            continue
        try:
            item = load_scenario(folder)  # unknown keys, as_of offset, bundle XOR request
        except ReplayInputError as exc:
            problems.append(f"{folder.name}: {exc}")
            continue
        assert item.scenario is not None
        scenario = item.scenario
        service = engine.services.get(scenario.service)
        if service is None:
            problems.append(f"{folder.name}: unknown service {scenario.service!r}")
        elif scenario.draftOrders and service.hook not in ("order-select", "order-sign"):
            problems.append(f"{folder.name}: draftOrders with a {service.hook} service")
        elif service.hook in ("order-select", "order-sign") and not scenario.expect.only:
            # The hook shows only cards about the drafted order (and critical ones): exactly.
            problems.append(f"{folder.name}: an order-hook scenario must set expect.only")
        named = [c.rule for c in scenario.expect.cards] + list(scenario.expect.absent)
        unknown = sorted(set(named) - catalog)
        if unknown:
            problems.append(f"{folder.name}: rule ids not in the catalog: {unknown}")
    assert not problems, "\n".join(problems)


VALID: dict[str, Any] = {
    "description": "d",
    "service": "leg-pain-patient-view",
    "as_of": "2026-11-21T12:00:00Z",
    "expect": {"status": 200},
}


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"expected": {}}, id="unknown-top-level-key"),
        pytest.param({"expect": {"status": 200, "card": []}}, id="unknown-expect-key"),
        pytest.param(
            {"expect": {"cards": [{"rule": "x", "indicator": "warning", "sev": 1}]}},
            id="unknown-card-key",
        ),
        pytest.param({"as_of": "2026-11-21T12:00:00"}, id="as_of-without-offset"),
        pytest.param({"as_of": None}, id="as_of-missing"),
        pytest.param(
            {"expect": {"cards": [{"rule": "x", "indicator": "urgent"}]}}, id="bad-indicator"
        ),
        pytest.param({"expect": {"status": 412, "absent": ["x"]}}, id="absent-on-non-200"),
        pytest.param(
            {"expect": {"cards": [{"rule": "x", "indicator": "info"}], "absent": ["x"]}},
            id="expected-and-absent",
        ),
    ],
)
def test_scenario_format_rejects(change: dict[str, Any]) -> None:
    data = {**VALID, **change}
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(ValueError, match="validation error"):
        Scenario.model_validate(data)


def test_scenario_format_accepts_the_documented_example() -> None:
    scenario = Scenario.model_validate(
        {
            **VALID,
            "draftOrders": [{"resourceType": "MedicationRequest", "id": "d"}],
            "expect": {
                "status": 200,
                "cards": [{"rule": "diuretic-electrolytes", "indicator": "warning"}],
                "absent": ["electrolyte-abnormality"],
                "only": False,
            },
        }
    )
    assert scenario.as_of.utcoffset() is not None


class WithExtraCard:
    """The in-process target, with one more (valid) card in every 200 answer: what a rule firing
    on a chart where it must not looks like."""

    over_http = False

    def __init__(self, target: InProcessTarget, rule: str) -> None:
        self.target = target
        self.card = {
            "summary": "A card no scenario asked for",
            "indicator": "info",
            "source": {"label": "extra", "topic": {"system": "urn:test", "code": rule}},
        }

    async def services(self) -> Mapping[str, ServiceDefinition]:
        return await self.target.services()

    async def call(self, service_id: str, body: dict[str, Any], as_of: datetime) -> Answer:
        answer = await self.target.call(service_id, body, as_of)
        if answer.status != 200:
            return answer
        return dataclasses.replace(
            answer, body={**answer.body, "cards": [*answer.body["cards"], self.card]}
        )

    async def aclose(self) -> None:
        await self.target.aclose()


def test_scenarios_that_must_get_no_other_card_say_so() -> None:
    # The charts the hook filter or the leg-complaint gate (§1.6) decide, and the protocol
    # cases whose data must not make a card of its own.
    assert len(ONLY_DIRS) >= 10
    assert any(p.name.endswith("no-complaint-no-card") for p in ONLY_DIRS)


@pytest.mark.parametrize("folder", ONLY_DIRS, ids=[p.name for p in ONLY_DIRS])
def test_an_extra_card_fails_an_only_scenario(folder: Path, engine: Engine) -> None:
    item = load_scenario(folder)
    assert item.scenario is not None
    named = {c.rule for c in item.scenario.expect.cards} | set(item.scenario.expect.absent)
    extra = next(rule for rule in sorted(catalog_rule_ids()) if rule not in named)
    target = WithExtraCard(InProcessTarget(engine, Settings()), extra)
    with Replayer(target) as replayer:
        result = replayer.replay(item)
    assert result.verdict == "fail"
    assert result.problems == [f"unexpected card {extra}:info (expect.only: no other card)"]

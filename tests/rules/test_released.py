"""What is released stays what it was, and every version reads only what it declares.

`cds/rules/released.json` pins the fingerprint of every released rule version, card-selection
policy and terminology release (cds/rules/fingerprint.py says what a fingerprint covers).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from cds.facts import UndeclaredValueSet
from cds.fhir.bundles import resource_list
from cds.rules.base import RuleVersion
from cds.rules.registry import RuleRegistry, load_registry, released_parts
from cds.rules.release import Catalog, plan_release
from tests.support.fhir import ICD10, condition, medication_request, observation
from tests.support.paths import FIXTURES, HOOKS, SYNTHEA_BUNDLES
from tests.support.rules import rule_facts, run_rule


@pytest.fixture(scope="module")
def registry() -> RuleRegistry:
    return load_registry()


@pytest.fixture(scope="module")
def catalog(registry: RuleRegistry) -> Catalog:
    return Catalog.load(registry)


# -- the released catalog ------------------------------------------------------------------------


def test_every_released_version_is_unchanged(catalog: Catalog) -> None:
    plan = plan_release(catalog)
    problems = [line for line in plan.problems() if not line.startswith(("UNWRITTEN", "COPY"))]
    assert not problems, (
        "Released rule versions, policies or terminology changed. Restore them and put the "
        "change in a new version (`cds rules new <rule>`):\n" + "\n".join(problems)
    )


def test_released_parts_match_the_released_fingerprints(registry: RuleRegistry) -> None:
    for key, digest in registry.released.rules.items():
        parts = released_parts(key)
        assert parts is not None, f"{key}: no cds/rules/released/{key}.json"
        text = "\n".join(f"{name}={value}" for name, value in sorted(parts.items()))
        assert "sha256:" + hashlib.sha256(text.encode()).hexdigest() == digest, key


def pins() -> Iterator[tuple[str, str]]:
    for path in sorted(HOOKS.glob("*.json")):
        spec = json.loads(path.read_text("utf-8"))
        for rule_id, version in spec["rules"].items():
            yield path.name, f"{rule_id}@{version}"


@pytest.mark.parametrize(("hook_file", "key"), list(pins()))
def test_every_pinned_version_is_released(registry: RuleRegistry, hook_file: str, key: str) -> None:
    assert key in registry.rules, f"{hook_file} pins {key}, which no module defines"
    assert key in registry.released.rules, f"{hook_file} pins {key}, which is not released"


def test_the_current_release_lists_what_the_services_pin(registry: RuleRegistry) -> None:
    assert set(registry.release.rules) == {key for _, key in pins()}


def test_every_rule_version_module_matches_its_rule(registry: RuleRegistry) -> None:
    for key, module in registry.modules.items():
        rule = registry.rules[key]
        assert module.__name__.rsplit(".", 1)[-1] == "v" + rule.version.replace(".", "_"), key
        assert module.__name__.split(".")[2] == rule.id.replace("-", "_"), key


# -- declared value sets ------------------------------------------------------------------------


def test_every_value_set_named_in_a_versions_code_is_declared(catalog: Catalog) -> None:
    undeclared = {
        key: sorted(fingerprint.valuesets_mentioned - set(catalog.registry.rules[key].valuesets))
        for key, fingerprint in catalog.fingerprints.items()
    }
    assert not {k: v for k, v in undeclared.items() if v}


def corpus_requests() -> Iterator[tuple[str, list[dict[str, Any]], datetime]]:
    """Fixture records at their as_of, and every Synthea patient at its last date with a leg
    complaint added (so candidate-cause logic runs too)."""
    for folder in sorted(FIXTURES.iterdir()):
        bundle = folder / "bundle.json"
        if not bundle.is_file():
            continue
        scenario = json.loads((folder / "scenario.json").read_text("utf-8"))
        as_of = datetime.fromisoformat(scenario["as_of"])
        resources = [dict(r) for r in resource_list(json.loads(bundle.read_text("utf-8")))]
        yield folder.name, resources, as_of
    for path in sorted(SYNTHEA_BUNDLES.glob("*.json")):
        resources = [dict(r) for r in resource_list(orjson.loads(path.read_bytes()))]
        last = max(
            datetime.fromisoformat(r["effectiveDateTime"])
            for r in resources
            if isinstance(r.get("effectiveDateTime"), str)
        )
        complaint = condition("G47.62", system=ICD10, display="Sleep related leg cramps")
        complaint["onsetDateTime"] = (last - timedelta(days=7)).isoformat()
        yield path.stem, [*resources, complaint], last.astimezone(UTC)


def test_no_version_reads_a_value_set_it_does_not_declare(registry: RuleRegistry) -> None:
    read: dict[str, set[str]] = {key: set() for key in registry.rules}
    for name, resources, as_of in corpus_requests():
        for rule in registry.rules.values():
            facts = rule_facts(rule, *resources, as_of=as_of, with_patient=False)
            try:
                rule.logic.evaluate(facts)
            except UndeclaredValueSet as exc:
                pytest.fail(f"{name}: {exc}")
            read[rule.key] |= facts.read
    # The corpus makes every version read something (the check ran).
    assert all(read.values())


def test_reading_an_undeclared_value_set_fails_naming_it(registry: RuleRegistry) -> None:
    diuretic = registry.get("diuretic-electrolytes", "1.0.0")
    narrowed = replace(diuretic, valuesets=tuple(v for v in diuretic.valuesets if v != "sodium"))
    resources = (
        medication_request("5487", "Hydrochlorothiazide 25 MG Oral Tablet"),
        observation("2951-2", 131, "mmol/L"),
    )
    assert run_rule(diuretic, *resources) is not None
    expected = re.escape("diuretic-electrolytes@1.0.0 reads value set 'sodium'")
    with pytest.raises(UndeclaredValueSet, match=expected):
        run_rule(narrowed, *resources)


def test_every_version_names_its_terminology_release(registry: RuleRegistry) -> None:
    catalog_releases = set(Catalog.load(registry).terminologies)
    for rule in registry.rules.values():
        assert isinstance(rule, RuleVersion)
        assert rule.terminology in catalog_releases, rule.key

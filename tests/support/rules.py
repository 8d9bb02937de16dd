"""Running rule versions over FHIR test resources, and the checks every fired card must pass.

Rule tests run against every version of their rule defined in the code (released or not): each
rule test module defines its `rule` fixture with `rule = rule_fixture("<rule-id>")`, and a test
that holds only for some versions says so with `@pytest.mark.rule_versions(since=..., until=...)`
(tests/conftest.py leaves the other versions out). So an old version keeps passing its own
expectations while a new one is developed beside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from functools import cache
from typing import Any

import pytest
from _pytest.mark import ParameterSet

from cds.facts import Facts
from cds.pipeline import Engine
from cds.rules.base import Finding, Fired, Provenance, RuleLogic, RuleVersion
from cds.rules.registry import RuleRegistry, load_registry, version_key
from cds.services import derive_prefetch
from cds.terminology import Terminology
from tests.support.fhir import AS_OF, record_facts

# A card never claims a cause is ruled out (catalog §1.4): these words must not appear.
RULING_OUT_WORDS = ("ruled out", "rule out", "unlikely", "excluded")


@cache
def registry() -> RuleRegistry:
    return load_registry()


@cache
def terminology_release(release: str) -> Terminology:
    return Terminology.load(release)


def versions(rule_id: str) -> list[ParameterSet]:
    """Every version of a rule in the code, oldest first, as pytest params (id = version)."""
    found = registry().versions_of(rule_id)
    if not found:
        raise LookupError(f"no rule {rule_id!r}")
    return [pytest.param(rule, id=rule.version) for rule in found]


def rule_fixture(rule_id: str) -> object:
    """A test module's `rule` fixture, `rule = rule_fixture("dvt-risk")`: each test that takes
    `rule` runs once per version of the rule."""

    @pytest.fixture(params=versions(rule_id))
    def rule(request: pytest.FixtureRequest) -> RuleVersion:
        version: RuleVersion = request.param
        return version

    return rule


def in_range(version: str, *, since: str | None = None, until: str | None = None) -> bool:
    """Whether `version` is within [since, until] (both inclusive, either open)."""
    key = version_key(version)
    if since is not None and key < version_key(since):
        return False
    return not (until is not None and key > version_key(until))


def rule_facts(
    rule: RuleVersion,
    *resources: Mapping[str, Any],
    draft_orders: tuple[Mapping[str, Any], ...] | list[Mapping[str, Any]] = (),
    as_of: datetime = AS_OF,
    with_patient: bool = True,
) -> Facts:
    """The Facts a rule version receives for these resources: at its terminology release, its
    declared value sets only (an undeclared read fails the test)."""
    shared = record_facts(
        terminology_release(rule.terminology),
        resources,
        draft_orders=draft_orders,
        as_of=as_of,
        with_patient=with_patient,
    )
    return Facts(shared, valuesets=rule.valuesets, reader=rule.key)


def run_rule(rule: RuleVersion, *resources: Mapping[str, Any], **kwargs: Any) -> Finding | None:
    return rule.logic.evaluate(rule_facts(rule, *resources, **kwargs))


def fired_rule(rule: RuleVersion, *resources: Mapping[str, Any], **kwargs: Any) -> Finding:
    """The finding, which must exist, fit the summary limit and never rule a cause out (in its
    summary, explanation, cautions or the reasons of its suggestions)."""
    finding = run_rule(rule, *resources, **kwargs)
    assert finding is not None, f"{rule.key} did not fire"
    assert len(finding.summary) < 140
    reasons = [s.reason for s in finding.suggestions]
    text = " ".join([finding.summary, finding.explanation, *finding.cautions, *reasons]).lower()
    for phrase in RULING_OUT_WORDS:
        assert phrase not in text, f"{rule.key} says {phrase!r}"
    return finding


def trial_version(
    rule: RuleVersion,
    version: str,
    *,
    non_essential: Iterable[str] = (),
    logic: RuleLogic | None = None,
) -> RuleVersion:
    """A test-only version of a rule: its requirements of the types in `non_essential` declared
    non-essential (read for context or for candidate causes only), and another `logic` if
    given. Never registered or released: tests put it in a service of their own
    (`service_with`)."""
    optional = set(non_essential)
    unknown = optional - {r.resource_type for r in rule.requires}
    if unknown:
        raise ValueError(f"{rule.key} does not read {sorted(unknown)}")
    requires = tuple(
        replace(r, essential=False) if r.resource_type in optional else r for r in rule.requires
    )
    return replace(
        rule, version=version, requires=requires, logic=logic if logic is not None else rule.logic
    )


def service_with(engine: Engine, service_id: str, rules: Sequence[RuleVersion]) -> Engine:
    """`engine` with `service_id` running exactly `rules`, its prefetch derived from them as
    at start-up."""
    service = engine.services[service_id]
    patched = replace(
        service, rules=tuple(rules), prefetch=derive_prefetch(rules, engine.terminologies)
    )
    return replace(engine, services={**engine.services, service_id: patched})


def fired(rule_id: str, **changes: Any) -> Fired:
    """A finding of a made-up rule `rule_id` (a warning unless `changes` say otherwise), for
    testing card selection on its own."""
    rule = RuleVersion(
        id=rule_id,
        version="1.0.0",
        title=rule_id,
        severities=("info", "warning", "critical"),
        logic=RuleLogic(),
        requires=(),
        valuesets=(),
        terminology="2026.11",
        provenance=Provenance(guideline="-", url="-", released="-", changes="-"),
    )
    finding = Finding(severity="warning", summary=rule_id, explanation="-", specificity=50)
    return Fired(rule, replace(finding, **changes))

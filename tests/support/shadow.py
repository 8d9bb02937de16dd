"""Shadow rule versions for tests: versions that exist only here (never released, never in
cds/rules/), an Engine whose registry holds them, and hooks folders that list them as shadows.

- `STRICTER_DIURETIC`: diuretic-electrolytes with every low potassium critical (a new version
  of a pinned rule that fires, with another indicator);
- `RAISES`: a rule not pinned anywhere whose logic raises;
- `NEEDS_D_DIMER`: a rule reading D-dimer results, which no pinned rule reads, so the
  service's Observation prefetch does not ask for them (data the call lacks);
- `NEWER_TERMINOLOGY`: electrolyte-abnormality at terminology 2026.12 (the pins read 2026.11:
  its record is built by the engine's builder for 2026.12);
- `SLOW`: a rule not pinned whose logic sleeps `SLOW_SECONDS`.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cds.facts import Facts
from cds.fhir.bundles import resource_list
from cds.fhir.date_shift import days_to_yesterday, shift_in_place
from cds.pipeline import Engine
from cds.replay.hook_request import build_hook_request
from cds.replay.scenario import hook_instance_for, load_scenario
from cds.rules.base import DataRequirement, Finding, Provenance, RuleLogic, RuleVersion
from cds.rules.diuretic_electrolytes import v1_0_0 as diuretic
from cds.rules.electrolyte_abnormality import v1_0_0 as electrolytes
from cds.rules.registry import load_registry
from cds.services import load_services
from tests.support.paths import HOOKS

# The shadow machinery is tested on ruleset 2026.11.1 (every rule at 1.0.0, terminology
# 2026.11), whatever the shipped files pin: a stable set of pins, with a newer terminology
# release at hand for a shadow version to read.
FIRST_PINS = dict(key.split("@") for key in load_registry().released.releases["2026.11.1"].rules)
SLOW_SECONDS = 0.5
PROVENANCE = Provenance(
    guideline="Test version (tests/support/shadow.py)",
    url="https://example.org/test",
    released="2026-12-08",
    changes="A test version: never released.",
)


@dataclass(frozen=True)
class Raises(RuleLogic):
    def evaluate(self, facts: Facts) -> Finding | None:
        raise RuntimeError("this shadow version is broken")


@dataclass(frozen=True)
class DDimerOnRecord(RuleLogic):
    def evaluate(self, facts: Facts) -> Finding | None:
        if not facts.results_of("d-dimer"):
            return None
        return Finding(
            severity="info",
            summary="D-dimer result on record.",
            explanation="A test finding.",
            specificity=50,
        )


@dataclass(frozen=True)
class Sleeps(RuleLogic):
    def evaluate(self, facts: Facts) -> Finding | None:
        time.sleep(SLOW_SECONDS)
        return None


def _new_rule(rule_id: str, logic: RuleLogic, *requires: DataRequirement) -> RuleVersion:
    return RuleVersion(
        id=rule_id,
        version="0.1.0",
        title=f"Test rule {rule_id}",
        severities=("info",),
        logic=logic,
        requires=requires,
        valuesets=tuple(name for r in requires for name in r.valuesets or ()),
        terminology="2026.11",
        provenance=PROVENANCE,
    )


STRICTER_DIURETIC = diuretic.RULE.revise(
    version="9.1.0",
    logic=replace(diuretic.LOGIC, k_critical=3.5),
    provenance=replace(diuretic.RULE.provenance, changes="Every low potassium is critical."),
)
RAISES = _new_rule("shadow-probe-raises", Raises())
NEEDS_D_DIMER = _new_rule(
    "shadow-probe-d-dimer", DDimerOnRecord(), DataRequirement("Observation", ("d-dimer",))
)
NEWER_TERMINOLOGY = electrolytes.RULE.revise(
    version="9.0.0", terminology="2026.12", provenance=PROVENANCE
)
SLOW = _new_rule("shadow-probe-slow", Sleeps())
TEST_VERSIONS = (STRICTER_DIURETIC, RAISES, NEEDS_D_DIMER, NEWER_TERMINOLOGY, SLOW)


def shadow_hooks(
    folder: Path,
    shadow: Mapping[str, str],
    *,
    source: Path = HOOKS,
    rules: Mapping[str, str] | None = None,
) -> Path:
    """A copy of the hooks files of `source` in `folder`, each listing `shadow` (and pinning
    `rules` instead of its own pins, if given)."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*.json")):
        spec = json.loads(path.read_text("utf-8"))
        if rules is not None:
            spec["rules"] = dict(rules)
        if shadow:
            spec["shadow"] = dict(shadow)
        (folder / path.name).write_text(json.dumps(spec, indent=2) + "\n", "utf-8")
    return folder


def engine_with(hooks: Path, *versions: RuleVersion) -> Engine:
    """The engine `Engine.load(hooks)` would be if `versions` were in cds/rules/ (unreleased)."""
    registry = load_registry()
    registry = replace(registry, rules={**registry.rules, **{v.key: v for v in versions}})
    engine = Engine.for_registry(registry)
    return replace(engine, services=load_services(hooks, registry, engine.terminologies))


def fixture_call(folder: Path, engine: Engine) -> tuple[str, dict[str, Any]]:
    """A fixture's service and request body, its dates moved so the latest is yesterday (the
    served app judges at its clock, and fixtures are dated)."""
    item = load_scenario(folder)
    assert item.scenario is not None
    service = engine.services[item.scenario.service]
    if item.request is not None:
        body = copy.deepcopy(item.request)
    else:
        assert item.bundle is not None
        body = build_hook_request(
            item.bundle,
            service,
            hook_instance=hook_instance_for(folder / "bundle.json"),
            draft_orders=list(item.scenario.draftOrders or ()) or None,
        )
    prefetch = body.get("prefetch")
    if isinstance(prefetch, dict):
        resources = [r for value in prefetch.values() for r in resource_list(value)]
        shift_in_place(prefetch, days_to_yesterday(resources, datetime.now(UTC)))
    return service.id, body

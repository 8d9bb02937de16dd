"""Running one rule over FHIR test resources, and the checks every fired card must pass."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cds.rules.base import Finding, Rule
from cds.terminology import Terminology
from tests.support.fhir import facts_for

# A card never claims a cause is ruled out (catalog §1.4): these words must not appear.
RULING_OUT_WORDS = ("ruled out", "unlikely", "excluded")


def run_rule(
    rule: Rule, terminology: Terminology, *resources: Mapping[str, Any], **kwargs: Any
) -> Finding | None:
    return rule.evaluate(facts_for(terminology, resources, **kwargs))


def fired_rule(
    rule: Rule, terminology: Terminology, *resources: Mapping[str, Any], **kwargs: Any
) -> Finding:
    """The finding, which must exist, fit the summary limit and never rule a cause out."""
    finding = run_rule(rule, terminology, *resources, **kwargs)
    assert finding is not None
    assert len(finding.summary) < 140
    text = f"{finding.summary} {finding.explanation} {' '.join(finding.cautions)}".lower()
    for phrase in RULING_OUT_WORDS:
        assert phrase not in text
    return finding

"""The versioned rule catalog.

Each rule lives in its own package (`cds/rules/<rule_id>/`), one module per version
(`v1_0_0.py`, `v1_1_0.py`, ...) exposing `RULE`, a `RuleVersion`. A later version reuses the
previous one's logic and states only what differs. The clinical questions rules share are the
versioned libraries of `cds/rules/lib/`; which findings become cards is the ruleset release's
card-selection policy (`cds/rules/selection/`).

A released version is immutable: its fingerprint (`cds/rules/fingerprint.py`) is recorded in
`released.json` and checked by the test suite, so changing what a released version does without
a new version fails CI. The services in hooks/ pin the versions they run.
"""

from cds.rules.base import (
    DataRequirement,
    Evidence,
    Finding,
    Fired,
    OrderSuggestion,
    Provenance,
    RuleLogic,
    RuleVersion,
)
from cds.rules.registry import RuleRegistry, load_registry

__all__ = [
    "DataRequirement",
    "Evidence",
    "Finding",
    "Fired",
    "OrderSuggestion",
    "Provenance",
    "RuleLogic",
    "RuleRegistry",
    "RuleVersion",
    "load_registry",
]

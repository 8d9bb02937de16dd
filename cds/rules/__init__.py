"""The versioned rule catalog.

Each rule lives in its own package (`cds/rules/<rule_id>/`), one module per version
(`v1_0_0.py`, `v1_1_0.py`, ...) exposing `RULE`. A released version is immutable: its content
hash is recorded in `released.json` and checked by the test suite, so changing released logic
without a new version fails CI. The services in hooks/ pin the versions they run.
"""

from cds.rules.base import DataRequirement, Evidence, Finding, OrderSuggestion, Provenance, Rule
from cds.rules.registry import RuleRegistry, load_registry

__all__ = [
    "DataRequirement",
    "Evidence",
    "Finding",
    "OrderSuggestion",
    "Provenance",
    "Rule",
    "RuleRegistry",
    "load_registry",
]

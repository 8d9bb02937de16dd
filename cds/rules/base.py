"""What a rule is, and what it produces.

A rule version is immutable once released (see `cds/rules/released.json`). It is pure: its
`evaluate` reads only the `Facts` it is given, and returns a `Finding` (or None). Turning a finding
into a CDS Hooks card is `cds.cards`' job, so rules never touch the wire format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from cds.facts import Facts

Severity = Literal["info", "warning", "critical"]
SEVERITY_RANK: dict[str, int] = {"critical": 0, "warning": 1, "info": 2}

ResourceType = Literal[
    "Patient",
    "Condition",
    "Observation",
    "MedicationRequest",
    "MedicationStatement",
    "MedicationAdministration",
    "Procedure",
    "Encounter",
    "AllergyIntolerance",
    "FamilyMemberHistory",
]


@dataclass(frozen=True)
class DataRequirement:
    """Which data a rule reads: drives the service's prefetch templates.

    `valuesets` narrows the query to codes (for Observation: `code=`); None means all resources of
    that type for the patient (needed where matching is by product or text, or sets are huge).
    """

    resource_type: ResourceType
    valuesets: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Provenance:
    guideline: str  # the guideline(s) and references the logic follows
    url: str  # the guideline's address, shown as the card source
    released: str  # ISO date of this version
    changes: str  # what changed from the previous version ("first release" for 1.0.0)
    rationale: str = ""  # choices made where the catalog left one open, and why


@dataclass(frozen=True)
class Evidence:
    """One fact behind a finding, as a clinician would want it listed."""

    label: str  # e.g. "Potassium", "Furosemide 40 MG Oral Tablet"
    value: str = ""  # e.g. "3.1 mmol/L (ref 3.5-5.1)"
    when: datetime | None = None
    reference: str = ""  # FHIR reference of the resource, e.g. "Observation/123"
    note: str = ""  # e.g. "matched by name only (low confidence)"


@dataclass(frozen=True)
class OrderSuggestion:
    """A concrete order to propose: a ServiceRequest coded with a LOINC orderable, or, where no
    verified code exists (e.g. the ankle-brachial index), described by text for the site to map."""

    label: str
    loinc: str | None  # must be in the `orderables` value set; None = text-only, site-mapped
    reason: str = ""


@dataclass(frozen=True)
class Finding:
    rule_id: str
    rule_version: str
    severity: Severity
    summary: str  # < 140 characters, names the cause and the key value
    explanation: str  # markdown paragraph: why this may explain the leg symptoms
    evidence: tuple[Evidence, ...] = ()
    suggestions: tuple[OrderSuggestion, ...] = ()
    cautions: tuple[str, ...] = ()  # caveats the clinician must see (e.g. exam not assessable)
    # Lab values this finding is about, as (analyte, resource reference); used to suppress the
    # drug-agnostic electrolyte card when the diuretic card already explains the same result.
    labs: tuple[tuple[str, str], ...] = ()
    # True when a drafted order (order-select / order-sign) is part of the evidence.
    involves_draft_order: bool = False
    # Lower means more specific; ties broken by severity. Set by the rule, documented there.
    specificity: int = 50


@dataclass(frozen=True)
class Rule:
    id: str
    version: str
    title: str
    severities: tuple[Severity, ...]
    provenance: Provenance
    requires: tuple[DataRequirement, ...]
    evaluate: Callable[[Facts], Finding | None]
    valuesets: tuple[str, ...] = field(default=())  # value sets the logic reads (content hash)

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"

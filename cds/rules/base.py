"""What a rule version is, and what it produces.

A rule version is three things:

- its **logic**: a frozen dataclass deriving from `RuleLogic`. Its fields are the version's
  parameters (thresholds, windows, the orders it suggests), its methods the logic, and
  `evaluate(facts)` returns a `Finding` or None. A new version states only what differs:
  `dataclasses.replace(previous.LOGIC, k_critical=2.8)` for a threshold, a subclass overriding
  one method for a change of logic or wording (docs/architecture.md has a worked example);
- what it **reads**: `requires` (the FHIR data, which drives prefetch) and `valuesets` (every
  value set it may ask `Facts` about, at the terminology release it names). `Facts` refuses a
  value set the version did not declare, so the declaration cannot drift from the code;
- its **provenance**: guideline, address, date, what changed and why (never part of what it
  does: rationale can be improved without a new version).

Released versions are immutable: `cds.rules.fingerprint` computes what decides a version's
behaviour, and `released.json` pins it. Rules are pure: `evaluate` reads only the `Facts` it is
given. They never name themselves: the pipeline stamps rule id and version on each finding, and
turning findings into cards is `cds.cards`' job.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from cds.facts import Facts
    from cds.record import MedicationEntry

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
    """Which data a rule reads: drives the service's prefetch templates, and what the rule
    needs to run at all.

    `valuesets` narrows the query to codes (for Observation: `code=`); None means all resources of
    that type for the patient (needed where matching is by product or text, or sets are huge).

    `essential`: when this type cannot be had (the EHR's FHIR server does not expose it, the
    token's scope does not cover it, it fails), the rule is not evaluated, and the response and
    the audit say so. False for data the rule reads for context or for candidate causes only:
    the rule then runs without it (that type empty), which must only ever hide a finding, never
    make one (a diagnosis that would explain a card away is essential). A type is essential to
    a rule when any of its requirements of that type is.
    """

    resource_type: ResourceType
    valuesets: tuple[str, ...] | None = None
    essential: bool = True


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
class GuidelineSource:
    """The guideline a finding rests on, shown as the card's source (its label and link)."""

    label: str  # short, as a clinician names it: "ESE/ESICM hyponatraemia guideline 2014"
    url: str | None = None  # its address, when it has a stable one (a DOI)


@dataclass(frozen=True)
class MedicationAction:
    """A medication the card advises stopping or holding, offered as a suggestion: a drafted
    order is removed (CDS Hooks `delete`), an active order is put on hold (`update`)."""

    medication: MedicationEntry
    verb: Literal["stop", "hold"]
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class Finding:
    """What a rule version found. It does not say which rule made it: the pipeline knows, and
    stamps it (`Fired`). All its text is plain text: `cds.cards` writes the markdown and escapes
    everything, record text included.

    This is the interface between rules and the service: every field a rule may leave out has
    an empty default, so a field added later changes no released version (see
    `cds.rules.fingerprint.INTERFACE`)."""

    severity: Severity
    summary: str  # < 140 characters, names the cause and the key value
    explanation: str  # markdown paragraph: why this may explain the leg symptoms
    evidence: tuple[Evidence, ...] = ()
    suggestions: tuple[OrderSuggestion, ...] = ()
    cautions: tuple[str, ...] = ()  # caveats the clinician must see (e.g. exam not assessable)
    # Lab values this finding is about, as (analyte, resource reference); the selection policy
    # uses them (e.g. the diuretic card explains the same result as the electrolyte card).
    labs: tuple[tuple[str, str], ...] = ()
    # True when a drafted order (order-select / order-sign) is part of the evidence.
    involves_draft_order: bool = False
    # Lower means more specific; ties broken by severity. Set by the rule, documented there.
    specificity: int
    # The guideline this finding rests on, when it is not the rule's own (`RuleVersion`).
    source: GuidelineSource | None = None
    # Medications the card advises stopping or holding (§22: offered as suggestions).
    medication_actions: tuple[MedicationAction, ...] = ()
    # A candidate cause (§1.6): shown only with a leg complaint on record (or the drug being
    # ordered); False for a finding that stands on its own (an abnormal result, a red flag).
    candidate: bool = False


@dataclass(frozen=True)
class RuleLogic:
    """The logic of a rule version. Subclasses are frozen dataclasses: fields are parameters
    (with their released values as defaults), methods are the logic."""

    def evaluate(self, facts: Facts) -> Finding | None:
        raise NotImplementedError(f"{type(self).__name__} does not define evaluate()")


@dataclass(frozen=True)
class RuleVersion:
    id: str
    version: str
    title: str  # shown as the card's source topic
    severities: tuple[Severity, ...]
    logic: RuleLogic
    requires: tuple[DataRequirement, ...]
    valuesets: tuple[str, ...]  # every value set `logic` may ask Facts about
    terminology: str  # the terminology release the value sets are read at, e.g. "2026.11"
    provenance: Provenance
    # Shown as the card's source label: the guideline the finding rests on, short.
    source_label: str = field(default="Leg pain & cramps CDS")

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"

    def revise(
        self,
        *,
        version: str,
        provenance: Provenance,
        logic: RuleLogic | None = None,
        **changes: object,
    ) -> RuleVersion:
        """The next version: this one with `version`, `provenance` and what else is given
        changed (a new `logic`, more `valuesets`, another `terminology`...)."""
        return replace(
            self,
            version=version,
            provenance=provenance,
            logic=logic if logic is not None else self.logic,
            **changes,  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class Fired:
    """A finding with the rule version that made it: stamped by the pipeline, never by the rule,
    so a card's provenance cannot be mistyped."""

    rule: RuleVersion
    finding: Finding

    @property
    def rule_id(self) -> str:
        return self.rule.id

    @property
    def rule_version(self) -> str:
        return self.rule.version

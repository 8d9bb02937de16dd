"""The FHIR data a rule version declares it reads (`RuleVersion.requires`), from which each
service derives its prefetch templates (`cds.services.derive_prefetch`).

Named by resource, and by what the rules read it for, so that a declaration reads as a list:
`requires=(*MEDICATIONS, observations("potassium", "leg-complaint"), CONDITIONS, ENCOUNTERS)`.
Observations (and, where a rule wants only some, procedures) are narrowed to the codes of the
value sets named; the other resources are read whole, as matching is by product or text, or the
sets are large.
"""

from __future__ import annotations

from cds.rules.base import DataRequirement

PATIENT = DataRequirement("Patient")  # age and sex
CONDITIONS = DataRequirement("Condition")  # diagnoses, and complaints coded as conditions (§1.6)
ENCOUNTERS = DataRequirement("Encounter")  # hospital stays, and complaints as a visit's reason
PROCEDURES = DataRequirement("Procedure")
ALLERGIES = DataRequirement("AllergyIntolerance")
FAMILY_HISTORY = DataRequirement("FamilyMemberHistory")
# The same, read only for complaints, candidate causes or context that can only add to a card:
# a version runs without them when the EHR cannot give them, its candidate-cause findings
# withheld (`DataRequirement.essential`, `cds.pipeline.partial_data`). Never for a record that
# could explain a card away.
CONDITIONS_IF_AVAILABLE = DataRequirement("Condition", essential=False)
ENCOUNTERS_IF_AVAILABLE = DataRequirement("Encounter", essential=False)
ALLERGIES_IF_AVAILABLE = DataRequirement("AllergyIntolerance", essential=False)
# Orders and statements: where `medications.active_medications` finds a drug prescribed or taken.
MEDICATIONS: tuple[DataRequirement, ...] = (
    DataRequirement("MedicationRequest"),
    DataRequirement("MedicationStatement"),
)
# With administrations: a drug given in clinic, as chemotherapy is, is recorded as one (§1.2),
# and `medications.medications_within` counts it as exposure.
MEDICATIONS_GIVEN: tuple[DataRequirement, ...] = (
    *MEDICATIONS,
    DataRequirement("MedicationAdministration"),
)


def observations(*valuesets: str) -> DataRequirement:
    """Observations coded in these value sets (results, vital signs, coded complaints)."""
    return DataRequirement("Observation", valuesets)


def procedures(*valuesets: str) -> DataRequirement:
    """Procedures coded in these value sets only (e.g. dialysis)."""
    return DataRequirement("Procedure", valuesets)

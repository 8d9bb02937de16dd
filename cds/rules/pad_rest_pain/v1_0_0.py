"""pad-rest-pain 1.0.0: peripheral artery disease and ischaemic rest pain
(clinical-content.md §12).

- critical: atherosclerosis of the leg arteries with rest pain coded (possible chronic
  limb-threatening ischaemia), on any chart;
- warning: a PAD diagnosis, with leg pain on record;
- info: at risk of PAD (2016 AHA/ACC definition), with leg pain on record.

The ABI branches of §12 cannot run: there is no verified ABI code (§20), so no ABI
Observation value set exists and ABI results are never read.
"""

from __future__ import annotations

from dataclasses import dataclass

from cds.facts import Facts
from cds.record import ConditionEntry
from cds.rules.base import (
    Evidence,
    Finding,
    OrderSuggestion,
    Provenance,
    RuleLogic,
    RuleVersion,
)
from cds.rules.lib.complaints.v1 import COMPLAINT_VALUESETS
from cds.rules.lib.evidence.v1 import condition_code, unique_evidence
from cds.rules.lib.library import Library2026_11
from cds.rules.lib.requirements.v1 import (
    CONDITIONS,
    ENCOUNTERS,
    FAMILY_HISTORY,
    PATIENT,
)
from cds.rules.lib.text.v1 import fit_summary, join_parts


@dataclass(frozen=True)
class PadRestPain(RuleLogic, Library2026_11):
    """§12 without its ABI branches (see the module docstring)."""

    # 2016 AHA/ACC at-risk definition (§12).
    at_risk_age: int = 65  # 65 or older: at risk whatever else
    middle_age: int = 50  # 50-64: at risk with one atherosclerosis risk factor or family history
    # Under 50: at risk with diabetes plus one more risk factor.
    # The atherosclerosis risk factors of the at-risk definition: (name, its value sets).
    risk_factor_valuesets: tuple[tuple[str, tuple[str, ...]], ...] = (
        ("smoker", ("smoker", "smoking-history")),
        ("diabetes", ("diabetes",)),
        ("hyperlipidaemia", ("hyperlipidemia",)),
        ("hypertension", ("hypertension",)),
    )
    # No verified ABI code exists (§20): the order is described by text for the site to map.
    abi_order: OrderSuggestion = OrderSuggestion(
        "Ankle-brachial index", None, "Confirm and grade PAD (2016 AHA/ACC)"
    )
    abi_caution: str = (
        "ABI results are not read from the record: there is no verified ABI code yet, so an ABI "
        "already on file is not seen here. Check for one before ordering."
    )
    abi_advice: str = (
        "An ankle-brachial index (ABI) confirms PAD (0.90 or less) and grades it (0.40 or less "
        "is severe); above 1.40 the arteries are non-compressible and a toe-brachial index is "
        "needed."
    )

    def evaluate(self, facts: Facts) -> Finding | None:
        rest_pain = self.coded_conditions(facts, "pad-rest-pain")
        if rest_pain:
            # A finding (§1.6): possible limb-threatening ischaemia, on any chart.
            return self.rest_pain(facts, rest_pain)
        complaints = self.pain_or_cramp_complaints(facts)
        if not complaints:
            return None  # candidate causes need leg pain on record (§1.6)
        pad = self.coded_conditions(facts, "pad")
        if pad:
            return self.known_pad(facts, pad, complaints)
        return self.at_risk(facts, complaints)

    def rest_pain(self, facts: Facts, rest_pain: list[ConditionEntry]) -> Finding:
        code = condition_code(rest_pain[0])
        summary = (
            f"PAD with rest pain on record ({code}): possible critical limb ischaemia. "
            "Urgent vascular assessment."
        )
        return Finding(
            severity="critical",
            summary=fit_summary(summary),
            explanation=(
                "Atherosclerosis of the leg arteries with rest pain is coded. Ischaemic rest pain "
                "is typically worse at night and lying flat, and eased by hanging the leg down; "
                "it signals chronic limb-threatening ischaemia, which needs urgent vascular "
                f"assessment (2016 AHA/ACC PAD guideline). {self.abi_advice}"
            ),
            evidence=unique_evidence(
                (*self.conditions_evidence(rest_pain), *self.leg_complaint_evidence(facts))
            ),
            cautions=(self.abi_caution,),
            # The most specific card for ischaemic leg pain, and time-sensitive.
            specificity=5,
        )

    def known_pad(
        self, facts: Facts, pad: list[ConditionEntry], complaints: list[ConditionEntry]
    ) -> Finding:
        code = condition_code(pad[0])
        summary = (
            f"PAD on record ({code}) with leg pain: ischaemic pain may explain it. "
            "Ask about rest pain; consider an ABI."
        )
        return Finding(
            severity="warning",
            summary=fit_summary(summary),
            explanation=(
                "Peripheral artery disease is documented and leg pain is on record. Claudication "
                "comes with walking and eases at rest; pain at rest or at night, relieved by "
                "hanging the leg down, suggests progression to limb-threatening ischaemia and "
                f"needs urgent vascular review. {self.abi_advice}"
            ),
            evidence=unique_evidence(
                (*self.conditions_evidence(pad), *self.complaint_evidence(complaints))
            ),
            suggestions=(self.abi_order,),
            cautions=(self.abi_caution,),
            # A named diagnosis that explains the pain: specific, but ranked below the critical
            # ischaemia card.
            specificity=20,
        )

    def at_risk(self, facts: Facts, complaints: list[ConditionEntry]) -> Finding | None:
        factors = self.risk_factors(facts)
        reasons = self.at_risk_reasons(facts, factors)
        if not reasons:
            return None
        evidence: list[Evidence] = [
            e for _, found in factors for e in self.conditions_evidence(found)
        ]
        other_bed = self.coded_conditions(facts, "mi", include_history=True)
        evidence += self.conditions_evidence(other_bed)
        family = self.family_history_of(facts, "pad")
        evidence += [Evidence(label="Family history of PAD", reference=ref) for ref in family]
        if facts.age_years is not None:
            patient = f"Patient/{facts.patient_id}" if facts.patient_id else ""
            evidence.append(
                Evidence(label="Age", value=f"{facts.age_years} years", reference=patient)
            )
        summary = (
            f"PAD risk ({join_parts(reasons, 45)}) with leg pain. "
            "Consider an ankle-brachial index (ABI)."
        )
        return Finding(
            severity="info",
            summary=fit_summary(summary),
            explanation=(
                "Leg pain is on record and the patient meets the 2016 AHA/ACC definition of "
                "increased risk of PAD: age 65 or older; 50-64 with diabetes, smoking, "
                "hyperlipidaemia, hypertension or a family history of PAD; under 50 with "
                "diabetes and one more risk factor; or atherosclerosis in another vascular bed. "
                f"Ischaemic pain, at rest or at night, can explain leg pain. {self.abi_advice}"
            ),
            evidence=unique_evidence((*evidence, *self.complaint_evidence(complaints))),
            suggestions=(self.abi_order,),
            cautions=(self.abi_caution,),
            # A risk pattern rather than a diagnosis: less specific than the cards above.
            specificity=45,
        )

    def risk_factors(self, facts: Facts) -> list[tuple[str, list[ConditionEntry]]]:
        """The atherosclerosis risk factors on record, each with the conditions that show it."""
        found = []
        for name, valuesets in self.risk_factor_valuesets:
            conditions = [c for vs in valuesets for c in self.coded_conditions(facts, vs)]
            if conditions:
                found.append((name, conditions))
        return found

    def at_risk_reasons(
        self, facts: Facts, factors: list[tuple[str, list[ConditionEntry]]]
    ) -> list[str]:
        """The reasons the patient is at risk, for the summary; empty when not at risk."""
        names = [name for name, _ in factors]
        family = bool(self.family_history_of(facts, "pad"))
        # Atherosclerosis in another vascular bed: myocardial infarction is the only coded proxy
        # available (no coronary or carotid atherosclerosis value set).
        other_bed = bool(self.coded_conditions(facts, "mi", include_history=True))
        age = facts.age_years
        qualifies = (
            (age is not None and age >= self.at_risk_age)
            or (
                age is not None
                and self.middle_age <= age < self.at_risk_age
                and (bool(names) or family)
            )
            or (
                age is not None
                and age < self.middle_age
                and "diabetes" in names
                and len(names) >= 2
            )
            or other_bed
        )
        if not qualifies:
            return []
        reasons = list(names)
        if family:
            reasons.append("family history")
        if other_bed:
            reasons.append("prior MI")
        if age is not None:
            reasons.append(f"age {age}")
        return reasons


LOGIC = PadRestPain()

RULE = RuleVersion(
    id="pad-rest-pain",
    version="1.0.0",
    title="Peripheral artery disease and ischaemic rest pain",
    severities=("info", "warning", "critical"),
    logic=LOGIC,
    requires=(PATIENT, CONDITIONS, ENCOUNTERS, FAMILY_HISTORY),
    valuesets=(
        "pad-rest-pain",
        "pad",
        "smoker",
        "smoking-history",
        "diabetes",
        "hyperlipidemia",
        "hypertension",
        "mi",
        *COMPLAINT_VALUESETS,
    ),
    terminology="2026.11",
    provenance=Provenance(
        guideline=(
            "Gerhard-Herman MD et al., 2016 AHA/ACC Guideline on the Management of Patients With "
            "Lower Extremity Peripheral Artery Disease, Circulation 2017;135:e726 (ABI cut-offs, "
            "at-risk definition); 2024 ACC/AHA multisociety PAD guideline"
        ),
        url="https://doi.org/10.1161/CIR.0000000000000471",
        released="2026-11-21",
        changes="First release.",
        rationale=(
            "ABI has no verified code (§20) and there is no ABI Observation value set, so the "
            "ABI branches cannot run: the ABI <= 0.40 critical, ABI <= 0.90 warning and "
            "'no ABI on file' conditions are never evaluated, and every card says ABI results "
            "are not read. The ABI suggestion is a ServiceRequest with code.text only "
            "('Ankle-brachial index'), for the site to map; no unverified code is sent. "
            "Critical: an active rest-pain code (I70.221-3) on any chart (§1.6 finding). Warning "
            "(known PAD) and info (at risk) are candidate causes and need a leg pain or cramp "
            "complaint; restless legs or swelling alone do not suggest ischaemic pain. Smoking "
            "comes from smoker conditions and Z87.891; the coded answer of the smoking-status "
            "Observation is not read (Facts has no coded-answer question and the VSAC Tobacco "
            "User answers are not in codes.tsv). Atherosclerosis in another vascular bed uses "
            "myocardial infarction (any time) as the only coded proxy; family history of PAD "
            "is a FamilyMemberHistory coded in the pad set."
        ),
    ),
)

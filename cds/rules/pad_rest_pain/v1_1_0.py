"""pad-rest-pain 1.1.0: the card says which complaint is on record, the at-risk card opens only
with leg pain, smoking from the smoking-status answer, short cards (clinical-content.md §12 as
§22.2 e and f settle it)."""

from __future__ import annotations

from dataclasses import dataclass

from cds.facts import Facts
from cds.record import ConditionEntry
from cds.rules.base import Evidence, Finding, Provenance
from cds.rules.lib.complaints.v2 import LEG_CRAMP, LEG_PAIN, RESTLESS_LEGS
from cds.rules.lib.evidence.v1 import condition_code, unique_evidence
from cds.rules.lib.library import Library2026_12
from cds.rules.lib.requirements.v1 import observations
from cds.rules.lib.smoking.v1 import SMOKER, SMOKING_STATUS
from cds.rules.lib.text.v1 import fit_summary, join_parts
from cds.rules.pad_rest_pain import v1_0_0 as previous

# Value sets read since 1.1.0: the complaint kinds the card names, and the smoking-status answer.
NEW_VALUESETS: tuple[str, ...] = (LEG_PAIN, LEG_CRAMP, RESTLESS_LEGS, SMOKING_STATUS)


@dataclass(frozen=True)
class PadRestPain(previous.PadRestPain, Library2026_12):
    """§12 without its ABI branches, with the 2026.12 libraries.

    - critical (a finding): rest pain coded, on any chart, as in 1.0.0;
    - warning (a candidate cause): a PAD diagnosis with leg pain or cramps on record; the card
      names the complaint on record ("leg cramps", not "leg pain");
    - info (a candidate cause): at risk of PAD with leg pain on record. A cramp code alone no
      longer opens it: the at-risk definition and the ABI it suggests are for ischaemic pain
      (claudication, rest pain), and night cramps alone put the card on 43 % of charts.

    Smoking (§22.2 f): a current smoker by Condition or the latest smoking-status answer; a
    history of smoking (Z87.891, a smoker Condition since resolved, an earlier smoker answer)
    is the "former smoker" the 2016 AHA/ACC at-risk definition also counts."""

    # The risk factors other than smoking (smoking is `smoking_factor`).
    risk_factor_valuesets: tuple[tuple[str, tuple[str, ...]], ...] = (
        ("diabetes", ("diabetes",)),
        ("hyperlipidaemia", ("hyperlipidemia",)),
        ("hypertension", ("hypertension",)),
    )
    evidence_shown: int = 6
    rest_pain_explanation: str = (
        "Atherosclerosis of the leg arteries with rest pain is coded: pain at rest or at night, "
        "eased by hanging the leg down, signals chronic limb-threatening ischaemia. It needs "
        "urgent vascular assessment (2016 AHA/ACC PAD guideline)."
    )
    known_pad_explanation: str = (
        "Peripheral artery disease is coded, with {complaint} on record. Calf pain or cramping on "
        "walking that eases at rest is claudication; pain at rest or at night, eased by hanging "
        "the leg down, suggests limb-threatening ischaemia and needs urgent vascular review."
    )
    at_risk_explanation: str = (
        "Leg pain is on record and the patient meets the 2016 AHA/ACC definition of increased "
        "PAD risk. An ABI of 0.90 or less confirms PAD (0.40 or less is severe); above 1.40 the "
        "arteries are non-compressible and a toe-brachial index is needed."
    )

    def evaluate(self, facts: Facts) -> Finding | None:
        rest_pain = self.coded_conditions(facts, "pad-rest-pain")
        if rest_pain:
            return self.rest_pain(facts, rest_pain)  # a finding (§1.6), on any chart
        complaints = self.pain_or_cramp_complaints(facts)
        if not complaints:
            return None  # candidate causes need leg pain or cramps on record (§1.6)
        pad = self.coded_conditions(facts, "pad")
        if pad:
            return self.known_pad(facts, pad, complaints)
        pain = self.complaints_in(facts, LEG_PAIN)
        if not pain:
            return None  # the at-risk card is about ischaemic pain: leg pain on record
        return self.at_risk(facts, pain)

    def rest_pain(self, facts: Facts, rest_pain: list[ConditionEntry]) -> Finding:
        code = condition_code(rest_pain[0])
        return Finding(
            severity="critical",
            summary=fit_summary(
                f"PAD with rest pain on record ({code}): possible critical limb ischaemia. "
                "Urgent vascular assessment."
            ),
            explanation=self.rest_pain_explanation,
            evidence=unique_evidence(
                (*self.conditions_evidence(rest_pain), *self.leg_complaint_evidence(facts))
            )[: self.evidence_shown],
            cautions=(self.abi_caution,),
            specificity=5,
        )

    def known_pad(
        self, facts: Facts, pad: list[ConditionEntry], complaints: list[ConditionEntry]
    ) -> Finding:
        code = condition_code(pad[0])
        words = self.complaint_words(facts, complaints)
        return Finding(
            severity="warning",
            summary=fit_summary(
                f"PAD on record ({code}) with {words}: ischaemia may be the cause. "
                "Ask about rest pain; consider an ABI."
            ),
            explanation=self.known_pad_explanation.format(complaint=words),
            evidence=unique_evidence(
                (*self.complaint_evidence(complaints), *self.conditions_evidence(pad))
            )[: self.evidence_shown],
            suggestions=(self.abi_order,),
            cautions=(self.abi_caution,),
            specificity=20,
            candidate=True,
        )

    def at_risk(self, facts: Facts, complaints: list[ConditionEntry]) -> Finding | None:
        factors = self.risk_factor_lines(facts)
        reasons = self.at_risk_reasons_v2(facts, [name for name, _ in factors])
        if not reasons:
            return None
        evidence: list[Evidence] = [*self.complaint_evidence(complaints[:1], "Leg pain")]
        evidence += [line for _, line in factors]
        evidence += self.conditions_evidence(self.other_bed(facts)[:1])
        evidence += [
            Evidence(label="Family history of PAD", reference=ref)
            for ref in self.family_history_of(facts, "pad")[:1]
        ]
        if facts.age_years is not None:
            patient = f"Patient/{facts.patient_id}" if facts.patient_id else ""
            evidence.append(
                Evidence(label="Age", value=f"{facts.age_years} years", reference=patient)
            )
        words = self.complaint_words(facts, complaints)
        return Finding(
            severity="info",
            summary=fit_summary(
                f"PAD risk ({join_parts(reasons, 45)}) with {words}. "
                "Consider an ankle-brachial index (ABI)."
            ),
            explanation=self.at_risk_explanation,
            evidence=unique_evidence(evidence)[: self.evidence_shown],
            suggestions=(self.abi_order,),
            cautions=(self.abi_caution,),
            specificity=45,
            candidate=True,
        )

    # -- risk factors -------------------------------------------------------------------------

    def risk_factor_lines(self, facts: Facts) -> list[tuple[str, Evidence]]:
        """The atherosclerosis risk factors on record, each with the line that shows it."""
        found: list[tuple[str, Evidence]] = []
        smoking = self.smoking_factor(facts)
        if smoking is not None:
            found.append(smoking)
        for name, valuesets in self.risk_factor_valuesets:
            conditions = [c for vs in valuesets for c in self.coded_conditions(facts, vs)]
            if conditions:
                found.append((name, self.condition_evidence(conditions[0])))
        return found

    def smoking_factor(self, facts: Facts) -> tuple[str, Evidence] | None:
        """ "smoker" (§22.2 f: Condition or the latest smoking-status answer), else "former
        smoker": a history of smoking coded, a smoker Condition since resolved, or an earlier
        smoking-status answer in `smoker` that a later one superseded."""
        current = self.current_smoker(facts)
        if current is not None:
            line = Evidence("Smoking status", current.display, current.when, current.reference)
            return "smoker", line
        history = [
            *self.coded_conditions(facts, "smoking-history", include_history=True),
            *self.coded_conditions(facts, SMOKER, include_history=True),
        ]
        if history:
            return "former smoker", self.condition_evidence(history[0])
        for answer in self.lab_results(facts, SMOKING_STATUS):
            said = facts.matches(SMOKER, answer.value_codings)
            if said is not None:
                display = str(said.get("display") or answer.display or "Smoker")
                line = Evidence(
                    "Smoking status (earlier answer)", display, answer.effective, answer.reference
                )
                return "former smoker", line
        return None

    def other_bed(self, facts: Facts) -> list[ConditionEntry]:
        """Atherosclerosis in another vascular bed: myocardial infarction, any time (the only
        coded proxy, as in 1.0.0)."""
        return self.coded_conditions(facts, "mi", include_history=True)

    def at_risk_reasons_v2(self, facts: Facts, names: list[str]) -> list[str]:
        """1.0.0's at-risk definition over the risk factors named (smoking current or former)."""
        family = bool(self.family_history_of(facts, "pad"))
        other_bed = bool(self.other_bed(facts))
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

RULE = previous.RULE.revise(
    version="1.1.0",
    terminology="2026.12",
    logic=LOGIC,
    requires=(*previous.RULE.requires, observations(SMOKING_STATUS, "leg-complaint")),
    valuesets=(*previous.RULE.valuesets, *NEW_VALUESETS),
    source_label="AHA/ACC PAD guideline 2016",
    provenance=Provenance(
        guideline=previous.RULE.provenance.guideline,
        url=previous.RULE.provenance.url,
        released="2026-12-07",
        changes=(
            "The card names the complaint on record: a coded sleep-related leg cramp gives 'PAD "
            "on record with leg cramps', never 'leg pain'. The at-risk card (no PAD diagnosis) "
            "now needs leg pain on record; leg cramps alone no longer open it. A known PAD "
            "diagnosis still opens the warning with leg pain or cramps, and coded rest pain is "
            "still critical on any chart. A current smoker recorded only by a smoking-status "
            "answer (LOINC 72166-2) is now a risk factor, and a later ex- or never-smoker "
            "answer makes it 'former smoker' (§22.2 f). Complaints coded as a visit reason or "
            "an Observation count (§22.2 e). Shorter cards: two-sentence explanation, at most "
            "6 evidence lines."
        ),
        rationale=(
            "Burden: on the Synthea population with a sleep-related leg cramp added, 1.0.0's "
            "at-risk card fired on 43 % of charts (any patient of 65 or more with a cramp), "
            "above the one-third limit. §12's at-risk definition and the ABI it suggests are "
            "for ischaemic pain (claudication, rest pain); nocturnal cramps at rest are not a "
            "presentation of PAD, so the at-risk card opens only with leg pain (the `leg-pain` "
            "set: M79.604-M79.606, M79.661-M79.669). A coded PAD diagnosis with cramps stays "
            "a warning: cramping calf pain in known PAD may be claudication. Smoking: current "
            "smoker by the Smoking library; the 2016 at-risk definition counts a history of "
            "smoking, so Z87.891, a resolved smoker Condition, or an earlier smoker answer "
            "superseded by a later one make a 'former smoker'. Atherosclerosis in another "
            "bed: myocardial infarction at any time (the `mi` set omits old-MI codes, §22.1). "
            "The ABI branches still cannot run (no verified ABI code, §20); the ABI is "
            "suggested by text only. Candidate causes (§1.6): the PAD warning and the at-risk "
            "info; rest pain is a finding."
        ),
    ),
)

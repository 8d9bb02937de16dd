"""pe-red-flags 1.1.0: symptoms coded as visit reasons or Observations are red flags, a known
active PE gives no card, and a leg-swelling signal counts for 90 days."""

from __future__ import annotations

from dataclasses import dataclass

from cds.facts import Facts
from cds.record import LabEntry
from cds.rules.base import Evidence, Finding, Provenance
from cds.rules.dvt_risk import v1_1_0 as dvt_risk_1_1_0
from cds.rules.dvt_risk.v1_0_0 import NON_OBSERVATION_REQUIREMENTS, DvtAssessment
from cds.rules.lib.complaints.v2 import ANY_LEG_COMPLAINT, COMPLAINT_WINDOW_DAYS, SWELLING
from cds.rules.lib.evidence.v1 import unique_by_reference
from cds.rules.lib.library import Library2026_12
from cds.rules.lib.requirements.v1 import observations
from cds.rules.lib.results.v1 import certainly_at_least, certainly_below, value_text
from cds.rules.lib.text.v1 import join_parts
from cds.rules.pe_red_flags import v1_0_0 as previous
from cds.rules.pe_red_flags.v1_0_0 import VITAL_SIGNS, _Signal

PE_SYMPTOMS = "pe-symptoms"


@dataclass(frozen=True)
class PeRedFlags(previous.PeRedFlags, Library2026_12):
    """§11 as §22.2 e, g and k settle it:
    - e: a symptom coded as an Encounter reason (reasonCode, or reasonReference to a symptom
      Condition) or as an Observation counts like a Condition, within 7 days: an emergency visit
      today for shortness of breath with an active DVT is critical;
    - g: a censored vital sign is shown as reported ("SpO2 <90 %");
    - k: an active PE diagnosis is a known PE, not a suspicion: no card.
    The DVT signal is dvt-risk 1.1.0's scoring (a cesarean counts), an active DVT, or leg
    swelling recorded within 90 days (the §1.6 complaint window, an active chronic swelling code
    alone no longer counts)."""

    dvt_risk: dvt_risk_1_1_0.DvtRisk = dvt_risk_1_1_0.LOGIC
    swelling_window_days: int = COMPLAINT_WINDOW_DAYS
    max_evidence: int = 6
    max_cautions: int = 2
    optional_duplex_reason: str = "Optional: if DVT is suspected. Does not replace the PE pathway."

    def evaluate(self, facts: Facts) -> Finding | None:
        if self.coded_conditions(facts, "pulmonary-embolism"):
            return None  # §22.2 k: a known PE is not a suspicion
        assessment = self.dvt_risk.assess_dvt_risk(facts)
        signals = self.dvt_signals(facts, assessment)
        if not signals:
            return None
        flags = self.red_flags(facts)
        if not flags:
            return None
        cautions = [self.pathway_caution]
        if any(f.short.startswith(("HR ", "SpO2 ")) for f in flags):
            cautions.append(self.threshold_caution)
        if assessment.has_risk or assessment.anticoagulants:
            cautions += self.dvt_risk.assessment_cautions(assessment)
        evidence = unique_by_reference(
            (
                *(e for f in flags for e in f.evidence),
                *self.respiratory_rate(facts),
                *(e for s in signals for e in s.evidence),
                *self.dvt_risk.assessment_evidence(assessment),
            )
        )
        complaints = self.leg_complaints(facts)
        side = self.side_of(facts, complaints, ANY_LEG_COMPLAINT) if complaints else None
        return Finding(
            severity="critical",
            summary=self.summary(signals, flags),
            explanation=self.card_explanation(assessment, signals, flags),
            evidence=tuple(evidence[: self.max_evidence]),
            suggestions=(self.dvt_risk.duplex_of(side, self.optional_duplex_reason),),
            cautions=tuple(dict.fromkeys(cautions))[: self.max_cautions],
            involves_draft_order=assessment.involves_draft_order,
            specificity=1,
            candidate=False,  # a red flag: shown on any chart
        )

    def dvt_signals(self, facts: Facts, assessment: DvtAssessment) -> list[_Signal]:
        """An active DVT code, leg swelling recorded within 90 days, or dvt-risk's warning."""
        signals: list[_Signal] = []
        active_dvt = self.coded_conditions(facts, "acute-dvt")
        if active_dvt:
            signals.append(_Signal("active DVT", self.conditions_evidence(active_dvt[:1])))
        swelling = self.recorded(
            facts, SWELLING, within_days=self.swelling_window_days, active_counts=False
        )
        if swelling:
            signals.append(
                _Signal("leg swelling", self.worded_evidence(facts, swelling, SWELLING, 1))
            )
        if self.dvt_risk.is_warning(assessment):
            signals.append(_Signal(f"DVT risk (record Wells {assessment.wells_score})", ()))
        return signals

    def red_flags(self, facts: Facts) -> list[_Signal]:
        """Symptoms coded within 7 days on a Condition, a visit reason or an Observation, and
        the vital signs of the last 24 hours (HR >= 100/min, SpO2 < 95 %)."""
        flags: list[_Signal] = []
        symptoms = self.recorded(
            facts, PE_SYMPTOMS, within_days=self.symptom_window_days, active_counts=False
        )
        if symptoms:
            vs = facts.valueset(PE_SYMPTOMS)
            names: list[str] = []
            for symptom in symptoms:
                matched = vs.match(symptom.codings)
                display = (vs.display_of(matched) if matched else None) or symptom.display
                # "Chest pain, unspecified" -> "chest pain": the qualifier is on the evidence.
                names.append(display.split(",")[0].strip().lower() or "PE symptom")
            flags.append(
                _Signal(
                    join_parts(list(dict.fromkeys(names)), 35, "/"),
                    self.worded_evidence(facts, symptoms, PE_SYMPTOMS, 2),
                )
            )
        flags += [
            flag
            for flag in (self.heart_rate_flag(facts), self.saturation_flag(facts))
            if flag is not None
        ]
        return flags

    def heart_rate_flag(self, facts: Facts) -> _Signal | None:
        rate = self.latest_vital(facts, "heart-rate")
        if rate is None or not certainly_at_least(rate, self.heart_rate_red_flag):
            return None
        return _Signal(
            f"HR {value_text(rate, 1)}/min", (self.lab_evidence(rate, "Heart rate", "/min", 1),)
        )

    def saturation_flag(self, facts: Facts) -> _Signal | None:
        saturation = self.latest_vital(facts, "oxygen-saturation")
        if saturation is None or not certainly_below(saturation, self.spo2_red_flag):
            return None
        return self.vital_sign_flag(saturation, "SpO2", "Oxygen saturation", "%")

    def vital_sign_flag(self, vital: LabEntry, short: str, label: str, unit: str) -> _Signal:
        """As reported (§22.2 g): "SpO2 <90 %", in the summary and on the evidence line."""
        return _Signal(
            f"{short} {self.measured(vital, unit, 1)}",
            (self.lab_evidence(vital, label, unit, 1),),
        )

    def respiratory_rate(self, facts: Facts) -> tuple[Evidence, ...]:
        rate = self.latest_vital(facts, "respiratory-rate")
        return (self.lab_evidence(rate, "Respiratory rate", "/min", 1),) if rate else ()

    def card_explanation(
        self, assessment: DvtAssessment, signals: list[_Signal], flags: list[_Signal]
    ) -> str:
        """Two sentences: the signal with the red flags, and what to do."""
        anticoagulated = (
            f"; PE remains possible on {self.drug_names(assessment.anticoagulants)}"
            if assessment.anticoagulants
            else ""
        )
        return (
            f"A deep-vein thrombosis signal ({', '.join(s.short for s in signals)}) is on record "
            f"with a possible sign of pulmonary embolism ({', '.join(f.short for f in flags)}). "
            f"Assess for pulmonary embolism now, following the local PE pathway{anticoagulated}."
        )


LOGIC = PeRedFlags()

RULE = previous.RULE.revise(
    version="1.1.0",
    terminology="2026.12",
    logic=LOGIC,
    requires=(
        *NON_OBSERVATION_REQUIREMENTS,
        observations(*VITAL_SIGNS, *dvt_risk_1_1_0.OBSERVATION_VALUESETS, PE_SYMPTOMS, SWELLING),
    ),
    valuesets=tuple(dict.fromkeys((*previous.RULE.valuesets, *dvt_risk_1_1_0.VALUESETS))),
    source_label="PERC rule (J Thromb Haemost 2004)",
    provenance=Provenance(
        guideline=previous.RULE.provenance.guideline,
        url=previous.RULE.provenance.url,
        released="2026-12-07",
        changes=(
            "Symptoms coded as an Encounter reason (reasonCode or reasonReference) or an "
            "Observation within 7 days are red flags, as Conditions were (§22.2 e): an "
            "emergency visit today for shortness of breath with an active DVT is now critical. "
            "An active PE diagnosis gives no card: it is a known PE, not a suspicion (§22.2 k). "
            "Leg swelling is a DVT signal when recorded within 90 days. A censored vital sign is "
            "shown as reported, 'SpO2 <90 %' (§22.2 g). The DVT signal uses dvt-risk 1.1.0 (a "
            "cesarean birth scores the surgery item). Shorter details; the optional duplex is of "
            "the leg the complaint names."
        ),
        rationale=(
            "A finding (§1.6): candidate=False, no complaint needed. The symptom window stays 7 "
            "days, counted from the Condition's onset (else recording), the visit's start or the "
            "Observation's time, whatever the Condition's status, so a visit today for an old "
            "dyspnoea Condition counts while the old Condition alone does not. Only an active "
            "PE Condition (active, recurrence, relapse) stops the card; a resolved PE is VTE "
            "history and the card still fires. The swelling signal reads the whole leg-swelling "
            "set (its SNOMED codes too) within 90 days, whatever the clinical status: a chronic "
            "oedema code of years ago is not a new DVT sign. Anticoagulation never lowers the "
            "card (§22.2 b). Cautions: the PE pathway, then the PERC caveat when a vital sign "
            "flagged, then the partial Wells score."
        ),
    ),
)

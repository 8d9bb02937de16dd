"""pe-red-flags 1.0.0: a DVT signal together with a pulmonary-embolism red flag (new chest
pain, dyspnoea, haemoptysis or tachycardia coded, or HR >= 100/min or SpO2 < 95 % in the last
24 hours): possible PE, critical (clinical-content.md §11).

The DVT signal reuses dvt-risk's record scoring (`DvtRisk.assess_dvt_risk`, held as the
`dvt_risk` parameter). When this card fires the card-selection policy drops the dvt-risk card,
so this card carries the DVT evidence too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from math import ceil

from cds.facts import Facts
from cds.record import LabEntry
from cds.rules.base import Evidence, Finding, Provenance, RuleLogic, RuleVersion
from cds.rules.dvt_risk.v1_0_0 import LOGIC as DVT_RISK_1_0_0
from cds.rules.dvt_risk.v1_0_0 import (
    NON_OBSERVATION_REQUIREMENTS,
    OBSERVATION_VALUESETS,
    DvtAssessment,
    DvtRisk,
)
from cds.rules.dvt_risk.v1_0_0 import VALUESETS as DVT_VALUESETS
from cds.rules.lib.evidence.v1 import unique_evidence
from cds.rules.lib.library import Library2026_11
from cds.rules.lib.orders.v1 import VENOUS_DUPLEX_BOTH_LEGS, OrderSuggestion, order
from cds.rules.lib.requirements.v1 import observations
from cds.rules.lib.results.v1 import certainly_at_least, certainly_below, value_text
from cds.rules.lib.text.v1 import capitalise, fit_summary, join_parts

HOURS_PER_DAY = 24
# The vital signs it reads (its Observations, besides dvt-risk's).
VITAL_SIGNS: tuple[str, ...] = ("heart-rate", "oxygen-saturation", "respiratory-rate")


@dataclass(frozen=True)
class _Signal:
    short: str  # for the summary
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class PeRedFlags(RuleLogic, Library2026_11):
    """§11. A finding (§1.6): fires on any chart, with or without a leg complaint on record."""

    # dvt-risk's record scoring, whose warning pattern is one of the §11 DVT signals. Its
    # evidence and cautions are shown here too: this card replaces the dvt-risk card.
    dvt_risk: DvtRisk = DVT_RISK_1_0_0
    symptom_window_days: int = 7  # §19: symptom codes with onset/recording in the last 7 days
    vitals_window_hours: float = 24.0  # §19: vital signs in the last 24 hours
    # PERC thresholds (Kline 2004), used as a trigger for assessment, not a validated alert.
    heart_rate_red_flag: float = 100.0  # /min, at or above
    spo2_red_flag: float = 95.0  # %, below
    summary_tail: str = ": possible pulmonary embolism. Evaluate urgently."
    summary_limit: int = 139  # CDS Hooks: under 140 characters
    # The duplex dvt-risk suggests, offered as optional: the PE pathway comes first.
    optional_duplex: OrderSuggestion = order(
        VENOUS_DUPLEX_BOTH_LEGS, "Optional: if DVT is suspected. Does not replace the PE pathway."
    )
    threshold_caution: str = (
        "The vital-sign triggers (heart rate 100/min or more, SpO2 below 95 %) are borrowed "
        "from the PERC criteria to prompt assessment; this is not a validated PE alert."
    )
    pathway_caution: str = "Nothing is ordered automatically: follow the local PE pathway."

    def evaluate(self, facts: Facts) -> Finding | None:
        assessment = self.dvt_risk.assess_dvt_risk(facts)
        signals = self.dvt_signals(facts, assessment)
        if not signals:
            return None
        flags = self.red_flags(facts)
        if not flags:
            return None
        cautions = [self.pathway_caution, self.threshold_caution]
        known_pe = self.coded_conditions(facts, "pulmonary-embolism")
        if known_pe:
            cautions.append("A pulmonary embolism is already on record: check whether this is new.")
        if assessment.has_risk or assessment.anticoagulants:
            # The dvt-risk cautions (exam items not assessable, anticoagulation, low-confidence
            # drug matches) stay true on this card, which replaces that one.
            cautions += self.dvt_risk.assessment_cautions(assessment)
        evidence = (
            *(e for f in flags for e in f.evidence),
            *self.respiratory_rate(facts),
            *(e for s in signals for e in s.evidence),
            *self.dvt_risk.assessment_evidence(assessment),
            *self.conditions_evidence(known_pe),
            *self.leg_complaint_evidence(facts),
        )
        return Finding(
            severity="critical",
            summary=self.summary(signals, flags),
            explanation=self.explanation(assessment, signals, flags),
            evidence=unique_evidence(evidence),
            suggestions=(self.optional_duplex,),
            cautions=tuple(dict.fromkeys(cautions)),
            involves_draft_order=assessment.involves_draft_order,
            # The most urgent and most specific card of the set: time-sensitive harm.
            specificity=1,
        )

    def summary(self, signals: list[_Signal], flags: list[_Signal]) -> str:
        """E.g. "Leg swelling with dyspnea, HR 112/min: possible pulmonary embolism. Evaluate
        urgently." The DVT signals take what they need (up to 50 characters), the red flags the
        rest."""
        signal_text = join_parts([s.short for s in signals], 50, " and ")
        room = self.summary_limit - len(signal_text) - len(" with ") - len(self.summary_tail)
        flag_text = join_parts([f.short for f in flags], room)
        summary = f"{signal_text} with {flag_text}{self.summary_tail}"
        return fit_summary(capitalise(summary))

    def dvt_signals(self, facts: Facts, assessment: DvtAssessment) -> list[_Signal]:
        """§11 DVT signal: the dvt-risk warning pattern (whether or not a complaint is on
        record), an active DVT code, or a leg-swelling code."""
        signals: list[_Signal] = []
        active_dvt = self.coded_conditions(facts, "acute-dvt")
        if active_dvt:
            signals.append(_Signal("active DVT", self.conditions_evidence(active_dvt)))
        swelling = self.swelling_complaints(facts)
        if swelling:
            signals.append(_Signal("leg swelling", self.conditions_evidence(swelling)))
        if self.dvt_risk.is_warning(assessment):
            # Its evidence comes with the whole assessment (see evaluate).
            signals.append(_Signal(f"DVT risk (record Wells {assessment.wells_score})", ()))
        return signals

    def red_flags(self, facts: Facts) -> list[_Signal]:
        flags: list[_Signal] = []
        # New symptom codes only (onset, or recording when onset is absent, within 7 days):
        # a long-standing dyspnoea code (e.g. stable COPD) is not a red flag.
        symptoms = self.conditions_within(facts, "pe-symptoms", self.symptom_window_days)
        if symptoms:
            # "Chest pain, unspecified" -> "chest pain": the qualifier is on the evidence line.
            names = list(
                dict.fromkeys(
                    c.display.split(",")[0].strip().lower() or "PE symptom" for c in symptoms
                )
            )
            flags.append(_Signal(join_parts(names, 35, "/"), self.conditions_evidence(symptoms)))
        heart_rate = self.latest_vital(facts, "heart-rate")
        # Comparator results count only when unambiguous: ">120" is at or above 100, "<120" may
        # not be; "<95" is below 95, ">90" may not be.
        if heart_rate is not None and certainly_at_least(heart_rate, self.heart_rate_red_flag):
            flags.append(self.vital_sign_flag(heart_rate, "HR", "Heart rate", "/min"))
        saturation = self.latest_vital(facts, "oxygen-saturation")
        if saturation is not None and certainly_below(saturation, self.spo2_red_flag):
            flags.append(self.vital_sign_flag(saturation, "SpO2", "Oxygen saturation", "%"))
        return flags

    def vital_sign_flag(self, vital: LabEntry, short: str, label: str, unit: str) -> _Signal:
        """A vital sign as a red flag: "HR 112/min" in the summary, and its evidence line."""
        return _Signal(
            f"{short} {value_text(vital, 1)}{unit}", (self.lab_evidence(vital, label, unit, 1),)
        )

    def respiratory_rate(self, facts: Facts) -> tuple[Evidence, ...]:
        """Context only: §11 reads the respiratory rate but gives it no threshold."""
        rate = self.latest_vital(facts, "respiratory-rate")
        return (self.lab_evidence(rate, "Respiratory rate", "/min", 1),) if rate is not None else ()

    def latest_vital(self, facts: Facts, analyte: str) -> LabEntry | None:
        """The most recent result within the vital-sign window (§1.2: most recent in window).
        Result windows are calendar days, so the results of the days the window touches are
        read and its hours are checked here."""
        window = timedelta(hours=self.vitals_window_hours)
        days = ceil(self.vitals_window_hours / HOURS_PER_DAY)
        for entry in self.lab_results(facts, analyte, within_days=days):
            if entry.effective is None or entry.value is None:
                continue
            age = facts.as_of - entry.effective
            if timedelta(0) <= age <= window:
                return entry
        return None

    def explanation(
        self, assessment: DvtAssessment, signals: list[_Signal], flags: list[_Signal]
    ) -> str:
        risk = ""
        if assessment.has_risk:
            items = "; ".join(item.label for item in assessment.items)
            risk = (
                f" DVT risk found in the record: {items} (record-derived Wells score "
                f"{assessment.wells_score}; exam items are not in the record)."
            )
        anticoagulated = (
            f" The patient is on {self.drug_names(assessment.anticoagulants)}: PE remains possible "
            "on anticoagulation."
            if assessment.anticoagulants
            else ""
        )
        return (
            f"A deep-vein thrombosis signal ({', '.join(s.short for s in signals)}) is on "
            f"record together with a possible sign of pulmonary embolism "
            f"({', '.join(f.short for f in flags)}).{risk}{anticoagulated} Assess for pulmonary "
            "embolism now, following the local PE pathway."
        )


LOGIC = PeRedFlags()

RULE = RuleVersion(
    id="pe-red-flags",
    version="1.0.0",
    title="Possible pulmonary embolism: DVT signal with red flags",
    severities=("critical",),
    logic=LOGIC,
    requires=(*NON_OBSERVATION_REQUIREMENTS, observations(*VITAL_SIGNS, *OBSERVATION_VALUESETS)),
    valuesets=(
        "pe-symptoms",
        "pulmonary-embolism",
        *VITAL_SIGNS,
        *DVT_VALUESETS,
    ),
    terminology="2026.11",
    provenance=Provenance(
        guideline=(
            "Kline JA et al., Clinical criteria to prevent unnecessary diagnostic testing in "
            "emergency department patients with suspected pulmonary embolism (PERC), J Thromb "
            "Haemost 2004;2:1247; Wells PS et al., N Engl J Med 2003;349:1227"
        ),
        url="https://doi.org/10.1111/j.1538-7836.2004.00790.x",
        released="2026-11-21",
        changes="First release.",
        rationale=(
            "A finding (§1.6): no leg complaint is needed. The DVT signal is dvt-risk's warning "
            "pattern computed by dvt-risk's own assess_dvt_risk (record Wells >= 2, or >= 1 with "
            "one-sided swelling), an active acute-DVT code, or a leg-swelling complaint code "
            "(active, or recorded within 90 days as Facts.leg_complaints defines). Red flags: a "
            "pe-symptoms Condition with onset (or recording, when onset is absent) within 7 "
            "days, so a long-standing dyspnoea code never fires; the most recent heart rate and "
            "SpO2 within the last 24 hours measured in hours, not calendar days (HR >= 100/min, "
            "SpO2 < 95 %); comparator results count only when unambiguous. Respiratory rate is "
            "shown as context but has no threshold in §11. Symptoms coded only as Encounter "
            "reasons are not read (Facts has no question for them). An active PE code is shown "
            "with a note but is neither a signal nor a red flag, and anticoagulation never "
            "lowers the severity. The optional venous duplex (39420-5) is offered; nothing is "
            "ordered automatically."
        ),
    ),
)

"""statin-muscle-symptoms 1.0.0: statin-associated muscle symptoms, myopathy and
rhabdomyolysis (clinical-content.md §4).

On an active statin: CK above the lab's upper limit within 30 days, a SAMS/myopathy or
rhabdomyolysis code, a documented intolerance of the same statin, or a high-risk interacting
drug are findings and fire on any chart. A statin with a leg-cramp complaint and no CK in 90 days
is a candidate cause (info) and needs the complaint (§1.6).
"""

from __future__ import annotations

from dataclasses import dataclass

from cds.facts import Facts
from cds.record import AllergyEntry, ConditionEntry, LabEntry, MedicationEntry
from cds.rules.base import Evidence, Finding, Provenance, RuleLogic, RuleVersion, Severity
from cds.rules.lib.library import Library2026_11
from cds.rules.lib.orders.v1 import (
    BASIC_METABOLIC_PANEL,
    CREATINE_KINASE,
    TSH,
    VITAMIN_D_25OH,
    OrderSuggestion,
    order,
)
from cds.rules.lib.requirements.v1 import (
    ALLERGIES,
    CONDITIONS,
    ENCOUNTERS,
    MEDICATIONS,
    observations,
)
from cds.rules.lib.results.v1 import certainly_above, certainly_below, value_text
from cds.rules.lib.text.v1 import capitalise, fit_summary, fmt

# The results it reads (its Observations, with the complaints).
RESULTS: tuple[str, ...] = ("creatine-kinase", "tsh", "free-t4", "vitamin-d-25oh", "egfr")


@dataclass(frozen=True)
class _Ck:
    lab: LabEntry
    uln: float | None  # None when neither the lab nor the site gives one
    severe: bool  # > 10 × ULN


@dataclass(frozen=True)
class _Interactions:
    # A strong CYP3A4 inhibitor with simvastatin/lovastatin; gemfibrozil or ciclosporin.
    high_risk: list[MedicationEntry]
    high_risk_statins: list[MedicationEntry]  # the statins those drugs interact with
    other: list[MedicationEntry]  # the rest of §4's interacting list


@dataclass(frozen=True)
class StatinMuscleSymptoms(RuleLogic, Library2026_11):
    """§4. The predisposing TSH and 25-OH vitamin D are judged as the thyroid and vitamin D
    cards judge them (`cramp_labs.high_tsh`, `cramp_labs.low_vitamin_d`, each with its own
    12-month look-back), so the three cards never disagree about the same result."""

    ck_window_days: int = 30  # §19: CK for statin
    ck_monitoring_window_days: int = 90  # §4 info: no CK in 90 days
    ck_severe_multiple: float = 10.0  # CK > 10 × ULN: possible rhabdomyolysis
    # §4: "ULN is referenceRange.high (no fixed default; site-configured if absent)". No site
    # value is configured, so without a range only the lab's H/HH flag can say "above ULN".
    ck_uln_site_default: float | None = None  # U/L
    # An eGFR this recent is listed as a modifier; a TSH, 25-OH vitamin D or eGFR this recent
    # is not suggested again.
    modifier_window_days: int = 365
    egfr_low: float = 60.0  # mL/min/1.73 m2, a modifier below it

    ck_order: OrderSuggestion = order(CREATINE_KINASE, "Statin muscle symptoms")
    tsh_order: OrderSuggestion = order(TSH, "Hypothyroidism predisposes to statin myopathy")
    vitamin_d_order: OrderSuggestion = order(
        VITAMIN_D_25OH, "Vitamin D deficiency predisposes to statin muscle symptoms"
    )
    bmp_order: OrderSuggestion = order(BASIC_METABOLIC_PANEL, "Renal function on a statin")

    symptom_pattern_caution: str = (
        "The symptom pattern (symmetric, proximal, timing after a statin start or dose change) "
        "cannot be judged from the record."
    )
    myoglobin_caution: str = (
        "Check the urine for myoglobin (no verified LOINC code is available: order it by its "
        "local name) and renal function."
    )

    def evaluate(self, facts: Facts) -> Finding | None:
        statins = self.active_medications(facts, "statins")
        if not statins:
            return None
        ck_lab = self.latest_lab(facts, "creatine-kinase", within_days=self.ck_window_days)
        ck = self.raised_ck(ck_lab) if ck_lab is not None else None
        rhabdo = self.coded_conditions(facts, "rhabdomyolysis")
        sams = self.coded_conditions(facts, "sams-myopathy")
        intolerances = self.intolerances(facts)
        # Statins taken again despite a recorded intolerance of the same ingredient.
        reexposed = [s for s in statins if any(a.ingredients & s.ingredients for a in intolerances)]
        interactions = self.interactions(facts, statins)
        cramps = self.pain_or_cramp_complaints(facts)

        severity: Severity
        if (ck is not None and ck.severe) or rhabdo:
            severity = "critical"
        elif ck is not None or sams or reexposed or interactions.high_risk:
            severity = "warning"
        elif cramps and not self.lab_results(
            facts, "creatine-kinase", within_days=self.ck_monitoring_window_days
        ):
            severity = "info"  # candidate cause: the complaint is the context (§1.6)
        else:
            return None

        names = self.drug_names(statins)
        summary = self.summary(severity, names, ck, rhabdo, sams, reexposed, interactions)
        muscle_evidence = bool(ck or rhabdo or sams or reexposed or cramps)
        involved_drugs = [*statins, *interactions.high_risk, *interactions.other]
        evidence: list[Evidence] = [self.medication_evidence(m) for m in involved_drugs]
        if ck_lab is not None:
            evidence.append(self.result_evidence(ck_lab, "Creatine kinase", "U/L", 1))
        evidence += [self.condition_evidence(c) for c in (*rhabdo, *sams)]
        evidence += [self.intolerance_evidence(a) for a in intolerances]
        modifiers, modifier_evidence = self.predisposing_factors(facts, interactions)
        evidence += modifier_evidence
        evidence += self.leg_complaint_evidence(facts)

        cautions = [*self.low_confidence_cautions(involved_drugs), self.symptom_pattern_caution]
        if severity == "critical":
            cautions.insert(0, self.myoglobin_caution)
        if ck is not None and ck.uln is None:
            cautions.append(
                "The CK result has no reference range: how far above the upper limit it is "
                "cannot be judged."
            )
        return Finding(
            severity=severity,
            summary=fit_summary(summary),
            explanation=self.explanation(severity, modifiers),
            evidence=tuple(evidence),
            suggestions=self.suggestions(facts, severity, ck_lab, muscle_evidence),
            cautions=tuple(cautions),
            labs=(("creatine-kinase", ck_lab.reference),) if ck is not None and ck_lab else (),
            involves_draft_order=any(m.drafted for m in involved_drugs),
            # A named drug with a measured or coded muscle injury is as specific as this
            # service gets (10); an interaction or a code is a step less (15); a complaint
            # alone 40.
            specificity={"critical": 10, "warning": 15, "info": 40}[severity],
        )

    def raised_ck(self, lab: LabEntry) -> _Ck | None:
        uln = lab.reference_high if lab.reference_high is not None else self.ck_uln_site_default
        # The flag, then the range (`results.is_high` also settles a censored ">2000").
        if not self.is_high(lab, self.ck_uln_site_default):
            return None
        severe = uln is not None and certainly_above(lab, self.ck_severe_multiple * uln)
        return _Ck(lab, uln, severe)

    def intolerances(self, facts: Facts) -> list[AllergyEntry]:
        """Statin allergy/intolerance records that still stand, with their ingredients: needed
        to tell the active statin from one stopped because of it."""
        return self.active_allergies_to(facts, "statins")

    def interactions(self, facts: Facts, statins: list[MedicationEntry]) -> _Interactions:
        statin_refs = {s.reference for s in statins}
        # Simvastatin and lovastatin: exposure rises many-fold with strong CYP3A4 inhibition
        # (FDA 2011 labels). A subset of `statins`, in the same (record) order.
        sensitive = self.active_medications(facts, "cyp3a4-sensitive-statins")
        high_risk: list[MedicationEntry] = []
        high_risk_statins: list[MedicationEntry] = []
        strong_inhibitors = self.active_medications(facts, "strong-cyp3a4-inhibitors")
        if sensitive and strong_inhibitors:
            high_risk += strong_inhibitors
            high_risk_statins += sensitive
        fibrate_or_ciclosporin = self.active_medications(facts, "statin-fibrate-cyclosporine")
        if fibrate_or_ciclosporin:
            high_risk += fibrate_or_ciclosporin
            high_risk_statins += [s for s in statins if s not in high_risk_statins]
        high_risk = [m for m in high_risk if m.reference not in statin_refs]
        high_risk_refs = {m.reference for m in high_risk}
        other = [
            m
            for m in self.active_medications(facts, "statin-interacting-drugs")
            # A combination product (amlodipine/atorvastatin) is the statin itself, not a
            # co-drug.
            if m.reference not in statin_refs and m.reference not in high_risk_refs
        ]
        return _Interactions(high_risk, high_risk_statins, other)

    def predisposing_factors(
        self, facts: Facts, interactions: _Interactions
    ) -> tuple[list[str], list[Evidence]]:
        """§4 modifiers listed on the card: they raise the risk, they do not change severity
        (a high-risk combination is listed too, when another finding leads the summary)."""
        named: list[str] = []
        evidence: list[Evidence] = []
        if interactions.high_risk:
            named.append(
                f"a high-risk combination ({self.drug_names(interactions.high_risk_statins)} with "
                f"{self.drug_names(interactions.high_risk)})"
            )
        if interactions.other:
            named.append(f"an interacting drug ({self.drug_names(interactions.other)})")
        thyroid = self.high_tsh(facts)
        if thyroid is not None:
            named.append(f"TSH above range ({value_text(thyroid.tsh)} mIU/L)")
            evidence.append(self.tsh_evidence(thyroid.tsh))
        vitamin_d = self.low_vitamin_d(facts)
        if vitamin_d is not None:
            named.append(f"25-OH vitamin D below 20 ng/mL ({value_text(vitamin_d.lab, 1)} ng/mL)")
            evidence.append(self.vitamin_d_evidence(vitamin_d.lab))
        egfr = self.latest_lab(facts, "egfr", within_days=self.modifier_window_days)
        if egfr is not None and certainly_below(egfr, self.egfr_low):
            named.append(f"eGFR below {fmt(self.egfr_low)} ({value_text(egfr, 1)})")
            evidence.append(self.result_evidence(egfr, "eGFR", "mL/min/1.73 m2", 1))
        return named, evidence

    def summary(
        self,
        severity: Severity,
        names: str,
        ck: _Ck | None,
        rhabdo: list[ConditionEntry],
        sams: list[ConditionEntry],
        reexposed: list[MedicationEntry],
        interactions: _Interactions,
    ) -> str:
        if severity == "critical":
            if ck is not None and ck.severe:
                multiple = fmt(self.ck_severe_multiple)
                return (
                    f"CK {value_text(ck.lab, 1)} U/L (>{multiple}× ULN) on {names}: possible "
                    "statin myopathy or rhabdomyolysis; review urgently."
                )
            return (
                f"Rhabdomyolysis or myoglobinuria on record while on {names}: possible statin "
                "myopathy; review urgently."
            )
        if severity == "warning":
            if ck is not None:
                above = f"above ULN {fmt(ck.uln, 1)}" if ck.uln is not None else "above range"
                return (
                    f"CK {value_text(ck.lab, 1)} U/L ({above}) on {names}: possible statin "
                    "myopathy; review statin and dose."
                )
            if interactions.high_risk:
                statin = self.drug_names(interactions.high_risk_statins)
                return (
                    f"{capitalise(statin)} with {self.drug_names(interactions.high_risk)} raises "
                    "myopathy risk; muscle pain may be statin-related."
                )
            if sams:
                return (
                    f"Statin muscle symptoms or myopathy on record while on {names}; review "
                    "statin choice and dose."
                )
            statin = self.drug_names(reexposed)
            return (
                f"{capitalise(statin)} intolerance is recorded, yet {statin} is active again; "
                "muscle symptoms may be statin-related."
            )
        return (
            f"Leg cramps on {names} with no CK in {self.ck_monitoring_window_days} days: statin "
            "muscle symptoms possible; consider a CK."
        )

    def intolerance_evidence(self, allergy: AllergyEntry) -> Evidence:
        return Evidence(
            label=f"Allergy or intolerance: {allergy.display}",
            value=allergy.clinical_status or "recorded",
            reference=allergy.reference,
        )

    def explanation(self, severity: Severity, modifiers: list[str]) -> str:
        text = {
            "critical": (
                "A CK above ten times the upper limit, or coded rhabdomyolysis or "
                "myoglobinuria, on a statin is statin myopathy until shown otherwise: stop or "
                "hold the statin, check renal function and look for an interacting drug."
            ),
            "warning": (
                "Statins cause muscle pain, cramps and weakness (statin-associated muscle "
                "symptoms); a raised CK, a coded statin myopathy, a recorded intolerance or a "
                "drug that raises statin levels make a statin cause more probable."
            ),
            "info": (
                "Statins cause muscle pain and cramps, usually with a normal CK; with leg "
                "cramps on record and no recent CK, the statin is a possible contributor."
            ),
        }[severity]
        if modifiers:
            text += " Predisposing factors on record: " + "; ".join(modifiers) + "."
        return text

    def suggestions(
        self, facts: Facts, severity: Severity, ck_lab: LabEntry | None, muscle_evidence: bool
    ) -> tuple[OrderSuggestion, ...]:
        suggestions: list[OrderSuggestion] = []
        # A critical CK is repeated to follow its course; otherwise CK only when none is recent.
        if ck_lab is None or severity == "critical":
            suggestions.append(self.ck_order)
        # Predisposing conditions are looked for when there are muscle symptoms or signs
        # (ACC/AHA 2013), not for an interaction alone.
        window = self.modifier_window_days
        if muscle_evidence:
            if not self.lab_results(facts, "tsh", within_days=window):
                suggestions.append(self.tsh_order)
            if not self.lab_results(facts, "vitamin-d-25oh", within_days=window):
                suggestions.append(self.vitamin_d_order)
        if severity == "critical" or (
            muscle_evidence and not self.lab_results(facts, "egfr", within_days=window)
        ):
            suggestions.append(self.bmp_order)
        return tuple(suggestions)


LOGIC = StatinMuscleSymptoms()

RULE = RuleVersion(
    id="statin-muscle-symptoms",
    version="1.0.0",
    title="Statin-associated muscle symptoms",
    severities=("info", "warning", "critical"),
    logic=LOGIC,
    requires=(
        *MEDICATIONS,
        observations(*RESULTS, "leg-complaint"),
        CONDITIONS,
        ALLERGIES,
        ENCOUNTERS,
    ),
    valuesets=(
        "statins",
        "cyp3a4-sensitive-statins",
        "strong-cyp3a4-inhibitors",
        "statin-fibrate-cyclosporine",
        "statin-interacting-drugs",
        *RESULTS,
        "sams-myopathy",
        "rhabdomyolysis",
        "leg-cramp-complaint",
        "leg-complaint",
    ),
    terminology="2026.11",
    provenance=Provenance(
        guideline=(
            "EAS Consensus Panel on statin-associated muscle symptoms (Stroes et al., Eur Heart "
            "J 2015); 2013 ACC/AHA and 2018 AHA/ACC multisociety cholesterol guidelines "
            "(statin safety); NLA Statin Muscle Safety Task Force 2014; FDA Drug Safety "
            "Communication 2011 (simvastatin)"
        ),
        url="https://doi.org/10.1093/eurheartj/ehv043",
        released="2026-11-21",
        changes="First release.",
        rationale=(
            "ULN is the CK result's referenceRange.high; no site default is configured, so a CK "
            "without a range counts as raised only by its H/HH flag and is never judged > 10× "
            "ULN (the card says so). CK exactly at the ULN or at 10× ULN is not beyond it. A "
            "documented intolerance counts as muscle evidence (warning) only for the statin now "
            "active; one for another statin is listed, since a switch after intolerance is "
            "common. High-risk interaction: simvastatin or lovastatin with a strong CYP3A4 "
            "inhibitor (value sets cyp3a4-sensitive-statins and strong-cyp3a4-inhibitors), or "
            "any statin with gemfibrozil or "
            "ciclosporin; other §4 drugs are listed as modifiers. Findings (CK, codes, "
            "intolerance, interaction) fire on any chart; the info card needs a leg-cramp "
            "complaint (leg-cramp-complaint) and no CK in 90 days, as §4 says, so a statin "
            "with cramps and a normal CK gives no card. Modifiers (TSH above range, 25-OH D < "
            "20 ng/mL, eGFR < 60) use results within 12 months. TSH and 25-OH D are suggested "
            "only with muscle symptoms or signs and none in 12 months (Endocrine Society 2024: "
            "no routine vitamin D testing); BMP for critical cards or with no eGFR in 12 "
            "months; CK when none within 30 days, and again for critical cards."
        ),
    ),
)

"""rls-secondary-causes 1.0.0: restless legs with low iron stores (warning), borderline ferritin,
missing iron studies or other associated conditions (info) (clinical-content.md §8)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from cds.facts import Facts
from cds.record import ConditionEntry, LabEntry, MedicationEntry
from cds.rules.base import Evidence, Finding, Provenance, RuleLogic, RuleVersion, Severity
from cds.rules.lib.complaints.v1 import RESTLESS_LEGS
from cds.rules.lib.evidence.v1 import unique_by_reference
from cds.rules.lib.kidney.v1 import KIDNEY_VALUESETS, KidneyStatus
from cds.rules.lib.library import Library2026_11
from cds.rules.lib.orders.v1 import (
    CBC,
    FERRITIN,
    IRON,
    IRON_BINDING_CAPACITY,
    IRON_SATURATION,
    OrderSuggestion,
    order,
)
from cds.rules.lib.requirements.v1 import (
    CONDITIONS,
    ENCOUNTERS,
    FAMILY_HISTORY,
    MEDICATIONS,
    PATIENT,
    observations,
    procedures,
)
from cds.rules.lib.results.v1 import (
    certainly_at_least,
    certainly_at_most,
    certainly_below,
    value_text,
)
from cds.rules.lib.text.v1 import fit_summary, fmt, join_parts

# The results it judges itself (the kidney and pregnancy libraries read the eGFR, the
# pregnancy status and the gestational age).
RESULTS: tuple[str, ...] = (
    "ferritin",
    "iron",
    "tibc",
    "transferrin-saturation",
    "hemoglobin",
    "bmi",
)


@dataclass(frozen=True)
class _Verdict:
    """What the card says: decided by the iron studies, or by the associations alone."""

    severity: Severity
    summary: str
    suggestions: tuple[OrderSuggestion, ...]
    specificity: int
    low_iron: bool  # iron is indicated (warning)


@dataclass(frozen=True)
class _Association:
    label: str  # as the summary lists it, e.g. "obesity (BMI 32)"
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class _Treatment:
    """Restless-legs treatments the patient is on (or being ordered): listed, and cautioned
    about when iron stores are low."""

    iron: list[MedicationEntry]
    dopamine_agonists: list[MedicationEntry]
    gabapentinoids: list[MedicationEntry]

    @property
    def all(self) -> list[MedicationEntry]:
        return [*self.iron, *self.dopamine_agonists, *self.gabapentinoids]


@dataclass(frozen=True)
class RlsSecondaryCauses(RuleLogic, Library2026_11):
    """§8. The iron thresholds are AASM 2024's, by population: adults, end-stage kidney disease
    and children."""

    iron_window_days: int = 365  # §8 / §19: most recent iron studies within 12 months
    association_lab_window_days: int = 365  # BMI and haemoglobin used as associations
    adult_age_years: int = 18
    # AASM 2024 thresholds (§8).
    ferritin_iron_indicated: float = 75.0  # ng/mL, adults: <= 75 -> oral or IV iron
    ferritin_iv_only_max: float = 100.0  # ng/mL, adults: 75-100 -> only IV iron
    tsat_low: float = 20.0  # %, adults and ESRD: < 20
    ferritin_esrd_below: float = 200.0  # ng/mL, ESRD: < 200 and TSAT < 20 -> IV iron sucrose
    ferritin_child_below: float = 50.0  # ng/mL, children: < 50 -> iron
    bmi_obese: float = 30.0  # kg/m2, adults
    # Version 1.0.0 took a pregnancy to have ended only beyond 44 weeks of gestational age (the
    # other rules: 42, the pregnancy library's one definition); the released version keeps its
    # behaviour.
    pregnancy_ended_after_weeks: float = 44.0
    names_in_summary_chars: int = 60  # room for the association list in a < 140-character summary
    ferritin_order: OrderSuggestion = order(FERRITIN, "Iron stores in restless legs (AASM 2024)")
    iron_order: OrderSuggestion = order(IRON, "Transferrin saturation needs serum iron")
    tibc_order: OrderSuggestion = order(IRON_BINDING_CAPACITY, "Transferrin saturation")
    tsat_order: OrderSuggestion = order(IRON_SATURATION, "Iron status in restless legs")
    cbc_order: OrderSuggestion = order(CBC, "Anaemia in restless legs")
    ferritin_caution: str = (
        "Ferritin is an acute-phase reactant: inflammation, infection, liver disease and kidney "
        "disease raise it, so a normal or high value can hide iron deficiency. Ferritin assays "
        "differ by manufacturer: read the value against the lab's own method."
    )
    draw_caution: str = (
        "AASM 2024: draw iron studies in the morning, with no iron tablets or iron-rich food "
        "for 24 hours before; the record does not say how these were drawn."
    )
    explanation: str = (
        "Low brain iron is central to restless legs, and peripheral iron stores predict "
        "response to iron. The AASM 2024 guideline asks for ferritin and transferrin saturation "
        "(TSAT) in everyone with restless legs, and suggests iron when, in adults, ferritin is "
        "75 ng/mL or less or TSAT is below 20 % (oral or IV iron), IV iron only when ferritin "
        "is 75-100 ng/mL; in end-stage kidney disease IV iron sucrose when ferritin is below "
        "200 ng/mL and TSAT below 20 %; in children iron when ferritin is below 50 ng/mL. "
        "Pregnancy, kidney disease, neuropathy, obesity, smoking, hypothyroidism and a family "
        "history are associated with restless legs and are listed when on record."
    )

    def evaluate(self, facts: Facts) -> Finding | None:
        rls = self.restless_legs(facts)
        if not rls:
            return None
        kidney = self.kidney_status(facts)
        ferritin = self.latest_lab(facts, "ferritin", within_days=self.iron_window_days)
        tsat, tsat_evidence = self.transferrin_saturation(facts)
        associations = self.associations(facts, kidney)

        verdict = self.iron_verdict(facts, kidney, ferritin, tsat)
        if verdict is None and not associations:
            return None
        if verdict is None:
            verdict = self.associations_verdict(associations)

        evidence: list[Evidence] = list(self.complaint_evidence(rls, "Restless legs"))
        if ferritin is not None:
            evidence.append(self.lab_evidence(ferritin, "Ferritin", "ng/mL", 1))
        evidence += tsat_evidence
        for association in associations:
            evidence += association.evidence
        treatment = self.treatment_context(facts)
        evidence += [self.medication_evidence(m) for m in treatment.all]

        cautions = [self.ferritin_caution]
        if verdict.low_iron or verdict.suggestions:
            cautions.append(self.draw_caution)
        cautions += self.treatment_cautions(treatment, low_iron=verdict.low_iron)
        cautions += self.low_confidence_cautions(treatment.all)
        return Finding(
            severity=verdict.severity,
            summary=fit_summary(verdict.summary),
            explanation=self.explanation,
            evidence=tuple(evidence),
            suggestions=verdict.suggestions,
            cautions=tuple(cautions),
            # A drafted iron, dopamine agonist or gabapentinoid is listed (with its caution), so
            # the card belongs in order-select / order-sign too.
            involves_draft_order=any(m.drafted for m in treatment.all),
            specificity=verdict.specificity,
        )

    def restless_legs(self, facts: Facts) -> list[ConditionEntry]:
        """RLS coded (active Condition) or as a §1.6 complaint (recent Condition, Observation or
        Encounter reason): each listed once."""
        return unique_by_reference(
            [
                *self.coded_conditions(facts, RESTLESS_LEGS),
                *self.complaints_in(facts, RESTLESS_LEGS),
            ]
        )

    # -- iron ---------------------------------------------------------------------------------

    def transferrin_saturation(self, facts: Facts) -> tuple[LabEntry | None, tuple[Evidence, ...]]:
        """The latest TSAT within 12 months; if none was reported, calculated from a serum iron
        and TIBC drawn the same day (TSAT = iron / TIBC x 100)."""
        window = self.iron_window_days
        measured = self.latest_lab(facts, "transferrin-saturation", within_days=window)
        if measured is not None:
            return measured, (self.lab_evidence(measured, "Transferrin saturation", "%", 1),)
        iron = self.latest_lab(facts, "iron", within_days=window)
        tibc = self.latest_lab(facts, "tibc", within_days=window)
        if (
            iron is None
            or tibc is None
            or iron.value is None
            or not tibc.value
            or iron.comparator
            or tibc.comparator
            or iron.effective is None
            or tibc.effective is None
            or iron.effective.date() != tibc.effective.date()
        ):
            return None, ()
        value = iron.value / tibc.value * 100
        calculated = replace(
            iron,
            analyte="transferrin-saturation",
            display="Transferrin saturation (calculated)",
            value=value,
            unit="%",
            raw_value=None,
            raw_unit=None,
            reference_low=None,
            reference_high=None,
            interpretation=(),
        )
        evidence = Evidence(
            label="Transferrin saturation (calculated)",
            value=(
                f"{fmt(value, 0)} % (iron {fmt(iron.value, 0)} / TIBC {fmt(tibc.value, 0)} ug/dL)"
            ),
            when=iron.effective,
            reference=iron.reference,
        )
        return calculated, (evidence,)

    def iron_verdict(
        self,
        facts: Facts,
        kidney: KidneyStatus,
        ferritin: LabEntry | None,
        tsat: LabEntry | None,
    ) -> _Verdict | None:
        if ferritin is None and tsat is None:
            return _Verdict(
                "info",
                "Restless legs documented; no ferritin/iron studies in 12 months. Consider "
                "checking.",
                (
                    self.ferritin_order,
                    self.iron_order,
                    self.tibc_order,
                    self.tsat_order,
                    self.cbc_order,
                ),
                45,
                low_iron=False,
            )
        age = facts.age_years
        if age is not None and age < self.adult_age_years:
            return self.child_verdict(ferritin)
        if kidney.esrd:
            return self.esrd_verdict(ferritin, tsat)
        return self.adult_verdict(ferritin, tsat)

    def child_verdict(self, ferritin: LabEntry | None) -> _Verdict | None:
        # §8 gives children a ferritin threshold only.
        if ferritin is None:
            return self.missing_ferritin_result()
        if not certainly_below(ferritin, self.ferritin_child_below):
            return None
        return _Verdict(
            "warning",
            f"Restless legs in a child with ferritin {value_text(ferritin, 0)} ng/mL (<50): iron "
            "supplementation is recommended (AASM 2024).",
            (),
            15,
            low_iron=True,
        )

    def esrd_verdict(self, ferritin: LabEntry | None, tsat: LabEntry | None) -> _Verdict | None:
        ferritin_low = ferritin is not None and certainly_below(ferritin, self.ferritin_esrd_below)
        tsat_low = tsat is not None and certainly_below(tsat, self.tsat_low)
        if ferritin is not None and tsat is not None and ferritin_low and tsat_low:
            return _Verdict(
                "warning",
                f"Restless legs in ESRD with ferritin {value_text(ferritin, 0)} ng/mL and TSAT "
                f"{value_text(tsat, 0)}%: IV iron sucrose is suggested (AASM 2024).",
                (),
                15,
                low_iron=True,
            )
        # The ESRD criterion needs both results; one abnormal and one missing is a gap to close.
        if ferritin is not None and ferritin_low and tsat is None:
            return self.missing_tsat_result(ferritin)
        if tsat_low and ferritin is None:
            return self.missing_ferritin_result()
        return None

    def adult_verdict(self, ferritin: LabEntry | None, tsat: LabEntry | None) -> _Verdict | None:
        ferritin_low = ferritin is not None and certainly_at_most(
            ferritin, self.ferritin_iron_indicated
        )
        tsat_low = tsat is not None and certainly_below(tsat, self.tsat_low)
        if ferritin_low or tsat_low:
            parts = []
            if ferritin is not None and ferritin_low:
                parts.append(f"ferritin {value_text(ferritin, 0)} ng/mL (≤75)")
            if tsat is not None and tsat_low:
                parts.append(f"TSAT {value_text(tsat, 0)}% (<20%)")
            return _Verdict(
                "warning",
                f"Restless legs with {' and '.join(parts)}: iron supplementation is recommended "
                "(AASM 2024).",
                (),
                15,
                low_iron=True,
            )
        if ferritin is not None and certainly_at_most(ferritin, self.ferritin_iv_only_max):
            return _Verdict(
                "info",
                f"Restless legs with ferritin {value_text(ferritin, 0)} ng/mL (75-100): only IV "
                "iron is suggested at this level (AASM 2024).",
                () if tsat is not None else (self.tsat_order,),
                35,
                low_iron=False,
            )
        if ferritin is None:
            return self.missing_ferritin_result()
        if tsat is None:
            return self.missing_tsat_result(ferritin)
        return None

    def missing_ferritin_result(self) -> _Verdict:
        return _Verdict(
            "info",
            "Restless legs documented; no ferritin in 12 months. Consider checking iron stores.",
            (self.ferritin_order,),
            45,
            low_iron=False,
        )

    def missing_tsat_result(self, ferritin: LabEntry) -> _Verdict:
        return _Verdict(
            "info",
            f"Restless legs with ferritin {value_text(ferritin, 0)} ng/mL but no transferrin "
            "saturation in 12 months. Consider checking.",
            (self.tsat_order, self.iron_order, self.tibc_order),
            45,
            low_iron=False,
        )

    # -- associations -------------------------------------------------------------------------

    def associations_verdict(self, associations: list[_Association]) -> _Verdict:
        """The card when the iron studies say nothing: the associated conditions alone."""
        labels = join_parts(
            [a.label for a in associations], self.names_in_summary_chars, reserve_more=False
        )
        return _Verdict(
            "info",
            f"Restless legs documented with associated conditions on record: {labels}.",
            (),
            50,  # associations explain less than a lab result: least specific
            low_iron=False,
        )

    def associations(self, facts: Facts, kidney: KidneyStatus) -> list[_Association]:
        found: list[_Association] = []
        self.add_pregnancy(found, facts)
        if kidney.has_ckd:
            label = "ESRD" if kidney.esrd else "CKD"
            found.append(_Association(label, self.kidney_evidence(facts, kidney)))
        self.add_conditions(found, facts, "neuropathy", "peripheral-neuropathy-any")
        self.add_obesity(found, facts)
        # The coded answer of the smoking-status Observation is not read (see the rationale);
        # coded smoker findings are.
        self.add_conditions(found, facts, "smoker", "smoker")
        self.add_conditions(found, facts, "hypothyroidism", "hypothyroidism")
        self.add_anaemia(found, facts)
        family = self.family_history_of(facts, "restless-legs")
        if family:
            found.append(
                _Association(
                    "family history",
                    tuple(
                        Evidence("Family history of restless legs", reference=ref) for ref in family
                    ),
                )
            )
        return found

    def add_pregnancy(self, found: list[_Association], facts: Facts) -> None:
        pregnancy = self.current_pregnancy(
            facts, ended_after_weeks=self.pregnancy_ended_after_weeks
        )
        if pregnancy is None:
            return
        weeks = (
            f"about {pregnancy.gestational_weeks:.0f} weeks"
            if pregnancy.gestational_weeks is not None
            else "gestational age not recorded"
        )
        found.append(
            _Association(
                "pregnancy",
                (Evidence("Pregnancy", weeks, when=pregnancy.when, reference=pregnancy.evidence),),
            )
        )

    def add_conditions(
        self, found: list[_Association], facts: Facts, label: str, *valuesets: str
    ) -> None:
        conditions = [c for name in valuesets for c in self.coded_conditions(facts, name)]
        if conditions:
            found.append(
                _Association(label, tuple(self.condition_evidence(c) for c in conditions[:2]))
            )

    def add_obesity(self, found: list[_Association], facts: Facts) -> None:
        coded = self.coded_conditions(facts, "obesity")
        bmi = self.latest_lab(facts, "bmi", within_days=self.association_lab_window_days)
        adult = facts.age_years is None or facts.age_years >= self.adult_age_years
        # BMI >= 30 defines obesity in adults only (children use age- and sex-specific centiles).
        obese_by_bmi = bmi is not None and adult and certainly_at_least(bmi, self.bmi_obese)
        if not coded and not obese_by_bmi:
            return
        evidence = [self.condition_evidence(c) for c in coded[:1]]
        label = "obesity"
        if bmi is not None and obese_by_bmi:
            evidence.append(self.lab_evidence(bmi, "Body mass index", "kg/m2", 1))
            label = f"obesity (BMI {value_text(bmi, 0)})"
        found.append(_Association(label, tuple(evidence)))

    def add_anaemia(self, found: list[_Association], facts: Facts) -> None:
        unique = unique_by_reference(
            [
                *self.coded_conditions(facts, "iron-deficiency"),
                *self.coded_conditions(facts, "anemia"),
            ]
        )
        hemoglobin = self.latest_lab(
            facts, "hemoglobin", within_days=self.association_lab_window_days
        )
        # No default threshold: haemoglobin limits depend on sex, age and pregnancy, so only the
        # lab's own flag or range says "low".
        low_hb = hemoglobin is not None and self.is_low(hemoglobin)
        if not unique and not low_hb:
            return
        evidence = [self.condition_evidence(c) for c in unique[:2]]
        if hemoglobin is not None and low_hb:
            evidence.append(self.lab_evidence(hemoglobin, "Haemoglobin (low)", "g/dL", 1))
        label = "iron deficiency" if self.has_condition(facts, "iron-deficiency") else "anaemia"
        found.append(_Association(label, tuple(evidence)))

    # -- treatment context --------------------------------------------------------------------

    def treatment_context(self, facts: Facts) -> _Treatment:
        return _Treatment(
            iron=self.active_medications(facts, "iron-supplements"),
            dopamine_agonists=self.active_medications(facts, "dopamine-agonists"),
            gabapentinoids=self.active_medications(facts, "gabapentinoids"),
        )

    def treatment_cautions(self, treatment: _Treatment, *, low_iron: bool) -> list[str]:
        notes = []
        if low_iron and treatment.iron:
            notes.append(
                f"Already on {self.drug_names(treatment.iron)}: iron stores are still low; review "
                "adherence and absorption (IV iron is an option)."
            )
        if low_iron and treatment.dopamine_agonists:
            notes.append(
                f"On {self.drug_names(treatment.dopamine_agonists)}: low iron is a risk factor for "
                "augmentation, and AASM 2024 suggests against the standard use of dopamine "
                "agonists."
            )
        return notes


LOGIC = RlsSecondaryCauses()

RULE = RuleVersion(
    id="rls-secondary-causes",
    version="1.0.0",
    title="Restless legs: iron deficiency and other secondary causes",
    severities=("info", "warning"),
    logic=LOGIC,
    requires=(
        PATIENT,
        CONDITIONS,
        observations(*RESULTS, "egfr", "pregnancy-status", "gestational-age", "leg-complaint"),
        *MEDICATIONS,
        procedures("dialysis"),
        ENCOUNTERS,
        FAMILY_HISTORY,
    ),
    valuesets=(
        "restless-legs",
        "leg-complaint",
        *RESULTS,
        "pregnancy",
        "pregnancy-status",
        "gestational-age",
        # pregnancy.current_pregnancy reads delivery procedures: a delivery ends the pregnancy.
        "delivery",
        "peripheral-neuropathy-any",
        "obesity",
        "smoker",
        "hypothyroidism",
        "anemia",
        "iron-deficiency",
        "iron-supplements",
        "dopamine-agonists",
        "gabapentinoids",
        *KIDNEY_VALUESETS,
    ),
    terminology="2026.11",
    provenance=Provenance(
        guideline=(
            "AASM clinical practice guideline for the treatment of RLS and PLMD: Winkelman JW "
            "et al. J Clin Sleep Med 2025;21(1):137-152; IRLSSG iron consensus: Allen RP et "
            "al. Sleep Med 2018;41:27-44"
        ),
        url="https://doi.org/10.5664/jcsm.11390",
        released="2026-11-21",
        changes="First release.",
        rationale=(
            "Trigger: restless-legs code (active Condition, incl. G47.61 PLMD) or an RLS "
            "complaint (§1.6), which is itself the complaint, so no other is needed. Iron "
            "studies: the latest ferritin and TSAT within 365 days; fasting/morning draw is not "
            "recorded, so it is a caution, not a filter. Without a reported TSAT it is "
            "calculated from serum iron and TIBC drawn the same day. Censored results count "
            "only when unambiguous ('<10' is <= 75). Populations: age < 18 -> ferritin < 50 "
            "only (§8 gives no paediatric TSAT limit); ESRD = coded ESRD or on dialysis (code, "
            "or a dialysis procedure in 90 days) -> ferritin < 200 AND TSAT < 20 %, with one "
            "of them abnormal and the other missing reported as an info gap; unknown age is "
            "treated as adult. Adult ferritin exactly 75 -> warning (<= 75); 75 < ferritin <= "
            "100 -> info (IV iron only). A ferritin without a TSAT (or TSAT without ferritin) "
            "in 12 months is an info gap, since AASM asks for both. Severity is not lowered "
            "when iron is already prescribed (the stores are still low; a caution says so). "
            "Associations (info, and listed on every card): pregnancy (Facts.pregnancy), CKD/"
            "ESRD/dialysis (shared kidney logic of ckd-dialysis-cramps), any coded peripheral "
            "neuropathy, obesity (code, or BMI >= 30 within 12 months in adults), smoker "
            "(coded findings only: the smoking-status Observation answer needs a Facts "
            "question that does not exist yet), hypothyroidism, anaemia/iron deficiency "
            "(code, or a haemoglobin flagged low by the lab; no default limit), family history "
            "(FamilyMemberHistory in restless-legs)."
        ),
    ),
)

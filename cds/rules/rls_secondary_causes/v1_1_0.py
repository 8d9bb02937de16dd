"""rls-secondary-causes 1.1.0: wider value sets, smoking from the smoking-status answer, results
shown as reported, candidate causes only with a leg complaint, short cards (clinical-content.md
§8 as §22.2 e, f, g and m settle it)."""

from __future__ import annotations

from dataclasses import dataclass

from cds.facts import Facts
from cds.record import ConditionEntry, LabEntry
from cds.rules.base import Evidence, Finding, GuidelineSource, Provenance
from cds.rules.lib.complaints.v2 import ANY_LEG_COMPLAINT, COMPLAINT_WINDOW_DAYS, RESTLESS_LEGS
from cds.rules.lib.evidence.v1 import unique_by_reference, unique_evidence
from cds.rules.lib.kidney.v1 import KidneyStatus
from cds.rules.lib.library import Library2026_12
from cds.rules.lib.pregnancy.v2 import PREGNANCY_ENDED_AFTER_WEEKS
from cds.rules.lib.requirements.v1 import observations
from cds.rules.lib.results.v1 import (
    certainly_above,
    certainly_at_least,
    certainly_at_most,
    certainly_below,
    value_text,
)
from cds.rules.lib.smoking.v1 import SMOKING_STATUS
from cds.rules.lib.text.v1 import fit_summary
from cds.rules.rls_secondary_causes import v1_0_0 as previous

# How a card names periodic limb movement disorder coded without restless legs.
PLMD_WORDS = "Periodic limb movements"
RLS_WORDS = "Restless legs"
# §21 / §22.2 m; no stable address is given for it.
IRLSSG_2018 = GuidelineSource("IRLSSG iron consensus (Sleep Med 2018;41:27-44)", None)


@dataclass(frozen=True)
class RlsSecondaryCauses(previous.RlsSecondaryCauses, Library2026_12):
    """§8 with the 2026.12 libraries (§22.2 e: restless legs coded on a visit or an Observation
    count; f: a current smoker by the smoking-status answer; g: results keep their comparator).

    The low-iron warning (§22.2 m: adults ferritin <= 75 ng/mL or TSAT < 20 %, children ferritin
    < 50 ng/mL) is a finding. Every info card (no iron studies, ferritin 75-100, a ferritin whose
    reported bound does not settle the threshold, associations alone) is a candidate cause
    (§1.6): it needs a leg complaint, which coded restless legs is; periodic limb movement
    disorder alone is not one. A pregnancy ends as in every other rule (42 weeks)."""

    # Not read since 1.1.0: a pregnancy ends where the pregnancy library says (42 weeks).
    pregnancy_ended_after_weeks: float = PREGNANCY_ENDED_AFTER_WEEKS
    evidence_shown: int = 6  # lines on a card: the disorder, iron studies, treatment, associations
    cautions_shown: int = 2
    explanation: str = (
        "Low iron stores worsen restless legs: AASM 2024 suggests iron in adults with ferritin 75 "
        "ng/mL or less or TSAT below 20 % (IV iron in ESRD with ferritin below 200 and TSAT below "
        "20 %), IRLSSG 2018 in children with ferritin below 50. Associated conditions on record "
        "are listed."
    )
    ferritin_caution: str = (
        "Ferritin is an acute-phase reactant (inflammation, infection, liver or kidney disease "
        "raise it) and assays differ by manufacturer: a normal value can hide iron deficiency."
    )
    # The children's threshold rests on the IRLSSG consensus (§22.2 m), not on AASM 2024.
    children_source: GuidelineSource = IRLSSG_2018

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
        # §1.6: only low iron stores stand on their own; the rest are candidate causes.
        candidate = not verdict.low_iron
        if candidate and not self.has_leg_complaint(facts):
            return None

        treatment = self.treatment_context(facts)
        evidence: list[Evidence] = list(self.complaint_evidence(rls[:1], RLS_WORDS))
        if ferritin is not None:
            evidence.append(self.lab_evidence(ferritin, "Ferritin", "ng/mL", 1))
        evidence += tsat_evidence
        evidence += [self.medication_evidence(m) for m in treatment.all]
        evidence += [a.evidence[0] for a in associations if a.evidence]

        cautions = [self.ferritin_caution]
        cautions += self.treatment_cautions(treatment, low_iron=verdict.low_iron)
        if verdict.low_iron or verdict.suggestions:
            cautions.append(self.draw_caution)
        child = verdict.low_iron and self.is_child(facts)
        return Finding(
            severity=verdict.severity,
            summary=fit_summary(self.disorder_named(facts, rls, verdict.summary)),
            explanation=self.explanation,
            evidence=unique_evidence(evidence)[: self.evidence_shown],
            suggestions=verdict.suggestions,
            cautions=tuple(cautions[: self.cautions_shown]),
            involves_draft_order=any(m.drafted for m in treatment.all),
            specificity=verdict.specificity,
            source=self.children_source if child else None,
            candidate=candidate,
        )

    def restless_legs(self, facts: Facts) -> list[ConditionEntry]:
        """§22.2 e: restless legs or PLMD as an active Condition, or coded on a Condition, a visit
        reason or an Observation within the §1.6 window; each resource once."""
        return unique_by_reference(
            [
                *self.coded_conditions(facts, RESTLESS_LEGS),
                *self.recorded(facts, RESTLESS_LEGS, within_days=COMPLAINT_WINDOW_DAYS),
            ]
        )

    def disorder_named(self, facts: Facts, rls: list[ConditionEntry], summary: str) -> str:
        """1.0.0's summaries open with "Restless legs"; with only periodic limb movement disorder
        coded, the card says so (§1.6 lists restless legs, not PLMD, as a leg complaint)."""
        if any(facts.matches(ANY_LEG_COMPLAINT, c.codings) is not None for c in rls):
            return summary
        if summary.startswith(RLS_WORDS):
            summary = PLMD_WORDS + summary[len(RLS_WORDS) :]
        return summary

    def is_child(self, facts: Facts) -> bool:
        age = facts.age_years
        return age is not None and age < self.adult_age_years

    # -- iron ---------------------------------------------------------------------------------

    def child_verdict(self, ferritin: LabEntry | None) -> previous._Verdict | None:
        """As 1.0.0 (ferritin < 50 ng/mL, §22.2 m), citing the consensus the threshold is from."""
        if ferritin is None:
            return self.missing_ferritin_result()
        if not certainly_below(ferritin, self.ferritin_child_below):
            return None
        return previous._Verdict(
            "warning",
            f"Restless legs in a child with ferritin {value_text(ferritin, 0)} ng/mL (<50): iron "
            "supplementation is recommended (IRLSSG 2018).",
            (),
            15,
            low_iron=True,
        )

    def adult_verdict(
        self, ferritin: LabEntry | None, tsat: LabEntry | None
    ) -> previous._Verdict | None:
        """As 1.0.0, except that a censored ferritin is called 75-100 only when its bound says so
        ("<80" may be 40): a bound that settles neither side is a gap to close (§22.2 g)."""
        tsat_low = tsat is not None and certainly_below(tsat, self.tsat_low)
        if ferritin is not None and not tsat_low and not self.ferritin_settled(ferritin):
            return self.unsettled_ferritin_result(ferritin)
        return super().adult_verdict(ferritin, tsat)

    def ferritin_settled(self, ferritin: LabEntry) -> bool:
        """Whether the result says on which side of the adult threshold (75 ng/mL) it lies."""
        limit = self.ferritin_iron_indicated
        return certainly_at_most(ferritin, limit) or certainly_above(ferritin, limit)

    def unsettled_ferritin_result(self, ferritin: LabEntry) -> previous._Verdict:
        return previous._Verdict(
            "info",
            f"Restless legs with ferritin {value_text(ferritin, 0)} ng/mL: the bound does not show "
            "if it is at or below 75 (AASM 2024). Consider a repeat.",
            (self.ferritin_order, self.tsat_order),
            45,
            low_iron=False,
        )

    # -- associations -------------------------------------------------------------------------

    def associations(self, facts: Facts, kidney: KidneyStatus) -> list[previous._Association]:
        """As 1.0.0, with a current smoker by Condition or smoking-status answer (§22.2 f) and
        obesity only while no newer BMI says otherwise."""
        found: list[previous._Association] = []
        self.add_pregnancy(found, facts)
        if kidney.has_ckd:
            label = "ESRD" if kidney.esrd else "CKD"
            found.append(previous._Association(label, self.kidney_evidence(facts, kidney)))
        self.add_conditions(found, facts, "neuropathy", "peripheral-neuropathy-any")
        self.add_obesity(found, facts)
        self.add_smoking(found, facts)
        self.add_conditions(found, facts, "hypothyroidism", "hypothyroidism")
        self.add_anaemia(found, facts)
        family = self.family_history_of(facts, "restless-legs")
        if family:
            found.append(
                previous._Association(
                    "family history",
                    tuple(
                        Evidence("Family history of restless legs", reference=ref) for ref in family
                    ),
                )
            )
        return found

    def add_pregnancy(self, found: list[previous._Association], facts: Facts) -> None:
        """A current pregnancy, ended as in every other rule (the pregnancy library's 42 weeks)."""
        pregnancy = self.current_pregnancy(facts)
        if pregnancy is None:
            return
        weeks = (
            f"about {pregnancy.gestational_weeks:.0f} weeks"
            if pregnancy.gestational_weeks is not None
            else "gestational age not recorded"
        )
        found.append(
            previous._Association(
                "pregnancy",
                (Evidence("Pregnancy", weeks, when=pregnancy.when, reference=pregnancy.evidence),),
            )
        )

    def add_smoking(self, found: list[previous._Association], facts: Facts) -> None:
        """§22.2 f: a current smoker by an active Condition or the latest smoking-status answer."""
        smoking = self.current_smoker(facts)
        if smoking is None:
            return
        found.append(
            previous._Association(
                "smoker",
                (
                    Evidence(
                        "Smoking status",
                        smoking.display,
                        when=smoking.when,
                        reference=smoking.reference,
                    ),
                ),
            )
        )

    def add_obesity(self, found: list[previous._Association], facts: Facts) -> None:
        """Obesity by code, or by a BMI >= 30 within 12 months in an adult; a coded obesity is not
        current when a newer BMI of an adult is below 30 (problem lists keep old codes)."""
        coded = self.coded_conditions(facts, "obesity")
        bmi = self.latest_lab(facts, "bmi", within_days=self.association_lab_window_days)
        adult = not self.is_child(facts)
        obese_by_bmi = bmi is not None and adult and certainly_at_least(bmi, self.bmi_obese)
        if bmi is not None and adult and certainly_below(bmi, self.bmi_obese):
            coded = [c for c in coded if _newer(c, bmi)]
        if not coded and not obese_by_bmi:
            return
        if bmi is not None and obese_by_bmi:
            label = f"obesity (BMI {value_text(bmi, 0)})"
            evidence = (self.lab_evidence(bmi, "Body mass index", "kg/m2", 1),)
        else:
            label = "obesity"
            evidence = (self.condition_evidence(coded[0]),)
        found.append(previous._Association(label, evidence))


def _newer(condition: ConditionEntry, bmi: LabEntry) -> bool:
    """The obesity code was recorded after the BMI (an undated code is older than any result)."""
    coded = condition.onset or condition.recorded
    return coded is not None and bmi.effective is not None and coded > bmi.effective


LOGIC = RlsSecondaryCauses()

RULE = previous.RULE.revise(
    version="1.1.0",
    terminology="2026.12",
    logic=LOGIC,
    requires=(*previous.RULE.requires, observations(SMOKING_STATUS)),
    valuesets=(*previous.RULE.valuesets, SMOKING_STATUS),
    source_label="AASM 2024 RLS guideline",
    provenance=Provenance(
        guideline=previous.RULE.provenance.guideline,
        url=previous.RULE.provenance.url,
        released="2026-12-07",
        changes=(
            "Wider value sets (anaemia 51 codes, ferritin by 4 LOINCs, PLMD by SNOMED, obesity, "
            "hypothyroidism, neuropathy, CKD). Restless legs coded as a visit reason or an "
            "Observation counts (§22.2 e). A current smoker recorded only by a smoking-status "
            "answer (LOINC 72166-2) is an association; a later ex- or never-smoker answer "
            "ends it (§22.2 f). Results keep their comparator in the evidence (ferritin <10 "
            "ng/mL) and a censored ferritin is called 75-100 only when its bound says so "
            "(§22.2 g). Iron thresholds by age as §22.2 m: adults (18 and over) ferritin <= 75 "
            "or TSAT < 20 %, children ferritin < 50 (citing the IRLSSG consensus). A pregnancy "
            "ends at 42 weeks, as in every other rule (1.0.0: 44). The info cards are candidate "
            "causes and need a leg complaint; a card lists at most 6 evidence lines and 2 notes."
        ),
        rationale=(
            "Low iron stores with restless legs or PLMD coded are a finding (§1.6: ferritin <= "
            "75 with RLS coded) and fire on any chart. The info cards (no iron studies, ferritin "
            "75-100, associations) are candidate causes: restless legs coded is itself the leg "
            "complaint; PLMD alone is not a §1.6 complaint, so it opens only the low-iron "
            "finding, and its card says 'Periodic limb movements'. A censored ferritin whose "
            "bound settles neither side of 75 ('<80') gives an info card suggesting a repeat "
            "rather than a claim that it is 75-100. Coded obesity is dropped when an adult's "
            "BMI within 12 months, newer than the code, is below 30: Synthea and problem lists "
            "keep 'BMI 30+' findings long after the weight fell. Smoking: Smoking library "
            "(active smoker Condition or latest 72166-2 answer, the newer deciding). The "
            "associations stay info and never raise the severity. Cautions: the ferritin "
            "caution always (§8), then one treatment caution (dopamine agonist augmentation, "
            "or iron already prescribed) or the morning-draw advice; a medication matched by "
            "name is flagged on its evidence line. The ESRD thresholds are 1.0.0's."
        ),
    ),
)

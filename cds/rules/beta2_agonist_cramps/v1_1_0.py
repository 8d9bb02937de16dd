"""beta2-agonist-cramps 1.1.0: the candidate-cause card says which complaint is on record and is
marked as one; results are shown as reported; §22's medication and complaint reading."""

from __future__ import annotations

from dataclasses import dataclass

from cds.facts import Facts
from cds.record import ConditionEntry, LabEntry, MedicationEntry
from cds.rules.base import Finding, Provenance
from cds.rules.beta2_agonist_cramps import v1_0_0 as previous
from cds.rules.lib.library import Library2026_12
from cds.rules.lib.requirements.v1 import (
    CONDITIONS_IF_AVAILABLE,
    ENCOUNTERS_IF_AVAILABLE,
    MEDICATIONS,
    observations,
)
from cds.rules.lib.text.v1 import SUMMARY_LIMIT, capitalise, fit_summary

# What `complaint_words` reads to say which complaint is on record.
COMPLAINT_WORDS: tuple[str, ...] = ("leg-pain", "leg-cramp", "restless-legs", "leg-swelling")


@dataclass(frozen=True)
class Beta2AgonistCramps(previous.Beta2AgonistCramps, Library2026_12):
    """What 1.1.0 decides differently:

    - which agonist orders count, and where a complaint may be coded, from the 2026.12
      libraries (§22.2 c, d, e: an active order past its dispensing window; a visit reason or an
      Observation);
    - the info card is a candidate cause (§1.6) and its summary says which complaint is on
      record ("leg pain", "leg cramps"), never "cramps" for a coded leg pain;
    - the low-potassium card is a finding (a drug with an abnormal result) and shows the
      potassium as reported, with two decimals and its comparator (§22.2 g);
    - at most two drugs and one complaint are listed; the explanation is two sentences.
    """

    k_digits: int = 2  # 3.49 is shown as 3.49, never rounded up to the 3.5 limit
    drugs_shown: int = 2
    complaints_shown: int = 1

    def low_potassium_finding(
        self,
        agonists: list[MedicationEntry],
        potassium: LabEntry,
        complaints: list[ConditionEntry],
    ) -> Finding:
        names = self.drug_names(agonists)
        return Finding(
            severity="warning",
            summary=fit_summary(
                f"Low potassium (K {self.measured(potassium, 'mmol/L', self.k_digits)}) on "
                f"{names}: beta-2 agonists lower potassium and can add to cramps."
            ),
            explanation=(
                "Beta-2 agonists shift potassium into cells, most at high or nebulised doses, "
                "and with a low potassium this can cause or worsen muscle cramps. Review the "
                "potassium and its other causes as well as the agonist dose."
            ),
            evidence=(
                *(self.medication_evidence(m) for m in agonists[: self.drugs_shown]),
                self.lab_evidence(potassium, "Potassium", "mmol/L", self.k_digits),
                *self.complaint_evidence(complaints)[: self.complaints_shown],
            ),
            cautions=self.low_confidence_cautions(agonists),
            labs=(("potassium", potassium.reference),),
            involves_draft_order=any(m.drafted for m in agonists),
            specificity=35,
            candidate=False,  # a drug with an abnormal result stands on its own (§1.6)
        )

    def candidate_finding(
        self, facts: Facts, agonists: list[MedicationEntry], complaints: list[ConditionEntry]
    ) -> Finding:
        no_recent_potassium = not self.lab_results(
            facts, "potassium", within_days=self.potassium_window_days
        )
        words = self.complaint_words(facts, complaints)
        names = self.drug_names(agonists)
        potassium = (
            f"no potassium result is on record in the last {self.potassium_window_days} days."
            if no_recent_potassium
            else "the latest potassium is not low."
        )
        return Finding(
            severity="info",
            summary=fit_summary(self.candidate_summary(names, words)),
            explanation=(
                "Muscle cramps are a reported adverse effect of beta-2 agonists, and new "
                "long-acting agonist prescriptions are followed by more treatment for night "
                f"cramps (Garrison 2012). They can also lower potassium; {potassium}"
            ),
            evidence=(
                *(self.medication_evidence(m) for m in agonists[: self.drugs_shown]),
                *self.complaint_evidence(complaints)[: self.complaints_shown],
            ),
            suggestions=(self.bmp,) if no_recent_potassium else (),
            cautions=self.low_confidence_cautions(agonists),
            involves_draft_order=any(m.drafted for m in agonists),
            specificity=45,
            candidate=True,  # a documented association: needs the complaint (§1.6)
        )

    def candidate_summary(self, names: str, words: str) -> str:
        """ "Salmeterol with leg cramps on record: ..."; with several drugs, the complaint
        first, so the summary stays within the CDS Hooks limit."""
        summary = (
            f"{capitalise(names)} with {words} on record: muscle cramps are a reported effect "
            "of beta-2 agonists; consider as a contributor."
        )
        if len(summary) < SUMMARY_LIMIT:
            return summary
        return (
            f"{capitalise(words)} on record: a reported effect of beta-2 agonists ({names}); "
            "consider as a contributor."
        )


LOGIC = Beta2AgonistCramps()

RULE = previous.RULE.revise(
    version="1.1.0",
    terminology="2026.12",
    logic=LOGIC,
    valuesets=(*previous.RULE.valuesets, *COMPLAINT_WORDS),
    # Diagnoses and visits are read for the complaint only: without them the low-potassium
    # finding still stands.
    requires=(
        *MEDICATIONS,
        observations("potassium", "leg-complaint"),
        CONDITIONS_IF_AVAILABLE,
        ENCOUNTERS_IF_AVAILABLE,
    ),
    source_label="Garrison 2012 (beta-2 agonists and night cramps)",
    provenance=Provenance(
        guideline=previous.RULE.provenance.guideline,
        url=previous.RULE.provenance.url,
        released="2026-12-07",
        changes=(
            "The info card names the complaint on record ('Salmeterol with leg pain on record: "
            "...'; 'leg cramps' only for a coded cramp) and is marked as a candidate cause "
            "(shown only with a leg pain or cramp complaint, §1.6). An agonist order still "
            "active past its dispensing window counts (§22.2 d); a complaint coded as a visit "
            "reason or an Observation counts (§22.2 e). The low-potassium card shows the value "
            "as reported, with its comparator and two decimals ('K <3 mmol/L', 'K 3.49', §22.2 "
            "g). Shorter card: two sentences, at most two drugs and one complaint listed."
        ),
        rationale=(
            "The complaint that opens the card is unchanged (leg pain or cramp, "
            "leg-cramp-complaint): §5 reads 'a cramp context code, or the hook context is leg "
            "pain'. The summary now says which was coded, since the clinician reads the card "
            "against the record. The low-potassium card stays a warning and a finding: a drug "
            "with an abnormal result (§1.6); a critical potassium is carried by the electrolyte "
            "cards. The source stays Garrison 2012, the population evidence for the "
            "association; the agonist product labels (muscle cramps, hypokalaemia) have no "
            "single address."
        ),
    ),
)

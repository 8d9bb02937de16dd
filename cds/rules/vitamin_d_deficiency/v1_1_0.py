"""vitamin-d-deficiency 1.1.0: the card says what is on record (no "statin intolerance" the record
does not show), and a supplement makes it a candidate cause that needs a complaint."""

from __future__ import annotations

from dataclasses import dataclass, replace

from cds.facts import Facts
from cds.record import MedicationEntry
from cds.rules.base import Evidence, Finding, Provenance, Severity
from cds.rules.lib.complaints.v2 import LEG_CRAMP, LEG_PAIN, PAIN_OR_CRAMP, RESTLESS_LEGS, SWELLING
from cds.rules.lib.cramp_labs.v1 import VITAMIN_D_DEFICIENT, VITAMIN_D_INSUFFICIENT, LowVitaminD
from cds.rules.lib.evidence.v1 import unique_evidence
from cds.rules.lib.library import Library2026_12
from cds.rules.lib.text.v1 import fit_summary, fmt
from cds.rules.vitamin_d_deficiency import v1_0_0 as previous

# The value sets `complaint_words` reads to say which complaint is on record.
COMPLAINT_WORD_VALUESETS: tuple[str, ...] = (LEG_PAIN, LEG_CRAMP, RESTLESS_LEGS, SWELLING)


@dataclass(frozen=True)
class VitaminDDeficiency(previous.VitaminDDeficiency, Library2026_12):
    """§15 as §22.2 b and n settle it. Deficiency (< 12 ng/mL) is a finding on any chart (warning).
    A vitamin D supplement taken now (§22.2 c, d) lowers it to info, and insufficiency (12-19
    ng/mL) and a coded deficiency without a result are info too: candidate causes, shown only
    with a leg pain or cramp complaint (§1.6: what low vitamin D may explain; swelling or
    restless legs alone are not). No vitamin D card is critical, so none is ever lowered from
    critical (§22.2 b). The summary names only what the record holds: the complaint on record,
    coded muscle symptoms, or the statin taken; 1.0.0 spoke of "statin intolerance" whenever a
    statin was active, although this rule reads no intolerance."""

    def low_result(
        self, facts: Facts, low: LowVitaminD, supplements: list[MedicationEntry]
    ) -> Finding | None:
        severity: Severity = "warning" if low.status == "deficient" else "info"
        if supplements:
            severity = "info"  # §22.2 n: already being replaced; a warning becomes info
        complaints = self.pain_or_cramp_complaints(facts)
        if severity == "info" and not complaints:
            return None  # §1.6: a candidate cause needs a leg pain or cramp complaint
        statin = self.statin_muscle_context(facts)
        statins = self.active_medications(facts, "statins")
        sams = self.coded_conditions(facts, "sams-myopathy") if statins else []
        value = self.measured(low.lab, "ng/mL", 1)
        summary = f"25-OH vitamin D {value} ({low.status}) {self.effect(facts)}."
        cautions = list(self.low_confidence_cautions(supplements))
        if supplements:
            cautions.append(
                f"Vitamin D is already prescribed ({self.drug_names(supplements)}): the deficiency "
                "appears known; the result may predate replacement."
            )
        evidence: list[Evidence] = [
            self.vitamin_d_evidence(low.lab),
            *(self.medication_evidence(m) for m in supplements),
            *(self.medication_evidence(m) for m in statins),
            *(self.condition_evidence(c) for c in sams[:1]),
            *self.complaint_evidence(self.one_per_condition(complaints)),
        ]
        return Finding(
            severity=severity,
            summary=fit_summary(summary),
            explanation=self.card_explanation(low, on_statin=bool(statins)),
            evidence=unique_evidence(evidence)[:6],
            # §15: 25-OH D only within §4 context, and with a result on file only as the recheck
            # after replacement.
            suggestions=(self.vitamin_d,) if statin is not None and supplements else (),
            cautions=tuple(cautions[:2]),
            involves_draft_order=self.involves_draft_order(supplements, statin),
            specificity=35 if severity == "warning" else 45,
            candidate=severity == "info",
        )

    def effect(self, facts: Facts) -> str:
        """What the low vitamin D may do, as far as the record shows it."""
        statins = self.active_medications(facts, "statins")
        if statins and self.coded_conditions(facts, "sams-myopathy"):
            return "may contribute to the muscle symptoms on record"
        complaints = self.pain_or_cramp_complaints(facts)
        if complaints:
            return f"may contribute to the {self.complaint_words(facts, complaints)} on record"
        if statins:
            return f"on {self.drug_names(statins)} predisposes to statin muscle symptoms"
        return "may contribute to muscle aches and cramps"

    def card_explanation(self, low: LowVitaminD, *, on_statin: bool) -> str:
        """Two sentences: what the value means (IOM 2011), and what deficiency does."""
        threshold = VITAMIN_D_DEFICIENT if low.status == "deficient" else VITAMIN_D_INSUFFICIENT
        text = (
            f"25-OH vitamin D below {fmt(threshold, 1)} ng/mL is {low.status} (IOM 2011: below 12 "
            "ng/mL is the deficiency risk threshold; 20 ng/mL covers most people's bone health). "
            "Deficiency causes muscle aches and weakness"
        )
        if on_statin:
            text += " and predisposes to statin-associated muscle symptoms"
        return text + "."

    def coded_without_result(
        self, facts: Facts, supplements: list[MedicationEntry]
    ) -> Finding | None:
        if not self.pain_or_cramp_complaints(facts):
            return None  # §1.6: a candidate cause needs a leg pain or cramp complaint
        finding = super().coded_without_result(facts, supplements)
        if finding is None:
            return None
        coded = self.coded_conditions(facts, "vitamin-d-deficiency")
        statin = self.statin_muscle_context(facts)
        statins = statin.statins if statin is not None else []
        complaints = self.pain_or_cramp_complaints(facts)
        treated = f", treated with {self.drug_names(supplements)}" if supplements else ""
        return replace(
            finding,
            summary=fit_summary(
                f"Vitamin D deficiency on record{treated}, no 25-OH D result in 12 months: "
                f"{self.effect(facts)}."
            ),
            explanation=(
                "Vitamin D deficiency is coded but no 25-OH vitamin D result is on record in the "
                "last 12 months; deficiency causes muscle aches and predisposes to statin muscle "
                "symptoms. Routine testing is not advised without an indication such as statin "
                "muscle symptoms (Endocrine Society 2024)."
            ),
            evidence=unique_evidence(
                [
                    *(self.condition_evidence(c) for c in coded[: self.coded_conditions_shown]),
                    *(self.medication_evidence(m) for m in supplements),
                    *(self.medication_evidence(m) for m in statins),
                    *self.complaint_evidence(self.one_per_condition(complaints)),
                ]
            )[:6],
            cautions=finding.cautions[:2],
            candidate=True,
        )


LOGIC = VitaminDDeficiency()

RULE = previous.RULE.revise(
    version="1.1.0",
    terminology="2026.12",
    logic=LOGIC,
    valuesets=(*previous.RULE.valuesets, PAIN_OR_CRAMP, *COMPLAINT_WORD_VALUESETS),
    source_label="Endocrine Society vitamin D guideline 2011",
    provenance=Provenance(
        guideline=previous.RULE.provenance.guideline,
        url=previous.RULE.provenance.url,
        released="2026-12-07",
        changes=(
            "The summary says what the record holds: the leg complaint on record (leg cramps, "
            "leg pain...), coded muscle symptoms, or the statin taken; 1.0.0 said 'statin "
            "intolerance' whenever a statin was active. A vitamin D supplement taken now lowers "
            "a deficiency warning to info, a candidate cause shown only with a leg pain or cramp "
            "complaint (§22.2 n); no vitamin D card is critical, so none is lowered from "
            "critical (§22.2 b). Insufficiency and a coded deficiency without a result are "
            "candidate causes (§1.6). Supplements and statins are read as §22.2 c and d say (an "
            "active order past its dispensing window still counts); complaints as §22.2 e says "
            "(a visit reason or an Observation counts); a censored result keeps its comparator "
            "(§22.2 g)."
        ),
        rationale=(
            "A candidate vitamin D card needs a leg pain or cramp complaint (leg-cramp-complaint: "
            "leg pain, cramps, tetany), no longer any leg complaint: deficiency causes muscle "
            "aches, weakness and cramps, not leg swelling or restless legs. The effect named in "
            "the summary, in order: a coded myopathy or myalgia while a statin is taken ('the "
            "muscle symptoms on record'); else the leg complaint on record in its own words; "
            "else, on a statin, '<value> on <statin> predisposes to statin muscle symptoms' (a "
            "risk, not a claim of symptoms); else 'muscle aches and cramps' (what deficiency "
            "causes, as 1.0.0 said). The statin and a coded myopathy are shown as evidence when "
            "they shape the wording. Explanation two sentences. 1.0.0's other choices stand "
            "(12-month look-back, nmol/L converted before judging, censored results counted "
            "when their bound settles it, 25-OH D suggested only in §4 context)."
        ),
    ),
)

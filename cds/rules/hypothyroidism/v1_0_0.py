"""hypothyroidism 1.0.0: hypothyroid myopathy as a cause of cramps and raised CK, and as an added
statin myopathy risk (clinical-content.md §16).

Overt hypothyroidism (TSH above range with a low free T4) is a finding and fires on any chart. A
high TSH on a statin is a warning when there is something for it to explain or affect: a leg
complaint, statin muscle symptoms, or the statin being ordered now. Subclinical hypothyroidism
and a known (treated) diagnosis are candidate causes (info) and need a leg complaint (§1.6).
"""

from __future__ import annotations

from dataclasses import dataclass

from cds.facts import Facts
from cds.record import ConditionEntry, MedicationEntry
from cds.rules.base import Evidence, Finding, Provenance, RuleLogic, RuleVersion, Severity
from cds.rules.lib.cramp_labs.v1 import (
    FREE_T4_PAIRING_DAYS,
    STATIN_CONTEXT_VALUESETS,
    THYROID_WINDOW_DAYS,
    TSH_TREATMENT_THRESHOLD,
    HighTsh,
)
from cds.rules.lib.library import Library2026_11
from cds.rules.lib.orders.v1 import (
    FREE_T4,
    TSH,
    OrderSuggestion,
    order,
)
from cds.rules.lib.requirements.v1 import (
    CONDITIONS,
    ENCOUNTERS,
    MEDICATIONS,
    observations,
)
from cds.rules.lib.results.v1 import certainly_at_least, value_text
from cds.rules.lib.text.v1 import fit_summary, fmt

# The results it reads (its Observations, with the complaints).
RESULTS: tuple[str, ...] = ("tsh", "free-t4")


@dataclass(frozen=True)
class Hypothyroidism(RuleLogic, Library2026_11):
    """§16. Which TSH is high and which free T4 classifies it is the `cramp_labs` library's
    (`cramp_labs.high_tsh`: latest TSH within 12 months, lab flag or range else 4.5 mIU/L, a
    free T4 within 30 days of it), shared with the statin and vitamin D cards."""

    # The latest TSH a known diagnosis is shown with: 12 months (§16: "none in 12 months").
    tsh_window_days: int = THYROID_WINDOW_DAYS
    # Named in the explanation; it does not change severity.
    tsh_treatment_threshold: float = TSH_TREATMENT_THRESHOLD  # mIU/L
    conditions_shown: int = 2  # coded hypothyroidism entries listed as evidence

    tsh_order: OrderSuggestion = order(TSH, "Thyroid function with statin muscle symptoms")
    free_t4_order: OrderSuggestion = order(FREE_T4, "Free T4 to classify a high TSH")

    def evaluate(self, facts: Facts) -> Finding | None:
        thyroid = self.high_tsh(facts)
        statins = self.active_medications(facts, "statins")
        levothyroxine = self.active_medications(facts, "levothyroxine")
        known = self.coded_conditions(facts, "hypothyroidism")
        if thyroid is not None:
            return self.high_tsh_finding(facts, thyroid, statins, levothyroxine, known)
        if (known or levothyroxine) and self.has_leg_complaint(facts):
            return self.known_diagnosis(facts, known, levothyroxine)
        return None

    def high_tsh_finding(
        self,
        facts: Facts,
        thyroid: HighTsh,
        statins: list[MedicationEntry],
        levothyroxine: list[MedicationEntry],
        known: list[ConditionEntry],
    ) -> Finding | None:
        statin_reason = bool(
            statins
            and (
                self.has_leg_complaint(facts)
                or self.coded_conditions(facts, "sams-myopathy")
                or any(m.drafted for m in statins)
            )
        )
        severity: Severity
        if thyroid.overt or statin_reason:
            severity = "warning"
        elif self.has_leg_complaint(facts):
            severity = "info"
        else:
            return None
        tsh = value_text(thyroid.tsh)
        if thyroid.overt:
            summary = (
                f"TSH {tsh} mIU/L with low free T4: hypothyroidism can cause muscle cramps and "
                "raised CK."
            )
        elif statin_reason:
            summary = (
                f"TSH {tsh} mIU/L (high) on {self.drug_names(statins)}: hypothyroidism raises "
                "statin myopathy risk and can cause cramps."
            )
        elif thyroid.free_t4 is not None:
            summary = (
                f"TSH {tsh} mIU/L with normal free T4 (subclinical hypothyroidism) may "
                "contribute to muscle cramps."
            )
        else:
            summary = (
                f"TSH {tsh} mIU/L (high, no free T4): hypothyroidism may contribute to muscle "
                "cramps."
            )
        drugs = [*levothyroxine, *(statins if statin_reason else [])]
        evidence: list[Evidence] = [self.tsh_evidence(thyroid.tsh)]
        if thyroid.free_t4 is not None:
            evidence.append(self.free_t4_evidence(thyroid.free_t4))
        evidence += [self.condition_evidence(c) for c in known[: self.conditions_shown]]
        evidence += [self.medication_evidence(m) for m in drugs]
        evidence += self.leg_complaint_evidence(facts)
        cautions = list(self.low_confidence_cautions(drugs))
        if thyroid.free_t4 is None:
            # The pairing window is the library's: `cramp_labs.high_tsh` pairs the free T4.
            cautions.append(
                f"No free T4 within {FREE_T4_PAIRING_DAYS} days of the TSH: overt and "
                "subclinical hypothyroidism cannot be told apart."
            )
        return Finding(
            severity=severity,
            summary=fit_summary(summary),
            explanation=self.explanation(thyroid, levothyroxine),
            evidence=tuple(evidence),
            suggestions=(self.free_t4_order,) if thyroid.free_t4 is None else (),
            cautions=tuple(cautions),
            involves_draft_order=any(m.drafted for m in drugs),
            # A measured abnormality with a known mechanism (30); subclinical is less specific
            # (40).
            specificity=30 if severity == "warning" else 40,
        )

    def explanation(self, thyroid: HighTsh, levothyroxine: list[MedicationEntry]) -> str:
        if thyroid.overt:
            text = "A high TSH with a low free T4 is overt hypothyroidism."
        elif thyroid.free_t4 is not None:
            text = "A high TSH with a normal free T4 is subclinical hypothyroidism."
        else:
            text = "A high TSH suggests hypothyroidism; a free T4 tells overt from subclinical."
        text += (
            " Hypothyroid myopathy causes muscle cramps, aches and a raised CK, and "
            "hypothyroidism is a predisposing factor for statin myopathy (ACC/AHA)."
        )
        # Judged here rather than by `HighTsh.at_treatment_threshold`, which reads the
        # library's constant: the threshold the text names is the one decided on.
        if certainly_at_least(thyroid.tsh, self.tsh_treatment_threshold):
            text += (
                f" TSH is at or above {fmt(self.tsh_treatment_threshold, 1)} mIU/L, the usual "
                "threshold for treating subclinical disease."
            )
        if levothyroxine:
            text += (
                " Levothyroxine is prescribed: the TSH suggests under-replacement or poor "
                "adherence or absorption."
            )
        return text

    def known_diagnosis(
        self, facts: Facts, known: list[ConditionEntry], levothyroxine: list[MedicationEntry]
    ) -> Finding:
        treated = f" (treated with {self.drug_names(levothyroxine)})" if levothyroxine else ""
        latest_tsh = self.latest_lab(facts, "tsh", within_days=self.tsh_window_days)
        statin = self.statin_muscle_context(facts)
        # §16: TSH and free T4 when none in 12 months and statin muscle symptoms are present.
        suggestions = (
            (self.tsh_order, self.free_t4_order)
            if latest_tsh is None and statin is not None
            else ()
        )
        if latest_tsh is None:
            status = "no TSH result in 12 months"
        else:
            status = f"latest TSH {value_text(latest_tsh)} mIU/L is not above range"
        evidence: list[Evidence] = [
            self.condition_evidence(c) for c in known[: self.conditions_shown]
        ]
        evidence += [self.medication_evidence(m) for m in levothyroxine]
        if latest_tsh is not None:
            evidence.append(self.tsh_evidence(latest_tsh))
        if statin is not None:
            evidence += [self.medication_evidence(m) for m in statin.statins]
        evidence += self.leg_complaint_evidence(facts)
        drugs = [*levothyroxine, *(statin.statins if statin is not None else [])]
        return Finding(
            severity="info",
            summary=fit_summary(
                f"Hypothyroidism on record{treated} may contribute to muscle cramps"
                + ("; no TSH in 12 months." if latest_tsh is None else ".")
            ),
            explanation=(
                "Hypothyroidism causes muscle cramps and aches when under-treated, and adds to "
                f"statin myopathy risk. On record: {status}."
            ),
            evidence=tuple(evidence),
            suggestions=suggestions,
            cautions=self.low_confidence_cautions(drugs),
            involves_draft_order=any(m.drafted for m in drugs),
            specificity=50,  # a known diagnosis without a current abnormal value
        )


LOGIC = Hypothyroidism()

RULE = RuleVersion(
    id="hypothyroidism",
    version="1.0.0",
    title="Hypothyroidism and muscle cramps",
    severities=("info", "warning"),
    logic=LOGIC,
    requires=(*MEDICATIONS, observations(*RESULTS, "leg-complaint"), CONDITIONS, ENCOUNTERS),
    valuesets=(
        *RESULTS,
        "hypothyroidism",
        "levothyroxine",
        *STATIN_CONTEXT_VALUESETS,
    ),
    terminology="2026.11",
    provenance=Provenance(
        guideline=(
            "Jonklaas et al., Guidelines for the treatment of hypothyroidism, American Thyroid "
            "Association, Thyroid 2014; 2013 ACC/AHA cholesterol guideline (hypothyroidism as "
            "a statin myopathy predisposition)"
        ),
        url="https://doi.org/10.1089/thy.2014.0028",
        released="2026-11-21",
        changes="First release.",
        rationale=(
            "TSH and free T4 look-back 12 months (§16 speaks of 'none in 12 months'); the "
            "latest TSH is judged by its flag or range, and only without a range by 4.5 mIU/L "
            "(the top of the catalog's 'typically ~4-4.5'). A free T4 classifies the TSH only "
            "when drawn within 30 days of it, and is low only by its own flag or range (the "
            "catalog gives no default). Overt hypothyroidism is a finding on any chart (§1.6). "
            "'High TSH on a statin' is a warning only with a leg complaint, a SAMS/myopathy "
            "code or the statin being drafted: the card's message is a risk to something, and "
            "§1.6 lists only overt disease among findings. Subclinical (or unclassified) high "
            "TSH and a known diagnosis (coded, or levothyroxine prescribed) are info and need "
            "a leg complaint. TSH >= 10 mIU/L is named as the usual treatment threshold but does "
            "not change severity. Free T4 is suggested when a high TSH has no paired free T4; "
            "TSH and free T4 for a known diagnosis with no TSH in 12 months in §4 context (an "
            "active statin with a muscle or leg complaint)."
        ),
    ),
)

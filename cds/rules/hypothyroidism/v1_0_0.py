"""hypothyroidism 1.0.0: hypothyroid myopathy as a cause of cramps and raised CK, and as an added
statin myopathy risk (clinical-content.md §16).

Overt hypothyroidism (TSH above range with a low free T4) is a finding and fires on any chart. A
high TSH on a statin is a warning when there is something for it to explain or affect: a leg
complaint, statin muscle symptoms, or the statin being ordered now. Subclinical hypothyroidism
and a known (treated) diagnosis are candidate causes (info) and need a leg complaint (§1.6).
"""

from __future__ import annotations

from cds.facts import Facts
from cds.record import ConditionEntry, MedicationEntry
from cds.rules._cramp_labs import (
    FREE_T4_PAIRING_DAYS,
    THYROID_WINDOW_DAYS,
    TSH_TREATMENT_THRESHOLD,
    HighTsh,
    free_t4_evidence,
    high_tsh,
    statin_muscle_context,
    tsh_evidence,
)
from cds.rules._leg_context import complaint_evidence
from cds.rules.base import (
    DataRequirement,
    Evidence,
    Finding,
    OrderSuggestion,
    Provenance,
    Rule,
    Severity,
)
from cds.rules.common import (
    condition_evidence,
    drug_names,
    fit_summary,
    fmt,
    low_confidence_cautions,
    medication_evidence,
    value_text,
)

RULE_ID = "hypothyroidism"
VERSION = "1.0.0"

WINDOW_DAYS = THYROID_WINDOW_DAYS  # 12 months (§16: "none in 12 months")
TREATMENT_THRESHOLD = TSH_TREATMENT_THRESHOLD  # mIU/L

TSH = OrderSuggestion("TSH", "3016-3", "Thyroid function with statin muscle symptoms")
FREE_T4 = OrderSuggestion("Free T4", "3024-7", "Free T4 to classify a high TSH")


def evaluate(facts: Facts) -> Finding | None:
    thyroid = high_tsh(facts)
    statins = facts.active_medications("statins")
    levothyroxine = facts.active_medications("levothyroxine")
    known = facts.conditions("hypothyroidism")
    if thyroid is not None:
        return _high_tsh_finding(facts, thyroid, statins, levothyroxine, known)
    if (known or levothyroxine) and facts.has_leg_complaint:
        return _known_diagnosis(facts, known, levothyroxine)
    return None


def _high_tsh_finding(
    facts: Facts,
    thyroid: HighTsh,
    statins: list[MedicationEntry],
    levothyroxine: list[MedicationEntry],
    known: list[ConditionEntry],
) -> Finding | None:
    statin_reason = bool(
        statins
        and (
            facts.has_leg_complaint
            or facts.conditions("sams-myopathy")
            or any(m.drafted for m in statins)
        )
    )
    severity: Severity
    if thyroid.overt or statin_reason:
        severity = "warning"
    elif facts.has_leg_complaint:
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
            f"TSH {tsh} mIU/L (high) on {drug_names(statins)}: hypothyroidism raises statin "
            "myopathy risk and can cause cramps."
        )
    elif thyroid.free_t4 is not None:
        summary = (
            f"TSH {tsh} mIU/L with normal free T4 (subclinical hypothyroidism) may contribute "
            "to muscle cramps."
        )
    else:
        summary = (
            f"TSH {tsh} mIU/L (high, no free T4): hypothyroidism may contribute to muscle cramps."
        )
    explanation = _explanation(thyroid, levothyroxine)
    drugs = [*levothyroxine, *(statins if statin_reason else [])]
    evidence: list[Evidence] = [tsh_evidence(thyroid.tsh)]
    if thyroid.free_t4 is not None:
        evidence.append(free_t4_evidence(thyroid.free_t4))
    evidence += [condition_evidence(c) for c in known[:2]]
    evidence += [medication_evidence(m) for m in drugs]
    evidence += complaint_evidence(facts.leg_complaints)
    cautions = list(low_confidence_cautions(drugs))
    if thyroid.free_t4 is None:
        cautions.append(
            f"No free T4 within {FREE_T4_PAIRING_DAYS} days of the TSH: overt and subclinical "
            "hypothyroidism cannot be told apart."
        )
    return Finding(
        rule_id=RULE_ID,
        rule_version=VERSION,
        severity=severity,
        summary=fit_summary(summary),
        explanation=explanation,
        evidence=tuple(evidence),
        suggestions=(FREE_T4,) if thyroid.free_t4 is None else (),
        cautions=tuple(cautions),
        involves_draft_order=any(m.drafted for m in drugs),
        # A measured abnormality with a known mechanism (30); subclinical is less specific (40).
        specificity=30 if severity == "warning" else 40,
    )


def _explanation(thyroid: HighTsh, levothyroxine: list[MedicationEntry]) -> str:
    if thyroid.overt:
        text = "A high TSH with a low free T4 is overt hypothyroidism."
    elif thyroid.free_t4 is not None:
        text = "A high TSH with a normal free T4 is subclinical hypothyroidism."
    else:
        text = "A high TSH suggests hypothyroidism; a free T4 tells overt from subclinical."
    text += (
        " Hypothyroid myopathy causes muscle cramps, aches and a raised CK, and hypothyroidism "
        "is a predisposing factor for statin myopathy (ACC/AHA)."
    )
    if thyroid.at_treatment_threshold:
        text += f" TSH is at or above {fmt(TREATMENT_THRESHOLD, 1)} mIU/L, the usual threshold "
        text += "for treating subclinical disease."
    if levothyroxine:
        text += " Levothyroxine is prescribed: the TSH suggests under-replacement or poor "
        text += "adherence or absorption."
    return text


def _known_diagnosis(
    facts: Facts, known: list[ConditionEntry], levothyroxine: list[MedicationEntry]
) -> Finding:
    treated = f" (treated with {drug_names(levothyroxine)})" if levothyroxine else ""
    latest_tsh = facts.latest_lab("tsh", within_days=WINDOW_DAYS)
    statin = statin_muscle_context(facts)
    # §16: TSH and free T4 when none in 12 months and statin muscle symptoms are present.
    suggestions = (TSH, FREE_T4) if latest_tsh is None and statin is not None else ()
    if latest_tsh is None:
        status = "no TSH result in 12 months"
    else:
        status = f"latest TSH {value_text(latest_tsh)} mIU/L is not above range"
    evidence: list[Evidence] = [condition_evidence(c) for c in known[:2]]
    evidence += [medication_evidence(m) for m in levothyroxine]
    if latest_tsh is not None:
        evidence.append(tsh_evidence(latest_tsh))
    if statin is not None:
        evidence += [medication_evidence(m) for m in statin.statins]
    evidence += complaint_evidence(facts.leg_complaints)
    drugs = [*levothyroxine, *(statin.statins if statin is not None else [])]
    return Finding(
        rule_id=RULE_ID,
        rule_version=VERSION,
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
        cautions=low_confidence_cautions(drugs),
        involves_draft_order=any(m.drafted for m in drugs),
        specificity=50,  # a known diagnosis without a current abnormal value
    )


RULE = Rule(
    id=RULE_ID,
    version=VERSION,
    title="Hypothyroidism and muscle cramps",
    severities=("info", "warning"),
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
    requires=(
        DataRequirement("MedicationRequest"),
        DataRequirement("MedicationStatement"),
        DataRequirement("Observation", ("tsh", "free-t4", "leg-complaint")),
        DataRequirement("Condition"),
        DataRequirement("Encounter"),
    ),
    evaluate=evaluate,
    valuesets=(
        "tsh",
        "free-t4",
        "hypothyroidism",
        "levothyroxine",
        "statins",
        "sams-myopathy",
        "leg-complaint",
    ),
)

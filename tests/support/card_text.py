"""The shape §22 asks of a card's text (issue "Cards a clinician trusts"): an explanation of at
most two sentences, the evidence a clinician needs in at most six lines, at most two cautions,
and no FHIR ids in any text (evidence `reference` carries them for machines)."""

from __future__ import annotations

import re

from cds.rules.base import Finding

FHIR_ID = re.compile(
    r"\b(Observation|Condition|Encounter|MedicationRequest|MedicationStatement|Procedure|"
    r"Patient)/[A-Za-z0-9\-.]+"
)
EXPLANATION_LIMIT = 320  # characters: "~300"


def assert_short_and_plain(finding: Finding) -> None:
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", finding.explanation.strip()) if s]
    assert len(sentences) <= 2, finding.explanation
    assert len(finding.explanation) <= EXPLANATION_LIMIT, finding.explanation
    assert len(finding.evidence) <= 6, finding.evidence
    assert len(finding.cautions) <= 2, finding.cautions
    texts = [finding.summary, finding.explanation, *finding.cautions]
    for item in finding.evidence:
        texts += [item.label, item.value, item.note]
    for text in texts:
        assert not FHIR_ID.search(text), text

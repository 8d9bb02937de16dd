"""Findings to CDS Hooks cards: pure rendering.

Which findings become cards, and in what order, is the ruleset release's card-selection policy
(`cds/rules/selection/`), not decided here. Card uuids are deterministic (uuid5 of hookInstance
and rule@version), so a replay gives the same cards and feedback joins onto the audit trail.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cds.cdshooks import Action, Card, Coding, OverrideReason, Source, Suggestion
from cds.rules.base import Evidence, Fired, MedicationAction

CARD_NAMESPACE = uuid.UUID("6f4c2a52-3c2b-5d7e-9a51-1e0c6c1f3d10")
RULE_TOPIC_SYSTEM = "urn:legpain-cds:rule"
OVERRIDE_REASON_SYSTEM = "urn:legpain-cds:override-reason"
RULE_EXTENSION = "legpain-cds-rule"
LOINC = "http://loinc.org"

# Offered on every card: the reasons a clinical safety review asks about.
OVERRIDE_REASONS: tuple[OverrideReason, ...] = (
    OverrideReason(
        system=OVERRIDE_REASON_SYSTEM,
        code="already-addressed",
        display="Already known and being addressed",
    ),
    OverrideReason(
        system=OVERRIDE_REASON_SYSTEM,
        code="not-relevant",
        display="Not relevant to this patient's leg symptoms",
    ),
    OverrideReason(
        system=OVERRIDE_REASON_SYSTEM,
        code="record-inaccurate",
        display="The record used is outdated or inaccurate",
    ),
    OverrideReason(
        system=OVERRIDE_REASON_SYSTEM,
        code="patient-declined",
        display="Patient declined",
    ),
)


def card_uuid(hook_instance: str, fired: Fired) -> str:
    return str(uuid.uuid5(CARD_NAMESPACE, f"{hook_instance}:{fired.rule_id}@{fired.rule_version}"))


def render_card(
    fired: Fired,
    *,
    hook_instance: str,
    patient_id: str | None,
    ruleset_release: str,
) -> Card:
    finding, rule = fired.finding, fired.rule
    uid = card_uuid(hook_instance, fired)
    suggestions = [
        _order_suggestion(s.label, s.loinc, s.reason, card=uid, patient_id=patient_id)
        for s in finding.suggestions
    ]
    suggestions += [
        suggestion
        for action in finding.medication_actions
        if (suggestion := _medication_suggestion(action, card=uid)) is not None
    ]
    source = finding.source
    rule_extension: dict[str, Any] = {
        "id": rule.id,
        "version": rule.version,
        "ruleset": ruleset_release,
    }
    # The resources behind the card, for machines (and the audit); the prose names them by date
    # and value, as a clinician reads them, never by FHIR id.
    references = list(dict.fromkeys(e.reference for e in finding.evidence if e.reference))
    if references:
        rule_extension["evidence"] = references
    return Card(
        uuid=uid,
        summary=finding.summary,
        detail=render_detail(fired, ruleset_release=ruleset_release),
        indicator=finding.severity,
        source=Source(
            label=source.label if source is not None else rule.source_label,
            url=source.url if source is not None else rule.provenance.url,
            topic=Coding(system=RULE_TOPIC_SYSTEM, code=rule.id, display=rule.title),
        ),
        suggestions=suggestions or None,
        selectionBehavior="any" if suggestions else None,
        overrideReasons=list(OVERRIDE_REASONS),
        extension={RULE_EXTENSION: rule_extension},
    )


def render_detail(fired: Fired, *, ruleset_release: str) -> str:
    """Short markdown: why (one paragraph), the evidence a clinician needs (one line each: what,
    value with unit and comparator, date), what to bear in mind, and which rule said it.

    Everything a finding holds is plain text, often quoting the record: it is escaped here, so
    no record text is ever rendered as markdown (a link, an image, emphasis)."""
    finding = fired.finding
    lines = [_escape(finding.explanation.strip())]
    if finding.evidence:
        lines.append("")
        lines += [f"- {_evidence_line(e)}" for e in finding.evidence]
    if finding.cautions:
        lines.append("")
        lines += [f"_Note:_ {_escape(c)}" for c in finding.cautions]
    lines += ["", f"Rule {fired.rule_id} {fired.rule_version} · ruleset {ruleset_release}"]
    return "\n".join(lines)


def _evidence_line(evidence: Evidence) -> str:
    line = f"**{_escape(evidence.label)}**"
    if evidence.value:
        line += f": {_escape(evidence.value)}"
    if evidence.when is not None:
        line += f", {_date(evidence.when)}"
    if evidence.note:
        line += f" ({_escape(evidence.note)})"
    return line


def _date(when: datetime) -> str:
    return when.date().isoformat()


def _escape(text: str) -> str:
    # Record text reaches a markdown renderer: neutralise characters that would format or link.
    for char in ("\\", "`", "*", "_", "[", "]", "<", ">", "|", "#", "!"):
        text = text.replace(char, "\\" + char)
    return text


def _order_suggestion(
    label: str, loinc: str | None, reason: str, *, card: str, patient_id: str | None
) -> Suggestion:
    code: dict[str, object] = {"text": label}
    if loinc is not None:
        code["coding"] = [{"system": LOINC, "code": loinc, "display": label}]
    resource: dict[str, object] = {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "proposal",
        "code": code,
    }
    if patient_id:
        resource["subject"] = {"reference": f"Patient/{patient_id}"}
    if reason:
        resource["reasonCode"] = [{"text": reason}]
    return Suggestion(
        label=f"Order {label}",
        uuid=str(uuid.uuid5(uuid.UUID(card), loinc or label)),
        actions=[Action(type="create", description=f"Order {label}", resource=resource)],
    )


def _medication_suggestion(action: MedicationAction, *, card: str) -> Suggestion | None:
    """A drafted order: remove it from the order (order-select, order-sign). An active order in
    the chart: put it on hold, sending back the whole resource as CDS Hooks asks of an update.
    Anything else (a statement of what the patient takes, an order the record does not hold
    whole) cannot be acted on from a card: the card's text says what to do."""
    med = action.medication
    name = med.display or ", ".join(med.names)
    uid = str(uuid.uuid5(uuid.UUID(card), f"{action.verb}:{med.reference}"))
    if med.drafted:
        description = f"Remove the {name} order"
        return Suggestion(
            label=description,
            uuid=uid,
            actions=[Action(type="delete", description=description, resourceId=med.reference)],
        )
    resource = med.resource
    if not med.reference.startswith("MedicationRequest/") or not isinstance(resource, Mapping):
        return None
    description = f"Put {name} on hold"
    held = {**resource, "status": "on-hold"}
    if action.reason:
        held["statusReason"] = {"text": action.reason}
    return Suggestion(
        label=description,
        uuid=uid,
        actions=[Action(type="update", description=description, resource=held)],
    )

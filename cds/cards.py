"""Findings to CDS Hooks cards: pure rendering.

Which findings become cards, and in what order, is the ruleset release's card-selection policy
(`cds/rules/selection/`), not decided here. Card uuids are deterministic (uuid5 of hookInstance
and rule@version), so a replay gives the same cards and feedback joins onto the audit trail.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from cds.cdshooks import Action, Card, Coding, OverrideReason, Source, Suggestion
from cds.rules.base import Evidence, Fired

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
        _suggestion(s.label, s.loinc, s.reason, card=uid, patient_id=patient_id)
        for s in finding.suggestions
    ]
    return Card(
        uuid=uid,
        summary=finding.summary,
        detail=render_detail(fired, ruleset_release=ruleset_release),
        indicator=finding.severity,
        source=Source(
            label=rule.source_label,
            url=rule.provenance.url,
            topic=Coding(system=RULE_TOPIC_SYSTEM, code=rule.id, display=rule.title),
        ),
        suggestions=suggestions or None,
        selectionBehavior="any" if suggestions else None,
        overrideReasons=list(OVERRIDE_REASONS),
        extension={
            RULE_EXTENSION: {
                "id": rule.id,
                "version": rule.version,
                "ruleset": ruleset_release,
            }
        },
    )


def render_detail(fired: Fired, *, ruleset_release: str) -> str:
    finding = fired.finding
    lines = [finding.explanation.strip(), "", "**Evidence from the record**", ""]
    lines += [f"- {_evidence_line(e)}" for e in finding.evidence] or ["- (none recorded)"]
    if finding.cautions:
        lines += ["", "**Please note**", ""]
        lines += [f"- {c}" for c in finding.cautions]
    lines += [
        "",
        f"_Rule `{fired.rule_id}` version {fired.rule_version}, ruleset {ruleset_release}._",
    ]
    return "\n".join(lines)


def _evidence_line(evidence: Evidence) -> str:
    parts = [f"**{_escape(evidence.label)}**"]
    if evidence.value:
        parts.append(_escape(evidence.value))
    if evidence.when is not None:
        parts.append(f"on {_date(evidence.when)}")
    line = " ".join(parts) if not evidence.value else f"{parts[0]}: {' '.join(parts[1:])}"
    if evidence.note:
        line += f" ({_escape(evidence.note)})"
    if evidence.reference:
        line += f" `{evidence.reference}`"
    return line


def _date(when: datetime) -> str:
    return when.date().isoformat()


def _escape(text: str) -> str:
    # Record text reaches a markdown renderer: neutralise characters that would format or link.
    for char in ("\\", "`", "*", "_", "[", "]", "<", ">", "|"):
        text = text.replace(char, "\\" + char)
    return text


def _suggestion(
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

"""Findings to CDS Hooks cards: pure rendering, and the choice of which cards to show.

Card uuids are deterministic (uuid5 of hookInstance and rule@version), so a replay gives the same
cards and feedback joins onto the audit trail.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from cds.cdshooks import Action, Card, Coding, OverrideReason, Source, Suggestion
from cds.rules.base import SEVERITY_RANK, Evidence, Finding, Rule

CARD_NAMESPACE = uuid.UUID("6f4c2a52-3c2b-5d7e-9a51-1e0c6c1f3d10")
RULE_TOPIC_SYSTEM = "urn:legpain-cds:rule"
OVERRIDE_REASON_SYSTEM = "urn:legpain-cds:override-reason"
RULE_EXTENSION = "legpain-cds-rule"
SOURCE_LABEL = "Leg pain & cramps CDS"
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

# Rules whose cards another, more specific rule's card replaces when both fire.
# pe-red-flags carries the DVT evidence and the more urgent message (§10: hand off to §11).
OUTRANKED_BY: dict[str, str] = {"dvt-risk": "pe-red-flags"}


def card_uuid(hook_instance: str, finding: Finding) -> str:
    return str(
        uuid.uuid5(CARD_NAMESPACE, f"{hook_instance}:{finding.rule_id}@{finding.rule_version}")
    )


def select_findings(findings: Iterable[Finding], *, hook: str) -> list[Finding]:
    """The set of cards: one per cause, most urgent and most specific first.

    - electrolyte-abnormality is dropped when diuretic-electrolytes explains the same lab (§1.4);
    - dvt-risk is dropped when pe-red-flags fires (it carries the DVT evidence);
    - in order-select / order-sign only findings that involve the drafted order are shown, plus
      critical ones (time-sensitive harm must not wait for the next chart open).
    """
    found = list(findings)
    by_rule = {f.rule_id: f for f in found}
    diuretic = by_rule.get("diuretic-electrolytes")
    explained_labs = {ref for _, ref in diuretic.labs} if diuretic else set()
    kept: list[Finding] = []
    for finding in found:
        outranking = OUTRANKED_BY.get(finding.rule_id)
        if outranking and outranking in by_rule:
            continue
        if finding.rule_id == "electrolyte-abnormality" and finding.labs:
            remaining = {ref for _, ref in finding.labs} - explained_labs
            if not remaining:
                continue
        ordering = hook in ("order-select", "order-sign")
        if ordering and not finding.involves_draft_order and finding.severity != "critical":
            continue
        kept.append(finding)
    return sorted(kept, key=lambda f: (SEVERITY_RANK[f.severity], f.specificity, f.rule_id))


def render_card(
    finding: Finding,
    rule: Rule,
    *,
    hook_instance: str,
    patient_id: str | None,
    ruleset_release: str,
) -> Card:
    uid = card_uuid(hook_instance, finding)
    suggestions = [
        _suggestion(s.label, s.loinc, s.reason, card=uid, patient_id=patient_id)
        for s in finding.suggestions
    ]
    return Card(
        uuid=uid,
        summary=finding.summary,
        detail=render_detail(finding, ruleset_release=ruleset_release),
        indicator=finding.severity,
        source=Source(
            label=SOURCE_LABEL,
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


def render_detail(finding: Finding, *, ruleset_release: str) -> str:
    lines = [finding.explanation.strip(), "", "**Evidence from the record**", ""]
    lines += [f"- {_evidence_line(e)}" for e in finding.evidence] or ["- (none recorded)"]
    if finding.cautions:
        lines += ["", "**Please note**", ""]
        lines += [f"- {c}" for c in finding.cautions]
    lines += [
        "",
        f"_Rule `{finding.rule_id}` version {finding.rule_version}, ruleset {ruleset_release}._",
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

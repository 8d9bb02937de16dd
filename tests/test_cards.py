"""cds/cards.py: a stamped finding rendered as a CDS Hooks card.

Each test pins something a clinician or an EHR relies on: record text never becomes markdown,
the prose names evidence by what and when (FHIR ids go to the extension), optional fields are
left out when empty, and stop/hold advice is an action the EHR can take.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from cds.cards import RULE_EXTENSION, card_uuid, render_card, render_detail
from cds.record import MedicationEntry
from cds.rules.base import (
    Evidence,
    Finding,
    Fired,
    GuidelineSource,
    MedicationAction,
    OrderSuggestion,
    Provenance,
    RuleLogic,
    RuleVersion,
)

RELEASE = "2026.12.0"
# What a markdown renderer would act on, each of which must reach it escaped.
MARKDOWN_CHARACTERS = set("\\`*_[]<>|#!")
WHEN = datetime(2026, 11, 14, 9, 30, tzinfo=UTC)


def rule_version(**changes: Any) -> RuleVersion:
    rule = RuleVersion(
        id="test-rule",
        version="1.2.0",
        title="A test rule",
        severities=("warning",),
        logic=RuleLogic(),
        requires=(),
        valuesets=(),
        terminology="2026.12",
        provenance=Provenance(
            guideline="A guideline", url="https://example.org/rule", released="-", changes="-"
        ),
        source_label="Rule's guideline",
    )
    return replace(rule, **changes)


def finding(**changes: Any) -> Finding:
    base = Finding(
        severity="warning",
        summary="Low potassium (K 3.1 mmol/L) on furosemide may explain night-time leg cramps.",
        explanation="Diuretics lower potassium.",
        specificity=10,
    )
    return replace(base, **changes)


def card(fired_finding: Finding, rule: RuleVersion | None = None) -> dict[str, Any]:
    fired = Fired(rule or rule_version(), fired_finding)
    rendered = render_card(fired, hook_instance="h-1", patient_id="p-1", ruleset_release=RELEASE)
    return rendered.model_dump(exclude_none=True)


def medication(**changes: Any) -> MedicationEntry:
    entry = MedicationEntry(
        reference="MedicationRequest/mr-1",
        display="Quinine sulfate 324 MG Oral Capsule",
        ingredients=frozenset({"9071"}),
        names=("quinine",),
        low_confidence=False,
        status="active",
        drafted=False,
        start=WHEN,
        end=None,
        resource={
            "resourceType": "MedicationRequest",
            "id": "mr-1",
            "status": "active",
            "intent": "order",
            "subject": {"reference": "Patient/p-1"},
        },
    )
    return replace(entry, **changes)


# -- record text is never markdown ------------------------------------------------------------


@pytest.mark.parametrize(
    "hostile",
    [
        "[click here](https://evil.example)",
        "![x](https://evil.example/pixel.png)",
        "**bold** _italic_ `code`",
        "<img src=x onerror=alert(1)>",
        "# heading | table |",
    ],
)
def test_record_text_is_escaped_everywhere_it_appears(hostile: str) -> None:
    detail = render_detail(
        Fired(
            rule_version(),
            finding(
                explanation=f"Explained by {hostile}.",
                evidence=(Evidence(label=hostile, value=hostile, note=hostile),),
                cautions=(f"Check {hostile}.",),
            ),
        ),
        ruleset_release=RELEASE,
    )
    escaped = "".join(f"\\{c}" if c in MARKDOWN_CHARACTERS else c for c in hostile)
    # Explanation, evidence label, value and note, and the caution: five places, all escaped.
    assert detail.count(escaped) == 5
    assert hostile not in detail


def test_the_escape_is_what_keeps_a_link_out() -> None:
    detail = render_detail(
        Fired(rule_version(), finding(evidence=(Evidence(label="[x](https://evil.example)"),))),
        ruleset_release=RELEASE,
    )
    assert "](https://evil.example)" not in detail.replace("\\]", "")
    assert "\\[x\\](https://evil.example)" in detail


# -- evidence: what and when in the prose, ids in the extension --------------------------------


def test_evidence_lines_give_value_and_date_and_no_fhir_ids() -> None:
    evidence = (
        Evidence(
            label="Potassium",
            value="<2.5 mmol/L (reference 3.5-5.1)",
            when=WHEN,
            reference="Observation/obs-7",
        ),
        Evidence(
            label="Furosemide 40 MG Oral Tablet", value="active", reference="MedicationRequest/m"
        ),
    )
    rendered = card(finding(evidence=evidence))
    detail = rendered["detail"]
    assert "- **Potassium**: \\<2.5 mmol/L (reference 3.5-5.1), 2026-11-14" in detail
    assert "- **Furosemide 40 MG Oral Tablet**: active" in detail
    assert "Observation/obs-7" not in detail
    assert "MedicationRequest/m" not in detail
    assert rendered["extension"][RULE_EXTENSION]["evidence"] == [
        "Observation/obs-7",
        "MedicationRequest/m",
    ]


def test_the_detail_ends_with_the_rule_version_and_ruleset() -> None:
    assert card(finding())["detail"].endswith(f"Rule test-rule 1.2.0 · ruleset {RELEASE}")


# -- optional fields are left out when empty ----------------------------------------------------


def test_a_bare_finding_gives_a_card_with_no_empty_optional_field() -> None:
    rendered = card(finding())
    assert set(rendered) == {
        "uuid",
        "summary",
        "detail",
        "indicator",
        "source",
        "overrideReasons",
        "extension",
    }
    assert rendered["extension"][RULE_EXTENSION] == {
        "id": "test-rule",
        "version": "1.2.0",
        "ruleset": RELEASE,
    }
    assert "\n- " not in rendered["detail"]  # no evidence list
    assert "_Note:_" not in rendered["detail"]


def test_suggestions_come_with_a_selection_behaviour() -> None:
    rendered = card(finding(suggestions=(OrderSuggestion("Magnesium, serum", "19123-9", "Mg"),)))
    assert rendered["selectionBehavior"] == "any"
    (suggestion,) = rendered["suggestions"]
    (action,) = suggestion["actions"]
    assert action["type"] == "create"
    assert action["resource"]["code"]["coding"] == [
        {"system": "http://loinc.org", "code": "19123-9", "display": "Magnesium, serum"}
    ]
    assert action["resource"]["subject"] == {"reference": "Patient/p-1"}


def test_a_text_only_order_has_no_coding() -> None:
    rendered = card(finding(suggestions=(OrderSuggestion("Ankle-brachial index", None),)))
    (action,) = rendered["suggestions"][0]["actions"]
    assert action["resource"]["code"] == {"text": "Ankle-brachial index"}


# -- the source: the finding's own guideline, else the rule's ----------------------------------


def test_the_source_is_the_rules_guideline_by_default() -> None:
    source = card(finding())["source"]
    assert (source["label"], source["url"]) == ("Rule's guideline", "https://example.org/rule")
    assert source["topic"]["code"] == "test-rule"


def test_a_finding_may_cite_its_own_guideline() -> None:
    own = GuidelineSource("ESE/ESICM hyponatraemia guideline 2014", "https://doi.org/x")
    source = card(finding(source=own))["source"]
    assert (source["label"], source["url"]) == (own.label, own.url)


# -- stop or hold a drug -----------------------------------------------------------------------


def test_a_drafted_order_to_stop_is_removed_from_the_order() -> None:
    drafted = medication(reference="MedicationRequest/draft-1", drafted=True)
    rendered = card(finding(medication_actions=(MedicationAction(drafted, "stop"),)))
    (suggestion,) = rendered["suggestions"]
    assert suggestion["label"] == "Remove the Quinine sulfate 324 MG Oral Capsule order"
    assert suggestion["actions"] == [
        {
            "type": "delete",
            "description": "Remove the Quinine sulfate 324 MG Oral Capsule order",
            "resourceId": "MedicationRequest/draft-1",
        }
    ]


def test_an_active_order_to_hold_is_updated_whole_to_on_hold() -> None:
    active = medication()
    rendered = card(
        finding(medication_actions=(MedicationAction(active, "hold", "Leg cramps on quinine"),))
    )
    (suggestion,) = rendered["suggestions"]
    (action,) = suggestion["actions"]
    assert action["type"] == "update"
    assert action["resource"] == {
        **(active.resource or {}),
        "status": "on-hold",
        "statusReason": {"text": "Leg cramps on quinine"},
    }
    assert active.resource is not None
    assert active.resource["status"] == "active"  # the record's copy is not changed


def test_a_statement_cannot_be_acted_on_from_a_card() -> None:
    statement = medication(reference="MedicationStatement/ms-1", resource=None)
    rendered = card(finding(medication_actions=(MedicationAction(statement, "stop"),)))
    assert "suggestions" not in rendered


def test_card_uuids_depend_on_the_call_and_the_rule_version_only() -> None:
    fired = Fired(rule_version(), finding())
    again = Fired(rule_version(), finding(summary="Another summary."))
    other = Fired(rule_version(version="1.3.0"), finding())
    assert card_uuid("h-1", fired) == card_uuid("h-1", again)
    assert card_uuid("h-1", fired) != card_uuid("h-2", fired)
    assert card_uuid("h-1", fired) != card_uuid("h-1", other)

"""cds.rules.lib.kidney.v1: kidney disease as the rules read it (clinical-content.md §14).

tests/rules/test_ckd_dialysis_cramps.py and test_rls_secondary_causes.py already pin most of it
through their cards (coded stages, dialysis, sustained eGFR, GFR categories, low magnesium,
calcium corrected for albumin); these are the parts no card test reaches.
"""

from __future__ import annotations

from typing import Any

import pytest

from cds.rules.lib.kidney.v1 import KidneyStatus
from cds.rules.lib.library import Library2026_11
from cds.terminology import Terminology
from tests.support.fhir import ICD10, condition, facts_for, observation

# The rule libraries, as a rule version inherits them.
LIBRARY = Library2026_11()

EGFR = "98979-8"
CA_TOTAL = "17861-6"  # mg/dL
ALBUMIN = "1751-7"  # g/dL
MG_MOLES = "2601-3"  # mmol/L


def status_of(terminology: Terminology, *resources: dict[str, Any]) -> KidneyStatus:
    return LIBRARY.kidney_status(facts_for(terminology, resources))


def egfr(value: float, days_ago: float = 10, comparator: str | None = None) -> dict[str, Any]:
    return observation(EGFR, value, "mL/min/{1.73_m2}", days_ago=days_ago, comparator=comparator)


def unstaged_ckd() -> dict[str, Any]:
    return condition("N18.9", system=ICD10, display="Chronic kidney disease, unspecified")


# -- how the kidney disease is named ------------------------------------------------------------


def test_coded_esrd_without_dialysis_is_named_esrd(terminology: Terminology) -> None:
    esrd = condition("N18.6", system=ICD10, display="End stage renal disease")
    status = status_of(terminology, esrd)
    assert (status.esrd, status.on_dialysis, status.has_ckd) == (True, False, True)
    assert status.stage_label() == "ESRD"


def test_unstaged_ckd_with_a_mild_egfr_is_named_by_its_category(
    terminology: Terminology,
) -> None:
    status = status_of(terminology, unstaged_ckd(), egfr(75))
    assert status.coded_stage is None
    assert status.stage_label() == "CKD (G2 by eGFR)"


def test_unstaged_ckd_without_an_egfr_is_just_ckd(terminology: Terminology) -> None:
    status = status_of(terminology, unstaged_ckd())
    assert status.coded
    assert not status.found_by_egfr_only
    assert status.stage_label() == "CKD"


@pytest.mark.parametrize(
    ("value", "comparator", "category"),
    [(90, ">", "G1"), (90, ">=", "G1"), (60, ">", None), (89, ">=", None)],
)
def test_a_censored_egfr_above_a_limit_is_g1_only_from_90(
    terminology: Terminology, value: float, comparator: str, category: str | None
) -> None:
    assert status_of(terminology, egfr(value, comparator=comparator)).egfr_category == category


# -- low calcium or magnesium -------------------------------------------------------------------


def test_a_low_total_without_albumin_is_judged_as_measured(terminology: Terminology) -> None:
    (calcium,) = LIBRARY.low_calcium_or_magnesium(
        facts_for(terminology, [observation(CA_TOTAL, 7.9, "mg/dL", days_ago=5)])
    )
    assert calcium.analyte == "calcium"
    assert calcium.phrase == "low calcium 7.9 mg/dL"
    assert calcium.evidence.label == "Calcium, total (uncorrected)"


def test_a_corrected_calcium_is_judged_against_the_labs_own_lower_limit(
    terminology: Terminology,
) -> None:
    # 8.6 + 0.8 x (4.0 - 4.0) = 8.6: above the 8.5 default, below this lab's 8.8.
    total = observation(CA_TOTAL, 8.6, "mg/dL", low=8.8, high=10.2, days_ago=5)
    albumin = observation(ALBUMIN, 4.0, "g/dL", days_ago=5)
    (calcium,) = LIBRARY.low_calcium_or_magnesium(facts_for(terminology, [total, albumin]))
    assert calcium.phrase == "low corrected calcium 8.6 mg/dL"
    assert calcium.evidence.value.endswith("; lower limit 8.8)")
    without_range = observation(CA_TOTAL, 8.6, "mg/dL", days_ago=5)
    assert LIBRARY.low_calcium_or_magnesium(facts_for(terminology, [without_range, albumin])) == []


def test_low_calcium_is_listed_before_low_magnesium(terminology: Terminology) -> None:
    found = LIBRARY.low_calcium_or_magnesium(
        facts_for(
            terminology,
            [
                observation(MG_MOLES, 0.5, "mmol/L", days_ago=5),
                observation(CA_TOTAL, 7.9, "mg/dL", days_ago=5),
            ],
        )
    )
    assert [m.analyte for m in found] == ["calcium", "magnesium"]
    assert found[1].phrase == "low magnesium 0.5 mmol/L"

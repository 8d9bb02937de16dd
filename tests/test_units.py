"""Unit normalisation (clinical-content.md §1.3): worked numbers, real data, properties."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cds.terminology import LOINC, Terminology, latest_release
from cds.terminology.units import CANONICAL_UNIT, corrected_calcium, from_canonical, to_canonical
from tests.support.paths import CDS_REQUESTS, HL7_EXAMPLES, SYNTHEA_BUNDLES

REAL_DATA = [
    *sorted(SYNTHEA_BUNDLES.glob("*.json")),
    *sorted(HL7_EXAMPLES.glob("*.json")),
    *sorted(CDS_REQUESTS.glob("*/*.json")),
]

# Lab and vital-sign value sets read as quantities: each is an analyte of to_canonical.
QUANTITY_ANALYTES = [
    "potassium",
    "sodium",
    "magnesium",
    "calcium-total",
    "calcium-corrected",
    "calcium-ionized",
    "albumin",
    "vitamin-d-25oh",
    "ferritin",
    "creatine-kinase",
    "hba1c",
    "creatinine",
    "egfr",
    "tsh",
    "free-t4",
    "bmi",
    "heart-rate",
    "respiratory-rate",
    "oxygen-saturation",
    "hemoglobin",
    "glucose",
    "transferrin-saturation",
    "iron",
    "tibc",
    "transferrin",
    "vitamin-b12",
    "folate",
    "d-dimer",
    "gestational-age",
]

# Spellings real data uses, per analyte: UCUM codes and common human forms (the usual list,
# plus what the Synthea bundles and HL7 examples carry).
ACCEPTED = [
    ("potassium", "mmol/L"),
    ("potassium", "mEq/L"),
    ("potassium", "meq/L"),
    ("potassium", "mmol/l"),
    ("sodium", "mEq/L"),
    ("sodium", "mmol/L"),
    ("magnesium", "mg/dL"),
    ("magnesium", "mEq/L"),
    ("magnesium", "mmol/L"),
    ("calcium-total", "mg/dL"),
    ("calcium-total", "mmol/L"),
    ("calcium-corrected", "mmol/L"),
    ("calcium-ionized", "mmol/L"),
    ("calcium-ionized", "mg/dL"),
    ("albumin", "g/dL"),
    ("albumin", "g/L"),
    ("vitamin-d-25oh", "ng/mL"),
    ("vitamin-d-25oh", "nmol/L"),
    ("vitamin-d-25oh", "ug/L"),
    ("vitamin-d-25oh", "µg/L"),
    ("ferritin", "ng/mL"),
    ("ferritin", "ug/L"),
    ("ferritin", "µg/L"),
    ("ferritin", "mcg/L"),
    ("creatine-kinase", "U/L"),
    ("creatine-kinase", "IU/L"),
    ("creatine-kinase", "ukat/L"),
    ("creatine-kinase", "µkat/L"),
    ("hba1c", "%"),
    ("hba1c", "mmol/mol"),
    ("creatinine", "mg/dL"),
    ("creatinine", "umol/L"),
    ("creatinine", "µmol/L"),
    ("egfr", "mL/min/{1.73_m2}"),
    ("egfr", "mL/min/1.73m2"),
    ("egfr", "mL/min/1.73 m2"),
    ("egfr", "mL/min"),
    ("tsh", "mIU/L"),
    ("tsh", "uIU/mL"),
    ("tsh", "µIU/mL"),
    ("free-t4", "ng/dL"),
    ("free-t4", "pmol/L"),
    ("bmi", "kg/m2"),
    ("bmi", "kg/m²"),
    ("heart-rate", "/min"),
    ("heart-rate", "beats/min"),
    ("heart-rate", "{beats}/min"),
    ("heart-rate", "beats/minute"),
    ("respiratory-rate", "/min"),
    ("respiratory-rate", "breaths/minute"),
    ("oxygen-saturation", "%"),
    ("hemoglobin", "g/dL"),
    ("hemoglobin", "g/L"),
    ("hemoglobin", "g/dl"),
    ("glucose", "mg/dL"),
    ("glucose", "mmol/L"),
    ("transferrin-saturation", "%"),
    ("iron", "ug/dL"),
    ("iron", "umol/L"),
    ("tibc", "ug/dL"),
    ("tibc", "µg/dL"),
    ("transferrin", "mg/dL"),
    ("transferrin", "g/L"),
    ("vitamin-b12", "pg/mL"),
    ("vitamin-b12", "pmol/L"),
    ("folate", "ng/mL"),
    ("folate", "nmol/L"),
    ("d-dimer", "mg/L FEU"),
    ("d-dimer", "ug/mL FEU"),
    ("d-dimer", "mg/L"),
    ("d-dimer", "ng/mL FEU"),
    ("gestational-age", "wk"),
    ("gestational-age", "d"),
]


# ---------------------------------------------------------------------------------------------
# The catalog's worked numbers


@pytest.mark.parametrize(
    ("analyte", "value", "unit", "expected", "tolerance"),
    [
        ("magnesium", 1.7, "mg/dL", 0.70, 0.005),  # §1.3
        ("magnesium", 1.2, "mg/dL", 0.49, 0.005),  # §1.3
        ("magnesium", 1.4, "mEq/L", 0.70, 1e-9),  # divalent: mEq/L = 2 × mmol/L
        ("potassium", 3.1, "mEq/L", 3.1, 1e-9),
        ("calcium-total", 2.12, "mmol/L", 8.5, 0.01),  # 8.5 mg/dL ≈ 2.12 mmol/L
        ("calcium-total", 3.5, "mmol/L", 14.0, 0.05),  # 14 mg/dL ≈ 3.5 mmol/L
        ("calcium-corrected", 1.9, "mmol/L", 7.6, 0.05),  # §3: 7.6 mg/dL (1.9 mmol/L)
        ("calcium-ionized", 4.8, "mg/dL", 1.2, 0.005),
        ("albumin", 35, "g/L", 3.5, 1e-9),
        ("vitamin-d-25oh", 50, "nmol/L", 20, 0.05),  # 20 ng/mL ≈ 50 nmol/L
        ("vitamin-d-25oh", 30, "nmol/L", 12, 0.05),  # 12 ng/mL ≈ 30 nmol/L
        ("ferritin", 42, "ug/L", 42, 1e-9),  # ng/mL = µg/L
        ("creatine-kinase", 2.0, "ukat/L", 120, 1e-9),  # µkat/L × 60
        ("hba1c", 48, "mmol/mol", 6.5, 0.05),  # 6.5 % ≈ 48 mmol/mol
        ("creatinine", 88.4, "umol/L", 1.0, 1e-9),
        ("free-t4", 12.87, "pmol/L", 1.0, 1e-9),
        ("tsh", 14, "uIU/mL", 14, 1e-9),
        ("glucose", 7.0, "mmol/L", 126.1, 0.05),
        ("hemoglobin", 135, "g/L", 13.5, 1e-9),
        ("iron", 10, "umol/L", 55.85, 0.01),
        ("d-dimer", 500, "ng/mL FEU", 0.5, 1e-9),
        ("gestational-age", 168, "d", 24, 1e-9),
    ],
)
def test_worked_conversions(
    analyte: str, value: float, unit: str, expected: float, tolerance: float
) -> None:
    result = to_canonical(analyte, value, unit)
    assert result is not None
    assert result == pytest.approx(expected, abs=tolerance)


def test_hba1c_from_canonical_gives_the_ifcc_value() -> None:
    result = from_canonical("hba1c", 6.5, "mmol/mol")
    assert result is not None
    assert round(result) == 48


def test_corrected_calcium() -> None:
    assert corrected_calcium(8.0, 2.0) == pytest.approx(9.6)  # 8.0 + 0.8 × (4.0 − 2.0)
    assert corrected_calcium(9.0, 4.0) == pytest.approx(9.0)
    assert corrected_calcium(10.0, 4.5) == pytest.approx(9.6)


# ---------------------------------------------------------------------------------------------
# Spellings and unknowns


@pytest.mark.parametrize(("analyte", "unit"), ACCEPTED)
def test_accepted_spellings(analyte: str, unit: str) -> None:
    assert to_canonical(analyte, 1.0, unit) is not None


@pytest.mark.parametrize(
    ("analyte", "unit"),
    [
        ("potassium", "mg/dL"),
        ("potassium", None),
        ("potassium", ""),
        ("hba1c", "mmol/L"),
        ("tsh", "mIU/mL"),  # a thousandfold error if taken at face value
        ("egfr", "mL/s"),
        ("d-dimer", "ng/mL"),  # plain ng/mL is usually DDU in US practice: not guessed
        ("oxygen-saturation", "1"),
        ("not-an-analyte", "mmol/L"),
        ("heart-rate", "{score}"),
    ],
)
def test_unknown_units_give_none(analyte: str, unit: str | None) -> None:
    assert to_canonical(analyte, 1.0, unit) is None


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, -1.0, True, 10**400])
def test_unusable_values_give_none(value: float) -> None:
    assert to_canonical("potassium", value, "mmol/L") is None


def test_every_quantity_value_set_has_a_canonical_unit() -> None:
    terminology = Terminology.load(latest_release())
    assert set(QUANTITY_ANALYTES) == set(CANONICAL_UNIT)
    for analyte in QUANTITY_ANALYTES:
        terminology.valueset(analyte)  # the analyte is a value set name
        assert to_canonical(analyte, 1.25, CANONICAL_UNIT[analyte]) == 1.25


# ---------------------------------------------------------------------------------------------
# Real data: every quantity our lab value sets meet normalises


def _observations(node: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(node, dict):
        if node.get("resourceType") == "Observation":
            yield node
        for value in node.values():
            yield from _observations(value)
    elif isinstance(node, list):
        for value in node:
            yield from _observations(value)


def _quantities_of_our_labs() -> list[tuple[str, str, str | None, str | None]]:
    """(file, analyte, unit, code) for every valueQuantity of an Observation (or component)
    coded with a LOINC from our lab value sets, in the Synthea bundles, HL7 examples and CDS
    Hooks requests."""
    terminology = Terminology.load(latest_release())
    analyte_of = {
        code: analyte
        for analyte in QUANTITY_ANALYTES
        for system, code in terminology.valueset(analyte).codes
        if system == LOINC
    }
    found = []
    for path in REAL_DATA:
        for observation in _observations(orjson.loads(path.read_bytes())):
            for part in (observation, *observation.get("component", [])):
                quantity = part.get("valueQuantity")
                codes = [c.get("code") for c in part.get("code", {}).get("coding", [])]
                analyte = next((analyte_of[c] for c in codes if c in analyte_of), None)
                if quantity and analyte:
                    found.append((path.name, analyte, quantity.get("unit"), quantity.get("code")))
    return found


def test_every_real_quantity_of_our_labs_normalises() -> None:
    quantities = _quantities_of_our_labs()
    assert len(quantities) > 4000  # the Synthea bundles alone hold thousands
    failures = set()
    for name, analyte, unit, code in quantities:
        for spelling in (unit, code):  # the UCUM code and the human unit must both work
            if spelling is not None and to_canonical(analyte, 1.0, spelling) is None:
                failures.add((name, analyte, spelling))
    assert not failures


# ---------------------------------------------------------------------------------------------
# Properties

known_pairs = st.sampled_from(ACCEPTED)
measurements = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)


@given(
    analyte=st.one_of(st.sampled_from(QUANTITY_ANALYTES), st.text()),
    value=st.one_of(
        st.floats(), st.integers(), st.integers(min_value=10**300), st.booleans(), st.text()
    ),
    unit=st.one_of(st.none(), st.text(), st.sampled_from([u for _, u in ACCEPTED])),
)
def test_never_raises_and_returns_a_finite_float_or_none(
    analyte: str, value: float, unit: str | None
) -> None:
    for convert in (to_canonical, from_canonical):
        result = convert(analyte, value, unit)
        assert result is None or (isinstance(result, float) and math.isfinite(result))
        if isinstance(value, float) and not math.isfinite(value):
            assert result is None


@given(pair=known_pairs, value=measurements)
def test_round_trip(pair: tuple[str, str], value: float) -> None:
    analyte, unit = pair
    canonical = to_canonical(analyte, value, unit)
    assert canonical is not None
    back = from_canonical(analyte, canonical, unit)
    assert back == pytest.approx(value, rel=1e-9, abs=1e-9)


@given(pair=known_pairs, a=measurements, b=measurements)
def test_monotonic(pair: tuple[str, str], a: float, b: float) -> None:
    analyte, unit = pair
    low, high = sorted((a, b))
    low_canonical, high_canonical = (
        to_canonical(analyte, low, unit),
        to_canonical(analyte, high, unit),
    )
    assert low_canonical is not None
    assert high_canonical is not None
    assert low_canonical <= high_canonical


@given(pair=known_pairs, value=measurements)
def test_case_and_spacing_do_not_matter(pair: tuple[str, str], value: float) -> None:
    analyte, unit = pair
    expected = to_canonical(analyte, value, unit)
    assert to_canonical(analyte, value, unit.upper()) == expected
    assert to_canonical(analyte, value, f"  {unit} ") == expected

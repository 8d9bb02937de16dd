"""Unit normalisation for the analytes the rules read (clinical-content.md §1.3).

`to_canonical(analyte, value, unit)` returns the value in `CANONICAL_UNIT[analyte]`, or None
when the unit is not one this table knows for that analyte. It never guesses: an unknown,
missing or ambiguous unit gives None, and so does a value that is not a finite, non-negative
number. The rules then treat the result as missing rather than misread it.

Units are matched by spelling, after a light clean-up that makes UCUM codes and common human
spellings meet: case is ignored ("mmol/l", "MEQ/L"), spaces are dropped, µ/μ/mcg read as u,
and "²" as 2. Everything else is an explicit entry below. The spellings come from what the Synthea
bundles, the HL7 R4 examples and the CDS Hooks sample requests actually use.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ("CANONICAL_UNIT", "corrected_calcium", "from_canonical", "to_canonical")


@dataclass(frozen=True, slots=True)
class _Conversion:
    """canonical = value × scale + offset (an offset only for HbA1c IFCC -> NGSP)."""

    scale: float
    offset: float = 0.0


_SAME = _Conversion(1.0)

# §1.3 factors.
_MG_DL_TO_MMOL_L_MAGNESIUM = 0.4114
_MG_DL_TO_MMOL_L_CALCIUM = 0.2495
_NG_ML_TO_NMOL_L_VITAMIN_D = 2.496
_CREATININE_UMOL_L_PER_MG_DL = 88.4
_FREE_T4_PMOL_L_PER_NG_DL = 12.87
_GLUCOSE_MG_DL_PER_MMOL_L = 18.016
_CK_U_L_PER_UKAT_L = 60.0
_IFCC_PER_NGSP = 10.929  # IFCC mmol/mol = (NGSP % - 2.15) × 10.929
_NGSP_OFFSET = 2.15
# Molar masses for the labs §1.3 does not cover: iron 55.845 g/mol (1 umol/L = 5.585 ug/dL),
# cobalamin 1355.4 g/mol (1 pmol/L = 1.355 pg/mL), folic acid 441.4 g/mol (1 nmol/L = 0.4414
# ng/mL).
_IRON_UG_DL_PER_UMOL_L = 5.585
_B12_PG_ML_PER_PMOL_L = 1.355
_FOLATE_NMOL_L_PER_NG_ML = 2.266

_PER_MINUTE = ("/min", "1/min")
_BEATS = ("{beats}/min", "{beat}/min", "beats/min", "beats/minute", "beat/min", "bpm")
_BREATHS = ("{breaths}/min", "{breath}/min", "breaths/min", "breaths/minute", "breath/min")
_EGFR = (
    "mL/min/{1.73_m2}",
    "mL/min/1.73_m2",
    "mL/min/{1.73m2}",
    "mL/min/1.73m2",
    "mL/min/1.73 m2",
    "mL/min/1.73m^2",
    "mL/min/1.73 m²",
    "mL/min per 1.73 m2",
    # An eGFR code already means "per 1.73 m²". Synthea (252 of 712 results for 33914-3) and some
    # labs drop the suffix, but the number is the same.
    "mL/min",
)


def _table(*groups: tuple[Iterable[str], _Conversion]) -> Mapping[str, _Conversion]:
    table: dict[str, _Conversion] = {}
    for spellings, conversion in groups:
        for spelling in spellings:
            key = _unit_key(spelling)
            if key in table and table[key] != conversion:
                raise ValueError(f"unit {spelling!r} listed twice with different factors")
            table[key] = conversion
    return MappingProxyType(table)


def _unit_key(unit: str) -> str:
    key = unit.strip().casefold()
    for old, new in (("µ", "u"), ("μ", "u"), ("mcg", "ug"), ("²", "2"), ("^2", "2"), (" ", "")):
        key = key.replace(old, new)
    return key


_MMOL_L = ("mmol/L", "mEq/L")  # monovalent ions: 1 mEq = 1 mmol; case-folding covers "meq/L"
_MONOVALENT = _table((_MMOL_L, _SAME))
_CALCIUM_MG_DL = _table(
    (("mg/dL",), _SAME),
    (("mmol/L",), _Conversion(1 / _MG_DL_TO_MMOL_L_CALCIUM)),
)

CANONICAL_UNIT: Mapping[str, str] = MappingProxyType(
    {
        "potassium": "mmol/L",
        "sodium": "mmol/L",
        "magnesium": "mmol/L",
        "calcium-total": "mg/dL",
        "calcium-corrected": "mg/dL",
        "calcium-ionized": "mmol/L",
        "albumin": "g/dL",
        "vitamin-d-25oh": "ng/mL",
        "ferritin": "ng/mL",
        "creatine-kinase": "U/L",
        "hba1c": "%",
        "creatinine": "mg/dL",
        "egfr": "mL/min/{1.73_m2}",
        "tsh": "mIU/L",
        "free-t4": "ng/dL",
        "bmi": "kg/m2",
        "heart-rate": "/min",
        "respiratory-rate": "/min",
        "oxygen-saturation": "%",
        "hemoglobin": "g/dL",
        "glucose": "mg/dL",
        "transferrin-saturation": "%",
        "iron": "ug/dL",
        "tibc": "ug/dL",
        "transferrin": "mg/dL",
        "vitamin-b12": "pg/mL",
        "folate": "ng/mL",
        "d-dimer": "mg/L",
        "gestational-age": "wk",
    }
)

_CONVERSIONS: Mapping[str, Mapping[str, _Conversion]] = MappingProxyType(
    {
        "potassium": _MONOVALENT,
        "sodium": _MONOVALENT,
        "magnesium": _table(
            (("mmol/L",), _SAME),
            (("mg/dL",), _Conversion(_MG_DL_TO_MMOL_L_MAGNESIUM)),
            (("mEq/L",), _Conversion(0.5)),  # divalent: 2 mEq = 1 mmol
        ),
        "calcium-total": _CALCIUM_MG_DL,
        # LOINC 29265-6 (already albumin-corrected) reports mmol/L; the thresholds are mg/dL.
        "calcium-corrected": _CALCIUM_MG_DL,
        "calcium-ionized": _table(
            (("mmol/L",), _SAME),
            (("mg/dL",), _Conversion(_MG_DL_TO_MMOL_L_CALCIUM)),
            (("mEq/L",), _Conversion(0.5)),
        ),
        "albumin": _table((("g/dL",), _SAME), (("g/L",), _Conversion(0.1))),
        "vitamin-d-25oh": _table(
            (("ng/mL", "ug/L"), _SAME),
            (("nmol/L",), _Conversion(1 / _NG_ML_TO_NMOL_L_VITAMIN_D)),
        ),
        "ferritin": _table((("ng/mL", "ug/L"), _SAME)),
        "creatine-kinase": _table(
            (("U/L", "IU/L", "[IU]/L"), _SAME),
            (("ukat/L",), _Conversion(_CK_U_L_PER_UKAT_L)),
            (("nkat/L",), _Conversion(_CK_U_L_PER_UKAT_L / 1000)),
        ),
        "hba1c": _table(
            (("%", "% NGSP", "%{HbA1c}"), _SAME),
            (("mmol/mol",), _Conversion(1 / _IFCC_PER_NGSP, _NGSP_OFFSET)),
        ),
        "creatinine": _table(
            (("mg/dL",), _SAME),
            (("umol/L",), _Conversion(1 / _CREATININE_UMOL_L_PER_MG_DL)),
            # The same, reported in mmol/L (1 mmol/L = 1000 umol/L; HL7 R4 examples do).
            (("mmol/L",), _Conversion(1000 / _CREATININE_UMOL_L_PER_MG_DL)),
        ),
        "egfr": _table((_EGFR, _SAME)),
        "tsh": _table((("mIU/L", "uIU/mL", "mU/L", "uU/mL", "m[IU]/L", "u[IU]/mL"), _SAME)),
        "free-t4": _table(
            (("ng/dL",), _SAME),
            (("pmol/L",), _Conversion(1 / _FREE_T4_PMOL_L_PER_NG_DL)),
        ),
        "bmi": _table((("kg/m2",), _SAME)),
        "heart-rate": _table(((*_PER_MINUTE, *_BEATS), _SAME)),
        "respiratory-rate": _table(((*_PER_MINUTE, *_BREATHS), _SAME)),
        "oxygen-saturation": _table((("%",), _SAME)),
        "hemoglobin": _table((("g/dL",), _SAME), (("g/L",), _Conversion(0.1))),
        "glucose": _table(
            (("mg/dL",), _SAME),
            (("mmol/L",), _Conversion(_GLUCOSE_MG_DL_PER_MMOL_L)),
        ),
        "transferrin-saturation": _table((("%",), _SAME)),
        "iron": _table(
            (("ug/dL",), _SAME),
            (("umol/L",), _Conversion(_IRON_UG_DL_PER_UMOL_L)),
        ),
        "tibc": _table(
            (("ug/dL",), _SAME),
            (("umol/L",), _Conversion(_IRON_UG_DL_PER_UMOL_L)),
        ),
        "transferrin": _table((("mg/dL",), _SAME), (("g/L",), _Conversion(100.0))),
        "vitamin-b12": _table(
            (("pg/mL", "ng/L"), _SAME),
            (("pmol/L",), _Conversion(_B12_PG_ML_PER_PMOL_L)),
        ),
        "folate": _table(
            (("ng/mL", "ug/L"), _SAME),
            (("nmol/L",), _Conversion(1 / _FOLATE_NMOL_L_PER_NG_ML)),
        ),
        # The only verified D-dimer code (48065-7) is FEU, so mass units are FEU as given.
        # ng/mL and ug/L need an explicit FEU mark: in US practice those plain units usually
        # mean DDU, whose code is unverified (§20).
        "d-dimer": _table(
            (
                ("mg/L", "ug/mL", "mg/L FEU", "ug/mL FEU", "mg/L{FEU}", "ug/mL{FEU}"),
                _SAME,
            ),
            (("ng/mL FEU", "ng/mL{FEU}", "ug/L FEU", "ug/L{FEU}"), _Conversion(0.001)),
        ),
        "gestational-age": _table(
            (("wk", "week", "weeks", "wks"), _SAME),
            (("d", "day", "days"), _Conversion(1 / 7)),
        ),
    }
)

if _CONVERSIONS.keys() != CANONICAL_UNIT.keys():  # pragma: no cover - a typo in the tables
    raise ValueError("units: CANONICAL_UNIT and the conversion table name different analytes")


# (analyte, unit as given) -> its conversion: a record spells the same few units again and
# again. Bounded, as units come from requests; it never changes an answer.
_MEMO: dict[tuple[str, str], _Conversion | None] = {}
_MEMO_LIMIT = 4096


def _conversion(analyte: str, unit: str | None) -> _Conversion | None:
    if not isinstance(analyte, str) or not isinstance(unit, str):
        return None
    key = (analyte, unit)
    try:
        return _MEMO[key]
    except KeyError:
        pass
    table = _CONVERSIONS.get(analyte)
    found = table.get(_unit_key(unit)) if table is not None else None
    if len(_MEMO) >= _MEMO_LIMIT:
        _MEMO.clear()
    _MEMO[key] = found
    return found


def _finite(value: float) -> float | None:
    """`value` as a finite float, or None. JSON true is a bool (an int subclass), not a
    measurement; an integer too large for a float is not one either."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def to_canonical(analyte: str, value: float, unit: str | None) -> float | None:
    """`value` in `unit`, expressed in CANONICAL_UNIT[analyte]; None if that is not known."""
    conversion = _conversion(analyte, unit)
    if conversion is None:
        return None
    if type(value) is float:  # the usual case (a record's values), checked without _finite
        number: float | None = value if math.isfinite(value) else None
    else:
        number = _finite(value)
    if number is None or number < 0:  # no negative measurements here
        return None
    result = number * conversion.scale + conversion.offset
    return result if math.isfinite(result) else None


def from_canonical(analyte: str, value: float, unit: str | None) -> float | None:
    """The inverse: a canonical value expressed in `unit` (e.g. to quote a threshold in the
    patient's own units). None if the unit is not known for the analyte."""
    conversion = _conversion(analyte, unit)
    number = _finite(value)
    if conversion is None or number is None:
        return None
    result = (number - conversion.offset) / conversion.scale
    return result if math.isfinite(result) else None


def corrected_calcium(ca_mg_dl: float, albumin_g_dl: float) -> float:
    """Albumin-corrected total calcium, mg/dL: Ca + 0.8 × (4.0 − albumin) (§1.3)."""
    return ca_mg_dl + 0.8 * (4.0 - albumin_g_dl)

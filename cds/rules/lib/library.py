"""The rule libraries as a rule version inherits them, by library release.

A rule version's logic class inherits one of these: `Library2026_11` for the questions as the
first ruleset asked them, `Library2026_12` for those §22 of the catalog settled anew (which
medications count, where complaints and symptoms may be coded, results shown with their
comparator, childbirth, smoking, laterality). Inheriting is what lets a new rule version state
only what differs: `class X(v1_0_0.X, Library2026_12)` runs 1.0.0's logic with 2026.12's
answers, because every library call is `self.<question>(facts, ...)`.

Order matters only as Python's method order does: a version's own methods first, then the
newer library, then the older.
"""

from __future__ import annotations

from cds.rules.lib.complaints.v2 import ComplaintsV2
from cds.rules.lib.conditions.v2 import ConditionsV2
from cds.rules.lib.cramp_labs.v1 import CrampLabs
from cds.rules.lib.electrolytes.v2 import ElectrolytesV2
from cds.rules.lib.evidence.v2 import EvidenceLinesV2
from cds.rules.lib.laterality.v1 import Laterality
from cds.rules.lib.medications.v2 import MedicationsV2
from cds.rules.lib.pregnancy.v2 import PregnanciesV2
from cds.rules.lib.smoking.v1 import Smoking


class Library2026_11(CrampLabs):
    """The questions of ruleset 2026.11 (the first libraries, v1). Each library builds on the
    ones before it (text, evidence, results, conditions, medications, procedures, complaints,
    pregnancy, electrolytes, kidney, cramp labs), so any question may ask any earlier one."""


class Library2026_12(
    ComplaintsV2,
    MedicationsV2,
    PregnanciesV2,
    EvidenceLinesV2,
    Smoking,
    Laterality,
    ConditionsV2,
    ElectrolytesV2,
    Library2026_11,
):
    """The questions of ruleset 2026.12: v2 where §22 settled them anew, v1 otherwise."""

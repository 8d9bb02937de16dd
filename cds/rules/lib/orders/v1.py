"""The orderables the rules suggest: each LOINC code once, with the label every card gives it.

A rule version names the orders it suggests as parameters, `order(BASIC_METABOLIC_PANEL,
"Electrolytes on a diuretic")`: the code and its label come from here, so two cards never label
the same orderable differently; the reason is the rule's own. Every code is in the `orderables`
value set (tests/rules/lib/test_orders.py). An order with no verified code (the ankle-brachial
index) is no orderable: its rule describes it by text (`OrderSuggestion(label, None, reason)`).
"""

from __future__ import annotations

# Re-exported: a rule version that suggests orders imports their type from here too, with the
# codes and `order`.
from cds.rules.base import OrderSuggestion as OrderSuggestion

BASIC_METABOLIC_PANEL = "51990-0"
COMPREHENSIVE_METABOLIC_PANEL = "24323-8"
MAGNESIUM = "19123-9"
CREATINE_KINASE = "2157-6"
TSH = "3016-3"
FREE_T4 = "3024-7"
VITAMIN_D_25OH = "62292-8"
HBA1C = "4548-4"
VITAMIN_B12 = "2132-9"
FERRITIN = "2276-4"
IRON = "2498-4"
IRON_BINDING_CAPACITY = "2500-7"
IRON_SATURATION = "2502-3"
CBC = "58410-2"
VENOUS_DUPLEX_BOTH_LEGS = "39420-5"
VENOUS_DUPLEX_LEFT_LEG = "39432-0"
VENOUS_DUPLEX_RIGHT_LEG = "39443-7"
D_DIMER = "48065-7"

# The short label a card shows for each orderable.
LABELS: dict[str, str] = {
    BASIC_METABOLIC_PANEL: "Basic metabolic panel",
    COMPREHENSIVE_METABOLIC_PANEL: "Comprehensive metabolic panel",
    MAGNESIUM: "Magnesium, serum",
    CREATINE_KINASE: "Creatine kinase",
    TSH: "TSH",
    FREE_T4: "Free T4",
    VITAMIN_D_25OH: "25-OH vitamin D",
    HBA1C: "HbA1c",
    VITAMIN_B12: "Vitamin B12 (cobalamin), serum",
    FERRITIN: "Ferritin",
    IRON: "Iron, serum",
    IRON_BINDING_CAPACITY: "Iron binding capacity (TIBC)",
    IRON_SATURATION: "Iron saturation (TSAT)",
    CBC: "CBC",
    VENOUS_DUPLEX_BOTH_LEGS: "Venous duplex ultrasound, both legs",
    VENOUS_DUPLEX_LEFT_LEG: "Venous duplex ultrasound, left leg",
    VENOUS_DUPLEX_RIGHT_LEG: "Venous duplex ultrasound, right leg",
    D_DIMER: "D-dimer (FEU)",
}


def order(loinc: str, reason: str) -> OrderSuggestion:
    """The orderable `loinc`, with its label, suggested for `reason`."""
    return OrderSuggestion(LABELS[loinc], loinc, reason)

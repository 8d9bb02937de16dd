#!/usr/bin/env python3
"""Build the project's terminology data from the shared, verified code list.

Run by a developer (never by the service) after ../shared/clinical-codes/codes.tsv changes:

    .venv/bin/python tools/build_valuesets.py            # writes the files below
    .venv/bin/python tools/build_valuesets.py --check    # exits 1 if they would change

It writes, into cds/terminology/, the terminology release named by RELEASE:
- data/<release>/valuesets.tsv: valueset, system, code, display, source, match (exact | prefix)
- data/<release>/products.tsv: product_code, product_display, ingredient_code, ingredient_name,
  source
- VALUESETS.md: the value set names (a contract other code is written against) and notes

Earlier releases are frozen (a released rule version reads them): this script builds only the
newest, and `cds rules release` refuses a released terminology release whose data changed.

The grouping is the `VALUESETS` table below. Every code comes from a codes.tsv row, chosen by
rule id + role (+ code list); the build fails loudly when a listed code is not in codes.tsv or
is one the catalog marks UNVERIFIED (clinical-content.md §20). Output is sorted, so the same
input always gives byte-identical files.

Stdlib only, so it runs before the project is installed.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CODES = REPO_ROOT.parent / "shared" / "clinical-codes" / "codes.tsv"
DEFAULT_OUT = REPO_ROOT / "cds" / "terminology"
# The terminology release this script builds: the VALUESETS table below, with every row of each
# role that names a value set (clinical-content.md §22.1: "each role is one value set, selected
# whole"). Release 2026.11 (the table alone) is frozen in cds/terminology/data/2026.11/.
RELEASE = "2026.12"

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"

CODES_HEADER = ("rule_id", "role", "system", "code", "display", "source (repo: path, or URL)")
VALUESETS_HEADER = ("valueset", "system", "code", "display", "source", "match")
PRODUCTS_HEADER = (
    "product_code",
    "product_display",
    "ingredient_code",
    "ingredient_name",
    "source",
)

# clinical-content.md §20: candidates nobody could verify. None may ship. codes.tsv should not
# hold them either; this list makes the build refuse them even if it one day does.
UNVERIFIED_CODES = frozenset(
    {
        "77194-9",  # ABI observation (LOINC)
        "446841001",  # ABI observation (SNOMED)
        "48066-5",  # D-dimer DDU
        "5291005",  # hypocalcaemia SNOMED
        "66931009",  # hypercalcaemia SNOMED
        "39355002",  # hypernatraemia SNOMED
        "34095006",  # dehydration SNOMED
        "55300003",  # muscle cramp SNOMED
        "23056005",  # sciatica SNOMED
        "87522002",  # iron-deficiency anaemia SNOMED
        "72866009",  # varicose veins of lower limb SNOMED
        "18347007",  # lumbar spinal stenosis SNOMED
        "84017003",  # bursitis SNOMED
        "M48.061",  # lumbar stenosis without neurogenic claudication
        "2396",  # chlorothiazide ingredient
        "1424884",  # vilanterol
        "1546356",  # olodaterol
        "1114325",  # indacaterol
        "342369",  # lenalidomide
    }
)
# §20: knee/hip osteoarthritis ICD-10-CM leaves (M17.x, M16.x) are unverified as a whole.
UNVERIFIED_ICD_CATEGORIES = ("M16", "M17")

MEDICATION_ROLES = ("med-ingredient", "med-interacting", "med-context")
# codes.tsv roles that say how a row is used rather than which set it belongs to: the table
# below picks their rows. Any other role names a value set and is added to it whole.
PICKED_ROLES = frozenset({*MEDICATION_ROLES, "med-product", "condition", "lab", "order"})

# Rule ids of codes.tsv, shortened so the table below stays readable.
DIURETIC = "diuretic-electrolytes"
ELECTROLYTE = "electrolyte-abnormality"
STATIN = "statin-muscle-symptoms"
BETA2 = "beta2-agonist-cramps"
CHEMO = "chemo-neuropathy"
DRUG_RLS = "drug-induced-rls"
RLS = "rls-secondary-causes"
NEUROPATHY = "peripheral-neuropathy"
DVT = "dvt-risk"
PE = "pe-red-flags"
PAD = "pad-rest-pain"
PREGNANCY = "pregnancy-leg-cramps"
CKD = "ckd-dialysis-cramps"
VITAMIN_D = "vitamin-d-deficiency"
THYROID = "hypothyroidism"
OTHER = "other-leg-pain-conditions"
VENOUS = "venous-insufficiency"
QUININE = "quinine-for-cramps"


# ---------------------------------------------------------------------------------------------
# The grouping spec


@dataclass(frozen=True)
class Rows:
    """codes.tsv rows of one rule id and role; `codes` (space-separated) narrows them, and every
    listed code must exist there. No codes = every row of that rule and role."""

    rule: str
    role: str
    codes: str = ""
    match: Literal["exact", "prefix"] = "exact"


@dataclass(frozen=True)
class Spec:
    name: str
    meaning: str
    rows: tuple[Rows, ...] = ()
    includes: tuple[str, ...] = ()  # whole value sets defined earlier in the table
    # Ingredients whose own RxCUI is UNVERIFIED: their verified products (SCD/SBD) stand in.
    uncoded_ingredients: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    title: str
    specs: tuple[Spec, ...]


DIABETIC_NEUROPATHY_ICD = (
    "E08.40 E08.41 E08.42 E09.40 E09.41 E09.42 E10.40 E10.41 E10.42 "
    "E11.40 E11.41 E11.42 E13.40 E13.41 E13.42"
)
ACUTE_LOWER_LIMB_DVT_ICD = (
    "I82.401 I82.402 I82.403 I82.409 I82.411 I82.412 I82.413 I82.419 "
    "I82.421 I82.422 I82.423 I82.429 I82.431 I82.432 I82.433 I82.439 "
    "I82.4Y1 I82.4Y2 I82.4Y3 I82.4Y9 I82.441 I82.442 I82.443 I82.449 "
    "I82.451 I82.452 I82.453 I82.459 I82.461 I82.462 I82.463 I82.469 "
    "I82.491 I82.492 I82.493 I82.499 I82.4Z1 I82.4Z2 I82.4Z3 I82.4Z9"
)

MEDICATIONS = Group(
    "Medications (RxNorm ingredients)",
    (
        Spec(
            "loop-diuretics",
            "loop diuretics (§2): furosemide, bumetanide, torsemide, ethacrynic acid",
            (Rows(DIURETIC, "med-ingredient", "4603 1808 38413 4109"),),
        ),
        Spec(
            "thiazide-diuretics",
            "thiazide and thiazide-like diuretics (§2), not potassium-sparing; chlorothiazide "
            "by its verified products",
            (Rows(DIURETIC, "med-ingredient", "5487 2409 5764 6916"),),
            uncoded_ingredients=("chlorothiazide",),
        ),
        Spec(
            "potassium-supplements",
            "potassium chloride (§2 supplement context)",
            (Rows(DIURETIC, "med-context", "8591"),),
        ),
        Spec(
            "magnesium-supplements",
            "magnesium, magnesium sulfate (§2 supplement context)",
            (Rows(DIURETIC, "med-context", "6574 6585"),),
        ),
        Spec("statins", "the seven statins (§4)", (Rows(STATIN, "med-ingredient"),)),
        Spec(
            "cyp3a4-sensitive-statins",
            "simvastatin, lovastatin: exposure rises many-fold with strong CYP3A4 inhibitors "
            "(§4, FDA 2011 labels)",
            (Rows(STATIN, "med-ingredient", "36567 6472"),),
        ),
        Spec(
            "statin-interacting-drugs",
            "every drug of §4's interacting list (19)",
            (Rows(STATIN, "med-interacting"),),
        ),
        Spec(
            "strong-cyp3a4-inhibitors",
            "§4 interacting drugs contraindicated with simvastatin/lovastatin as strong CYP3A4 "
            "inhibitors (see notes on erythromycin)",
            (Rows(STATIN, "med-interacting", "21212 4053 274786 28031 6135 85762 31565"),),
        ),
        Spec(
            "statin-fibrate-cyclosporine",
            "gemfibrozil, cyclosporine: high risk with any statin (§4)",
            (Rows(STATIN, "med-interacting", "4719 3008"),),
        ),
        Spec(
            "beta2-agonists",
            "albuterol, levalbuterol, salmeterol, formoterol, terbutaline (§5)",
            (Rows(BETA2, "med-ingredient"),),
        ),
        Spec(
            "neurotoxic-chemotherapy",
            "vinca alkaloids, taxanes, platinum, bortezomib, thalidomide, brentuximab (§6)",
            (Rows(CHEMO, "med-ingredient"),),
        ),
        Spec(
            "antipsychotics",
            "dopamine-blocking antipsychotics (§7), incl. VSAC Antipsychotic products whose "
            "ingredient code is unverified",
            (
                Rows(
                    DRUG_RLS,
                    "med-ingredient",
                    "5093 2403 4496 10502 10510 10800 61381 51272 35636 679314 89013 "
                    "115698 1040028 2626",
                ),
            ),
            uncoded_ingredients=(
                "aripiprazole lauroxil",
                "asenapine",
                "brexpiprazole",
                "cariprazine",
                "iloperidone",
                "loxapine",
                "molindone",
                "perphenazine",
                "pimozide",
            ),
        ),
        Spec(
            "antidopaminergic-antiemetics",
            "metoclopramide, prochlorperazine, promethazine (§7)",
            (Rows(DRUG_RLS, "med-ingredient", "6915 8704 8745"),),
        ),
        Spec(
            "serotonergic-antidepressants",
            "SSRIs, SNRIs, mirtazapine, tricyclics of §7 (bupropion excluded)",
            (
                Rows(
                    DRUG_RLS,
                    "med-ingredient",
                    "36437 4493 2556 321988 32937 39786 72625 15996 704 7531",
                ),
            ),
        ),
        Spec(
            "sedating-antihistamines",
            "diphenhydramine, hydroxyzine, chlorpheniramine, meclizine (§7)",
            (Rows(DRUG_RLS, "med-ingredient", "3498 5553 2400 6676"),),
        ),
        Spec(
            "iron-supplements",
            "ferrous sulfate, iron (§8 treatment context)",
            (Rows(RLS, "med-context", "24947 90176"),),
        ),
        Spec(
            "dopamine-agonists",
            "pramipexole, ropinirole, rotigotine (§8: augmentation risk)",
            (Rows(RLS, "med-context", "746741 72302 616739"),),
        ),
        Spec(
            "gabapentinoids",
            "gabapentin, pregabalin (§8)",
            (Rows(RLS, "med-context", "25480 187832"),),
        ),
        Spec(
            "estrogens",
            "estradiol, ethinyl estradiol, conjugated estrogens, raloxifene, tamoxifen (§10)",
            (Rows(DVT, "med-ingredient", "4083 4124 4099 72143 10324"),),
        ),
        Spec(
            "anticoagulants",
            "warfarin, apixaban, rivaroxaban, dabigatran, edoxaban, enoxaparin, heparin (§10)",
            (Rows(DVT, "med-ingredient", "11289 1364430 1114195 1037042 1599538 67108 5224"),),
        ),
        Spec(
            "vitamin-d-supplements",
            "cholecalciferol, vitamin D (§15 context)",
            (Rows(VITAMIN_D, "med-context"),),
        ),
        Spec("levothyroxine", "levothyroxine (§16 context)", (Rows(THYROID, "med-context"),)),
        Spec("quinine", "quinine (§18)", (Rows(QUININE, "med-ingredient"),)),
    ),
)

LABS = Group(
    "Labs and vital signs (LOINC)",
    (
        Spec(
            "potassium",
            "potassium, serum/plasma/blood (§2)",
            (Rows(DIURETIC, "lab", "2823-3 6298-4 39789-3 32713-0 77142-8"),),
        ),
        Spec(
            "magnesium",
            "magnesium, mass and moles (§2)",
            (Rows(DIURETIC, "lab", "19123-9 2601-3"),),
        ),
        Spec("sodium", "sodium (§2)", (Rows(DIURETIC, "lab", "2951-2 2947-0 77139-4"),)),
        Spec(
            "calcium-total",
            "total calcium, mass and moles (§2)",
            (Rows(DIURETIC, "lab", "17861-6 2000-8"),),
        ),
        Spec(
            "calcium-corrected",
            "albumin-corrected calcium, moles (§1.3)",
            (Rows(DIURETIC, "lab", "29265-6"),),
        ),
        Spec(
            "calcium-ionized",
            "ionized calcium, moles and mass (§2)",
            (Rows(DIURETIC, "lab", "1994-3 1995-0 17863-2 17864-0"),),
        ),
        Spec("albumin", "serum albumin (§2)", (Rows(DIURETIC, "lab", "1751-7"),)),
        Spec("creatine-kinase", "creatine kinase (§4)", (Rows(STATIN, "lab", "2157-6"),)),
        Spec("creatinine", "serum creatinine (§4, §14)", (Rows(STATIN, "lab", "2160-0"),)),
        Spec(
            "egfr",
            "estimated GFR: CKD-EPI 2021, CKD-EPI, MDRD variants (§14)",
            (Rows(CKD, "lab", "98979-8 62238-1 33914-3 48642-3 48643-1"),),
        ),
        Spec("tsh", "thyrotropin (§16)", (Rows(THYROID, "lab", "3016-3 11580-8"),)),
        Spec("free-t4", "free thyroxine (§16)", (Rows(THYROID, "lab", "3024-7"),)),
        Spec("vitamin-d-25oh", "25-hydroxyvitamin D (§15)", (Rows(VITAMIN_D, "lab"),)),
        Spec("ferritin", "ferritin (§8)", (Rows(RLS, "lab", "2276-4 20567-4"),)),
        Spec("iron", "serum iron (§8)", (Rows(RLS, "lab", "2498-4"),)),
        Spec("tibc", "total iron binding capacity (§8)", (Rows(RLS, "lab", "2500-7"),)),
        Spec(
            "transferrin-saturation",
            "iron saturation / TSAT (§8)",
            (Rows(RLS, "lab", "2502-3"),),
        ),
        Spec("transferrin", "transferrin (§8)", (Rows(RLS, "lab", "3034-6"),)),
        Spec("hemoglobin", "haemoglobin in blood (§8)", (Rows(RLS, "lab", "718-7"),)),
        Spec("bmi", "body mass index (§8, §10)", (Rows(RLS, "lab", "39156-5"),)),
        Spec(
            "hba1c",
            "HbA1c, all methods incl. IFCC 59261-8 (§9)",
            (Rows(NEUROPATHY, "lab", "4548-4 17856-6 17855-8 4549-2 59261-8"),),
        ),
        Spec("glucose", "glucose, serum/plasma (§9)", (Rows(NEUROPATHY, "lab", "2345-7"),)),
        Spec("vitamin-b12", "cobalamin (§9)", (Rows(NEUROPATHY, "lab", "2132-9"),)),
        Spec("folate", "folate (§9)", (Rows(NEUROPATHY, "lab", "2284-8"),)),
        Spec("d-dimer", "D-dimer FEU (§10; DDU is unverified)", (Rows(DVT, "lab", "48065-7"),)),
        Spec("heart-rate", "heart rate (§11)", (Rows(PE, "lab", "8867-4"),)),
        Spec("respiratory-rate", "respiratory rate (§11)", (Rows(PE, "lab", "9279-1"),)),
        Spec(
            "oxygen-saturation",
            "oxygen saturation, pulse oximetry and arterial (§11)",
            (Rows(PE, "lab", "59408-5 2708-6"),),
        ),
        Spec(
            "smoking-status",
            "tobacco smoking status observation (§8, §12)",
            (Rows(PAD, "lab", "72166-2"),),
        ),
        Spec(
            "pregnancy-status",
            "pregnancy status observation (§13)",
            (Rows(PREGNANCY, "lab", "82810-3"),),
        ),
        Spec(
            "gestational-age",
            "gestational age observations (§13)",
            (Rows(PREGNANCY, "lab", "49051-6 18185-9 11884-4"),),
        ),
    ),
)

ORDERS = Group(
    "Orderables (LOINC, for ServiceRequest suggestions)",
    (
        Spec(
            "orderables",
            "every codes.tsv `order` row plus the labs the catalog suggests ordering "
            "(CK, TSH, free T4, 25-OH D)",
            (
                Rows(DIURETIC, "order"),
                Rows(RLS, "order"),
                Rows(NEUROPATHY, "order"),
                Rows(DVT, "order"),
                Rows(PAD, "order"),
                Rows(STATIN, "lab", "2157-6 3016-3 3024-7 62292-8"),
            ),
        ),
    ),
)

CONDITIONS = Group(
    "Conditions (SNOMED CT, ICD-10-CM)",
    (
        Spec(
            "hypokalemia", "hypokalaemia (§3)", (Rows(ELECTROLYTE, "condition", "E87.6 43339004"),)
        ),
        Spec(
            "hypomagnesemia",
            "hypomagnesaemia, magnesium deficiency (§3)",
            (Rows(ELECTROLYTE, "condition", "E83.42 E61.2 190855004 60853003"),),
        ),
        Spec(
            "hyponatremia",
            "hyponatraemia (§3)",
            (Rows(ELECTROLYTE, "condition", "E87.1 89627008 267447008"),),
        ),
        Spec(
            "hypernatremia",
            "hypernatraemia (§3; SNOMED unverified)",
            (Rows(ELECTROLYTE, "condition", "E87.0"),),
        ),
        Spec(
            "hypocalcemia",
            "hypocalcaemia (§3; SNOMED unverified)",
            (Rows(ELECTROLYTE, "condition", "E83.51"),),
        ),
        Spec(
            "hypercalcemia",
            "hypercalcaemia (§3; SNOMED unverified)",
            (Rows(ELECTROLYTE, "condition", "E83.52"),),
        ),
        Spec(
            "dehydration",
            "dehydration, hypovolaemia, volume depletion (§3)",
            (Rows(ELECTROLYTE, "condition", "E86.0 E86.1 E86.9"),),
        ),
        Spec(
            "leg-cramp-complaint",
            "leg pain or cramp complaint (§1.6): R25.2, G47.62, R29.0, M79.604-6, M79.661-9",
            (
                Rows(ELECTROLYTE, "condition", "R25.2 G47.62 R29.0"),
                Rows(OTHER, "condition", "M79.604 M79.605 M79.606 M79.661 M79.662 M79.669"),
            ),
        ),
        Spec(
            "leg-pain",
            "leg pain alone, without cramps (§1.6): M79.604-6, M79.661-9",
            (Rows(OTHER, "condition", "M79.604 M79.605 M79.606 M79.661 M79.662 M79.669"),),
        ),
        Spec(
            "leg-cramp",
            "leg cramps alone (§22.2 j): R25.2 cramp and spasm, G47.62 sleep related leg cramps",
            (Rows(ELECTROLYTE, "condition", "R25.2 G47.62"),),
        ),
        Spec(
            "restless-legs",
            "restless legs syndrome and periodic limb movement disorder (§8)",
            (Rows(RLS, "condition", "G25.81 32914008 G47.61"),),
        ),
        Spec(
            "leg-swelling",
            "leg swelling / localised oedema (§10)",
            (Rows(DVT, "condition", "R22.41 R22.42 R22.43 R60.0 80068009 274724004"),),
        ),
        Spec(
            "unilateral-leg-swelling",
            "swelling of the right or left lower limb (§10)",
            (Rows(DVT, "condition", "R22.41 R22.42"),),
        ),
        Spec(
            "leg-complaint",
            "any leg complaint of §1.6: leg-cramp-complaint + RLS (G25.81, 32914008) + "
            "swelling (R22.41-3, R60.0)",
            (
                Rows(RLS, "condition", "G25.81 32914008"),
                Rows(DVT, "condition", "R22.41 R22.42 R22.43 R60.0"),
            ),
            includes=("leg-cramp-complaint",),
        ),
        Spec("akathisia", "drug-induced akathisia (§7)", (Rows(DRUG_RLS, "condition", "G25.71"),)),
        Spec(
            "sams-myopathy",
            "statin-associated muscle symptoms, drug-induced/toxic myopathy, myositis (§4)",
            (
                Rows(
                    STATIN,
                    "condition",
                    "G72.0 G72.9 M60.9 M79.10 16462851000119106 240101000 288225004 66952001",
                ),
            ),
        ),
        Spec(
            "rhabdomyolysis",
            "rhabdomyolysis and myoglobinuria (§4)",
            (Rows(STATIN, "condition", "M62.82 240131006 240132004 72960004 R82.1 48165008"),),
        ),
        Spec(
            "drug-induced-neuropathy",
            "drug-induced polyneuropathy (§6)",
            (Rows(NEUROPATHY, "condition", "G62.0"),),
        ),
        Spec(
            "diabetic-neuropathy",
            "diabetic neuropathy (§9)",
            (
                Rows(
                    NEUROPATHY,
                    "condition",
                    "424736006 368581000119106 1511000119107 " + DIABETIC_NEUROPATHY_ICD,
                ),
            ),
        ),
        Spec(
            "alcoholic-neuropathy",
            "alcoholic polyneuropathy (§9)",
            (Rows(NEUROPATHY, "condition", "G62.1 7916009"),),
        ),
        Spec(
            "peripheral-neuropathy-any",
            "any peripheral neuropathy: diabetic, alcoholic, drug-induced, unspecified (§6, §9)",
            (Rows(NEUROPATHY, "condition", "G62.9 302226006"),),
            includes=("diabetic-neuropathy", "alcoholic-neuropathy", "drug-induced-neuropathy"),
        ),
        Spec(
            "diabetes",
            "diabetes mellitus, incl. diabetic neuropathy codes (which imply it) (§9)",
            (Rows(NEUROPATHY, "condition", "73211009 44054006 46635009"),),
            includes=("diabetic-neuropathy",),
        ),
        Spec(
            "alcohol-use-disorder",
            "alcohol dependence (§9; only F10.20 is verified)",
            (Rows(NEUROPATHY, "condition", "F10.20"),),
        ),
        Spec(
            "chemo-history",
            "personal history of antineoplastic chemotherapy (§6)",
            (Rows(CHEMO, "condition", "Z92.21"),),
        ),
        Spec(
            "iron-deficiency",
            "iron deficiency with or without anaemia (§8)",
            (Rows(RLS, "condition", "35240004 E61.1 D50.0 D50.1 D50.8 D50.9"),),
        ),
        Spec(
            "anemia",
            "anaemia, incl. iron-deficiency anaemia (§8)",
            (Rows(RLS, "condition", "271737000 D50.0 D50.1 D50.8 D50.9"),),
        ),
        Spec(
            "pregnancy",
            "pregnancy (§13); also the Pregnant answer of pregnancy-status",
            (Rows(PREGNANCY, "condition", "77386006"),),
        ),
        Spec(
            "esrd",
            "end-stage renal disease (§14)",
            (Rows(CKD, "condition", "46177005 N18.6"),),
        ),
        Spec(
            "ckd",
            "chronic kidney disease, any stage incl. ESRD (§14)",
            (
                Rows(
                    CKD,
                    "condition",
                    "709044004 431855005 433144002 433146000 "
                    "N18.1 N18.2 N18.30 N18.31 N18.32 N18.4 N18.5 N18.9",
                ),
            ),
            includes=("esrd",),
        ),
        Spec("ckd-stage-1", "CKD stage 1 (§14)", (Rows(CKD, "condition", "431855005 N18.1"),)),
        Spec("ckd-stage-2", "CKD stage 2 (§14)", (Rows(CKD, "condition", "N18.2"),)),
        Spec(
            "ckd-stage-3",
            "CKD stage 3, 3a, 3b (§14)",
            (Rows(CKD, "condition", "433144002 N18.30 N18.31 N18.32"),),
        ),
        Spec("ckd-stage-4", "CKD stage 4 (§14)", (Rows(CKD, "condition", "N18.4"),)),
        Spec(
            "ckd-stage-5",
            "CKD stage 5, incl. ESRD (§14)",
            (Rows(CKD, "condition", "433146000 N18.5"),),
            includes=("esrd",),
        ),
        Spec(
            "dialysis",
            "dialysis dependence and dialysis procedures (§14)",
            (Rows(CKD, "condition", "105502003 265764009 302497006 71192002 Z99.2"),),
        ),
        Spec(
            "obesity",
            "obesity, morbid obesity (§8, §10)",
            (Rows(DVT, "condition", "414916001 238136002"),),
        ),
        Spec(
            "smoker",
            "current smoker findings (§8, §12)",
            (Rows(PAD, "condition", "77176002 65568007"),),
        ),
        Spec(
            "smoking-history",
            "personal history of nicotine dependence, Z87.891 (§12 PAD risk factor)",
            (Rows(PAD, "condition", "Z87.891"),),
        ),
        Spec("hypothyroidism", "hypothyroidism (§16)", (Rows(THYROID, "condition"),)),
        Spec(
            "acute-dvt",
            "deep vein thrombosis, acute or unqualified, incl. pregnancy-related (§10, §11)",
            (
                Rows(
                    DVT,
                    "condition",
                    "128053003 404223003 132281000119108 56272000 49956009 "
                    + ACUTE_LOWER_LIMB_DVT_ICD,
                ),
            ),
        ),
        Spec(
            "pulmonary-embolism",
            "pulmonary embolism (§10, §11)",
            (
                Rows(DVT, "condition", "59282003 706870000"),
                Rows(PE, "condition", "I26.02 I26.09 I26.92 I26.93 I26.94 I26.99"),
            ),
        ),
        Spec(
            "vte-history",
            "any VTE: DVT, PE, venous thrombosis, chronic DVT, Z86.71x/Z86.72 history, "
            "post-thrombotic syndrome (§10)",
            (
                Rows(DVT, "condition", "111293003 Z86.711 Z86.718 Z86.72 I82.501 I82.502 I82.509"),
                Rows(VENOUS, "condition", "I87.009"),
            ),
            includes=("acute-dvt", "pulmonary-embolism"),
        ),
        Spec(
            "pe-symptoms",
            "dyspnoea, chest pain, haemoptysis, tachycardia (§11)",
            (
                Rows(
                    PE,
                    "condition",
                    "R06.00 R06.02 R07.1 R07.89 R07.9 R04.2 R00.0 29857009 267036007 3424008",
                ),
            ),
        ),
        Spec(
            "cancer", "malignant neoplastic disease (§10)", (Rows(DVT, "condition", "363346000"),)
        ),
        Spec("mi", "myocardial infarction (§10)", (Rows(DVT, "condition", "22298006"),)),
        Spec(
            "cesarean",
            "cesarean birth: major surgery for the Wells item, and childbirth (§22.2 i)",
        ),
        Spec(
            "stroke",
            "stroke, cerebral infarction (§10)",
            (Rows(DVT, "condition", "230690007 432504007 422504002"),),
        ),
        Spec("copd", "COPD (§10)", (Rows(DVT, "condition", "13645005 J44.9 J44.1"),)),
        Spec(
            "heart-failure",
            "heart failure (§10)",
            (Rows(DVT, "condition", "84114007 42343007"),),
        ),
        Spec(
            "paralysis",
            "paralysis, post-stroke hemiplegia (§10 Wells item)",
            (Rows(DVT, "condition", "44695005 48601000119107"),),
        ),
        Spec(
            "pad-rest-pain",
            "atherosclerosis of native leg arteries with rest pain, I70.221-3 (§12)",
            (Rows(PAD, "condition", "I70.221 I70.222 I70.223"),),
        ),
        Spec(
            "pad",
            "peripheral artery disease and claudication, incl. rest pain (§12)",
            (
                Rows(
                    PAD,
                    "condition",
                    "399957001 840580004 400047006 63491006 I73.9 "
                    "I70.211 I70.212 I70.213 I70.218 I70.219",
                ),
            ),
            includes=("pad-rest-pain",),
        ),
        Spec("hypertension", "hypertension (§12)", (Rows(PAD, "condition", "38341003 59621000"),)),
        Spec(
            "hyperlipidemia",
            "hyperlipidaemia, hypercholesterolaemia (§12)",
            (Rows(PAD, "condition", "55822004 13644009 E78.5"),),
        ),
        Spec(
            "vitamin-d-deficiency",
            "vitamin D deficiency (§15)",
            (Rows(VITAMIN_D, "condition"),),
        ),
        Spec("fibromyalgia", "fibromyalgia (§17)", (Rows(OTHER, "condition", "95417003 M79.7"),)),
        Spec(
            "parkinsons",
            "Parkinson's disease; ICD G20 matched as a category (G20, G20.A1-G20.C) (§17)",
            (Rows(OTHER, "condition", "49049000"), Rows(OTHER, "condition", "G20", "prefix")),
        ),
        Spec(
            "addisons",
            "Addison's disease, adrenocortical insufficiency (§17)",
            (Rows(OTHER, "condition", "363732003 E27.1 E27.2 E27.40"),),
        ),
        Spec(
            "sciatica-radiculopathy",
            "sciatica, lumbar/lumbosacral radiculopathy (§17)",
            (
                Rows(
                    OTHER,
                    "condition",
                    "307177001 128196005 M54.16 M54.17 M54.30 M54.31 M54.32 "
                    "M54.40 M54.41 M54.42 M51.16 M51.17",
                ),
            ),
        ),
        Spec(
            "lumbar-stenosis",
            "lumbar spinal stenosis with neurogenic claudication (§17)",
            (Rows(OTHER, "condition", "M48.062"),),
        ),
        Spec(
            "osteoarthritis",
            "osteoarthritis, knee, hip (§17; ICD leaves unverified)",
            (Rows(OTHER, "condition", "396275006 239873007 239872002"),),
        ),
        Spec(
            "bakers-cyst",
            "popliteal (Baker's) cyst (§17)",
            (Rows(OTHER, "condition", "M71.20 M71.21 M71.22"),),
        ),
        Spec(
            "tendinitis-bursitis",
            "Achilles/patellar tendinitis, knee/hip bursitis (§17)",
            (Rows(OTHER, "condition", "M76.60 M76.50 M70.50 M70.40 M70.60"),),
        ),
        Spec(
            "venous-insufficiency",
            "chronic venous insufficiency, varicose veins, post-thrombotic syndrome (§17)",
            (
                Rows(
                    VENOUS,
                    "condition",
                    "I83.811 I83.812 I83.813 I83.819 I83.90 I83.93 I87.2 I87.009",
                ),
            ),
        ),
        Spec("lymphedema", "lymphoedema (§17)", (Rows(VENOUS, "condition", "234097001"),)),
    ),
)

PROCEDURES = Group(
    "Procedures (SNOMED CT, ICD-10-PCS)",
    (
        Spec("delivery", "delivery procedures (§10 postpartum)", (Rows(DVT, "delivery"),)),
        Spec(
            "hip-knee-surgery",
            "hip/knee replacement and hip fracture surgery (§10)",
            (Rows(DVT, "hip-knee-surgery"),),
        ),
        Spec(
            "major-surgery",
            "major surgery for Wells (§10), incl. every hip-knee-surgery code",
            (Rows(DVT, "major-surgery"),),
            includes=("hip-knee-surgery",),
        ),
    ),
)

VALUESETS: tuple[Group, ...] = (MEDICATIONS, LABS, ORDERS, CONDITIONS, PROCEDURES)

# Decisions a reader of VALUESETS.md needs; kept here so the file is generated whole.
NOTES = """\
## Notes

- **Matching.** Every row is an exact (system, code) match except `match = prefix` rows:
  ICD-10-CM categories the catalog says to match by prefix. The only one is Parkinson's `G20`
  (§1.2, §17: FY2024 split it into G20.A1-G20.C). The other ICD-10-CM rows stay exact leaves:
  no other verified code is a category whose children the catalog wants. ICD-10-CM is compared
  case-insensitively, with or without the dot. A FHIR server's token search is exact, so a
  prefetch query built from `codes` finds `G20` but not `G20.A1`.
- **Medication value sets hold ingredient RxCUIs.** Products (SCD/SBD) reach them through
  `data/products.tsv`. Some ingredients have no verified RxCUI: chlorothiazide (UNVERIFIED,
  §20), and loxapine, pimozide, perphenazine, molindone, iloperidone, asenapine, brexpiprazole,
  cariprazine and aripiprazole lauroxil (VSAC Antipsychotic products; the ingredients are not in
  codes.tsv). For these the verified product codes stand in. They are listed in the value set,
  and a product match carries the product's own code among `MedicationMatch.ingredients`.
- **Pimavanserin products** (VSAC Antipsychotic) are not in `antipsychotics`. Pimavanserin is a
  5-HT2A inverse agonist without dopamine blockade, and §7 is about dopamine-blocking drugs.
  Its products are still in products.tsv. Wants clinician review.
- **Combination products** map to every ingredient named in them. Ingredients without a
  verified RxCUI are kept by name only: the potassium-sparing partners amiloride,
  spironolactone and triamterene, and the ACE inhibitors, ARBs, beta blockers and ezetimibe.
  So "hydrochlorothiazide / triamterene" is in `thiazide-diuretics`, and its `names` show
  the triamterene (§1.5: potassium-sparing agents blunt hypokalaemia).
- **cyp3a4-sensitive-statins** (simvastatin, lovastatin) is a subset of `statins`: the two
  whose labels contraindicate the `strong-cyp3a4-inhibitors`; with the other statins those
  drugs are only `statin-interacting-drugs`.
- **strong-cyp3a4-inhibitors** holds all seven named drugs. Erythromycin is a *moderate*
  CYP3A4 inhibitor in the FDA DDI table. But the simvastatin and lovastatin labels (FDA Drug
  Safety Communication 2011, cited in §4) contraindicate it alongside the strong inhibitors,
  and that contraindication is what this set is for. Fluconazole, diltiazem, verapamil,
  amlodipine, amiodarone, dronedarone and ranolazine are moderate or weak (dose limits): they
  are only in `statin-interacting-drugs`.
- **No `statin-allergens`.** codes.tsv holds no VSAC Statin Allergen
  (2.16.840.1.113762.1.4.1110.42) rows. A statin AllergyIntolerance is therefore matched by
  the `statins` ingredient codes, or by a statin product through products.tsv.
- **Left out on purpose.** 1755008 "Old myocardial infarction" is not in `mi`: §10 asks for an
  MI within 90 days. 111293003 "Venous thrombosis" is in `vte-history` but not `acute-dvt`,
  because it covers any vein, not only the deep leg veins. `alcohol-use-disorder` has only
  F10.20: the F10.1x/F10.2x categories are not in codes.tsv.
- **Broader than the name.** `hypomagnesemia` includes 60853003 "Disorder of magnesium
  metabolism" (listed in §3), which also covers hypermagnesaemia. `vte-history` includes
  Z86.72 "Personal history of thrombophlebitis" (listed in §10). `anemia` and
  `iron-deficiency` include D50.1 "Sideropenic dysphagia", an iron-deficiency anaemia
  (codes.tsv, VSAC Anemia).
- **Supersets.** `major-surgery` ⊇ `hip-knee-surgery`; `ckd` ⊇ `esrd`; `ckd-stage-5` ⊇
  `esrd`; `pad` ⊇ `pad-rest-pain`; `diabetes` ⊇ `diabetic-neuropathy`;
  `peripheral-neuropathy-any` ⊇ diabetic, alcoholic and drug-induced neuropathy;
  `vte-history` ⊇ `acute-dvt` ∪ `pulmonary-embolism`; `leg-complaint` ⊇ `leg-cramp-complaint`;
  `statins` ⊇ `cyp3a4-sensitive-statins`.
- **Text matching aliases** (misspellings and brand names seen in Synthea) live in
  `cds/terminology/aliases.py`: they are matching rules, not codes.
- **Release 2026.12 (§22.1).** Every codes.tsv role that names a value set is added to it
  whole, so the sets now hold the codes real records use: glucose 2339-0, creatinine 38483-4
  and calcium 49765-1 "in Blood", normal pregnancy 72892002, BMI 30+ obesity 162864005, chronic
  congestive heart failure 88805009, CKD stage 2 431856006, idiopathic atrophic hypothyroidism
  83664006, smokes tobacco daily 449868002, alcoholism 7200002, chronic obstructive bronchitis
  185086009, emphysema 87433001 and the colon and prostate malignancies (363406005, 109838007,
  314994000) are all matched; diabetic renal disease 127013003 is in `diabetes`. Still in no
  set: chronic paralysis due to spinal cord lesion 698754002 (not verified in codes.tsv).
  Release 2026.11 (the sets before §22) is kept as it was, for the rule versions that read it.
  SNOMED descendants are not expanded, because no hierarchy ships with the service.
"""


# ---------------------------------------------------------------------------------------------
# codes.tsv


@dataclass(frozen=True)
class CodeRow:
    rule: str
    role: str
    system: str
    code: str
    display: str
    source: str


class BuildError(Exception):
    """The spec and codes.tsv disagree; nothing is written."""


def read_codes(path: Path) -> list[CodeRow]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t")
        header = tuple(next(reader))
        if header != CODES_HEADER:
            raise BuildError(f"{path}: unexpected header {header}")
        rows = []
        for line_no, fields in enumerate(reader, start=2):
            if len(fields) != len(CODES_HEADER) or any(f != f.strip() or not f for f in fields):
                raise BuildError(f"{path}:{line_no}: malformed row {fields}")
            row = CodeRow(*fields)
            # codes.tsv is the verified list: a §20 code in it is a contradiction, so stop here
            # before it can reach a value set or the product-ingredient map.
            if is_unverified(row):
                raise BuildError(f"{path}:{line_no}: {row.code} is UNVERIFIED (§20)")
            rows.append(row)
    return rows


def is_unverified(row: CodeRow) -> bool:
    if row.code in UNVERIFIED_CODES:
        return True
    return row.system == ICD10CM and row.code.startswith(UNVERIFIED_ICD_CATEGORIES)


# ---------------------------------------------------------------------------------------------
# Products -> ingredients

# Words that name a salt or ester form in RxNorm product names; the ingredient is the base.
# ("aripiprazole lauroxil" keeps its ester word: RxNorm has it as its own ingredient.)
SALT_WORDS = frozenset(
    {
        "calcium",
        "cilexetil",
        "decanoate",
        "fumarate",
        "hydrochloride",
        "magnesium",
        "maleate",
        "medoxomil",
        "palmitate",
        "potassium",
        "sodium",
        "succinate",
        "sulfate",
        "tartrate",
    }
)
# Tokens before the ingredient name: quantities ("10 ML", "24 HR", "200 ACTUAT"), NDA/BLA ids of
# branded packs, and the "Sensor" device prefix of aripiprazole with sensor.
LEADING_TOKEN = re.compile(r"^(?:\d+(?:\.\d+)?|ML|HR|ACTUAT|(?:A?NDA|BLA)\d+|Sensor)$")
BRAND_SUFFIX = re.compile(r"\s*\[[^\]]*\]")
PACK_ITEM = re.compile(r"\(([^()]*)\)")


@dataclass(frozen=True)
class ProductIngredient:
    code: str  # "" when the ingredient's RxCUI is not a verified codes.tsv ingredient
    name: str


@dataclass
class Product:
    row: CodeRow
    ingredients: list[ProductIngredient] = field(default_factory=list)


def component_phrases(display: str) -> list[str]:
    """Ingredient phrases of an RxNorm SCD/SBD/pack name, e.g. "amiloride hydrochloride"."""
    display = BRAND_SUFFIX.sub("", display)
    if display.startswith("{"):  # pack: {2 (iloperidone 1 MG Oral Tablet) / ...} Pack
        return [p for item in PACK_ITEM.findall(display) for p in component_phrases(item)]
    phrases = []
    for component in display.split(" / "):
        tokens = component.split()
        while tokens and LEADING_TOKEN.match(tokens[0]):
            tokens.pop(0)
        words = []
        for token in tokens:
            if token[0].isdigit():
                break
            words.append(token.lower())
        if words:
            phrases.append(" ".join(words))
    return phrases


def resolve_ingredient(phrase: str, verified: dict[str, CodeRow]) -> ProductIngredient:
    """The verified ingredient a phrase names (salt words dropped), else its base name only."""
    words = phrase.split()
    while True:
        name = " ".join(words)
        if name in verified:
            return ProductIngredient(verified[name].code, name)
        if len(words) > 1 and words[-1] in SALT_WORDS:
            words = words[:-1]
            continue
        return ProductIngredient("", name)


def derive_products(rows: Sequence[CodeRow]) -> dict[str, Product]:
    verified = {r.display.lower(): r for r in rows if r.role in MEDICATION_ROLES}
    products: dict[str, Product] = {}
    for row in rows:
        if row.role != "med-product":
            continue
        if row.code in products:
            if products[row.code].row.display != row.display:
                raise BuildError(f"product {row.code} has two displays")
            continue
        product = Product(row)
        for phrase in component_phrases(row.display):
            ingredient = resolve_ingredient(phrase, verified)
            if ingredient not in product.ingredients:
                product.ingredients.append(ingredient)
        if not product.ingredients:
            raise BuildError(f"product {row.code} {row.display!r}: no ingredient found")
        products[row.code] = product
    return products


# ---------------------------------------------------------------------------------------------
# Value sets


@dataclass(frozen=True)
class Entry:
    system: str
    code: str
    display: str
    source: str
    match: str


def build_valuesets(
    rows: Sequence[CodeRow], products: dict[str, Product]
) -> dict[str, list[Entry]]:
    by_rule_role: dict[tuple[str, str], list[CodeRow]] = {}
    for row in rows:
        by_rule_role.setdefault((row.rule, row.role), []).append(row)

    whole_roles: dict[str, list[CodeRow]] = {}
    for row in rows:
        if row.role not in PICKED_ROLES:
            whole_roles.setdefault(row.role, []).append(row)
    named = {spec.name for group in VALUESETS for spec in group.specs}
    unwired = sorted(set(whole_roles) - named)
    if unwired:
        raise BuildError(f"codes.tsv roles that name no value set: {', '.join(unwired)}")

    built: dict[str, list[Entry]] = {}
    for group in VALUESETS:
        for spec in group.specs:
            if spec.name in built:
                raise BuildError(f"value set {spec.name} defined twice")
            if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", spec.name):
                raise BuildError(f"value set name {spec.name!r} is not kebab-case")
            entries: dict[tuple[str, str], Entry] = {}

            def add(entry: Entry, entries: dict[tuple[str, str], Entry] = entries) -> None:
                entries.setdefault((entry.system, entry.code), entry)

            for pick in spec.rows:
                for row in pick_rows(pick, by_rule_role):
                    if pick.match == "prefix" and row.system != ICD10CM:
                        raise BuildError(f"{spec.name}: prefix match only for ICD-10-CM")
                    add(Entry(row.system, row.code, row.display, row.source, pick.match))
            # §22.1: the role named like the set, whole (before the includes, so a set that
            # includes this one sees it whole too).
            for row in whole_roles.get(spec.name, ()):
                add(Entry(row.system, row.code, row.display, row.source, "exact"))
            for included in spec.includes:
                if included not in built:
                    raise BuildError(f"{spec.name}: include {included} must be defined earlier")
                for entry in built[included]:
                    add(entry)
            for name in spec.uncoded_ingredients:
                standing_in = [
                    p for p in products.values() if ProductIngredient("", name) in p.ingredients
                ]
                if not standing_in:
                    raise BuildError(f"{spec.name}: no verified product contains {name!r}")
                for product in standing_in:
                    row = product.row
                    add(Entry(row.system, row.code, row.display, row.source, "exact"))
            if not entries:
                raise BuildError(f"{spec.name}: empty")
            built[spec.name] = sorted(entries.values(), key=lambda e: (e.system, e.code))
    check_coverage(rows, built)
    return built


def pick_rows(pick: Rows, by_rule_role: dict[tuple[str, str], list[CodeRow]]) -> list[CodeRow]:
    candidates = by_rule_role.get((pick.rule, pick.role))
    if not candidates:
        raise BuildError(f"codes.tsv has no rows for rule {pick.rule!r} role {pick.role!r}")
    if not pick.codes:
        return candidates
    picked = []
    for code in pick.codes.split():
        matches = [r for r in candidates if r.code == code]
        if not matches:
            raise BuildError(f"{code} is not in codes.tsv under {pick.rule} / {pick.role}")
        picked.append(matches[0])
    return picked


def check_coverage(rows: Sequence[CodeRow], built: dict[str, list[Entry]]) -> None:
    """Every verified ingredient must reach a medication value set (the runtime learns the
    ingredient names from them), and every orderable must be in `orderables`."""
    listed = {(e.system, e.code) for entries in built.values() for e in entries}
    for row in rows:
        if row.role in MEDICATION_ROLES and (row.system, row.code) not in listed:
            raise BuildError(f"ingredient {row.code} {row.display} is in no value set")
    orderables = {(e.system, e.code) for e in built["orderables"]}
    for row in rows:
        if row.role == "order" and (row.system, row.code) not in orderables:
            raise BuildError(f"order row {row.code} missing from orderables")


# ---------------------------------------------------------------------------------------------
# Output


def tsv(header: Sequence[str], records: Iterable[Sequence[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(records)
    return buffer.getvalue()


def valuesets_tsv(built: dict[str, list[Entry]]) -> str:
    return tsv(
        VALUESETS_HEADER,
        (
            (name, e.system, e.code, e.display, e.source, e.match)
            for name in sorted(built)
            for e in built[name]
        ),
    )


def products_tsv(products: dict[str, Product]) -> str:
    records = sorted(
        (
            (code, p.row.display, i.code, i.name, p.row.source)
            for code, p in products.items()
            for i in p.ingredients
        ),
        key=lambda r: (int(r[0]), r[3]),
    )
    return tsv(PRODUCTS_HEADER, records)


def valuesets_md(built: dict[str, list[Entry]]) -> str:
    lines = [
        "# Value sets",
        "",
        "Generated by `tools/build_valuesets.py` from `../shared/clinical-codes/codes.tsv`; "
        "do not edit by hand.",
        "These names are a contract: rules and facts ask for them by name "
        "(`Terminology.valueset(name)`).",
        f"Terminology release {RELEASE}. Codes, displays and sources are in "
        f"`data/{RELEASE}/valuesets.tsv`; product-to-ingredient maps in "
        f"`data/{RELEASE}/products.tsv`.",
        "",
    ]
    for group in VALUESETS:
        lines += [f"## {group.title}", ""]
        for spec in group.specs:
            lines.append(f"- `{spec.name}` ({len(built[spec.name])}): {spec.meaning}")
        lines.append("")
    return "\n".join(lines) + NOTES


def report(
    rows: Sequence[CodeRow], built: dict[str, list[Entry]], products: dict[str, Product]
) -> str:
    """What a developer should look at after a build (printed, not written)."""
    listed = {(e.system, e.code) for entries in built.values() for e in entries}
    unused = [r for r in rows if r.role != "med-product" and (r.system, r.code) not in listed]
    uncoded: dict[str, list[str]] = {}
    for code, product in products.items():
        for ingredient in product.ingredients:
            if not ingredient.code:
                uncoded.setdefault(ingredient.name, []).append(code)
    outside = [
        f"{code} {p.row.display}"
        for code, p in sorted(products.items())
        if (RXNORM, code) not in listed and not any(i.code for i in p.ingredients)
    ]
    out = [
        f"{len(built)} value sets, {sum(len(v) for v in built.values())} rows; "
        f"{len(products)} products",
        "codes.tsv rows (other than products) in no value set:",
        *(f"  {r.rule} / {r.role}: {r.code} {r.display}" for r in unused),
        "product ingredients without a verified RxCUI (recorded by name only):",
        *(f"  {name}: {len(codes)} product(s)" for name, codes in sorted(uncoded.items())),
        "products in no medication value set (no verified ingredient, not a stand-in):",
        *(f"  {line}" for line in outside),
    ]
    return "\n".join(out)


def build(codes_path: Path) -> tuple[dict[str, str], str]:
    rows = read_codes(codes_path)
    products = derive_products(rows)
    built = build_valuesets(rows, products)
    files = {
        f"data/{RELEASE}/valuesets.tsv": valuesets_tsv(built),
        f"data/{RELEASE}/products.tsv": products_tsv(products),
        "VALUESETS.md": valuesets_md(built),
    }
    return files, report(rows, built, products)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codes", type=Path, default=DEFAULT_CODES, help="codes.tsv to read")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT, help="cds/terminology")
    parser.add_argument("--check", action="store_true", help="fail if the files would change")
    args = parser.parse_args(argv)
    try:
        files, summary = build(args.codes)
    except BuildError as error:
        print(f"build_valuesets: FAILED: {error}", file=sys.stderr)
        return 1
    stale = []
    for relative, text in files.items():
        path = args.out_dir / relative
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(relative)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    print(summary)
    if args.check and stale:
        print(f"build_valuesets: out of date: {', '.join(stale)}", file=sys.stderr)
        return 1
    print("written: " + (", ".join(stale) if stale else "nothing (up to date)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

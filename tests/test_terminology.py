"""The terminology: value sets built only from verified codes, and medication matching.

Real data, no mocks: the shared verified code list, the Synthea code inventory and the packaged
data files the service loads.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
from dataclasses import FrozenInstanceError
from pathlib import Path
from typing import Any

import pytest

from cds.terminology import (
    ICD10CM,
    LOINC,
    RXNORM,
    SNOMED,
    MedicationMatch,
    Terminology,
    latest_release,
)
from cds.terminology.aliases import MEDICATION_TEXT_ALIASES
from tests.support.paths import CODES_TSV, REPO, SYNTHEA_INVENTORY

BUILD_SCRIPT = REPO / "tools" / "build_valuesets.py"
TERMINOLOGY_DIR = REPO / "cds" / "terminology"
RELEASE = latest_release()
GENERATED = (f"data/{RELEASE}/valuesets.tsv", f"data/{RELEASE}/products.tsv", "VALUESETS.md")

# clinical-content.md §20 "UNVERIFIED items": candidate codes that must not ship.
UNVERIFIED = {
    "77194-9",  # ABI observation, LOINC
    "446841001",  # ABI observation, SNOMED
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
    "M48.061",  # lumbar stenosis, ICD-10-CM
    "2396",  # chlorothiazide
    "1424884",  # vilanterol
    "1546356",  # olodaterol
    "1114325",  # indacaterol
    "342369",  # lenalidomide
}
UNVERIFIED_ICD_CATEGORIES = ("M16", "M17")  # §20: knee/hip osteoarthritis leaves


def words(text: str) -> list[str]:
    return text.split()


# The names other code is written against (a contract); all have verified codes.
CONTRACT_NAMES = words(
    """
loop-diuretics thiazide-diuretics potassium-supplements magnesium-supplements statins
statin-interacting-drugs strong-cyp3a4-inhibitors statin-fibrate-cyclosporine beta2-agonists
neurotoxic-chemotherapy antipsychotics antidopaminergic-antiemetics serotonergic-antidepressants
sedating-antihistamines iron-supplements dopamine-agonists gabapentinoids estrogens anticoagulants
vitamin-d-supplements levothyroxine quinine
potassium magnesium sodium calcium-total calcium-corrected calcium-ionized albumin creatine-kinase
creatinine egfr tsh free-t4 vitamin-d-25oh ferritin iron tibc transferrin-saturation transferrin
hemoglobin bmi hba1c glucose vitamin-b12 folate d-dimer heart-rate respiratory-rate
oxygen-saturation smoking-status pregnancy-status gestational-age
orderables
hypokalemia hypomagnesemia hyponatremia hypernatremia hypocalcemia hypercalcemia dehydration
leg-cramp-complaint restless-legs leg-swelling unilateral-leg-swelling akathisia sams-myopathy
rhabdomyolysis drug-induced-neuropathy peripheral-neuropathy-any diabetic-neuropathy diabetes
alcohol-use-disorder alcoholic-neuropathy chemo-history iron-deficiency anemia pregnancy ckd
ckd-stage-1 ckd-stage-2 ckd-stage-3 ckd-stage-4 ckd-stage-5 esrd dialysis obesity smoker
hypothyroidism vte-history acute-dvt pulmonary-embolism pe-symptoms cancer mi stroke copd
heart-failure paralysis pad pad-rest-pain hypertension hyperlipidemia vitamin-d-deficiency
fibromyalgia parkinsons addisons sciatica-radiculopathy lumbar-stenosis osteoarthritis
bakers-cyst tendinitis-bursitis venous-insufficiency lymphedema delivery hip-knee-surgery
major-surgery leg-complaint
"""
)


@pytest.fixture(scope="module")
def terminology() -> Terminology:
    return Terminology.load(latest_release())


@pytest.fixture(scope="module")
def codes_rows() -> list[dict[str, str]]:
    with CODES_TSV.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def read_products() -> list[dict[str, str]]:
    path = TERMINOLOGY_DIR / "data" / RELEASE / "products.tsv"
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def rx(*codes: str, display: str | None = None, text: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {
        "coding": [{"system": RXNORM, "code": c, "display": display} for c in codes]
    }
    if text is not None:
        concept["text"] = text
    return concept


# ---------------------------------------------------------------------------------------------
# (a) every code is verified, with its source


def test_every_valueset_code_is_in_codes_tsv_with_same_system_display_and_source(
    terminology: Terminology, codes_rows: list[dict[str, str]]
) -> None:
    verified = {
        (r["system"], r["code"], r["display"], r["source (repo: path, or URL)"]) for r in codes_rows
    }
    for name in terminology.valueset_names:
        for entry in terminology.valueset(name).entries:
            assert (entry.system, entry.code, entry.display, entry.source) in verified, (
                name,
                entry,
            )


def test_every_product_and_ingredient_in_products_tsv_is_verified(
    codes_rows: list[dict[str, str]],
) -> None:
    products = {
        r["code"]: r for r in codes_rows if r["role"] == "med-product" and r["system"] == RXNORM
    }
    ingredients = {
        r["code"]: r["display"].lower()
        for r in codes_rows
        if r["role"] in ("med-ingredient", "med-interacting", "med-context")
    }
    rows = read_products()
    assert {r["product_code"] for r in rows} == set(products)  # every verified product, once
    for row in rows:
        verified = products[row["product_code"]]
        assert row["product_display"] == verified["display"]
        assert row["source"] == verified["source (repo: path, or URL)"]
        if row["ingredient_code"]:
            assert ingredients[row["ingredient_code"]] == row["ingredient_name"], row
        else:  # recorded by name only: never a name we hold a verified code for
            assert row["ingredient_name"] not in ingredients.values(), row


# ---------------------------------------------------------------------------------------------
# (b) nothing UNVERIFIED


def test_no_unverified_code_is_shipped(terminology: Terminology) -> None:
    shipped = {
        (e.system, e.code)
        for name in terminology.valueset_names
        for e in terminology.valueset(name).entries
    }
    shipped |= {(RXNORM, r["product_code"]) for r in read_products()}
    shipped |= {(RXNORM, r["ingredient_code"]) for r in read_products() if r["ingredient_code"]}
    for system, code in shipped:
        assert code not in UNVERIFIED, code
        assert not (system == ICD10CM and code.startswith(UNVERIFIED_ICD_CATEGORIES)), code


# ---------------------------------------------------------------------------------------------
# (c) the build script regenerates the packaged files exactly


def run_build(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_build_script_regenerates_identical_files(tmp_path: Path) -> None:
    result = run_build("--out-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    for relative in GENERATED:
        assert (tmp_path / relative).read_bytes() == (TERMINOLOGY_DIR / relative).read_bytes(), (
            f"{relative} drifted: run tools/build_valuesets.py"
        )
    assert run_build("--check").returncode == 0


def test_build_fails_loudly_when_a_grouped_code_is_not_in_codes_tsv(tmp_path: Path) -> None:
    lines = CODES_TSV.read_text(encoding="utf-8").splitlines(keepends=True)
    without_furosemide = [line for line in lines if "\t4603\t" not in line]
    codes = tmp_path / "codes.tsv"
    codes.write_text("".join(without_furosemide), encoding="utf-8")
    result = run_build("--codes", str(codes), "--out-dir", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "4603 is not in codes.tsv" in result.stderr
    assert not (tmp_path / "out").exists()  # nothing written on failure


def test_build_refuses_an_unverified_code_even_if_codes_tsv_had_it(tmp_path: Path) -> None:
    codes = tmp_path / "codes.tsv"
    shutil.copy(CODES_TSV, codes)
    with codes.open("a", encoding="utf-8") as handle:  # "every statin row" would pick it up
        handle.write(
            f"statin-muscle-symptoms\tmed-ingredient\t{RXNORM}\t2396\tchlorothiazide\tmemory\n"
        )
    result = run_build("--codes", str(codes), "--out-dir", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "UNVERIFIED" in result.stderr


# ---------------------------------------------------------------------------------------------
# The value set contract


def test_contract_names_all_exist_and_are_non_empty(terminology: Terminology) -> None:
    missing = set(CONTRACT_NAMES) - set(terminology.valueset_names)
    assert not missing
    for name in terminology.valueset_names:
        assert terminology.valueset(name).entries, name
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name)


def test_valuesets_md_lists_every_name_once(terminology: Terminology) -> None:
    text = (TERMINOLOGY_DIR / "VALUESETS.md").read_text(encoding="utf-8")
    listed = re.findall(r"^- `([a-z0-9-]+)` \(\d+\): ", text, flags=re.MULTILINE)
    assert sorted(listed) == list(terminology.valueset_names)


def test_unknown_valueset_is_a_clear_key_error(terminology: Terminology) -> None:
    with pytest.raises(KeyError, match="unknown value set 'no-such-set'"):
        terminology.valueset("no-such-set")


def test_terminology_and_valuesets_are_immutable(terminology: Terminology) -> None:
    vs = terminology.valueset("statins")
    with pytest.raises(FrozenInstanceError):
        vs.name = "other"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        terminology._valuesets = {}  # type: ignore[misc]
    with pytest.raises(TypeError):
        terminology._valuesets["statins"] = vs  # type: ignore[index]


def codes_of(terminology: Terminology, name: str) -> set[tuple[str, str]]:
    return set(terminology.valueset(name).codes)


def test_supersets_the_catalog_asks_for(terminology: Terminology) -> None:
    def of(name: str) -> set[tuple[str, str]]:
        return codes_of(terminology, name)

    assert of("hip-knee-surgery") < of("major-surgery")  # §10
    assert of("pad-rest-pain") < of("pad")
    assert of("esrd") < of("ckd")
    assert of("esrd") < of("ckd-stage-5")
    assert of("acute-dvt") | of("pulmonary-embolism") < of("vte-history")
    assert of("unilateral-leg-swelling") < of("leg-swelling")
    assert of("strong-cyp3a4-inhibitors") < of("statin-interacting-drugs")
    assert of("statin-fibrate-cyclosporine") < of("statin-interacting-drugs")


def test_leg_complaint_is_exactly_the_section_1_6_list(terminology: Terminology) -> None:
    icd = words(
        "R25.2 G47.62 R29.0 M79.604 M79.605 M79.606 M79.661 M79.662 M79.669 "
        "G25.81 R22.41 R22.42 R22.43 R60.0"
    )
    expected = {(ICD10CM, c) for c in icd} | {(SNOMED, "32914008")}
    assert codes_of(terminology, "leg-complaint") == expected


def test_thiazides_exclude_potassium_sparing_and_include_chlorothiazide_products(
    terminology: Terminology,
) -> None:
    thiazides = terminology.valueset("thiazide-diuretics")
    for chlorothiazide_scd in ("197475", "197476", "309198"):  # §2: verified SCDs
        assert thiazides.contains(RXNORM, chlorothiazide_scd)
    for name in ("spironolactone", "amiloride", "triamterene", "eplerenone"):
        assert all(name not in e.display.lower() for e in thiazides.entries if e.code.isdigit())


def test_orderables_hold_every_order_row_and_the_named_lab_suggestions(
    terminology: Terminology, codes_rows: list[dict[str, str]]
) -> None:
    orderables = codes_of(terminology, "orderables")
    assert {(r["system"], r["code"]) for r in codes_rows if r["role"] == "order"} <= orderables
    for suggested in ("2157-6", "3016-3", "3024-7", "62292-8"):  # CK, TSH, free T4, 25-OH D
        assert (LOINC, suggested) in orderables


def test_prefix_rows_are_only_icd10cm_categories(terminology: Terminology) -> None:
    prefixes = [
        (name, e.system, e.code)
        for name in terminology.valueset_names
        for e in terminology.valueset(name).entries
        if e.match == "prefix"
    ]
    assert prefixes == [("parkinsons", ICD10CM, "G20")]


# ---------------------------------------------------------------------------------------------
# (d) matching: codes


def test_icd10cm_matches_with_or_without_dot_and_any_case(terminology: Terminology) -> None:
    hypokalemia = terminology.valueset("hypokalemia")
    for code in ("E87.6", "E876", "e87.6", " E87.6 "):
        assert hypokalemia.contains(ICD10CM, code), code
    assert not hypokalemia.contains(ICD10CM, "E87")  # exact leaf: no category match
    assert not hypokalemia.contains(SNOMED, "E87.6")  # the system matters


def test_prefix_match_covers_the_fy2024_parkinsons_split(terminology: Terminology) -> None:
    parkinsons = terminology.valueset("parkinsons")
    for code in ("G20", "G20.A1", "g20.a2", "G20B1", "G20.C"):
        assert parkinsons.contains(ICD10CM, code), code
    for code in ("G2", "G21", "G21.0", "G25.81"):
        assert not parkinsons.contains(ICD10CM, code), code
    assert parkinsons.contains(SNOMED, "49049000")
    assert not parkinsons.contains(SNOMED, "490490001")  # SNOMED is never prefix-matched


def test_exact_leaves_do_not_match_their_children_or_parents(terminology: Terminology) -> None:
    rest_pain = terminology.valueset("pad-rest-pain")
    assert rest_pain.contains(ICD10CM, "I70.221")
    assert not rest_pain.contains(ICD10CM, "I70.22")
    assert not rest_pain.contains(ICD10CM, "I70.2")


def test_match_returns_the_first_matching_coding_as_given(terminology: Terminology) -> None:
    other = {"system": SNOMED, "code": "38341003"}
    wanted = {"system": ICD10CM, "code": "G2581", "display": "RLS"}
    assert terminology.valueset("restless-legs").match([other, wanted]) is wanted
    assert terminology.valueset("restless-legs").match([other]) is None
    assert terminology.valueset("restless-legs").match([]) is None


def test_match_skips_malformed_codings(terminology: Terminology) -> None:
    vs = terminology.valueset("restless-legs")
    junk: list[Any] = [None, "G25.81", {"system": ICD10CM}, {"code": "G25.81"}, {"code": 5}]
    assert vs.match(junk) is None
    assert vs.match([*junk, {"system": ICD10CM, "code": "G25.81"}]) is not None


def test_oid_system_names_the_same_code_system(terminology: Terminology) -> None:
    assert terminology.valueset("hypokalemia").contains("urn:oid:2.16.840.1.113883.6.90", "E87.6")


def test_codes_and_entries_expose_what_prefetch_and_cards_need(terminology: Terminology) -> None:
    potassium = terminology.valueset("potassium")
    assert (LOINC, "2823-3") in potassium.codes
    entry = next(e for e in potassium.entries if e.code == "2823-3")
    assert entry.display == "Potassium [Moles/volume] in Serum or Plasma"
    assert "PotassiumLabTest" in entry.source
    assert entry.match == "exact"


def test_synthea_codes_that_rules_depend_on_are_matched(terminology: Terminology) -> None:
    assert terminology.valueset("diabetic-neuropathy").contains(SNOMED, "368581000119106")
    assert terminology.valueset("diabetes").contains(SNOMED, "368581000119106")
    assert terminology.valueset("ckd-stage-1").contains(SNOMED, "431855005")
    assert terminology.valueset("hip-knee-surgery").contains(SNOMED, "609588000")
    assert terminology.valueset("major-surgery").contains(SNOMED, "609588000")
    assert terminology.valueset("delivery").contains(SNOMED, "66348005")
    assert terminology.valueset("potassium").contains(LOINC, "6298-4")
    assert terminology.valueset("egfr").contains(LOINC, "33914-3")


# ---------------------------------------------------------------------------------------------
# (d) matching: medications


def test_ingredient_code_matches_first(terminology: Terminology) -> None:
    # Synthea's hypertension module prescribes the ingredient itself (§1.2).
    match = terminology.medication_ingredients(rx("5487", text="Lasix"))
    assert match == MedicationMatch(
        frozenset({"5487"}), ("hydrochlorothiazide",), "ingredient", False
    )
    assert terminology.medication_in(match, "thiazide-diuretics")
    assert not terminology.medication_in(match, "loop-diuretics")


@pytest.mark.parametrize(
    ("product", "ingredients", "valueset"),
    [
        ("312961", {"36567"}, "statins"),  # Synthea "Simvastatin 20 MG Oral Tablet"
        ("259255", {"83367"}, "statins"),  # Synthea "Atorvastatin 80 MG Oral Tablet"
        ("310798", {"5487"}, "thiazide-diuretics"),  # hydrochlorothiazide 25 MG Oral Tablet
        ("1719286", {"4603"}, "loop-diuretics"),  # Synthea "10 ML Furosemide 10 MG/ML Injection"
        ("1736776", {"32592"}, "neurotoxic-chemotherapy"),  # Synthea oxaliplatin
        ("745752", {"435"}, "beta2-agonists"),  # ProAir (SBD)
    ],
)
def test_product_code_maps_to_its_ingredients(
    terminology: Terminology, product: str, ingredients: set[str], valueset: str
) -> None:
    match = terminology.medication_ingredients(rx(product))
    assert match is not None
    assert match.how == "product"
    assert not match.low_confidence
    assert match.ingredients == ingredients
    assert terminology.valueset(valueset).contains_ingredient(match)


def test_combination_product_maps_to_every_ingredient(terminology: Terminology) -> None:
    amlodipine_atorvastatin = terminology.medication_ingredients(rx("404011"))
    assert amlodipine_atorvastatin is not None
    assert amlodipine_atorvastatin.ingredients == {"17767", "83367"}
    assert amlodipine_atorvastatin.names == ("amlodipine", "atorvastatin")
    assert terminology.medication_in(amlodipine_atorvastatin, "statins")
    assert terminology.medication_in(amlodipine_atorvastatin, "statin-interacting-drugs")

    # amiloride has no verified RxCUI: kept by name; HCTZ is what makes it a thiazide.
    amiloride_hctz = terminology.medication_ingredients(rx("977883"))
    assert amiloride_hctz is not None
    assert "5487" in amiloride_hctz.ingredients
    assert amiloride_hctz.names == ("amiloride", "hydrochlorothiazide")
    assert terminology.medication_in(amiloride_hctz, "thiazide-diuretics")
    assert not terminology.medication_in(amiloride_hctz, "loop-diuretics")


def test_product_stands_in_for_an_unverified_ingredient(terminology: Terminology) -> None:
    chlorothiazide = terminology.medication_ingredients(rx("197475"))
    assert chlorothiazide is not None
    assert chlorothiazide.names == ("chlorothiazide",)
    assert terminology.medication_in(chlorothiazide, "thiazide-diuretics")

    perphenazine_amitriptyline = terminology.medication_ingredients(rx("856706"))
    assert perphenazine_amitriptyline is not None
    assert terminology.medication_in(perphenazine_amitriptyline, "antipsychotics")
    assert terminology.medication_in(perphenazine_amitriptyline, "serotonergic-antidepressants")

    pimavanserin = terminology.medication_ingredients(rx("1791691"))
    assert pimavanserin is not None  # known product, but not dopamine-blocking (see notes)
    assert not terminology.medication_in(pimavanserin, "antipsychotics")


@pytest.mark.parametrize(
    ("code", "display", "ingredient", "valueset"),
    [
        ("315971", "Lasix 40mg", "4603", "loop-diuretics"),  # brand (alias)
        ("316672", "Simvistatin 10 MG", "36567", "statins"),  # Synthea misspelling (alias)
        ("316049", "Hydrochlorothiazide 25 MG", "5487", "thiazide-diuretics"),  # SCDC code
        ("897718", "Verapamil Hydrochloride 40 MG", "11170", "statin-interacting-drugs"),
        (
            "1049630",
            "diphenhydrAMINE Hydrochloride 25 MG Oral Tablet",
            "3498",
            "sedating-antihistamines",
        ),
        ("751905", "Trinessa 28 Day Pack", "4124", "estrogens"),
    ],
)
def test_text_match_is_low_confidence(
    terminology: Terminology, code: str, display: str, ingredient: str, valueset: str
) -> None:
    match = terminology.medication_ingredients(rx(code, display=display))
    assert match is not None
    assert match.how == "text"
    assert match.low_confidence
    assert match.ingredients == {ingredient}
    assert terminology.medication_in(match, valueset)


def test_text_match_reads_concept_text_without_any_coding(terminology: Terminology) -> None:
    match = terminology.medication_ingredients({"text": "Take LASIX 40 mg each morning"})
    assert match is not None
    assert match.names == ("furosemide",)


def test_text_match_prefers_the_longest_name(terminology: Terminology) -> None:
    patch = (
        "168 HR Ethinyl Estradiol 0.00146 MG/HR / norelgestromin 0.00625 MG/HR Transdermal System"
    )
    match = terminology.medication_ingredients(rx("1534809", display=patch))
    assert match is not None
    assert match.ingredients == {"4124"}  # not estradiol 4083 as well


def test_text_match_does_not_read_a_salt_as_a_supplement(terminology: Terminology) -> None:
    assert terminology.medication_ingredients({"text": "esomeprazole magnesium 20 MG"}) is None
    pitavastatin = terminology.medication_ingredients({"text": "pitavastatin magnesium 2 MG"})
    assert pitavastatin is not None
    assert pitavastatin.names == ("pitavastatin",)
    for supplement in (
        "Magnesium Oxide 400 MG Oral Tablet",
        "calcium and magnesium",
        "250 mg magnesium",
    ):
        match = terminology.medication_ingredients({"text": supplement})
        assert match is not None
        assert match.names == ("magnesium",), supplement


@pytest.mark.parametrize(
    "concept",
    [
        {},
        {"text": "Acetaminophen 325 MG Oral Tablet"},
        {"text": "niacinamide 500 MG"},  # whole words only: not niacin
        {"text": "arformoterol"},  # not formoterol
        {"coding": "not a list", "text": 7},
        {"coding": [None, {"system": RXNORM}, {"system": RXNORM, "code": 4603}]},
        {"coding": [{"system": SNOMED, "code": "4603"}]},  # an RxCUI only counts under RxNorm
        {"coding": [{"system": RXNORM, "code": "1234", "display": "Spironolactone"}]},  # §1.5
    ],
)
def test_non_matches(terminology: Terminology, concept: dict[str, Any]) -> None:
    assert terminology.medication_ingredients(concept) is None


def test_levalbuterol_is_not_albuterol(terminology: Terminology) -> None:
    match = terminology.medication_ingredients({"text": "levalbuterol 0.63 MG/3ML"})
    assert match is not None
    assert match.names == ("levalbuterol",)


def test_aliases_point_at_verified_ingredient_names(codes_rows: list[dict[str, str]]) -> None:
    names = {
        r["display"].lower()
        for r in codes_rows
        if r["role"] in ("med-ingredient", "med-interacting", "med-context")
    }
    for alias, target in MEDICATION_TEXT_ALIASES.items():
        assert target in names, alias
        assert alias == alias.casefold()
        assert alias not in names


# ---------------------------------------------------------------------------------------------
# (e) every Synthea medication that names one of our ingredients is matched


def test_every_synthea_medication_naming_an_ingredient_is_matched(
    terminology: Terminology, codes_rows: list[dict[str, str]]
) -> None:
    ingredient_codes = {
        r["display"].lower(): r["code"]
        for r in codes_rows
        if r["role"] in ("med-ingredient", "med-interacting", "med-context")
    }
    words = {
        **ingredient_codes,
        **{a: ingredient_codes[t] for a, t in MEDICATION_TEXT_ALIASES.items()},
    }
    inventory = json.loads(SYNTHEA_INVENTORY.read_text(encoding="utf-8"))["medications"]
    checked = 0
    for medication in inventory:
        display = medication["display"].lower()
        expected = {
            code
            for word, code in words.items()
            if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", display)
        }
        if not expected:
            continue
        concept = {"coding": [{k: medication[k] for k in ("system", "code", "display")}]}
        match = terminology.medication_ingredients(concept)
        assert match is not None, medication
        assert match.ingredients & expected, (medication, match)
        checked += 1
    assert checked >= 25  # the inventory holds at least this many of our drugs

"""A deterministic synthetic patient record of any size, for benchmarks.

`synthetic_bundle(n_resources, seed=...)` returns one FHIR R4 searchset Bundle (parsed JSON: plain
dicts, lists, str, int, float) holding one Patient and `n_resources - 1` clinical resources in
roughly the mix of a long Synthea history: mostly Observations, then Encounters, Conditions,
MedicationRequests and Procedures.

What makes it a fair load for `cds.record.RecordBuilder`:

- Observations are ~70 %: vital signs (some with components, like blood pressure), laboratory
  panels and surveys. Only some of their LOINC codes are ones the rules read (potassium, sodium,
  eGFR, HbA1c, BMI, heart rate, ...); most are not (cholesterol, CBC, urea, pain score, ...),
  which is the point of selecting by code first.
- Units are mostly UCUM codes, with the human spellings real feeds carry (`mEq/L`, `mL/min`)
  and a few units no table knows; values are mostly normal with some abnormal ones; some labs
  carry a reference range and an interpretation.
- Dates fall over ten years before `as_of`, denser towards it, in the timestamp shapes seen in
  the wild (`+00:00`, `Z`, other offsets, date-only).
- Medications mix ingredient-coded RxNorm (matched by code), Synthea's product codes (matched by
  text) and drugs no value set lists.

Every code here is taken from the Synthea bundles in shared/external or from the project's
value sets (cds/terminology/data/valuesets.tsv); none is made up. The output depends only on
`n_resources`, `seed` and `as_of`: the same arguments give the same bundle, byte for byte once
serialised, on every run and Python version (it uses `random.Random(seed)` and no hash order).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

__all__ = ("SYNTHETIC_AS_OF", "synthetic_bundle")

SYNTHETIC_AS_OF = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
"""The default `as_of` the synthetic history ends at (the test suite's AS_OF)."""

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"

_HISTORY_DAYS = 3650  # ten years of history
_MEAN_DAYS_AGO = 700.0  # exponential: most results are recent, some are old


@dataclass(frozen=True, slots=True)
class _Quantity:
    """A numeric Observation: LOINC code, display, units (first is usual), normal range."""

    code: str
    display: str
    units: tuple[str, ...]
    low: float
    high: float
    category: str = "laboratory"
    digits: int = 1


# Laboratory results: first codes of the value sets the rules read (units spelled as
# cds/terminology/units.py knows them), then the Synthea panels no rule reads.
_LABS: tuple[_Quantity, ...] = (
    _Quantity("6298-4", "Potassium", ("mmol/L", "mEq/L"), 3.5, 5.1),
    _Quantity("2823-3", "Potassium [Moles/volume] in Serum or Plasma", ("mmol/L",), 3.5, 5.1),
    _Quantity("2947-0", "Sodium", ("mmol/L", "mEq/L"), 136, 145, digits=0),
    _Quantity("2951-2", "Sodium [Moles/volume] in Serum or Plasma", ("mmol/L",), 136, 145),
    _Quantity("19123-9", "Magnesium [Mass/volume] in Serum or Plasma", ("mg/dL",), 1.7, 2.2),
    _Quantity("17861-6", "Calcium [Mass/volume] in Serum or Plasma", ("mg/dL",), 8.5, 10.2),
    _Quantity("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", ("mg/dL",), 0.6, 1.2),
    _Quantity(
        "33914-3",
        "Estimated Glomerular Filtration Rate",
        ("mL/min", "mL/min/{1.73_m2}"),
        60,
        120,
        digits=0,
    ),
    _Quantity("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", ("%",), 4.0, 6.4),
    _Quantity(
        "2157-6",
        "Creatine kinase [Enzymatic activity/volume] in Serum or Plasma",
        ("U/L",),
        30,
        200,
        digits=0,
    ),
    _Quantity(
        "3016-3", "Thyrotropin [Units/volume] in Serum or Plasma", ("m[IU]/L",), 0.4, 4.0, digits=2
    ),
    _Quantity("718-7", "Hemoglobin [Mass/volume] in Blood", ("g/dL",), 12, 17.5),
    _Quantity("1751-7", "Albumin [Mass/volume] in Serum or Plasma", ("g/dL",), 3.5, 5.0),
    _Quantity("2276-4", "Ferritin [Mass/volume] in Serum or Plasma", ("ng/mL",), 30, 300, digits=0),
    # Not read by any rule (the bulk of a real record).
    _Quantity("2339-0", "Glucose", ("mg/dL",), 70, 99, digits=0),
    _Quantity("6299-2", "Urea Nitrogen", ("mg/dL",), 7, 20, digits=0),
    _Quantity("38483-4", "Creatinine", ("mg/dL",), 0.6, 1.2),
    _Quantity("49765-1", "Calcium", ("mg/dL",), 8.5, 10.2),
    _Quantity("2069-3", "Chloride", ("mmol/L",), 98, 107, digits=0),
    _Quantity("20565-8", "Carbon Dioxide", ("mmol/L",), 22, 29, digits=0),
    _Quantity("2093-3", "Total Cholesterol", ("mg/dL",), 125, 200, digits=0),
    _Quantity("2571-8", "Triglycerides", ("mg/dL",), 50, 150, digits=0),
    _Quantity("18262-6", "Low Density Lipoprotein Cholesterol", ("mg/dL",), 50, 130, digits=0),
    _Quantity("2085-9", "High Density Lipoprotein Cholesterol", ("mg/dL",), 40, 80, digits=0),
    _Quantity("14959-1", "Microalbumin Creatinine Ratio", ("mg/g",), 0, 30),
    _Quantity("2885-2", "Protein [Mass/volume] in Serum or Plasma", ("g/dL",), 6.0, 8.3),
    _Quantity("10834-0", "Globulin [Mass/volume] in Serum by calculation", ("g/L",), 20, 35),
    _Quantity("1975-2", "Bilirubin.total [Mass/volume] in Serum or Plasma", ("mg/dL",), 0.1, 1.2),
    _Quantity(
        "6768-6",
        "Alkaline phosphatase [Enzymatic activity/volume] in Serum or Plasma",
        ("U/L",),
        44,
        147,
        digits=0,
    ),
    _Quantity(
        "1742-6",
        "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
        ("U/L",),
        7,
        56,
        digits=0,
    ),
    _Quantity(
        "1920-8",
        "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
        ("U/L",),
        10,
        40,
        digits=0,
    ),
    _Quantity("787-2", "MCV [Entitic volume] by Automated count", ("fL",), 80, 100),
    _Quantity("785-6", "MCH [Entitic mass] by Automated count", ("pg",), 27, 33),
    _Quantity("786-4", "MCHC [Mass/volume] by Automated count", ("g/dL",), 32, 36),
    _Quantity("4544-3", "Hematocrit [Volume Fraction] of Blood by Automated count", ("%",), 36, 50),
    _Quantity(
        "777-3",
        "Platelets [#/volume] in Blood by Automated count",
        ("10*3/uL",),
        150,
        400,
        digits=0,
    ),
    _Quantity("6690-2", "Leukocytes [#/volume] in Blood by Automated count", ("10*3/uL",), 4, 11),
    _Quantity(
        "789-8", "Erythrocytes [#/volume] in Blood by Automated count", ("10*6/uL",), 4.2, 5.9
    ),
    _Quantity(
        "21000-5",
        "Erythrocyte distribution width [Entitic volume] by Automated count",
        ("fL",),
        39,
        46,
    ),
    _Quantity("2857-1", "Prostate specific Ag [Mass/volume] in Serum or Plasma", ("ng/mL",), 0, 4),
    _Quantity("33762-6", "NT-proBNP", ("pg/mL",), 0, 125, digits=0),
)

_VITALS: tuple[_Quantity, ...] = (
    _Quantity("8867-4", "Heart rate", ("/min", "beats/min"), 60, 100, "vital-signs", 0),
    _Quantity("9279-1", "Respiratory rate", ("/min",), 12, 20, "vital-signs", 0),
    _Quantity(
        "59408-5",
        "Oxygen saturation in Arterial blood by Pulse oximetry",
        ("%",),
        94,
        100,
        "vital-signs",
        0,
    ),
    _Quantity("39156-5", "Body Mass Index", ("kg/m2",), 19, 32, "vital-signs"),
    _Quantity("8302-2", "Body Height", ("cm",), 150, 195, "vital-signs"),
    _Quantity("29463-7", "Body Weight", ("kg",), 50, 110, "vital-signs"),
    _Quantity("8331-1", "Oral temperature", ("Cel",), 36.1, 37.4, "vital-signs"),
    _Quantity(
        "72514-3",
        "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
        ("{score}",),
        0,
        10,
        "survey",
        0,
    ),
)

# (system, code, display)
_CONDITIONS: tuple[tuple[str, str, str], ...] = (
    (SNOMED, "444814009", "Viral sinusitis (disorder)"),
    (SNOMED, "195662009", "Acute viral pharyngitis (disorder)"),
    (SNOMED, "15777000", "Prediabetes"),
    (SNOMED, "271737000", "Anemia (disorder)"),
    (SNOMED, "10509002", "Acute bronchitis (disorder)"),
    (SNOMED, "162864005", "Body mass index 30+ - obesity (finding)"),
    (SNOMED, "38341003", "Hypertension"),
    (SNOMED, "55822004", "Hyperlipidemia"),
    (SNOMED, "44054006", "Diabetes"),
    (SNOMED, "88805009", "Chronic congestive heart failure (disorder)"),
    (SNOMED, "368581000119106", "Neuropathy due to type 2 diabetes mellitus (disorder)"),
    (SNOMED, "49436004", "Atrial Fibrillation"),
    (SNOMED, "431855005", "Chronic kidney disease stage 1 (disorder)"),
    (SNOMED, "44465007", "Sprain of ankle"),
    (SNOMED, "32914008", "Restless legs"),
    (ICD10CM, "R25.2", "Cramp and spasm"),
    (ICD10CM, "M79.606", "Pain in leg, unspecified"),
    (ICD10CM, "E87.6", "Hypokalemia"),
)

# (system, code, display): ingredient-coded, Synthea product codes (text-matched), unlisted drugs.
_MEDICATIONS: tuple[tuple[str, str, str], ...] = (
    (RXNORM, "4603", "Furosemide"),
    (RXNORM, "5487", "Hydrochlorothiazide"),
    (RXNORM, "36567", "Simvastatin"),
    (RXNORM, "316672", "Simvistatin 10 MG"),
    (RXNORM, "316049", "Hydrochlorothiazide 25 MG"),
    (RXNORM, "315971", "Lasix 40mg"),
    (RXNORM, "312961", "Simvastatin 20 MG Oral Tablet"),
    (RXNORM, "855332", "Warfarin Sodium 5 MG Oral Tablet"),
    (RXNORM, "310325", "ferrous sulfate 325 MG Oral Tablet"),
    (RXNORM, "313782", "Acetaminophen 325 MG Oral Tablet"),
    (RXNORM, "562251", "Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet"),
    (RXNORM, "860975", "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet"),
    (RXNORM, "849574", "Naproxen sodium 220 MG Oral Tablet"),
    (RXNORM, "310965", "Ibuprofen 200 MG Oral Tablet"),
    (RXNORM, "309362", "Clopidogrel 75 MG Oral Tablet"),
    (RXNORM, "197361", "Amlodipine 5 MG Oral Tablet"),
)

_PROCEDURES: tuple[tuple[str, str], ...] = (
    ("428191000124101", "Documentation of current medications"),
    ("274804006", "Evaluation of uterine fundal height"),
    ("73761001", "Colonoscopy"),
    ("76601001", "Intramuscular injection"),
    ("127783003", "Spirometry (procedure)"),
    ("171207006", "Depression screening"),
    ("399208008", "Plain chest X-ray (procedure)"),
    ("117015009", "Throat culture (procedure)"),
    ("433236007", "Transthoracic echocardiography"),
    ("236973005", "Delivery procedure (procedure)"),
    ("11466000", "Cesarean section (procedure)"),
)

_ENCOUNTER_TYPES: tuple[tuple[str, str, str], ...] = (
    # (class, SNOMED type code, display)
    ("AMB", "185349003", "Encounter for check up (procedure)"),
    ("AMB", "390906007", "Follow-up encounter"),
    ("AMB", "185345009", "Encounter for symptom"),
    ("AMB", "185347001", "Encounter for problem"),
    ("EMER", "50849002", "Emergency room admission (procedure)"),
    ("IMP", "183452005", "Encounter Inpatient"),
)

# (share of the clinical resources, resource type); Observations dominate, as in Synthea.
_MIX: tuple[tuple[float, str], ...] = (
    (0.70, "Observation"),
    (0.09, "Encounter"),
    (0.08, "Condition"),
    (0.07, "MedicationRequest"),
    (0.06, "Procedure"),
)
_OFFSETS: tuple[timezone, ...] = (UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=1)))


def synthetic_bundle(
    n_resources: int, *, seed: int, as_of: datetime = SYNTHETIC_AS_OF
) -> dict[str, Any]:
    """A searchset Bundle of `n_resources` resources (one Patient, the rest clinical), as parsed
    JSON. Deterministic in (`n_resources`, `seed`, `as_of`); `as_of` must be timezone-aware."""
    if n_resources < 1:
        raise ValueError("n_resources must be at least 1 (the Patient)")
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    return _Generator(random.Random(seed), as_of).bundle(n_resources)


class _Generator:
    def __init__(self, rng: random.Random, as_of: datetime) -> None:
        self.rng = rng
        self.as_of = as_of
        self.patient_id = self.uuid()
        self.subject = {"reference": f"Patient/{self.patient_id}"}
        self.encounters: list[str] = []

    # -- helpers ---------------------------------------------------------------------------

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def pick(self, items: Sequence[Any]) -> Any:
        return items[self.rng.randrange(len(items))]

    def moment(self) -> datetime:
        days = min(self.rng.expovariate(1 / _MEAN_DAYS_AGO), _HISTORY_DAYS)
        return self.as_of - timedelta(days=days, seconds=self.rng.randrange(86_400))

    def timestamp(self, moment: datetime) -> str:
        """The shapes real feeds send: mostly `+00:00`, some `Z`, other offsets, date-only."""
        roll = self.rng.random()
        if roll < 0.70:
            return moment.astimezone(UTC).isoformat(timespec="seconds")
        if roll < 0.85:
            return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if roll < 0.97:
            return moment.astimezone(self.pick(_OFFSETS)).isoformat(timespec="seconds")
        return moment.date().isoformat()

    def link(self, resource: dict[str, Any]) -> dict[str, Any]:
        """Set `encounter` to one of the encounters made so far (if any), as Synthea does."""
        if self.encounters:
            resource["encounter"] = {"reference": f"Encounter/{self.pick(self.encounters)}"}
        return resource

    @staticmethod
    def concept(system: str, code: str, display: str) -> dict[str, Any]:
        return {"coding": [{"system": system, "code": code, "display": display}], "text": display}

    # -- resources -------------------------------------------------------------------------

    def bundle(self, n_resources: int) -> dict[str, Any]:
        resources: list[dict[str, Any]] = [self.patient()]
        kinds = [kind for _, kind in _MIX]
        weights = [share for share, _ in _MIX]
        makers = {
            "Observation": self.observation,
            "Encounter": self.encounter,
            "Condition": self.condition,
            "MedicationRequest": self.medication_request,
            "Procedure": self.procedure,
        }
        for kind in self.rng.choices(kinds, weights, k=n_resources - 1):
            resources.append(makers[kind]())
        return {
            "resourceType": "Bundle",
            "id": self.uuid(),
            "type": "searchset",
            "total": len(resources),
            "entry": [
                {
                    "fullUrl": f"urn:uuid:{r['id']}",
                    "resource": r,
                    "search": {"mode": "match"},
                }
                for r in resources
            ],
        }

    def patient(self) -> dict[str, Any]:
        born = self.as_of.date() - timedelta(days=self.rng.randrange(18 * 365, 90 * 365))
        return {
            "resourceType": "Patient",
            "id": self.patient_id,
            "meta": {
                "profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"]
            },
            "name": [{"use": "official", "family": "Synthetic", "given": ["Pat"]}],
            "gender": self.pick(("female", "male")),
            "birthDate": born.isoformat(),
        }

    def observation(self) -> dict[str, Any]:
        roll = self.rng.random()
        if roll < 0.08:
            return self.blood_pressure()
        if roll < 0.12:
            return self.smoking_status()
        spec: _Quantity = self.pick(_VITALS if roll < 0.40 else _LABS)
        moment = self.moment()
        spread = spec.high - spec.low
        # Mostly within range; about one in eight outside it, either side.
        if self.rng.random() < 0.12:
            value = self.rng.choice((spec.low - spread * 0.2, spec.high + spread * 0.3))
        else:
            value = self.rng.uniform(spec.low, spec.high)
        value = round(max(value, 0.0), spec.digits)
        unit = spec.units[0] if self.rng.random() < 0.8 else self.pick(spec.units)
        if self.rng.random() < 0.01:
            unit = "{unknown}"  # a unit no table knows: counted, never guessed
        obs: dict[str, Any] = {
            "resourceType": "Observation",
            "id": self.uuid(),
            "status": "final" if self.rng.random() < 0.97 else "preliminary",
            "category": [{"coding": [{"system": _CATEGORY, "code": spec.category}]}],
            "code": self.concept(LOINC, spec.code, spec.display),
            "subject": self.subject,
            "effectiveDateTime": self.timestamp(moment),
            "issued": moment.astimezone(UTC).isoformat(timespec="milliseconds"),
            "valueQuantity": {
                "value": int(value) if spec.digits == 0 else value,
                "unit": unit,
                "system": UCUM,
                "code": unit,
            },
        }
        if spec.category == "laboratory" and self.rng.random() < 0.4:
            obs["referenceRange"] = [
                {
                    "low": {"value": spec.low, "unit": unit, "system": UCUM, "code": unit},
                    "high": {"value": spec.high, "unit": unit, "system": UCUM, "code": unit},
                }
            ]
            flag = "L" if value < spec.low else "H" if value > spec.high else "N"
            obs["interpretation"] = [{"coding": [{"system": _INTERPRETATION, "code": flag}]}]
        return self.link(obs)

    def blood_pressure(self) -> dict[str, Any]:
        moment = self.moment()

        def component(code: str, display: str, value: int) -> dict[str, Any]:
            return {
                "code": self.concept(LOINC, code, display),
                "valueQuantity": {
                    "value": value,
                    "unit": "mm[Hg]",
                    "system": UCUM,
                    "code": "mm[Hg]",
                },
            }

        return self.link(
            {
                "resourceType": "Observation",
                "id": self.uuid(),
                "status": "final",
                "category": [{"coding": [{"system": _CATEGORY, "code": "vital-signs"}]}],
                "code": self.concept(LOINC, "55284-4", "Blood Pressure"),
                "subject": self.subject,
                "effectiveDateTime": self.timestamp(moment),
                "issued": moment.astimezone(UTC).isoformat(timespec="milliseconds"),
                "component": [
                    component("8462-4", "Diastolic Blood Pressure", self.rng.randrange(60, 100)),
                    component("8480-6", "Systolic Blood Pressure", self.rng.randrange(100, 170)),
                ],
            }
        )

    def smoking_status(self) -> dict[str, Any]:
        moment = self.moment()
        answer = self.pick(
            (
                ("266919005", "Never smoker"),
                ("8517006", "Former smoker"),
                ("449868002", "Smokes tobacco daily"),
            )
        )
        return self.link(
            {
                "resourceType": "Observation",
                "id": self.uuid(),
                "status": "final",
                "category": [{"coding": [{"system": _CATEGORY, "code": "survey"}]}],
                "code": self.concept(LOINC, "72166-2", "Tobacco smoking status NHIS"),
                "subject": self.subject,
                "effectiveDateTime": self.timestamp(moment),
                "valueCodeableConcept": self.concept(SNOMED, *answer),
            }
        )

    def encounter(self) -> dict[str, Any]:
        klass, code, display = self.pick(_ENCOUNTER_TYPES)
        start = self.moment()
        if klass == "IMP":
            length = timedelta(days=self.rng.randrange(1, 12), hours=self.rng.randrange(24))
        else:
            length = timedelta(minutes=self.rng.randrange(15, 240))
        encounter_id = self.uuid()
        self.encounters.append(encounter_id)
        resource: dict[str, Any] = {
            "resourceType": "Encounter",
            "id": encounter_id,
            "status": "finished",
            "class": {"system": _ACT_CODE, "code": klass},
            "type": [self.concept(SNOMED, code, display)],
            "subject": self.subject,
            "period": {
                "start": self.timestamp(start),
                "end": self.timestamp(min(start + length, self.as_of)),
            },
        }
        if self.rng.random() < 0.3:
            resource["reasonCode"] = [self.concept(*self.pick(_CONDITIONS))]
        return resource

    def condition(self) -> dict[str, Any]:
        system, code, display = self.pick(_CONDITIONS)
        onset = self.moment()
        resolved = self.rng.random() < 0.4
        resource: dict[str, Any] = {
            "resourceType": "Condition",
            "id": self.uuid(),
            "clinicalStatus": {
                "coding": [{"system": _CLINICAL, "code": "resolved" if resolved else "active"}]
            },
            "verificationStatus": {"coding": [{"system": _VERIFICATION, "code": "confirmed"}]},
            "category": [{"coding": [{"code": "problem-list-item"}]}],
            "code": self.concept(system, code, display),
            "subject": self.subject,
            "onsetDateTime": self.timestamp(onset),
            "recordedDate": self.timestamp(onset),
        }
        if resolved:
            abated = min(onset + timedelta(days=self.rng.randrange(3, 60)), self.as_of)
            resource["abatementDateTime"] = self.timestamp(abated)
        return self.link(resource)

    def medication_request(self) -> dict[str, Any]:
        system, code, display = self.pick(_MEDICATIONS)
        authored = self.moment()
        resource: dict[str, Any] = {
            "resourceType": "MedicationRequest",
            "id": self.uuid(),
            "status": self.pick(("active", "active", "stopped", "completed")),
            "intent": "order",
            "medicationCodeableConcept": self.concept(system, code, display),
            "subject": self.subject,
            "authoredOn": self.timestamp(authored),
            "dosageInstruction": [
                {
                    "sequence": 1,
                    "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                    "doseAndRate": [{"doseQuantity": {"value": 1}}],
                }
            ],
        }
        if self.rng.random() < 0.5:
            end = authored + timedelta(days=self.rng.randrange(30, 365))
            resource["dispenseRequest"] = {
                "validityPeriod": {"start": self.timestamp(authored), "end": self.timestamp(end)}
            }
        return self.link(resource)

    def procedure(self) -> dict[str, Any]:
        code, display = self.pick(_PROCEDURES)
        start = self.moment()
        resource: dict[str, Any] = {
            "resourceType": "Procedure",
            "id": self.uuid(),
            "status": "completed",
            "code": self.concept(SNOMED, code, display),
            "subject": self.subject,
        }
        if self.rng.random() < 0.8:
            end = start + timedelta(minutes=self.rng.randrange(10, 180))
            resource["performedPeriod"] = {
                "start": self.timestamp(start),
                "end": self.timestamp(end),
            }
        else:
            resource["performedDateTime"] = self.timestamp(start)
        return self.link(resource)

"""What a fingerprint covers (cds/rules/fingerprint.py), shown on small rule versions written for
the test: it follows what the code reaches, by name, and nothing else."""

from __future__ import annotations

import dataclasses
import importlib.util
import itertools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import MappingProxyType, ModuleType

import pytest

from cds.rules.base import RuleVersion
from cds.rules.fingerprint import Fingerprint, rule_fingerprint, visible_modules
from cds.terminology import Terminology, ValueSet, latest_release

PROBE = '''
"""A probe rule."""

from __future__ import annotations

from dataclasses import dataclass

from cds.facts import Facts
from cds.rules.base import DataRequirement, Finding, Provenance, RuleLogic, RuleVersion
from cds.rules.lib.results.v1 import Results

WINDOW = 90


def unused_helper() -> int:
    return 1


@dataclass(frozen=True)
class Probe(RuleLogic, Results):
    k_low: float = 3.5

    def evaluate(self, facts: Facts) -> Finding | None:
        lab = self.latest_lab(facts, "potassium", within_days=WINDOW)
        if lab is None or not self.is_low(lab, self.k_low):
            return None
        return Finding(
            severity="warning",
            summary=self.summary(lab.comparator),
            explanation="Low potassium.",
            specificity=10,
        )

    def summary(self, comparator: str | None) -> str:
        return "Low potassium"


LOGIC = Probe()
RULE = RuleVersion(
    id="probe",
    version="1.0.0",
    title="Probe",
    severities=("warning",),
    logic=LOGIC,
    requires=(DataRequirement("Observation", ("potassium",)),),
    valuesets=("potassium",),
    terminology="TERMINOLOGY",
    provenance=Provenance(guideline="-", url="https://example.org", released="-", changes="-"),
)
'''

_counter = itertools.count()
Loader = Callable[[str], ModuleType]


@pytest.fixture(scope="module")
def terminology() -> Terminology:
    return Terminology.load(latest_release())


@pytest.fixture
def load(tmp_path: Path) -> Iterator[Loader]:
    """Load a probe module (its source edited by the test) under cds.rules, where fingerprints
    look."""
    loaded: list[str] = []

    def _load(source: str) -> ModuleType:
        name = f"cds.rules.probe_{next(_counter)}"
        path = tmp_path / f"{name.rsplit('.', 1)[1]}.py"
        path.write_text(source.replace("TERMINOLOGY", latest_release()), "utf-8")
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        loaded.append(name)
        spec.loader.exec_module(module)
        return module

    yield _load
    for name in loaded:
        sys.modules.pop(name, None)


def fingerprint_of(module: ModuleType, terminology: Terminology, **contract: str) -> Fingerprint:
    rule = module.RULE
    assert isinstance(rule, RuleVersion)
    return rule_fingerprint(rule, terminology=terminology, record_contract=contract)


def probe_parts(fingerprint: Fingerprint) -> dict[str, str]:
    """The parts of the probe module itself, named without the module's generated name."""
    return {
        name.split(":", 2)[0] + ":" + name.split(":", 2)[2]: value
        for name, value in fingerprint.parts.items()
        if ".probe_" in name
    }


def test_the_fingerprint_follows_what_evaluate_reaches(
    load: Loader, terminology: Terminology
) -> None:
    fingerprint = fingerprint_of(load(PROBE), terminology)
    parts = fingerprint.parts
    assert "code:cds.rules.lib.results.v1:Results.latest_lab" in parts
    assert "code:cds.rules.lib.results.v1:Results.is_low" in parts
    assert "code:cds.facts:Facts.results_of" in parts
    assert any(name.endswith(":Probe.summary") for name in parts)
    assert any(name.endswith(":WINDOW") for name in parts)
    assert parts["param:k_low"] == "3.5"
    assert f"valueset:potassium@{terminology.release}" in parts
    assert f"record:PatientRecord.labs.comparator@{terminology.release}" in parts
    assert not any("unused_helper" in name for name in parts)
    assert fingerprint.valuesets_mentioned == {"potassium"}


def test_comments_docstrings_annotations_and_unused_code_change_nothing(
    load: Loader, terminology: Terminology
) -> None:
    edited = (
        PROBE.replace('        return "Low', '        # Plain words.\n        return "Low')
        .replace(
            "    def summary(self, comparator: str | None) -> str:",
            '    def summary(self, comparator: object) -> object:\n        """Say it."""',
        )
        .replace("    return 1", "    return 2")
    )
    before = probe_parts(fingerprint_of(load(PROBE), terminology))
    after = probe_parts(fingerprint_of(load(edited), terminology))
    assert before == after


def test_code_constants_and_parameters_each_change_it(
    load: Loader, terminology: Terminology
) -> None:
    base = probe_parts(fingerprint_of(load(PROBE), terminology))
    for edit, parts in (
        (('return "Low potassium"', 'return "Low K"'), {"code:Probe.summary"}),
        (("WINDOW = 90", "WINDOW = 30"), {"const:WINDOW"}),
        (("k_low: float = 3.5", "k_low: float = 3.4"), {"class:Probe", "const:Probe:k_low"}),
    ):
        changed = probe_parts(fingerprint_of(load(PROBE.replace(*edit)), terminology))
        assert {name for name in base if base[name] != changed.get(name)} == parts, edit


def test_a_parameter_given_by_replace_is_a_part_by_value(
    load: Loader, terminology: Terminology
) -> None:
    module = load(PROBE)
    rule = module.RULE
    revised = rule.revise(
        version="1.1.0",
        logic=dataclasses.replace(module.LOGIC, k_low=3.3),
        provenance=rule.provenance,
    )
    before = rule_fingerprint(rule, terminology=terminology, record_contract={})
    after = rule_fingerprint(revised, terminology=terminology, record_contract={})
    assert before.changed_parts(after.parts) == ["param:k_low"]


def test_an_overriding_subclass_is_followed(load: Loader, terminology: Terminology) -> None:
    module = load(PROBE)
    sub = load(
        PROBE
        + f"""

from {module.__name__} import Probe as Base


@dataclass(frozen=True)
class Louder(Base):
    def summary(self, comparator: str | None) -> str:
        return "LOW POTASSIUM"


RULE = RULE.revise(version="1.1.0", logic=Louder(), provenance=RULE.provenance)
"""
    )
    parts = fingerprint_of(sub, terminology).parts
    assert any(name.endswith(":Louder.summary") for name in parts)


def test_a_value_sets_codes_are_in_it(load: Loader, terminology: Terminology) -> None:
    module = load(PROBE)
    potassium = terminology.valueset("potassium")
    narrower = ValueSet.from_entries("potassium", potassium.entries[:-1])
    other = dataclasses.replace(
        terminology,
        _valuesets=MappingProxyType({**terminology._valuesets, "potassium": narrower}),
    )
    before = fingerprint_of(module, terminology)
    after = fingerprint_of(module, other)
    assert before.changed_parts(after.parts) == [f"valueset:potassium@{terminology.release}"]


def test_the_record_contract_of_a_field_read_is_in_it(
    load: Loader, terminology: Terminology
) -> None:
    module = load(PROBE)
    before = fingerprint_of(module, terminology, **{"PatientRecord.labs.comparator": "a"})
    after = fingerprint_of(module, terminology, **{"PatientRecord.labs.comparator": "b"})
    assert before.changed_parts(after.parts) == [
        f"record:PatientRecord.labs.comparator@{terminology.release}"
    ]


def test_another_rules_private_classes_are_never_reached() -> None:
    importlib.import_module("cds.rules.quinine_for_cramps.v1_0_0")
    importlib.import_module("cds.rules.dvt_risk.v1_0_0")
    visible = visible_modules("cds.rules.quinine_for_cramps.v1_0_0")
    assert "cds.rules.lib.complaints.v1" in visible
    assert "cds.facts" in visible
    assert not any(name.startswith("cds.rules.dvt_risk") for name in visible)

"""What is replayed: scenario folders, bare hook requests and patient Bundles, found on disk
and read.

- a scenario folder (see fixtures/README.md): `scenario.json` with the expected outcome, and
  either `bundle.json` (a patient's record) or `request.json` (a whole hook request);
- a bare CDS Hooks request file: sent as it is;
- a plain FHIR Bundle holding one patient's record (Synthea transaction bundles included): the
  hook request is built from it (`cds.replay.hook_request`), with a hookInstance derived from
  the file's path (`hook_instance_for`), so two replays of the same file give the same cards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from cds.cdshooks import Indicator
from cds.errors import ReplayInputError
from cds.fhir.bundles import entry_resources

SCENARIO_FILE = "scenario.json"
BUNDLE_FILE = "bundle.json"
REQUEST_FILE = "request.json"
SCENARIO_PARTS = (SCENARIO_FILE, BUNDLE_FILE, REQUEST_FILE)
# hookInstance of a request built from a file: uuid5(namespace, resolved path of the file).
HOOK_INSTANCE_NAMESPACE = uuid.UUID("640668c2-5213-40c5-93f6-a8682a001826")

InputKind = Literal["scenario", "request", "bundle"]


# The scenario format (fixtures/README.md): strict, so a typo is an error rather than a
# silently ignored expectation.


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExpectedCard(_Strict):
    rule: str = Field(min_length=1)
    indicator: Indicator
    summary_contains: str | None = Field(default=None, min_length=1)


class Expectation(_Strict):
    status: int = Field(default=200, ge=100, le=599)
    cards: tuple[ExpectedCard, ...] = ()
    absent: tuple[str, ...] = ()
    only: bool = False

    @model_validator(mode="after")
    def _coherent(self) -> Expectation:
        rules = [c.rule for c in self.cards]
        if len(set(rules)) != len(rules):
            raise ValueError("expect.cards names a rule twice")
        both = set(rules) & set(self.absent)
        if both:
            raise ValueError(f"rules both expected and absent: {sorted(both)}")
        if self.status != 200 and (self.cards or self.absent or self.only):
            raise ValueError("cards, absent and only apply to a 200 answer only")
        return self


class Scenario(_Strict):
    description: str = Field(min_length=1)
    service: str = Field(min_length=1)
    as_of: AwareDatetime
    draftOrders: tuple[dict[str, Any], ...] | None = None
    expect: Expectation


@dataclass(frozen=True)
class ReplayInput:
    name: str
    path: Path  # the scenario folder, or the file
    kind: InputKind
    scenario: Scenario | None = None  # None: a bare request or Bundle, no expectations
    request: dict[str, Any] | None = None  # sent as it is
    bundle: dict[str, Any] | None = None  # a patient's record: the request is built from it


@dataclass(frozen=True)
class Candidate:
    """Something found on disk that may be replayable; loaded only when it is replayed."""

    name: str
    path: Path
    explicit: bool  # named on the command line: not being replayable is an error, not a skip


def is_scenario_folder(path: Path) -> bool:
    return path.is_dir() and (path / SCENARIO_FILE).is_file()


def discover(paths: Iterable[Path]) -> list[Candidate]:
    """Scenario folders, and JSON files that may be hook requests or Bundles, under `paths`.

    A folder with a scenario.json is one scenario (not searched further); other folders are
    searched recursively, skipping hidden ones. Order is stable (sorted) so runs compare.
    """
    found: list[Candidate] = []
    for root in paths:
        if root.is_file() and root.name in SCENARIO_PARTS and is_scenario_folder(root.parent):
            # A file of a scenario folder means the scenario (with its expectations).
            found.append(Candidate(root.parent.name, root.parent, explicit=True))
        elif root.is_file() or is_scenario_folder(root):
            found.append(Candidate(root.name, root, explicit=True))
        elif root.is_dir():
            found.extend(_walk(root, root))
        else:
            raise ReplayInputError(f"{root}: no such file or folder")
    return found


def _walk(folder: Path, root: Path) -> Iterable[Candidate]:
    for child in sorted(folder.iterdir()):
        if child.name.startswith((".", "_")):
            continue
        name = child.relative_to(root).as_posix()
        if is_scenario_folder(child):
            yield Candidate(name, child, explicit=False)
        elif child.is_dir():
            yield from _walk(child, root)
        elif child.suffix == ".json":
            yield Candidate(name, child, explicit=False)


def load(candidate: Candidate) -> ReplayInput | None:
    """Read a candidate; None when a file found while searching is neither a hook request nor a
    Bundle (a response, a feedback body...). Raises ReplayInputError for anything unusable."""
    if candidate.path.is_dir():
        return load_scenario(candidate.path, name=candidate.name)
    data = _read_json(candidate.path)
    kind = _kind_of(data)
    if kind is None:
        if candidate.explicit:
            raise ReplayInputError(
                f"{candidate.path}: neither a CDS Hooks request (with 'hook') nor a FHIR Bundle"
            )
        return None
    assert isinstance(data, dict)  # _kind_of only accepts objects
    if kind == "bundle" and not candidate.explicit and not _has_patient(data):
        return None  # a Bundle found by search that is not a patient's record
    if kind == "request":
        return ReplayInput(candidate.name, candidate.path, "request", request=data)
    return ReplayInput(candidate.name, candidate.path, "bundle", bundle=data)


def load_scenario(folder: Path, *, name: str | None = None) -> ReplayInput:
    scenario = read_scenario(folder / SCENARIO_FILE)
    has_bundle = (folder / BUNDLE_FILE).is_file()
    has_request = (folder / REQUEST_FILE).is_file()
    if has_bundle == has_request:
        raise ReplayInputError(f"{folder}: needs exactly one of {BUNDLE_FILE} or {REQUEST_FILE}")
    name = name or folder.name
    if has_request:
        if scenario.draftOrders is not None:
            raise ReplayInputError(f"{folder}: draftOrders applies to {BUNDLE_FILE} only")
        request = _read_json(folder / REQUEST_FILE)
        if not isinstance(request, dict):
            raise ReplayInputError(f"{folder / REQUEST_FILE}: not a JSON object")
        return ReplayInput(name, folder, "scenario", scenario=scenario, request=request)
    bundle = _read_json(folder / BUNDLE_FILE)
    if _kind_of(bundle) != "bundle":
        raise ReplayInputError(f"{folder / BUNDLE_FILE}: not a FHIR Bundle")
    assert isinstance(bundle, dict)
    return ReplayInput(name, folder, "scenario", scenario=scenario, bundle=bundle)


def read_scenario(path: Path) -> Scenario:
    data = _read_json(path)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'scenario'}: {e['msg']}" for e in exc.errors()
        )
        raise ReplayInputError(f"{path}: {problems}") from exc


def _read_json(path: Path) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except OSError as exc:
        raise ReplayInputError(f"{path}: {exc.strerror or exc}") from exc
    except orjson.JSONDecodeError as exc:
        raise ReplayInputError(f"{path}: not valid JSON ({exc})") from exc


def _kind_of(data: Any) -> Literal["request", "bundle"] | None:
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("hook"), str):
        return "request"
    if data.get("resourceType") == "Bundle":
        return "bundle"
    return None


def _has_patient(bundle: dict[str, Any]) -> bool:
    return any(r.get("resourceType") == "Patient" for r in entry_resources(bundle))


def hook_instance_for(path: Path) -> str:
    """The same file always gets the same hookInstance, so replays give identical cards."""
    return str(uuid.uuid5(HOOK_INSTANCE_NAMESPACE, path.resolve().as_posix()))

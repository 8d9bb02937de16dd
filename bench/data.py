"""Request bodies for the benchmarks, built once as bytes before anything is timed.

- the 90 Synthea patients of shared/external/synthea/bundles as patient-view requests, their
  prefetch filled from the service's templates (`cds.replay.hook_request.build_hook_request`), as an
  EHR would send them;
- synthetic records of any size (`bench.synthetic.synthetic_bundle`) sent as one prefetch Bundle
  (the other prefetch keys null: "no data", so nothing is fetched);
- an empty request (every key null): the baseline that the fixed cost of a call is measured by.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench.synthetic import synthetic_bundle
from cds.replay.hook_request import build_hook_request
from cds.services import ServiceDefinition

SYNTHEA_BUNDLES = Path(__file__).resolve().parents[2] / "shared/external/synthea/bundles"
SERVICE_ID = "leg-pain-patient-view"
SYNTHETIC_KEY = "Observation"  # the prefetch key the whole synthetic Bundle travels in
SYNTHETIC_SEED = 20261121
USER_ID = "Practitioner/bench"
_NAMESPACE = uuid.UUID("0b7a3f4e-51a2-4c3e-9d0f-6b1f8e2a7c55")


@dataclass(frozen=True)
class Body:
    name: str
    data: bytes
    resources: int


def hook_instance(name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, name))


def synthea_bodies(service: ServiceDefinition, directory: Path = SYNTHEA_BUNDLES) -> list[Body]:
    paths = sorted(directory.glob("*.json"))
    if not paths:
        raise SystemExit(f"no Synthea bundles in {directory}")
    bodies = []
    for path in paths:
        bundle = orjson.loads(path.read_bytes())
        request = build_hook_request(bundle, service, hook_instance=hook_instance(path.stem))
        bodies.append(Body(path.stem, orjson.dumps(request), _resources(request["prefetch"])))
    return bodies


def synthetic_body(service: ServiceDefinition, n_resources: int) -> Body:
    bundle = synthetic_bundle(n_resources, seed=SYNTHETIC_SEED)
    patient_id = bundle["entry"][0]["resource"]["id"]
    key = SYNTHETIC_KEY if SYNTHETIC_KEY in service.prefetch else next(iter(service.prefetch))
    prefetch: dict[str, Any] = dict.fromkeys(service.prefetch)
    prefetch[key] = bundle
    request = _request(service, f"synthetic-{n_resources}", patient_id, prefetch)
    return Body(f"synthetic {n_resources:,}", orjson.dumps(request), n_resources)


def empty_body(service: ServiceDefinition) -> Body:
    request = _request(service, "empty", "bench-empty", dict.fromkeys(service.prefetch))
    return Body("empty", orjson.dumps(request), 0)


def _request(
    service: ServiceDefinition, name: str, patient_id: str, prefetch: dict[str, Any]
) -> dict[str, Any]:
    return {
        "hook": service.hook,
        "hookInstance": hook_instance(name),
        "context": {"userId": USER_ID, "patientId": patient_id},
        "prefetch": prefetch,
    }


def _resources(prefetch: dict[str, Any]) -> int:
    count = 0
    for value in prefetch.values():
        if isinstance(value, dict):
            entries = value.get("entry")
            count += len(entries) if isinstance(entries, list) else 1
    return count

"""The access log (cds.api.access_log, CDS_ACCESS_LOG=true): one JSON line per request on the
stdout of a real `cds serve`, with the route template, never the path, the query or the body.
(Off, stdout stays empty: tests/test_deployment.py checks the entrypoint's.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.support.processes import free_port, wait_for_port

PATIENT = "Zebediah Quuxley"


def _serve(tmp_path: Path) -> list[dict[str, Any]]:
    """Serve, send four requests, stop; the lines the service wrote on stdout."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CDS_", "PROMETHEUS_"))},
        "CDS_PORT": str(port),
        "CDS_DATABASE_URL": f"sqlite:///{tmp_path / 'cds.db'}",
        "CDS_ACCESS_LOG": "true",
    }
    stdout = tmp_path / "stdout.log"
    with stdout.open("w") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "cds"), "serve"],
            env=env,
            stdout=out,
            stderr=subprocess.DEVNULL,
        )
    try:
        wait_for_port(port, timeout=30)
        with httpx.Client(base_url=base, timeout=10) as client:
            assert client.get("/cds-services").status_code == 200
            body = {"hook": "patient-view", "context": {"patientName": PATIENT}}
            call = client.post(f"/cds-services/leg-pain-patient-view?name={PATIENT}", json=body)
            assert call.status_code == 400
            assert client.get(f"/patients/{PATIENT}").status_code == 404
            assert client.get("/health").status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
    return [json.loads(line) for line in stdout.read_text().splitlines()]


def test_each_request_is_one_json_line_without_patient_data(tmp_path: Path) -> None:
    lines = _serve(tmp_path)
    assert [(line["method"], line["route"], line["status"]) for line in lines] == [
        ("GET", "/cds-services", 200),
        ("POST", "/cds-services/{service_id}", 400),
        ("GET", "unmatched", 404),
        ("GET", "/health", 200),
    ]
    call = lines[1]
    assert call["service"] == "leg-pain-patient-view"
    assert call["client"] == "127.0.0.1"
    assert call["bytes"] > 0
    assert call["duration_ms"] >= 0
    assert call["time"].endswith("Z")
    text = json.dumps(lines)
    for part in (*PATIENT.split(), "patients", "name="):
        assert part not in text

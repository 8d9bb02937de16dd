"""The replayer over HTTP (cds.replay.runner): which scenarios a service judging at its own clock
cannot judge, told apart in process before the run; and --validate's FHIR findings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from cds.api.app import create_app
from cds.audit.store import MemoryAuditStore
from cds.pipeline import Engine
from cds.replay.runner import Replayer, summarize
from cds.replay.scenario import Candidate, discover
from cds.replay.targets import HttpTarget, InProcessTarget
from cds.settings import Settings
from tests.support.paths import FIXTURES
from tests.support.served import served

# Judged at 2026-11-21; five years later the paclitaxel course is long past its 365 days.
DATED = "chemo-neuropathy--paclitaxel-365-days-boundary-warning"
UNDATED = ("protocol--wrong-hook", "protocol--absent-prefetch-no-fhir-server")
LATER = datetime(2031, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def service_url(engine: Engine) -> Iterator[str]:
    app = create_app(Settings(database_url="sqlite://"), engine=engine, store=MemoryAuditStore())
    with served(app) as url:
        yield url


def _candidates(*names: str) -> list[Candidate]:
    return discover([FIXTURES / name for name in names])


def test_a_scenario_that_aged_out_is_not_judged_over_http(engine: Engine, service_url: str) -> None:
    replayer = Replayer(HttpTarget(service_url), reference=InProcessTarget(engine), as_of=LATER)
    with replayer:
        candidates = _candidates(DATED, *UNDATED)
        reasons = replayer.not_judgeable_over_http(candidates)
        assert list(reasons) == [FIXTURES / DATED]
        assert reasons[FIXTURES / DATED] == (
            "expected at its as_of 2026-11-21, not at today's date 2031-11-21 "
            "(missing card chemo-neuropathy:warning)"
        )
        skipped = replayer.not_judged(candidates[0], reasons[FIXTURES / DATED])
        judged = [replayer.replay_candidate(c) for c in candidates[1:]]
    assert skipped.verdict == "skip"
    assert [r.verdict for r in judged if r is not None] == ["pass", "pass"]
    summary = summarize([skipped, *(r for r in judged if r is not None)], skipped=0, wall_seconds=1)
    assert (summary.passed, summary.not_judged, summary.ok) == (2, 1, True)


def test_in_process_every_scenario_is_judged(engine: Engine) -> None:
    with Replayer(InProcessTarget(engine), as_of=LATER) as replayer:
        assert replayer.not_judgeable_over_http(_candidates(DATED)) == {}


def test_validate_lists_the_invalid_resources_of_an_input(engine: Engine) -> None:
    with Replayer(InProcessTarget(engine), validate=True) as replayer:
        malformed, valid = (
            replayer.replay_candidate(c)
            for c in _candidates(
                "protocol--malformed-resources-skipped",
                "diuretic-electrolytes--furosemide-k-3-49-warning",
            )
        )
    assert malformed is not None
    assert valid is not None
    assert malformed.verdict == "pass"  # the service reads leniently: the verdict is unchanged
    assert any(
        line.startswith("Observation/k-garbage-date: effectiveDateTime:")
        for line in malformed.invalid_fhir
    )
    assert valid.invalid_fhir == []

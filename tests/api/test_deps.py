"""The routes' dependencies (cds.api.deps): each route gets what it uses, without a thread hop."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from cds.api import ops, routes

ROUTES = [r for r in (*routes.router.routes, *ops.router.routes) if isinstance(r, APIRoute)]


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for dependency in dependant.dependencies:
        yield dependency
        yield from _dependencies(dependency)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{sorted(r.methods)[0]} {r.path}")
def test_every_dependency_runs_on_the_event_loop(route: APIRoute) -> None:
    """FastAPI runs a plain `def` dependency in its thread pool: about a millisecond of CPU per
    dependency and request (bench/README.md)."""
    for dependency in _dependencies(route.dependant):
        call = dependency.call
        function = call if inspect.isfunction(call) else type(call).__call__
        assert inspect.iscoroutinefunction(function), call


@pytest.mark.parametrize(
    ("method", "path", "uses"),
    [
        ("GET", "/cds-services", {"engine"}),
        (
            "POST",
            "/cds-services/{service_id}",
            {"service", "engine", "settings", "fhir", "audit_writer", "shadows"},
        ),
        ("POST", "/cds-services/{service_id}/feedback", {"service", "settings", "store"}),
        ("GET", "/ready", {"engine", "store", "writer"}),
    ],
)
def test_each_route_gets_only_what_it_uses(method: str, path: str, uses: set[str]) -> None:
    [route] = [r for r in ROUTES if r.path == path and method in (r.methods or ())]
    assert {d.name for d in route.dependant.dependencies if d.name} == uses

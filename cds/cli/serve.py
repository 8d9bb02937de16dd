"""Running the service: serve, migrate, check.

With CDS_LOG_FORMAT=json (the container) every command writes its messages as JSON log lines, so
a container's whole output (the entrypoint runs check, migrate, serve) parses line by line.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any, NoReturn

import click
from pydantic import ValidationError

from cds.settings import Settings

log = logging.getLogger("cds.cli")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def load_settings(**overrides: Any) -> Settings:
    """Settings from CDS_* variables (and command-line `overrides`, which win); a bad value
    stops here: one line per problem, naming the variable, exit status 2."""
    try:
        return Settings(**{name: value for name, value in overrides.items() if value is not None})
    except ValidationError as exc:
        for error in exc.errors():
            # Never the input: a database URL or an issuer location may hold a password.
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["loc"]:
                name = "CDS_" + "_".join(str(p) for p in error["loc"][:1]).upper()
                click.echo(f"invalid setting {name}: {message}", err=True)
            else:  # a rule across settings: its message names them
                click.echo(f"invalid settings: {message}", err=True)
        sys.exit(2)


def database_problem(exc: Exception) -> str:
    """What went wrong with the audit database, in one line: the driver's own first line
    (psycopg's "connection refused", SQLite's "unable to open database file"), without
    SQLAlchemy's wrapping and link."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


def _announce(settings: Settings, message: str, lines: list[str], **fields: Any) -> None:
    """The outcome of a command: readable lines in text mode, one JSON log line in json mode."""
    if settings.log_format == "json":
        from cds.logs import configure_logging

        configure_logging(settings)
        log.info(message, extra=fields)
        return
    for line in [*lines, message]:
        click.echo(line)


@click.command()
def check() -> None:
    """Validate settings, hooks/ files and rule versions, and every FHIR resource a card can
    carry (the order suggestions of each pinned rule version) against FHIR R4B; then exit."""
    from cds.errors import ServiceConfigError
    from cds.pipeline import Engine  # heavy imports only when used
    from cds.validation import emitted_resources, resource_problem

    settings = load_settings()
    try:
        engine = Engine.load(settings.hooks_dir)
    except ServiceConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    emitted = emitted_resources(engine)
    invalid = [
        f"  {label}: {problem}"
        for label, resource in emitted
        if (problem := resource_problem(resource)) is not None
    ]
    if invalid:
        raise click.ClickException(
            "cards could carry FHIR resources that are not valid R4B:\n" + "\n".join(invalid)
        )
    services = sorted(engine.services.values(), key=lambda s: s.id)
    _announce(
        settings,
        f"ruleset {engine.registry.release.version}: configuration OK",
        [
            *(
                f"{s.id:28} {s.hook:14} {len(s.rules)} rules"
                + (f", {len(s.shadow)} shadow" if s.shadow else "")
                for s in services
            ),
            f"{len(emitted)} FHIR resources cards can carry: valid R4B",
        ],
        ruleset=engine.registry.release.version,
        services={s.id: len(s.rules) for s in services},
        valid_fhir_resources=len(emitted),
    )


@click.command()
def migrate() -> None:
    """Create or upgrade the audit database (CDS_DATABASE_URL) to the latest schema."""
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from cds.audit.connection import safe_url
    from cds.audit.database import upgrade

    settings = load_settings()
    if settings.log_format == "json":  # Alembic's own INFO lines, as JSON too
        from cds.logs import configure_logging

        configure_logging(settings)
    database = safe_url(settings.database_url)
    try:
        upgrade(settings.database_url)
    except (SQLAlchemyError, CommandError, OSError) as exc:
        _fail(settings, f"CDS_DATABASE_URL: cannot migrate {database}: {database_problem(exc)}")
    _announce(settings, "database is at the latest schema", [], database=database)


def _fail(settings: Settings, message: str) -> NoReturn:
    """Stop a command with one line: a JSON log line in json mode, else `Error: ...`."""
    if settings.log_format == "json":
        from cds.logs import configure_logging

        configure_logging(settings)
        log.error(message)
        sys.exit(1)
    raise click.ClickException(message)


def ensure_listenable(host: str, port: int) -> None:
    """Refuse to start, in one line, when (host, port) cannot be listened on: found here, before
    the app is loaded, rather than by uvicorn once it has started everything else."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise click.ClickException(
                    f"cannot listen on {host}:{port}: the port is already in use (another "
                    "`cds serve`?); stop that process, or choose a port with --port or CDS_PORT"
                ) from exc
            raise click.ClickException(
                f"cannot listen on {host}:{port}: {exc.strerror} (--host/CDS_HOST, --port/CDS_PORT)"
            ) from exc


def prepare_metrics_dir(workers: int) -> Path | None:
    """Set up prometheus_client's multiprocess mode for several workers; returns the directory
    to remove at exit (None when there is nothing of ours to remove).

    Must run before the workers start: each worker's prometheus_client reads the variable when
    it is first imported. Several workers need it, or /metrics would show whichever worker
    answered the scrape. A directory the operator names (a tmpfs, say) is used as given; else a
    fresh private one is made. Either way it starts empty: files left by an earlier run would be
    added to this run's counters.
    """
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
        return None
    if workers <= 1:
        return None  # one process: the in-memory registry is exact and cheaper
    directory = Path(tempfile.mkdtemp(prefix="cds-metrics-"))  # mode 0700: this user only
    os.environ[MULTIPROC_ENV] = str(directory)
    return directory


@click.command()
@click.option("--host", metavar="ADDRESS", help="Address to listen on (default: CDS_HOST).")
@click.option(
    "--port", type=click.IntRange(1, 65535), help="Port to listen on (default: CDS_PORT)."
)
def serve(host: str | None, port: int | None) -> None:
    """Start the service at http://$CDS_HOST:$CDS_PORT (CDS Hooks base /cds-services)."""
    settings = load_settings(host=host, port=port)
    ensure_listenable(settings.host, settings.port)
    metrics_dir = prepare_metrics_dir(settings.workers)  # before anything counts

    import uvicorn

    from cds.api.http_protocol import BoundedHttpToolsProtocol
    from cds.errors import ServiceConfigError
    from cds.logs import configure_logging, logging_config
    from cds.pipeline import Engine

    configure_logging(settings)
    try:
        try:
            Engine.load(settings.hooks_dir)  # refuse to start on a bad hooks/ file
        except ServiceConfigError as exc:
            raise click.ClickException(str(exc)) from exc
        log.info(
            "CDS Hooks discovery: http://%s:%d/cds-services",
            settings.host,
            settings.port,
            extra={"workers": settings.workers},
        )
        uvicorn.run(
            "cds.api.app:served_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            # httptools (uvicorn[standard] installs it), with bounds on what a client may send
            # and hold; uvloop named so that a missing one fails at start-up instead of silently
            # serving with the asyncio loop.
            http=BoundedHttpToolsProtocol,
            loop="uvloop",
            # SIGTERM: calls in progress get this long, then are cancelled and the app shuts
            # down (its audit writer keeps what it could not write in the spool).
            timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
            # A dictionary, not None: uvicorn applies it in every worker process it starts.
            log_config=logging_config(settings),
            access_log=False,
            # Behind a load balancer: its X-Forwarded-* are not trusted (the JWT `aud` uses
            # CDS_PUBLIC_URL, never the Host header), so no proxy headers are needed.
            proxy_headers=False,
            server_header=False,
        )
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)

"""Running the service: serve, migrate, check."""

from __future__ import annotations

import sys

import click
from pydantic import ValidationError

from cds.settings import Settings


def load_settings() -> Settings:
    """Settings from CDS_* variables; a bad value stops here with the variable's name."""
    try:
        return Settings()
    except ValidationError as exc:
        click.echo("Invalid configuration:", err=True)
        for error in exc.errors():
            name = "CDS_" + "_".join(str(p) for p in error["loc"]).upper()
            click.echo(f"  {name if error['loc'] else 'settings'}: {error['msg']}", err=True)
        sys.exit(2)


@click.command()
def check() -> None:
    """Validate settings, hooks/ files and rule versions, then exit."""
    from cds.pipeline import Engine  # noqa: PLC0415 (heavy import only when used)
    from cds.services import ServiceConfigError  # noqa: PLC0415

    settings = load_settings()
    try:
        engine = Engine.load(settings.hooks_dir)
    except ServiceConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    for service in engine.services.values():
        click.echo(f"{service.id:28} {service.hook:14} {len(service.rules)} rules")
    click.echo(f"ruleset {engine.registry.release.version}: configuration OK")


@click.command()
def migrate() -> None:
    """Create or upgrade the audit database (CDS_DATABASE_URL) to the latest schema."""
    from cds.audit.database import upgrade  # noqa: PLC0415

    settings = load_settings()
    upgrade(settings.database_url)
    click.echo("database is at the latest schema")


@click.command()
def serve() -> None:
    """Start the service at http://$CDS_HOST:$CDS_PORT (CDS Hooks base /cds-services)."""
    import uvicorn  # noqa: PLC0415

    from cds.logs import configure_logging  # noqa: PLC0415
    from cds.pipeline import Engine  # noqa: PLC0415
    from cds.services import ServiceConfigError  # noqa: PLC0415

    settings = load_settings()
    configure_logging(settings)
    try:
        Engine.load(settings.hooks_dir)  # refuse to start on a bad hooks/ file
    except ServiceConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"CDS Hooks discovery: http://{settings.host}:{settings.port}/cds-services")
    uvicorn.run(
        "cds.api.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_config=None,
        access_log=False,
    )

"""`cds`: serve, migrate, check, rules, replay, audit, sweep."""

from __future__ import annotations

import click

from cds.cli.audit import audit
from cds.cli.replay import replay
from cds.cli.rules import rules
from cds.cli.serve import check, migrate, serve
from cds.cli.sweep import sweep


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from importlib.metadata import version

    from cds.rules.registry import read_released

    # The ruleset release too: it, not the package, says which rule versions make the cards.
    click.echo(f"cds {version('legpain-cds')} (ruleset {read_released().current})")
    ctx.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version and the ruleset release, then exit.",
)
def main() -> None:
    """Leg pain & cramps CDS Hooks service."""


main.add_command(serve)
main.add_command(migrate)
main.add_command(check)
main.add_command(replay)
main.add_command(audit)
main.add_command(rules)
main.add_command(sweep)

"""`cds`: serve, migrate, check, rules, replay, audit, sweep."""

from __future__ import annotations

import click

from cds.cli.audit import audit
from cds.cli.replay import replay
from cds.cli.rules import rules
from cds.cli.serve import check, migrate, serve
from cds.cli.sweep import sweep


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Leg pain & cramps CDS Hooks service."""


main.add_command(serve)
main.add_command(migrate)
main.add_command(check)
main.add_command(replay)
main.add_command(audit)
main.add_command(rules)
main.add_command(sweep)

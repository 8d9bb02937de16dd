"""`cds audit`: what the service showed and how clinicians received it, from the audit database."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click
from rich import box
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from cds.audit.report import AuditReport, FeedbackSummary, InvocationSummary, RuleStats
    from cds.audit.shadow import Burden, ShadowReport

SECTIONS = ("invocations", "feedback", "rules", "shadow")
DEFAULT_SECTIONS = ("invocations", "feedback", "rules")
CHARTS_SHOWN = 8  # charts named per disagreement in the text report (all of them in --json)
_RELATIVE = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_since(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    """--since: an ISO date or datetime (UTC unless it says otherwise), or an age (30m, 24h, 7d)."""
    if value is None:
        return None
    text = value.strip()
    relative = _RELATIVE.match(text)
    if relative:
        amount, unit = int(relative[1]), _UNITS[relative[2]]
        return datetime.now(UTC) - timedelta(**{unit: amount})
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise click.BadParameter(
            f"{text!r} is not a date, a datetime or an age like 7d, 24h, 30m"
        ) from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@click.command()
@click.argument("sections", nargs=-1, type=click.Choice(SECTIONS))
@click.option(
    "--limit",
    default=20,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="How many recent invocations and feedback items to list.",
)
@click.option(
    "--since",
    metavar="WHEN",
    callback=parse_since,
    help="Only since then: 2026-11-01, 2026-11-01T08:00Z, or an age: 7d, 24h, 30m.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.option("--database-url", metavar="URL", help="Audit database (default: CDS_DATABASE_URL).")
def audit(
    sections: tuple[str, ...],
    limit: int,
    since: datetime | None,
    as_json: bool,
    database_url: str | None,
) -> None:
    """Recent invocations and feedback, and per rule version: cards issued, accepted,
    overridden, acceptance rate and override reasons; and shadow rule versions against live.

    SECTIONS: any of invocations, feedback, rules, shadow (default: the first three). Per-rule
    figures count the cards of invocations since --since; the acceptance rate is accepted /
    (accepted + overridden). `shadow`: per rule, the cards the calls showed against those their
    shadow versions would have shown (charts with a card, cards per 1,000 calls, indicators)
    and the charts where they disagree.
    """
    from cds.audit.report import build_report  # SQLAlchemy only when used
    from cds.audit.shadow import build_shadow_report

    wanted = set(sections or DEFAULT_SECTIONS)
    with _audit_connection(database_url) as connection:
        report = build_report(connection, since=since, limit=limit) if wanted - {"shadow"} else None
        shadow = build_shadow_report(connection, since=since) if "shadow" in wanted else None
    if as_json:
        payload: dict[str, Any] = {"since": since}
        if report is not None:
            payload["repeats"] = report.repeats
            payload |= {name: getattr(report, name) for name in DEFAULT_SECTIONS if name in wanted}
            if "feedback" in wanted or "rules" in wanted:
                payload["unmatched_feedback"] = report.unmatched_feedback
        if shadow is not None:
            payload["shadow"] = shadow
        click.echo(json.dumps(_jsonable(payload), indent=2))
        return
    console = Console(highlight=False)
    if report is not None:
        _print_report(console, report, wanted)
    if shadow is not None:
        _print_shadow(console, shadow)


def _print_report(console: Console, report: AuditReport, wanted: set[str]) -> None:
    from cds.audit.report import REPEAT_SECONDS

    if "invocations" in wanted:
        _print_invocations(console, report.invocations)
    if "feedback" in wanted:
        _print_feedback(console, report.feedback)
    if "rules" in wanted:
        _print_rules(console, report.rules)
    if report.repeats and ("invocations" in wanted or "rules" in wanted):
        console.print(
            f"{report.repeats} call(s) repeated the call just before (same service, patient and "
            f"rule versions, new hookInstance, within {REPEAT_SECONDS:g} s): their cards are "
            "not counted as issued."
        )
    if report.unmatched_feedback and ("feedback" in wanted or "rules" in wanted):
        console.print(
            f"{report.unmatched_feedback} feedback item(s) refer to cards with no invocation in "
            "the audit (that audit write failed, or the card is not ours): not in the rule figures."
        )


@contextmanager
def _audit_connection(database_url: str | None) -> Iterator[Connection]:
    """A connection to the audit database for reading, once it is known to be migrated."""
    import sqlalchemy as sa

    from cds.audit.connection import make_engine, normalise_url, safe_url, sqlite_file
    from cds.audit.database import current_revision, head_revision
    from cds.cli.serve import database_problem, load_settings

    url = database_url or load_settings().database_url
    path = sqlite_file(normalise_url(url))
    if path is not None and not path.is_file():  # reading must not create an empty database
        raise click.ClickException(f"no audit database at {path}: run `cds migrate`")
    engine = make_engine(url, immediate_writes=False)
    try:
        with engine.connect() as connection:
            revision = current_revision(connection)
            if revision != head_revision():
                raise click.ClickException(
                    f"the audit database {safe_url(url)} is at schema {revision}, not "
                    f"{head_revision()}: run `cds migrate`"
                )
            yield connection
    except sa.exc.SQLAlchemyError as exc:
        raise click.ClickException(
            f"cannot read the audit database {safe_url(url)}: {database_problem(exc)}"
        ) from exc
    finally:
        engine.dispose()


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        # Derived figures a consumer would otherwise recompute.
        for name in ("card_count", "refused", "rule", "acceptance_rate", "agrees"):
            if hasattr(value, name):
                fields[name] = getattr(value, name)
        return fields
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


# Readable in an 80-column terminal: each invocation and each piece of feedback is a heading line
# and indented lines under it, which wrap at the terminal's width without breaking a card uuid
# or a rule version; only the per-rule figures are a table, narrow enough for 80 columns.


def _heading(console: Console, title: str, empty: bool) -> None:
    console.print(Text(title + (": none" if empty else ""), style="bold"))


def _entry(console: Console, first: str, *details: str) -> None:
    # As Text: what the EHR sent (comments, reason displays) is shown as written, never read as
    # rich markup ("[bold]" would vanish; an unbalanced "[/x]" would raise).
    console.print(Padding(Text(first), (0, 0, 0, 2), expand=False))
    for detail in details:
        console.print(Padding(Text(detail), (0, 0, 0, 4), expand=False))


def _print_invocations(console: Console, rows: Sequence[InvocationSummary]) -> None:
    _heading(console, "Recent invocations (UTC, most recent first)", not rows)
    for row in rows:
        where = f"{_time(row.started_at)}  {row.service_id}  patient {row.patient_id or '-'}"
        if row.refused:
            answer = f"refused: HTTP {row.status}, no card ({row.duration_ms:.0f} ms)"
        else:
            cards = "no card" if not row.rules else f"{row.card_count} card(s)"
            answer = f"{cards} ({row.duration_ms:.0f} ms)"
            if row.rules:
                answer += ": " + ", ".join(row.rules)
            if row.repeat:
                answer = "repeat, not counted: " + answer
        _entry(console, where, answer, *_not_evaluated(row))


def _not_evaluated(row: InvocationSummary) -> list[str]:
    """One line per reason: `not evaluated (FamilyMemberHistory unsupported): a@1, b@1`."""
    by_reason: dict[str, list[str]] = {}
    for item in row.not_evaluated:
        why = ", ".join(f"{key} {reason}" for key, reason in item.missing)
        by_reason.setdefault(why, []).append(f"{item.rule_id}@{item.rule_version}")
    return [f"not evaluated ({why}): {', '.join(rules)}" for why, rules in by_reason.items()]


def _print_feedback(console: Console, rows: Sequence[FeedbackSummary]) -> None:
    _heading(console, "Recent feedback (UTC, most recent first)", not rows)
    for row in rows:
        details = [
            f"{row.outcome}: {row.rule or '(card not in the audit)'}",
            f"card {row.card_uuid}",
        ]
        if row.outcome == "accepted":
            details.append("suggestions: " + (", ".join(row.accepted_suggestions) or "-"))
        else:
            details.append("reason: " + _reason(row.override_code, row.override_display))
        if row.user_comment:
            details.append(f'comment: "{row.user_comment}"')
        where = f"{_time(row.received_at)}  {row.service_id}  patient {row.patient_id or '-'}"
        _entry(console, where, *details)


def _print_rules(console: Console, rows: Sequence[RuleStats]) -> None:
    table = Table(
        title="Per rule version (cards by their latest feedback)",
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("rule", no_wrap=True)
    for column in ("issued", "accepted", "overridden", "rate"):
        table.add_column(column, justify="right")
    for row in rows:
        rate = row.acceptance_rate
        table.add_row(
            Text(row.rule),
            str(row.issued),
            str(row.accepted),
            str(row.overridden),
            "-" if rate is None else f"{rate:.0%}",
        )
    console.print(table)
    reasons = [row for row in rows if row.override_reasons]
    if reasons:
        _heading(console, "Override reasons (cards)", False)
    for row in reasons:
        _entry(
            console,
            row.rule,
            *(f"{_reason(r.code, r.display)}: {r.cards}" for r in row.override_reasons),
        )


def _print_shadow(console: Console, report: ShadowReport) -> None:
    period = f" since {_time(report.since)} UTC" if report.since else ""
    title = f"Shadow versions against live: {report.calls:,} call(s), {report.charts:,} chart(s)"
    _heading(console, title + period, not report.calls and not report.skipped)
    notes = []
    if report.skipped:
        why = ", ".join(f"{n:,} {_SKIPPED.get(k, k)}" for k, n in report.skipped.items())
        notes.append(f"not compared: {why}")
    if report.ms_median is not None and report.ms_max is not None:
        notes.append(
            f"shadow evaluation: median {report.ms_median:.2f} ms, at most "
            f"{report.ms_max:.1f} ms per call (after the answer)"
        )
    if report.calls:
        notes.append(f"charts where any rule disagrees: {report.changed_charts:,}")
    if report.rules:
        notes.append("per rule: charts with a card, cards per 1,000 calls (indicators)")
    for note in notes:
        console.print(Padding(Text(note), (0, 0, 0, 2), expand=False))
    for rule in report.rules:
        live = ", ".join(rule.live_versions) or "not pinned"
        if rule.shadow_versions:
            versions = f"live {live}, shadow {', '.join(rule.shadow_versions)}"
        else:
            versions = f"live {live}, not shadowed (its cards move with the shadow versions)"
        details = [
            f"live:   {_burden(rule.live)}",
            f"shadow: {_burden(rule.shadow)}",
        ]
        for disagreement in rule.disagreements:
            named = disagreement.charts[:CHARTS_SHOWN]
            more = len(disagreement.charts) - len(named)
            details.append(
                f"{disagreement.change}: {len(disagreement.charts):,} chart(s) "
                f"({disagreement.calls:,} call(s)): "
                + ", ".join(named)
                + (f" and {more:,} more" if more else "")
            )
        if rule.agrees and rule.shadow_versions:
            details.append("agrees with live on every call")
        if rule.failed_calls:
            details.append(f"failed on {rule.failed_calls:,} call(s) (see the service's log)")
        if rule.slow_calls:
            details.append(f"slow on {rule.slow_calls:,} call(s)")
        if rule.lacking:
            details.append("reads data the service does not prefetch: " + ", ".join(rule.lacking))
        _entry(console, f"{rule.rule}: {versions}", *details)


_SKIPPED = {
    "timeout": "timed out",
    "busy": "skipped (busy)",
    "failed": "failed",
}


def _burden(burden: Burden) -> str:
    if not burden.cards:
        return "no card"
    mix = ", ".join(f"{name} {n:,}" for name, n in burden.indicators.items())
    return f"{burden.charts:,} chart(s), {burden.per_1000_calls:.1f} per 1,000 calls ({mix})"


def _reason(code: str | None, display: str | None) -> str:
    if code is None:
        return "(no reason given)"
    return f"{code} ({display})" if display else code

"""The sweep's figures and the report a governance committee reads: how many charts get cards,
how many cards, for which rules at which indicator, and what a candidate set of pins changes.

Pure: `burden()` counts, `render_html()` returns one self-contained HTML page (inline SVG
plots, no script, nothing fetched). The CLI writes it.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from cds.sweep.compare import Comparison, RuleChange
from cds.sweep.results import Outcome, Problem

INDICATORS = ("critical", "warning", "info")
COLOURS = {"critical": "#c0392b", "warning": "#e08e0b", "info": "#2e86c1"}
MAX_CARDS_BUCKET = 5  # the histogram's last bar: 5 cards or more
LISTED_CHARTS = 10  # example chart ids listed per change
LISTED_PROBLEMS = 50


@dataclass(frozen=True)
class RuleBurden:
    rule: str
    versions: tuple[str, ...]
    charts: int  # charts with a card of this rule
    by_indicator: Mapping[str, int]


@dataclass(frozen=True)
class Burden:
    charts: int
    charts_with_cards: int
    cards: int
    errors: int  # charts whose evaluation failed
    cards_per_chart: tuple[int, ...]  # [n] = charts with n cards; the last is n or more
    rules: tuple[RuleBurden, ...]


def burden(outcomes: Iterable[Outcome]) -> Burden:
    charts = with_cards = cards = errors = 0
    histogram = [0] * (MAX_CARDS_BUCKET + 1)
    per_rule: dict[str, Counter[str]] = {}
    versions: dict[str, set[str]] = {}
    for outcome in outcomes:
        charts += 1
        errors += outcome.error is not None
        with_cards += bool(outcome.cards)
        cards += len(outcome.cards)
        histogram[min(len(outcome.cards), MAX_CARDS_BUCKET)] += 1
        for card in outcome.cards:
            per_rule.setdefault(card.rule, Counter())[card.indicator] += 1
            versions.setdefault(card.rule, set()).add(card.version)
    rules = tuple(
        RuleBurden(rule, tuple(sorted(versions[rule])), sum(counts.values()), dict(counts))
        for rule, counts in sorted(per_rule.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    )
    return Burden(charts, with_cards, cards, errors, tuple(histogram), rules)


@dataclass(frozen=True)
class ReportFacts:
    """What the report says about the run itself."""

    title: str
    sources: Sequence[str]
    as_of: str
    shift_to_now: bool
    engine: str
    seconds: float
    baseline_label: str
    baseline_pins: Sequence[str]
    candidate_label: str | None = None
    candidate_pins: Sequence[str] | None = None
    unreleased: Sequence[str] = ()
    skipped_files: Sequence[str] = ()
    with_complaint: bool = False


def render_html(
    facts: ReportFacts,
    baseline: Burden,
    problems: Sequence[Problem],
    candidate: Burden | None = None,
    comparison: Comparison | None = None,
) -> str:
    parts = [
        _head(facts.title),
        f"<h1>{_e(facts.title)}</h1>",
        _facts_table(facts, baseline),
        "<h2>Alert burden</h2>",
        _burden_table(baseline, candidate),
        "<h3>Cards per chart</h3>",
        _histogram_svg(baseline, candidate),
        "<h2>Charts per rule and indicator</h2>",
        _rules_svg(baseline, candidate),
        _rules_table(baseline, candidate),
    ]
    if comparison is not None and candidate is not None:
        parts += [
            "<h2>What the candidate pins change</h2>",
            _comparison_summary(comparison),
            _changes_svg(comparison),
            _changes_table(comparison),
        ]
    parts += [_pins(facts), _problems(problems), "</body></html>\n"]
    return "\n".join(p for p in parts if p)


# -- pieces ------------------------------------------------------------------------------------


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "-"


def _head(title: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 0.25em 0.75em; text-align: left; }}
td.n, th.n {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
.gain {{ color: #1e8449; }} .loss {{ color: #922b21; }} .note {{ color: #666; }}
svg text {{ font-size: 12px; font-family: system-ui, sans-serif; }}
</style></head><body>"""


def _facts_table(facts: ReportFacts, baseline: Burden) -> str:
    rows = [
        ("sources", ", ".join(facts.sources)),
        ("charts", f"{baseline.charts:,}"),
        ("judged at", facts.as_of),
        (
            "dates",
            "moved per chart so its latest date is the day before"
            if facts.shift_to_now
            else "as recorded",
        ),
        ("pins in force", facts.baseline_label),
    ]
    if facts.with_complaint:
        rows.insert(
            4,
            (
                "complaint added",
                "a sleep-related leg cramp (ICD-10-CM G47.62), coded a week before, on every chart",
            ),
        )
    if facts.candidate_label is not None:
        rows.append(("candidate pins", facts.candidate_label))
    rate = baseline.charts / facts.seconds if facts.seconds > 0 else 0.0
    rows.append(("engine", f"{facts.engine}: {facts.seconds:.1f} s, {rate:,.0f} charts/s"))
    if facts.skipped_files:
        rows.append(("files not read (no rule reads them)", ", ".join(facts.skipped_files)))
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _burden_table(baseline: Burden, candidate: Burden | None) -> str:
    sets = [("in force", baseline)] + ([("candidate", candidate)] if candidate else [])
    head = "".join(f'<th class="n">{_e(name)}</th>' for name, _ in sets)
    lines: list[tuple[str, Callable[[Burden], str]]] = [
        (
            "charts with at least one card",
            lambda b: f"{b.charts_with_cards:,} ({_pct(b.charts_with_cards, b.charts)})",
        ),
        ("cards", lambda b: f"{b.cards:,}"),
        ("cards per 100 charts", lambda b: f"{100 * b.cards / b.charts:.1f}" if b.charts else "-"),
        ("charts that could not be evaluated", lambda b: f"{b.errors:,}"),
    ]
    rows = "".join(
        f"<tr><th>{_e(label)}</th>"
        + "".join(f'<td class="n">{_e(value(b))}</td>' for _, b in sets)
        + "</tr>"
        for label, value in lines
    )
    return f"<table><tr><th></th>{head}</tr>{rows}</table>"


def _histogram_svg(baseline: Burden, candidate: Burden | None) -> str:
    sets = [("in force", baseline, "#5d6d7e")]
    if candidate is not None:
        sets.append(("candidate", candidate, "#48c9b0"))
    width, height, left, bottom = 560, 220, 50, 30
    buckets = len(baseline.cards_per_chart)
    top = max(max(b.cards_per_chart) for _, b, _ in sets) or 1
    slot = (width - left) / buckets
    bar = slot * 0.8 / len(sets)
    shapes = []
    for i in range(buckets):
        label = f"{i}+" if i == buckets - 1 else str(i)
        x0 = left + i * slot + slot * 0.1
        shapes.append(
            f'<text x="{x0 + slot * 0.4:.1f}" y="{height - 10}" text-anchor="middle">{label}</text>'
        )
        for j, (name, b, colour) in enumerate(sets):
            value = b.cards_per_chart[i]
            h = (height - bottom - 20) * value / top
            x = x0 + j * bar
            y = height - bottom - h
            shapes.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{_e(name)}: {value:,} charts with {label} cards'
                f"</title></rect>"
                f'<text x="{x + bar / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle">{value:,}</text>'
            )
    legend = " ".join(f'<tspan fill="{colour}">■</tspan> {_e(name)}' for name, _, colour in sets)
    return (
        f'<svg width="{width}" height="{height + 20}" role="img" '
        f'aria-label="charts by number of cards">'
        f'<text x="{left}" y="12">charts by number of cards: {legend}</text>'
        f'<g transform="translate(0,20)">{"".join(shapes)}</g></svg>'
    )


def _rules_svg(baseline: Burden, candidate: Burden | None) -> str:
    sets = [("", baseline)] if candidate is None else [("now", baseline), ("cand.", candidate)]
    rules = _rule_order(baseline, candidate)
    if not rules:
        return '<p class="note">No card on any chart.</p>'
    by_rule = [{r.rule: r for r in b.rules} for _, b in sets]
    top = max((r.charts for b in by_rule for r in b.values()), default=1) or 1
    label_width, width, row = 230, 760, 16
    bar_space = width - label_width - 60
    shapes = []
    y = 20
    for rule in rules:
        shapes.append(f'<text x="0" y="{y + row * len(sets) / 2 + 4:.0f}">{_e(rule)}</text>')
        for (name, _), found in zip(sets, by_rule, strict=True):
            counts = found[rule].by_indicator if rule in found else {}
            x = float(label_width)
            for indicator in INDICATORS:
                n = counts.get(indicator, 0)
                w = bar_space * n / top
                if n:
                    shapes.append(
                        f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row - 3}" '
                        f'fill="{COLOURS[indicator]}"><title>{_e(rule)} {_e(name)}: {n:,} '
                        f"{indicator}</title></rect>"
                    )
                x += w
            total = sum(counts.values())
            tag = f"{_e(name)} " if name else ""
            shapes.append(f'<text x="{x + 4:.1f}" y="{y + row - 5}">{tag}{total:,}</text>')
            y += row
        y += 6
    legend = " ".join(f'<tspan fill="{COLOURS[i]}">■</tspan> {i}' for i in INDICATORS)
    return (
        f'<svg width="{width}" height="{y + 10}" role="img" aria-label="charts per rule">'
        f'<text x="0" y="12">charts with a card, by rule and indicator: {legend}</text>'
        f"{''.join(shapes)}</svg>"
    )


def _rule_order(baseline: Burden, candidate: Burden | None) -> list[str]:
    order = [r.rule for r in baseline.rules]
    if candidate is not None:
        order += [r.rule for r in candidate.rules if r.rule not in order]
    return order


def _rules_table(baseline: Burden, candidate: Burden | None) -> str:
    sets = [("in force", baseline)] + ([("candidate", candidate)] if candidate else [])
    head = (
        "<tr><th>rule</th>"
        + "".join(
            f'<th>{_e(name)}: versions</th><th class="n">charts</th><th class="n">share</th>'
            + "".join(f'<th class="n">{i}</th>' for i in INDICATORS)
            for name, _ in sets
        )
        + "</tr>"
    )
    rows = []
    for rule in _rule_order(baseline, candidate):
        cells = [f"<td>{_e(rule)}</td>"]
        for _, b in sets:
            found = {r.rule: r for r in b.rules}.get(rule)
            if found is None:
                cells.append("<td>-</td>" + '<td class="n">0</td>' * (2 + len(INDICATORS)))
                continue
            cells.append(f"<td>{_e(', '.join(found.versions))}</td>")
            cells.append(f'<td class="n">{found.charts:,}</td>')
            cells.append(f'<td class="n">{_pct(found.charts, b.charts)}</td>')
            cells += [f'<td class="n">{found.by_indicator.get(i, 0):,}</td>' for i in INDICATORS]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table>{head}{''.join(rows)}</table>" if rows else ""


def _comparison_summary(comparison: Comparison) -> str:
    changed = len(comparison.changed_charts)
    text = (
        f"<p>{comparison.charts:,} charts compared; {changed:,} "
        f"({_pct(changed, comparison.charts)}) see a different set of cards; "
        f"{len(comparison.changed_rules)} rule(s) change.</p>"
    )
    if comparison.only_baseline or comparison.only_candidate:
        text += (
            f'<p class="note">Not compared: {len(comparison.only_baseline)} chart(s) with '
            f"results under the pins in force only, {len(comparison.only_candidate)} under the "
            "candidate only.</p>"
        )
    return text


def _changes_svg(comparison: Comparison) -> str:
    changed = comparison.changed_rules
    if not changed:
        return '<p class="note">No rule gains, loses or changes a card on any chart.</p>'
    top = max(max(len(r.gained), len(r.lost), r.moved) for r in changed) or 1
    label_width, half, row = 230, 220, 18
    middle = label_width + half
    shapes = [
        f'<line x1="{middle}" y1="16" x2="{middle}" y2="{20 + row * len(changed)}" stroke="#999"/>'
    ]
    for i, change in enumerate(changed):
        y = 20 + i * row
        lost = half * len(change.lost) / top
        gained = half * len(change.gained) / top
        shapes.append(f'<text x="0" y="{y + 12}">{_e(change.rule)}</text>')
        shapes.append(
            f'<rect x="{middle - lost:.1f}" y="{y}" width="{lost:.1f}" height="{row - 4}" '
            f'fill="#922b21"><title>{len(change.lost):,} charts lose the card</title></rect>'
        )
        shapes.append(
            f'<rect x="{middle}" y="{y}" width="{gained:.1f}" height="{row - 4}" '
            f'fill="#1e8449"><title>{len(change.gained):,} charts gain the card</title></rect>'
        )
        shapes.append(
            f'<text x="{middle + gained + 4:.1f}" y="{y + 12}">-{len(change.lost):,} '
            f"/ +{len(change.gained):,}"
            + (f" / {change.moved:,} change indicator" if change.moved else "")
            + "</text>"
        )
    height = 30 + row * len(changed)
    return (
        f'<svg width="{middle + half + 200}" height="{height}" role="img" '
        f'aria-label="charts gained and lost per rule">'
        f'<text x="0" y="12">charts that lose (left) and gain (right) a card, per rule</text>'
        f"{''.join(shapes)}</svg>"
    )


def _changes_table(comparison: Comparison) -> str:
    rows = [
        "<tr><th>rule</th><th>versions (in force &rarr; candidate)</th>"
        '<th class="n">charts now</th><th class="n">charts with candidate</th>'
        '<th class="n">gained</th><th class="n">lost</th><th>indicator moves</th>'
        "<th>example charts</th></tr>"
    ]
    for change in comparison.changed_rules:
        rows.append(
            "<tr>"
            f"<td>{_e(change.rule)}</td>"
            f"<td>{_e(', '.join(change.baseline_versions) or '-')} &rarr; "
            f"{_e(', '.join(change.candidate_versions) or '-')}</td>"
            f'<td class="n">{change.baseline_charts:,}</td>'
            f'<td class="n">{change.candidate_charts:,}</td>'
            f'<td class="n gain">+{len(change.gained):,}</td>'
            f'<td class="n loss">-{len(change.lost):,}</td>'
            f"<td>{_moves(change)}</td>"
            f"<td>{_examples(change)}</td>"
            "</tr>"
        )
    unchanged = len(comparison.rules) - len(comparison.changed_rules)
    note = (
        f'<p class="note">{unchanged} other rule(s) with cards show them on the same charts, '
        "at the same indicator.</p>"
        if unchanged
        else ""
    )
    return f"<table>{''.join(rows)}</table>{note}" if len(rows) > 1 else note


def _moves(change: RuleChange) -> str:
    return (
        "<br>".join(
            f"{_e(a)} &rarr; {_e(b)}: {len(charts):,}" for (a, b), charts in change.moves.items()
        )
        or "-"
    )


def _examples(change: RuleChange) -> str:
    parts = []
    if change.gained:
        parts.append("gained: " + _e(", ".join(change.gained[:LISTED_CHARTS])))
    if change.lost:
        parts.append("lost: " + _e(", ".join(change.lost[:LISTED_CHARTS])))
    return "<br>".join(parts) or "-"


def _pins(facts: ReportFacts) -> str:
    candidate = set(facts.candidate_pins or ())
    baseline = set(facts.baseline_pins)

    def listed(pins: Iterable[str], other: set[str]) -> str:
        return ", ".join(
            f"<b>{_e(p)}</b>" if facts.candidate_pins is not None and p not in other else _e(p)
            for p in sorted(pins)
        )

    text = (
        f"<h2>Pins</h2><p>In force ({_e(facts.baseline_label)}): {listed(baseline, candidate)}</p>"
    )
    if facts.candidate_pins is not None:
        text += (
            f"<p>Candidate ({_e(facts.candidate_label)}): {listed(candidate, baseline)}</p>"
            "<p class=note>In bold: pins the other set does not have.</p>"
        )
    if facts.unreleased:
        text += (
            f"<p>Not yet released (cds/rules/released.json): {_e(', '.join(facts.unreleased))}</p>"
        )
    return text


def _problems(problems: Sequence[Problem]) -> str:
    if not problems:
        return "<h2>Input problems</h2><p>None: every line was read.</p>"
    items = "".join(f"<li><code>{_e(p)}</code></li>" for p in problems[:LISTED_PROBLEMS])
    more = (
        f"<p class=note>... and {len(problems) - LISTED_PROBLEMS:,} more (problems.jsonl).</p>"
        if len(problems) > LISTED_PROBLEMS
        else ""
    )
    return (
        f"<h2>Input problems</h2><p>{len(problems):,} skipped, none stopped the sweep:</p>"
        f"<ul>{items}</ul>{more}"
    )

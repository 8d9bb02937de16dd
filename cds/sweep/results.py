"""What a sweep produces for each chart, as plain values: the cards each set of pins showed
(rule, version, indicator, summary), the chart's data warnings, and an error if evaluation
failed. Also the problems found in the input. Pure; JSON in and out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class CardResult:
    rule: str
    version: str
    indicator: str
    summary: str
    # A candidate cause (§1.6 of the catalog): shown because a leg complaint is on record or the
    # drug is being ordered; False for a finding that stands on its own.
    candidate: bool = False

    @property
    def key(self) -> str:
        """rule@version: the provenance every card carries."""
        return f"{self.rule}@{self.version}"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "rule": self.rule,
            "version": self.version,
            "indicator": self.indicator,
            "summary": self.summary,
        }
        if self.candidate:
            data["candidate"] = True
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CardResult:
        return cls(
            str(data["rule"]),
            str(data["version"]),
            str(data["indicator"]),
            str(data["summary"]),
            bool(data.get("candidate", False)),
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """One chart under one set of pins."""

    cards: tuple[CardResult, ...]
    warnings: tuple[str, ...] = ()
    error: str | None = None  # evaluation failed: no cards, and why

    def to_json(self) -> dict[str, Any]:
        return {
            "cards": [c.to_json() for c in self.cards],
            "warnings": list(self.warnings),
            "error": self.error,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Outcome:
        return cls(
            cards=tuple(CardResult.from_json(c) for c in data.get("cards") or ()),
            warnings=tuple(str(w) for w in data.get("warnings") or ()),
            error=None if data.get("error") is None else str(data["error"]),
        )


@dataclass(frozen=True, slots=True)
class ChartResult:
    """One chart (one patient) of the population: the pins in force (`baseline`) and, when
    the sweep compares, the other set (`candidate`)."""

    chart: str  # the patient id
    baseline: Outcome
    candidate: Outcome | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"chart": self.chart, "baseline": self.baseline.to_json()}
        if self.candidate is not None:
            data["candidate"] = self.candidate.to_json()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChartResult:
        candidate = data.get("candidate")
        return cls(
            chart=str(data["chart"]),
            baseline=Outcome.from_json(data["baseline"]),
            candidate=None if candidate is None else Outcome.from_json(candidate),
        )


@dataclass(frozen=True, slots=True)
class Problem:
    """Something in the input that was skipped: a malformed line, a resource without a
    patient, a chart without its Patient. `line` is 1-based; None for a whole file."""

    source: str
    line: int | None
    message: str

    @property
    def sort_key(self) -> tuple[str, int, str]:
        return (self.source, self.line or 0, self.message)

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "line": self.line, "message": self.message}

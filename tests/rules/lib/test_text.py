"""cds.rules.lib.text.v1: numbers and lists worded the same way on every card."""

from __future__ import annotations

import pytest

from cds.rules.lib.text.v1 import capitalise, fmt, join_parts


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        (100, 0, "100"),
        (30, 0, "30"),
        (30.4, 0, "30"),
        (3.10, 2, "3.1"),
        (3.0, 1, "3"),
        (2450.0, 2, "2,450"),
        (-0.001, 2, "0"),
    ],
)
def test_fmt_strips_only_fractional_zeros(value: float, digits: int, text: str) -> None:
    assert fmt(value, digits) == text


def test_capitalise_keeps_the_rest() -> None:
    assert capitalise("simvastatin and ACE inhibitor") == "Simvastatin and ACE inhibitor"
    assert capitalise("") == ""


def test_join_parts_reserves_room_for_the_more_suffix_unless_asked_not_to() -> None:
    parts = ["aaaa", "bbbb", "cccc", "dddd"]
    # "aaaa, bbbb (+2 more)" is 20 characters: it fits in 20, not in 19.
    assert join_parts(parts, 20) == "aaaa, bbbb (+2 more)"
    assert join_parts(parts, 19) == "aaaa (+3 more)"
    # Without the reservation only the joined parts count: "aaaa, bbbb" is 10.
    assert join_parts(parts, 10) == "aaaa (+3 more)"
    assert join_parts(parts, 10, reserve_more=False) == "aaaa, bbbb (+2 more)"
    assert join_parts(parts, 1) == "aaaa (+3 more)"  # never fewer than one
    assert join_parts(["a", "b"], 50, " + ") == "a + b"

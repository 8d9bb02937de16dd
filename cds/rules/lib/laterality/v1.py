"""Which leg a coded complaint is about (for the side of a venous duplex, §22: left 39432-0,
right 39443-7, else bilateral 39420-5).

The side is read from the verified display of the value-set code the complaint matched
("Pain in right leg", "Localized swelling, mass and lump, left lower limb", "... bilateral"),
never guessed: a code whose display names no side says nothing, and complaints on both sides,
or a bilateral one, mean both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from cds.facts import Facts
from cds.record import ConditionEntry

Side = Literal["left", "right", "both"]
_SIDE_WORDS = re.compile(r"\b(left|right|bilateral)\b", re.IGNORECASE)


class Laterality:
    """Which leg a coded complaint is about."""

    def side_of(
        self, facts: Facts, complaints: Iterable[ConditionEntry], valueset: str
    ) -> Side | None:
        """The side the complaints name, through the displays of the codes they match in
        `valueset`; None when none names a side."""
        sides: set[str] = set()
        vs = facts.valueset(valueset)
        for complaint in complaints:
            matched = vs.match(complaint.codings)
            if matched is None:
                continue
            display = vs.display_of(matched)
            for word in _SIDE_WORDS.findall(display or ""):
                sides.add("both" if word.lower() == "bilateral" else word.lower())
        if not sides:
            return None
        if "both" in sides or sides == {"left", "right"}:
            return "both"
        (side,) = sides
        return "left" if side == "left" else "right"

"""Whether the patient is pregnant now (§13), as the DVT and pregnancy cards read it.

`Facts.pregnancy` is explicit evidence only (a pregnancy-status answer or a pregnancy
Condition, never sex or age); this adds when that evidence is stale: the record shows the
pregnancy has ended.
"""

from __future__ import annotations

from cds.facts import Facts, Pregnancy

# Beyond 42 weeks (post-term) a gestational age on record is stale: the pregnancy it describes
# has almost certainly ended.
LATEST_PLAUSIBLE_GESTATION_WEEKS = 42.0
# Value sets read here; rules that import this module list them in their own `valuesets`.
PREGNANCY_VALUESETS: tuple[str, ...] = (
    "pregnancy",
    "pregnancy-status",
    "gestational-age",
    "delivery",
)


def current_pregnancy(facts: Facts) -> Pregnancy | None:
    """Facts.pregnancy, unless the record shows it has ended: a delivery procedure after the
    pregnancy evidence, or a gestational age past 42 weeks."""
    pregnancy = facts.pregnancy
    if pregnancy is None:
        return None
    weeks = pregnancy.gestational_weeks
    if weeks is not None and weeks > LATEST_PLAUSIBLE_GESTATION_WEEKS:
        return None
    if pregnancy.when is not None:
        since = facts.days_ago(pregnancy.when)
        for delivery in facts.procedures_within("delivery", since):
            if (delivery.end or delivery.start or facts.as_of) >= pregnancy.when:
                return None
    return pregnancy

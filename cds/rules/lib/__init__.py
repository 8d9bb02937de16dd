"""Versioned rule libraries: the clinical questions rule versions share, and what they declare
alike (the orderables they suggest, `orders`; the FHIR data they read, `requirements`).

Each library is a package of version modules (`complaints/v1.py`, later `complaints/v2.py`),
each a mixin class of questions (`Complaints.leg_complaints`); a rule version's logic class
inherits them through `library.py` (`Library2026_11`, `Library2026_12`) and asks
`self.leg_complaints(facts)`. What a library method decides is part of the fingerprint of every
released rule version that reaches it (`cds.rules.fingerprint`), so once a released version uses
a method, the method is frozen: a change goes into the library's next version module, a subclass
overriding only what changed (`ComplaintsV2(Complaints)`), and new rule versions inherit the
newer library while released ones keep running the old. A method no released version reaches
can still be edited, and adding one never changes a released version. Pure helpers that decide
nothing clinical (formatting, unit-free comparisons) stay module functions.

Every clinical constant has one definition, here: the complaint window, the medication grace
period, when a pregnancy has ended, the electrolyte look-back and limits. Facts (`cds.facts`)
only finds entries by value set; these libraries say what the entries mean.

Libraries are pure, like rules: they read only the `Facts` they are given.
"""

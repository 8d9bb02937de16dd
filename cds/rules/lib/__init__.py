"""Versioned rule libraries: the clinical questions rule versions share, and what they declare
alike (the orderables they suggest, `orders`; the FHIR data they read, `requirements`).

Each library is a package of version modules (`complaints/v1.py`, later `complaints/v2.py`).
What a library function decides is part of the fingerprint of every released rule version that
reaches it (`cds.rules.fingerprint`), so once a released version uses a function, the function
is frozen: a change goes into the library's next version module, beside the old one, and new
rule versions import it while released ones keep running the old. A function no released
version reaches can still be edited, and adding one never changes a released version.

Every clinical constant has one definition, here: the complaint window, the medication grace
period, when a pregnancy has ended, the electrolyte look-back and limits. Facts (`cds.facts`)
only finds entries by value set; these libraries say what the entries mean.

Libraries are pure, like rules: they read only the `Facts` they are given.
"""

"""Population sweeps: a service evaluated over every chart of a FHIR Bulk Data export (or a
folder of patient Bundles), offline, to show a governance committee the alert burden of a set
of rule versions, and what changes from the versions in force, before they go live.

    sources.py   which files, chunks of them (IO)
    charts.py    lines and Bundles to charts, charts to results: what every engine runs (pure)
    evaluate.py  the one link to the evaluation path: chart -> hook request -> cards
    local.py     the local engine: a process pool on one machine
    spark.py     the Spark engine (optional extra `sweep`)
    run.py       one sweep, start to end
    compare.py   per rule: charts gained, lost, indicator moves (pure)
    report.py    the figures and the HTML report (pure)
"""

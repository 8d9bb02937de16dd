"""Replaying patient data against the service and judging the cards that come back.

- `scenario`: what is replayed (scenario folders, bare hook requests, patient Bundles) and the
  scenario format with its expectations;
- `hook_request`: a hook request built from a patient's Bundle, prefetch filled by the local
  FHIR search (`cds.fhir.local_search`);
- `targets`: where requests are answered, in process (the HTTP route's own path,
  `cds.service_call`, at a chosen `as_of`) or over HTTP against a running service;
- `judge`: an answer's cards against the expectations, and the diff;
- `runner`: the replayer, its results and their summary.

`cds replay` (`cds.cli.replay`) is the command line on top. Nothing here imports the HTTP layer
(`cds.api`): the in-process target takes the same call path without it.
"""

#!/bin/sh
# Container start: validate configuration, migrate the database, then serve.
# Every step fails loudly and stops the container (compose restarts it). `cds migrate` is safe to
# run from several replicas at once (they take turns on a PostgreSQL advisory lock).
# With arguments, runs them instead (e.g. `docker compose run --rm cds cds audit`).
set -eu
if [ "$#" -gt 0 ]; then
    exec "$@"
fi
cds check
cds migrate
# exec: `cds serve` becomes the process that receives SIGTERM and stops the workers cleanly.
exec cds serve

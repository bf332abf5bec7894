#!/bin/sh
# vet_scale.sh with its records on a PostgreSQL server of its own (pg.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
trap 'pg_stop' EXIT
if ! pg_start; then pg_not_run "pg: vet_scale.sh"; exit 0; fi
pg_run vet_scale sh "$ROOT/tests/cli/vet_scale.sh"

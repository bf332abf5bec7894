#!/bin/sh
# soak.sh with its record on a PostgreSQL server of its own (pg.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
trap 'pg_stop' EXIT
if ! pg_start; then pg_not_run "pg: soak.sh"; exit 0; fi
pg_run soak sh "$ROOT/tests/cli/soak.sh"

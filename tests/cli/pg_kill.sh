#!/bin/sh
# kill.sh with its record on a PostgreSQL server of its own (pg.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
trap 'pg_stop' EXIT
if ! pg_start; then pg_not_run "pg: kill.sh"; exit 0; fi
pg_run kill sh "$ROOT/tests/cli/kill.sh"

#!/bin/sh
# sources.sh with its record on a PostgreSQL server of its own (pg.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
trap 'pg_stop' EXIT
if ! pg_start; then pg_not_run "pg: sources.sh"; exit 0; fi
pg_run sources sh "$ROOT/tests/cli/sources.sh"

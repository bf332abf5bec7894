#!/bin/sh
# own_dimensions.sh with its records on a PostgreSQL server of its own (pg.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
trap 'pg_stop' EXIT
if ! pg_start; then pg_not_run "pg: own_dimensions.sh"; exit 0; fi
# A short name for its directory: `vouch runs` shows the inputs' paths in a
# column of limited width, which the test reads.
pg_run own sh "$ROOT/tests/cli/own_dimensions.sh"

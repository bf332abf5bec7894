#!/bin/sh
# concurrency.sh with its records on a PostgreSQL server of its own (pg.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
trap 'pg_stop' EXIT
if ! pg_start; then pg_not_run "pg: concurrency.sh"; exit 0; fi
pg_run concurrency sh "$ROOT/tests/cli/concurrency.sh"

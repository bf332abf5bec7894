#!/bin/sh
# tests/lua/schedule_test.lua with its record on a PostgreSQL server of its
# own (pg.sh), run as tests/run.sh runs a Lua test.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
trap 'pg_stop' EXIT
if ! pg_start; then pg_not_run "pg: schedule_test.lua"; exit 0; fi
pg_run schedule_lua "$VOUCH" run --allow-write="$TMP/schedule_lua" \
  --allow-read="$ROOT/tests,$ROOT/examples,$ROOT/scripts,$TMP/schedule_lua" \
  "$ROOT/tests/lua/schedule_test.lua" server

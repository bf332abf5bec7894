#!/bin/sh
# tests/lua/db_test.lua with its record on a PostgreSQL server of its own
# (pg.sh), run as tests/run.sh runs a Lua test; then what the server holds,
# table by table, against what the test wrote it should (server.TABLE, in
# psql -A -t -0's form: records ended by a NUL, fields apart by \037).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
trap 'pg_stop' EXIT
if ! pg_start; then pg_not_run "pg: db_test.lua"; exit 0; fi
pg_run db_lua "$VOUCH" run --allow-write="$TMP/db_lua" \
  --allow-read="$ROOT/tests,$ROOT/examples,$ROOT/scripts,$TMP/db_lua" \
  "$ROOT/tests/lua/db_test.lua" server
rc=$?

# server_rows TABLE COLUMNS ORDER: the rows of TABLE as db_test.lua writes
# them; a float column is named COLUMN::numeric (15 digits, as it writes).
server_rows() {
  _f=
  for _c in $(echo "$2" | tr -d ','); do _f="$_f${_f:+, }coalesce($_c::text, '\\N')"; done
  "$PG_BIN/psql" -X -q -A -t -0 -v ON_ERROR_STOP=1 -d "$(_pg_uri db_lua)" \
    -c "SELECT concat_ws(chr(31), $_f) FROM $1 ORDER BY $3"
}
for t in "runs|id, scorecard, scorecard_hash, inputs, started_at, ended_at, status, started_by, pid, partners, error|id" \
         "scorecards|hash, name, dimensions, weights, source, rules|hash COLLATE \"C\"" \
         "loads|id, source, format, hash, rows, bad_rows, target, loaded_at, size, columns|id" \
         "run_loads|run_id, load_id|run_id, load_id" "inputs|load_id, row, vals|load_id, row" \
         "scores|run_id, partner_id, name, kind, total::numeric, verdict, dims, reasons, load_id, row|run_id, partner_id COLLATE \"C\""; do
  name=${t%%|*} rest=${t#*|}
  cols=${rest%%|*} order=${rest#*|}
  want=$TMP/db_lua/server.$name got=$TMP/db_lua/server.$name.got
  if [ ! -f "$want" ]; then
    echo "not ok - pg: the server's $name as db_test.lua wrote them: it wrote none"
  elif ! server_rows "$name" "$cols" "$order" >"$got"; then
    echo "not ok - pg: the server's $name as db_test.lua wrote them: psql failed"
  elif cmp -s "$want" "$got"; then
    echo "ok - pg: the server's $name as db_test.lua wrote them"
  else
    echo "not ok - pg: the server's $name as db_test.lua wrote them (< written, > on the server)"
    tr '\0\037' '\n|' <"$want" >"$want.txt"; tr '\0\037' '\n|' <"$got" >"$got.txt"
    diff "$want.txt" "$got.txt" | head -n 10 | sed 's/^/# /'
  fi
done
exit "$rc"

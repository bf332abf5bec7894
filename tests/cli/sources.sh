#!/bin/sh
# Sources in the wild: a partner API that wants a key, answers in pages
# (Link and cursor), limits the rate, fails now and then and serves ETags
# (tests/http_server.py's /api). Runs tests/lua/sources_cases.lua, then
# examples/sources/api_vet.lua twice (the second run revalidates: no full
# body is sent), and checks that the key never shows: not in any output,
# the database, a schedule row or the REPL's history. The record is a file,
# or a database of a server under pg_sources.sh; there the stored responses
# are in the user's copy of the server's runs, a file, searched for the key
# with the server's rows.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

KEY="sk-live-$$-7f3a9c2e"
API_KEY=$KEY python3 "$ROOT/tests/http_server.py" "$TMP/port" &
server=$!
trap 'kill $server 2>/dev/null' EXIT
i=0
while [ ! -s "$TMP/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if [ ! -s "$TMP/port" ]; then
  echo "not ok - the test server did not start"
  exit 1
fi
PORT=$(cat "$TMP/port")
URL="http://127.0.0.1:$PORT"
export PARTNER_API_KEY="$KEY"
DB=$(record sources)
# qdb SQL: SQL on the record, a file or a server (lib.sh's q).
qdb() { (VOUCH_DB=$DB; q "$1"); }
: > "$TMP/all.out"

$VOUCH run --db "$DB" --timeout 300 --allow-net=127.0.0.1 --allow-env=PARTNER_API_KEY \
  --allow-read="$ROOT/tests" "$ROOT/tests/lua/sources_cases.lua" "$PORT" >cases.out 2>cases.err
rc=$?
cat cases.out
cat cases.out cases.err >> "$TMP/all.out"
[ $rc -eq 0 ] || { echo "not ok - sources_cases.lua exited with $rc"; sed 's/^/# /' cases.err | head -20; }

check "vouch.env without the grant names the flag" 1 \
  "environment access to PARTNER_API_KEY denied \(allow it with --allow-env=PARTNER_API_KEY\)" -- \
  $VOUCH --db "$DB" -e "vouch.env('PARTNER_API_KEY')"
check "--allow-env grants the names given, no other" 1 \
  "environment access to HOME denied \(allow it with --allow-env=HOME\)" -- \
  $VOUCH --db "$DB" --allow-env=PARTNER_API_KEY -e "assert(vouch.env('PARTNER_API_KEY')) vouch.env('HOME')"
check "--allow-env refuses what is not a variable name" 2 "bad --allow-env 'A-B'" -- \
  $VOUCH --db "$DB" --allow-env=A-B -e "1"
check "an error that holds the key shows ***" 1 "bad key \*\*\*\$" -- \
  $VOUCH --db "$DB" --allow-env=PARTNER_API_KEY -e "error('bad key ' .. vouch.env('PARTNER_API_KEY'), 0)"
$VOUCH --db "$DB" --allow-env=PARTNER_API_KEY -e "error('bad key ' .. vouch.env('PARTNER_API_KEY'))" \
  >> "$TMP/all.out" 2>&1

# The example, twice: the second run transfers no body.
run_example() {
  $VOUCH --db "$DB" --timeout 120 --allow-net=127.0.0.1 --allow-env=PARTNER_API_KEY \
    run "$ROOT/examples/sources/api_vet.lua" "$URL" "$@" 2>&1
}
stats_reset() { $VOUCH --allow-net=127.0.0.1 -e "vouch.http.get('$URL/api/stats/reset')"; }
stats_reset
stats() { $VOUCH --allow-net=127.0.0.1 -e "print(vouch.http.get('$URL/api/stats').body)"; }
check "the example vets every partner of the paged API" 0 \
  "^50 partners from 5 pages \(5 requests\): run [0-9]+, [0-9]+ approve" -- run_example
run_example >> "$TMP/all.out"
s=$(stats)
case $s in
  *'"bodies": 5,'*'"not_modified": 5,'*'"unauthorized": 0,'*) echo "ok - the re-run revalidated every page: no full body sent" ;;
  *) echo "not ok - the re-run revalidated every page: $s" ;;
esac
check "the example reads a cursor API too" 0 "^50 partners from 5 pages" -- run_example cursor

check "vouch cache lists the stored responses, without the key" 0 "/api/partners\?page=5" -- \
  $VOUCH --db "$DB" cache
$VOUCH --db "$DB" cache >> "$TMP/all.out" 2>&1
check "vouch cache --format json parses, the key kept out" 0 '^[1-9][0-9]* http://127.0.0.1:[0-9]+/api/' -- sh -c '
  "$0" --db "$1" cache --format json | python3 -c "import json,sys; d = json.load(sys.stdin)
print(d[\"count\"], d[\"responses\"][0][\"url\"]); assert \"key\" not in d[\"responses\"][0]"' \
  "$VOUCH" "$DB"
check "vouch cache prune --all empties it" 0 "removed [0-9]+ stored responses" -- \
  $VOUCH --db "$DB" cache prune --all
check "after the prune, nothing is cached" 0 "^0 stored responses" -- $VOUCH --db "$DB" cache

# A schedule keeps the names it was granted, never the value.
check "schedule add records the env grant" 0 "" -- \
  $VOUCH --db "$DB" --allow-net=127.0.0.1 --allow-env=PARTNER_API_KEY schedule add api \
  '0 6 * * *' "$ROOT/examples/sources/api_vet.lua" "$URL"
g=$(qdb "SELECT grants FROM schedules WHERE name = 'api'")
case $g in
  *'"env":["PARTNER_API_KEY"]'*) echo "ok - the schedule's grants name PARTNER_API_KEY" ;;
  *) echo "not ok - the schedule's grants name PARTNER_API_KEY: $g" ;;
esac
check "a scheduled run gets the key through its grant" 0 "50 partners from 5 pages" -- \
  $VOUCH --db "$DB" --allow-net=127.0.0.1 --allow-env=PARTNER_API_KEY --allow-read="$ROOT,$TMP" \
  schedule run api
check "a daemon without the grant refuses the run" 1 "environment access to PARTNER_API_KEY denied" -- \
  $VOUCH --db "$DB" --allow-net=127.0.0.1 --allow-read="$ROOT,$TMP" schedule run api
r=$(qdb "SELECT error FROM schedule_runs ORDER BY id DESC LIMIT 1")
case $r in
  *"environment access to PARTNER_API_KEY denied"*) echo "ok - the refusal is recorded: $r" ;;
  *) echo "not ok - the refusal is recorded: $r" ;;
esac
# A scheduled run that prints the key and fails with it: stored as ***.
cat > "$TMP/leaky.lua" <<'END'
print("the key is " .. vouch.env("PARTNER_API_KEY"))
error("failed with " .. vouch.env("PARTNER_API_KEY"))
END
$VOUCH --db "$DB" --allow-env=PARTNER_API_KEY schedule add leaky '0 6 * * *' "$TMP/leaky.lua" >/dev/null 2>&1
$VOUCH --db "$DB" --allow-env=PARTNER_API_KEY schedule run leaky >> "$TMP/all.out" 2>&1
o=$(qdb "SELECT output || ' / ' || error FROM schedule_runs WHERE schedule = 'leaky'")
case $o in
  *"the key is ***"*"failed with ***"*) echo "ok - a run's stored output and error show the key as ***" ;;
  *) echo "not ok - a run's stored output and error show the key as ***: $o" ;;
esac

# The REPL: echo and history.
HIST="$TMP/history"
if python3 -c 'import pty' 2>/dev/null; then
  VOUCH_HISTORY="$HIST" timeout 90 python3 "$ROOT/tests/pty_harness.py" --timeout 15 -- \
    $VOUCH --db "$DB" --allow-env=PARTNER_API_KEY repl > "$TMP/repl.out" 2>&1 <<END
screen ^vouch>\$
send k = vouch.env("PARTNER_API_KEY")\r
screen ^vouch>\$
send k\r
expect ^"\*\*\*"\$
screen ^vouch>\$
send "$KEY" == k\r
expect ^true\$
screen ^vouch>\$
send \x04
eof
END
  rc=$?
  if [ $rc -eq 0 ]; then echo "ok - the REPL echoes the key as ***"
  else echo "not ok - the REPL echoes the key as ***"; sed 's/^/# /' "$TMP/repl.out" | head -20; fi
  cat "$TMP/repl.out" >> "$TMP/all.out"
  if [ -s "$HIST" ] && grep -q 'PARTNER_API_KEY' "$HIST" && ! grep -q "$KEY" "$HIST"; then
    echo "ok - the REPL's history holds the key as ***"
  else
    echo "not ok - the REPL's history holds the key as ***"
  fi
else
  echo "ok - the REPL echoes the key as *** # SKIP no pty module"
fi

# Nowhere the key: outputs, the database and its WAL, logs; on a server,
# every row of its database and the user's copy, with its WAL.
on_pg || sqlite3 "$DB" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
if grep -q "$KEY" "$TMP/all.out"; then
  echo "not ok - no output holds the key"; grep -n "$KEY" "$TMP/all.out" | head -5 | sed 's/^/# /'
else
  echo "ok - no output holds the key"
fi
if on_pg; then
  if ! "$PG_BIN/pg_dump" -d "$DB" >"$TMP/server.sql"; then
    echo "not ok - no stored row holds the key: pg_dump failed"
  elif ! ls "$XDG_CACHE_HOME"/vouch/record-*.db >/dev/null 2>&1; then
    echo "not ok - no stored row holds the key: no copy of the record in $XDG_CACHE_HOME/vouch"
  elif grep -aq "$KEY" "$TMP/server.sql" "$XDG_CACHE_HOME"/vouch/record-*; then
    echo "not ok - no stored row holds the key"
    grep -al "$KEY" "$TMP/server.sql" "$XDG_CACHE_HOME"/vouch/record-* | sed 's/^/# in /'
  else
    echo "ok - no stored row holds the key"
  fi
elif grep -aq "$KEY" "$DB" "$DB-wal" 2>/dev/null; then
  echo "not ok - no stored row holds the key"
else
  echo "ok - no stored row holds the key"
fi
n=$(qdb "SELECT count(*) FROM runs")
[ "$n" -ge 4 ] && echo "ok - the runs were stored ($n)" || echo "not ok - the runs were stored ($n)"

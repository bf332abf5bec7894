#!/bin/sh
# The schedules' record on a PostgreSQL server that fails under them: the
# server restarted in the middle of runs, every connection dropped, a row
# locked by another session past the lock timeout. A daemon neither crashes
# nor stops: what it could not write it writes once the server is back,
# and the record is left consistent (no run left running, every due time
# recorded once).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
pids=
trap 'for p in $pids; do kill -9 $p 2>/dev/null; done; pg_stop' EXIT
if ! pg_start; then
  pg_not_run "faults: restart mid-run" "faults: dropped connections" "faults: a locked row" \
    "faults: the record is consistent" "faults: the daemon survives"
  exit 0
fi
cd "$TMP"
export VOUCH_DB="$PG_URI" VOUCH_NOW=2026-01-01T00:00:00Z XDG_CACHE_HOME="$TMP/cache"
q() { pg_sql "$PG_URI" "$1"; }
printf 'vouch.sleep(1500) print("done")\n' > slow.lua
"$VOUCH" schedule add slow 'every 1m' slow.lua --missed each --overlap queue >/dev/null
echo 2026-01-01T00:00:30Z > clock
"$VOUCH" daemon --clock clock --poll 100 --lease 5 --log d.log 2>d.err &
d=$!; pids="$pids $d"
# Wait (up to 60 s) for $2 runs ending as $1 ... of schedule slow.
count() { q "SELECT count(*) FROM schedule_runs WHERE schedule = 'slow' AND status = '$1'"; }
wait_count() {
  n=0
  while [ "$(count "$1")" -lt "$2" ] 2>/dev/null; do
    n=$((n + 1)); [ $n -gt 600 ] && return 1; sleep 0.1
  done
}
wait_running() {
  n=0
  while [ "$(q "SELECT count(*) FROM schedule_runs WHERE status = 'running'" 2>/dev/null)" != 1 ]; do
    n=$((n + 1)); [ $n -gt 600 ] && return 1; sleep 0.05
  done
}

# 1. The server restarts while a run is running: the run's end is written
#    on a new connection.
echo 2026-01-01T00:01:00Z > clock
wait_running
pg_restart
if wait_count ok 1; then echo "ok - faults: restart mid-run: the run's end is recorded"
else echo "not ok - faults: restart mid-run: the run's end is recorded"; sed 's/^/# /' d.log | tail -n 15; fi

# 2. Every connection dropped in the middle of a run.
echo 2026-01-01T00:02:00Z > clock
wait_running
pg_kill_backends "$PG_URI"
if wait_count ok 2; then echo "ok - faults: dropped connections: the run's end is recorded"
else echo "not ok - faults: dropped connections: the run's end is recorded"; sed 's/^/# /' d.log | tail -n 15; fi

# 3. Another session holds the schedule's row past the lock timeout: the
#    daemon's writes wait, fail, and are made again at a later poll.
echo 2026-01-01T00:03:00Z > clock
wait_running
( pg_sql "$PG_URI" "BEGIN; SELECT name FROM schedules WHERE name = 'slow' FOR UPDATE;
                    SELECT pg_sleep(12); COMMIT;" >/dev/null 2>&1 & )
sleep 0.5
echo 2026-01-01T00:04:00Z > clock
if wait_count ok 4; then echo "ok - faults: a locked row: the runs are recorded once it is free"
else echo "not ok - faults: a locked row: the runs are recorded once it is free"; sed 's/^/# /' d.log | tail -n 15; fi

# So far the daemon kept its lease: no wait on the server outlasted it.
check "faults: the daemon kept its lease through a restart, drops and a locked row" 0 '^$' -- \
  sh -c "grep ' lease ' d.log; true"

# 4. The server down for longer than the lease: the daemon loses it, joins
#    again when the server is back, and goes on.
_pg_as "$PG_BIN/pg_ctl" stop -D data -m fast -w -t 60 >/dev/null 2>&1
sleep 7
echo 2026-01-01T00:05:00Z > clock
_pg_as "$PG_BIN/pg_ctl" start -D data -l log -w -t 60 >/dev/null 2>&1 && _pg_ready
if wait_count ok 5; then echo "ok - faults: the server down past the lease: the daemon goes on after"
else echo "not ok - faults: the server down past the lease: the daemon goes on after"; sed 's/^/# /' d.log | tail -n 15; fi

if kill -0 "$d" 2>/dev/null; then echo "ok - faults: the daemon survives"
else echo "not ok - faults: the daemon survives"; sed 's/^/# /' d.err | tail -n 10; fi
kill -TERM "$d"; wait "$d" 2>/dev/null; pids=
[ -n "${FAULTS_LOG:-}" ] && cp d.log "$FAULTS_LOG"
check "faults: the record is consistent: no run left running, each due time once" 0 '^0 0 5$' -- \
  sh -c "pg_sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 \"\$1\" -c \"\$2\"; }; echo \$(pg_sql '$PG_URI' \"SELECT count(*) FROM schedule_runs WHERE status = 'running'\") \
    \$(pg_sql '$PG_URI' \"SELECT count(*) FROM (SELECT scheduled_for FROM schedule_runs WHERE status = 'ok' GROUP BY 1 HAVING count(*) > 1) x\") \
    \$(pg_sql '$PG_URI' \"SELECT count(DISTINCT scheduled_for) FROM schedule_runs WHERE status = 'ok'\")"

# 5. vouch serve while the server is away: its pages are served from the
#    copy of the server's runs without waiting on it; the outage is said
#    once, and so is its end.
"$VOUCH" vet --rules supplier "$ROOT/examples/partners.csv" >/dev/null
serve_start
pids="$pids $SERVE_PID"
_pg_as "$PG_BIN/pg_ctl" stop -D data -m fast -w -t 60 >/dev/null 2>&1
n=0; until grep -q 'the pages show the copy' serve.err || [ $n -gt 300 ]; do n=$((n + 1)); sleep 0.1; done
check "faults: serve: the server away, the runs are served from the copy at once" 0 \
  '"scorecard": *"supplier"' -- curl -s --max-time 8 -H "Authorization: Bearer $TOKEN" "$BASE/api/runs"
check "faults: serve: ... and a page" 0 '^200$' -- curl -s -o /dev/null -w '%{http_code}' \
  --max-time 8 -H "Authorization: Bearer $TOKEN" "$BASE/"
sleep 2
check "faults: serve: ... the outage said once, naming the server's error" 0 '^1$' -- \
  sh -c "grep -c \"vouch: serve: the record on the server: .*; the pages show the copy\" serve.err"
_pg_as "$PG_BIN/pg_ctl" start -D data -l log -w -t 60 >/dev/null 2>&1 && _pg_ready
n=0; until grep -q "the record's server is back" serve.err || [ $n -gt 600 ]; do n=$((n + 1)); sleep 0.1; done
check "faults: serve: ... and its end, once" 0 '^1$' -- sh -c "grep -c \"server is back\" serve.err"
ok "faults: serve: still serving" kill -0 "$SERVE_PID"
kill "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null

# kill.sh: nothing is lost when a writing vouch is killed. A script writes
# runs in a loop as the commands do (the run row committed as 'running',
# then its scores, its reasons and its final status in one transaction);
# it is killed with SIGKILL at random moments, and after each kill the file
# must pass PRAGMA integrity_check and, once vouch has opened it again, every
# run must be complete (status ok with all its scores and reasons) or
# aborted with none. On a server's record (pg_kill.sh) a run is held under
# a lease of 1 s and its rows are sent when it ends: after each kill the
# writer's connections must be gone (one left would hold the run's row),
# and once the lease has run out and a reader has come, the same holds;
# each aborted run says why, and a reader's copy of the runs is the server's.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1
DB=${VOUCH_TEST_DB:-kill.db}
VOUCH_DB=$DB  # q's
lease=
if on_pg; then KILLS=${KILLS:-12} lease=', lease = 1000'; fi
KILLS=${KILLS:-30}
N=400   # scores per run

cat > writer.lua <<EOF
local db = vouch.db.open()
local N = $N
while true do
  local run = db:run_begin { scorecard = "kill", hash = "h"$lease }
  local reasons = { "LOW_EVIDENCE", "review", 0, 1, false }
  db:tx(function()
    for i = 1, N do
      db:run_score(run, "P" .. i, nil, nil, i / 8, "review", nil, nil, {}, reasons)
    end
    db:run_end(run, "ok", N)
  end)
end
EOF

# zero N SQL: up to N tenths of a second for SQL to print 0.
zero() {
  _n=0
  while [ "$(q "$2" 2>&1)" != 0 ]; do
    _n=$((_n + 1)); [ $_n -le "$1" ] || return 1; sleep 0.1
  done
}
# On a server: the connections to the record other than q's own.
conns="SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
         AND backend_type = 'client backend' AND pid <> pg_backend_pid()"

# made: whether the writer got as far as making the record. On a server,
# once its connections are gone (up to 30 s), so that what it began ends.
made() {
  if on_pg; then
    zero 300 "$conns"
    [ -n "$(q "SELECT to_regclass('runs')")" ]
  else
    [ -f kill.db ]
  fi
}

verify() {  # prints nothing when the database is consistent, else what is wrong
  if on_pg; then
    # one left would hold the run's row, and no reader could mark it
    zero 0 "$conns" || { echo "the killed writer's connections are still open"; return; }
    # by the server's clock; then a reader marks the run aborted
    zero 300 "SELECT count(*) FROM runs WHERE status = 'running' AND lease_until >= now()" ||
      { echo "a lease did not run out: $(q "SELECT id, lease_until, now() FROM runs
                                          WHERE status = 'running'" 2>&1)"; return; }
    "$VOUCH" --db "$DB" runs >/dev/null 2>&1 || { echo "vouch runs could not read the record"; return; }
  else
    ic=$(sqlite3 kill.db "PRAGMA integrity_check" 2>&1)
    [ "$ic" = ok ] || { echo "integrity_check: $ic"; return; }
  fi
  "$VOUCH" --db "$DB" -e 'vouch.db.open()' 2>&1 || { echo "vouch could not reopen the record"; return; }
  q <<EOF 2>&1
    SELECT 'run ' || id || ' still running' FROM runs WHERE status = 'running';
    SELECT 'run ' || id || ' is ' || status || ' with ' ||
           (SELECT count(*) FROM scores WHERE run_id = runs.id) || ' scores and ' ||
           (SELECT count(*) FROM scores WHERE run_id = runs.id AND reasons <> '[]') || ' reasons'
      FROM runs
     WHERE NOT ((status = 'ok' AND partners = $N
                 AND (SELECT count(*) FROM scores WHERE run_id = runs.id) = $N
                 AND (SELECT count(*) FROM scores WHERE run_id = runs.id AND reasons <> '[]') = $N)
             OR (status = 'aborted' AND ended_at IS NOT NULL
                 AND NOT EXISTS (SELECT 1 FROM scores WHERE run_id = runs.id)));
EOF
  on_pg || q "PRAGMA foreign_key_check" 2>&1  # a server checks its keys as it writes
}

i=1
while [ "$i" -le "$KILLS" ]; do
  "$VOUCH" --db "$DB" --timeout 60 run writer.lua >/dev/null 2>&1 &
  pid=$!
  # 10 ms to 400 ms: some kills land in start-up and the first migration
  sleep "$(awk -v s="$i$$" 'BEGIN { srand(s); printf "%.3f", 0.01 + rand() * 0.39 }')"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  if ! made; then
    echo "ok - kill $i: killed before the database was created"
  else
    bad=$(verify)
    if [ -z "$bad" ]; then
      echo "ok - kill $i: the database is intact and every run complete or aborted"
    else
      echo "not ok - kill $i:"
      printf '%s\n' "$bad" | head -n 10 | sed 's/^/# /'
    fi
  fi
  i=$((i + 1))
done

summary=$(q "SELECT count(*) FILTER (WHERE status = 'ok') || ' complete, ' ||
  count(*) FILTER (WHERE status = 'aborted') || ' aborted' FROM runs")
echo "# $KILLS kills: runs $summary"
# The test means something only if the writer got runs through, and was cut
# short in the middle of some.
check "runs were completed between the kills" 0 '' -- \
  test "$(q "SELECT count(*) FROM runs WHERE status = 'ok'")" -gt 0
check "runs were cut short by the kills" 0 '' -- \
  test "$(q "SELECT count(*) FROM runs WHERE status = 'aborted'")" -gt 0
if on_pg; then
  check "each aborted run says its lease ran out" 0 '^0$' -- \
    q "SELECT count(*) FROM runs WHERE status = 'aborted'
         AND error NOT LIKE 'process % stopped renewing the run''s lease before the run finished'"
  # the last reader brought it up to date
  runs="SELECT id, status, partners, (SELECT count(*) FROM scores WHERE run_id = runs.id)
          FROM runs ORDER BY id"
  copy=$(ls "$XDG_CACHE_HOME"/vouch/record-*.db)
  check "a reader's copy of the runs is the server's" 0 '' -- \
    test "$(sqlite3 "$copy" "$runs")" = "$(q "$runs")"
fi

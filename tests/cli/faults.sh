# faults.sh: vouch under faults. Each case gives a clear error, loses
# nothing already stored, and (for the daemon) keeps running:
#   - kill -9 of `vouch vet` at random moments (the real scoring path)
#   - kill -9 of the daemon at random moments while schedules run
#   - a full disk (a small tmpfs mounted here; skipped, with a reason, only
#     when mounting is not permitted), a read-only database, a database
#     locked by another process (the sqlite3 shell holding BEGIN EXCLUSIVE)
#   - an input file deleted or truncated in the middle of a load
#   - an HTTP server that stalls, or resets the connection
# FAULT_KILLS (default 8) sets how many kills of each kind.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1
KILLS=${FAULT_KILLS:-8}
pids=
mnt=
cleanup() {
  for p in $pids; do kill -9 "$p" 2>/dev/null; done
  [ -z "$mnt" ] || umount "$mnt" 2>/dev/null
}
trap cleanup EXIT

# partners N FILE: N partners made from the examples (ids made unique).
partners() {
  awk -F, -v OFS=, -v n="$1" 'NR == 1 { print; next } { rows[++m] = $0 }
    END { for (k = 0; k * m < n; k++) for (i = 1; i <= m && k * m + i <= n; i++) {
            $0 = rows[i]; $1 = sprintf("K%04d%s", k, $1); print } }' "$ROOT/examples/partners.csv" >"$2"
}
partners 3000 big.csv
partners 300 small.csv

# runs_ok DB: nothing when every scoring run is complete (ok, with one
# score per partner) or left nothing (aborted or failed, no scores or
# reasons) and the file is intact; else what is wrong.
runs_ok() {
  ic=$(sqlite3 "$1" "PRAGMA integrity_check" 2>&1)
  [ "$ic" = ok ] || { echo "integrity_check: $ic"; return; }
  "$VOUCH" --db "$1" -e 'vouch.db.open()' 2>&1 || { echo "vouch could not reopen $1"; return; }
  sqlite3 "$1" "
    SELECT 'run ' || id || ' still running' FROM runs WHERE status = 'running';
    SELECT 'run ' || id || ' is ' || status || ' with ' ||
           (SELECT count(*) FROM scores WHERE run_id = runs.id) || ' scores of ' || ifnull(partners, '?')
      FROM runs
     WHERE NOT ((status = 'ok' AND partners = (SELECT count(*) FROM scores WHERE run_id = runs.id)
                 AND partners > 0)
             OR (status IN ('aborted', 'failed')
                 AND NOT EXISTS (SELECT 1 FROM scores WHERE run_id = runs.id)
                 AND NOT EXISTS (SELECT 1 FROM reasons WHERE run_id = runs.id)));
    PRAGMA foreign_key_check;" 2>&1
}
count() { sqlite3 "$1" "$2" 2>/dev/null; }
# orphans_gone DB: wait (at most 30 s) until no process of a run still
# marked running lives: the children a killed daemon left behind.
alive() {
  for p in $(sqlite3 "$1" "SELECT pid FROM schedule_runs WHERE status = 'running'
                         UNION SELECT pid FROM runs WHERE status = 'running'" 2>/dev/null); do
    kill -0 "$p" 2>/dev/null && return 0
  done
  return 1
}
orphans_gone() { n=0; while [ $n -lt 150 ] && alive "$1"; do n=$((n + 1)); sleep 0.2; done; }
# pause MAX: a random pause of 0.05 to MAX seconds
pause() { sleep "$(od -An -N2 -tu2 /dev/urandom | awk -v m="$1" '{ printf "%.2f", 0.05 + $1 / 65535 * (m - 0.05) }')"; }

# {== kill -9 of vouch vet ==}
# Kills land anywhere in the time one whole vet takes here.
s=$(date +%s%N); "$VOUCH" --db vet.db vet big.csv >/dev/null 2>&1; e=$(date +%s%N)
span=$(awk -v d=$(( (e - s) / 1000000 )) 'BEGIN { printf "%.2f", d / 1000 * 1.2 }')
i=1
while [ "$i" -le "$KILLS" ]; do
  "$VOUCH" --db vet.db vet big.csv >/dev/null 2>&1 &
  p=$!
  pause "$span"
  kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null
  if [ -f vet.db ]; then
    bad=$(runs_ok vet.db)
    if [ -z "$bad" ]; then echo "ok - vet killed ($i): every run complete or empty"
    else echo "not ok - vet killed ($i):"; printf '%s\n' "$bad" | head -n 5 | sed 's/^/# /'; fi
  else
    echo "ok - vet killed ($i) before the database existed"
  fi
  i=$((i + 1))
done
"$VOUCH" --db vet.db vet big.csv >/dev/null 2>&1
echo "# vet kills: runs $(count vet.db "SELECT group_concat(status || ' ' || n, ', ') FROM (SELECT status, count(*) n FROM runs GROUP BY status)")"
check "a vet after the kills completes" 0 '' -- sh -c "[ \"\$(sqlite3 vet.db \"SELECT status FROM runs ORDER BY id DESC LIMIT 1\")\" = ok ]"

# {== kill -9 of the daemon ==}
cat > writer.lua <<'LUA'
-- a schedule's script: one scoring run through the library
local sc = require "vouch.scorecard"
local card = assert(sc.load("social_capital"))
card:run{ rows = assert(vouch.load.csv(arg[1])), started_by = "script" }
LUA
export VOUCH_DB=$TMP/d.db
"$VOUCH" schedule add vet1 'every 1s' cmd:vet big.csv --overlap skip >/dev/null
"$VOUCH" schedule add vet2 'every 2s' cmd:vet small.csv --overlap queue >/dev/null
"$VOUCH" schedule add lib 'every 1s' writer.lua small.csv >/dev/null
"$VOUCH" schedule add fail 'every 1s' writer.lua no-such-file.csv >/dev/null
i=1
while [ "$i" -le "$KILLS" ]; do
  "$VOUCH" --allow-read="$TMP" daemon --poll 100 --grace 1 >>daemon.log 2>&1 &
  d=$!; pids="$pids $d"
  pause 4
  kill -9 "$d" 2>/dev/null; wait "$d" 2>/dev/null
  # Its children still run: the next daemon starts beside them at once.
  ic=$(sqlite3 d.db "PRAGMA integrity_check" 2>&1)
  if [ "$ic" = ok ]; then echo "ok - daemon killed ($i): the database is intact"
  else echo "not ok - daemon killed ($i): $ic"; fi
  i=$((i + 1))
done
# One clean daemon, started while the last killed daemon's children still
# run: it must close their runs when they end (not only runs whose process
# was gone when it started).
"$VOUCH" --allow-read="$TMP" daemon --poll 100 --grace 5 >>daemon.log 2>&1 &
d=$!; pids="$pids $d"
orphans_gone d.db
sleep 2
kill -TERM "$d"; wait "$d"; rc=$?
check "a daemon after the kills stops cleanly" 0 '' -- test "$rc" -eq 0
check "after the kills no schedule run is left running" 0 '^0$' -- \
  sqlite3 d.db "SELECT count(*) FROM schedule_runs WHERE status = 'running'"
check "runs of killed daemons are recorded as aborted" 0 '^[1-9]' -- \
  sqlite3 d.db "SELECT count(*) FROM schedule_runs WHERE status = 'aborted'"
check "the schedules kept running between the kills" 0 '^[1-9]' -- \
  sqlite3 d.db "SELECT count(*) FROM schedule_runs WHERE status = 'ok'"
check "every scoring run of the daemon's children is complete or empty" 0 '^$' -- runs_ok d.db
sqlite3 d.db "SELECT id, schedule, status, pid, started_at FROM schedule_runs WHERE status = 'running'" | head -n 5 | sed "s/^/# running: /"; grep -v " start | end " daemon.log | tail -n 12 | sed "s/^/# log: /"
echo "# daemon kills: schedule runs $(count d.db "SELECT group_concat(status || ' ' || n, ', ') FROM (SELECT status, count(*) n FROM schedule_runs GROUP BY status)")"
unset VOUCH_DB

#!/bin/sh
# vouch daemon: overlap policies with a controllable clock (--clock FILE),
# graceful shutdown in the middle of runs, and the one-daemon lock. On a
# server (pg_daemon.sh) there is no lock: a second daemon stands by, and a
# dead daemon's schedules are taken over once its lease has expired.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
export VOUCH_DB="${VOUCH_TEST_DB:-$TMP/d.db}" VOUCH_NOW=2026-01-01T00:00:00Z
printf 'vouch.sleep(tonumber(arg[1]) * 1000) print("slept", arg[1])\n' > slow.lua
pids=
trap 'for p in $pids; do kill -9 $p 2>/dev/null; done' EXIT

# wait_for FILE REGEX: up to 60 s for a line matching REGEX.
wait_for() {
  n=0
  while ! grep -Eq -- "$2" "$1" 2>/dev/null; do
    n=$((n + 1))
    if [ $n -gt 600 ]; then echo "# timed out waiting for /$2/ in $1"; sed 's/^/# /' "$1" | tail -n 20; return 1; fi
    sleep 0.1
  done
}
# waited NAME FILE REGEX: a test that passes when the line comes.
waited() { if wait_for "$2" "$3"; then echo "ok - $1"; else echo "not ok - $1"; fi; }
set_clock() { echo "$1" > clock; }
# stop PID: SIGTERM, then wait for it to exit (bounded).
stop() {
  kill -TERM "$1"
  wait_exit "$1"
}
wait_exit() {
  n=0
  while kill -0 "$1" 2>/dev/null && [ $n -lt 600 ]; do n=$((n + 1)); sleep 0.1; done
  ! kill -0 "$1" 2>/dev/null
}
# status_has REGEX: up to 60 s for a line of `vouch daemon --status` (on a
# server) matching REGEX, whose columns are ID HOST PID ... HOLDS.
status_has() {
  n=0
  while ! "$VOUCH" daemon --status 2>&1 | grep -Eq -- "$1"; do
    n=$((n + 1))
    if [ $n -gt 600 ]; then echo "# timed out waiting for /$1/ in daemon --status"; return 1; fi
    sleep 0.1
  done
}

"$VOUCH" schedule add o-skip 'every 1m' slow.lua 30 --overlap skip >/dev/null
"$VOUCH" schedule add o-queue 'every 1m' slow.lua 5 --overlap queue >/dev/null
"$VOUCH" schedule add o-replace 'every 1m' slow.lua 30 --overlap replace >/dev/null
set_clock 2026-01-01T00:00:30Z
"$VOUCH" daemon --clock clock --poll 100 --grace 1 --log d.log 2>d.err &
d1=$!; pids="$pids $d1"
waited "daemon starts" d.log ' daemon +- pid='
if on_pg; then
  # Another daemon joins and stands by while the first holds every schedule.
  status_has "^[0-9]+ +[^ ]+ +$d1 .* o-queue, o-replace, o-skip\$"
  "$VOUCH" daemon --clock clock --poll 100 --log b.log 2>b.err &
  b=$!; pids="$pids $b"
  waited "a second daemon starts and stands by" b.log ' daemon +- pid='
  check "daemon --status: the first holds the schedules" 0 "^[0-9]+ +[^ ]+ +$d1 .* o-queue, o-replace, o-skip\$" -- \
    "$VOUCH" daemon --status
  check "daemon --status: the second holds none" 0 "^[0-9]+ +[^ ]+ +$b .*\(none: standing by\)\$" -- \
    "$VOUCH" daemon --status
  check "schedule list: HELD BY names the daemon" 0 "^o-skip +every 1m +[^ ]+ +[^ ]+ pid $d1 " -- \
    "$VOUCH" schedule list
  check "tick runs nothing a daemon holds" 0 '^$' -- "$VOUCH" schedule tick --at 2026-01-01T00:01:00Z
  if stop $b; then echo "ok - the second daemon stops"; else echo "not ok - the second daemon stops"; fi
  check "and leaves the record" 0 '' -- sh -c "! '$VOUCH' daemon --status | grep -Eq '^[0-9]+ +[^ ]+ +$b '"
else
  check "a second daemon refuses to start" 6 "another daemon \(pid $d1\) is running" -- "$VOUCH" daemon --poll 100
  check "tick refuses too while a daemon runs" 6 "another daemon" -- "$VOUCH" schedule tick --at 2026-01-01T00:01:00Z
fi
set_clock 2026-01-01T00:01:00Z
waited "first runs start" d.log 'start +o-skip run=.*for=2026-01-01T00:01:00Z'
wait_for d.log 'start +o-queue' && wait_for d.log 'start +o-replace'
set_clock 2026-01-01T00:02:00Z
waited "overlap=skip skips" d.log 'skip +o-skip for=2026-01-01T00:02:00Z reason="the previous run is still running'
waited "overlap=queue queues" d.log 'queue +o-queue waiting=1'
waited "overlap=queue runs it after the first" d.log 'start +o-queue run=.*for=2026-01-01T00:02:00Z'
wait_count() {  # FILE REGEX N
  n=0
  while [ "$(grep -Ec -- "$2" "$1")" -lt "$3" ]; do
    n=$((n + 1)); [ $n -gt 600 ] && return 1; sleep 0.1
  done
}
if wait_count d.log 'end +o-queue run=.*status=ok' 2; then echo "ok - the queued run ends"; else echo "not ok - the queued run ends"; fi
check "overlap=queue: the runs did not overlap" 0 '^1$' -- q "select case when a.ended_at <= b.started_at then 1 else 0 end from schedule_runs a join schedule_runs b on b.id > a.id where a.schedule='o-queue' and b.schedule='o-queue' and a.status='ok' and b.status='ok' limit 1"
waited "overlap=replace kills the old run" d.log 'end +o-replace run=.*status=replaced'
waited "overlap=replace starts the new one" d.log 'start +o-replace run=.*for=2026-01-01T00:02:00Z'
# Graceful shutdown: two runs are in the middle (o-skip, o-replace); the grace
# is one second, then they are killed and recorded as aborted.
if stop $d1; then echo "ok - SIGTERM stops the daemon"; else echo "not ok - SIGTERM stops the daemon"; fi
check "stop is logged with the running count" 0 'stop +- signal=15 running=2 grace=1s' -- cat d.log
check "runs past the grace are killed" 0 'kill +o-skip' -- cat d.log
check "and recorded as aborted" 0 '^o-replace\|aborted\|the daemon stopped before the run ended$' -- q "select schedule, status, error from schedule_runs where schedule='o-replace' order by id desc limit 1"
check "every run has ended" 0 '^0$' -- q "select count(*) from schedule_runs where status='running' or ended_at is null"
check "statuses" 0 '^o-queue:ok o-queue:ok o-replace:aborted o-replace:replaced o-skip:aborted o-skip:skipped$' -- \
  rows "select schedule || ':' || status from schedule_runs order by schedule, status"
check "no run starts after the stop" 0 '' -- sh -c "! sed -n '/ stop /,\$p' d.log | grep -q ' start '"
if on_pg; then
  check "the daemon has left the record" 0 '^no daemon has joined ' -- "$VOUCH" daemon --status
  check "and holds no schedule" 0 '^0$' -- q "select count(*) from schedules where owner is not null"
else
  check "the lock is released" 0 '^$' -- cat "$VOUCH_DB.lock"
fi

# Graceful shutdown where the run finishes within the grace period.
for s in o-skip o-queue o-replace; do "$VOUCH" schedule rm $s >/dev/null; done
VOUCH_NOW=2026-01-01T00:02:30Z "$VOUCH" schedule add g 'every 1m' slow.lua 4 >/dev/null
set_clock 2026-01-01T00:02:30Z
"$VOUCH" daemon --clock clock --poll 100 --grace 60 --log g.log 2>g.err &
d2=$!; pids="$pids $d2"
wait_for g.log ' daemon ' >/dev/null
set_clock 2026-01-01T00:03:00Z
waited "a run starts" g.log 'start +g run='
kill -TERM $d2
waited "SIGTERM mid-run: the daemon stops taking runs" g.log 'stop +- signal=15 running=1 grace=60s'
set_clock 2026-01-01T00:04:00Z
if wait_exit $d2; then echo "ok - the daemon waits for the run, then exits"; else echo "not ok - the daemon waits for the run, then exits"; fi
check "the run finished ok" 0 '^ok$' -- q "select status from schedule_runs where schedule='g' order by id desc limit 1"
check "nothing started after the stop" 0 '^1$' -- q "select count(*) from schedule_runs where schedule='g'"

# A daemon that dies leaves its lock behind; the next one takes it over. On
# a server it leaves its lease, which expires (here in 2 s, not 20).
lease=
if on_pg; then lease="--lease 2"; fi
"$VOUCH" daemon --clock clock --poll 100 $lease --log k.log 2>k.err &
d3=$!; pids="$pids $d3"
wait_for k.log ' daemon ' >/dev/null
waited "the next daemon runs what is due" k.log 'start +g run='
# Kill the daemon and its run without a chance to record anything.
orphan=$(q "select pid from schedule_runs where schedule='g' and status='running'")
kill -9 $d3; wait $d3 2>/dev/null
kill -9 "$orphan"
n=0  # until it is gone (or a zombie nobody reaps)
while [ -r /proc/$orphan/stat ] && ! grep -q ') [ZX]' /proc/$orphan/stat && [ $n -lt 100 ]; do n=$((n + 1)); sleep 0.1; done
if on_pg; then
  if status_has "^[0-9]+ +[^ ]+ +$d3 .*\(lease expired"; then echo "ok - daemon --status: the dead daemon's lease expires"
  else echo "not ok - daemon --status: the dead daemon's lease expires"; fi
  check "schedule list: the dead daemon holds nothing" 0 '^g +every 1m +[^ ]+ +- ' -- "$VOUCH" schedule list
else
  check "the dead daemon's pid is in the lock" 0 "^$d3\$" -- cat "$VOUCH_DB.lock"
fi
check "schedule list: a dead daemon's lock is no running daemon" 0 'note: no daemon is running' -- \
  "$VOUCH" schedule list
"$VOUCH" daemon --clock clock --poll 100 --log k2.log 2>k2.err &
d4=$!; pids="$pids $d4"
if on_pg; then
  # It ran 00:03 and was killed in the run due at 00:04, which runs again.
  waited "the next daemon takes the schedule over" k2.log 'takeover +g after=2026-01-01T00:03:00Z aborted=2026-01-01T00:04:00Z'
  check "daemon --status: the new daemon holds it" 0 "^[0-9]+ +[^ ]+ +$d4 .* g\$" -- "$VOUCH" daemon --status
else
  waited "a stale lock is detected and replaced" k2.log "lock +- stale lock of pid $d3 replaced"
  check "the new daemon holds the lock" 0 "^$d4\$" -- cat "$VOUCH_DB.lock"
fi
check "schedule list: no note while a daemon runs" 0 '' -- \
  sh -c '! "$1" schedule list 2>&1 | grep -q "no daemon" && "$1" schedule list | grep -q "^g "' _ "$VOUCH"
if on_pg; then
  check "the killed daemon's run is recorded as aborted" 0 '^aborted\|the daemon that ran it \([^ ]+ pid [0-9]+\) stopped: its lease expired$' -- \
    q "select status, error from schedule_runs where schedule='g' and pid=$orphan"
  waited "the run it cut short runs again" k2.log 'start +g run=.*for=2026-01-01T00:04:00Z'
  check "schedule history: DAEMON names the daemon of each run" 0 " g +aborted +time +[^ ]+ +[^ ]+ pid $d3 " -- \
    "$VOUCH" schedule history g
else
  check "the killed daemon's run is recorded as aborted" 0 '^aborted\|the daemon that ran it stopped before it ended$' -- \
    q "select status, error from schedule_runs where schedule='g' order by id desc limit 1"
fi
stop $d4 >/dev/null
check "schedule list: the note once the daemon stopped" 0 'note: no daemon is running on this database' -- \
  "$VOUCH" schedule list
# {== a locked database ==}
# A scoring run is one transaction. While another process holds the write
# lock, the daemon's writes (a run's end, the next fire time) wait, in
# order, and are made when the lock is released: none is lost, none twice.
# A server locks rows, not the whole record: there another connection holds
# the run's row, and the daemon's writes wait for it as they do for a file.
if on_pg; then "$VOUCH" schedule rm g >/dev/null; else export VOUCH_DB="$TMP/l.db"; fi
printf 'local n = 0\nwhile not vouch.load.csv(arg[1]) do\n  vouch.sleep(50); n = n + 1; assert(n < 1200, "no gate")\nend\nprint("through")\n' > gate.lua
"$VOUCH" schedule add lk 'every 1m' gate.lua gate1 >/dev/null
set_clock 2026-01-01T00:00:30Z
"$VOUCH" daemon --clock clock --poll 100 --log l.log 2>l.err &
dl=$!; pids="$pids $dl"
wait_for l.log ' daemon ' >/dev/null
set_clock 2026-01-01T00:01:00Z
waited "locked: the run starts" l.log 'start +lk run='
mkfifo hold
if on_pg; then
  q <hold >held.out 2>&1 &
  h=$!; pids="$pids $h"
  exec 3>hold
  printf "BEGIN;\nSELECT 'held' FROM schedule_runs WHERE schedule = 'lk' FOR UPDATE;\n" >&3
  waited "locked: another connection holds the run's row" held.out '^held$'
  busy='the record is locked or out of reach: writes wait'
else
  sqlite3 "$VOUCH_DB" <hold >held.out 2>&1 &
  h=$!; pids="$pids $h"
  exec 3>hold
  printf '.timeout 60000\nBEGIN IMMEDIATE;\nSELECT %s;\n' "'held'" >&3
  waited "locked: another process holds the write lock" held.out '^held$'
  busy='the database is locked: writes wait'
fi
echo id > gate1
waited "locked: the run ends while the lock is held" l.log 'end +lk run=.*status=ok'
waited "locked: the daemon's writes wait" l.log "busy +- $busy"
if on_pg; then
  check "locked: the run's end is not written while the row is held" 0 '^running$' -- \
    q "select status from schedule_runs where schedule = 'lk'"
fi
set_clock 2026-01-01T00:02:00Z
sleep 1
check "locked: nothing fires while writes wait" 0 '^$' -- sh -c "! grep 'for=2026-01-01T00:02:00Z' l.log"
printf 'COMMIT;\n' >&3; exec 3>&-; wait $h
waited "locked: the next fire runs once the lock is released" l.log 'start +lk run=.*for=2026-01-01T00:02:00Z'
wait_count l.log 'end +lk run=' 2
stop $dl >/dev/null
check "locked: the run's end was written" 0 '^ok ok$' -- rows "select status from schedule_runs where schedule='lk' order by id"
check "locked: each fire ran once" 0 '^2\|2$' -- q "select count(*), count(distinct scheduled_for) from schedule_runs where schedule='lk'"
check "locked: no write was lost" 0 '^$' -- sh -c "! grep -E 'error|lost' l.log l.err"
export VOUCH_DB="${VOUCH_TEST_DB:-$TMP/d.db}"
check "daemon: help" 0 'controllable clock' -- "$VOUCH" daemon --help
check "daemon: needs a database file" 2 'needs a database file' -- "$VOUCH" --db :memory: daemon
if ! on_pg; then
  check "daemon --status on a file names its daemon, or none" 0 '^no daemon is running on ' -- \
    "$VOUCH" --db "$TMP/d.db" daemon --status
  check "daemon --status on a missing file creates none" 0 '^no such$' -- \
    sh -c "'$VOUCH' --db '$TMP/none.db' daemon --status >/dev/null; [ -e '$TMP/none.db' ] || echo no such"
fi

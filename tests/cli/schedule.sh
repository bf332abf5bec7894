#!/bin/sh
# vouch schedule: add, list, rm, pause, resume, run, history, and the
# missed-run policies with a controllable clock (VOUCH_NOW for add, and
# `vouch schedule tick --at TIME`, which runs what is due at TIME).
# On a SQLite file, or a server's database (pg_schedule.sh: lib.sh).
. "$(dirname "$0")/lib.sh"
cd "$TMP"
export VOUCH_DB="${VOUCH_TEST_DB:-$TMP/s.db}" VOUCH_NOW=2026-01-01T00:00:00Z
printf 'print("job", table.concat(arg, ","), vouch.schedules.context().trigger)\n' > job.lua
printf 'error("boom")\n' > err.lua
printf 'local t = {} for i = 1, 1e9 do t[i] = {i} end\n' > bomb.lua

check "add" 0 '^schedule hourly added: every 1h, next run 2026-01-01T01:00:00Z$' -- \
  "$VOUCH" schedule add hourly 'every 1h' job.lua a b
check "add: a name taken" 2 "a schedule named 'hourly' exists" -- "$VOUCH" schedule add hourly '@daily' job.lua
check "add: bad expression names the field" 2 "hour field '25': 25 is out of range 0-23" -- \
  "$VOUCH" schedule add x '0 25 * * *' job.lua
check "add: bad policy" 2 "missed must be skip, once or each" -- "$VOUCH" schedule add x '@daily' job.lua --missed sometimes
check "add: bad overlap" 2 "overlap must be skip, queue or replace" -- "$VOUCH" schedule add x '@daily' job.lua --overlap twice
check "add: bad zone" 2 "unknown time zone" -- "$VOUCH" schedule add x '@daily' job.lua --tz Nowhere/City
check "add: missing script" 2 "nope.lua: No such file" -- "$VOUCH" schedule add x '@daily' nope.lua
check "Lua: a script it may not read" 0 "read access denied" -- "$VOUCH" -e 'print(pcall(vouch.schedule, "x", "@daily", "/etc/hostname"))'
check "add: file alert needs write access" 1 "write access denied" -- \
  "$VOUCH" schedule add x '@daily' job.lua --alert "file:$TMP/a.log"
check "add: webhook needs net access" 1 "network access denied" -- \
  "$VOUCH" schedule add x '@daily' job.lua --alert http://127.0.0.1:9/hook
check "add: in a zone" 0 'next run 2026-01-01T14:00:00Z \(2026-01-01 09:00\)' -- \
  "$VOUCH" schedule add ny '0 9 * * mon-fri' job.lua --tz America/New_York --missed once --overlap queue --jitter 30
check "list" 0 'ny +0 9 \* \* mon-fri America/New_York +2026-01-01T14:00:00Z.*missed=once overlap=queue jitter=30s' -- \
  "$VOUCH" schedule list
check "pause" 0 '^schedule ny paused$' -- "$VOUCH" schedule pause ny
check "list: paused" 0 'ny .* paused ' -- "$VOUCH" schedule list
check "resume" 0 '^schedule ny resumed$' -- "$VOUCH" schedule resume ny
check "rm" 0 '^schedule ny removed$' -- "$VOUCH" schedule rm ny
check "rm: unknown" 1 "no schedule named 'ny'" -- "$VOUCH" schedule rm ny
check "run now" 0 'job	a,b	manual' -- "$VOUCH" schedule run hourly
check "run: unknown" 2 "no schedule named 'zz'" -- "$VOUCH" schedule run zz
check "history" 0 '^1 +hourly +ok +manual ' -- "$VOUCH" schedule history
check "history: output" 0 'job	a,b	manual' -- "$VOUCH" schedule history hourly --output
check "Lua: vouch.schedule registers and updates" 0 '^every 5m	/' -- "$VOUCH" --allow-read="$TMP" -e '
  vouch.schedule("fromlua", "every 10m", "job.lua")
  local row = vouch.schedule{name = "fromlua", expr = "every 5m", script = "job.lua", args = {"x"}}
  print(row.expr, row.script)'
check "Lua: bad expression" 0 "^nil	0 0 0 0 0: day-of-month field" -- "$VOUCH" -e \
  'print(vouch.schedule("bad", "0 0 0 0 0", "job.lua"))'
"$VOUCH" schedule rm fromlua >/dev/null

# Failures are recorded and told apart.
"$VOUCH" schedule add err '@daily' err.lua >/dev/null
"$VOUCH" schedule add bomb '@daily' bomb.lua >/dev/null
check "run: a script error" 1 'status=failed .*err.lua:1: boom' -- "$VOUCH" schedule run err
check "run: a memory blow-up" 1 'status=limit .*memory limit exceeded' -- "$VOUCH" --max-memory 32M schedule run bomb
printf 'while true do end\n' > spin.lua
printf 'vouch.sleep(60000)\n' > sleepy.lua
"$VOUCH" schedule add spin '@daily' spin.lua >/dev/null
"$VOUCH" schedule add crash '@daily' sleepy.lua >/dev/null
check "run: a timeout" 1 'status=limit .*time limit exceeded' -- "$VOUCH" --timeout 1 schedule run spin
# A run that dies of a signal (here: killed from outside) is recorded as crashed.
"$VOUCH" schedule run crash >crash.out 2>&1 &
runner=$!
n=0; while [ -z "$(q "select pid from schedule_runs where schedule='crash' and status='running'")" ] && [ $n -lt 300 ]; do n=$((n + 1)); sleep 0.1; done
kill -9 "$(q "select pid from schedule_runs where schedule='crash' and status='running'")"
wait $runner
check "run: a crash" 0 'status=crashed .*killed by signal 9' -- cat crash.out
check "history: statuses" 0 '^failed limit limit crashed$' -- \
  rows "select status from schedule_runs where schedule in ('err','bomb','spin','crash') order by id"
for s in err bomb spin crash; do "$VOUCH" schedule rm $s >/dev/null; done
"$VOUCH" schedule rm hourly >/dev/null

# --- missed runs: the schedule's next run is 01:00; no daemon ran until 04:30,
# so 01:00, 02:00, 03:00 and 04:00 were missed (04:00 is more than a minute late).
for p in skip once each:2 each; do
  "$VOUCH" schedule add "m-$p" 'every 1h' job.lua "$p" --missed "$p" >/dev/null
done
check "tick at 04:30" 0 'missed +m-skip count=4 run=0' -- "$VOUCH" schedule tick --at 2026-01-01T04:30:00Z
runs() { rows "select scheduled_for || ':' || trigger from schedule_runs where schedule='$1' and status='ok' order by id"; }
check "missed=skip runs none" 0 '' -- test -z "$(runs m-skip)"
check "missed=skip records what it skipped" 0 '4 missed runs: 0 caught up' -- q "select error from schedule_runs where schedule='m-skip' and status='skipped'"
check "missed=once runs the latest once" 0 '^2026-01-01T04:00:00Z:missed$' -- runs m-once
check "missed=each:2 runs the newest two" 0 '^2026-01-01T03:00:00Z:missed 2026-01-01T04:00:00Z:missed$' -- runs m-each:2
check "missed=each runs each (cap 10)" 0 '^2026-01-01T01:00:00Z:missed 2026-01-01T02:00:00Z:missed 2026-01-01T03:00:00Z:missed 2026-01-01T04:00:00Z:missed$' -- runs m-each
check "next run moved on" 0 '^2026-01-01T05:00:00Z$' -- q "select distinct next_run from schedules"
# On time: 05:00 ticked 20 seconds late runs once under every policy.
"$VOUCH" schedule tick --at 2026-01-01T05:00:20Z 2>/dev/null
check "on time runs under every policy" 0 '^4$' -- q "select count(*) from schedule_runs where scheduled_for='2026-01-01T05:00:00Z' and trigger='time' and status='ok'"
check "a tick with nothing due runs nothing" 0 '^$' -- "$VOUCH" schedule tick --at 2026-01-01T05:30:00Z
# Paused: nothing runs; resumed: what was missed while paused is not caught up.
"$VOUCH" schedule pause m-each >/dev/null
"$VOUCH" schedule tick --at 2026-01-01T06:00:05Z 2>/dev/null
check "paused does not run" 0 '^0$' -- q "select count(*) from schedule_runs where schedule='m-each' and scheduled_for='2026-01-01T06:00:00Z'"
VOUCH_NOW=2026-01-01T08:10:00Z "$VOUCH" schedule resume m-each >/dev/null
check "resume skips what was missed" 0 '^2026-01-01T09:00:00Z$' -- q "select next_run from schedules where name='m-each'"
check "help" 0 'missed skip\|once\|each' -- "$VOUCH" help schedule add
check "tick: needs --at" 2 'tick needs --at' -- "$VOUCH" schedule tick
# Jitter delays a run by a stable amount up to the jitter.
"$VOUCH" schedule add jit 'every 1h' job.lua --jitter 1800 >/dev/null
"$VOUCH" schedule tick --at 2026-01-01T01:00:00Z 2>/dev/null
"$VOUCH" schedule tick --at 2026-01-01T01:30:00Z 2>/dev/null
check "jitter: runs once, within the jitter" 0 '^1$' -- q "select count(*) from schedule_runs where schedule='jit' and status='ok'"
check "jitter: started after its time" 0 '^1$' -- q "select case when started_at > scheduled_for then 1 else 0 end from schedule_runs where schedule='jit' and status='ok'"

# Runs work in the directory the schedule was added from, whatever the
# daemon's; the database stays the one the daemon was given. The runner must
# itself be allowed to read that directory: a run never gets more than it has.
# A file is named relative to the directory each command runs in; a
# server's URI, the same from anywhere.
mkdir -p proj elsewhere
printf 'print("here")\n' > proj/here.lua
db=../rel.db with="a relative --db"
if on_pg; then db=$VOUCH_DB with="the server's --db"; fi
(cd proj && "$VOUCH" --db "$db" schedule add here '@daily' here.lua >/dev/null)
check "run: refused where the runner may not read the schedule's directory" 1 'refuse +here .*/proj: read access denied' -- sh -c "cd elsewhere && '$VOUCH' --db '$db' schedule run here"
check "run: in the schedule's directory, with $with" 0 'status=ok' -- sh -c "cd elsewhere && '$VOUCH' --db '$db' --allow-read=../proj schedule run here"
check "run: nothing created where the daemon runs" 0 '^$' -- ls elsewhere

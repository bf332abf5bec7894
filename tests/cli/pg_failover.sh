#!/bin/sh
# Several daemons on one PostgreSQL record. Three daemons share a schedule
# due every minute of a controllable clock (--clock FILE). At random moments
# the daemon that holds it is killed with -9 (in the middle of a run, or
# between runs) and a new daemon takes its place; another takes the
# schedule over once the lease has expired. At the end, every due time has
# exactly one run recorded ok: none lost, none recorded twice. A run's
# effect (a file named by its due time and run) is counted too: a run that
# did its work and was killed before its end was recorded is done again
# after the takeover, so a second file is reported, not failed.
#   KILLS=100 LEASE=2 sh tests/cli/pg_failover.sh    (tests/bench/failover.sh)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
KILLS=${KILLS:-8}
LEASE=${LEASE:-2}
STEPS=$((KILLS * 2))
pids=
trap 'for p in $pids; do kill -9 $p 2>/dev/null; done; pg_stop' EXIT
if ! pg_start; then
  pg_not_run "failover: every due time ran once" "failover: no due time recorded twice" \
    "failover: the schedule was taken over after each kill"
  exit 0
fi
cd "$TMP"
export VOUCH_DB="$PG_URI" VOUCH_NOW=2026-01-01T00:00:00Z XDG_CACHE_HOME="$TMP/cache"
q() { pg_sql "$PG_URI" "$1"; }
mkdir out
# A run takes a third of a second, then leaves its mark.
cat > job.lua <<'EOF'
local c = vouch.schedules.context()
vouch.sleep(300)
vouch.file.write("out/" .. c.scheduled_for:gsub(":", "") .. "-" .. c.run, "done")
EOF
"$VOUCH" --allow-write="$TMP/out" schedule add job 'every 1m' job.lua --missed each \
  --overlap queue >/dev/null
echo 2026-01-01T00:00:30Z > clock
n_daemons=0
start_daemon() {
  n_daemons=$((n_daemons + 1))
  "$VOUCH" --allow-write="$TMP/out" daemon --clock clock --poll 50 --lease "$LEASE" \
    --grace 5 --log "d$n_daemons.log" 2>>daemons.err &
  pids="$pids $!"
}
start_daemon; start_daemon; start_daemon
# The pid of the live daemon holding the schedule, other than $1 if
# given, once there is one (up to 30 s).
holder() {
  n=0
  while [ $n -lt 600 ]; do
    h=$(q "SELECT d.pid FROM schedules s JOIN daemons d ON d.id = s.owner
           WHERE s.name = 'job' AND d.seen_at > now() - d.lease_ms * interval '1 millisecond'")
    [ -n "$h" ] && [ "$h" != "${1:-}" ] && { echo "$h"; return 0; }
    n=$((n + 1)); sleep 0.05
  done
  return 1
}
# Wait (up to 60 s) until the run due at $1 is recorded ok.
ran() {
  n=0
  while [ "$(q "SELECT count(*) FROM schedule_runs WHERE schedule = 'job' AND
                scheduled_for = '$1' AND status = 'ok'")" -lt 1 ]; do
    n=$((n + 1)); [ $n -gt 600 ] && return 1; sleep 0.1
  done
}
rand() { od -An -N2 -tu2 /dev/urandom | tr -d ' '; }   # 0..65535

kills=0 stuck=0 delays=
# Kill the holder with -9, start a daemon in its place, and time the
# takeover: until another live daemon holds the schedule.
kill_holder() {
  h=$(holder) || return 1
  kill -9 "$h" 2>/dev/null
  at=$(date +%s.%N)
  kills=$((kills + 1))
  start_daemon
  if holder "$h" >/dev/null; then
    delays="$delays $(awk "BEGIN { printf \"%.2f\", $(date +%s.%N) - $at }")"
  fi
}
i=1
while [ $i -le $STEPS ]; do
  t=$(printf '2026-01-01T%02d:%02d:00Z' $((i / 60)) $((i % 60)))
  echo "$t" > clock
  # Kill the holder in half the steps, at a moment of the run or after it.
  if [ $kills -lt $KILLS ] && [ $(($(rand) % 2)) -eq 0 ]; then
    sleep "0.$(printf '%03d' $(($(rand) % 600)))"
    kill_holder
  fi
  ran "$t" || { stuck=$((stuck + 1)); echo "# the run due at $t was not recorded ok in 60 s"; }
  i=$((i + 1))
done
# The kills that remain, so that there are KILLS in all.
while [ $kills -lt $KILLS ]; do kill_holder || break; done
holder >/dev/null
for p in $pids; do kill -TERM "$p" 2>/dev/null; done
for p in $pids; do wait "$p" 2>/dev/null; done
pids=

lost=$(q "SELECT count(*) FROM generate_series(1, $STEPS) k WHERE NOT EXISTS
          (SELECT 1 FROM schedule_runs r WHERE r.schedule = 'job' AND r.status = 'ok' AND
           r.scheduled_for = to_char(timestamp '2026-01-01' + k * interval '1 minute',
                                     'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))")
twice=$(q "SELECT count(*) FROM (SELECT scheduled_for FROM schedule_runs WHERE schedule = 'job'
           AND status = 'ok' GROUP BY scheduled_for HAVING count(*) > 1) x")
aborted=$(q "SELECT count(*) FROM schedule_runs WHERE schedule = 'job' AND status = 'aborted'")
redone=$(ls out | sed 's/-[0-9]*$//' | sort | uniq -d | wc -l)
if [ "$lost" = 0 ] && [ "$stuck" = 0 ]; then echo "ok - failover: every due time ran once ($STEPS due times, $kills kills)"
else echo "not ok - failover: every due time ran once: $lost of $STEPS never recorded ok"; fi
if [ "$twice" = 0 ]; then echo "ok - failover: no due time recorded twice"
else echo "not ok - failover: no due time recorded twice: $twice were"; fi
nd=$(echo $delays | wc -w)
if [ "$nd" -eq "$kills" ] && [ "$kills" -gt 0 ]; then
  echo "ok - failover: the schedule was taken over after each kill"
else
  echo "not ok - failover: the schedule was taken over after each kill: $nd takeovers seen of $kills kills"
fi
if grep -q 'ERROR\|FATAL\|Segmentation\|Abort' daemons.err 2>/dev/null; then
  echo "not ok - failover: the daemons reported no error"; sed 's/^/# /' daemons.err | tail -n 20
else
  echo "ok - failover: the daemons reported no error"
fi
sorted=$(for d in $delays; do echo "$d"; done | sort -n)
echo "# figures: kills=$kills due=$STEPS lost=$lost recorded_twice=$twice aborted=$aborted redone=$redone lease=${LEASE}s takeover_s_min=$(echo "$sorted" | head -n 1) takeover_s_median=$(echo "$sorted" | sed -n "$(( (nd + 1) / 2 ))p") takeover_s_max=$(echo "$sorted" | tail -n 1)"

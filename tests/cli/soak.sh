# soak.sh: the daemon under load. 200 schedules fire over SOAK_SECONDS
# (default 60; SOAK_SECONDS=600 for the long run): scripts that succeed,
# fail, run out of time and run out of memory, mixed. The daemon's RSS and
# open descriptors (/proc/PID/status, /proc/PID/fd) are sampled every
# second; after the first quarter (warm-up: SQLite's cache, the first
# children) neither may grow beyond a bound, and every run must be recorded
# with an end. `vouch serve` on the same database runs through the soak
# too, with a live event stream open and its pages read every second: its
# RSS and descriptors are held to the same bounds. On a server's record
# (pg_soak.sh) the soak is shorter (30 s, 50 schedules) and a script's own
# table is in the copy of the record it opened, under $XDG_CACHE_HOME.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1
SECONDS_=${SOAK_SECONDS:-60} NSCHED=${SOAK_SCHEDULES:-200}
if on_pg; then SECONDS_=${SOAK_SECONDS:-30} NSCHED=${SOAK_SCHEDULES:-50}; fi
d=
SERVE_PID=
ev=
trap '[ -z "$d" ] || kill -9 $d 2>/dev/null; [ -z "$SERVE_PID" ] || kill -9 $SERVE_PID 2>/dev/null; [ -z "$ev" ] || kill $ev 2>/dev/null' EXIT
export VOUCH_DB="${VOUCH_TEST_DB:-$TMP/soak.db}"

cat > ok.lua <<'LUA'
local db = vouch.db.open()
db:exec("CREATE TABLE IF NOT EXISTS hits(name TEXT, at TEXT)")
db:insert("hits", { { name = arg[1], at = os.date("!%Y-%m-%dT%H:%M:%SZ") } })
LUA
echo 'error("boom from " .. arg[1])' > fail.lua
echo 'vouch.sleep(60000)' > slow.lua                   # ends at its --timeout
echo 'local t = {} for i = 1, 1e9 do t[i] = ("x"):rep(64 << 20) .. i end' > hog.lua   # ends at --max-memory

kinds="ok ok fail slow hog"
i=1
{

  while [ "$i" -le "$NSCHED" ]; do
    k=$(echo $kinds | cut -d' ' -f$(( (i - 1) % 5 + 1 )))
    echo "$k s$i"
    i=$((i + 1))
  done
} >list
# Schedules every 5 to 20 s, spread by jitter. Each kind's limit is its
# own, so that which limit ends a run does not depend on the machine's
# speed: only the slow scripts have a short --timeout (2 s); the others get
# minutes, while a hog trips the daemon's --max-memory at its first
# allocation (64 MiB of a 48 MiB limit), however loaded the machine is.
while read -r k name; do
  n=${name#s}
  every=$(( 5 + n % 4 * 5 ))
  limit=300; [ "$k" = slow ] && limit=2
  "$VOUCH" --timeout "$limit" schedule add "$name" "every ${every}s" "$k.lua" "$name" \
    --jitter 4 --overlap skip >/dev/null || echo "not ok - schedule add $name"
done <list
check "$NSCHED schedules added" 0 "^$NSCHED\$" -- q "SELECT count(*) FROM schedules"

# Under ASan freed memory waits in a quarantine (256 MiB): keep it small so
# that RSS shows what is live (a plain build ignores the variable).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1"
"$VOUCH" --max-memory 48M daemon --poll 200 --grace 3 --max-running 8 >soak.log 2>&1 &
d=$!
serve_start
# No -m on this curl: the loop below counts samples, not wall-clock
# seconds, and on a loaded machine its page reads make it run long.
curl -s -N -H "Authorization: Bearer $TOKEN" "$BASE/api/events" >events.out 2>events.err &
ev=$!
start=$(date +%s)
: >samples; : >serve_samples
t=0
while [ "$t" -lt "$SECONDS_" ]; do
  sleep 1; t=$((t + 1))
  kill -0 "$d" 2>/dev/null || break
  rss=$(awk '/^VmRSS:/ { print $2 }' /proc/$d/status 2>/dev/null)
  fds=$(ls /proc/$d/fd 2>/dev/null | wc -l)
  echo "$t $rss $fds" >>samples
  for page in / /schedules /api/runs /api/state /api/schedules; do
    curl -s -o /dev/null -m 10 -H "Authorization: Bearer $TOKEN" "$BASE$page"
  done
  rss=$(awk '/^VmRSS:/ { print $2 }' /proc/$SERVE_PID/status 2>/dev/null)
  fds=$(ls /proc/$SERVE_PID/fd 2>/dev/null | wc -l)
  echo "$t $rss $fds" >>serve_samples
done
check "the server ran the whole soak" 0 '' -- kill -0 "$SERVE_PID"
echo "# the soak took $(( $(date +%s) - start )) s for $t samples"
check "its event stream stayed open" 0 '' -- kill -0 "$ev"
kill -INT "$SERVE_PID"; wait "$SERVE_PID"; src=$?; SERVE_PID=
# The server ends the stream as it stops; curl then exits by itself.
for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$ev" 2>/dev/null || break; sleep 0.5; done
kill "$ev" 2>/dev/null; wait "$ev" 2>/dev/null
check "the server stopped cleanly" 0 '' -- test "$src" -eq 0
check "the event stream carried the runs as they came" 0 '' -- grep -q '^event: ' events.out
check "the daemon ran the whole soak" 0 '' -- kill -0 "$d"
kill -TERM "$d"; wait "$d"; rc=$?; d=
check "the daemon stopped cleanly" 0 '' -- test "$rc" -eq 0

warm=$((SECONDS_ / 4))
# RSS: the largest after warm-up against the first after it; fds likewise.
awk -v w="$warm" '$1 >= w' samples >late
r0=$(head -n 1 late | cut -d' ' -f2); rmax=$(sort -n -k2 late | tail -n 1 | cut -d' ' -f2)
f0=$(head -n 1 late | cut -d' ' -f3); fmax=$(sort -n -k3 late | tail -n 1 | cut -d' ' -f3)
rfirst=$(head -n 1 samples | cut -d' ' -f2)
echo "# RSS KiB: first $rfirst, after warm-up $r0, max after $rmax; fds: after warm-up $f0, max $fmax"
# Bounds: RSS within 25% or 4 MiB of the warm value; fds may vary by the
# children's pipes (two per running child, --max-running 8) but not grow.
check "RSS does not grow after warm-up (${r0} -> ${rmax} KiB)" 0 '' -- \
  awk -v a="$r0" -v b="$rmax" 'BEGIN { exit !(b <= a * 1.25 || b <= a + 4096) }'
check "open descriptors stay bounded (${f0} -> ${fmax})" 0 '' -- \
  awk -v a="$f0" -v b="$fmax" 'BEGIN { exit !(b <= a + 2 * 8 + 2) }'
last=$(tail -n 4 samples | sort -n -k3 | head -n 1 | cut -d' ' -f3)
check "descriptors come back down (last seconds: $last, warm: $f0)" 0 '' -- \
  awk -v a="$f0" -v b="$last" 'BEGIN { exit !(b <= a + 2 * 8) }'

awk -v w="$warm" '$1 >= w' serve_samples >late
r0=$(head -n 1 late | cut -d' ' -f2); rmax=$(sort -n -k2 late | tail -n 1 | cut -d' ' -f2)
f0=$(head -n 1 late | cut -d' ' -f3); fmax=$(sort -n -k3 late | tail -n 1 | cut -d' ' -f3)
echo "# serve: RSS KiB after warm-up $r0, max after $rmax; fds: after warm-up $f0, max $fmax"
check "the server's RSS does not grow after warm-up (${r0} -> ${rmax} KiB)" 0 '' -- \
  awk -v a="$r0" -v b="$rmax" 'BEGIN { exit !(b <= a * 1.25 || b <= a + 4096) }'
check "the server's descriptors stay bounded (${f0} -> ${fmax})" 0 '' -- \
  awk -v a="$f0" -v b="$fmax" 'BEGIN { exit !(b <= a + 4) }'

check "every run is recorded with an end" 0 '^0$' -- \
  q "SELECT count(*) FROM schedule_runs WHERE status = 'running' OR (status <> 'skipped' AND ended_at IS NULL)"
for s in ok failed limit; do
  check "runs ended $s" 0 '^[1-9]' -- q "SELECT count(*) FROM schedule_runs WHERE status = '$s'"
done
check "memory hogs end as limit with the memory message" 0 'memory' -- \
  q "SELECT error FROM schedule_runs r JOIN schedules s ON s.name = r.schedule
     WHERE r.status = 'limit' AND s.script LIKE '%hog.lua' LIMIT 1"
check "no memory hog ended any other way" 0 '^0$' -- \
  q "SELECT count(*) FROM schedule_runs r JOIN schedules s ON s.name = r.schedule
     WHERE s.script LIKE '%hog.lua' AND r.status NOT IN ('skipped', 'running', 'aborted')
       AND (r.status <> 'limit' OR r.error NOT LIKE '%memory%')"
check "slow scripts end as limit with the time message" 0 'time' -- \
  q "SELECT error FROM schedule_runs r JOIN schedules s ON s.name = r.schedule
     WHERE r.status = 'limit' AND s.script LIKE '%slow.lua' LIMIT 1"
hits=$VOUCH_DB
if on_pg; then hits=$(ls "$XDG_CACHE_HOME"/vouch/record-*.db); fi
check "each ok run wrote its row" 0 '' -- test "$(sqlite3 "$hits" "SELECT count(*) FROM hits")" -ge \
  "$(q "SELECT count(*) FROM schedule_runs WHERE status = 'ok'")"
echo "# runs: $(q "SELECT status || ' ' || count(*) FROM schedule_runs GROUP BY status ORDER BY status" |
  paste -sd, - | sed 's/,/, /g')"
unset VOUCH_DB

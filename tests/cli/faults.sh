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
partners 20000 huge.csv   # more than three reads of the loader

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
# fails NAME PATTERN -- CMD...: passes when CMD exits non-zero saying PATTERN.
fails() {
  _n=$1 _p=$2; shift 3
  _o=$("$@" 2>&1); _r=$?
  if [ "$_r" -ne 0 ] && printf '%s\n' "$_o" | grep -Eq -- "$_p"; then echo "ok - $_n"
  else echo "not ok - $_n: exit $_r"; printf '%s\n' "$_o" | head -n 8 | sed 's/^/# /'; fi
}
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
  # Kill it while one of its runs is in flight (waiting at most 10 s for one).
  n=0
  while [ $n -lt 100 ] && [ "$(count d.db "SELECT count(*) FROM schedule_runs WHERE status = 'running'")" = 0 ]; do
    n=$((n + 1)); sleep 0.1
  done
  pause 1
  kill -9 "$d" 2>/dev/null; wait "$d" 2>/dev/null
  # Its children still run: the next daemon starts beside them at once.
  ic=$(sqlite3 d.db "PRAGMA integrity_check" 2>&1)
  if [ "$ic" = ok ]; then echo "ok - daemon killed ($i): the database is intact"
  else echo "not ok - daemon killed ($i): $ic"; fi
  i=$((i + 1))
done
# Daemons started while killed daemons' children still ran left their runs
# alone; once those children are gone, the next daemon closes their runs
# (a running daemon does so too, every 30 s).
orphans_gone d.db
"$VOUCH" --allow-read="$TMP" daemon --poll 100 --grace 5 >>daemon.log 2>&1 &
d=$!; pids="$pids $d"
sleep 2
kill -TERM "$d"; wait "$d"; rc=$?
check "a daemon after the kills stops cleanly" 0 '' -- test "$rc" -eq 0
# A daemon killed between writing a run's row and starting its process
# leaves a run without a pid (found under valgrind, where that window is
# wide): the next daemon closes it too.
sqlite3 d.db "INSERT INTO schedule_runs(schedule, scheduled_for, trigger, status, started_at)
              VALUES ('vet1', '2026-01-01T00:00:00Z', 'time', 'running', '2026-01-01T00:00:00Z')"
"$VOUCH" --allow-read="$TMP" daemon --poll 100 >>daemon.log 2>&1 &
d=$!; pids="$pids $d"
sleep 1; kill -TERM "$d"; wait "$d"
check "a run left without a pid is closed by the next daemon" 0 '^aborted$' -- \
  sqlite3 d.db "SELECT status FROM schedule_runs WHERE scheduled_for = '2026-01-01T00:00:00Z'"
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

# {== a full disk, a read-only database ==}
# An 8 MiB tmpfs mounted here (as root); a test that cannot mount says why.
mkdir -p disk
if mount -t tmpfs -o size=8m,mode=0755 tmpfs disk 2>/dev/null; then
  mnt=$TMP/disk
  "$VOUCH" --db disk/v.db vet small.csv >/dev/null 2>&1
  before=$(count disk/v.db "SELECT count(*) FROM scores")
  check "full disk: a first run fits" 0 '^[1-9]' -- echo "$before"
  dd if=/dev/zero of=disk/filler bs=4k 2>/dev/null   # until the disk is full
  fails "full disk: vet fails with a clear error" 'disk is full|No space left|disk I/O error' -- \
    "$VOUCH" --db disk/v.db vet big.csv
  fails "full disk: a load into the database fails the same way" 'disk is full|No space left|disk I/O error' -- \
    "$VOUCH" --db disk/v.db --allow-read="$TMP" -e \
    'assert(vouch.load.csv("big.csv")):into(vouch.db.open(), "raw")'
  rm -f disk/filler
  check "full disk: nothing stored before is lost" 0 "^$before\$" -- \
    sqlite3 disk/v.db "SELECT count(*) FROM scores"
  check "full disk: every run complete or empty afterwards" 0 '^$' -- runs_ok disk/v.db
  check "full disk: vet works again once there is room" 0 'run [0-9]+: 300 partners' -- \
    "$VOUCH" --db disk/v.db vet small.csv
  # Read-only: the file system remounted read-only under the database.
  before=$(count disk/v.db "SELECT count(*) FROM scores")
  mount -o remount,ro disk
  fails "read-only: vet fails with a clear error" 'v\.db: .*(read-only|readonly|unable to open|I/O)' -- \
    "$VOUCH" --db disk/v.db vet small.csv
  # Opening runs the migrations and needs the WAL's shared memory, so even
  # reading a database on a read-only medium is refused (clearly).
  fails "read-only: reading fails clearly too" 'v\.db: ' -- "$VOUCH" --db disk/v.db runs
  mount -o remount,rw disk
  check "read-only: nothing stored is lost" 0 "^$before\$" -- \
    sqlite3 disk/v.db "SELECT count(*) FROM scores"
  check "read-only: every run complete or empty" 0 '^$' -- runs_ok disk/v.db
  umount disk && mnt=
else
  echo "ok - full disk and read-only database # skip mounting a tmpfs is not permitted here ($(id -un))"
fi

# {== a database locked by another process ==}
"$VOUCH" --db lock.db vet small.csv >/dev/null 2>&1
before=$(count lock.db "SELECT count(*) FROM scores")
mkfifo hold
sqlite3 lock.db <hold >/dev/null 2>&1 &
holder=$!; pids="$pids $holder"
exec 9>hold
echo "BEGIN EXCLUSIVE; SELECT count(*) FROM runs;" >&9
sleep 0.5
fails "locked: vet waits its busy timeout, then fails with a clear error" 'database is locked' -- \
  "$VOUCH" --db lock.db vet small.csv
check "locked: reading still works (WAL readers are not blocked)" 0 "^$before\$" -- \
  "$VOUCH" --db lock.db -e 'print(vouch.db.open():one("SELECT count(*) AS n FROM scores").n)'
echo "COMMIT;" >&9
exec 9>&-
wait "$holder"
check "locked: nothing stored is lost" 0 "^$before\$" -- sqlite3 lock.db "SELECT count(*) FROM scores"
check "locked: every run complete or empty" 0 '^$' -- runs_ok lock.db
check "locked: vet works once the lock is gone" 0 'run [0-9]+: 300 partners' -- \
  "$VOUCH" --db lock.db vet small.csv

# {== an input file deleted or truncated in the middle of a load ==}
cat > midload.lua <<'LUA'
-- Read rows; after the 100th, say so (the file "paused") and wait until the
-- test has deleted or truncated the input (the file "go"); read on and
-- store what came, in one insert.
local path = arg[1]
local src = assert(vouch.load.csv(path))
local rows, n = {}, 0
for r in src:rows() do
  n = n + 1
  rows[n] = { id = r.id, name = r.name }
  if n == 100 then
    vouch.file.write("paused", "x\n")
    for _ = 1, 400 do
      if vouch.load.csv("go") then break end
      vouch.sleep(50)
    end
  end
end
local db = vouch.db.open()
db:exec("CREATE TABLE IF NOT EXISTS got(id TEXT, name TEXT)")
db:insert("got", rows)
print(n .. " rows")
LUA
# midload WHAT: run midload.lua on a copy of big.csv, WHAT it when paused.
midload() {
  cp huge.csv in.csv; rm -f paused go
  "$VOUCH" --db mid.db --allow-read="$TMP" --allow-write="$TMP" run midload.lua in.csv >mid.out 2>&1 &
  m=$!
  n=0; while [ $n -lt 300 ] && [ ! -f paused ]; do n=$((n + 1)); sleep 0.1; done
  case $1 in delete) rm -f in.csv ;; truncate) : >in.csv ;; esac
  echo x >go
  wait "$m"; echo "exit $?" >>mid.out
}
midload delete
check "deleted mid-load: the open file is read to its end, every row stored" 0 '^20000 rows' -- cat mid.out
check "deleted mid-load: exit 0" 0 'exit 0' -- cat mid.out
check "deleted mid-load: the rows are in the database" 0 '^20000$' -- sqlite3 mid.db "SELECT count(*) FROM got"
# Truncated: reading stops short of the size the file had when opened; a
# cut at a record boundary would load a part as if it were the whole.
midload truncate
check "truncated mid-load: a clear error naming the file" 0 'in\.csv: the file shrank while it was read' -- cat mid.out
check "truncated mid-load: the script fails" 0 'exit 1' -- cat mid.out
check "truncated mid-load: nothing of it stored, nothing before lost" 0 '^20000$' -- \
  sqlite3 mid.db "SELECT count(*) FROM got"
# The same through into(): one transaction, so nothing of it stays.
cat > midinto.lua <<'LUA'
local src = assert(vouch.load.csv(arg[1]))
vouch.file.write("paused", "x\n")
for _ = 1, 400 do if vouch.load.csv("go") then break end vouch.sleep(50) end
print(src:into(vouch.db.open(), "raw"))
LUA
cp huge.csv in.csv; rm -f paused go
"$VOUCH" --db mid.db --allow-read="$TMP" --allow-write="$TMP" run midinto.lua in.csv >mid.out 2>&1 &
m=$!
n=0; while [ $n -lt 300 ] && [ ! -f paused ]; do n=$((n + 1)); sleep 0.1; done
: >in.csv; echo x >go; wait "$m"; echo "exit $?" >>mid.out
check "truncated before into(): a clear error" 0 'in\.csv: the file shrank while it was read' -- cat mid.out
check "truncated before into(): exit 1" 0 '^exit 1$' -- cat mid.out
check "truncated before into(): no table or row of it stored" 0 '^0$' -- \
  sqlite3 mid.db "SELECT count(*) FROM sqlite_schema WHERE name = 'raw'"

# {== an HTTP server that stalls or resets; the daemon keeps running ==}
python3 "$ROOT/tests/http_server.py" port >/dev/null 2>&1 &
pids="$pids $!"
cat > reset_server.py <<'PY'
# Accepts, reads the request, and resets the connection (RST, not FIN).
import socket, struct, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
while True:
    c, _ = s.accept()
    c.recv(65536)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
PY
python3 reset_server.py rport >/dev/null 2>&1 &
pids="$pids $!"
n=0; while [ $n -lt 100 ] && ! { [ -s port ] && [ -s rport ]; }; do n=$((n + 1)); sleep 0.1; done
P=$(cat port); R=$(cat rport)
check "http stall: a clear timeout error" 0 'timed out after 500 ms.*ETIMEDOUT' -- \
  "$VOUCH" --allow-net=127.0.0.1 -e "print(vouch.http.get('http://127.0.0.1:$P/stall', {timeout = 500}))"
check "http reset: a clear error naming the connection" 0 'nil.*(reset|closed|Recv failure|ECONNRESET|empty reply)' -- \
  "$VOUCH" --allow-net=127.0.0.1 -e "print(vouch.http.get('http://127.0.0.1:$R/x', {timeout = 5000}))"
check "http close without an answer: a clear error" 0 'nil.*(closed|[Ee]mpty reply|Recv failure|reset)' -- \
  "$VOUCH" --allow-net=127.0.0.1 -e "print(vouch.http.get('http://127.0.0.1:$P/close', {timeout = 5000}))"
check "http: a stalled fetch does not hold up the others" 0 '^ok 20$' -- \
  "$VOUCH" --allow-net=127.0.0.1 -e "
    local fs = { function() return vouch.http.get('http://127.0.0.1:$P/stall', {timeout = 2000}) end }
    for i = 1, 20 do fs[#fs + 1] = function() return assert(vouch.http.get('http://127.0.0.1:$P/json')).status end end
    local r = { vouch.all(fs) }
    local n = 0
    for i = 2, 21 do if r[i] == 200 then n = n + 1 end end
    print('ok ' .. n)"

# The daemon: schedules that fetch from the stalling and resetting servers
# (with --timeout 3 for their runs), one that scores, and one locked out
# by the sqlite3 shell for a while: runs fail, the daemon runs on.
export VOUCH_DB=$TMP/h.db
cat > fetch.lua <<'LUA'
local r, msg, code = vouch.http.get(arg[1], { timeout = tonumber(arg[2]) })
if not r then error(("fetch %s: %s (%s)"):format(arg[1], msg, code), 0) end
LUA
"$VOUCH" --allow-net=127.0.0.1 schedule add stall 'every 1s' fetch.lua "http://127.0.0.1:$P/stall" 60000 >/dev/null
"$VOUCH" --allow-net=127.0.0.1 schedule add reset 'every 1s' fetch.lua "http://127.0.0.1:$R/x" 5000 >/dev/null
"$VOUCH" schedule add score 'every 1s' cmd:vet small.csv >/dev/null
"$VOUCH" --allow-net=127.0.0.1 --allow-read="$TMP" --timeout 3 daemon --poll 100 --grace 2 >h.log 2>&1 &
d=$!; pids="$pids $d"
sleep 5
mkfifo hold2
sqlite3 h.db <hold2 >/dev/null 2>&1 &
holder=$!; pids="$pids $holder"
exec 8>hold2
echo "BEGIN EXCLUSIVE; SELECT 1;" >&8
sleep 3                     # the daemon's writes wait for the lock meanwhile
echo "COMMIT;" >&8; exec 8>&-; wait "$holder"
released=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 3
check "daemon: still running after stalls, resets and a locked database" 0 '' -- kill -0 "$d"
kill -TERM "$d"; wait "$d"; rc=$?
check "daemon: stops cleanly" 0 '' -- test "$rc" -eq 0
check "daemon: stalled fetches end as limit (the run's --timeout)" 0 '^[1-9]' -- \
  sqlite3 h.db "SELECT count(*) FROM schedule_runs WHERE schedule = 'stall' AND status = 'limit'"
check "daemon: reset fetches end as failed, with the error" 0 'fetch http://127.0.0.1:[0-9]+/x: ' -- \
  sqlite3 h.db "SELECT error FROM schedule_runs WHERE schedule = 'reset' AND status = 'failed' LIMIT 1"
check "daemon: scoring went on around them" 0 '^[1-9]' -- \
  sqlite3 h.db "SELECT count(*) FROM schedule_runs WHERE schedule = 'score' AND status = 'ok'"
check "daemon: scoring runs after the lock was released" 0 '^[1-9]' -- \
  sqlite3 h.db "SELECT count(*) FROM schedule_runs WHERE schedule = 'score' AND status = 'ok'
                AND started_at >= '$released'"
check "daemon: no run left running, every scoring run complete or empty" 0 '^$' -- runs_ok h.db
check "daemon: no run left running" 0 '^0$' -- sqlite3 h.db "SELECT count(*) FROM schedule_runs WHERE status = 'running'"
grep -E ' (stop|exit|lock|error) ' h.log | sed 's/^/# log: /' | head -n 5
unset VOUCH_DB

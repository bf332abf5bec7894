# concurrency.sh: many tasks and many HTTP loads at once. 1,000 concurrent
# tasks and 100 concurrent HTTP fetches against a local server all complete
# with the right results; repeated in rounds in one process, its open
# descriptors and RSS (/proc/self) stay flat (under SANITIZE=1 the leak
# checker also sees every allocation freed at exit). Runs are written into
# the host's record by many tasks and several processes at once, every one
# stored whole; opened and closed again round after round, the record
# leaves descriptors and RSS flat too. On a server's record
# (pg_concurrency.sh) those runs go to the server, each on its end.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1
python3 "$ROOT/tests/http_server.py" port >/dev/null 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null' EXIT
n=0; while [ $n -lt 100 ] && [ ! -s port ]; do n=$((n + 1)); sleep 0.1; done
P=$(cat port)

check "1000 concurrent tasks all complete, in order" 0 '^1000 500500$' -- "$VOUCH" -e '
  local fs = {}
  for i = 1, 1000 do
    fs[i] = function() vouch.sleep(i % 37); return i end
  end
  local r = { vouch.all(fs) }
  local sum = 0
  for i = 1, #r do assert(r[i] == i, "result " .. i); sum = sum + r[i] end
  print(#r .. " " .. sum)'

check "1000 tasks spawning tasks, waited one by one" 0 '^2000$' -- "$VOUCH" -e '
  local ts = {}
  for i = 1, 1000 do
    ts[i] = vouch.spawn(function()
      local inner = vouch.spawn(function() vouch.sleep(i % 11); return 1 end)
      vouch.sleep(i % 13)
      return 1 + inner:wait()
    end)
  end
  local n = 0
  for i = 1, 1000 do n = n + ts[i]:wait() end
  print(n)'

check "100 concurrent HTTP fetches all complete" 0 '^100 ok$' -- \
  "$VOUCH" --allow-net=127.0.0.1 -e "
  local fs = {}
  for i = 1, 100 do
    fs[i] = function()
      local r = assert(vouch.http.get('http://127.0.0.1:$P/slow?ms=50', {timeout = 60000}))
      assert(r.status == 200, r.status)
      return 1
    end
  end
  local n = 0
  for _, v in ipairs({ vouch.all(fs) }) do n = n + v end
  print(n .. ' ok')"
check "at most 16 of them were in flight at once (the client's limit)" 0 '"max_in_flight": ([1-9]|1[0-6])[,}]' -- \
  curl -s "http://127.0.0.1:$P/stats"

# Rounds in one process: /proc/self read between them (trusted, for io).
cat > rounds.lua <<LUA
local P = $P
local function fds()
  local p = io.popen("ls /proc/" .. vouch.db.pid() .. "/fd | wc -l")
  local n = tonumber(p:read("l")); p:close(); return n
end
local function rss()
  for l in io.lines("/proc/self/status") do
    local v = l:match("^VmRSS:%s+(%d+)") if v then return tonumber(v) end
  end
end
local out = {}
for round = 1, 6 do
  local fs = {}
  for i = 1, 1000 do fs[i] = function() vouch.sleep(i % 7); return i end end
  for i = 1, 100 do
    fs[#fs + 1] = function()
      return assert(vouch.http.get("http://127.0.0.1:" .. P .. "/json", {timeout = 60000})).status
    end
  end
  local r = { vouch.all(fs) }
  assert(#r == 1100 and r[1100] == 200)
  collectgarbage(); collectgarbage()
  out[round] = { fds(), rss() }
  print(string.format("round %d: %d fds, %d KiB", round, out[round][1], out[round][2]))
end
-- After the first two rounds (pools and caches warm), no growth. A kept-
-- alive connection or the pipe of the count itself may come and go.
local f0, r0 = math.max(out[1][1], out[2][1]), out[2][2]
for k = 3, 6 do
  assert(out[k][1] <= f0 + 2, "descriptors grew: " .. out[k][1] .. " > " .. f0)
  assert(out[k][2] <= r0 * 1.2 + 2048, "RSS grew: " .. out[k][2] .. " KiB > " .. r0)
end
print("flat")
LUA
# Under ASan freed memory waits in a quarantine (256 MiB): keep it small so
# that RSS shows what is live (a plain build ignores the variable).
out=$(ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1" "$VOUCH" --trusted run rounds.lua 2>&1); rc=$?
printf '%s\n' "$out" | grep '^round' | sed 's/^/# /'
check "6 rounds of 1000 tasks and 100 fetches: descriptors and RSS flat" 0 '^flat$' -- \
  sh -c "printf '%s\n' \"\$1\"; exit $rc" sh "$out"

# {== the record ==}
# runs.lua ROUNDS TASKS: each round opens the record, TASKS tasks write a
# run of 50 scores each at once, and closes it; then the descriptors and
# RSS after each round are held as rounds.lua holds them.
cat > runs.lua <<'LUA'
local rounds, tasks, n = tonumber(arg[1]), tonumber(arg[2]), 50
local function fds()
  local p = io.popen("ls /proc/" .. vouch.db.pid() .. "/fd | wc -l")
  local k = tonumber(p:read("l")); p:close(); return k
end
local function rss()
  for l in io.lines("/proc/self/status") do
    local v = l:match("^VmRSS:%s+(%d+)") if v then return tonumber(v) end
  end
end
local out = {}
for round = 1, rounds do
  local db = vouch.db.open()
  local fs = {}
  for t = 1, tasks do
    fs[t] = function()
      local run = db:run_begin { scorecard = "concurrent", hash = "h" }
      for i = 1, n do
        db:run_score(run, "P" .. i, nil, nil, i, "review", nil, nil, {}, { "R", "review", 0, 1, false })
        if i % 10 == 0 then vouch.sleep(t % 5) end  -- the tasks' scores interleave
      end
      db:run_end(run, "ok", n)
      return run
    end
  end
  local ids = { vouch.all(fs) }
  assert(#ids == tasks)
  db:close()
  collectgarbage(); collectgarbage()
  out[round] = { fds(), rss() }
  print(string.format("round %d: %d runs, %d fds, %d KiB", round, #ids, out[round][1], out[round][2]))
end
if rounds < 3 then return end
local f0, r0 = math.max(out[1][1], out[2][1]), out[2][2]
for k = 3, rounds do
  assert(out[k][1] <= f0 + 2, "descriptors grew: " .. out[k][1] .. " > " .. f0)
  assert(out[k][2] <= r0 * 1.2 + 2048, "RSS grew: " .. out[k][2] .. " KiB > " .. r0)
end
print("flat")
LUA
# whole: how many runs the record holds, and how many of them are not
# whole (ok, with its 50 scores and their reasons).
whole() {
  q "SELECT count(*) || ' runs, ' || sum(CASE WHEN r.status = 'ok' AND r.partners = 50
                                            AND coalesce(s.n, 0) = 50 THEN 0 ELSE 1 END) || ' not whole'
       FROM runs r LEFT JOIN (SELECT run_id, count(*) AS n FROM scores WHERE reasons <> '[]'
                               GROUP BY run_id) s ON s.run_id = r.id"
}

# at NAME N CMD...: N processes run `vouch --db RECORD CMD...` at once, 8
# times over (2 under valgrind, whose start-up is slow), each time on a record of its own (record NAME1 ... NAME8,
# which one process opens first unless NAME is "new"); prints how those
# that failed failed, and how often.
at() {
  _name=$1 _n=$2 _i=1; shift 2
  while [ $_i -le "$REPS" ]; do
    _db=$(record "$_name$_i")
    [ "$_name" = new ] || "$VOUCH" --db "$_db" -e 'vouch.db.open()'
    _ps= _k=1
    while [ $_k -le "$_n" ]; do
      ("$VOUCH" --db "$_db" "$@" >at$_k.out 2>&1 || echo "exit $?: $(head -n 1 at$_k.out)") &
      _ps="$_ps $!" _k=$((_k + 1))
    done
    wait $_ps
    _i=$((_i + 1))
  done | sort | uniq -c
}
REPS=8
case "${VALGRIND:-0}:$VOUCH" in 1:*|*/vg/*) REPS=2 ;; esac
check "6 processes open a new record at once ($REPS times)" 0 '^$' -- at new 6 -e 'vouch.db.open()'
check "4 processes begin the record's first runs at once ($REPS times)" 0 '^$' -- \
  at first 4 --trusted run runs.lua 1 1

# Here the record and its scorecard are made first (the checks above race
# to make them), so that what follows checks the writers alone.
VOUCH_DB=$(record par)
"$VOUCH" --db "$VOUCH_DB" --trusted run runs.lua 1 1 >/dev/null
ps= i=1
while [ $i -le 4 ]; do
  "$VOUCH" --db "$VOUCH_DB" --trusted run runs.lua 2 20 >par$i.out 2>&1 & ps="$ps $!"
  i=$((i + 1))
done
rcs=; for p in $ps; do wait "$p"; rcs="$rcs$?"; done
check "4 processes of 20 tasks each write runs into one record at once" 0 '^0000$' -- \
  sh -c 'echo "$1"; grep -hv "^round " par*.out; true' sh "$rcs"
check "... every run stored whole" 0 '^161 runs, 0 not whole$' -- whole

VOUCH_DB=$(record rounds)
out=$(ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1" \
  "$VOUCH" --db "$VOUCH_DB" --trusted run runs.lua 6 20 2>&1); rc=$?
printf '%s\n' "$out" | grep '^round' | sed 's/^/# /'
check "6 rounds of 20 tasks writing runs: descriptors and RSS flat" 0 '^flat$' -- \
  sh -c "printf '%s\n' \"\$1\"; exit $rc" sh "$out"
check "... all 120 stored whole" 0 '^120 runs, 0 not whole$' -- whole

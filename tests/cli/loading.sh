#!/bin/sh
# loading.sh: the loaders driven as a subprocess on files made here: deep
# nesting, a CSV whose quoted fields cross the read chunks (checked against
# Python's csv module), and the progress line (only on a terminal). The
# joined rows are stored in the host's record, a file, or a database of a
# server under pg_loading.sh.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
J=$(record join)

python3 -c 'import sys; sys.stdout.write("[" * 100000)' > deep.json
check "load.json refuses 100,000 nested brackets" 1 \
  'deep.json:1:2049: maximum parsing depth reached near .\[.$' -- \
  "$VOUCH" -e 'vouch.load.json("deep.json")'
python3 -c 'import sys; sys.stdout.write("{\"a\":1}\n" + "[" * 100000 + "]" * 100000 + "\n")' > deep.ndjson
check "load.ndjson refuses 100,000 nested brackets" 1 \
  'deep.ndjson:2:2049: maximum parsing depth reached near .\[.$' -- \
  "$VOUCH" -e 'for r in vouch.load.ndjson("deep.ndjson"):rows() do end'

# 30,000 rows with quoted commas, quotes, CRLF, LF and Thai text: several
# 256 KiB reads, so records and UTF-8 sequences are cut at chunk ends.
python3 - <<'PY'
import csv, random
random.seed(7)
words = ["Acme", "Blue, Ltd", 'The "Best"', "line\nbreak", "cr\r\nlf", "ไทย", "x"]
total, chars = 0, 0
with open("big.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f, lineterminator="\r\n")
    w.writerow(["id", "name", "n", "f"])
    for i in range(30000):
        name = " ".join(random.choice(words) for _ in range(random.randint(1, 6)))
        n = random.randint(-1000, 1000)
        w.writerow(["P%07d" % i, name, n, "%.3f" % (n / 7)])
        total += n
        chars += len(name)
with open("big.expect", "w") as f:
    f.write("30000 %d %d\n" % (total, chars))
PY
cat > big.lua <<'LUA'
local n, total, chars = 0, 0, 0
for r in vouch.load.csv("big.csv"):rows() do
  n = n + 1
  total = total + r.n
  chars = chars + utf8.len(r.name)
  assert(math.type(r.f) == "float")
end
print(n, total, chars)
LUA
expect=$(tr ' ' '\t' < big.expect)
check "30,000 rows across read chunks match Python's csv" 0 "^$expect\$" -- \
  "$VOUCH" run big.lua

# The progress line: on a terminal only (VOUCH_PROGRESS_MS=0 shows it at once).
check "no progress line when stderr is not a terminal" 0 '^30000' -- \
  env VOUCH_PROGRESS_MS=0 "$VOUCH" run big.lua
if [ -n "$(VOUCH_PROGRESS_MS=0 "$VOUCH" run big.lua 2>&1 >/dev/null)" ]; then
  echo "not ok - stderr stays empty when it is not a terminal"
else
  echo "ok - stderr stays empty when it is not a terminal"
fi
cat > progress_pty.py <<'PY'
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.environ["VOUCH_PROGRESS_MS"] = "0"
    os.execv(sys.argv[1], [sys.argv[1], "run", "big.lua"])
out = b""
while True:
    try:
        b = os.read(fd, 4096)
    except OSError:
        break
    if not b:
        break
    out += b
os.waitpid(pid, 0)
sys.stdout.write(out.decode("utf-8", "replace").replace("\r", "\n"))
PY
check "a progress line (bytes, rows, rows/s) on a terminal" 0 \
  'vouch: loading big\.csv: [0-9.]+ MB, [0-9]+ rows, [0-9]+ rows/s' -- \
  python3 progress_pty.py "$VOUCH"

# examples/join.lua: three sources at once, joined by partner id, stored.
check "examples/join.lua joins three sources" 0 \
  'P001 \| Acme Foods \| brand \| 120000 followers \| overlap 0.42 \| 2 reviews \| 4.5 stars' -- \
  "$VOUCH" --db "$J" run "$ROOT/examples/join.lua"
# Read back as a script reads them: on a server a script's own tables are
# made in the user's copy of the record (README), which vouch opens.
qj() {
  if on_pg; then "$VOUCH" --db "$J" -e "vouch.db.open():print([[$1]])"
  else sqlite3 "$J" "$1"; fi
}
check "the joined rows are in the database" 0 '^5\|P004\|ร้านกาแฟดี\|0.61\|4.5$' -- \
  qj "SELECT (SELECT count(*) FROM partner_profile) || '|' || partner_id || '|' || name || '|' ||
    overlap || '|' || stars FROM partner_profile WHERE partner_id = 'P004'"
check "a null overlap and no reviews stay NULL" 0 '^P005\|\|0\|$' -- \
  qj "SELECT partner_id || '|' || ifnull(overlap, '') || '|' || reviews || '|' || ifnull(stars, '')
    FROM partner_profile WHERE partner_id = 'P005'"

# Leaving a source while a read is in flight: break, close, <close>, exit.
cat > early.lua <<'LUA'
local src = vouch.load.csv("big.csv")
local n = 0
for _ in src:rows() do n = n + 1 if n == 10 then break end end
src:close()
local ok, err = pcall(src.all, src)
print(n, ok, err)
do
  local s2 <close> = vouch.load.csv("big.csv")
  for _ in s2:rows() do break end
end
local s3 = vouch.load.csv("big.csv")
s3:rows()(s3)
if arg[1] == "exit" then vouch.exit(0) end
LUA
check "a source left with a read in flight is closed clean" 0 \
  '^10	false	attempt to use a closed source$' -- "$VOUCH" run early.lua
check "vouch.exit during a load" 0 '^10	false' -- "$VOUCH" run early.lua exit

# The loaders' memory counts against --max-memory: a huge row, a JSON tree.
python3 -c 'import sys; sys.stdout.write("a,b\n" + "x" * 12000000 + ",1\n")' > longrow.csv
check "a 12 MB row is refused under --max-memory=8M" 3 \
  'memory limit exceeded \(--max-memory=8MiB\)' -- \
  "$VOUCH" --max-memory 8M -e 'for _ in vouch.load.csv("longrow.csv"):rows() do end'
python3 -c '
import json
print(json.dumps([{"id": "P%07d" % i, "tags": ["a", "b"], "x": {"k": i}} for i in range(60000)]))' > tree.json
# load.json streams the array: its rows, one at a time, fit where the
# whole tree would not.
check "a JSON array larger than --max-memory=8M streams within it" 0 '^60000$' -- \
  "$VOUCH" --max-memory 8M -e 'local n = 0 for _ in vouch.load.json("tree.json"):rows() do n = n + 1 end print(n)'
check "and decoded from a string too" 3 'memory limit exceeded' -- \
  "$VOUCH" --max-memory 8M -e 'vouch.json.decode("[" .. string.rep("[1,2,3],", 400000) .. "0]")'
check "the same loads pass without the limit" 0 '^60000$' -- \
  "$VOUCH" -e 'print(#vouch.load.json("tree.json"):all())'

# opts.timeout: for the open and for each read (a FIFO whose writer is slow).
# The writer waits for vouch to be at the load (it leaves a file just
# before), however slowly vouch starts: under valgrind that takes seconds.
rm -f slow.fifo at.load && mkfifo slow.fifo
( until [ -e at.load ]; do sleep 0.05; done; sleep 2; printf 'a,b\n1,2\n' > slow.fifo ) &
check "a load whose open times out returns nil, message, ETIMEDOUT" 0 \
  '^nil	slow.fifo: timed out after 200 ms	ETIMEDOUT$' -- \
  "$VOUCH" --allow-write=. -e 'vouch.file.write("at.load", "")
    print(vouch.load.csv("slow.fifo", {timeout = 200}))'
wait
( printf 'a,b\n1,2\n'; sleep 2; printf '3,4\n' ) > slow.fifo &
check "a read that times out raises, naming the file" 1 \
  '^vouch: slow.fifo: timed out after 300 ms$' -- \
  "$VOUCH" -e 'for row in vouch.load.csv("slow.fifo", {timeout = 300}):rows() do
    print("row " .. row.a) end'
wait

# Loads inside a user coroutine, and a load cancelled in the middle.
check "rows() inside coroutine.wrap" 0 '^P0000003$' -- "$VOUCH" -e '
  local gen = coroutine.wrap(function()
    for r in vouch.load.csv("big.csv"):rows() do coroutine.yield(r) end
  end)
  for _ = 1, 4 do last = gen() end
  print(last.id)'
check "a task cancelled while it loads" 0 '^(cancelled|done)$' -- "$VOUCH" -e '
  local t = vouch.spawn(function()
    local n = 0 for _ in vouch.load.csv("big.csv"):rows() do n = n + 1 end return n
  end)
  vouch.sleep(1)
  t:cancel()
  print(t:status())'

# The host's load budget (a quarter of --max-memory, at most 32 MiB): 300
# sources read at once take turns at it instead of overrunning the limit
# (before, each filled its buffers first: 300 x 120 KB exceeded 8 MiB).
python3 - <<'PY'
for i in range(1, 301):
    with open("w%d.csv" % i, "w") as f:
        f.write("id,name,score\n")
        for j in range(1000):
            f.write("%d,partner number %d of file %d,%d\n" % (j, j, i, j % 100))
    if i <= 3:
        with open("long%d.csv" % i, "w") as f:
            f.write("id,text\n" + "".join("%d,%s\n" % (j, "x" * 600) for j in range(1000)))
PY
check "vouch.all over 300 sources within --max-memory 8m" 0 '^14850000$' -- \
  "$VOUCH" --max-memory 8m -e '
  local fs, n = {}, 0
  for i = 1, 300 do
    fs[i] = function()
      local k = 0
      for r in vouch.load.csv("w" .. i .. ".csv"):rows() do k = k + r.score end
      return k
    end
  end
  for _, v in ipairs({ vouch.all(fs) }) do n = n + v end
  print(n)'
# A task reading two sources in turn never waits for itself; a task holding
# the budget while its subtask reads lets the subtask in over it rather than
# both waiting forever (budget 3 MiB; each of these files takes 1.5 MiB).
check "the load budget never blocks a task on itself or on its subtasks" 0 '^1000 1000 1000$' -- \
  "$VOUCH" --max-memory 12m -e '
  local function count(name) local n = 0 for _ in vouch.load.csv(name):rows() do n = n + 1 end return n end
  local a = vouch.load.csv("long1.csv")
  local it, st = a:rows()
  it(st)
  local nb = count("long2.csv")
  local na = 1
  for _ in it, st do na = na + 1 end
  local p, q = vouch.load.csv("long1.csv"), vouch.load.csv("long2.csv")
  local ip, sp = p:rows()
  local iq, sq = q:rows()
  ip(sp) iq(sq)
  print(na .. " " .. nb .. " " .. vouch.all{ function() return count("long3.csv") end })'

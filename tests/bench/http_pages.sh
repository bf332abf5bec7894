#!/bin/sh
# http_pages.sh: vouch.http.pages against the local partner API
# (tests/http_server.py's /api, which wants a key): 10,000 pages (HTTP_PAGES)
# read by 16 concurrent tasks, each following its listing's Link rel="next",
# with retries on and the key from --allow-env. Requests per second and the
# peak memory of the run. The server (Python, threaded) is the likelier
# ceiling of the two.
set -eu
. "$(dirname "$0")/lib.sh"
PAGES=${HTTP_PAGES:-10000}
TASKS=16
tmp=$(mktemp -d)
API_KEY=bench-key python3 "$ROOT/tests/http_server.py" "$tmp/port" &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$tmp"' EXIT
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
PORT=$(cat "$tmp/port")

cat > "$tmp/pages.lua" <<'LUA'
local base, pages, tasks = arg[1], tonumber(arg[2]), tonumber(arg[3])
local per_task = pages // tasks
local H = { ["X-Api-Key"] = vouch.env("BENCH_API_KEY") }
local t0 = vouch.now and vouch.now() or os.clock()
local started = os.time()
local fns = {}
for t = 1, tasks do
  fns[t] = function()
    local n = 0
    for page in vouch.http.pages(("%s/api/partners?page=1&per=1&n=%d&t=%d"):format(base, per_task, t),
                                 { headers = H, retries = 3 }) do
      n = n + #page:json().items
    end
    return n
  end
end
local got = table.pack(vouch.all(fns))
local total = 0
for i = 1, got.n do total = total + got[i] end
assert(total == per_task * tasks, "got " .. total .. " partners")
print(total)
LUA

measure env BENCH_API_KEY=bench-key "$VOUCH" run --timeout 0 --allow-net=127.0.0.1 \
  --allow-env=BENCH_API_KEY "$tmp/pages.lua" "http://127.0.0.1:$PORT" "$PAGES" "$TASKS"
n=$(( PAGES / TASKS * TASKS ))
row "http: pages, $TASKS tasks, $n pages" "$(awk -v n="$n" -v s="$WALL" 'BEGIN { printf "%.0f", n / s }')" \
  req/s "$PEAK" "local Python server; $WALL s"

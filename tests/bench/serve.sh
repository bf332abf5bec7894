#!/bin/sh
# serve.sh: `vouch serve` on a record of a 100,000-partner run (`vouch vet`
# on the workload's CSV) and a 1,000,000-partner run (its rows ten times
# over, copied in SQL: a vet of a million takes minutes). Figures: the
# first ranked page of the million-partner run (cold: its summary is being
# made by a child meanwhile), how long until that summary is in, then the
# median of SERVE_REQUESTS (default 20) answers of its pages and API, and
# requests per second under wrk (SERVE_SECONDS each, 2 threads, 16
# connections) for pages of partners of the 100,000-partner run. The peak
# is the server's (VmHWM).
set -eu
. "$(dirname "$0")/lib.sh"
[ -n "$SHARED_BENCH" ] || { echo "# serve.sh: no shared/bench kit, skipped" >&2; exit 0; }
REQS=${SERVE_REQUESTS:-20}
SECS=${SERVE_SECONDS:-5}
db=$BENCH_DIR/serve.db
if [ "$(sqlite3 "$db" "SELECT count(*) FROM runs WHERE status = 'ok'" 2>/dev/null)" != 2 ]; then
  rm -f "$db" "$db-wal" "$db-shm"
  "$VOUCH" --db "$db" vet "$(partners_csv 100000)" >/dev/null
  sqlite3 "$db" "INSERT INTO runs(id, scorecard, scorecard_hash, inputs, started_at, ended_at, status, partners)
    SELECT 2, scorecard, scorecard_hash, inputs, started_at, ended_at, status, partners * 10 FROM runs WHERE id = 1;
    INSERT INTO run_loads SELECT 2, load_id FROM run_loads WHERE run_id = 1;
    WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < 9)
    INSERT INTO scores(run_id, partner_id, name, kind, total, verdict, dims, reasons, load_id, row)
    SELECT 2, partner_id || '-' || i, name, kind, total, verdict, dims, reasons, load_id, row
    FROM scores, k WHERE run_id = 1"
fi
mb=$(du -m "$db" | cut -f1)

out=$BENCH_DIR/serve.out
"$VOUCH" --db "$db" serve --port 0 >"$out" 2>"$BENCH_DIR/serve.err" &
server=$!
trap 'kill -INT $server 2>/dev/null; wait $server 2>/dev/null' EXIT
i=0
while ! grep -q token= "$out" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
url=$(grep -o 'http://[^ ]*' "$out")
base=${url%%/?token=*}
auth="Authorization: Bearer ${url##*token=}"

get() { curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H "$auth" "$base$1"; }
# ms PATH: the median time of $REQS answers, in ms (each must be 200)
ms() {
  for _ in $(seq "$REQS"); do get "$1"; done | awk '$1 != 200 { bad = 1 } { print $2 * 1000 }
    END { if (bad) print "failed" > "/dev/stderr" }' | median
}

t0=$(date +%s%N)
first=$(get /run/2)
row "serve: first ranked page, 1M-partner run" "$(echo "$first" | awk '{ printf "%.0f", $2 * 1000 }')" ms - \
  "cold; HTTP ${first%% *}; db $mb MB"
while [ "$(get /api/runs/2 | cut -d' ' -f1)" = 202 ]; do sleep 0.2; done
row "serve: its summary made (a child)" "$(awk -v s="$t0" -v e="$(date +%s%N)" 'BEGIN { printf "%.1f", (e - s) / 1e9 }')" s - \
  "medians, flags over 1M; the server answers meanwhile"
row "serve: run page, 1M-partner run" "$(ms /run/2)" ms - "median of $REQS"
row "serve: /api/runs/N, 1M" "$(ms /api/runs/2)" ms - "the summary"
row "serve: /api/runs/N/partners, 1M" "$(ms /api/runs/2/partners)" ms - "first page by rank"
REQS=3
row "serve: /api/runs/N/partners?sort=trust, 1M" "$(ms '/api/runs/2/partners?sort=trust')" ms - \
  "the first sorts the run and keeps the order: median of 3"
row "serve: /api/runs/N/partners?offset=500000, 1M" "$(ms '/api/runs/2/partners?offset=500000')" ms - \
  "median of 3"
mid=$(sqlite3 "$db" "SELECT partner_id FROM scores WHERE run_id = 2 AND partner_id >= 'P005' LIMIT 1")
row "serve: /api/runs/N/partners?after=ID, 1M" "$(ms "/api/runs/2/partners?after=$mid")" ms - \
  "keyset: any page, median of 3"
row "serve: /api/runs/N/partners?verdict=review&offset=1000, 1M" \
  "$(ms '/api/runs/2/partners?verdict=review&offset=1000')" ms - "median of 3"
row "serve: /diff?a=1&b=2 (100k against 1M)" "$(ms '/diff?a=1&b=2')" ms - "median of 3"
REQS=${SERVE_REQUESTS:-20}
row "serve: /partner/ID, in both runs" "$(ms "/partner/$mid")" ms - "median of $REQS"

if command -v wrk >/dev/null 2>&1; then
  while [ "$(get /api/runs/1 | cut -d' ' -f1)" = 202 ]; do sleep 0.2; done
  for p in "/api/runs/1/partners?limit=50" "/api/runs/1/partners?limit=50&offset=50" "/api/state"; do
    rps=$(wrk -t2 -c16 -d"${SECS}s" -H "$auth" "$base$p" | awk '/^Requests\/sec/ { printf "%.0f", $2 }')
    row "serve: wrk $p" "$rps" req/s - "100k-partner run; 2 threads, 16 connections, ${SECS} s"
  done
else
  row "serve: wrk" - req/s - "# SKIP wrk is not installed (apt-get install wrk)"
fi
hwm=$(awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$server/status")
row "serve: the server's peak memory" "$hwm" MiB "$hwm"

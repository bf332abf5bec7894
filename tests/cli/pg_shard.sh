#!/bin/sh
# pg_shard.sh: `vouch vet --shard K/N` scores one run in several processes
# on a record on a PostgreSQL server (pg.sh). The run is the same as one
# process's (the same digest of scores, reasons and input rows), each
# shard is stored once, a process that finishes takes over a shard whose
# holder stopped renewing its lease, and a holder that lost its shard
# cannot write it any more (SIGSTOP stands for a process that hangs). A
# run survives a server restarted while it is scored, and one whose server
# is gone when it ends leaves nothing half-written.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
pids=
trap 'for p in $pids; do kill -9 $p 2>/dev/null; done; pg_stop' EXIT
if ! pg_start; then
  pg_not_run "shard: two processes store one run" "shard: the same run as one process's" \
    "shard: a stopped holder's shard is taken over" "shard: a holder that lost its shard cannot write it"
  exit 0
fi
cd "$TMP"
export XDG_CACHE_HOME="$TMP/cache"
python3 "$ROOT/tests/cli/partners.py" 3000 p.csv
# The digest of a run: every partner's row, as the record keeps it (the
# total to nine places, as a file and a server both print it).
digest() {
  pg_sql "$1" "SELECT s.partner_id || '|' || coalesce(to_char(s.total, 'FM990.000000000'), '') ||
    '|' || s.verdict || '|' || s.dims || '|' || s.reasons || '|' || s.row || '|' || i.vals
    FROM scores s JOIN inputs i ON i.load_id = s.load_id AND i.row = s.row WHERE s.run_id = $2
    ORDER BY s.partner_id COLLATE \"C\"" | md5sum | cut -d' ' -f1
}
# The same of a run in a SQLite file.
digest_file() {
  sqlite3 "$1" "SELECT s.partner_id || '|' || coalesce(printf('%.9f', s.total), '') || '|' ||
    s.verdict || '|' || s.dims || '|' || s.reasons || '|' || s.row || '|' || i.vals FROM scores s
    JOIN inputs i ON i.load_id = s.load_id AND i.row = s.row WHERE s.run_id = $2
    ORDER BY s.partner_id" | md5sum | cut -d' ' -f1
}

# --- One process, on a file and on the server: the reference.
one=$(pg_newdb one)
"$VOUCH" --db one.db vet p.csv >/dev/null
"$VOUCH" --db "$one" vet p.csv >/dev/null
ref=$(digest "$one" 1)
check "shard: one process's run on the server is the file's" 0 "^$ref\$" -- digest_file one.db 1

# --- Two processes, one run.
two=$(pg_newdb two)
"$VOUCH" --db "$two" vet p.csv --shard 1/2 >a.out 2>&1 & a=$!; pids="$pids $a"
"$VOUCH" --db "$two" vet p.csv --shard 2/2 >b.out 2>&1; b_rc=$?
wait $a; a_rc=$?
check "shard: two processes store one run" 0 '^1\|ok\|3000\|2$' -- \
  pg_sql "$two" "SELECT id, status, partners, shards FROM runs"
ok "shard: both processes end well" test "$a_rc$b_rc" = 00
check "shard: each shard stored once, by a process of its own or not" 0 '^0\|done\|1500\|1
1\|done\|1500\|1$' -- pg_sql "$two" "SELECT shard, status, partners, claims FROM run_shards ORDER BY 1"
check "shard: the same run as one process's" 0 "^$ref\$" -- digest "$two" 1
check "shard: one load, its rows stored once" 0 '^1\|3000\|3000$' -- \
  pg_sql "$two" "SELECT count(DISTINCT l.id), max(l.rows), (SELECT count(*) FROM inputs) FROM loads l"
check "shard: the last process says the run is stored" 0 'run 1: every shard is stored' -- \
  cat a.out b.out
check "shard: vouch runs lists it whole" 0 ' 1  social_capital .* ok .* 3000 ' -- \
  "$VOUCH" --db "$two" runs
check "shard: explain reads a partner of either shard" 0 '^P0000002  Partner 2' -- \
  "$VOUCH" --db "$two" explain P0000002

# --- An id twice, in the shares of two processes: each checks the ids of
# its own share, and the server sees the two; the run fails whole, says
# why, and keeps none of the rows the first shard sent. (supplier: with
# portfolio rules every process reads every row, and finds the two itself.)
sed '3s/^P0000002,/P0000001,/' p.csv > dup.csv
dup=$(pg_newdb dup)
"$VOUCH" --db "$dup" vet --rules supplier dup.csv --shard 1/2 >a.out 2>&1 & a=$!; pids="$pids $a"
"$VOUCH" --db "$dup" vet --rules supplier dup.csv --shard 2/2 >b.out 2>&1; b_rc=$?
wait $a; a_rc=$?
ok "shard: an id in two shares: both processes fail" test "$a_rc$b_rc" = 11
check "shard: ... the run fails, and says why" 0 \
  "^failed\|.*partner 'P0000001' appears twice in the run's inputs" -- \
  pg_sql "$dup" "SELECT status, error FROM runs"
check "shard: ... and keeps none of its rows: scores, inputs, loads" 0 '^0\|0\|0\|0$' -- \
  pg_sql "$dup" "SELECT (SELECT count(*) FROM scores), (SELECT count(*) FROM inputs),
                        (SELECT count(*) FROM loads), (SELECT count(*) FROM run_loads)"
check "shard: ... which each process says" 0 "appears twice.*
.*(appears twice|failed in another process)" -- sh -c 'cat a.out; echo; cat b.out'

# --- Two inputs of one name and size, not the same rows: the processes
# given them make a run each, of their own rows, and do not share one.
mkdir -p da db
cp p.csv da/p.csv
sed 's/^P0000007,Partner 7,/P0000007,Partner X,/' p.csv > db/p.csv
same=$(pg_newdb same)
(cd da && "$VOUCH" --db "$same" vet --rules supplier p.csv --shard 1/2 >../a.out 2>&1) & a=$!
pids="$pids $a"
(cd db && "$VOUCH" --db "$same" vet --rules supplier p.csv --shard 2/2 >../b.out 2>&1); b_rc=$?
wait $a; a_rc=$?
ok "shard: two inputs of one name and size" test "$(stat -c %s da/p.csv)" = "$(stat -c %s db/p.csv)"
ok "shard: ... both processes end well" test "$a_rc$b_rc" = 00
check "shard: ... but other rows make two runs, each whole" 0 '^2\|ok\|3000\|3000$' -- \
  pg_sql "$same" "SELECT count(*), min(status), min(partners), max(partners) FROM runs"
check "shard: ... each of its own rows" 0 '^1\|1$' -- pg_sql "$same" \
  "SELECT count(*), count(DISTINCT run_id) FROM scores WHERE name = 'Partner X'"

# --- Three shards, two processes: the one that finishes first takes the third.
three=$(pg_newdb three)
"$VOUCH" --db "$three" vet p.csv --shard 1/3 >a.out 2>&1 & a=$!; pids="$pids $a"
"$VOUCH" --db "$three" vet p.csv --shard 2/3 >b.out 2>&1
wait $a
check "shard: two processes score three shards" 0 '^ok\|3000\|3$' -- \
  pg_sql "$three" "SELECT status, partners, (SELECT count(*) FROM run_shards WHERE status = 'done') FROM runs"
check "shard: three shards, the same run" 0 "^$ref\$" -- digest "$three" 1

# --- A holder that hangs (SIGSTOP) loses its shard when its lease runs out:
# another process takes it over and ends the run; woken, the old holder
# finds its shard taken and writes nothing.
four=$(pg_newdb four)
cat > slow.lua <<'EOF'
-- a scorecard slow enough that a process is caught scoring
local sc = require "vouch.scorecard"
return sc.scorecard {
  name = "slow",
  dimensions = { trust = 1 },
  rules = {
    { id = "SLOW", dimension = "trust", reads = { "review_avg" },
      score = function(v) local x = 0; for i = 1, 20000 do x = x + i end; return v * 20 end },
  },
}
EOF
"$VOUCH" --db "$four" vet p.csv --rules slow.lua --shard 2/2 --lease 1 >a.out 2>&1 & a=$!
pids="$pids $a"
n=0
until [ "$(pg_sql "$four" "SELECT count(*) FROM run_shards WHERE status = 'running' AND
           holder LIKE '% pid $a'" 2>/dev/null)" = 1 ] || [ $n -ge 600 ]; do
  sleep 0.05; n=$((n + 1))
done
kill -STOP $a
"$VOUCH" --db "$four" vet p.csv --rules slow.lua --shard 1/2 --lease 1 >b.out 2>&1; b_rc=$?
check "shard: a stopped holder's shard is taken over" 0 '^ok\|3000\|2$' -- \
  pg_sql "$four" "SELECT status, partners, (SELECT claims FROM run_shards WHERE shard = 1) FROM runs"
check "shard: the process that took it over stored both shards" 0 \
  'run 1: shard 1/2: 1500 partners stored.*run 1: shard 2/2: 1500 partners stored' -- \
  sh -c 'tr "\n" " " < b.out'
kill -CONT $a
wait $a; a_rc=$?
check "shard: a holder that lost its shard cannot write it" 1 'shard 2 of run 1 was taken over' -- \
  sh -c "cat a.out; exit $a_rc"
check "shard: every partner stored once" 0 '^3000\|3000$' -- \
  pg_sql "$four" "SELECT count(*), count(DISTINCT partner_id) FROM scores"

# --- Faults while one process scores: the server restarted in the middle
# of the run, then the server gone when the run is sent.
# started DB: waits (up to 30 s) until the server has a run running.
started() {
  n=0
  until [ "$(pg_sql "$1" "SELECT count(*) FROM runs WHERE status = 'running'" 2>/dev/null)" = 1 ] ||
        [ $n -ge 600 ]; do sleep 0.05; n=$((n + 1)); done
}
five=$(pg_newdb five)
"$VOUCH" --db "$five" vet p.csv --rules slow.lua >a.out 2>&1 & a=$!; pids="$pids $a"
started "$five"
pg_restart
wait $a; a_rc=$?
got="$a_rc $(pg_sql "$five" "SELECT status, partners, (SELECT count(*) FROM scores) FROM runs")"
check "shard: a server restarted while vet scores: the run is sent whole" 0 '^0 ok\|3000\|3000$' -- \
  echo "$got"
"$VOUCH" --db "$five" vet p.csv --rules slow.lua >a.out 2>&1 & a=$!; pids="$pids $a"
started "$five"
_pg_as "$PG_BIN/pg_ctl" stop -D data -m fast -w -t 60 >/dev/null 2>&1
wait $a; a_rc=$?
_pg_as "$PG_BIN/pg_ctl" start -D data -l log -w -t 60 >/dev/null 2>&1 && _pg_ready
check "shard: the server gone when the run ends: vet fails and says why" 1 \
  "vet: .*run_end.*the record on the server" -- sh -c "cat a.out; exit $a_rc"
check "shard: ... and the server has none of its rows" 0 '^2\|running\|0$' -- \
  pg_sql "$five" "SELECT id, status, (SELECT count(*) FROM scores WHERE run_id = 2) FROM runs WHERE id = 2"

# --- A run of one process is held under a lease: killed (-9), it is marked
# aborted by the next reader once the lease runs out; stopped past its
# lease and woken, its process finds the run aborted and sends nothing.
six=$(pg_newdb six)
"$VOUCH" --db "$six" vet p.csv --rules slow.lua --lease 1 >a.out 2>&1 & a=$!; pids="$pids $a"
started "$six"
kill -9 $a; wait $a 2>/dev/null
check "lease: a live run is listed running" 0 'running' -- "$VOUCH" --db "$six" runs
sleep 1.5
check "lease: a run whose process died is aborted once its lease ran out" 0 \
  " 1  slow .* aborted " -- "$VOUCH" --db "$six" runs
check "lease: ... and says why" 0 "^aborted\|process $a stopped renewing the run's lease" -- \
  pg_sql "$six" "SELECT status, error FROM runs WHERE id = 1"
"$VOUCH" --db "$six" vet p.csv --rules slow.lua --lease 1 >a.out 2>&1 & a=$!; pids="$pids $a"
started "$six"
kill -STOP $a
n=0
until "$VOUCH" --db "$six" runs 2>/dev/null | grep -q ' 2  slow .* aborted ' || [ $n -ge 300 ]; do
  sleep 0.1; n=$((n + 1))
done
kill -CONT $a
wait $a; a_rc=$?
check "lease: a process stopped past its lease finds its run aborted" 1 \
  'run 2 was marked aborted on the server: its lease ran out' -- sh -c "cat a.out; exit $a_rc"
check "lease: ... and the server has none of its rows" 0 '^aborted\|0$' -- \
  pg_sql "$six" "SELECT status, (SELECT count(*) FROM scores WHERE run_id = 2) FROM runs WHERE id = 2"
# A reader that looks all along while a run lasting several leases is scored.
sed 's/20000/400000/' slow.lua > slower.lua
"$VOUCH" --db "$six" vet p.csv --rules slower.lua --lease 2 >a.out 2>&1 & a=$!; pids="$pids $a"
looks=0
while kill -0 $a 2>/dev/null; do
  "$VOUCH" --db "$six" runs >/dev/null 2>&1; sleep 0.1; looks=$((looks + 1))
done
wait $a; a_rc=$?
check "lease: a run that keeps renewing its lease is not aborted" 0 '^0 ok\|3000 [1-9]' -- \
  echo "$a_rc $(pg_sql "$six" "SELECT status, partners FROM runs WHERE id = 3") $looks"

# --- Refusals.
check "shard: a file's record is refused" 1 'in shards on a record on a server' -- \
  "$VOUCH" --db x.db vet p.csv --shard 1/2
check "shard: K/N is checked" 2 'shard takes K/N' -- "$VOUCH" --db "$two" vet p.csv --shard 3/2
check "shard: --batch goes with --shard" 2 "goes with --shard" -- \
  "$VOUCH" --db "$two" vet p.csv --batch b0
check "shard: --lease goes with a record on a server" 2 'lease is for a record on a server' -- \
  "$VOUCH" --db x.db vet p.csv --lease 3
check "shard: a batch that ended is not scored again" 0 'nothing left to score here' -- \
  sh -c "\"$VOUCH\" --db '$two' vet p.csv --shard 1/1 --batch b1 >/dev/null &&
         \"$VOUCH\" --db '$two' vet p.csv --shard 1/1 --batch b1"

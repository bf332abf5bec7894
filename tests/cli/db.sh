# db.sh: the database from the command line: --db, VOUCH_DB and :memory:,
# the sqlite3 shell reading what vouch wrote, migrations (a newer database
# is refused and left untouched), dead runs marked aborted, read-only
# opens, and a long query obeying --timeout. The host's records are files,
# or databases of a server under pg_db.sh; there psql reads the schema, a
# run is stored as the same rows as in a file, runs are aborted by their
# lease, a row another session holds keeps a writer waiting but not a
# reader, a server out of reach is named, and a script's run that fails or
# is cut short leaves none of its rows. What only a file has (its PRAGMAs)
# is skipped there, and so are the costly checks of a script's own
# databases, which are files whatever the record.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1
HOST=${VOUCH_TEST_DB:-$TMP/host.db}
EX=$ROOT/examples

# q_at RECORD [SQL]: q on RECORD rather than $VOUCH_DB.
q_at() { (VOUCH_DB=$1; shift; q "$@"); }

# skip NAME...: checks of a script's own database, which is a file whatever
# the record; the file's pass runs them, the server's reports them skipped.
skip() {
  for _n in "$@"; do echo "ok - $_n # SKIP a script's own database: the same whatever the record"; done
}

# {====================================================== the sqlite3 shell reads vouch's file
cat > write.lua <<'EOF'
local db = vouch.db.open("shared.db")
db:exec("CREATE TABLE t(i, f, s, b, n, yes)")
db:insert("t", { { i = 42, f = 2.5, s = "héllo\0world", b = vouch.db.blob("\1\2\255"), yes = true },
                 { i = math.maxinteger, f = -1e-3, s = "" } })
db:close()
local host = vouch.db.open()
local run = host:run_begin { scorecard = "demo", hash = "abc" }
host:run_score(run, "p1", nil, nil, 71.25, "approve", nil, nil, {}, {})
host:run_end(run, "ok", 1)
EOF
check "vouch writes a database" 0 '' -- "$VOUCH" --db "$HOST" run --allow-write=. write.lua
check "sqlite3 reads the types" 0 '^42\|integer\|2\.5\|real\|text\|68C3A96C6C6F00776F726C64\|blob\|0102FF\|\|null\|1$' -- \
  sqlite3 -separator '|' shared.db "SELECT i, typeof(i), f, typeof(f), typeof(s), hex(s), typeof(b), hex(b), n, typeof(n), yes FROM t WHERE rowid = 1"
check "sqlite3 reads the second row" 0 '^9223372036854775807\|-0\.001\|$' -- \
  sqlite3 -separator '|' shared.db "SELECT i, f, s FROM t WHERE rowid = 2"
check "integrity of vouch's file" 0 '^ok$' -- sqlite3 shared.db "PRAGMA integrity_check"
if on_pg; then
  check "the host schema seen by psql" 0 '^4\|daemons inputs loads partners run_loads run_shards runs schedule_runs schedule_triggers schedules scorecards scores vouch_schema$' -- \
    q_at "$HOST" "SELECT version, (SELECT string_agg(table_name, ' ' ORDER BY table_name) FROM information_schema.tables WHERE table_schema = current_schema()) FROM vouch_schema"
else
  check "the host schema seen by sqlite3" 0 '^8\|wal\|http_cache inputs loads partners reasons run_loads runs schedule_runs schedule_triggers schedules scorecards scores$' -- \
    sqlite3 -separator '|' "$HOST" "SELECT (SELECT user_version FROM pragma_user_version), (SELECT journal_mode FROM pragma_journal_mode), (SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name))"
fi
check "a run and its score" 0 '^demo\|ok\|p1\|approve\|71\.25$' -- \
  q_at "$HOST" "SELECT scorecard, status, partner_id, verdict, total FROM runs JOIN scores ON run_id = runs.id"
check "sqlite3 writes, vouch reads" 0 '^7\|seven$' -- sh -c '
  sqlite3 shared.db "CREATE TABLE u(a INTEGER, b TEXT); INSERT INTO u VALUES (7, '"'seven'"')" &&
  "$VOUCH" run --allow-write=. /dev/stdin <<EOF
local r = vouch.db.open("shared.db"):one("SELECT a, b FROM u")
print(math.type(r.a) == "integer" and r.a .. "|" .. r.b)
EOF'
if on_pg; then
  check "a script reads the run from its copy of the server's" 0 '^demo\|approve\|71\.25$' -- \
    "$VOUCH" --db "$HOST" -e 'local r = vouch.db.open():one("SELECT scorecard, verdict, total FROM runs JOIN scores ON run_id = runs.id")
      print(r.scorecard .. "|" .. r.verdict .. "|" .. r.total)'
  # stored RECORD: what a run of vet stored, as rows both engines print alike
  # (loads by their source, not their ids; no times; totals to a millionth).
  stored() {
    for _s in "hash, name, dimensions, weights, source, rules FROM scorecards ORDER BY hash" \
              "id, scorecard, scorecard_hash, inputs, status, started_by, partners, error FROM runs ORDER BY id" \
              "source, format, hash, rows, bad_rows, target, size, columns FROM loads ORDER BY source" \
              "x.run_id, l.source FROM run_loads x JOIN loads l ON l.id = x.load_id ORDER BY 1, 2" \
              "l.source, i.row, i.vals FROM inputs i JOIN loads l ON l.id = i.load_id ORDER BY 1, 2" \
              "s.run_id, s.partner_id, s.name, s.kind, CAST(round(s.total * 1000000) AS bigint), s.verdict,
               s.dims, s.reasons, l.source, s.row FROM scores s LEFT JOIN loads l ON l.id = s.load_id ORDER BY 1, 2"; do
      echo "-- $_s"
      q_at "$1" "SELECT $_s" || return 1
    done
  }
  SAME=$(record same)
  "$VOUCH" --db "$TMP/same.db" vet "$EX/partners.csv" >/dev/null 2>&1
  "$VOUCH" --db "$SAME" vet "$EX/partners.csv" >/dev/null 2>&1
  stored "$TMP/same.db" >same.file; stored "$SAME" >same.server
  same_rows() { [ "$(grep -c '' same.file)" -gt 100 ] && diff same.file same.server; }
  check "a run of vet is stored as the same rows as in a file" 0 '' -- same_rows
fi
# }======================================================

# {====================================================== the log copied back beside the caller
# A transaction of more than 1,000 pages is copied from the log into the
# file by a thread of its own while the connection stays open; the close
# removes the log, and every row is there.
if on_pg; then
  skip "a long log is copied into the file while the database is open" "the close removes the log" \
    "every row is in the file" "the script saw every row after its commit"
else
cat > big.lua <<'EOF'
local db = vouch.db.open("big.db")
db:exec("CREATE TABLE t(x)")
db:tx(function() for i = 1, 20000 do db:insert("t", { x = string.rep("x", 300) .. i }) end end)
vouch.file.write("committed", "yes\n")
local n = db:one("SELECT count(*) AS n FROM t").n
while not pcall(function() for _ in vouch.load.csv("seen.csv"):rows() do end end) do
  vouch.sleep(20)
end
print(n)
db:close()
EOF
rm -f committed seen.csv
"$VOUCH" run --allow-write=. --allow-read=. big.lua >big.out 2>&1 &
big_pid=$!
for _ in $(seq 200); do [ -f committed ] && break; sleep 0.05; done
grown=0
for _ in $(seq 400); do
  [ "$(stat -c %s big.db 2>/dev/null || echo 0)" -gt 6000000 ] && { grown=1; break; }
  sleep 0.05
done
printf 'x\n1\n' > seen.csv
wait "$big_pid"
check "a long log is copied into the file while the database is open" 0 '^1$' -- echo "$grown"
check "the close removes the log" 0 '' -- test ! -e big.db-wal
check "every row is in the file" 0 '^20000\|ok$' -- sqlite3 -separator '|' big.db \
  "SELECT (SELECT count(*) FROM t), (SELECT * FROM pragma_integrity_check)"
check "the script saw every row after its commit" 0 '^20000$' -- cat big.out
fi
# }======================================================

# {====================================================== choosing the database
ENV_DB=$(record env) ENV2_DB=$(record env2) FLAG_DB=$(record flag)
# made RECORD: whether vouch has made its record there (the file; on a
# server, vouch_schema in that database, which `record` made empty).
made() {
  if on_server "$1"; then
    [ "$(q_at "$1" "SELECT count(*) FROM information_schema.tables WHERE table_name = 'vouch_schema'")" = 1 ]
  else
    test -f "$1"
  fi
}
env_db() {
  VOUCH_DB=$1 "$VOUCH" -e 'print(vouch.db.open():one("SELECT count(*) AS n FROM runs").n)' >/dev/null && made "$1"
}
flag_db() { VOUCH_DB=$2 "$VOUCH" --db "$1" -e 'vouch.db.open()' && made "$1" && ! made "$2"; }
check "VOUCH_DB names the database" 0 '' -- env_db "$ENV_DB"
check "--db wins over VOUCH_DB" 0 '' -- flag_db "$FLAG_DB" "$ENV2_DB"
check "the default is ./vouch.db" 0 '' -- sh -c '
  unset VOUCH_DB; mkdir -p dflt && cd dflt && "$VOUCH" -e "vouch.db.open():exec(\"SELECT 1\")" && test -f vouch.db'
check ":memory: as the host database" 0 '^0$' -- "$VOUCH" --db :memory: -e \
  'local db = vouch.db.open(); print(db:one("SELECT count(*) AS n FROM runs").n)'
check "no file for :memory:" 0 '' -- test ! -e ":memory:"
if on_pg; then
  # A script's load into a table of its own, in the copy: the copy, brought
  # up to date as it opens again, keeps the table and the load's row.
  printf 'id,name\n1,a\n2,b\n' > into.csv
  INTO=$(record into)
  "$VOUCH" --db "$INTO" --allow-read=. -e 'vouch.load.csv("into.csv"):into(vouch.db.open(), "mine")' >/dev/null
  check "a script's load into its own table stays in the copy" 0 '^2 2 mine$' -- \
    "$VOUCH" --db "$INTO" -e 'local db = vouch.db.open()
      local l = db:one("SELECT rows, target FROM loads WHERE target IS NOT NULL")
      print(db:one("SELECT count(*) AS n FROM mine").n .. " " .. (l and l.rows .. " " .. l.target or "none"))'
fi
if on_pg; then  # nothing listens on port 1
  away='postgresql://vouch@127.0.0.1:1/vouch?connect_timeout=5'
  check "a server out of reach is named (exit 4)" 4 \
    "^vouch: cannot open the record on postgresql://vouch@127\.0\.0\.1:1/vouch.*: connection to server at .* failed" -- \
    "$VOUCH" --db "$away" -e 'vouch.db.open()'
  ok "... without a traceback" sh -c "! '$VOUCH' --db '$away' -e 'vouch.db.open()' 2>&1 | grep -q traceback"
fi
# }======================================================

# {====================================================== migrations
NEWER=$(record newer) FOREIGN=$(record foreign) EMPTY=$(record empty)
# snapshot RECORD: all that RECORD holds (a file's digest, a server's dump
# without the random key a dump's \restrict lines carry).
snapshot() {
  if on_server "$1"; then
    "${PG_BIN:+$PG_BIN/}pg_dump" -d "$1" | grep -v '^\\\(un\)\{0,1\}restrict '
  else
    md5sum "$1"
  fi
}
# untouched RECORD FILE: RECORD holds what snapshot wrote in FILE, and a
# file has no log beside it.
untouched() {
  snapshot "$1" | cmp -s - "$2" && { on_server "$1" || { test ! -e "$1-wal" && test ! -e "$1-shm"; }; }
}
# schema RECORD: its schema version and how many tables it has.
schema() {
  if on_server "$1"; then
    q_at "$1" "SELECT version, (SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()) FROM vouch_schema"
  else
    sqlite3 -separator '|' "$1" "SELECT (SELECT user_version FROM pragma_user_version), (SELECT count(*) FROM sqlite_schema WHERE type = 'table')"
  fi
}
migrated() { "$VOUCH" --db "$1" -e 'vouch.db.open()' && schema "$1"; }
if on_pg; then
  "$VOUCH" --db "$NEWER" -e 'vouch.db.open()'
  q_at "$NEWER" "CREATE TABLE future(x integer); INSERT INTO future VALUES (1); UPDATE vouch_schema SET version = 99"
  q_at "$FOREIGN" "CREATE TABLE scores(partner_id text PRIMARY KEY, total real)"
  newer='cannot open the record on postgresql://[^ ]*_newer[^ ]*: the record on this server is of a newer vouch \(schema 99, this one knows [0-9]+\)'
  foreign='cannot open the record on postgresql://[^ ]*_foreign[^ ]*: '
  current='4\|13'
else
  sqlite3 "$NEWER" "CREATE TABLE future(x); INSERT INTO future VALUES (1); PRAGMA user_version = 99"
  sqlite3 "$FOREIGN" "CREATE TABLE scores(partner_id TEXT PRIMARY KEY, total REAL)"
  sqlite3 "$EMPTY" "PRAGMA user_version = 0"
  newer='newer.db: the database was written by a newer vouch \(schema version 99; this vouch knows up to [0-9]+\); refusing to use it'
  foreign='foreign.db: not a vouch database'
  current='8\|12'
fi
snapshot "$NEWER" >newer.before
snapshot "$FOREIGN" >foreign.before
check "a database from a newer vouch is refused (exit 4)" 4 "$newer" -- \
  "$VOUCH" --db "$NEWER" -e 'vouch.db.open()'
check "... and left untouched" 0 '' -- untouched "$NEWER" newer.before
only_file "SQLite files only" check "... in journal mode too" 0 '^delete\|99$' -- sqlite3 -separator '|' newer.db \
  "SELECT (SELECT journal_mode FROM pragma_journal_mode), (SELECT user_version FROM pragma_user_version)"
only_file "SQLite files only" check "a script may still open it by path" 0 '^1$' -- \
  "$VOUCH" run --allow-read=. /dev/stdin <<'EOF'
print(vouch.db.open("newer.db", "r"):one("SELECT x FROM future").x)
EOF
check "a database that is not vouch's is refused as the host's" 4 "$foreign" -- \
  "$VOUCH" --db "$FOREIGN" -e 'vouch.db.open()'
check "... and left untouched" 0 '' -- untouched "$FOREIGN" foreign.before
check "a refused database fails a script that catches the error with exit 4" 4 'refused: ' -- \
  "$VOUCH" --db "$NEWER" -e 'local ok, e = pcall(vouch.db.open); print("refused: " .. e)'
check "vouch.exit overrides it" 0 '' -- "$VOUCH" --db "$NEWER" -e 'pcall(vouch.db.open); vouch.exit(0)'

check "an empty database is migrated" 0 "^$current$" -- migrated "$EMPTY"
check "migrating twice changes nothing" 0 "^$current$" -- migrated "$EMPTY"
# }======================================================

# {====================================================== dead runs are aborted
# On a server a run is held under a lease rather than by its process id:
# the run whose lease ran out is aborted, whichever process it names.
RUNS=$(record runs)
"$VOUCH" --db "$RUNS" -e 'vouch.db.open()'
sh -c 'exit 0' & dead=$!; wait $dead
sleep 30 & alive=$!
if on_pg; then
  q_at "$RUNS" "INSERT INTO runs(id, scorecard, scorecard_hash, started_at, pid, lease_until) VALUES
    (1, 'a', 'h', '2026-01-01T00:00:00Z', $dead, now() - interval '1 hour'),
    (2, 'b', 'h', '2026-01-01T00:00:00Z', $alive, now() + interval '1 hour'),
    (3, 'c', 'h', '2026-01-01T00:00:00Z', NULL, NULL);
    INSERT INTO runs(id, scorecard, scorecard_hash, started_at, pid, status, lease_until) VALUES
    (4, 'd', 'h', '2026-01-01T00:00:00Z', $dead, 'ok', now() - interval '1 hour')"
  why="process $dead stopped renewing the run's lease before the run finished"
else
  q_at "$RUNS" "INSERT INTO runs(id, scorecard, scorecard_hash, started_at, pid) VALUES
    (1, 'a', 'h', '2026-01-01T00:00:00Z', $dead),
    (2, 'b', 'h', '2026-01-01T00:00:00Z', $alive),
    (3, 'c', 'h', '2026-01-01T00:00:00Z', NULL);
    INSERT INTO runs(id, scorecard, scorecard_hash, started_at, pid, status) VALUES
    (4, 'd', 'h', '2026-01-01T00:00:00Z', $dead, 'ok')"
  why="process $dead ended before the run finished"
fi
dead_runs() {
  "$VOUCH" --db "$RUNS" -e "vouch.db.open()" &&
    q_at "$RUNS" "SELECT id, status, coalesce(error, '0'), CASE WHEN ended_at IS NOT NULL THEN 1 ELSE 0 END
                  FROM runs ORDER BY id" | tr "\n" " " | sed "s/ $//"
}
check "opening marks runs of dead processes aborted" 0 \
  "^1\|aborted\|$why\|1 2\|running\|0\|0 3\|running\|0\|0 4\|ok\|0\|0$" -- dead_runs
if on_pg; then
  check "... and so does vouch runs, which reads the copy" 0 "^ +1 +a +h .* aborted .* process $dead stopped renewing" -- \
    "$VOUCH" --db "$RUNS" runs
fi
kill $alive 2>/dev/null
# }======================================================

# {====================================================== capabilities
mkdir -p ro && sqlite3 ro/data.db "CREATE TABLE t(a); INSERT INTO t VALUES (1)"
check "only --allow-read: opened read-only" 0 '^1[[:space:]]attempt to write a readonly database \(SQLITE_READONLY\)' -- \
  "$VOUCH" run --allow-read=ro /dev/stdin <<'EOF'
local db = vouch.db.open("ro/data.db")
local ok, err = pcall(db.exec, db, "INSERT INTO t VALUES (2)")
print(db:one("SELECT count(*) AS n FROM t").n, err)
EOF
check "asking to write where only reading is allowed" 1 'ro/data.db: write access denied \(allow it with --allow-write=PATH\)' -- \
  "$VOUCH" run --allow-read=ro /dev/stdin <<'EOF'
vouch.db.open("ro/data.db", "w")
EOF
check "no capability at all" 1 'elsewhere.db: write access denied' -- \
  "$VOUCH" run --allow-read=ro /dev/stdin <<'EOF'
vouch.db.open("/tmp/../tmp/elsewhere.db")
EOF
check "a symlink out of the allowed directory" 1 'write access denied' -- sh -c '
  mkdir -p w && ln -sf /etc w/out && "$VOUCH" run --allow-write=w /dev/stdin <<EOF
vouch.db.open("w/out/evil.db")
EOF'
cat > trusted.lua <<EOF
local db = vouch.db.open("$TMP/trusted.db")
db:exec("ATTACH '$TMP/other.db' AS o")
db:exec("CREATE TABLE o.t(a); INSERT INTO o.t VALUES (1)")
print(db:one("SELECT count(*) AS n FROM o.t").n)
EOF
check "--trusted opens anything (and ATTACH works)" 0 '^1$' -- "$VOUCH" --trusted trusted.lua
# }======================================================

# {====================================================== limits
if on_pg; then
  skip "a long query obeys --timeout (exit 3)" "a long query inside pcall still ends the script"
else
check "a long query obeys --timeout (exit 3)" 3 'time limit exceeded \(--timeout=1s\)' -- \
  "$VOUCH" --timeout 1 -e 'vouch.db.open(":memory:"):one("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c")'
check "a long query inside pcall still ends the script" 3 'time limit exceeded' -- \
  "$VOUCH" --timeout 1 -e 'local db = vouch.db.open(":memory:")
    for i = 1, 3 do pcall(db.one, db, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c") end
    print("survived")'
fi
LIM=$(record lim)
lim_tx() {
  "$VOUCH" --db "$LIM" --timeout 1 -e "
    local db = vouch.db.open()
    db:tx(function()
      db:put_partner { id = \"P1\" }
      db:one(\"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c\")
    end)"
  test $? -eq 3 && q_at "$LIM" "SELECT count(*) FROM partners"
}
check "a long tx is rolled back by the time limit" 0 '^0$' -- lim_tx
if on_pg; then
  check "... nor kept in the copy" 0 '^0$' -- \
    "$VOUCH" --db "$LIM" -e 'print(vouch.db.open():one("SELECT count(*) AS n FROM partners").n)'
  put_partner() {
    "$VOUCH" --db "$LIM" -e 'vouch.db.open():put_partner { id = "P2" }' &&
      q_at "$LIM" "SELECT id FROM partners"
  }
  check "a partner a script puts is kept on the server" 0 '^P2$' -- put_partner
  check "... and one put in a transaction, once it commits" 0 '^P2,P3$' -- sh -c "
    '$VOUCH' --db '$LIM' -e 'local db = vouch.db.open()
      db:tx(function() db:put_partner { id = \"P3\", attrs = \"{ \\\"a\\\": 1 }\" } end)' &&
    psql -X -At -d '$LIM' -c \"SELECT string_agg(id, ',' ORDER BY id) FROM partners\""
  check "... and one put between BEGIN and COMMIT, once it commits" 0 '^P2,P3,P4$' -- sh -c "
    '$VOUCH' --db '$LIM' -e 'local db = vouch.db.open()
      db:exec(\"BEGIN\") db:put_partner { id = \"P4\" } db:put_partner { id = \"P5\" }
      db:exec(\"ROLLBACK\") db:exec(\"BEGIN\") db:put_partner { id = \"P4\" } db:exec(\"COMMIT\")' &&
    psql -X -At -d '$LIM' -c \"SELECT string_agg(id, ',' ORDER BY id) FROM partners\""
  q_at "$LIM" "INSERT INTO partners(id, first_seen, last_seen) VALUES ('S1', 'a', 'b')"
  check "a partner put by another machine is read here" 0 '^P2 P3 P4 S1 $' -- \
    "$VOUCH" --db "$LIM" -e 'local t = {}
      for r in vouch.db.open():rows("SELECT id FROM partners ORDER BY id") do t[#t + 1] = r.id end
      print(table.concat(t, " ") .. " ")'

  # A run of a script with a load, an input and a score, then ended failed
  # ("fail") or cut by the time limit: the server keeps none of their rows
  # once the cut run's lease has run out, and neither does the copy.
  cat > half.lua <<'EOF'
local db = vouch.db.open()
local run = db:run_begin { scorecard = "half", hash = "h", lease = 300 }
local load = db:run_load(run, { source = "half.csv", format = "csv", columns = { "id" } })
db:run_input(load, 1, { id = "a" })
db:run_load_end(load, { hash = "x", rows = 1, size = 3 })
db:run_score(run, "a", nil, nil, 50, "review", load, 1, {}, {})
if arg[1] == "fail" then db:run_end(run, "failed", nil, "given up") return end
db:one("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c")
EOF
  cat > copied.lua <<'EOF'
local db, n = vouch.db.open(), {}
for _, t in ipairs { "scores", "run_loads", "loads", "inputs" } do
  n[#n + 1] = db:one("SELECT count(*) AS n FROM " .. t).n
end
print(table.concat(n, " "))
EOF
  check "a script's run cut by the time limit" 3 'time limit exceeded' -- \
    "$VOUCH" --db "$LIM" --timeout 1 run half.lua
  check "a script's run that fails" 0 '' -- "$VOUCH" --db "$LIM" run half.lua fail
  # until the cut run's lease has run out, by the server's clock
  n=0
  until [ "$(q_at "$LIM" "SELECT count(*) FROM runs WHERE status = 'running' AND lease_until >= now()")" = 0 ] ||
        [ $n -ge 600 ]; do n=$((n + 1)); sleep 0.1; done
  "$VOUCH" --db "$LIM" runs >/dev/null 2>&1  # a reader, who marks the cut run aborted
  check "... the server keeps none of their rows" 0 '^1 aborted, 2 failed\|0\|0\|0\|0$' -- q_at "$LIM" \
    "SELECT (SELECT string_agg(id || ' ' || status, ', ' ORDER BY id) FROM runs), (SELECT count(*) FROM scores),
            (SELECT count(*) FROM run_loads), (SELECT count(*) FROM loads), (SELECT count(*) FROM inputs)"
  check "... nor does the copy the reading commands read" 0 '^0 0 0 0$' -- "$VOUCH" --db "$LIM" run copied.lua
fi
if on_pg; then
  skip "a query's memory counts against --max-memory (exit 3)" "a smaller query within the limit"
else
check "a query's memory counts against --max-memory (exit 3)" 3 'memory limit exceeded \(--max-memory=64MiB\)' -- \
  "$VOUCH" --max-memory 64M -e 'local db = vouch.db.open(":memory:")
    pcall(db.one, db, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 200) SELECT length(group_concat(hex(zeroblob(1000000)))) AS n FROM c")
    print("survived")'
check "a smaller query within the limit" 0 '^40000000$' -- \
  "$VOUCH" --max-memory 256M -e 'print(vouch.db.open(":memory:"):one("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 20) SELECT length(group_concat(hex(zeroblob(1000000)), \"\")) AS n FROM c").n)'
fi
# }======================================================

# {====================================================== sharing the file
SHARED=$(record shared_host)
"$VOUCH" --db "$SHARED" -e 'vouch.db.open()'
if on_pg; then
  # hold SQL: another session runs SQL in a transaction, and keeps it open
  # with its locks until `release`: no check waits on a clock.
  hold() {
    rm -f held release
    printf 'BEGIN;\n%s;\n\\! touch held\n\\! until [ -e release ]; do sleep 0.05; done\nCOMMIT;\n' "$1" |
      q_at "$SHARED" >/dev/null &
    holder=$!
    until [ -e held ] || ! kill -0 "$holder" 2>/dev/null; do sleep 0.05; done
  }
  release() { touch release; wait "$holder"; }
  status1() { "$VOUCH" --db "$SHARED" -e 'print(vouch.db.open():one("SELECT status FROM runs WHERE id = 1").status)'; }
  # Run 1's lease ran out while its rows are sent: another process holds it.
  q_at "$SHARED" "INSERT INTO runs(scorecard, scorecard_hash, started_at, pid, lease_until)
                  VALUES ('a', 'h', '2026-01-01T00:00:00Z', 1, now() - interval '1 hour')"
  hold "SELECT 1 FROM runs WHERE id = 1 FOR UPDATE"
  check "opening while another process writes does not wait for it" 0 '^running$' -- status1
  release
  check "... and the next reader marks the run it held aborted" 0 '^aborted$' -- status1
  # waits: a run whose scorecard another session is adding; its run once
  # that session has committed, if its write waited for the row's lock.
  waits() {
    hold "INSERT INTO scorecards(hash, name) VALUES ('h2', 'w')"
    "$VOUCH" --db "$SHARED" -e 'local db = vouch.db.open()
      local run = db:run_begin { scorecard = "w", hash = "h2" }
      db:run_score(run, "2", nil, nil, 1, "approve", nil, nil, {}, {})
      db:run_end(run, "ok", 1)' &
    _w=$! _n=0
    until [ "$(q_at "$SHARED" "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
                                AND backend_type = 'client backend' AND wait_event_type = 'Lock'")" = 1 ]; do
      if [ $_n -ge 600 ] || ! kill -0 "$_w" 2>/dev/null; then
        echo "it did not wait for the lock"; release; wait "$_w"; return 1
      fi
      _n=$((_n + 1)); sleep 0.1
    done
    release
    wait "$_w" && q_at "$SHARED" "SELECT id, status, partners FROM runs WHERE scorecard_hash = 'h2'"
  }
  check "a write waits for another writer's lock" 0 '^2\|ok\|1$' -- waits
else
printf 'BEGIN IMMEDIATE;\nINSERT INTO partners VALUES (1, 2, 3, 4, 5, 6);\n.shell sleep 8\nCOMMIT;\n' |
  sqlite3 "$SHARED" >/dev/null 2>&1 &
writer=$!
sleep 0.5
check "opening while another process writes does not wait for it" 0 '^0$' -- \
  "$VOUCH" --db "$SHARED" -e 'print(vouch.db.open():one("SELECT count(*) AS n FROM partners").n)'
kill "$writer" 2>/dev/null; wait "$writer" 2>/dev/null
printf 'BEGIN IMMEDIATE;\nINSERT INTO partners VALUES (1, 2, 3, 4, 5, 6);\n.shell sleep 1\nCOMMIT;\n' |
  sqlite3 "$SHARED" >/dev/null 2>&1 &
writer=$!
sleep 0.3
check "a write waits for another writer's lock (busy timeout)" 0 '^2$' -- \
  "$VOUCH" --db "$SHARED" -e 'local db = vouch.db.open()
    db:put_partner { id = "2" }
    print(db:one("SELECT count(*) AS n FROM partners").n)'
wait "$writer" 2>/dev/null
fi
# }======================================================

# db.sh: the database from the command line: --db, VOUCH_DB and :memory:,
# the sqlite3 shell reading what vouch wrote, migrations (a newer database
# is refused and left untouched), dead runs marked aborted, read-only
# opens, and a long query obeying --timeout.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

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
check "vouch writes a database" 0 '' -- "$VOUCH" --db host.db run --allow-write=. write.lua
check "sqlite3 reads the types" 0 '^42\|integer\|2\.5\|real\|text\|68C3A96C6C6F00776F726C64\|blob\|0102FF\|\|null\|1$' -- \
  sqlite3 -separator '|' shared.db "SELECT i, typeof(i), f, typeof(f), typeof(s), hex(s), typeof(b), hex(b), n, typeof(n), yes FROM t WHERE rowid = 1"
check "sqlite3 reads the second row" 0 '^9223372036854775807\|-0\.001\|$' -- \
  sqlite3 -separator '|' shared.db "SELECT i, f, s FROM t WHERE rowid = 2"
check "integrity of vouch's file" 0 '^ok$' -- sqlite3 shared.db "PRAGMA integrity_check"
check "the host schema seen by sqlite3" 0 '^8\|wal\|http_cache inputs loads partners reasons run_loads runs schedule_runs schedule_triggers schedules scorecards scores$' -- \
  sqlite3 -separator '|' host.db "SELECT (SELECT user_version FROM pragma_user_version), (SELECT journal_mode FROM pragma_journal_mode), (SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name))"
check "a run and its score" 0 '^demo\|ok\|p1\|approve\|71\.25$' -- \
  sqlite3 -separator '|' host.db "SELECT scorecard, status, partner_id, verdict, total FROM runs JOIN scores ON run_id = runs.id"
check "sqlite3 writes, vouch reads" 0 '^7\|seven$' -- sh -c '
  sqlite3 shared.db "CREATE TABLE u(a INTEGER, b TEXT); INSERT INTO u VALUES (7, '"'seven'"')" &&
  "$VOUCH" run --allow-write=. /dev/stdin <<EOF
local r = vouch.db.open("shared.db"):one("SELECT a, b FROM u")
print(math.type(r.a) == "integer" and r.a .. "|" .. r.b)
EOF'
# }======================================================

# {====================================================== the log copied back beside the caller
# A transaction of more than 1,000 pages is copied from the log into the
# file by a thread of its own while the connection stays open; the close
# removes the log, and every row is there.
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
# }======================================================

# {====================================================== choosing the database
check "VOUCH_DB names the database" 0 '^env.db$' -- sh -c '
  VOUCH_DB=env.db "$VOUCH" -e "print(vouch.db.open():one(\"SELECT count(*) AS n FROM runs\").n)" >/dev/null &&
  ls env.db'
check "--db wins over VOUCH_DB" 0 '' -- sh -c '
  VOUCH_DB=env2.db "$VOUCH" --db flag.db -e "vouch.db.open()" && test -f flag.db && test ! -f env2.db'
check "the default is ./vouch.db" 0 '' -- sh -c '
  mkdir -p dflt && cd dflt && "$VOUCH" -e "vouch.db.open():exec(\"SELECT 1\")" && test -f vouch.db'
check ":memory: as the host database" 0 '^0$' -- "$VOUCH" --db :memory: -e \
  'local db = vouch.db.open(); print(db:one("SELECT count(*) AS n FROM runs").n)'
check "no file for :memory:" 0 '' -- test ! -e ":memory:"
# }======================================================

# {====================================================== migrations
sqlite3 newer.db "CREATE TABLE future(x); INSERT INTO future VALUES (1); PRAGMA user_version = 99"
before=$(md5sum newer.db)
check "a database from a newer vouch is refused (exit 4)" 4 \
  'newer.db: the database was written by a newer vouch \(schema version 99; this vouch knows up to [0-9]+\); refusing to use it' -- \
  "$VOUCH" --db newer.db -e 'vouch.db.open()'
check "... and left untouched" 0 '' -- sh -c "test \"\$(md5sum newer.db)\" = '$before' && test ! -e newer.db-wal && test ! -e newer.db-shm"
check "... in journal mode too" 0 '^delete\|99$' -- sqlite3 -separator '|' newer.db \
  "SELECT (SELECT journal_mode FROM pragma_journal_mode), (SELECT user_version FROM pragma_user_version)"
check "a script may still open it by path" 0 '^1$' -- "$VOUCH" run --allow-read=. /dev/stdin <<'EOF'
print(vouch.db.open("newer.db", "r"):one("SELECT x FROM future").x)
EOF

sqlite3 foreign.db "CREATE TABLE scores(partner_id TEXT PRIMARY KEY, total REAL)"
before=$(md5sum foreign.db)
check "a database that is not vouch's is refused as the host's" 4 \
  'foreign.db: not a vouch database' -- "$VOUCH" --db foreign.db -e 'vouch.db.open()'
check "... and left untouched" 0 '' -- sh -c "test \"\$(md5sum foreign.db)\" = '$before'"
check "a refused database fails a script that catches the error with exit 4" 4 'refused: ' -- \
  "$VOUCH" --db newer.db -e 'local ok, e = pcall(vouch.db.open); print("refused: " .. e)'
check "vouch.exit overrides it" 0 '' -- "$VOUCH" --db newer.db -e 'pcall(vouch.db.open); vouch.exit(0)'

sqlite3 empty.db "PRAGMA user_version = 0"
check "an empty database is migrated" 0 '^8$' -- sh -c '
  "$VOUCH" --db empty.db -e "vouch.db.open()" && sqlite3 empty.db "PRAGMA user_version"'
check "migrating twice changes nothing" 0 '^8\|12$' -- sh -c '
  "$VOUCH" --db empty.db -e "vouch.db.open()" &&
  sqlite3 -separator "|" empty.db "SELECT (SELECT user_version FROM pragma_user_version), (SELECT count(*) FROM sqlite_schema WHERE type = '"'table'"')"'
# }======================================================

# {====================================================== dead runs are aborted
"$VOUCH" --db runs.db -e 'vouch.db.open()'
sh -c 'exit 0' & dead=$!; wait $dead
sleep 30 & alive=$!
sqlite3 runs.db "INSERT INTO runs(id, scorecard, scorecard_hash, started_at, pid) VALUES
  (1, 'a', 'h', '2026-01-01T00:00:00Z', $dead),
  (2, 'b', 'h', '2026-01-01T00:00:00Z', $alive),
  (3, 'c', 'h', '2026-01-01T00:00:00Z', NULL);
  INSERT INTO runs(id, scorecard, scorecard_hash, started_at, pid, status) VALUES
  (4, 'd', 'h', '2026-01-01T00:00:00Z', $dead, 'ok')"
check "opening marks runs of dead processes aborted" 0 \
  "^1\|aborted\|process $dead ended before the run finished\|1 2\|running\|0\|0 3\|running\|0\|0 4\|ok\|0\|0$" -- sh -c '
  "$VOUCH" --db runs.db -e "vouch.db.open()" &&
  sqlite3 -separator "|" runs.db "SELECT id, status, coalesce(error, 0), ended_at IS NOT NULL FROM runs ORDER BY id" | tr "\n" " " | sed "s/ $//"'
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
check "a long query obeys --timeout (exit 3)" 3 'time limit exceeded \(--timeout=1s\)' -- \
  "$VOUCH" --timeout 1 -e 'vouch.db.open(":memory:"):one("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c")'
check "a long query inside pcall still ends the script" 3 'time limit exceeded' -- \
  "$VOUCH" --timeout 1 -e 'local db = vouch.db.open(":memory:")
    for i = 1, 3 do pcall(db.one, db, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c") end
    print("survived")'
check "a long tx is rolled back by the time limit" 0 '^0$' -- sh -c '
  "$VOUCH" --db lim.db --timeout 1 -e "
    local db = vouch.db.open()
    db:tx(function()
      db:put_partner { id = \"P1\" }
      db:one(\"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c\")
    end)"
  test $? -eq 3 && sqlite3 lim.db "SELECT count(*) FROM partners"'
check "a query's memory counts against --max-memory (exit 3)" 3 'memory limit exceeded \(--max-memory=64MiB\)' -- \
  "$VOUCH" --max-memory 64M -e 'local db = vouch.db.open(":memory:")
    pcall(db.one, db, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 200) SELECT length(group_concat(hex(zeroblob(1000000)))) AS n FROM c")
    print("survived")'
check "a smaller query within the limit" 0 '^40000000$' -- \
  "$VOUCH" --max-memory 256M -e 'print(vouch.db.open(":memory:"):one("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 20) SELECT length(group_concat(hex(zeroblob(1000000)), \"\")) AS n FROM c").n)'
# }======================================================

# {====================================================== sharing the file
"$VOUCH" --db shared-host.db -e 'vouch.db.open()'
printf 'BEGIN IMMEDIATE;\nINSERT INTO partners VALUES (1, 2, 3, 4, 5, 6);\n.shell sleep 8\nCOMMIT;\n' |
  sqlite3 shared-host.db >/dev/null 2>&1 &
writer=$!
sleep 0.5
check "opening while another process writes does not wait for it" 0 '^0$' -- \
  "$VOUCH" --db shared-host.db -e 'print(vouch.db.open():one("SELECT count(*) AS n FROM partners").n)'
kill "$writer" 2>/dev/null; wait "$writer" 2>/dev/null
printf 'BEGIN IMMEDIATE;\nINSERT INTO partners VALUES (1, 2, 3, 4, 5, 6);\n.shell sleep 1\nCOMMIT;\n' |
  sqlite3 shared-host.db >/dev/null 2>&1 &
writer=$!
sleep 0.3
check "a write waits for another writer's lock (busy timeout)" 0 '^2$' -- \
  "$VOUCH" --db shared-host.db -e 'local db = vouch.db.open()
    db:put_partner { id = "2" }
    print(db:one("SELECT count(*) AS n FROM partners").n)'
wait "$writer" 2>/dev/null
# }======================================================

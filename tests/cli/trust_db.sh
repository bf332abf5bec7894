#!/bin/sh
# trust_db.sh: the host's record is the host's. An untrusted rules script
# (vouch vet --rules) tries every way its SQL could change the tables the
# host reads back later (schedules, runs, scores, reasons, partners, loads,
# the schema version); each is refused, and the database is byte-for-byte
# what it was, but for the rows the host wrote for that run. On a server's
# record (pg_trust_db.sh) the same script runs, and the server's rows are
# what they were but for that run's; what only a file has (its bytes, its
# triggers, a file that is not a database) is checked on a file only.
. "$(dirname "$0")/lib.sh"
EX=$ROOT/examples
export VOUCH_DB="${VOUCH_TEST_DB:-$TMP/record.db}"
DB=$VOUCH_DB
v() { "$VOUCH" --db "$DB" "$@"; }
# pg_rows: every row of the server's record, table by table, without the
# runs after run 1 and what only they hold.
pg_rows() {
  for t in vouch_schema partners schedules schedule_runs schedule_triggers daemons \
           "runs WHERE id <= 1" "scores WHERE run_id <= 1" "run_loads WHERE run_id <= 1" \
           "run_shards WHERE run_id <= 1" \
           "scorecards WHERE hash IN (SELECT scorecard_hash FROM runs WHERE id <= 1)" \
           "loads WHERE id IN (SELECT load_id FROM run_loads WHERE run_id <= 1)" \
           "inputs WHERE load_id IN (SELECT load_id FROM run_loads WHERE run_id <= 1)"; do
    echo "-- $t"
    q "SELECT x::text FROM ${t%% *} x ${t#"${t%% *}"} ORDER BY 1" ||
      echo "-- failed at $(date +%s.%N)"  # never the same twice
  done
}
dump() {  # the whole database as SQL, without the run the host just wrote
  sqlite3 "$1" "PRAGMA foreign_keys=ON; DELETE FROM runs WHERE id > $2;
                DELETE FROM scorecards WHERE hash NOT IN (SELECT scorecard_hash FROM runs);
                DELETE FROM loads WHERE id NOT IN (SELECT load_id FROM run_loads);" &&
  sqlite3 "$1" .dump
}

check "a first run fills the record" 0 'run 1: 22 partners' -- v vet "$EX/partners.csv"
if on_pg; then pg_rows >"$TMP/before.sql"; else cp "$DB" "$TMP/before.db"; fi

cat >"$TMP/evil.lua" <<'LUA'
-- Rules that try to rewrite the host's record, then score honestly.
local db = vouch.db.open()
local refused = 0
for _, sql in ipairs {
  "INSERT INTO schedules(name, expr, script, args, created_at) VALUES " ..
    "('x', '* * * * *', 'cmd:--trusted', '[\"-e\",\"os.execute(1)\"]', 'now')",
  "UPDATE schedules SET script = 'cmd:--trusted'",
  "INSERT INTO schedule_triggers(schedule, created_at) VALUES ('x', 'now')",
  "UPDATE scores SET verdict = 'approve'",
  "DELETE FROM reasons",
  "INSERT INTO runs(scorecard, scorecard_hash, started_at) VALUES ('x', 'y', 'z')",
  "UPDATE runs SET status = 'failed'",
  "INSERT INTO partners(id, first_seen, last_seen) VALUES ('P', 'a', 'b')",
  "DELETE FROM loads",
  "CREATE TRIGGER falsify AFTER INSERT ON scores BEGIN UPDATE scores SET verdict = 'approve'; END",
  "CREATE TEMP TRIGGER falsify AFTER INSERT ON main.scores BEGIN SELECT 1; END",
  "CREATE TEMP TABLE scores(x)",
  "CREATE TEMP VIEW runs AS SELECT 1 AS id",
  "CREATE INDEX slow ON reasons(evidence)",
  "DROP INDEX scores_partner",
  "ALTER TABLE runs ADD COLUMN owned TEXT",
  "DROP TABLE schedule_runs",
  "PRAGMA user_version = 99",
  "PRAGMA writable_schema = 1",
  "ANALYZE",
  "ATTACH ('a' || 'b') AS other",
} do
  local ok, err = pcall(db.exec, db, sql)
  if ok then error("allowed: " .. sql) end
  if not tostring(err):find("not allowed in the sandbox") then error(sql .. ": " .. tostring(err)) end
  refused = refused + 1
end
-- The record's own calls reach only a run this process began.
assert(not pcall(db.run_score, db, 1, "P", nil, nil, 1, "approve", nil, nil, {}, {}))
assert(not pcall(db.run_end, db, 1, "failed"))
print("refused " .. refused)
return require("vouch.scorecard").load("social_capital")
LUA
check "every write to the record is refused, the run goes on" 0 \
  '^refused 21$' -- v vet --rules "$TMP/evil.lua" "$EX/partners.csv"
check "the run was stored by the host" 0 '^2\|ok\|22$' -- \
  q "SELECT id, status, partners FROM runs WHERE id = 2"
if on_pg; then
  pg_rows >"$TMP/after.sql"
  ok "the server's rows are as they were, but for the host's rows of that run" \
    cmp "$TMP/before.sql" "$TMP/after.sql"
  # The rest is a file's: its bytes, triggers planted in it, files that
  # are no database; each is reported skipped here.
  for n in "another vouch database keeps its record too" "a script's own database takes any SQL" \
           "a foreign trigger on a host table refuses the database" "the daemon refuses it too" \
           "ATTACH of an expression is named as ATTACH" "VACUUM is named as VACUUM" \
           "a corrupt database is named, without a traceback" "a database in a missing folder is named" \
           "no traceback for a database that cannot be opened"; do
    echo "ok - $n # SKIP SQLite files only"
  done
  exit 0
fi
dump "$TMP/before.db" 1 >"$TMP/before.sql"
cp "$DB" "$TMP/after.db"
dump "$TMP/after.db" 1 >"$TMP/after.sql"
ok "the database is as it was, but for the host's rows of that run" cmp "$TMP/before.sql" "$TMP/after.sql"

# Another vouch database in a writable place gets the same protection.
cp "$TMP/before.db" "$TMP/other.db"
check "another vouch database keeps its record too" 1 \
  "INSERT into 'schedules' is not allowed in the sandbox" -- \
  "$VOUCH" --allow-write="$TMP" -e "vouch.db.open('$TMP/other.db'):exec(\"INSERT INTO schedules(name, expr, script, created_at) VALUES ('x', '1', 'y', 'z')\")"
check "a script's own database takes any SQL" 0 '^1$' -- \
  "$VOUCH" --allow-write="$TMP" -e "local d = vouch.db.open('$TMP/mine.db')
    d:exec('CREATE TABLE t(x); CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END; INSERT INTO t VALUES (1)')
    print(d:one('SELECT count(*) AS n FROM t').n)"

# A trigger planted with another tool would run inside the host's writes:
# the host refuses the database until it is dropped.
sqlite3 "$TMP/after.db" "CREATE TRIGGER planted AFTER INSERT ON scores BEGIN SELECT RAISE(ABORT, 'boom'); END"
check "a foreign trigger on a host table refuses the database" 4 \
  "trigger 'planted' on the host's table 'scores' was not made by vouch" -- \
  "$VOUCH" --db "$TMP/after.db" vet "$EX/partners.csv"
check "the daemon refuses it too" 4 "trigger 'planted'" -- \
  "$VOUCH" --db "$TMP/after.db" schedule list

# Messages that say what happened.
check "ATTACH of an expression is named as ATTACH" 1 \
  'ATTACH and VACUUM INTO are not allowed in the sandbox' -- \
  "$VOUCH" --db "$TMP/msg.db" -e "vouch.db.open():exec(\"ATTACH ('a' || 'b') AS x\")"
check "VACUUM is named as VACUUM" 1 'VACUUM is not allowed in the sandbox' -- \
  "$VOUCH" --db "$TMP/msg.db" -e 'vouch.db.open():exec("VACUUM")'
head -c 4096 /dev/urandom >"$TMP/corrupt.db"
check "a corrupt database is named, without a traceback" 4 \
  "^vouch: runs: $TMP/corrupt.db: file is not a database$" -- v --db "$TMP/corrupt.db" runs
check "a database in a missing folder is named" 4 \
  "^vouch: runs: cannot open the database $TMP/no/such/x.db: there is no folder $TMP/no/such$" -- "$VOUCH" --db "$TMP/no/such/x.db" runs
ok "no traceback for a database that cannot be opened" sh -c \
  "! '$VOUCH' --db '$TMP/corrupt.db' runs 2>&1 | grep -q traceback"

#!/bin/sh
# The host's record on a PostgreSQL server: opened and migrated once, used
# by a role with no more rights than reading and writing rows, a URI's
# password kept out of messages and logs, scoring commands and a script's
# vouch.db refused there with a clear message, and a record of a newer
# vouch refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
trap 'pg_stop' EXIT
if ! pg_start; then
  pg_not_run "record: migrated once" "record: a role that only reads and writes rows" \
    "record: passwords stay out of messages" "record: scoring commands are refused" \
    "record: a newer schema is refused"
  exit 0
fi
cd "$TMP"
export VOUCH_NOW=2026-01-01T00:00:00Z XDG_CACHE_HOME="$TMP/cache"
printf 'print("hi")\n' > hi.lua

check "record: a schedule added on the server" 0 "schedule hi added" -- \
  "$VOUCH" --db "$PG_URI" schedule add hi 'every 1m' hi.lua
check "record: the schema is the server's, at its version" 0 '^4$' -- \
  pg_sql "$PG_URI" "SELECT version FROM vouch_schema"
check "record: reached over TCP as well as the socket" 0 "^hi " -- \
  "$VOUCH" --db "postgresql://vouch@127.0.0.1:$PG_PORT/vouch" schedule list
# Opened again, an up-to-date record runs no DDL at all: an event trigger
# (the superuser's) counts every command that would.
_pg_su -d vouch -c "CREATE TABLE ddl_seen(tag text); GRANT SELECT, INSERT ON ddl_seen TO PUBLIC;
  CREATE FUNCTION ddl_seen() RETURNS event_trigger LANGUAGE plpgsql AS
    \$\$ BEGIN INSERT INTO ddl_seen VALUES (tg_tag); END \$\$;
  CREATE EVENT TRIGGER ddl_seen ON ddl_command_start EXECUTE FUNCTION ddl_seen()" >/dev/null
"$VOUCH" --db "$PG_URI" schedule list >/dev/null 2>&1
check "record: opened again, it is not migrated again (no DDL)" 0 '^0$' -- \
  pg_sql "$PG_URI" "SELECT count(*) FROM ddl_seen"
_pg_su -d vouch -c "DROP EVENT TRIGGER ddl_seen; DROP FUNCTION ddl_seen(); DROP TABLE ddl_seen" >/dev/null
check "record: ... and keeps what it holds" 0 '^1$' -- \
  pg_sql "$PG_URI" "SELECT count(*) FROM schedules"

# Shell code that waits (up to 60 s) for a daemon's first line in a log.
started='n=0; until grep -q " daemon " "$0" 2>/dev/null || [ $n -gt 600 ]; do n=$((n + 1)); sleep 0.1; done; :'
started="sh -c '$started'"

# A role that may only read and write the rows: what the daemons need once
# the schema is made.
_pg_su -c "CREATE ROLE vouch_rw LOGIN" >/dev/null
pg_sql "$PG_URI" "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO vouch_rw;
                  GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO vouch_rw;
                  REVOKE CREATE ON SCHEMA public FROM PUBLIC" >/dev/null
rw=$(echo "$PG_URI" | sed 's|//vouch@|//vouch_rw@|')
check "record: a role that only reads and writes rows adds a schedule" 0 "schedule rw added" -- \
  "$VOUCH" --db "$rw" schedule add rw 'every 1m' hi.lua
check "record: ... and runs it" 0 "hi" -- "$VOUCH" --db "$rw" schedule run rw
check "record: ... and a daemon joins and leaves with it" 0 "exit" -- \
  sh -c "echo 2026-01-01T00:00:30Z > clock; '$VOUCH' --db '$rw' daemon --clock clock --poll 50 --log rw.log &
         p=\$!; $started rw.log; kill -TERM \$p; wait \$p; cat rw.log"
check "record: that role cannot change the schema" 3 "must be owner|permission denied" -- \
  sh -c "psql -X -q -v ON_ERROR_STOP=1 -d '$rw' -c 'DROP TABLE schedules' 2>&1; exit 3"

# A password in the URI is never shown.
check "record: a URI's password stays out of an error" 4 'vouch:\*\*\*@' -- \
  "$VOUCH" --db "postgresql://vouch:s3cr3t@127.0.0.1:1/vouch?connect_timeout=2" schedule list
check "record: ... and the error names no password" 4 '^0$' -- \
  sh -c "'$VOUCH' --db 'postgresql://vouch:s3cr3t@127.0.0.1:1/vouch?connect_timeout=2' schedule list 2>&1 | grep -c s3cr3t; exit 4"
check "record: a password= parameter stays out of the daemon's log" 0 'password=\*\*\*' -- \
  sh -c "'$VOUCH' --db '$PG_URI&password=s3cr3t' daemon --clock clock --poll 50 --log pw.log &
         p=\$!; $started pw.log; kill -TERM \$p; wait \$p; grep -v s3cr3t pw.log"

printf 'vouch.sleep(3000)\n' > nap.lua
"$VOUCH" --db "$PG_URI" schedule add nap 'every 1m' nap.lua >/dev/null
check "record: a run's command line does not show the URI's password" 0 '^running 1 0$' -- \
  sh -c "'$VOUCH' --db '$PG_URI&password=s3cr3t' schedule run nap >/dev/null 2>&1 & p=\$!
         n=0; until ps -eo args | grep -q '[n]ap.lua' || [ \$n -gt 100 ]; do n=\$((n + 1)); sleep 0.05; done
         echo running \$(ps -eo args | grep -c '[n]ap.lua') \$(ps -eo args | grep '[n]ap.lua' | grep -c s3cr3t)
         wait \$p"

# Scoring runs are kept on the server too; a script's vouch.db.open() is
# the user's copy of them, whose host tables the sandbox keeps, as a file's.
check "record: vet stores its run on the server" 0 "run 1: 22 partners" -- \
  "$VOUCH" --db "$PG_URI" vet "$ROOT/examples/partners.csv"
check "record: ... all of it" 0 '^ok\|22\|22\|22$' -- pg_sql "$PG_URI" \
  "SELECT status, partners, (SELECT count(*) FROM scores), (SELECT count(*) FROM inputs) FROM runs"
check "record: runs lists it" 0 " 1  social_capital .* ok " -- "$VOUCH" --db "$PG_URI" runs
check "record: a cmd:vet schedule is taken on a server" 0 "schedule v added" -- \
  "$VOUCH" --db "$PG_URI" schedule add v 'every 1m' cmd:vet "$ROOT/examples/partners.csv"
printf 'local db = vouch.db.open() print(db:one("SELECT count(*) AS n FROM scores").n)
print(pcall(db.exec, db, "DELETE FROM runs"))\n' > open.lua
check "record: a script reads the copy of the runs, and cannot change them" 0 \
  "^22
false	.*is not allowed in the sandbox" -- "$VOUCH" --db "$PG_URI" run open.lua
check "record: ... nor the server's" 0 '^1$' -- pg_sql "$PG_URI" "SELECT count(*) FROM runs"
printf 'print(vouch.db.open(arg[1]))\n' > open2.lua
check "record: vouch.db.open(URI) is not the way to a server" 1 "open2.lua:1: postgresql://.*denied" -- \
  "$VOUCH" --db "$PG_URI" run open2.lua "$PG_URI"
printf 'print(#vouch.schedules.list(), vouch.schedules.get("hi").expr)\n' > list.lua
check "record: a script reads the schedules on the server" 0 "^4	every 1m$" -- \
  "$VOUCH" --db "$PG_URI" run list.lua

# A record of schema 3, whose scores and inputs had foreign keys checked
# row by row, is brought to 4: its rows kept, the keys dropped, and a run
# or load deleted still takes its scores or inputs with it.
pg_sql "$PG_URI" "DROP TRIGGER runs_gone ON runs; DROP FUNCTION vouch_runs_gone();
  DROP TRIGGER loads_gone ON loads; DROP FUNCTION vouch_loads_gone();
  ALTER TABLE scores ADD FOREIGN KEY (run_id) REFERENCES runs(id) ON DELETE CASCADE;
  ALTER TABLE inputs ADD FOREIGN KEY (load_id) REFERENCES loads(id) ON DELETE CASCADE;
  UPDATE vouch_schema SET version = 3" >/dev/null
check "record: a record of schema 3 is brought to 4" 0 "run 2: 22 partners" -- \
  "$VOUCH" --db "$PG_URI" vet "$ROOT/examples/partners.csv"
check "record: ... its rows kept, its row-by-row keys gone" 0 '^4\|44\|22\|0$' -- pg_sql "$PG_URI" \
  "SELECT (SELECT version FROM vouch_schema), (SELECT count(*) FROM scores),
     (SELECT count(*) FROM inputs), (SELECT count(*) FROM pg_constraint WHERE contype = 'f'
     AND conrelid IN ('scores'::regclass, 'inputs'::regclass))"
check "record: a run deleted takes its scores with it" 0 '^22$' -- pg_sql "$PG_URI" \
  "DELETE FROM runs WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM schedule_runs WHERE run_id = 1);
   SELECT count(*) FROM scores"
check "record: ... and a load deleted, its inputs" 0 '^0$' -- pg_sql "$PG_URI" \
  "DELETE FROM run_loads; DELETE FROM loads; SELECT count(*) FROM inputs"

# Text crosses to the server as it is: tabs, line breaks, backslashes and
# a name that reads as COPY's NULL, beside an empty name and none at all.
python3 - "$ROOT/examples/partners.csv" odd.csv <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
names = ["tab\there", "two\nlines", "back\\slash", "\\N", "", None, "caf\u00e9 \u0e44\u0e17\u0e22"]
with open(sys.argv[2], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(rows[0])
    for k, name in enumerate(names):
        r = list(rows[k + 1])
        r[0] = "ODD%d" % k
        r[1] = name if name is not None else ""
        w.writerow(r)
    # an empty quoted field is an empty name; an unquoted one is none
PY
sed -i 's/^ODD4,,/ODD4,"",/' odd.csv
"$VOUCH" --db "$PG_URI" vet odd.csv >/dev/null
"$VOUCH" --db "$TMP/odd.db" vet odd.csv >/dev/null
on_server=$(pg_sql "$PG_URI" "SELECT string_agg(partner_id || '=' || CASE WHEN name IS NULL
  THEN 'null' ELSE encode(convert_to(name, 'UTF8'), 'hex') END, ',' ORDER BY partner_id)
  FROM scores WHERE partner_id LIKE 'ODD%'")
on_file=$(sqlite3 "$TMP/odd.db" "SELECT group_concat(partner_id || '=' || CASE WHEN name IS NULL
  THEN 'null' ELSE lower(hex(CAST(name AS BLOB))) END, ',') FROM (SELECT * FROM scores
  ORDER BY partner_id)")
check "record: names with tabs, line breaks and backslashes reach the server as on a file" 0 \
  '^same: ODD0=7461620968657265,.*ODD3=5c4e,ODD4=,ODD5=null,' -- \
  sh -c '[ "$1" = "$2" ] && echo "same: $1" || echo "differ: $1 / $2"' - "$on_server" "$on_file"

# A record made by a newer vouch is left alone.
pg_sql "$PG_URI" "UPDATE vouch_schema SET version = 99" >/dev/null
check "record: a newer schema is refused" 4 "newer vouch" -- "$VOUCH" --db "$PG_URI" schedule list
check "record: ... and left as it was" 0 '^99$' -- pg_sql "$PG_URI" "SELECT version FROM vouch_schema"

# A database whose tables of the record's names are someone else's is
# refused, named, and left as it was; a schema of vouch's own in it serves.
clash=$(pg_newdb clash)
pg_sql "$clash" "CREATE TABLE scores(x int); CREATE TABLE runs(y int); INSERT INTO scores VALUES (1)"
check "record: tables of its names that vouch did not make are refused" 4 \
  'not a vouch record: it has tables vouch did not make \(runs, scores\) and no vouch_schema' -- \
  "$VOUCH" --db "$clash" vet "$ROOT/examples/partners.csv"
check "record: ... and left as they were" 0 '^1\|$' -- \
  pg_sql "$clash" "SELECT count(*), to_regclass('vouch_schema') FROM scores"
pg_sql "$clash" "CREATE SCHEMA vouch"
check "record: a schema of its own in that database serves" 0 '^run 1: 22 partners' -- \
  "$VOUCH" --db "$clash&options=-csearch_path%3Dvouch" vet "$ROOT/examples/partners.csv"
check "record: ... its tables made there, beside the others" 0 '^22\|1$' -- \
  pg_sql "$clash" "SELECT (SELECT count(*) FROM vouch.scores), (SELECT count(*) FROM public.scores)"

#!/bin/sh
# The PostgreSQL harness itself (pg.sh): a server of the test's own, its
# role and databases, dropped connections, a restart, and the end.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
cd "$TMP" || exit 1
trap 'pg_stop' EXIT

ms() { echo $(($(date +%s%N) / 1000000)); }
t0=$(ms)
if ! pg_start; then
  pg_not_run "pg: the server starts" "pg: select 1" "pg: connected as vouch" \
    "pg: vouch is not a superuser" "pg: a second database is separate" \
    "pg: connections to one database are dropped" "pg: a restart keeps the data" \
    "pg: pg_stop removes the directory" "pg: the port no longer answers"
  exit 0
fi
echo "ok - pg: the server starts"
echo "# pg_start took $(($(ms) - t0)) ms; $PG_URI"

check "pg: select 1" 0 '^1$' -- pg_sql "$PG_URI" 'select 1'
check "pg: connected as vouch" 0 '^vouch vouch$' -- \
  pg_sql "$PG_URI" "select current_user || ' ' || current_database()"
check "pg: vouch is not a superuser" 0 '^off$' -- pg_sql "$PG_URI" 'show is_superuser'
check "pg: vouch may create tables in its database" 0 '^42$' -- \
  pg_sql "$PG_URI" 'create table t (x int); insert into t values (42); select x from t'
check "pg: a bad statement fails" 1 'column "nope" does not exist' -- \
  pg_sql "$PG_URI" 'select nope'
check "pg: listens on 127.0.0.1 only" 0 '^127\.0\.0\.1$' -- pg_sql "$PG_URI" 'show listen_addresses'
ok "pg: the port answers on 127.0.0.1" "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$PG_PORT"

OTHER=$(pg_newdb other)
check "pg: pg_newdb gives a URI of the same form" 0 '^other$' -- pg_sql "$OTHER" 'select current_database()'
check "pg: a second database is separate" 0 '^0$' -- \
  pg_sql "$OTHER" "select count(*) from pg_tables where tablename = 't'"
check "pg: pg_newdb refuses a name that is not an identifier" 2 "bad name" -- pg_newdb 'x;drop'

# Two waiting connections, one to each database; only the first is dropped.
pg_sql "$PG_URI" 'select pg_sleep(60)' >sleep1.out 2>&1 & s1=$!
pg_sql "$OTHER" 'select pg_sleep(60)' >sleep2.out 2>&1 & s2=$!
waiting() {
  pg_sql "$OTHER" "select count(*) from pg_stat_activity where query like 'select pg_sleep%'"
}
for _ in $(seq 50); do [ "$(waiting)" = 2 ] && break; sleep 0.1; done
pg_kill_backends "$PG_URI"
wait $s1; rc1=$?
if [ "$rc1" -ne 0 ] && grep -q "terminating connection" sleep1.out && [ "$PG_KILLED" = 1 ]; then
  echo "ok - pg: connections to one database are dropped"
else
  echo "not ok - pg: connections to one database are dropped: exit $rc1, $PG_KILLED killed"
  sed 's/^/# /' sleep1.out
fi
ok "pg: those to another database are not" kill -0 $s2
pg_kill_backends other
wait $s2; rc2=$?
ok "pg: pg_kill_backends takes a database's name too" test "$rc2" -ne 0 -a "$PG_KILLED" = 1

pm=$(head -n 1 "$PG_DIR/data/postmaster.pid")
t0=$(ms)
ok "pg: pg_restart" pg_restart
echo "# pg_restart took $(($(ms) - t0)) ms"
check "pg: a restart keeps the data" 0 '^42$' -- pg_sql "$PG_URI" 'select x from t'
check "pg: and the same port" 0 "^$PG_PORT\$" -- pg_sql "$PG_URI" 'show port'
ok "pg: and it is a new server process" test "$pm" != "$(head -n 1 "$PG_DIR/data/postmaster.pid")"

dir=$PG_DIR port=$PG_PORT
pm=$(head -n 1 "$PG_DIR/data/postmaster.pid")
procs="$pm $(pgrep -P "$pm" | tr '\n' ' ')"
t0=$(ms)
pg_stop
echo "# pg_stop took $(($(ms) - t0)) ms"
ok "pg: pg_stop removes the directory" test ! -e "$dir"
check "pg: the port no longer answers" 2 "no response" -- "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$port"
left=  # an exited process may stay a zombie until init reaps it
for p in $procs; do
  case $(ps -o stat= -p "$p") in ''|Z*) ;; *) left="$left $p" ;; esac
done
if [ -z "$left" ]; then echo "ok - pg: no server process is left"
else echo "not ok - pg: no server process is left:$left"; fi
check "pg: pg_stop twice is safe" 0 '' -- pg_stop

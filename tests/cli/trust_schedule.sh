#!/bin/sh
# Schedules trust nothing they read back. A sandboxed script can write the
# database (and anything with the file can), so every schedule row is
# untrusted input to `vouch schedule run`, `tick` and the daemon: rows
# planted by SQL, arguments that look like host options, files and hosts
# outside the grants the schedule was added with, URLs that hide their host
# behind a user name, proxies from the environment, and a daemon that is
# hung up on. On a server (pg_trust_schedule.sh) the same rows are planted
# by SQL; what needs scoring runs (the arguments of cmd:vet and cmd:report,
# which a server refuses when added, and a monitored schedule's alerts) is
# checked on the file, where scoring runs are kept.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
export VOUCH_DB="${VOUCH_TEST_DB:-$TMP/t.db}" VOUCH_NOW=2026-01-01T00:00:00Z
outside=$(mktemp -d)
pids=
trap 'for p in $pids; do kill -9 $p 2>/dev/null; done; rm -rf "$outside"' EXIT

# wait_for FILE REGEX: up to 60 s for a line matching REGEX.
wait_for() {
  n=0
  while ! grep -Eq -- "$2" "$1" 2>/dev/null; do
    n=$((n + 1))
    if [ $n -gt 600 ]; then echo "# timed out waiting for /$2/ in $1"; sed 's/^/# /' "$1" | tail -n 20; return 1; fi
    sleep 0.1
  done
}
waited() { if wait_for "$2" "$3"; then echo "ok - $1"; else echo "not ok - $1"; fi; }
wait_exit() {
  n=0
  while kill -0 "$1" 2>/dev/null && [ $n -lt 600 ]; do n=$((n + 1)); sleep 0.1; done
  ! kill -0 "$1" 2>/dev/null
}
# receiver PORTFILE OUTFILE: a webhook receiver in the background.
receiver() {
  python3 "$ROOT/tests/webhook_receiver.py" "$1" "$2" &
  pids="$pids $!"
  n=0; while [ ! -s "$1" ] && [ $n -lt 100 ]; do n=$((n + 1)); sleep 0.1; done
}
receiver port hooks.jsonl; port=$(cat port)
receiver pport proxy.jsonl; pport=$(cat pport)

printf 'print("job", table.concat(arg, " "))\n' > job.lua
printf 'assert(vouch.load.csv("secret.csv")) print("read the secret")\n' > readcwd.lua
printf 'id,name\nP1,kept out\n' > "$outside/secret.csv"
cp "$ROOT/tests/monitor/fake_vet.lua" .
# One scorecard per schedule, so that each one's second run differs from its
# first and has something to alert about.
sed "s/'fake'/'fake_url'/g" fake_vet.lua > fake_url.lua
sed "s/'fake'/'fake_file'/g" fake_vet.lua > fake_file.lua
"$VOUCH" schedule add legit '@yearly' job.lua a >/dev/null
# What a schedule may read is what its adder could: the working directory
# and a file outside it named on the command line, not each word of it.
"$VOUCH" schedule add words '@yearly' job.lua a '30 2 * * *' "$outside/secret.csv" \
  --missed once >/dev/null
check "a schedule keeps the directories and files its command line could read, once each" 0 \
  "^\\{\"read\":\\[\"$(pwd -P)\",\"$(cd "$outside" && pwd -P)/secret.csv\"\\]," -- \
  q "select grants from schedules where name='words'"
"$VOUCH" schedule rm words >/dev/null

# A row written by SQL, as anything with access to the file can: the command
# `cmd:--trusted` with `-e CODE` would run CODE outside the sandbox.
pwn() { printf 'io.open([[%s]],[[w]]):write([[x]])' "$TMP/$1"; }
q <<SQL
INSERT INTO schedules(name, expr, script, args, created_at, dir)
  VALUES ('planted-trusted', 'every 1m', 'cmd:--trusted', '["-e","$(pwn pwned-a)"]',
          '2026-01-01T00:00:00Z', '$TMP');
INSERT INTO schedules(name, expr, script, args, created_at, dir)
  VALUES ('planted-vet', '@yearly', 'cmd:vet', '["--trusted","-e","$(pwn pwned-a2)"]',
          '2026-01-01T00:00:00Z', '$TMP');
SQL
check "a schedule row planted by SQL with cmd:--trusted is refused by schedule run" 1 \
  'refuse +planted-trusted .*reason="' -- "$VOUCH" schedule run planted-trusted
check "and its code did not run" 0 '' -- test ! -e pwned-a
check "the refusal is in the history" 0 '^failed\|refused: ' -- \
  q "select status, error from schedule_runs where schedule='planted-trusted'"
check "a planted cmd:vet row with --trusted among its arguments is refused" 1 \
  'refuse +planted-vet ' -- "$VOUCH" schedule run planted-vet
check "and its code did not run" 0 '' -- test ! -e pwned-a2
# The same with grants copied from a row that was added properly: the row
# itself is checked, not only whether it has grants.
q <<SQL
INSERT INTO schedules(name, expr, script, args, created_at, dir, grants)
  SELECT 'forged-trusted', '@yearly', 'cmd:--trusted', '["-e","$(pwn pwned-b)"]', created_at,
         dir, grants FROM schedules WHERE name='legit';
INSERT INTO schedules(name, expr, script, args, created_at, dir, grants)
  SELECT 'forged-vet', '@yearly', 'cmd:vet', '["x.csv","--allow-write=/","--db=$TMP/other.db"]',
         created_at, dir, grants FROM schedules WHERE name='legit';
INSERT INTO schedules(name, expr, script, args, created_at, dir, grants)
  SELECT 'forged-report', '@yearly', 'cmd:report', '["--out","$outside/r.html"]', created_at,
         dir, grants FROM schedules WHERE name='legit';
INSERT INTO schedules(name, expr, script, args, created_at, dir, grants)
  SELECT 'forged-dir', '@yearly', '$TMP/readcwd.lua', '[]', created_at, '$outside', grants
  FROM schedules WHERE name='legit';
INSERT INTO schedules(name, expr, script, args, created_at, dir, grants)
  SELECT 'forged-grants', '@yearly', '$TMP/job.lua', '[]', created_at, dir,
         '{"read":["/"],"write":["/"],"net":["*"],"trusted":true}' FROM schedules WHERE name='legit';
SQL
check "a forged row's command must be vet or report" 1 \
  "refuse +forged-trusted .*'cmd:--trusted' is not a command a schedule may run" -- "$VOUCH" schedule run forged-trusted
check "and its code did not run" 0 '' -- test ! -e pwned-b
check "a forged row's command arguments hold no host option" 1 \
  "refuse +forged-vet .*argument '--allow-write=/' is a host option" -- "$VOUCH" schedule run forged-vet
check "a forged report --out outside the grants is refused" 1 \
  "refuse +forged-report .*--out $outside/r.html: write access denied" -- "$VOUCH" schedule run forged-report
check "and nothing was written there" 0 '' -- test ! -e "$outside/r.html"
check "a forged row's directory outside its read grant is refused" 1 \
  "refuse +forged-dir .*directory '$outside' is outside the schedule's read grant" -- "$VOUCH" schedule run forged-dir
check "grants wider than the runner's are refused" 1 \
  'refuse +forged-grants .*added with --trusted and this runs without' -- "$VOUCH" schedule run forged-grants
check "even with --trusted, a read grant of / needs the runner's" 0 '' -- \
  sh -c "'$VOUCH' --allow-read='$TMP' schedule run forged-grants 2>&1 | grep -q 'refuse '"
check "a legitimate row still runs" 0 'job	a' -- "$VOUCH" schedule run legit

# Arguments from a sandboxed script: a command's host-option arguments are
# refused when added; a script's arguments stay the script's.
check "vouch.schedule: --trusted in a command's arguments is refused" 1 \
  "schedule 'b' refused: argument '--trusted' is a host option" -- "$VOUCH" -e "
  print(vouch.schedule{name = 'b', expr = '@daily', script = 'cmd:vet',
    args = {'--trusted', '--rules', 'x.lua', '-e', [=[$(pwn pwned-b2)]=]}})"
check "vouch.schedule: --allow-read=/ in a command's arguments is refused" 1 \
  "argument '--allow-read=/' is a host option" -- "$VOUCH" -e "
  vouch.schedule{name = 'b', expr = '@daily', script = 'cmd:vet', args = {'x.csv', '--allow-read=/'}}"
check "nothing was stored" 0 '^0$' -- q "select count(*) from schedules where name='b'"
check "vouch.schedule: a script may take --trusted and -e as its own arguments" 0 'schedule.*added|^table' -- \
  "$VOUCH" -e "print(vouch.schedule{name = 'b3', expr = '@daily', script = 'job.lua',
    args = {'--trusted', '-e', [=[$(pwn pwned-b3)]=]}})"
check "and they reach the script, which runs sandboxed" 0 'job	--trusted -e ' -- "$VOUCH" schedule run b3
check "the code in them did not run" 0 '' -- test ! -e pwned-b3

# report --out: only inside the write grant of whoever adds the schedule.
check "vouch.schedule: cmd:report --out outside the grants is refused" 1 \
  "--out $outside/new/r.html: write access denied" -- "$VOUCH" -e "
  vouch.schedule{name = 'c', expr = '@daily', script = 'cmd:report', args = {'--out', '$outside/new/r.html'}}"
check "vouch.schedule: cmd:report --out= outside the grants is refused" 1 \
  "write access denied" -- "$VOUCH" -e "
  vouch.schedule{name = 'c', expr = '@daily', script = 'cmd:report', args = {'--out=$outside/r.md'}}"
check "vouch.schedule: cmd:report --out inside --allow-write is taken" 0 'schedule c added' -- \
  "$VOUCH" --allow-write="$TMP" schedule add c '@daily' cmd:report --out "$TMP/r.html"

# Alert URLs are parsed by libcurl: a user name that looks like the allowed
# host does not make 127.0.0.1 allowed.
check "vouch.schedule: an alert URL with a user name is refused" 1 \
  'a user name or password in an alert URL is refused' -- "$VOUCH" --allow-net=allowed.example -e "
  vouch.schedule{name = 'd', expr = '@daily', script = 'job.lua',
    alerts = {'http://allowed.example:x@127.0.0.1:$port/'}}"
check "vouch.schedule: an alert URL to a host not allowed is refused" 1 \
  'network access denied \(allow it with --allow-net=127.0.0.1\)' -- "$VOUCH" --allow-net=allowed.example -e "
  vouch.schedule{name = 'd', expr = '@daily', script = 'job.lua', alerts = {'http://127.0.0.1:$port/'}}"
check "vouch.schedule: a file: alert outside the write grant is refused" 1 'write access denied' -- \
  "$VOUCH" -e "vouch.schedule{name = 'e', expr = '@daily', script = 'job.lua', alerts = {'file:$outside/a.jsonl'}}"

# The daemon: the planted rows are refused at every fire, the others run, and
# alerts go straight to the allowed host, not to http_proxy. A script cannot
# store a scoring run on a server, so mon, whose alerts compare two, runs
# on a file only.
on_pg || "$VOUCH" --allow-net=127.0.0.1 schedule add mon 'every 1m' fake_vet.lua \
  --alert "http://127.0.0.1:$port/hook" >/dev/null
q "delete from schedules where name like 'forged-%' or name in ('c', 'b3', 'planted-vet')"
# The planted rows queue their runs, so that each has two whatever its speed.
q "update schedules set overlap='queue' where name='planted-trusted'"
q <<SQL
INSERT INTO schedules(name, expr, script, args, created_at, dir, overlap, alerts)
  VALUES ('planted-url', 'every 1m', '$TMP/fake_url.lua', '[]', '2026-01-01T00:00:00Z', '$TMP', 'queue',
          '["http://allowed.example:x@127.0.0.1:$port/planted"]');
INSERT INTO schedules(name, expr, script, args, created_at, dir, overlap, alerts)
  VALUES ('planted-file', 'every 1m', '$TMP/fake_file.lua', '[]', '2026-01-01T00:00:00Z', '$TMP', 'queue',
          '["file:$outside/alerts.jsonl"]');
INSERT INTO schedules(name, expr, script, args, created_at, dir, overlap)
  VALUES ('planted-dir', 'every 1m', '$TMP/readcwd.lua', '[]', '2026-01-01T00:00:00Z', '$outside', 'queue');
SQL
echo 2026-01-01T00:00:30Z > clock
http_proxy="http://127.0.0.1:$pport" HTTP_PROXY="http://127.0.0.1:$pport" no_proxy= NO_PROXY= \
  "$VOUCH" --allow-net=127.0.0.1 daemon --clock clock --poll 100 --grace 30 --log d.log 2>d.err &
d=$!; pids="$pids $d"
wait_for d.log ' daemon +- pid=' >/dev/null
echo 2026-01-01T00:01:00Z > clock
if on_pg; then
  for s in trusted url file dir; do wait_for d.log "refuse +planted-$s for=2026-01-01T00:01:00Z" >/dev/null; done
else
  waited "daemon: the first runs end" d.log 'end +mon run=.* status=ok'
fi
echo 2026-01-01T00:02:00Z > clock
on_pg || waited "daemon: mon's second run alerts" d.log 'webhook +mon url=http://127.0.0.1:[0-9]+/hook status=200'
waited "daemon: a planted cmd:--trusted row is refused" d.log 'refuse +planted-trusted for=2026-01-01T00:02:00Z'
waited "daemon: a planted alert URL with a user name is refused" d.log 'refuse +planted-url for=2026-01-01T00:02:00Z'
waited "daemon: a planted file: alert is refused" d.log 'refuse +planted-file for=2026-01-01T00:02:00Z'
waited "daemon: a planted directory is refused" d.log 'refuse +planted-dir for=2026-01-01T00:02:00Z'
kill -TERM $d
if wait_exit $d; then echo "ok - daemon: stops"; else echo "not ok - daemon: stops"; fi
check "daemon: the planted code did not run" 0 '' -- test ! -e pwned-a
check "daemon: nothing was posted for the planted URL" 0 '^0$' -- \
  sh -c "cat hooks.jsonl proxy.jsonl 2>/dev/null | grep -c '\"schedule\": *\"planted-url\"' || true"
if ! on_pg; then
  check "daemon: the allowed alert went straight to its host" 0 '^1$' -- \
    sh -c "grep -c '\"schedule\": *\"mon\"' hooks.jsonl"
  check "daemon: http_proxy from the environment was not used" 0 '' -- test ! -s proxy.jsonl
fi
check "daemon: nothing was written outside the grants" 0 '' -- test ! -e "$outside/alerts.jsonl"
check "daemon: the planted directory was not read" 0 '^0$' -- \
  q "select count(*) from schedule_runs where output like '%read the secret%'"
check "daemon: every planted row's refusals are recorded" 0 '^planted-dir 2 planted-file 2 planted-trusted 2 planted-url 2$' -- \
  rows "select schedule || ' ' || count(*) from schedule_runs where error like 'refused: %' and schedule like 'planted-%' and scheduled_for between '2026-01-01T00:01:00Z' and '2026-01-01T00:02:00Z' group by schedule order by schedule"
check "daemon: help names --proxy and the stop signals" 0 'SIGHUP' -- "$VOUCH" daemon --help

# SIGHUP stops the daemon as SIGTERM does: a stop line, the running run
# ends and is recorded, nothing is left aborted.
for s in mon planted-trusted planted-url planted-file planted-dir legit; do q "delete from schedules where name='$s'"; done
printf 'vouch.sleep(tonumber(arg[1]) * 1000) print("slept", arg[1])\n' > slow.lua
VOUCH_NOW=2026-01-01T00:02:30Z "$VOUCH" schedule add hup 'every 1m' slow.lua 3 >/dev/null
echo 2026-01-01T00:02:30Z > clock
"$VOUCH" daemon --clock clock --poll 100 --grace 60 --log h.log 2>h.err &
d=$!; pids="$pids $d"
wait_for h.log ' daemon +- pid=' >/dev/null
echo 2026-01-01T00:03:00Z > clock
waited "SIGHUP: a run starts" h.log 'start +hup run='
kill -HUP $d
waited "SIGHUP: the daemon logs its stop" h.log 'stop +- signal=1 running=1 grace=60s'
if wait_exit $d; then echo "ok - SIGHUP: the daemon waits for the run, then exits"; else echo "not ok - SIGHUP: the daemon waits for the run, then exits"; fi
check "SIGHUP: the run finished and was recorded ok, not aborted" 0 '^ok$' -- \
  q "select status from schedule_runs where schedule='hup' order by id desc limit 1"
check "SIGHUP: the exit is logged" 0 'exit +- pid=' -- cat h.log
if on_pg; then
  check "SIGHUP: the daemon has left the record" 0 '^no daemon has joined ' -- "$VOUCH" daemon --status
else
  check "SIGHUP: the lock is released" 0 '^$' -- cat "$VOUCH_DB.lock"
fi

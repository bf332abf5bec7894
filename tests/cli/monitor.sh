#!/bin/sh
# Monitoring: a schedule re-runs a scorecard, the new run is compared with
# the previous one, and the alert reaches a webhook receiver on 127.0.0.1,
# a file and stderr. Its records are files, or databases of a server under
# pg_monitor.sh.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
export VOUCH_DB="${VOUCH_TEST_DB:-$TMP/m.db}" VOUCH_NOW=2026-01-01T00:00:00Z
python3 "$ROOT/tests/webhook_receiver.py" port hooks.jsonl &
rcv=$!
trap 'kill $rcv 2>/dev/null' EXIT
n=0; while [ ! -s port ] && [ $n -lt 100 ]; do n=$((n + 1)); sleep 0.1; done
port=$(cat port)
cp "$ROOT/tests/monitor/fake_vet.lua" .

check "add with alerts" 0 'schedule mon added' -- "$VOUCH" --allow-net=127.0.0.1 --allow-write="$TMP" \
  schedule add mon 'every 1m' fake_vet.lua --threshold 5 \
  --alert "http://127.0.0.1:$port/hook" --alert "file:$TMP/alerts.jsonl" --alert stderr
check "first run: nothing to compare with" 0 'end +mon run=1 status=ok' -- "$VOUCH" --allow-net=127.0.0.1 --allow-write="$TMP" schedule tick --at 2026-01-01T00:01:00Z
check "no alert yet" 0 '' -- test ! -e alerts.jsonl
check "second run alerts" 0 'alert +mon run_id=2 verdicts=1 moves=1 flags=1 drift: trust=[0-9.]+\(significant\)' -- \
  "$VOUCH" --allow-net=127.0.0.1 --allow-write="$TMP" schedule tick --at 2026-01-01T00:02:00Z
check "the webhook got it" 0 '^1$' -- sh -c "wc -l < hooks.jsonl"
# What the webhook received, checked field by field.
py() { python3 -c "import json,sys; a=json.loads(open('$1').readline()); $2"; }
check "webhook: schedule and runs" 0 '^mon 2 1 fake$' -- py hooks.jsonl \
  "print(a['schedule'], a['run_id'], a['previous_run_id'], a['scorecard'])"
check "webhook: the verdict change" 0 "^P03 reject approve 34.5 95.0$" -- py hooks.jsonl \
  "c=a['verdict_changes'][0]; print(c['partner_id'], c['from'], c['to'], c['total_from'], c['total_to'])"
check "webhook: the new red flag" 0 "^P07 controversy veto$" -- py hooks.jsonl \
  "f=a['new_flags'][0]; print(f['partner_id'], f['code'], f['outcome'])"
check "webhook: drift bands" 0 "^trust significant; goodwill stable; total stable$" -- py hooks.jsonl \
  "d={x['dimension']: x['band'] for x in a['drift']}; print('trust', d['trust'] + '; goodwill', d['goodwill'] + '; total', d['total'])"
check "the file got the same" 0 '^1$' -- sh -c "cmp -s hooks.jsonl alerts.jsonl && wc -l < alerts.jsonl"
check "history links the scorecard run and the alert" 0 '^2\|1$' -- q "select run_id, case when alert is not null then 1 else 0 end from schedule_runs where id=2"
check "history: an ALERT column, not the error" 0 '^2 +mon +ok +time .* 1 \(schedule alerts\)$' -- "$VOUCH" schedule history mon
check "history: no alert, a dash" 0 '^1 +mon +ok +time .* 1 +-$' -- "$VOUCH" schedule history mon
check "schedule alerts" 0 '^2026-01-01T00:02:00Z +mon +2 +1 +1 verdicts, 1 moves, 1 new flags; drift: trust [0-9.]+ \(significant\)$' -- \
  "$VOUCH" schedule alerts mon
check "schedule alerts: none for another name" 0 '^no alerts yet$' -- "$VOUCH" schedule alerts other
check "schedule alerts --format json: as sent" 0 '^mon 2 P07$' -- sh -c \
  "'$VOUCH' schedule alerts --format json | python3 -c \"import json,sys; a=json.load(sys.stdin)[0]; print(a['schedule'], a['run_id'], a['new_flags'][0]['partner_id'])\""
check "alerts: numbers rounded (no float noise)" 1 '' -- grep -Eq '[0-9]\.[0-9]*(0000000|9999999)[0-9]' alerts.jsonl
check "history --format json: the alert nested" 0 '^2 ok mon$' -- sh -c \
  "'$VOUCH' schedule history mon --format json | python3 -c \"import json,sys; r=json.load(sys.stdin)[0]; print(r['id'], r['status'], r['alert'][0]['schedule'])\""
check "history, alerts and list --format csv: a header, then rows" 0 '^id,schedule,status,.* 3 at,schedule,run,before,what_moved 2 name,expr,' -- sh -c \
  "'$VOUCH' schedule history mon --format csv | python3 -c \"import csv,sys; r=list(csv.reader(sys.stdin)); print(','.join(r[0]), len(r), end=' ')\" &&
   '$VOUCH' schedule alerts --format csv | python3 -c \"import csv,sys; r=list(csv.reader(sys.stdin)); print(','.join(r[0]), len(r), end=' ')\" &&
   '$VOUCH' schedule list --format csv | head -1"
check "third run, nothing moved: no alert" 0 'end +mon run=3 status=ok' -- "$VOUCH" --allow-net=127.0.0.1 --allow-write="$TMP" schedule tick --at 2026-01-01T00:03:00Z
check "still one alert" 0 '^1$' -- sh -c "wc -l < hooks.jsonl"
# A receiver that is down is logged, and the run still counts as ok.
kill $rcv; wait $rcv 2>/dev/null
q "update scores set total = total - 20 where run_id = 3"  # so that run 4 differs from run 3
check "webhook down: logged, run ok" 0 'webhook +mon url=http://127.0.0.1:[0-9]+/hook failed=' -- \
  "$VOUCH" --allow-net=127.0.0.1 --allow-write="$TMP" schedule tick --at 2026-01-01T00:04:00Z

# Early re-run on an event: a script asks, the daemon's next look runs it.
check "trigger from a script" 0 '^true$' -- "$VOUCH" -e 'print(vouch.schedules.trigger("mon", "P07", "new controversy"))'
check "trigger: unknown schedule" 0 "^nil	no schedule named 'nope'$" -- "$VOUCH" -e 'print(vouch.schedules.trigger("nope"))'
printf 'local c = vouch.schedules.context() print("ctx", c.name, c.trigger, c.partner, c.reason)\n' > ctx.lua
"$VOUCH" schedule add ctx '@yearly' ctx.lua >/dev/null
"$VOUCH" -e 'vouch.schedules.trigger("ctx", "P09", "follower spike")'
check "the triggered run sees the partner" 0 'end +ctx run=[0-9]+ status=ok' -- "$VOUCH" --allow-net=127.0.0.1 --allow-write="$TMP" schedule tick --at 2026-01-01T00:04:30Z
printf 'print(vouch.schedules.trigger("self", "P01", "again"))\n' > self.lua
"$VOUCH" schedule add self '@yearly' self.lua >/dev/null
"$VOUCH" schedule run self >self.out 2>&1
check "a run cannot trigger its own schedule" 0 "^nil	a run of 'self' cannot trigger 'self' again$" -- cat self.out
"$VOUCH" -e 'vouch.schedules.trigger("ctx", "P01", "one") vouch.schedules.trigger("ctx", "P01", "two")'
check "waiting triggers for one partner count once" 0 '^1$' -- q "select count(*) from schedule_triggers where fired_at is null"
check "context in the run" 0 '^ctx	ctx	event	P09	follower spike$' -- q "select output from schedule_runs where schedule='ctx'"

# PSI itself.
check "psi: identical is 0, stable" 0 '^0.0	stable$' -- "$VOUCH" -e 'print(vouch.schedules.psi({1,2,3,4}, {1,2,3,4}))'
check "psi: by hand" 0 '^3.404	significant$' -- "$VOUCH" -e '
  local p, band = vouch.schedules.psi({1,2,3,4,5,6,7,8,9,10}, {1,1,1,1,1,2,3,4,5,6})
  print(string.format("%.3f", p), band)'
check "psi: a small shift is moderate" 0 'moderate$' -- "$VOUCH" -e '
  local e, a = {}, {}
  for i = 1, 1000 do e[i] = i; a[i] = i + 80 end
  print(vouch.schedules.psi(e, a))'

# End to end with the real scorecard: `vouch vet` scheduled as cmd:vet over
# data that changes between two runs (the walkthrough's first round).
cp "$ROOT/examples/partners.csv" partners.csv
VOUCH_DB=$(record vet); export VOUCH_DB
"$VOUCH" --allow-write="$TMP" schedule add vet 'every 1m' cmd:vet partners.csv \
  --alert "file:$TMP/vet-alerts.jsonl" >/dev/null
check "vet: first run stores a scorecard run" 0 'end +vet run=1 status=ok' -- "$VOUCH" --allow-net=127.0.0.1 --allow-write="$TMP" schedule tick --at 2026-01-01T00:01:00Z
python3 "$ROOT/examples/monitoring/mutate.py" partners.csv 1 >/dev/null
check "vet: the second run alerts" 0 'alert +vet run_id=2 verdicts=1 ' -- "$VOUCH" --allow-net=127.0.0.1 --allow-write="$TMP" schedule tick --at 2026-01-01T00:02:00Z
check "vet: B002's verdict and its new flag" 0 '^B002 approve reject CONTROVERSY veto$' -- py vet-alerts.jsonl \
  "c=a['verdict_changes'][0]; f=[x for x in a['new_flags'] if x['outcome']=='veto'][0]; print(c['partner_id'], c['from'], c['to'], f['code'], f['outcome'])"
check "vet: the runs are linked" 0 '^1 2$' -- rows "select run_id from schedule_runs where schedule='vet' order by id"

# Drift compares like with like: two schedules of the same scorecard over
# different data (b's audiences have drifted far from a's). Each run is
# compared with its own schedule's previous run, never with the other's.
VOUCH_DB=$(record two); export VOUCH_DB
cp "$ROOT/examples/partners.csv" a.csv
cp "$ROOT/examples/partners.csv" b.csv
python3 "$ROOT/examples/monitoring/mutate.py" b.csv 2 >/dev/null
python3 "$ROOT/examples/monitoring/mutate.py" b.csv 3 >/dev/null
"$VOUCH" --allow-write="$TMP" schedule add a '@yearly' cmd:vet a.csv --alert "file:$TMP/a-alerts.jsonl" >/dev/null
"$VOUCH" --allow-write="$TMP" schedule add b '@yearly' cmd:vet b.csv --alert "file:$TMP/b-alerts.jsonl" >/dev/null
sr() { "$VOUCH" --allow-write="$TMP" schedule run "$1" >/dev/null 2>&1; }
sr a; sr b; sr a; sr b
check "two schedules: four runs, one scorecard" 0 '^4\|1$' -- q "select count(*), count(distinct scorecard) from runs where status = 'ok'"
check "two schedules: the other's data raised no alert" 0 '' -- test ! -e a-alerts.jsonl -a ! -e b-alerts.jsonl
check "two schedules: each run linked to its schedule" 0 '^a:1 a:3 b:2 b:4$' -- rows "
  select schedule || ':' || run_id from schedule_runs where run_id is not null order by schedule, id"
python3 "$ROOT/examples/monitoring/mutate.py" a.csv 1 >/dev/null
sr a
check "two schedules: a's change compared with a's previous run" 0 '^5 3 B002 approve reject$' -- py a-alerts.jsonl \
  "c=a['verdict_changes'][0]; print(a['run_id'], a['previous_run_id'], c['partner_id'], c['from'], c['to'])"
check "two schedules: no significant drift within a" 0 '^none$' -- py a-alerts.jsonl \
  "print(', '.join(d['dimension'] for d in a['drift'] if d['band'] == 'significant') or 'none')"
check "two schedules: b still quiet" 0 '' -- test ! -e b-alerts.jsonl

# One execution that scores two inputs with one scorecard: each run is
# compared with the same schedule's run over the same input, not with the
# other input's run that happens to be the execution's last.
printf '%s\n' 'local sc = require "vouch.scorecard"' \
  'local card = sc.load("social_capital")' \
  'for _, f in ipairs({ "a.csv", "b.csv" }) do' \
  '  card:run { rows = vouch.load.csv(f), inputs = { f } }' \
  'end' > pair.lua
"$VOUCH" --allow-write="$TMP" schedule add pair '@yearly' pair.lua --alert "file:$TMP/pair-alerts.jsonl" >/dev/null
sr pair; sr pair
check "two inputs per execution: four runs" 0 '^4$' -- q "select count(*) from runs where id > 5 and status = 'ok'"
check "two inputs per execution: each compared with its own input, no alert" 0 '' -- test ! -e pair-alerts.jsonl

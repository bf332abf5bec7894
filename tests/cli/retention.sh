#!/bin/sh
# Schedules kept in bounds: inputs checked at `schedule add`, `schedule
# list` when no daemon runs, machine-readable lists, a schedule's own
# retention (--keep, --keep-days) and `vouch prune` with a dry run. On a
# file's record, or on a server's under pg_retention.sh.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
export VOUCH_DB="${VOUCH_TEST_DB:-$TMP/r.db}" VOUCH_NOW=2026-01-01T00:00:00Z
ids() { rows "select id from runs order by id" | tr ' ' ,; }
cp "$ROOT/examples/partners.csv" p.csv
head -n 8 p.csv > small.csv

check "add cmd:vet: a missing data file is refused, named" 1 'cmd:vet: nosuch\.csv: No such file' -- \
  "$VOUCH" schedule add v '@daily' cmd:vet nosuch.csv
check "add cmd:vet: no data file" 2 'cmd:vet needs a data file' -- "$VOUCH" schedule add v '@daily' cmd:vet
check "add cmd:vet: an option vet does not take" 2 "cmd:vet: .*'--bogus'" -- \
  "$VOUCH" schedule add v '@daily' cmd:vet p.csv -- --bogus
only_file "a server's database is there before anything is stored" ok "nothing was stored" test ! -s "$VOUCH_DB"
check "add cmd:vet with retention" 0 'schedule v added' -- "$VOUCH" schedule add v 'every 1h' cmd:vet p.csv --keep 2
check "add: bad --keep" 2 "bad --keep '0'" -- "$VOUCH" schedule add w '@daily' cmd:vet p.csv --keep 0
check "list: a next run in the past, no daemon" 0 '^v +every 1h +2026-01-01T01:00:00Z \(missed: no daemon\) .*keep=2' -- \
  env VOUCH_NOW=2026-01-02T00:00:00Z "$VOUCH" schedule list
check "list: a next run ahead is plain" 0 '^v +every 1h +2026-01-01T01:00:00Z +- ' -- "$VOUCH" schedule list
check "list --format json" 0 '^v 2 0.0 None$' -- sh -c \
  "'$VOUCH' schedule list --format json | python3 -c \"import json,sys; s=json.load(sys.stdin)[0]; print(s['name'], s['keep'], s['keep_days'], s['daemon'])\""
check "list --format yaml is refused" 2 "bad --format 'yaml'" -- "$VOUCH" schedule list --format yaml

for i in 1 2 3; do "$VOUCH" schedule run v >/dev/null 2>&1; done
check "a schedule's retention: its last 2 runs and history" 0 '^2\|2\|2,3$' -- \
  sh -c "echo '$(q "select (select count(*) from runs), (select count(*) from schedule_runs)")|$(ids)'"
check "history --format json" 0 '^3 ok 3$' -- sh -c \
  "'$VOUCH' schedule history v --format json | python3 -c \"import json,sys; r=json.load(sys.stdin)[0]; print(r['id'], r['status'], r['run_id'])\""

# Runs of no schedule: vouch prune.
"$VOUCH" vet small.csv >/dev/null
"$VOUCH" vet small.csv >/dev/null
"$VOUCH" vet p.csv >/dev/null
check "prune --dry-run counts and changes nothing" 0 '^would remove 2 runs, 14 scores, 1 load, 7 input rows and 0 history rows' -- \
  "$VOUCH" prune --keep 1 --dry-run
check "still 5 runs" 0 '^5$' -- q "select count(*) from runs"
check "prune --keep 1" 0 '^removed 2 runs, 14 scores, 1 load, 7 input rows' -- "$VOUCH" prune --keep 1
check "the schedule's runs follow its own retention" 0 '^2,3,6$' -- ids
check "the load no run reads is gone, the others stay" 0 '^1\|22$' -- \
  q "select count(*), (select count(*) from inputs) from loads"
check "scores of pruned runs are gone" 0 '^0$' -- q "select count(*) from scores where run_id in (4, 5)"
check "prune --keep-days: nothing that recent to remove" 0 '^removed 0 runs' -- "$VOUCH" prune --keep-days 1
check "prune: bad --keep-days" 2 "bad --keep-days 'x'" -- "$VOUCH" prune --keep-days x
only_file "a file not made" \
  check "prune: no database is not made" 4 'no database .*none\.db' -- "$VOUCH" --db "$TMP/none.db" prune --keep 1
only_file "a file not made" \
  check "schedule alerts: no database is not made" 4 'no database' -- "$VOUCH" --db "$TMP/none.db" schedule alerts
only_file "a file not made" ok "no database was made" test ! -e "$TMP/none.db"
check "a sandboxed script may not prune runs" 1 "may not remove runs" -- \
  "$VOUCH" -e 'vouch.schedules.prune { keep = 0 }'
check "... (the command may)" 0 '^would remove 0 runs' -- "$VOUCH" prune --keep-days 1 --dry-run

#!/bin/sh
# The monitoring walkthrough: schedule the default scorecard every 3 seconds
# over partner data that changes while the daemon runs, and watch the alerts.
#   sh examples/monitoring/run.sh        (from the repository, after make)
# Everything happens in a temporary directory; nothing leaves 127.0.0.1.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
V=${VOUCH:-$root/vouch}
work=$(mktemp -d "${TMPDIR:-/tmp}/vouch-monitoring.XXXXXX")
cd "$work"
export VOUCH_DB="$work/vouch.db"
cp "$root/examples/partners.csv" partners.csv
pids=
trap 'for p in $pids; do kill $p 2>/dev/null || true; done' EXIT

say() { printf '\n== %s\n' "$*"; }

say "a webhook receiver on 127.0.0.1 (it stands for Slack, a pager, ...)"
python3 "$root/tests/webhook_receiver.py" port hooks.jsonl &
pids="$pids $!"
while [ ! -s port ]; do sleep 0.1; done
port=$(cat port)
echo "listening on port $port"

say "vouch schedule add: the default scorecard over partners.csv every 3 seconds"
"$V" --allow-write="$work" --allow-net=127.0.0.1 schedule add watch 'every 3s' cmd:vet partners.csv \
  --overlap queue --threshold 5 \
  --alert stderr --alert "file:$work/alerts.jsonl" --alert "http://127.0.0.1:$port/vouch"
"$V" schedule list

say "vouch daemon (its log: one line per event)"
"$V" --allow-write="$work" --allow-net=127.0.0.1 daemon --poll 250 --grace 10 --log daemon.log 2>alerts.stderr &
daemon=$!
pids="$pids $daemon"
tail -f daemon.log 2>/dev/null &
pids="$pids $!"

runs() { sqlite3 "$VOUCH_DB" "select count(*) from schedule_runs where schedule='watch' and status='ok'"; }
wait_runs() {  # until N runs have ended ok (bounded)
  n=0
  while [ "$(runs)" -lt "$1" ] && [ $n -lt 300 ]; do n=$((n + 1)); sleep 0.1; done
}

wait_runs 1
for round in 1 2 3; do
  python3 "$root/examples/monitoring/mutate.py" partners.csv $round
  have=$(runs)
  if [ $round = 3 ]; then
    # An event in the data asks for an early re-run (see vouch.schedules.trigger).
    "$V" -e 'vouch.schedules.trigger("watch", "B002", "new controversy reported")'
  fi
  wait_runs $((have + 1))
done

say "stopping the daemon (SIGTERM)"
kill -TERM $daemon
while kill -0 $daemon 2>/dev/null; do sleep 0.1; done
sleep 0.3

say "vouch schedule history watch"
"$V" schedule history watch

say "what the webhook received"
python3 - hooks.jsonl <<'PY'
import json, sys
for line in open(sys.argv[1]):
    a = json.loads(line)
    print("run %d vs %d (%s):" % (a["run_id"], a["previous_run_id"], a["scorecard"]))
    for c in a["verdict_changes"]:
        print("  verdict  %-6s %-28s %s -> %s" % (c["partner_id"], c.get("name") or "", c["from"], c["to"]))
    for m in a["moves"]:
        print("  moved    %-6s %-28s %.1f -> %.1f" % (m["partner_id"], m.get("name") or "",
              m["total_from"] or 0, m["total_to"] or 0))
    for f in a["new_flags"]:
        print("  flag     %-6s %s (%s)" % (f["partner_id"], f["code"], f["outcome"]))
    for d in a["drift"]:
        if d["band"] != "stable":
            print("  drift    %-14s PSI %.3f (%s)" % (d["dimension"], d["psi"], d["band"]))
PY
echo
echo "(work directory: $work; alerts also in alerts.jsonl and on the daemon's stderr)"

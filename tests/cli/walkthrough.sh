#!/bin/sh
# The monitoring walkthrough (examples/monitoring/run.sh) runs from start to
# end and shows the alerts the local webhook received.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
out=$(TMPDIR="$TMP" VOUCH="$VOUCH" sh "$ROOT/examples/monitoring/run.sh" 2>&1)
rc=$?
printf '%s\n' "$out" > walkthrough.out
check "walkthrough: exits 0" 0 '' -- test $rc -eq 0
check "walkthrough: the scandal flips a verdict" 0 'verdict  B002 +Siam Craft Coffee +approve -> reject' -- cat walkthrough.out
check "walkthrough: the audience drift is significant" 0 'drift +[a-z_]+ +PSI [0-9.]+ \(significant\)' -- cat walkthrough.out
check "walkthrough: the early re-run on an event" 0 'ok +event ' -- cat walkthrough.out
check "walkthrough: the daemon stopped cleanly" 0 'exit +- pid=' -- sh -c "cat '$TMP'/vouch-monitoring.*/daemon.log"

#!/bin/sh
# failover.sh: three daemons on one PostgreSQL record (a real server,
# started here), the one that holds the schedule killed with -9 at random
# moments FAILOVER_KILLS times (default 100), as tests/cli/pg_failover.sh
# does in fewer: runs lost and recorded twice (goal 0 and 0), runs done
# again after a takeover (their effect, outside the record), and the
# takeover's delay against the lease (FAILOVER_LEASE seconds, default 2).
set -u
. "$(dirname "$0")/lib.sh"
out=$(KILLS=${FAILOVER_KILLS:-100} LEASE=${FAILOVER_LEASE:-2} VOUCH=$VOUCH \
      sh "$ROOT/tests/cli/pg_failover.sh" 2>&1)
case $out in *"# SKIP"*) echo "# failover.sh: no PostgreSQL server to start, skipped" >&2; exit 0 ;; esac
echo "$out" | grep -q '^not ok' && { echo "$out" | grep '^not ok\|^#' >&2; }
f=$(echo "$out" | sed -n 's/^# figures: //p')
get() { echo "$f" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
row "failover: kills of the lease holder" "$(get kills)" "kills" "-" "3 daemons, $(get due) due times"
row "failover: due times lost" "$(get lost)" "runs" "-" "goal 0"
row "failover: due times recorded twice" "$(get recorded_twice)" "runs" "-" "goal 0"
row "failover: runs done again after a takeover" "$(get redone)" "runs" "-" \
  "killed after their work, before their end was recorded"
row "failover: takeover, median" "$(get takeover_s_median)" "s" "-" \
  "lease $(get lease), min $(get takeover_s_min), max $(get takeover_s_max)"

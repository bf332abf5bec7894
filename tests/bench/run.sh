#!/bin/sh
# run.sh: `make bench`. Runs every part tests/bench/*.sh in turn; each part
# prints its own figures. Parts are heavy: run them one at a time.
#   VOUCH=./vouch sh tests/bench/run.sh [PART]
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
VOUCH=$(realpath "${VOUCH:-$root/vouch}")
export VOUCH ROOT="$root"
status=0
for part in "$root"/tests/bench/*.sh; do
  name=$(basename "$part" .sh)
  [ "$name" = run ] && continue
  [ $# -gt 0 ] && [ "$1" != "$name" ] && continue
  echo "== $name"
  sh "$part" || { echo "bench $name failed" >&2; status=1; }
done
exit $status

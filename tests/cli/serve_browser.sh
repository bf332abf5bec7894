#!/bin/sh
# vouch serve in headless Chromium, driven over the DevTools protocol
# (tests/serve_browser.py, tests/cdp.py): every page clicked through on the
# example data, a run's progress seen live, a name full of markup as text.
# Skipped without Chromium, and under valgrind (the browser's waits are
# not made for a server that slow).
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/chromium.sh"
cd "$TMP" || exit 1
if [ "${VALGRIND:-0}" = 1 ]; then
  echo "ok - serve in Chromium # SKIP under valgrind (too slow for a browser's waits)"
  exit 0
fi
if [ -z "$(chromium_bin)" ]; then
  echo "ok - serve in Chromium # SKIP chromium is not installed (apt-get install chromium)"
  exit 0
fi
DB="$TMP/browser.db"
sed 's/^B002,Siam Craft Coffee,/B002,<script>alert(1)<\/script><b>Siam<\/b>,/' \
  "$ROOT/examples/partners.csv" > partners.csv
"$VOUCH" --db "$DB" vet partners.csv >/dev/null 2>&1
"$VOUCH" --db "$DB" vet "$ROOT/examples/last_quarter.csv" >/dev/null 2>&1
printf 'print("checked")\n' > job.lua
"$VOUCH" --db "$DB" schedule add nightly '0 2 * * *' job.lua >/dev/null
"$VOUCH" --db "$DB" schedule run nightly >/dev/null 2>&1

serve_start --db "$DB" --allow-read="$TMP"
SHOT="$ROOT/${BUILD:-build}/serve-test.png" \
  python3 "$ROOT/tests/serve_browser.py" "$(chromium_bin)" "$URL" "$DB"
echo "# screenshot: $ROOT/${BUILD:-build}/serve-test.png"
kill -INT "$SERVE_PID"
wait "$SERVE_PID"
rc=$?
check "serve in Chromium: the server stops cleanly" 0 "stopped" -- sh -c "cat serve.out serve.err; exit $rc"

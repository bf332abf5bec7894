#!/bin/sh
# vouch.http against a real local server (tests/http_server.py on
# 127.0.0.1): runs tests/lua/http_cases.lua with the server's port, then
# checks --allow-net from the command line. Every wait is bounded: the
# server exits by itself after 300 s and vouch runs with --timeout.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

python3 "$ROOT/tests/http_server.py" "$TMP/port" &
server=$!
trap 'kill $server 2>/dev/null' EXIT
i=0
while [ ! -s "$TMP/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if [ ! -s "$TMP/port" ]; then
  echo "not ok - the test server did not start"
  exit 1
fi
PORT=$(cat "$TMP/port")
URL="http://127.0.0.1:$PORT"

# The Lua tests print their own ok / not ok lines.
$VOUCH run --timeout 120 --allow-net=127.0.0.1 --allow-read="$ROOT/tests" \
  "$ROOT/tests/lua/http_cases.lua" "$PORT" 2>http_cases.err
rc=$?
[ $rc -eq 0 ] || { echo "not ok - http_cases.lua exited with $rc"; sed 's/^/# /' http_cases.err | head -20; }

check "without --allow-net a request is refused, naming the flag" 1 \
  "network access to 127.0.0.1 denied \(allow it with --allow-net=127.0.0.1\)" -- \
  $VOUCH --timeout 30 -e "vouch.http.get('$URL/json')"
check "--allow-net=HOST:PORT allows that port" 0 '^200$' -- \
  $VOUCH --timeout 30 --allow-net=127.0.0.1:$PORT -e "print(vouch.http.get('$URL/json').status)"
check "--allow-net=HOST:PORT does not allow another port" 1 'allow it with --allow-net=127.0.0.1' -- \
  $VOUCH --timeout 30 --allow-net=127.0.0.1:1 -e "vouch.http.get('$URL/json')"
check "a redirect to a host not allowed fails the script" 1 \
  "redirect from .* to http://localhost:$PORT/json: network access to localhost denied \(allow it with --allow-net=localhost\)" -- \
  $VOUCH --timeout 30 --allow-net=127.0.0.1 -e \
  "vouch.http.get('$URL/redirect-to?url=http://localhost:$PORT/json')"
check "--allow-net=* allows any host" 0 '^arrived$' -- \
  $VOUCH --timeout 30 --allow-net='*' -e "print(vouch.http.get('$URL/redirect/2').body)"
check "a request left waiting when the run hits its --timeout" 3 'time limit exceeded' -- \
  $VOUCH --timeout 1 --allow-net=127.0.0.1 -e "vouch.http.get('$URL/stall')"
check "a script ending with requests in flight exits clean" 0 '^done$' -- \
  $VOUCH --timeout 30 --allow-net=127.0.0.1 -e \
  "vouch.spawn(function() vouch.http.get('$URL/stall') end) vouch.sleep(50) print('done') vouch.exit(0)"
check "an error while requests are in flight fails the run" 1 'oops' -- \
  $VOUCH --timeout 30 --allow-net=127.0.0.1 -e \
  "for i = 1, 3 do vouch.spawn(function() vouch.http.get('$URL/stall') end) end vouch.sleep(50) error('oops')"


#!/bin/sh
# vouch serve: a real server on a free loopback port, driven with curl and
# raw sockets: the token, the Host and Origin checks, bad, oversized and
# slow requests, the JSON API, markup in the data, an action, the end. On
# a file's record, or on a server's under pg_serve.sh.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1
DB=$(record serve)
qdb() { (VOUCH_DB=$DB; q "$@"); }

check "serve: help" 0 "--bind ADDR" -- "$VOUCH" help serve
check "serve: unknown option" 2 "unknown option '--bogus'" -- "$VOUCH" serve --bogus
only_file "a server's database is there before anything is stored" \
  check "serve: no database" 4 "no database $DB" -- "$VOUCH" --db "$DB" serve
check "serve: another address needs --bind" 2 "needs the address in --allow-net" -- \
  "$VOUCH" --db "$DB" -e 'vouch.db.open(); local s, e = vouch.serve.listen{host="0.0.0.0", handler=print}
    vouch.eprint(e); vouch.exit(2)'

# Two runs of the example partners; one partner's name is markup.
sed 's/^B002,Siam Craft Coffee,/B002,<script>alert(1)<\/script><b>Siam<\/b>,/' \
  "$ROOT/examples/partners.csv" > partners.csv
"$VOUCH" --db "$DB" vet partners.csv >/dev/null 2>&1
"$VOUCH" --db "$DB" vet "$ROOT/examples/last_quarter.csv" >/dev/null 2>&1

serve_start --db "$DB" --allow-read="$TMP"
HOSTPORT=${BASE#http://}
ok "serve: prints a link with a token" test -n "$TOKEN"

code() { curl -s -o body.out -w '%{http_code}' "$@"; }
status_is() {  # NAME WANT CURL-ARGS...
  _n=$1 _w=$2; shift 2
  _c=$(code "$@")
  if [ "$_c" = "$_w" ]; then echo "ok - $_n"; else echo "not ok - $_n: HTTP $_c, expected $_w"; head -c 300 body.out | sed 's/^/# /'; fi
}

status_is "serve: no token, refused" 403 "$BASE/"
grep -q "token is needed" body.out && echo "ok - serve: the refusal says why" || echo "not ok - serve: the refusal says why"
status_is "serve: a wrong token, refused" 403 "$BASE/?token=0123456789abcdef0123456789abcdef"
status_is "serve: the link sets a cookie" 303 -c jar "$URL"
ok "serve: the cookie is HttpOnly and SameSite" grep -q "vouch_token" jar
status_is "serve: the cookie is enough" 200 -b jar "$BASE/"
status_is "serve: so is a bearer token" 200 -H "Authorization: Bearer $TOKEN" "$BASE/api/runs"
status_is "serve: another Host, refused" 403 -b jar -H "Host: evil.example:80" "$BASE/"
status_is "serve: an action from another origin, refused" 403 -b jar -X POST \
  -H "Origin: http://evil.example" -d "file=partners.csv" "$BASE/api/vet"
status_is "serve: a cross-site fetch, refused" 403 -b jar -X POST \
  -H "Sec-Fetch-Site: cross-site" -d "file=partners.csv" "$BASE/api/vet"
status_is "serve: an opaque origin, refused" 403 -b jar -X POST \
  -H "Origin: null" -d "file=partners.csv" "$BASE/api/vet"
status_is "serve: an unknown page" 404 -b jar "$BASE/nothing"
status_is "serve: a bad parameter" 400 -b jar "$BASE/api/runs/1/partners?verdict=maybe"
status_is "serve: a dimension the card lacks" 400 -b jar "$BASE/api/runs/1/partners?dim=nope"
status_is "serve: a run that is not there" 404 -b jar "$BASE/api/runs/99"
status_is "serve: DELETE is not served" 405 -b jar -X DELETE "$BASE/"
head -c 100000 /dev/zero | tr '\0' a > big.txt
status_is "serve: an oversized body" 413 -b jar -X POST -H "Origin: $BASE" --data-binary @big.txt "$BASE/api/vet"
status_is "serve: an oversized address" 414 -b jar "$BASE/$(head -c 5000 big.txt)"

# Raw requests: malformed, and one sent slowly while another client is served.
python3 - "$HOSTPORT" <<'EOF' > raw.out 2>&1
import socket, sys, time, urllib.request
host, port = sys.argv[1].rsplit(":", 1)
def raw(data):
    s = socket.create_connection((host, int(port)), timeout=5)
    s.sendall(data)
    out = b""
    try:
        while True:
            b = s.recv(4096)
            if not b: break
            out += b
    except socket.timeout:
        pass
    s.close()
    return out.split(b"\r\n", 1)[0].decode(errors="replace")
print("malformed", raw(b"GARBAGE \x01\x02\r\n\r\n"))
print("bad header", raw(b"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n"))
slow = socket.create_connection((host, int(port)), timeout=5)
slow.sendall(b"GET / HTTP/1.1\r\nHo")
t = time.time()
with urllib.request.urlopen(urllib.request.Request("http://%s:%s/api/state" % (host, port),
        headers={"Authorization": "Bearer " + open("serve.out").read().split("token=")[1].strip()}), timeout=10) as r:
    print("second client", r.status)
slow.close()
EOF
grep -Eq "^malformed HTTP/1.1 4[0-9][0-9]" raw.out && echo "ok - serve: a malformed request gets a 4xx" ||
  { echo "not ok - serve: a malformed request gets a 4xx"; sed 's/^/# /' raw.out; }
grep -Eq "^bad header HTTP/1.1 4[0-9][0-9]" raw.out && echo "ok - serve: a malformed header gets a 4xx" ||
  { echo "not ok - serve: a malformed header gets a 4xx"; sed 's/^/# /' raw.out; }
grep -q "^second client 200" raw.out && echo "ok - serve: a slow client does not hold up another" ||
  { echo "not ok - serve: a slow client does not hold up another"; sed 's/^/# /' raw.out; }

# The API: JSON that parses, with what the pages show.
P=$(qdb "SELECT partner_id FROM scores LIMIT 1")
for p in /api/runs /api/runs/1 "/api/runs/1/partners?sort=total&dir=asc&limit=5&offset=2" \
         "/api/runs/1/partners?verdict=review&dim=trust&below=90" "/api/partners/$P" \
         "/api/diff?a=1&b=2" /api/schedules /api/state; do
  if [ "$(code -b jar "$BASE$p")" = 200 ] && python3 -c 'import json,sys; json.load(open("body.out"))'; then
    echo "ok - serve: $p is JSON"
  else
    echo "not ok - serve: $p is JSON"; head -c 300 body.out | sed 's/^/# /'
  fi
done
code -b jar "$BASE/api/runs/1/partners?sort=total&dir=asc&limit=5&offset=2" >/dev/null
check "serve: a page of partners" 0 '"offset": ?2' -- cat body.out
code -b jar "$BASE/api/partners/$P" >/dev/null
check "serve: a partner's rules by replay" 0 '"explained"' -- cat body.out

# A large run's summary is made by a child while the server answers: 202
# until it is there, then the same JSON as `vouch report --format json`.
qdb "INSERT INTO runs(id, scorecard, scorecard_hash, inputs, started_at, ended_at, status, partners)
  SELECT 80, scorecard, scorecard_hash, inputs, started_at, ended_at, 'ok', 22 * 500 FROM runs WHERE id = 1;
  WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 500)
  INSERT INTO scores(run_id, partner_id, name, kind, total, verdict, dims, reasons)
  SELECT 80, partner_id || '-' || i, name, kind, total, verdict, dims, reasons FROM scores, k WHERE run_id = 1"
status_is "serve: a large run's summary, being made" 202 -b jar "$BASE/api/runs/80"
status_is "serve: its partners meanwhile" 200 -b jar "$BASE/run/80"
grep -q 'id="pending"' body.out && echo "ok - serve: the page says its summary is coming" ||
  echo "not ok - serve: the page says its summary is coming"
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30; do
  [ "$(code -b jar "$BASE/api/runs/80")" = 200 ] && break
  sleep 1
done
"$VOUCH" --db "$DB" report --run 80 --format json --limit 50 > summary.json 2>&1
check "serve: then the summary, as vouch report gives it" 0 "" -- cmp body.out summary.json
status_is "serve: and the page" 200 -b jar "$BASE/run/80"
grep -q 'id="pending"' body.out && echo "not ok - serve: the page has its summary" ||
  echo "ok - serve: the page has its summary"
code -b jar "$BASE/api/runs/80/partners?limit=3&offset=1" >/dev/null
check "serve: its first partners, from the summary" 0 "" -- sh -c \
  "grep -Eq '\"total\": ?11000[,}]' body.out && grep -Eq '\"rank\": ?2[,}]' body.out"
# Deep pages of a large run come from its order, sorted once and kept:
# the same partners as SQLite's own ORDER BY ... OFFSET, by offset and after
# a partner, in rank order and filtered and sorted otherwise.
dim0="json_extract(dims, '\$[0]')"
if on_pg; then dim0="(dims::jsonb->>0)::float8"; fi
RANK="CASE verdict WHEN 'approve' THEN 0 WHEN 'review' THEN 1 ELSE 2 END, total IS NULL, total DESC, partner_id"
deep() {  # NAME QUERY WHERE ORDER OFFSET LIMIT
  code -b jar "$BASE/api/runs/80/partners?$2" >/dev/null
  qdb "SELECT partner_id FROM scores WHERE run_id = 80 $3 ORDER BY $4 LIMIT $6 OFFSET $5" > want.txt
  check "serve: a deep page of a large run: $1" 0 "" -- python3 -c '
import json, sys
got = [p["partner_id"] for p in json.load(open("body.out"))["partners"]]
want = open("want.txt").read().split()
assert got and got == want, (got, want)
ranks = [p["rank"] for p in json.load(open("body.out"))["partners"]]
assert ranks == list(range(int(sys.argv[1]) + 1, int(sys.argv[1]) + 1 + len(got))), ranks' "$5"
}
deep "by rank, at an offset" "offset=5000&limit=20" "" "$RANK" 5000 20
at=$(qdb "SELECT partner_id FROM scores WHERE run_id = 80 ORDER BY $RANK LIMIT 1 OFFSET 4999")
deep "by rank, after a partner" "offset=5000&after=$at&limit=20" "" "$RANK" 5000 20
deep "filtered and sorted" "verdict=review&sort=total&dir=asc&offset=300&limit=10" "AND verdict = 'review'" \
  "total IS NULL, total ASC, partner_id" 300 10
deep "by a dimension" "sort=trust&offset=7000&limit=15" "" \
  "$dim0 IS NULL, $dim0 DESC, partner_id" 7000 15
code -b jar "$BASE/api/runs/80/partners?verdict=review&limit=1" >/dev/null
check "serve: a filtered large run counts its partners" 0 \
  "\"total\": ?$(qdb "SELECT count(*) FROM scores WHERE run_id = 80 AND verdict = 'review'")[,}]" -- cat body.out
qdb "DELETE FROM scores WHERE run_id = 80; DELETE FROM runs WHERE id = 80"

# Keyset paging: the page after a partner is the page at the offset, in
# every order (NULL dimensions among them).
for o in 4 "4&sort=total&dir=asc" "11&sort=trust&dir=asc" "4&sort=name&dir=desc" "4&verdict=review&dir=desc"; do
  n=${o%%&*}
  code -b jar "$BASE/api/runs/1/partners?limit=$o" >/dev/null; cp body.out p1.json
  code -b jar "$BASE/api/runs/1/partners?offset=$n&limit=$o" >/dev/null; cp body.out p2.json
  after=$(python3 -c 'import json; print(json.load(open("p1.json"))["partners"][-1]["partner_id"])')
  code -b jar "$BASE/api/runs/1/partners?offset=$n&after=$after&limit=$o" >/dev/null
  check "serve: the page after a partner (limit=$o)" 0 "" -- python3 -c '
import json
a, b = json.load(open("p2.json"))["partners"], json.load(open("body.out"))["partners"]
assert a and a == b, (a, b)'
done
status_is "serve: after a partner the run lacks" 400 -b jar "$BASE/api/runs/1/partners?after=nobody"

# Pages: markup in the data is text.
for p in / /run/1 "/run/1?verdict=review&sort=trust&dir=asc" "/partner/B002" "/diff?a=1&b=2" /schedules /vet; do
  status_is "serve: page $p" 200 -b jar "$BASE$p"
done
code -b jar "$BASE/run/1?q=Siam" >/dev/null
if grep -q "&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;Siam" body.out && ! grep -q "<script>alert" body.out; then
  echo "ok - serve: a partner's markup is escaped"
else
  echo "not ok - serve: a partner's markup is escaped"
fi

# An action: vet a file the server may read, and one it may not.
status_is "serve: vet a readable file" 202 -b jar -X POST -H "Origin: $BASE" \
  -d "file=$TMP/partners.csv&rules=supplier" "$BASE/api/vet"
status_is "serve: vet an unreadable file, refused" 400 -b jar -X POST -d "file=/etc/passwd" "$BASE/api/vet"
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30; do
  [ "$(qdb "SELECT count(*) FROM runs WHERE status = 'ok'")" = 3 ] && break
  sleep 1
done
check "serve: the action's run is stored" 0 "^3$" -- qdb "SELECT count(*) FROM runs WHERE scorecard = 'supplier' OR id <= 2"

# A run in progress (as `vouch vet` in another terminal leaves it while it
# goes) reaches the pages as an event, its count growing.
qdb "INSERT INTO runs(id, scorecard, scorecard_hash, started_at, status)
  SELECT 90, scorecard, scorecard_hash, started_at, 'running' FROM runs WHERE id = 1;
  INSERT INTO scores(run_id, partner_id, name, kind, total, verdict, dims, reasons)
  SELECT 90, partner_id, name, kind, total, verdict, dims, reasons FROM scores WHERE run_id = 1 LIMIT 7;"
curl -s -N -m 3 -b jar "$BASE/api/events" > events.out
# (a run on a server sends its scores when it ends: there it is running, with none yet)
grep -q '"running":\[{[^]]*"id":90' events.out && { on_pg || grep -q '"scored":7' events.out; } &&
  echo "ok - serve: a run in progress is an event" ||
  { echo "not ok - serve: a run in progress is an event"; head -c 400 events.out | sed 's/^/# /'; }
qdb "INSERT INTO scores(run_id, partner_id, name, kind, total, verdict, dims, reasons)
  SELECT 90, partner_id, name, kind, total, verdict, dims, reasons FROM scores WHERE run_id = 1 LIMIT 7 OFFSET 7"
if on_pg; then
  echo "ok - serve: its count grows # SKIP a run on a server sends its scores when it ends"
else
  curl -s -N -m 3 -b jar "$BASE/api/events" > events.out
  grep -q '"scored":14' events.out && echo "ok - serve: its count grows" ||
    { echo "not ok - serve: its count grows"; head -c 400 events.out | sed 's/^/# /'; }
fi
qdb "DELETE FROM scores WHERE run_id = 90; DELETE FROM runs WHERE id = 90"

# Ctrl-C with an event stream open: the stream ends, and so does the server.
curl -s -N -m 60 -b jar "$BASE/api/events" > held.out &
CURL=$!
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
  grep -q "event: state" held.out && break
  sleep 0.5
done
kill -INT "$SERVE_PID"
wait "$SERVE_PID"
rc=$?
wait "$CURL"
crc=$?
check "serve: Ctrl-C ends an open event stream" 0 "" -- sh -c "grep -q 'event: state' held.out && exit $crc"
check "serve: Ctrl-C stops it cleanly" 0 "stopped" -- sh -c "cat serve.out; exit $rc"

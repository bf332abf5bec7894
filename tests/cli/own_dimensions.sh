#!/bin/sh
# A scorecard with dimensions of its own (reach, reputation), end to end:
# vetted, explained, listed with its inputs, compared, reported (and drawn
# in headless Chromium) and monitored, with nothing of the bundled
# scorecard's eight dimensions showing anywhere. Its records are files, or
# databases of a server under pg_own_dimensions.sh.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/chromium.sh"
cd "$TMP" || exit 1
unset VOUCH_DB
DB=$(record own)
v() { "$VOUCH" --db "$DB" "$@"; }
qdb() { (VOUCH_DB=$DB; q "$@"); }
py() { python3 -c "import json,sys; a=json.loads(open('$1').readline()); $2"; }
mutate() { python3 "$ROOT/examples/monitoring/mutate.py" "$@" >/dev/null; }
bundled='trust|goodwill|authority|community|empathy|shared.values|respect|collaboration'

cat > own.lua <<'EOF'
local sc = require "vouch.scorecard"
return sc.scorecard {
  name = "reach_and_reputation",
  dimensions = { reach = 0.5, reputation = 0.5 },
  bands = { reject = 40, approve = 65 },
  rules = {
    { id = "AUDIENCE", dimension = "reach", reads = { "followers" },
      score = function(f) return math.min(100, f / 5000) end },
    { id = "ENGAGEMENT", dimension = "reach", reads = { "engagement_rate" },
      score = function(e) return math.min(100, e * 1500) end },
    { id = "REVIEWS", dimension = "reputation", reads = { "review_avg" },
      score = function(a) return (a - 1) * 25 end },
    { id = "SENTIMENT", dimension = "reputation", reads = { "sentiment" },
      score = function(s) return 50 + 50 * s end },
    { id = "SCANDAL", flag = "veto", reads = { "controversy_count" },
      when = function(n) return n >= 1 end },
  },
}
EOF
cp "$ROOT/examples/partners.csv" q1.csv
cp q1.csv q2.csv
mutate q2.csv 1

# Vetting and the record.
check "vet with its own dimensions" 0 '^run 1: 22 partners: .*\(scorecard reach_and_reputation\)' -- \
  v vet q1.csv --rules own.lua
check "the run's scorecard names its dimensions" 0 '^(\["reach", ?"reputation"\]|\["reputation", ?"reach"\])$' -- \
  qdb "SELECT c.dimensions FROM scorecards c JOIN runs r ON r.scorecard_hash = c.hash WHERE r.id = 1"
# SQLite's JSON functions, and the server's on the same text
len='json_array_length(dims)' each='json_each(s.reasons) j' at0="json_extract(j.value, '\$[0]')" at1="json_extract(j.value, '\$[1]')"
if on_pg; then
  len='jsonb_array_length(dims::jsonb)' each='jsonb_array_elements(s.reasons::jsonb) j' at0="j->>0" at1="j->>1"
fi
check "each score holds two dimension values" 0 '^22\|2$' -- \
  qdb "SELECT count(*), max($len) FROM scores WHERE run_id = 1"
check "vet the next quarter" 0 'reach_and_reputation' -- v vet q2.csv --rules own.lua
check "B002's veto is stored among its reasons" 0 '^reject\|SCANDAL\|veto$' -- qdb "
  SELECT s.verdict, $at0, $at1
  FROM scores s, $each WHERE s.run_id = 2 AND s.partner_id = 'B002'
    AND $at1 = 'veto'"
check "explain B002 names its own dimensions" 0 'reputation' -- v explain B002 --run 2
check "explain B002: the veto" 0 'SCANDAL' -- v explain B002 --run 2
check "runs shows what each run read" 0 '^ +2 +reach_and_reputation .*q2\.csv \(22 rows, [^)]+\)' -- v runs
check "runs: the first run read the other file" 0 '^ +1 +reach_and_reputation .*q1\.csv \(22 rows' -- v runs

# The analyst's tests of the card, on its own dimensions.
cat > own_test.lua <<'EOF'
return {
  rules = "own.lua",
  base = { id = "C", followers = 500000, engagement_rate = 0.05, review_avg = 4.6,
           sentiment = 0.5, controversy_count = 0 },
  cases = {
    { name = "wide reach and a good name are approved", verdict = "approve",
      dimensions = { reach = { 85, 90 }, reputation = { 80, 85 } } },
    { name = "a scandal is a veto", partner = { controversy_count = 1 },
      verdict = "reject", reasons = { "SCANDAL" } },
    { name = "a small audience has little reach", partner = { followers = 5000, engagement_rate = 0.01 },
      dimensions = { reach = { 0, 10 } } },
  },
}
EOF
check "vouch test: the card's cases pass" 0 '3 passed' -- "$VOUCH" test own_test.lua
sed 's/reach = { 0, 10 }/reach = { 50, 100 }/' own_test.lua > own_bad_test.lua
check "vouch test: a wrong range of its own dimension fails, named" 5 'reach 8\.00, expected' -- \
  "$VOUCH" test own_bad_test.lua

# diff, on the card's dimensions.
check "diff: B002 approve to reject" 0 'B002 +Siam Craft Coffee +approve -> reject' -- v diff 1 2
check "diff: reputation shifted" 0 '^  reputation +[0-9.]+ +[0-9.]+ +-[0-9.]+$' -- v diff 1 2
check "diff: reach unchanged" 0 '^  reach +[0-9.]+ +[0-9.]+ +\+0\.0$' -- v diff 1 2
check "diff: none of the bundled dimensions" 1 '' -- sh -c "\"$VOUCH\" --db \"$DB\" diff 1 2 | grep -Eq '$bundled'"
check "diff --fail-on reject" 5 '' -- v diff 1 2 --fail-on reject

# Reports: the card's two dimensions as bars, never an eight-axis radar.
check "report as HTML" 0 '^wrote own.html \(html report on run #2\)' -- v report --run 2 --out own.html
check "report: a chart per partner and the median, all bars" 0 '^23 0$' -- sh -c \
  'echo $(grep -o "<svg class=\"chart dimbars\"" own.html | wc -l) $(grep -o "<svg class=\"chart radar\"" own.html | wc -l)'
check "report: none of the bundled dimensions" 1 '' -- grep -Eq "$bundled" own.html
check "report JSON: the card's dimensions and medians" 0 '^reach,reputation 2 22$' -- sh -c "
  \"$VOUCH\" --db \"$DB\" report --run 2 --format json | python3 -c 'import json, sys
d = json.load(sys.stdin)
print(\",\".join(sorted(d[\"dimensions\"])), len(d[\"median\"]), len(d[\"partners\"]))'"
check "report: partner history as Markdown" 0 '^wrote b002.md' -- v report --partner B002 --out b002.md
check "report: the history table has the card's columns" 0 '^\| run \| started \| total \| verdict \| (reach \| reputation|reputation \| reach) \|$' -- \
  cat b002.md
check "report: the history's dimensions in one chart" 0 '^2$' -- sh -c 'ls b002_files | wc -l'
check "report: diff" 0 '^wrote diff.html' -- v report --diff 1 2 --out diff.html
check "report: the diff's changed partner side by side in bars" 0 '^[1-9][0-9]* 0$' -- sh -c \
  'echo $(grep -o "<svg class=\"chart dimbars\"" diff.html | wc -l) $(grep -o "<svg class=\"chart radar\"" diff.html | wc -l)'

# Runs of two scorecards that share no dimension: nothing is shifted, each
# dimension is named with the run that has it.
check "vet the same data with the bundled scorecard" 0 'run 3: 22 partners' -- v vet q2.csv
check "diff across scorecards: no shared dimension compared" 0 \
  'not compared: reach \(run 2 only\), reputation \(run 2 only\), trust \(run 3 only\)' -- v diff 2 3
check "report of a diff across scorecards" 0 '^wrote cross.json' -- v report --diff 2 3 --out cross.json
check "... draws the dimensions of both cards" 0 '^10$' -- python3 -c '
import json; print(len(json.load(open("cross.json"))["dimensions"]))'

# Monitoring: a schedule vets the live file; the second run is compared
# with the first on the card's own dimensions.
VOUCH_DB=$(record mon); export VOUCH_DB
cp q1.csv live.csv
check "schedule the card" 0 'schedule own added' -- "$VOUCH" --allow-write="$TMP" schedule add own '@yearly' cmd:vet \
  --alert "file:$TMP/alerts.jsonl" -- live.csv --rules own.lua
check "first scheduled run" 0 '' -- "$VOUCH" --allow-write="$TMP" schedule run own
mutate live.csv 1
mutate live.csv 2
check "second scheduled run" 0 '' -- "$VOUCH" --allow-write="$TMP" schedule run own
check "monitor: one alert" 0 '^1$' -- sh -c 'wc -l < alerts.jsonl'
check "monitor: B002's verdict change" 0 '^2 1 B002 approve reject$' -- py alerts.jsonl \
  "c=[x for x in a['verdict_changes'] if x['partner_id']=='B002'][0]; print(a['run_id'], a['previous_run_id'], c['partner_id'], c['from'], c['to'])"
check "monitor: drift of the total and the card's own dimensions" 0 '^reach,reputation,total$' -- py alerts.jsonl \
  "print(','.join(sorted(d['dimension'] for d in a['drift'])))"
check "monitor: reach drifted with engagement" 0 '^reach (moderate|significant)$' -- py alerts.jsonl \
  "print(*[d['dimension'] + ' ' + d['band'] for d in a['drift'] if d['dimension']=='reach'])"

if [ -z "$(chromium_bin)" ]; then
  echo "ok - own dimensions: in Chromium # SKIP chromium is not installed (apt-get install chromium)"
  exit 0
fi
# The pages drawn: every chart has a box of its own, nothing is fetched.
probe='<script>(function(){var N=String.fromCharCode(10),o=[];document.querySelectorAll("svg.chart").forEach(function(s){var b=s.getBBox(),r=s.getBoundingClientRect();o.push("chart "+s.getAttribute("class").split(" ")[1]+" "+Math.round(b.width)+" "+Math.round(b.height)+" "+Math.round(r.width)+" "+Math.round(r.height)+" "+s.querySelectorAll("rect,path,circle,line,text").length)});var p=document.createElement("pre");p.id="probe";p.textContent=N+o.join(N)+N+"resources "+performance.getEntriesByType("resource").length+N;document.body.appendChild(p)})();</script>'
for f in own diff; do
  sed -e "s|default-src 'none';|default-src 'none'; script-src 'unsafe-inline';|" \
      -e "s|</body>|$probe</body>|" "$f.html" > "$f.probe.html"
  chromium_dom "$f.probe.html" "$f.dom"
  sed -n '/<pre id="probe">/,/<\/pre>/p' "$f.dom" > "$f.probe"
  check "Chromium: $f page fetched nothing" 0 "^resources 0$" -- cat "$f.probe"
  check "Chromium: $f charts drawn with non-empty boxes" 0 "^ok [1-9]" -- awk '
    /^chart / { n++; if ($3 < 20 || $4 < 20 || $5 < 20 || $6 < 20 || $7 < 5) bad++ }
    END { print (bad ? "bad" : "ok"), n }' "$f.probe"
done
check "Chromium: bars for every partner and the median, no radar" 0 "^23 0$" -- sh -c \
  'echo $(grep -c "^chart dimbars" own.probe) $(grep -c "^chart radar" own.probe)'
chromium_shot own.html own.png 1200,2000
check "Chromium: screenshot taken" 0 "" -- test -s own.png

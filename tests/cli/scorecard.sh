#!/bin/sh
# scorecard.sh: vouch vet, explain, runs, diff and test, driven as a user
# would, exit code and output checked together; on a file's record, or on
# a server's under pg_scorecard.sh.
. "$(dirname "$0")/lib.sh"
EX=$ROOT/examples
export VOUCH_DB="${VOUCH_TEST_DB:-$TMP/vet.db}"
DB=$VOUCH_DB
v() { "$VOUCH" --db "$DB" "$@"; }

only_file "a server's database is there before anything is stored" \
  check "runs without a database: an error, and none made" 4 'no database .*vet.db: nothing has been stored there yet' -- v runs
only_file "a server's database is there before anything is stored" \
  ok "runs made no database" test ! -e "$DB"
check "vet the examples with the default rules" 0 \
  'S001 +Crimson Energy Drinks +sponsor +60\.0 +reject +goodwill +CONTROVERSY, SPONSOR_RISK' -- \
  v vet "$EX/partners.csv" "$EX/partners.json"
check "vet prints a summary" 0 '^36 partners: 22 approve, 13 review, 1 reject \(scorecard social_capital\)' -- \
  v vet --no-store "$EX/partners.csv" "$EX/partners.json"
check "vet stored one run" 0 '^1$' -- q "SELECT count(*) FROM runs"
check "the run is listed" 0 '1  social_capital  [0-9a-f]{8}  20[0-9-]+T[0-9:]+Z  ok      cli +36 +22 +13 +1' -- v runs
check "a KOL with the wrong audience is found" 0 'K001 +Dr\. Anan Skincare +kol .* review .*AUDIENCE_MISMATCH' -- \
  v vet --no-store "$EX/partners.csv"
check "last quarter's data" 0 'run 2: 36 partners: 26 approve, 10 review, 0 reject' -- v vet "$EX/last_quarter.csv"
check "diff: verdict changes between quarters" 0 'S001 +Crimson Energy Drinks +approve -> reject +76\.8 -> 60\.0' -- v diff 2 1
check "diff: largest moves and dimension shifts" 0 'goodwill +67\.6 +66\.0 +-1\.6' -- v diff 2 1
check "diff --fail-on verdict fails on a change" 5 'verdict changes: 4' -- v diff 2 1 --fail-on verdict
check "diff --fail-on reject" 5 '' -- v diff 2 1 --fail-on=reject
check "diff of a run with itself passes --fail-on" 0 'verdict changes: 0' -- v diff 1 1 --fail-on verdict
check "diff of a missing run" 1 'vouch: diff: no run 9' -- v diff 1 9
check "diff needs two runs" 2 'usage: vouch diff RUN_A RUN_B' -- v diff 1
check "explain a partner, by id" 0 'CONTROVERSY +veto +- +#1 +controversy_count=4' -- v explain S001 --run 1
check "explain a partner, by name, latest run" 0 'run 2, scorecard social_capital' -- v explain "Crimson Energy Drinks"
check "explain shows principal reasons with evidence" 0 '1\. PRICE_INFLATION \(penalty -10\.0 on the total\): market_price=1000 price_quote=2350' -- \
  v explain U005 --run 1
check "explain groups by dimension" 0 'shared_values 44\.7' -- v explain B005 --run 1
check "explain an unknown partner" 1 "vouch: explain: no score for partner 'NOPE'" -- v explain NOPE
check "explain in a missing run" 1 'vouch: explain: no run 7' -- v explain S001 --run 7
check "explain needs a partner" 2 'usage: vouch explain PARTNER' -- v explain
check "vet as JSON" 0 '"id":"S001".*"verdict":"reject"' -- v vet --no-store --format json "$EX/partners.json"
v vet --format json "$EX/partners.csv" "$EX/partners.json" >"$TMP/vet.json"
ok "vet JSON parses, with every partner, reason texts and evidence" python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
p = {x['id']: x for x in d['partners']}
assert d['scorecard'] == 'social_capital' and len(p) == 36
r = p['S001']['reasons'][0]
assert (r['code'], r['outcome'], r['text'], r['evidence']) == ('CONTROVERSY', 'veto', '4 public controversies', {'controversy_count': 4})
assert p['S001']['rank'] == 36 and p['S003']['rank'] == 1
" "$TMP/vet.json"
latin=$(printf 'lat\351.csv')
cp "$EX/partners.csv" "$TMP/$latin"
check "a data file named in another encoding is vetted" 0 'run [0-9]+: 22 partners' -- v vet "$TMP/$latin"
valid='json_valid(inputs)'
if on_pg; then valid="CASE WHEN inputs::jsonb IS NOT NULL THEN 1 ELSE 0 END"; fi
check "... its name stored as valid JSON" 0 '^1$' -- \
  q "SELECT $valid FROM runs ORDER BY id DESC LIMIT 1"
check "vet as CSV" 0 '^rank,run,partner_id,name,kind,total,verdict,weakest,trust,' -- v vet --format csv "$EX/partners.json"
check "vet as CSV: one line per partner" 0 '^1,[0-9]+,S003,Peak Sportswear,sponsor,86\.' -- v vet --format=csv "$EX/partners.json"
check "vet with another bundled scorecard" 0 'U005 .*supplier .*reject .*PRICE_INFLATION, FAIR_PRICE' -- \
  v vet --rules supplier --no-store "$EX/partners.json"
check "vet with a scorecard file" 0 'I002 +Blaze Fitness +influencer .* reject .*FAKE_ENGAGEMENT' -- \
  v vet --rules "$ROOT/scripts/influencer.lua" --no-store "$EX/partners.csv"
python3 -c "import json,sys; [print(json.dumps(r)) for r in json.load(open(sys.argv[1]))]" \
  "$EX/partners.json" >"$TMP/partners.ndjson"
check "vet NDJSON" 0 '^14 partners: 9 approve, 4 review, 1 reject' -- v vet --no-store "$TMP/partners.ndjson"
check "vet without data" 2 'vouch: vet: no data given' -- v vet
check "vet with an unknown format" 2 "unknown format 'xml'" -- v vet --format xml "$EX/partners.csv"
check "vet with an unknown file type" 2 'unknown data format' -- v vet "$ROOT/README.md"
check "vet with a missing data file" 1 'nope.csv' -- v vet "$TMP/nope.csv"
check "vet with missing rules" 1 'vouch: vet: cannot load rules: .*missing.lua: No such file or directory' -- \
  v vet --rules "$TMP/missing.lua" "$EX/partners.csv"
cat >"$TMP/broken.lua" <<'LUA'
local sc = require "vouch.scorecard"
return sc.scorecard { name = "broken", dimensions = { trust = 1 }, rules = {
  { id = "BOOM", dimension = "trust", reads = { "review_count" },
    score = function(n) if n > 300 then error("cannot score " .. n) end return n / 3 end } } }
LUA
check "a rule that fails stops the run" 1 'cannot score 420' -- v vet --rules "$TMP/broken.lua" "$EX/partners.csv"
check "the failed run is marked failed" 0 "broken +[0-9a-f]{8} .* failed .*partner 'B001': rule BOOM" -- v runs
check "the failed run keeps the whole message" 0 'partners\.csv:[0-9]+: .*cannot score 420' -- q "SELECT error FROM runs WHERE status = 'failed'"
check "a failed run keeps no scores" 0 '^0$' -- q "SELECT count(*) FROM scores s JOIN runs r ON r.id = s.run_id WHERE r.status = 'failed'"
cat >"$TMP/escape.lua" <<'LUA'
local f = io.open("/etc/passwd")
return f
LUA
check "a rules script runs sandboxed" 1 "attempt to index a nil value \(global 'io'\)" -- \
  v vet --rules "$TMP/escape.lua" "$EX/partners.csv"
cat >"$TMP/reader.lua" <<'LUA'
return vouch.script("/etc/hostname")
LUA
check "a rules script cannot read beyond what it was given" 1 '/etc/hostname: read access denied' -- \
  v vet --rules "$TMP/reader.lua" "$EX/partners.csv"
check "vet works from another directory with the bundled rules" 0 'run [0-9]+: 14 partners' -- \
  sh -c "cd / && '$VOUCH' --db '$DB' vet '$EX/partners.json'"

check "test: the bundled scorecards' tests pass with full coverage" 0 \
  'coverage social_capital: 25 of 25 rules fired \(100\.0%\)' -- v test --min-coverage 100 "$ROOT/scripts"
mkdir -p "$TMP/mine"
cp "$ROOT/scripts/social_capital.lua" "$TMP/mine/"
cat >"$TMP/mine/mine_test.lua" <<'LUA'
return {
  rules = "social_capital.lua",
  base = { id = "M1", followers = 50000, engagement_rate = 0.04, audience_overlap = 0.5,
    values_alignment = 0.8, review_count = 50, review_avg = 4.5, sentiment = 0.4,
    controversy_count = 0, endorsements_total = 2, endorsements_used = 2, price_quote = 10,
    market_price = 10, self_mention_ratio = 0.2, collabs_past = 3, collabs_successful = 3,
    response_hours = 5, community_events = 8, years_active = 5, verified = 1, mutual_connections = 30 },
  cases = {
    { name = "fine", verdict = "approve" },
    { name = "wrongly expects approval", partner = { controversy_count = 5 }, verdict = "approve",
      total = { 90, 100 } },
  },
}
LUA
check "test: a failing case shows the outcomes behind it" 5 \
  'not ok - .*mine_test.lua: wrongly expects approval: verdict reject, expected approve; total 7[0-9]\.[0-9]+, expected 90\.\.100' -- \
  v test "$TMP/mine"
check "test: the failure lists the rule outcomes" 5 '#     CONTROVERSY +veto +- +5 public controversies' -- v test "$TMP/mine"
check "test: rules no case fired are reported" 5 'never fired: .*INSINCERE_ENDORSEMENT' -- v test "$TMP/mine"
check "test: below --min-coverage fails" 5 'below --min-coverage 90' -- \
  v test --min-coverage 90 "$TMP/mine/mine_test.lua"
echo 'return 42' >"$TMP/mine/bad_test.lua"
check "test: a malformed test file" 1 'bad_test.lua: a scorecard test returns' -- v test "$TMP/mine/bad_test.lua"
check "test: nothing to run" 2 'no \*_test.lua files' -- v test "$ROOT/host"
check "test: the walkthrough's own scorecard" 0 '6 passed, 0 failed' -- v test "$ROOT/examples"
check "vet with the walkthrough's scorecard" 0 'I003 +Nok Travels +influencer +9[0-9]\.[0-9] +approve' -- \
  v vet --no-store --rules "$ROOT/examples/my_scorecard.lua" "$EX/partners.csv"
check "help vet" 0 'usage: vouch vet DATA\.\.\. \[--rules SCRIPT\]' -- "$VOUCH" help vet
check "help test" 0 'min-coverage PCT' -- "$VOUCH" help test

#!/bin/sh
# scorecard_errors.sh: what an analyst sees when their scorecard or data is
# wrong: each message names the partner, the file and line, the rule and its
# line, and what it read; slips in a spec are refused with a suggestion.
# The record is a file, or a server's under pg_scorecard_errors.sh.
. "$(dirname "$0")/lib.sh"
export VOUCH_DB="${VOUCH_TEST_DB:-$TMP/errs.db}"
DB=$VOUCH_DB
v() { "$VOUCH" --db "$DB" "$@"; }

cat >"$TMP/mine.lua" <<'LUA'
local sc = require "vouch.scorecard"
return sc.scorecard {
  name = "mine",
  dimensions = { trust = 0.5, respect = 0.5 },
  rules = {
    { id = "TRUST_REVIEWS", dimension = "trust", reads = { "review_avg" },
      score = function(avg)
        return (avg - 1) * 25
      end },
    { id = "RESPECT_YEARS", dimension = "respect", reads = { "years", "fines" },
      score = "years * 10 - fines" },
    { id = "AS_TEXT", flag = "review", reads = { "fines" }, when = "fines > 9" },
  },
}
LUA
printf 'id,name,review_avg,years,fines\nP1,One,4,3,1\nP2,Two,high,2,0\n' >"$TMP/text_review.csv"
printf 'id,name,review_avg,years,fines\nP1,One,4,3,1\nP2,Two,3,2,1\n"P3","Three\nlines",3,2,x\n' >"$TMP/text_fines.csv"

check "a function rule failing on a value names the partner, file, line, rule and value" 1 \
  "vouch: vet: .*text_review\.csv:3: partner 'P2': rule TRUST_REVIEWS \(.*mine\.lua:6\) failed: .*mine\.lua:8: .*; it read review_avg = \"high\"" -- \
  v vet --rules "$TMP/mine.lua" "$TMP/text_review.csv"
check "an expression rule failing names the rule's line, not generated code" 1 \
  "text_fines\.csv:4: partner 'P3': rule RESPECT_YEARS \(.*mine\.lua:10\) failed: attempt to [^;]*; it read years = 2, fines = \"x\"" -- \
  v vet --no-store --rules "$TMP/mine.lua" "$TMP/text_fines.csv"
ok "no line of generated code is shown" sh -c '! "$1" --db "$2" vet --no-store --rules "$3" "$4" 2>&1 | grep -q "scorecard mine:"' \
  _ "$VOUCH" "$DB" "$TMP/mine.lua" "$TMP/text_fines.csv"
printf '[{"id":"J1","review_avg":4,"years":1,"fines":0},{"id":"J2","review_avg":"n/a","years":1,"fines":0}]\n' >"$TMP/j.json"
check "a JSON row is named by its element" 1 "j\.json: element 2: partner 'J2': rule TRUST_REVIEWS" -- \
  v vet --no-store --rules "$TMP/mine.lua" "$TMP/j.json"

cat >"$TMP/nonnum.lua" <<'LUA'
local sc = require "vouch.scorecard"
return sc.scorecard { name = "nonnum", dimensions = { trust = 1 }, rules = {
  { id = "GRADE", dimension = "trust", reads = { "grade" },
    score = function(g) return g end } } }
LUA
printf 'id,grade\nG1,50\nG2,"A+"\n' >"$TMP/grades.csv"
check "a score that is not a number is named with the value" 1 \
  "grades\.csv:3: partner 'G2': rule GRADE \(.*nonnum\.lua:3\) gave string \"A\+\", where a score must be a number or nil; it read grade = \"A\+\"" -- \
  v vet --no-store --rules "$TMP/nonnum.lua" "$TMP/grades.csv"

sed 's/"review_avg" }/"review_avgg" }/' "$TMP/mine.lua" >"$TMP/typo.lua"
check "a field no column has is refused with a suggestion" 1 \
  "rule TRUST_REVIEWS reads 'review_avgg', which no column of .*text_review\.csv has \(did you mean 'review_avg'\?\)" -- \
  v vet --rules "$TMP/typo.lua" "$TMP/text_review.csv"
check "a refused field stores no run" 0 '^0$' -- \
  q "SELECT count(*) FROM runs WHERE error LIKE '%review_avgg%'"
sed 's/"review_avg" }/"review_avgg" }, optional = { "review_avgg" }/; s/(avg - 1)/((avg or 3) - 1)/' "$TMP/mine.lua" >"$TMP/opt.lua"
check "an optional field may be missing" 0 '2 partners' -- v vet --no-store --rules "$TMP/opt.lua" "$TMP/text_review.csv"
check "a misspelt field in JSON is refused too" 1 "reads 'review_avgg'.*did you mean 'review_avg'" -- \
  v vet --no-store --rules "$TMP/typo.lua" "$TMP/j.json"

sed 's/name = "mine",/name = "mine", verdikt = "strict",/' "$TMP/mine.lua" >"$TMP/topkey.lua"
check "an unknown key of a scorecard is refused" 1 "scorecard 'mine': unknown key 'verdikt'" -- \
  v vet --no-store --rules "$TMP/topkey.lua" "$TMP/text_review.csv"
sed 's/dimension = "trust", reads/dimenson = "trust", dimension = "trust", reads/' "$TMP/mine.lua" >"$TMP/rulekey.lua"
check "an unknown key of a rule is refused with a suggestion" 1 \
  "rule 'TRUST_REVIEWS': unknown key 'dimenson' \(did you mean 'dimension'\?\)" -- \
  v vet --no-store --rules "$TMP/rulekey.lua" "$TMP/text_review.csv"
cat >"$TMP/mine_test.lua" <<'LUA'
return { rules = "mine.lua", cases = {
  { name = "a good partner", partner = { id = "X", review_avg = 5, years = 9, fines = 0 },
    verdikt = "reject" } } }
LUA
check "an unknown key of a test case is refused" 1 \
  "not ok - .*mine_test\.lua: case 'a good partner': unknown key 'verdikt' \(did you mean 'verdict'\?\)" -- \
  v test "$TMP/mine_test.lua"

printf 'id,name,review_avg,years,fines\nP1,One,4,3,1\nP2,Two,3,2,1\nP1,Again,3,2,1\n' >"$TMP/twice.csv"
check "an id seen twice names both lines" 1 "twice\.csv:4: partner 'P1' appears twice \(first at .*twice\.csv:2\)" -- \
  v vet --rules "$TMP/mine.lua" "$TMP/twice.csv"
check "no raw SQL message for an id seen twice" 1 '^vouch: vet: [^"]*appears twice[^"]*$' -- \
  v vet --rules "$TMP/mine.lua" "$TMP/twice.csv"
printf 'id,name,review_avg,years,fines\nP1,One,4,3,1\n' >"$TMP/one.csv"
check "an id seen in two files names both" 1 "twice\.csv:2: partner 'P1' appears twice \(first at .*one\.csv:2\)" -- \
  v vet --no-store --rules "$TMP/mine.lua" "$TMP/one.csv" "$TMP/twice.csv"
# Far into a long file (the ids are checked in batches): the first id seen
# again is named, with both of its lines, and the run stores nothing.
awk 'BEGIN { print "id,name,review_avg,years,fines"
             for (i = 1; i <= 10000; i++) {
               id = (i == 9000) ? "Q77" : (i == 9500) ? "Q12" : "Q" i
               printf "%s,N%d,4,3,1\n", id, i } }' >"$TMP/late.csv"
runs_before=$(q "SELECT count(*) FROM runs WHERE status = 'ok'" 2>/dev/null || echo 0)
check "an id seen twice far into a file names the first repeat and both lines" 1 \
  "late\.csv:9001: partner 'Q77' appears twice \(first at .*late\.csv:78\)" -- \
  v vet --rules "$TMP/mine.lua" "$TMP/late.csv"
check "nothing of that run is kept" 0 "^$runs_before\$" -- \
  q "SELECT count(*) FROM runs WHERE status = 'ok'"
check "the same without storing" 1 "late\.csv:9001: partner 'Q77' appears twice \(first at .*late\.csv:78\)" -- \
  v vet --no-store --rules "$TMP/mine.lua" "$TMP/late.csv"
printf 'id,name,review_avg,years,fines\nP1,One,4,3,1\n,Nobody,3,2,1\n' >"$TMP/noid.csv"
check "a row without an id is refused, with its line" 1 "noid\.csv:3: a row without an id" -- \
  v vet --no-store --rules "$TMP/mine.lua" "$TMP/noid.csv"

printf 'id,grade\nG1,50\n' >"$TMP/middling.csv"
check "reasons are a JSON array even when there are none" 0 '"reasons":\[\]' -- \
  v vet --no-store --format json --rules "$TMP/nonnum.lua" "$TMP/middling.csv"
printf 'id,name,review_avg,years,fines\nP1,"Two\nlines",4,3,1\nP2,"tab\there",4,3,1\n' >"$TMP/nl.csv"
check "a name with a newline stays on its row" 0 '^1 +P1 +Two\\nlines ' -- \
  v vet --rules "$TMP/mine.lua" "$TMP/nl.csv"
check "a control character is escaped in a table" 0 '^2 +P2 +tab\\there ' -- \
  v vet --no-store --rules "$TMP/mine.lua" "$TMP/nl.csv"

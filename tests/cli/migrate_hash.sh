#!/bin/sh
# A database written at schema version 7, when a scorecard's hash was
# FNV-1a of its source, migrates to vouch.hash (XXH3-64): each scorecard
# whose source is stored is keyed by the new hash of it, and its runs with
# it, so that a new run of the same source is a run of the same scorecard
# to vet, diff and the monitor. A scorecard stored without its source
# keeps its old hash. Old runs explain as that version explained them.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
DATA=$ROOT/tests/data
sed "s|@DIR@|$TMP|g" "$DATA/record-v7.sql" | sqlite3 old.db
cp "$ROOT/examples/partners.csv" partners.csv
export VOUCH_DB="$TMP/old.db"
q() { sqlite3 old.db "$1"; }

check "the old file is at version 7, with FNV-1a hashes" 0 '^7 34558b851ad54ef3$' -- \
  q "SELECT (SELECT user_version FROM pragma_user_version) || ' ' || hash FROM scorecards
     WHERE name = 'mine'"
check "its runs are listed" 0 '^ +4 +mine +[0-9a-f]{8} .* 22 +19 +3 +0 ' -- "$VOUCH" runs
check "... and it is migrated" 0 "^$("$VOUCH" -e 'print(vouch.db.schema_version)')$" -- \
  q "PRAGMA user_version"

# (a) The stored hash of each scorecard with a source is the hash of it.
check "a stored source is keyed by its vouch.hash" 0 '^mine true$' -- "$VOUCH" -e '
  local r = vouch.db.open():one("SELECT name, hash, source FROM scorecards WHERE name = ?", "mine")
  print(r.name .. " " .. tostring(r.hash == vouch.hash(r.source) and r.hash ~= "34558b851ad54ef3"))'
check "... every one of them" 0 '^2\|0$' -- "$VOUCH" -e '
  local db = vouch.db.open()
  print(db:one("SELECT count(*) AS n FROM scorecards WHERE source IS NOT NULL").n .. "|" ..
        db:one("SELECT count(*) AS n FROM scorecards WHERE hash <> vouch_hash(source)").n)'
check "their runs follow them; one without a source keeps its hash" 0 \
  '^1\|mine\|1 2\|other\|1 3\|inline\|349332df2aa9c379 4\|mine\|1$' -- \
  q "SELECT group_concat(r.id || '|' || r.scorecard || '|' ||
       CASE WHEN c.source IS NULL THEN r.scorecard_hash ELSE 1 END, ' ')
     FROM runs r JOIN scorecards c ON c.hash = r.scorecard_hash"
check "the database is sound" 0 '^ok$' -- q "PRAGMA integrity_check"
check "no foreign key is broken" 0 '^$' -- q "PRAGMA foreign_key_check"

# (c) Old runs read back: their stored reasons (a portfolio flag's evidence
# too) and the outcomes replayed from the stored scorecard.
"$VOUCH" explain A001 --run 1 >explain-A001.txt 2>&1
ok "explain A001 of run 1 prints what the version that wrote it printed" \
  cmp explain-A001.txt "$DATA/record-v7-explain-A001.txt"

# (b) A new run of the same source on the same data is a run of the same
# scorecard: the same hash, no new scorecard row, and no change to diff.
q "SELECT writefile('card.lua', source) FROM scorecards WHERE name = 'mine'" >/dev/null
check "a new vet of the same scorecard" 0 'run 5: 22 partners: 19 approve, 3 review, 0 reject \(scorecard mine\)' -- \
  "$VOUCH" vet partners.csv --rules ./card.lua
check "... has the old runs' hash" 0 '^1\|3$' -- \
  q "SELECT (SELECT count(DISTINCT scorecard_hash) FROM runs WHERE id IN (1, 4, 5)) || '|' ||
     (SELECT count(*) FROM scorecards)"
h=$(q "SELECT substr(scorecard_hash, 1, 8) FROM runs WHERE id = 1")
check "diff: the same scorecard, nothing changed" 0 \
  "^run 1 \(mine $h, .*\) -> run 5 \(mine $h, .*\)$" -- "$VOUCH" diff 1 5
check "diff: no verdict changes" 0 '^verdict changes: 0$' -- "$VOUCH" diff 1 5
check "diff: every dimension compared" 0 '^5\|mine\|0\|2$' -- sh -c "'$VOUCH' diff 1 5 --format json |
  python3 -c \"import json, sys; d = json.load(sys.stdin); a, b = d['a'], d['b']
print(b['run'], b['scorecard'], int(a['hash'] != b['hash']) + len(d['not_compared']), len(d['dimension_shifts']), sep='|')\""
check "explain of the new run replays it" 0 'TRUST_REVIEWS +score +67\.4 +review_avg=5 review_count=3' -- \
  "$VOUCH" explain A001 --run 5

# The monitor compares the schedule's next run with its run made before the
# migration: the same scorecard, all its dimensions drift-checked.
python3 "$ROOT/examples/monitoring/mutate.py" partners.csv 1 >/dev/null
check "the schedule's next run alerts" 0 'alert +nightly run_id=6 verdicts=1 ' -- \
  "$VOUCH" --allow-write="$TMP" schedule run nightly
py() { python3 -c "import json; a = json.loads(open('alerts.jsonl').readline()); $1"; }
check "... compared with the old run, as the same scorecard" 0 '^6 4 mine B002 approve reject$' -- \
  py "c = a['verdict_changes'][0]; print(a['run_id'], a['previous_run_id'], a['scorecard'], c['partner_id'], c['from'], c['to'])"
check "... every dimension drift-checked" 0 '^total trust goodwill$' -- \
  py "print(*[d['dimension'] for d in a['drift']])"
check "... and its hash is the old run's" 0 '^1$' -- \
  q "SELECT count(DISTINCT scorecard_hash) FROM runs WHERE id IN (4, 6)"

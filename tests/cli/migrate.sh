#!/bin/sh
# A database written before the compact record (schema version 3: a column
# per dimension in scores, every outcome a row of reasons) opens, migrates
# and reads as before: runs, explain of its runs (from their stored
# reasons, exactly as that version printed them), and new runs beside them.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
DATA=$ROOT/tests/data
sqlite3 old.db < "$DATA/record-v3.sql"
v() { "$VOUCH" --db old.db "$@"; }

check "the old file is at version 3" 0 '^3$' -- sqlite3 old.db "PRAGMA user_version"
check "its runs are listed" 0 'influencer .* 22 +11 +3 +8' -- v runs
check "... and it is migrated" 0 "^$("$VOUCH" -e 'print(vouch.db.schema_version)')$" -- sqlite3 old.db "PRAGMA user_version"
check "scores keep their dimensions, in the scorecard's order" 0 \
  '^\["trust","goodwill","authority","community","empathy","shared_values","respect","collaboration"\]\|8$' -- \
  sqlite3 old.db "SELECT c.dimensions, json_array_length(s.dims) FROM scores s JOIN runs r ON
                  r.id = s.run_id JOIN scorecards c ON c.hash = r.scorecard_hash
                  WHERE s.partner_id = 'A001' AND s.run_id = 1"
check "... and their principal reasons and flags" 0 '^LOW_EVIDENCE,TRUST_TENURE,TRUST_VERIFIED,AUTHORITY_ENGAGEMENT$' -- \
  sqlite3 old.db "SELECT group_concat(j.value->>0) FROM scores s, json_each(s.reasons) j
                  WHERE s.partner_id = 'A001' AND s.run_id = 1"
check "a reason is [code, outcome, points, rank]; its rule's dimension is the scorecard's" 0 \
  '^\["LOW_EVIDENCE","review",0\.0,1\]\|trust$' -- \
  sqlite3 old.db "SELECT s.reasons->>0, c.rules->>'LOW_EVIDENCE' FROM scores s JOIN runs r ON
                  r.id = s.run_id JOIN scorecards c ON c.hash = r.scorecard_hash
                  WHERE s.partner_id = 'A001' AND s.run_id = 1"
for p in A001:1 K001:2; do
  id=${p%:*} run=${p#*:}
  v explain "$id" --run "$run" > "explain-$id.txt" 2>&1
  ok "explain $id of run $run prints what the version that wrote it printed" \
    cmp "explain-$id.txt" "$DATA/record-v3-explain-$id.txt"
done
check "a new run beside the old ones" 0 'run 3: 22 partners' -- v vet "$ROOT/examples/partners.csv"
check "explain of the new run replays it" 0 'TRUST_REVIEWS +score +67\.4 +review_avg=5 review_count=3' -- \
  v explain A001 --run 3
check "the database is sound" 0 '^ok$' -- sqlite3 old.db "PRAGMA integrity_check"
check "no foreign key is broken" 0 '^$' -- sqlite3 old.db "PRAGMA foreign_key_check"

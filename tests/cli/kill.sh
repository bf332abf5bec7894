# kill.sh: nothing is lost when a writing vouch is killed. A script writes
# runs in a loop as the commands do (the run row committed as 'running',
# then its scores, its reasons and its final status in one transaction);
# it is killed with SIGKILL at random moments, and after each kill the file
# must pass PRAGMA integrity_check and, once vouch has opened it again, every
# run must be complete (status ok with all its scores and reasons) or
# aborted with none.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1
KILLS=${KILLS:-30}
N=400   # scores per run

cat > writer.lua <<EOF
local db = vouch.db.open()
local N = $N
while true do
  local run = db:run_begin { scorecard = "kill", hash = "h" }
  local reasons = { "LOW_EVIDENCE", "review", 0, 1, false }
  db:tx(function()
    for i = 1, N do
      db:run_score(run, "P" .. i, nil, nil, i / 8, "review", nil, nil, {}, reasons)
    end
    db:run_end(run, "ok", N)
  end)
end
EOF

verify() {  # prints nothing when the database is consistent, else what is wrong
  ic=$(sqlite3 kill.db "PRAGMA integrity_check" 2>&1)
  [ "$ic" = ok ] || { echo "integrity_check: $ic"; return; }
  "$VOUCH" --db kill.db -e 'vouch.db.open()' 2>&1 || { echo "vouch could not reopen the file"; return; }
  sqlite3 kill.db "
    SELECT 'run ' || id || ' still running' FROM runs WHERE status = 'running';
    SELECT 'run ' || id || ' is ' || status || ' with ' ||
           (SELECT count(*) FROM scores WHERE run_id = runs.id) || ' scores and ' ||
           (SELECT count(*) FROM scores WHERE run_id = runs.id AND reasons <> '[]') || ' reasons'
      FROM runs
     WHERE NOT ((status = 'ok' AND partners = $N
                 AND (SELECT count(*) FROM scores WHERE run_id = runs.id) = $N
                 AND (SELECT count(*) FROM scores WHERE run_id = runs.id AND reasons <> '[]') = $N)
             OR (status = 'aborted' AND ended_at IS NOT NULL
                 AND NOT EXISTS (SELECT 1 FROM scores WHERE run_id = runs.id)));
    PRAGMA foreign_key_check;" 2>&1
}

i=1
while [ "$i" -le "$KILLS" ]; do
  "$VOUCH" --db kill.db --timeout 60 run writer.lua >/dev/null 2>&1 &
  pid=$!
  # 10 ms to 400 ms: some kills land in start-up and the first migration
  sleep "$(awk -v s="$i$$" 'BEGIN { srand(s); printf "%.3f", 0.01 + rand() * 0.39 }')"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  if [ ! -f kill.db ]; then
    echo "ok - kill $i: killed before the database was created"
  else
    bad=$(verify)
    if [ -z "$bad" ]; then
      echo "ok - kill $i: the database is intact and every run complete or aborted"
    else
      echo "not ok - kill $i:"
      printf '%s\n' "$bad" | head -n 10 | sed 's/^/# /'
    fi
  fi
  i=$((i + 1))
done

summary=$(sqlite3 kill.db "SELECT count(*) FILTER (WHERE status = 'ok') || ' complete, ' ||
  count(*) FILTER (WHERE status = 'aborted') || ' aborted' FROM runs")
echo "# $KILLS kills: runs $summary"
# The test means something only if the writer got runs through, and was cut
# short in the middle of some.
check "runs were completed between the kills" 0 '' -- \
  sh -c "test \$(sqlite3 kill.db \"SELECT count(*) FROM runs WHERE status = 'ok'\") -gt 0"
check "runs were cut short by the kills" 0 '' -- \
  sh -c "test \$(sqlite3 kill.db \"SELECT count(*) FROM runs WHERE status = 'aborted'\") -gt 0"

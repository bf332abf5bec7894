#!/bin/sh
# vet_scale.sh: `vouch vet` over many partners: the table shows the two
# ends of the ranking and the summary, JSON and CSV print every partner one
# at a time, and memory does not grow with the partners scored, with or
# without a database. Memory is checked by limit and by peak RSS, never by
# time. The records are files, or a server's under pg_vet_scale.sh.
. "$(dirname "$0")/lib.sh"
DB=${VOUCH_TEST_DB:-$TMP/scale.db}
v() { "$VOUCH" --db "$DB" "$@"; }

# partners N FILE: N partners with every field the default scorecard reads,
# the same bytes every time.
partners() { python3 "$ROOT/tests/cli/partners.py" "$1" "$2"; }

partners 100 "$TMP/p100.csv"

# --- The table: on a terminal, the two ends of the ranking, then the
# summary (script(1) gives vet a real terminal); piped, every partner.
script -qec "'$VOUCH' --db '$DB' vet '$TMP/p100.csv'" /dev/null | tr -d '\r' >"$TMP/top.out" 2>&1
check "a large run shows the first and the last 20 of the ranking" 0 '^40$' -- \
  sh -c "grep -Ec '^ *[0-9]+  P[0-9]{7} ' '$TMP/top.out'; true"
ok "the gap between them is marked" grep -Eq '^ *\.\.\.$' "$TMP/top.out"
check "the last partner shown is the last of the ranking" 0 '^100  P[0-9]{7} ' -- \
  grep -E '^100  P' "$TMP/top.out"
check "the summary follows, with what was left out" 0 \
  'shown: the first and the last 20 of the ranking \(--all shows every partner\)' -- cat "$TMP/top.out"
check "the summary counts every partner" 0 '^run 1: 100 partners: ' -- cat "$TMP/top.out"
check "--top N shows N from each end" 0 '^6$' -- \
  sh -c "'$VOUCH' --db '$DB' vet --top 3 '$TMP/p100.csv' | grep -Ec '^ *[0-9]+  P[0-9]{7} '"
check "--top N numbers the bottom by its rank" 0 '^ *98  P[0-9]{7} ' -- v vet --top 3 "$TMP/p100.csv"
check "piped, the table shows every partner" 0 '^100$' -- \
  sh -c "'$VOUCH' --db '$DB' vet '$TMP/p100.csv' | grep -Ec '^ *[0-9]+  P[0-9]{7} '"
check "--all shows every partner" 0 '^100$' -- \
  sh -c "'$VOUCH' --db '$DB' vet --all '$TMP/p100.csv' | grep -Ec '^ *[0-9]+  P[0-9]{7} '"
check "--all leaves nothing out" 0 '^0$' -- \
  sh -c "'$VOUCH' --db '$DB' vet --all '$TMP/p100.csv' | grep -c 'shown:' || true"
check "--top takes a number" 2 "vet: --top takes a whole number of partners, at least 1 \(got 'many'\)" -- \
  v vet --top many "$TMP/p100.csv"
check "--top and --all together" 2 'vet: --top and --all cannot go together' -- \
  v vet --top 3 --all "$TMP/p100.csv"

# A progress line on a terminal's stderr: the phase, the partners so far,
# the share of the input read; nothing of it when stderr is not a terminal.
partners 2100 "$TMP/p2k.csv"
PROG=$(record prog)
script -qec "'$VOUCH' --db '$PROG' vet --top 1 '$TMP/p2k.csv'" /dev/null | tr '\r' '\n' >"$TMP/prog.out"
check "on a terminal, a progress line: phase, partners, share read" 0 \
  'vet: scoring 2048 partners, [0-9]+%' -- cat "$TMP/prog.out"
check "... then the phase that stores" 0 'vet: storing 2100 partners' -- cat "$TMP/prog.out"
check "... and not the loader's own line beside it" 0 '^0$' -- \
  sh -c "grep -c 'vouch: loading' '$TMP/prog.out' || true"
check "not on a pipe" 0 '^0$' -- \
  sh -c "'$VOUCH' --db '$PROG' vet --top 1 '$TMP/p2k.csv' 2>&1 | grep -c 'vet: scoring' || true"

# Without a database the two ends are kept as the partners go by: the same
# lines as from a stored run.
"$VOUCH" --db "$DB" vet --top 4 "$TMP/p100.csv" | grep -E '^ *[0-9]+  P' >"$TMP/stored.rows"
"$VOUCH" --db "$DB" vet --no-store --top 4 "$TMP/p100.csv" | grep -E '^ *[0-9]+  P' >"$TMP/nostore.rows"
check "--no-store ranks the two ends as a stored run does" 0 '' -- cmp "$TMP/stored.rows" "$TMP/nostore.rows"
check "--no-store sums up without a run" 0 '^100 partners: ' -- v vet --no-store --top 5 "$TMP/p100.csv"

# --- JSON and CSV: every partner, one line each, in ranked order.
v vet --format json "$TMP/p100.csv" >"$TMP/vet.json"
ok "JSON parses, with every partner ranked, one per line" python3 -c "
import json, sys
text = open(sys.argv[1]).read()
d = json.loads(text)
assert [p['rank'] for p in d['partners']] == list(range(1, 101))
assert all(p['outcomes'] and p['dimensions'] for p in d['partners'])
assert all(o['text'] for p in d['partners'] for o in p['outcomes'])
lines = text.splitlines()
assert len(lines) == 102 and lines[1].startswith('{\"rank\":1,') and lines[-1] == ']}'
" "$TMP/vet.json"
check "CSV has every partner" 0 '^101$' -- \
  sh -c "'$VOUCH' --db '$DB' vet --format csv '$TMP/p100.csv' | wc -l | tr -d ' '"

# --- Memory: a stored run prints its JSON from the database, so a run far
# larger than --max-memory prints whole.
# Under valgrind, a fiftieth of the partners: what it checks there is the
# memory's correctness, not its bound (which the RSS checks skip anyway).
MID=20000 BIG=200000
case "${VALGRIND:-0}:$VOUCH" in 1:*|*/vg/*) MID=400 BIG=4000 ;; esac
partners $MID "$TMP/p20k.csv"
check "JSON of a run larger than the memory limit is written as it is read" 0 '^\]\}$' -- \
  sh -c "'$VOUCH' --db '$(record json)' --max-memory 24M vet --format json '$TMP/p20k.csv' | tail -n 1"

# Peak RSS allowed: the limit below plus the host's fixed cost (Lua,
# SQLite's page cache, libuv's threads; see trust_limits.sh), generously.
RSS_LIMIT_KIB=$((200 * 1024))

# rss_check NAME CODE PATTERN CMD...: as check, and the peak resident set
# of CMD (getrusage of the children, KiB) within RSS_LIMIT_KIB. Under
# valgrind or the sanitizers RSS means nothing: that part is skipped.
rss_check() {
  _name=$1 _code=$2 _pat=$3; shift 3
  _kib=$(python3 -c '
import resource, subprocess, sys
with open(sys.argv[1], "w") as out:
    rc = subprocess.call(sys.argv[2:], stdout=out, stderr=subprocess.STDOUT)
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$TMP/rss.out" "$@")
  check "$_name" "$_code" "$_pat" -- sh -c "cat '$TMP/rss.out'; exit ${_kib%% *}"
  case "${VALGRIND:-0}:$VOUCH" in
    1:*|*-san*|*/vg/*) echo "ok - $_name: peak RSS # SKIP not measured under sanitizers/valgrind"; return ;;
  esac
  _kib=${_kib#* }
  if [ -n "$_kib" ] && [ "$_kib" -le "$RSS_LIMIT_KIB" ]; then
    echo "ok - $_name: peak RSS"
  else
    echo "not ok - $_name: peak RSS ${_kib:-?} KiB, more than $RSS_LIMIT_KIB KiB"
  fi
}

partners $BIG "$TMP/p200k.csv"
rss_check "vet --no-store of 200,000 partners stays within --max-memory 128M" 0 \
  "^$BIG partners: [0-9]+ approve" \
  "$VOUCH" --db "$DB" --max-memory 128M vet --no-store --top 20 "$TMP/p200k.csv"

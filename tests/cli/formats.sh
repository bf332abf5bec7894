#!/bin/sh
# formats.sh: every command that prints records (runs, explain, diff, cron
# next) prints them as a table, JSON (that parses) or CSV; tables fit
# COLUMNS, escape control characters and colour only when asked; explain
# finds a partner regardless of case, suggests one, and names the fields an
# indeterminate rule missed. On a file's record, or on a server's under
# pg_formats.sh.
. "$(dirname "$0")/lib.sh"

cd "$TMP" || exit 1
export VOUCH_DB="${VOUCH_TEST_DB:-$TMP/f.db}"
DATA=$ROOT/examples/partners.csv
# a second input: one partner with a newline in its name and no sentiment
awk -F, -v OFS=, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "sentiment") s = i; print; next }
  NR == 2 { $2 = "\"Two\nLines\""; $s = "" } { print }' "$DATA" >"$TMP/b.csv"
"$VOUCH" vet "$DATA" >/dev/null 2>&1 && "$VOUCH" vet "$TMP/b.csv" >/dev/null 2>&1 ||
  echo "not ok - the two runs were stored"
id=$(sed -n 2p "$DATA" | cut -d, -f1)
low=$(printf '%s' "$id" | tr 'A-Z' 'a-z')

json() {  # NAME PYTHON-CHECK -- CMD...: the output parses as JSON and passes the check
  _n=$1 _py=$2; shift 3
  if "$@" 2>"$TMP/err" | python3 -c "import json, sys; d = json.load(sys.stdin); assert $_py, d" 2>"$TMP/py"
  then echo "ok - $_n"
  else echo "not ok - $_n"; cat "$TMP/err" "$TMP/py" | tail -n 5 | sed 's/^/# /'; fi
}
json "runs --format json parses: an array of runs" "len(d) == 2 and d[0]['run'] == 2 and d[1]['approve'] > 0" \
  -- "$VOUCH" runs --format json
json "explain --format json parses" "d['partner_id'] == '$id' and d['run'] == 2 and len(d['outcomes']) > 0" \
  -- "$VOUCH" explain "$id" --format json
json "diff --format json parses" "d['a']['run'] == 1 and d['b']['run'] == 2 and isinstance(d['moves'], list)" \
  -- "$VOUCH" diff 1 2 --format json
if "$VOUCH" cron next '0 2 * * *' --count 3 --tz Europe/Berlin --format json |
   python3 -c 'import json, sys; rows = [json.loads(l) for l in sys.stdin]; assert len(rows) == 3 and rows[0]["tz"] == "Europe/Berlin"'
then echo "ok - cron next --format json: JSON Lines, one a fire time"
else echo "not ok - cron next --format json: JSON Lines, one a fire time"; fi

check "runs --format csv" 0 "^run,scorecard,hash,started,status,by,partners" -- "$VOUCH" runs --format csv
check "explain --format csv" 0 "^rule,dimension,outcome,points,rank,missing,evidence" \
  -- "$VOUCH" explain "$id" --format csv
check "diff --format csv" 0 "^kind,partner,name,before,after,change" -- "$VOUCH" diff 1 2 --format csv
check "cron next --format csv" 0 "^utc,local" -- "$VOUCH" cron next '@daily' --format csv
check "an unknown format is a usage error" 2 "vouch: runs: unknown format 'yaml' \(table, json or csv\)" \
  -- "$VOUCH" runs --format yaml

# explain: case, suggestions, the fields an indeterminate rule missed, and
# a name's newline shown escaped
check "explain: the id regardless of case" 0 "^$id " -- "$VOUCH" explain "$low"
check "explain: did you mean" 1 "no score for partner '${id}x' \(did you mean '$id'\?\)" \
  -- "$VOUCH" explain "${id}x"
check "explain: indeterminate names what is missing" 0 "GOODWILL_SENTIMENT \(indeterminate: sentiment missing\)" \
  -- "$VOUCH" explain "$id" --run 2
check "explain: a newline in a name is escaped" 0 "^$id  Two\\\\nLines " -- "$VOUCH" explain "$id" --run 2

# tables fit COLUMNS, cut with an ellipsis; colour only when asked
out=$(COLUMNS=80 "$VOUCH" runs)
if printf '%s\n' "$out" | python3 -c 'import sys; sys.exit(any(len(l.rstrip("\n")) > 79 for l in sys.stdin))' \
   && printf '%s\n' "$out" | grep -q '…'; then echo "ok - runs fits COLUMNS=80, cells cut with …"
else echo "not ok - runs fits COLUMNS=80"; printf '%s\n' "$out" | sed 's/^/# /'; fi
esc=$(printf '\033')
check "--color=always colours the header" 0 "${esc}\[1mrun" -- "$VOUCH" --color=always runs
out=$("$VOUCH" runs; NO_COLOR=1 "$VOUCH" --color=auto runs)
if printf '%s' "$out" | grep -q "$esc"; then echo "not ok - no colour when piped or with NO_COLOR"
else echo "ok - no colour when piped or with NO_COLOR"; fi
check "a bad --color" 2 "bad --color 'sometimes'" -- "$VOUCH" --color=sometimes runs
# vet's ranking too, on a terminal's width, its verdicts coloured
out=$(COLUMNS=70 "$VOUCH" --color=always vet "$ROOT/examples/partners.csv" --top 3)
if printf '%s\n' "$out" | sed "s/${esc}\[[0-9;]*m//g" | python3 -c '
import sys; t = sys.stdin.read().split("\n\n")[0]; sys.exit(any(len(l) > 69 for l in t.split("\n")))' &&
   printf '%s\n' "$out" | grep -q "${esc}\[32mapprove${esc}\[0m"; then
  echo "ok - vet fits COLUMNS=70 and colours its verdicts"
else echo "not ok - vet fits COLUMNS=70 and colours its verdicts"; printf '%s\n' "$out" | sed 's/^/# /'; fi

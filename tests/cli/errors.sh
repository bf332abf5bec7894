#!/bin/sh
# errors.sh: errors for people. Each user error below is run once and must
# exit with the documented code, say what and why (`vouch: CMD: WHAT: WHY`)
# and print no traceback of vouch's own code; --verbose and VOUCH_DEBUG=1
# bring the traceback back. The exit codes in `vouch --help` are the
# README's. The record is a file, or a server's under pg_errors.sh.
. "$(dirname "$0")/lib.sh"

cd "$TMP" || exit 1
export VOUCH_DB="${VOUCH_TEST_DB:-$TMP/e.db}"
unset DISPLAY WAYLAND_DISPLAY
DATA=$ROOT/examples/partners.csv

# err NAME CODE PATTERN -- CMD...: check, and no traceback, in one run
err() {
  _n=$1; shift
  check "$_n" "$@"
  if printf '%s\n' "$_out" | grep -q 'stack traceback\|\[vouch\]/'; then
    echo "not ok - $_n: a traceback"; printf '%s\n' "$_out" | head -n 8 | sed 's/^/# /'
  else echo "ok - $_n: no traceback"; fi
}

if on_pg; then
  for n in "--db in a missing folder" "--db in a missing folder: no traceback"; do
    echo "ok - $n # SKIP SQLite files only"
  done
  # A server's own ways to be out of reach: no such database on it, and
  # no server at all; a password in the URI is never shown.
  err "--db naming no database of the server" 4 \
    "^vouch: runs: cannot open the record on postgresql://vouch:\*\*\*@/nosuch\?host=.*: .*database \"nosuch\" does not exist" \
    -- "$VOUCH" --db "postgresql://vouch:s3cret@/nosuch?host=$PG_DIR&port=$PG_PORT" runs
  if printf '%s\n' "$_out" | grep -q s3cret; then echo "not ok - the URI's password was shown"
  else echo "ok - the URI's password is not shown"; fi
  err "--db naming a server out of reach" 4 \
    "^vouch: runs: cannot open the record on postgresql://vouch@/vouch\?host=$TMP/nosock&port=$PG_PORT: .*No such file or directory" \
    -- "$VOUCH" --db "postgresql://vouch@/vouch?host=$TMP/nosock&port=$PG_PORT" runs
else
  err "--db in a missing folder" 4 \
    "^vouch: runs: cannot open the database /nonexistent/dir/x.db: there is no folder /nonexistent/dir" \
    -- "$VOUCH" --db /nonexistent/dir/x.db runs
fi
err "vet: a missing data file is exit 1" 1 "^vouch: vet: nosuch.csv: No such file or directory" \
  -- "$VOUCH" vet nosuch.csv
err "test: a missing path is exit 1, as for vet" 1 "^vouch: test: nosuchdir: No such file or directory" \
  -- "$VOUCH" test nosuchdir
mkdir -p "$TMP/folder"
err "vet: a directory as input" 1 "^vouch: vet: $TMP/folder: is a directory" \
  -- "$VOUCH" vet "$TMP/folder"
err "--rules nosuch names the bundled scorecards" 1 \
  "^vouch: vet: cannot load rules: no scorecard 'nosuch' is bundled .*influencer, social_capital, supplier" \
  -- "$VOUCH" vet "$DATA" --rules nosuch
err "--rules in a missing folder" 1 "^vouch: vet: cannot load rules: /nodir/r.lua: No such file or directory" \
  -- "$VOUCH" vet "$DATA" --rules /nodir/r.lua
err "vet --out into a missing folder" 1 "^vouch: vet: nodir/v.xlsx: its folder does not exist" \
  -- "$VOUCH" vet "$DATA" --format xlsx --out nodir/v.xlsx
# The report reads the run that vet stored before its --out failed, or one
# made here.
if on_pg; then [ "$(q "SELECT count(*) FROM runs")" != 0 ]; else [ -f "$TMP/e.db" ]; fi ||
  "$VOUCH" vet "$DATA" >/dev/null 2>&1
err "report --out into a missing folder" 1 "^vouch: report: nodir/r.html: its folder does not exist" \
  -- "$VOUCH" report --out nodir/r.html
check "--verbose: the traceback" 1 "stack traceback" -- "$VOUCH" --verbose report --out nodir/r.html
check "VOUCH_DEBUG=1: the traceback" 1 "cmd.report.lua:[0-9]+: nodir/r.html" \
  -- env VOUCH_DEBUG=1 "$VOUCH" report --out nodir/r.html

# --open never claims to have opened what it could not
err "report --open without a display: says so, names the file" 0 "hint: open r.html in a browser by hand" \
  -- "$VOUCH" report --out r.html --open
if printf '%s\n' "$_out" | grep -q '^opened'; then echo "not ok - --open claimed to open"
else echo "ok - --open did not claim to open"; fi
mkdir -p "$TMP/bin" && printf '#!/bin/sh\nexit 3\n' >"$TMP/bin/xdg-open" && chmod +x "$TMP/bin/xdg-open"
err "report --open: the opener found no browser" 0 "not opened: xdg-open found no browser" \
  -- env DISPLAY=:99 PATH="$TMP/bin:$PATH" "$VOUCH" report --out r.html --open

# The exit codes: one table, the same in --help and the README.
help=$("$VOUCH" --help | sed -n '/^Exit codes:/,$p' | tail -n +2 |
  awk '/^  [0-9]/ { if (l) print l; l = $0; next } { sub(/^ +/, " "); l = l $0 } END { print l }' |
  sed 's/^  \([0-9]\)  /\1 /')
readme=$(sed -n 's/^| \([0-9]\) | \(.*\) |$/\1 \2/p' "$ROOT/README.md" | tr -d '`')
if [ -n "$help" ] && [ "$help" = "$readme" ]; then echo "ok - the exit codes of --help are the README's"
else echo "not ok - the exit codes of --help are the README's"; printf '%s\n---\n%s\n' "$help" "$readme" | sed 's/^/# /'; fi

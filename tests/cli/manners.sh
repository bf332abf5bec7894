#!/bin/sh
# manners.sh: the command line behaves as one tool. Every command and
# subcommand in the table (stdlib/cmd/commands.lua) answers --help with a
# usage line and an example, the same page as `vouch help CMD`; a bogus
# option is exit 2 with the closest one suggested; the commands done in C
# are the commands in the table.
. "$(dirname "$0")/lib.sh"

cd "$TMP" || exit 1
export VOUCH_DB="$TMP/never.db"

names=$("$VOUCH" help --names 2>&1)
if [ -n "$names" ]; then echo "ok - help --names lists the table"
else echo "not ok - help --names lists the table"; fi

printf '%s\n' "$names" | while read -r cmd sub; do
  label="$cmd${sub:+ $sub}"
  # shellcheck disable=SC2086
  page=$("$VOUCH" $cmd $sub --help 2>&1); rc=$?
  if [ "$rc" -eq 0 ] && printf '%s\n' "$page" | head -n 1 | grep -q "^usage: vouch $label" \
     && printf '%s\n' "$page" | grep -q '^Example:'; then
    echo "ok - $label --help: exit 0, usage line, example"
  else
    echo "not ok - $label --help: exit $rc"; printf '%s\n' "$page" | head -n 5 | sed 's/^/# /'
  fi
  # shellcheck disable=SC2086
  help=$("$VOUCH" help $cmd $sub 2>&1)
  if [ "$help" = "$page" ]; then echo "ok - help $label is $label --help"
  else echo "not ok - help $label is $label --help"; fi
  # shellcheck disable=SC2086
  check "$label --bogus: exit 2, named" 2 "vouch: $label: unknown option '--bogus'" \
    -- "$VOUCH" $cmd $sub --bogus
  [ -f "$TMP/never.db" ] && { echo "not ok - $label --bogus made a database"; rm -f "$TMP/never.db"; }
done

# every option a page lists is one the command takes (C or Lua): given
# with a value it is never "unknown"
check "did you mean: a slip in a command's option" 2 "did you mean '--limit'" -- "$VOUCH" runs --limt 3
check "did you mean: a global option after the command" 2 "did you mean '--db'" -- "$VOUCH" runs --dbb x
check "did you mean: before the command" 2 "unknown option '--tursted' \(did you mean '--trusted'\?\)" \
  -- "$VOUCH" --tursted runs
check "did you mean: a command" 2 "unknown command 'hlep' \(did you mean 'help'\?\)" -- "$VOUCH" hlep
check "did you mean: a subcommand" 2 "did you mean 'list'" -- "$VOUCH" schedule lsit
check "did you mean: daemon (C)" 2 "did you mean '--poll'" -- "$VOUCH" daemon --pol 5
check "did you mean: run (C)" 2 "did you mean '--timeout'" -- "$VOUCH" run --timout 5 x.lua
check "schedule list takes no --json" 2 "unknown option '--json'" -- "$VOUCH" schedule list --json
check "repl --help" 0 "^usage: vouch repl" -- "$VOUCH" repl --help
check "run --help" 0 "^usage: vouch run" -- "$VOUCH" run --help
check "help options: the global options, once" 0 "--allow-net HOSTS" -- "$VOUCH" help options
check "--help: the exit codes" 0 "6  another daemon" -- "$VOUCH" --help
out=$("$VOUCH" help vet)
if printf '%s\n' "$out" | grep -q -- '--allow-net'; then echo "not ok - help vet does not repeat the global options"
else echo "ok - help vet does not repeat the global options"; fi
for o in --rules --format --out --top --all --no-store; do
  if printf '%s\n' "$out" | head -n 1 | grep -q -- "$o"; then echo "ok - vet's usage line has $o"
  else echo "not ok - vet's usage line has $o"; fi
done

# the commands host/main.c runs are the table's, and the other way round
c_names=$(sed -n '/^static const command commands\[\]/,/^};/s/^  {"\([a-z]*\)".*/\1/p' \
  "$ROOT/host/main.c" | sort | tr '\n' ' ')
t_names=$(printf '%s\n' "$names" | grep -v ' ' | sort | tr '\n' ' ')
if [ "$c_names" = "$t_names" ]; then echo "ok - main.c and the table name the same commands"
else echo "not ok - main.c and the table name the same commands: '$c_names' vs '$t_names'"; fi

# the options the daemon's help lists are the ones sched.c takes
for o in $("$VOUCH" help daemon | sed -n 's/^  \(--[a-z-]*\) .*/\1/p'); do
  grep -q "\"$o\"" "$ROOT/host/sched.c" && echo "ok - daemon $o is parsed in sched.c" \
    || echo "not ok - daemon $o is parsed in sched.c"
done
[ -f "$TMP/never.db" ] && echo "not ok - help made a database" || echo "ok - help made no database"

# Errors for people: what and why, no traceback, the documented exit code;
# commands that only read the database never create one.
noteb() {  # NAME CODE PATTERN -- CMD...: check, and no traceback, in one run
  _n=$1; shift
  check "$_n" "$@"
  if printf '%s\n' "$_out" | grep -q 'stack traceback\|\[vouch\]/'; then echo "not ok - $_n: a traceback"
  else echo "ok - $_n: no traceback"; fi
}
mkdir -p "$TMP/empty" && cd "$TMP/empty" || exit 1
unset VOUCH_DB
for c in runs "explain P1" "diff 1 2" report "schedule list" "schedule history"; do
  # shellcheck disable=SC2086
  noteb "$c without a database: says none is there" 4 "no database vouch.db: nothing has been stored" \
    -- "$VOUCH" $c
  [ -f vouch.db ] && { echo "not ok - $c created vouch.db"; rm -f vouch.db; } \
    || echo "ok - $c created no vouch.db"
done
noteb "vet --db in a missing folder" 4 "there is no folder /nonexistent/dir" \
  -- "$VOUCH" --db /nonexistent/dir/x.db vet "$ROOT/examples/partners.csv"
noteb "--db a folder" 4 "cannot open the database $TMP: it is a folder" -- "$VOUCH" --db "$TMP" runs
noteb "read-only hint repeats --db" 4 "vouch --db $TMP/empty/none.db vet DATA" \
  -- "$VOUCH" --db "$TMP/empty/none.db" runs
[ -f "$TMP/empty/none.db" ] && echo "not ok - runs --db created the file" || echo "ok - runs --db created no file"
check "vet's explain hint repeats --db" 0 "explain one: vouch --db $TMP/v.db explain PARTNER --run 1" \
  -- "$VOUCH" vet --db "$TMP/v.db" "$ROOT/examples/partners.csv"
noteb "explain with the hint's --db finds the run" 1 "no score for partner 'PARTNER' in run 1" \
  -- "$VOUCH" --db "$TMP/v.db" explain PARTNER --run 1
[ -f vouch.db ] && echo "not ok - following the hint made ./vouch.db" || echo "ok - following the hint made no ./vouch.db"

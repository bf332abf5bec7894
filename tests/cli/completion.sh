#!/bin/sh
# completion.sh: `vouch completion bash|zsh|fish` prints scripts made from
# the command table that the shells accept, and bash's completes commands,
# subcommands and options; `make install` installs the manual page made
# from the same table, which man reads.
. "$(dirname "$0")/lib.sh"

cd "$TMP" || exit 1
"$VOUCH" completion bash >vouch.bash 2>&1
ok "completion bash: bash -n accepts it" bash -n vouch.bash
# complete WORDS...: COMPREPLY after completing the last word, space-separated
cat >complete.bash <<'SH'
. ./vouch.bash
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _vouch; echo "${COMPREPLY[*]}"
SH
got=$(bash complete.bash vouch "")
case " $got " in *" vet "*" completion "*) echo "ok - bash: the commands" ;;
  *) echo "not ok - bash: the commands: '$got'" ;; esac
got=$(bash complete.bash vouch vet --r)
[ "$got" = "--rules" ] && echo "ok - bash: a command's option" || echo "not ok - bash: a command's option: '$got'"
got=$(bash complete.bash vouch cron "")
[ "$got" = "next" ] && echo "ok - bash: a subcommand" || echo "not ok - bash: a subcommand: '$got'"
got=$(bash complete.bash vouch schedule add x --ov)
[ "$got" = "--overlap" ] && echo "ok - bash: a subcommand's option" || echo "not ok - bash: a subcommand's option: '$got'"
got=$(bash complete.bash vouch runs --d)
[ "$got" = "--db" ] && echo "ok - bash: a global option" || echo "not ok - bash: a global option: '$got'"
for sh in zsh fish; do
  "$VOUCH" completion $sh >"vouch.$sh" 2>&1
  if command -v $sh >/dev/null 2>&1; then ok "completion $sh: $sh -n accepts it" $sh -n "vouch.$sh"
  else echo "ok - completion $sh: $sh -n accepts it # SKIP no $sh"; fi
done
check "completion: an unknown shell" 2 "unknown shell 'tcsh' \(bash, zsh or fish\)" -- "$VOUCH" completion tcsh

# the manual page: every command of the table in it; installed by make
"$VOUCH" help --man >vouch.1
missing=$("$VOUCH" help --names | while read -r c s; do
  grep -q "^\.SS $c${s:+ $s}\$" vouch.1 || echo "$c${s:+ $s}"; done)
[ -z "$missing" ] && echo "ok - the man page has every command" || echo "not ok - the man page lacks: $missing"
if ! command -v man >/dev/null 2>&1; then
  echo "ok - man -l reads the installed page # SKIP no man (make deps installs man-db)"
elif [ ! -x "$ROOT/vouch" ]; then
  out=$(MANWIDTH=80 man -l vouch.1 2>&1)
  printf '%s\n' "$out" | grep -q "vouch completion bash|zsh|fish" && echo "ok - man -l reads the page" \
    || echo "not ok - man -l reads the page"
  echo "ok - make install puts vouch.1 in PREFIX # SKIP no ./vouch built to install"
else
  # -o vouch: install the binary that is there, without relinking it
  make -s -C "$ROOT" -B -o vouch vouch.1 >make.log 2>&1 &&
    make -s -C "$ROOT" -o vouch install PREFIX="$TMP/prefix" >>make.log 2>&1
  ok "make install: the binary" test -x "$TMP/prefix/bin/vouch"
  out=$(MANWIDTH=80 man -l "$TMP/prefix/share/man/man1/vouch.1" 2>&1)
  printf '%s\n' "$out" | grep -q "vouch completion bash|zsh|fish" && echo "ok - man -l reads the installed page" \
    || { echo "not ok - man -l reads the installed page"; printf '%s\n' "$out" | head -n 5 | sed 's/^/# /'; }
fi

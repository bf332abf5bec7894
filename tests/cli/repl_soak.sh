#!/bin/sh
# repl_soak.sh: one REPL, through a real pseudo-terminal, for
# REPL_SOAK_STATEMENTS statements (default 1500; `make soak` runs 10000):
# values, errors, memory and time limits tripped, tasks spawned and
# cancelled, tasks left to finish in the background, .load, JSON. Every
# 100 statements the REPL's RSS and open descriptors (/proc) and its
# memory account (.mem) are sampled; after the first quarter (warm-up)
# none may grow beyond a generous bound. A statement after one that ran
# out of time gets its whole --timeout: it sleeps for half of it.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1
case "${VALGRIND:-0}:$VOUCH" in  # its limits are timed: valgrind's pace trips them
  1:*|*/vg/*) echo "ok - the REPL soak # SKIP under valgrind (its statements' limits are timed)"; exit 0 ;;
esac
HARNESS="$ROOT/tests/pty_harness.py"
export VOUCH_HISTORY="$TMP/history"
N=${REPL_SOAK_STATEMENTS:-1500}
T=1   # --timeout, seconds

echo 'loads = (loads or 0) + 1 print("loaded " .. loads)' > inc.lua
: > stats
: > mem

# The scenario: each statement prints a line its expect alone matches (the
# terminal echoes the statement, so no pattern is the statement's text).
awk -v n="$N" -v dir="$TMP" '
function stmt(s, rx) { printf "send %s\\r\nexpect %s\n", s, rx }
BEGIN {
  print "expect vouch>"
  for (i = 1; i <= n; i++) {
    k = i % 10
    if (i % 100 == 0) {
      printf "send .mem\\r\nrecord %s/mem ^([0-9]+) bytes charged\n", dir
      printf "stats %s/stats\n", dir
    } else if (i % 250 == 0) {
      stmt("while true do end", "^time limit exceeded")
      stmt("vouch.sleep(" 500 * 1 ") print(\"after \" .. " i ")", "^after " i "$")
    } else if (k == 0) stmt("print(\"v \" .. " i ")", "^v " i "$")
    else if (k == 1) stmt("error(\"boom \" .. " i ")", "^stdin:1: boom " i "$")
    else if (k == 2) stmt("local t = {} for j = 1, 1e9 do t[j] = (\"x\"):rep(4096) .. j end", "^memory limit exceeded")
    else if (k == 3) stmt("local t = vouch.spawn(function() vouch.sleep(60000) end) t:cancel() print(\"task \" .. " i " .. \" \" .. t:status())", "^task " i " cancelled$")
    else if (k == 4) stmt("vouch.spawn(function() vouch.sleep(1) end) print(\"bg \" .. " i ")", "^bg " i "$")
    else if (k == 5) stmt(".load " dir "/inc.lua", "^loaded [0-9]+$")
    else if (k == 6) stmt("print(#vouch.json.encode({ " i ", (\"y\"):rep(5000) }) .. \" json\")", "^50[0-9][0-9] json$")
    else if (k == 7) stmt("local g = {} for j = 1, 2000 do g[j] = { j } end print(\"garbage \" .. " i ")", "^garbage " i "$")
    else if (k == 8) stmt("print(\"all \" .. vouch.all({ function() vouch.sleep(1) return " i " end }))", "^all " i "$")
    else stmt("x = (x or 0) + 1 print(\"x \" .. " i ")", "^x " i "$")
  }
  print "send .exit\\r"
  print "eof"
}' > scenario

# Bounded however slow the machine: 60 s per wait, the whole run by timeout.
if _err=$(timeout $((N / 5 + 120)) python3 "$HARNESS" --timeout 60 -- \
    "$VOUCH" repl --timeout=$T --max-memory=16M --allow-read="$TMP" < scenario 2>&1); then
  echo "ok - $N statements ran, each answered in turn"
else
  echo "not ok - $N statements ran, each answered in turn"
  printf '%s\n' "$_err" | tail -n 30 | sed 's/^/# /'
fi

samples=$(wc -l < stats)
check "samples were taken ($samples)" 0 '' -- test "$samples" -ge 4
[ "$samples" -ge 4 ] || exit 0   # the bounds below would hold vacuously
warm=$((samples / 4 + 1))
tail -n +"$warm" stats > late
tail -n +"$warm" mem > mlate
r0=$(head -n 1 late | cut -d' ' -f1); rmax=$(sort -n -k1 late | tail -n 1 | cut -d' ' -f1)
f0=$(head -n 1 late | cut -d' ' -f2); fmax=$(sort -n -k2 late | tail -n 1 | cut -d' ' -f2)
m0=$(head -n 1 mlate); mmax=$(sort -n mlate | tail -n 1)
echo "# RSS KiB: first $(head -n 1 stats | cut -d' ' -f1), after warm-up $r0, max $rmax;" \
     "fds $f0 -> $fmax; account bytes $(head -n 1 mem) -> $m0 -> $mmax"
# Bounds: RSS within 25% or 8 MiB of the warm value (malloc keeps what a
# 16 MiB statement freed); descriptors exactly as many; the account, each
# statement's garbage collected as it ends, within 1 MiB.
check "RSS does not grow after warm-up ($r0 -> $rmax KiB)" 0 '' -- \
  awk -v a="$r0" -v b="$rmax" 'BEGIN { exit !(b <= a * 1.25 || b <= a + 8192) }'
check "open descriptors do not grow ($f0 -> $fmax)" 0 '' -- test "$fmax" -le "$f0"
check "the memory account does not grow ($m0 -> $mmax bytes)" 0 '' -- \
  awk -v a="$m0" -v b="$mmax" 'BEGIN { exit !(b <= a + 1048576) }'

#!/bin/sh
# --trusted runs the main chunk as stock Lua 5.4 does: each snippet's output
# (stdout and stderr, thread addresses masked) is compared with lua5.4's.
# Sandboxed scripts differ where the README says (they run as tasks), but
# a yield at the top level is an error pcall catches there too.
. "$(dirname "$0")/lib.sh"

mask() { sed -e 's/0x[0-9a-f]*/ADDR/g' -e 's/^lua5\.4: /PROG: /' -e 's/^vouch: /PROG: /' \
             -e '/^\t\[C\]: in ?$/d'; }

snippets='print(coroutine.running())
print(select(2, coroutine.running()), coroutine.isyieldable())
print(pcall(coroutine.yield)) print("after")
print(pcall(coroutine.yield, 1, 2))
print(coroutine.status(coroutine.running()))
print(coroutine.resume(coroutine.running()))
print(pcall(coroutine.close, coroutine.running()))
print(coroutine.wrap(function() return coroutine.isyieldable(), select(2, coroutine.running()) end)())
print(coroutine.resume(coroutine.create(function() return coroutine.yield(7) end)))
warn("not shown") warn("@on") warn("shown") warn("in ", "pieces") warn("@off") warn("hidden")
warn("@on") warn("@bogus") warn("after a bad control")'

if ! command -v lua5.4 >/dev/null 2>&1; then
  echo "ok - trusted main chunk as lua5.4 # SKIP lua5.4 is not installed (make deps)"
else
  printf '%s\n' "$snippets" | while IFS= read -r code; do
    want=$(cd "$TMP" && lua5.4 -e "$code" 2>&1 | mask)
    got=$(cd "$TMP" && "$VOUCH" --trusted -e "$code" 2>&1 | mask)
    if [ "$got" = "$want" ]; then echo "ok - trusted -e as lua5.4: $code"
    else
      echo "not ok - trusted -e as lua5.4: $code"
      printf 'want: %s\ngot:  %s\n' "$want" "$got" | sed 's/^/# /'
    fi
  done
  # The same as a script file under vouch run --trusted.
  printf '%s\n' "$snippets" > "$TMP/stock.lua"
  want=$(cd "$TMP" && lua5.4 stock.lua 2>&1 | mask)
  got=$(cd "$TMP" && "$VOUCH" run --trusted stock.lua 2>&1 | mask)
  if [ "$got" = "$want" ]; then echo "ok - run --trusted FILE as lua5.4 FILE"
  else
    echo "not ok - run --trusted FILE as lua5.4 FILE"
    printf '%s\n' "$want" > "$TMP/want"; printf '%s\n' "$got" > "$TMP/got"
    diff "$TMP/want" "$TMP/got" | sed 's/^/# /'
  fi
fi

# Async calls still work from the trusted main chunk and its coroutines.
check "trusted: async calls in the main chunk and in a coroutine" 0 '^in co	true	ok$' -- \
  "$VOUCH" --trusted -e 'vouch.sleep(1) print(coroutine.wrap(function() vouch.sleep(1) return "in co" end)(), select(2, coroutine.running()), "ok")'
check "trusted: a spawned task is a task, not the main thread" 0 '^false	false$' -- \
  "$VOUCH" --trusted -e 'print(vouch.spawn(function() return select(2, coroutine.running()), coroutine.isyieldable() end):wait())'

# Sandboxed: the script is a task (running() says so) but no yield escapes.
check "sandbox: pcall(coroutine.yield) returns false and the message" 0 \
  '^false	attempt to yield from outside a coroutine
?after$' -- "$VOUCH" -e 'print(pcall(coroutine.yield)) print("after")'
check "sandbox: the top level is not yieldable" 0 '^false	false$' -- \
  "$VOUCH" -e 'print(coroutine.isyieldable(), select(2, coroutine.running()))'
check "sandbox: a yield inside a coroutine still yields" 0 '^true	7$' -- \
  "$VOUCH" -e 'print(coroutine.resume(coroutine.create(function() coroutine.yield(7) end)))'
check "sandbox: a bare yield still ends the run" 1 'attempt to yield from outside a coroutine' -- \
  "$VOUCH" -e 'coroutine.yield(1) print("not reached")'

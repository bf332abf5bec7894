#!/bin/sh
# Tasks seen from the command line: errors in tasks fail the run with their
# traceback, blocked tasks are reported, limits and vouch.exit hold inside
# tasks and coroutines, and a clean run leaves nothing on stderr (the loop
# closed without live handles).
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1
T="$VOUCH --timeout 30"

# flat CMD...: run CMD, print its output on one line, keep its exit code.
flat() { "$@" >flat.out 2>&1; _frc=$?; tr '\n' ' ' <flat.out; return $_frc; }

cat > spawn_error.lua <<'LUA'
vouch.spawn(function()
  vouch.sleep(1)
  error("boom in task")
end)
vouch.sleep(60000)
print("not reached")
LUA
check "an error in a spawned task fails the run" 1 \
  '^vouch: task 2: spawn_error.lua:3: boom in task' -- $T run spawn_error.lua
check "its traceback names the task's function" 1 \
  'stack traceback:.*spawn_error.lua:3: in function <spawn_error.lua:1>' -- \
  flat $T run spawn_error.lua
ok "the rest of the script does not run" sh -c "! $T run spawn_error.lua 2>&1 | grep -q 'not reached'"

cat > all_error.lua <<'LUA'
local a, b = vouch.all{
  function() vouch.sleep(60000) end,
  function() vouch.sleep(1); error("failed inside all") end,
}
LUA
check "vouch.all raises the failing task's error in the script" 1 \
  'task 3 failed: all_error.lua:3: failed inside all' -- $T run all_error.lua
check "with both tracebacks" 1 \
  'in function <all_error.lua:3>.*stack traceback:.*all_error.lua:1: in main chunk' -- \
  flat $T run all_error.lua

cat > deadlock.lua <<'LUA'
local a, b
a = vouch.spawn(function() vouch.sleep(1); b:wait() end)
b = vouch.spawn(function() vouch.sleep(1); a:wait() end)
a:wait()
LUA
check "tasks blocked forever are reported" 1 \
  'task 1 \(the script\) is blocked forever, waiting for task 2' -- $T run deadlock.lua
check "each blocked task is named with what it waits for" 1 \
  'task 2 is blocked forever, waiting for task 3.*deadlock.lua:2: in function.*task 3 is blocked forever, waiting for task 2' -- \
  flat $T run deadlock.lua

check "a bare yield in a task is an error, not a hang" 1 \
  'attempt to yield from outside a coroutine' -- $T -e 'coroutine.yield(1)'
check "the run's --timeout ends tasks that all wait" 3 \
  'time limit exceeded \(--timeout=1s\)' -- $VOUCH --timeout 1 -e \
  'vouch.all{function() vouch.sleep(60000) end, function() vouch.sleep(60000) end}'
check "vouch.exit inside a coroutine ends the run" 7 '' -- $T -e \
  'local c = coroutine.wrap(function() vouch.sleep(1); vouch.exit(7) end) c() print("no")'
check "vouch.exit inside coroutine.resume ends the run" 6 '' -- $T -e \
  'print(coroutine.resume(coroutine.create(function() vouch.exit(6) end)))'
check "vouch.exit with tasks still waiting" 4 '^$' -- $T -e \
  'vouch.spawn(function() vouch.sleep(60000) end) vouch.sleep(1) vouch.exit(4)'
check "an error object from a task is reported" 1 \
  'task 2: \(error object is a table value\)' -- $T -e \
  'vouch.spawn(function() error({}) end) vouch.sleep(50)'

cat > clean.lua <<'LUA'
local t = vouch.spawn(function() vouch.sleep(60000) end)
local co = coroutine.wrap(function() vouch.sleep(1) coroutine.yield(1) end)
co()
vouch.race{function() vouch.sleep(60000) end, function() vouch.sleep(1) end}
vouch.sleep(60000, {timeout = 1})
t:cancel()
print("clean")
LUA
check "a run with cancelled work ends clean (no warning, nothing on stderr)" 0 '^clean$' -- \
  $T run clean.lua

check "tasks left when the run fails are cancelled: their variables close" 1 \
  'closed at exit' -- $T -e \
  'vouch.spawn(function() local x <close> = setmetatable({}, {__close = function() print("closed at exit") end}) vouch.sleep(60000) end) vouch.sleep(1) error("stop")'
check "a limit that ends a coroutine stops its resumer too" 3 '^vouch: time limit exceeded' -- \
  $VOUCH --timeout 1 -e 'local co = coroutine.create(function() while true do end end) print(coroutine.resume(co)) print("went on")'
ok "nothing runs after it" sh -c "! $VOUCH --timeout 1 -e 'local co = coroutine.create(function() while true do end end) print(coroutine.resume(co)) print(\"went on\")' 2>&1 | grep -q 'went on'"
check "a limit inside a cancelled task's __close is still a limit" 3 'time limit exceeded' -- \
  $VOUCH --timeout 1 -e 'local t = vouch.spawn(function() local x <close> = setmetatable({}, {__close = function() while true do end end}) vouch.sleep(60000) end) vouch.sleep(1) t:cancel() print("went on")'

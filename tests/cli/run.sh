# run.sh: `vouch run`, -e, help, version, exit codes and limits, driven as a
# subprocess with the exit code and the output checked together.
. "$(dirname "$0")/lib.sh"

cat > args.lua <<'LUA'
print(arg[0], #arg, ...)
print(select("#", ...))
LUA
check "arg table and varargs" 0 '^args.lua	3	a	b c	$' -- "$VOUCH" run args.lua a "b c" ""
check "script without run" 0 '^args.lua	0' -- "$VOUCH" args.lua
check "-e runs a string" 0 '^2$' -- "$VOUCH" -e 'print(1 + 1)'
check "script from stdin" 0 '^piped$' -- sh -c "echo 'print(\"piped\")' | \"$VOUCH\""

printf 'local x = 1\nerror("boom")\n' > err.lua
check "runtime error names file and line" 1 '^vouch: err.lua:2: boom$' -- "$VOUCH" run err.lua
check "runtime error has a traceback" 1 'stack traceback:' -- "$VOUCH" run err.lua
printf 'local x = = 1\n' > syntax.lua
check "syntax error says it failed to load" 1 '^vouch: failed to load syntax.lua: syntax.lua:1: unexpected symbol' -- "$VOUCH" run syntax.lua
check "missing script" 1 'failed to load nope.lua: cannot open nope.lua' -- "$VOUCH" run nope.lua
check "error with a table value" 1 'error object is a table value' -- "$VOUCH" -e 'error({})'
check "error in a spawned task fails the run" 1 'vouch: task 2: .*late' -- "$VOUCH" -e 'vouch.spawn(function() vouch.sleep(1) error("late") end)'
check "vouch.exit sets the status" 7 '' -- "$VOUCH" -e 'vouch.exit(7)'
check "shebang line is skipped" 0 '^ok$' -- sh -c 'printf "#!/usr/bin/env vouch\nprint(\"ok\")\n" > sb.lua && "$VOUCH" run sb.lua'

check "usage: no script" 2 'no script given' -- "$VOUCH" run
check "usage: unknown option" 2 "unknown option '--frob'" -- "$VOUCH" --frob
check "usage: unknown command" 2 "unknown command 'frob'" -- "$VOUCH" frob
check "usage: bad memory size" 2 'bad --max-memory' -- "$VOUCH" --max-memory=lots -e ''
check "usage: bad timeout" 2 'bad --timeout' -- "$VOUCH" --timeout=-1 -e ''
check "usage: option needs a value" 2 "needs a value" -- "$VOUCH" run --timeout
check "--help lists commands and exit codes" 0 'Exit codes:' -- "$VOUCH" --help
check "--help lists run" 0 '^  run ' -- "$VOUCH" --help
check "help COMMAND" 0 '^usage: vouch run ' -- "$VOUCH" help run
check "help unknown command" 2 "no command 'frob'" -- "$VOUCH" help frob
check "--version names the libraries" 0 'Lua 5\.4' -- "$VOUCH" --version
check "--version names SQLite and libuv" 0 'libuv 1\.' -- "$VOUCH" --version

# Limits: exit code 3 and a message that names the limit.
check "busy loop hits the time limit" 3 'time limit exceeded \(--timeout=1s\)' -- "$VOUCH" --timeout=1 -e 'while true do end'
check "pcall cannot swallow the time limit" 3 'time limit exceeded' -- "$VOUCH" --timeout=1 -e 'while true do pcall(function() while true do end end) end'
check "coroutines inherit the time limit" 3 'time limit exceeded' -- "$VOUCH" --timeout=1 -e 'coroutine.wrap(function() while true do end end)()'
check "error handlers inherit the time limit" 3 'time limit exceeded' -- "$VOUCH" --timeout=1 -e 'xpcall(error, function() while true do end end)'
check "waiting tasks end at the deadline" 3 'time limit exceeded' -- "$VOUCH" --timeout=1 -e 'vouch.sleep(60000)'
check "C code stuck in a pattern is ended by the watchdog" 3 'time limit exceeded' -- "$VOUCH" --timeout=1 -e 'string.rep("a", 5000):find(string.rep("a*", 30) .. "b")'
check "memory bomb hits the memory limit" 3 'memory limit exceeded \(--max-memory=64MiB\)' -- "$VOUCH" --max-memory=64M -e 'local t = {} while true do t[#t + 1] = string.rep("x", 4096) .. #t end'
check "pcall cannot swallow the memory limit" 3 'memory limit exceeded' -- "$VOUCH" --max-memory=64M -e 'local t = {} while true do pcall(function() t[#t + 1] = string.rep("x", 4096) .. #t end) end'
check "one huge string hits the memory limit" 3 'memory limit exceeded' -- "$VOUCH" --max-memory=64M -e 'local s = string.rep("x", 1 << 30)'
check "deep recursion is a stack limit" 3 'stack overflow' -- "$VOUCH" -e 'local function f() return 1 + f() end f()'
check "deep C recursion is a stack limit" 3 'stack overflow' -- "$VOUCH" -e 'local t = setmetatable({}, {}) getmetatable(t).__index = function(s, k) return s[k] end return t.x'

# --trusted: stock Lua 5.4.
check "trusted has io and debug" 0 '^table	table	function$' -- "$VOUCH" --trusted -e 'print(type(io), type(debug), type(string.dump))'
check "trusted string metatable is stock" 0 '^true$' -- "$VOUCH" --trusted -e 'print(getmetatable("").__index == string)'
check "trusted require finds vouch modules and stock ones" 0 '^table$' -- "$VOUCH" --trusted -e 'print(type(require("string")))'

# Capabilities: paths resolved before they are checked
mkdir -p inside outside && echo 'return 1' > outside/m.lua && ln -sf ../outside/m.lua inside/link.lua
check "sandbox has no io to read files" 1 "attempt to index a nil value \(global 'io'\)" -- "$VOUCH" -e 'io.open("/etc/passwd")'

# install and uninstall into a temporary prefix
prefix=$TMP/prefix
check "make install into a prefix" 0 "" -- env -u MAKEFLAGS -u MAKELEVEL -u SANITIZE make -s -C "$ROOT" install PREFIX="$prefix"
check "installed vouch runs from elsewhere" 0 '^installed$' -- sh -c "cd / && '$prefix/bin/vouch' -e 'print(\"installed\")'"
check "make uninstall removes it" 0 "" -- env -u MAKEFLAGS -u MAKELEVEL -u SANITIZE make -s -C "$ROOT" uninstall PREFIX="$prefix"
ok "uninstalled binary is gone" test ! -e "$prefix/bin/vouch"

# require: the embedded stdlib, then the script's directory, then VOUCH_PATH
mkdir -p proj lib1 lib2/pkg
echo 'return "from script dir"' > proj/shared.lua
echo 'return "from VOUCH_PATH"' > lib1/shared.lua
echo 'return "only in VOUCH_PATH"' > lib1/extra.lua
echo 'return "template"' > lib2/pkg/init.lua
echo 'print(require("shared"), require("extra"), (require("pkg")))' > proj/main.lua
check "require order: script dir before VOUCH_PATH" 0 '^from script dir	only in VOUCH_PATH	template$' -- \
  env VOUCH_PATH="$TMP/lib1;$TMP/lib2" "$VOUCH" run --allow-read="$TMP" proj/main.lua
check "require caches modules" 0 '^true$' -- sh -c "cd proj && '$VOUCH' -e 'print(require(\"shared\") == require(\"shared\"))'"
echo 'return {loaded = true' > proj/broken.lua
echo 'require("broken")' > proj/broken_user.lua
check "require of a broken module names it" 1 "error loading module 'broken'" -- "$VOUCH" run proj/broken_user.lua

#!/bin/sh
# vouch repl: piped (no terminal) as a subprocess, and interactive through a
# real pseudo-terminal (tests/pty_harness.py). Every wait is bounded.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1
HARNESS="$ROOT/tests/pty_harness.py"
export VOUCH_HISTORY="$TMP/history"

# pipe NAME CODE PATTERN [ARGS...] < input: piped statements, output checked.
pipe() {
  _name=$1 _code=$2 _pat=$3; shift 3
  _out=$(timeout 60 "$VOUCH" repl "$@" 2>&1); _rc=$?
  if [ "$_rc" -ne "$_code" ]; then
    echo "not ok - $_name: exit $_rc, expected $_code"
    printf '%s\n' "$_out" | head -n 20 | sed 's/^/# /'
  elif ! printf '%s\n' "$_out" | tr '\n' '\001' | grep -Eq -- "$_pat"; then
    echo "not ok - $_name: output does not match /$_pat/"
    printf '%s\n' "$_out" | head -n 30 | sed 's/^/# /'
  else
    echo "ok - $_name"
  fi
}

# tty NAME CMD... < scenario: a pty session, see pty_harness.py.
tty() {
  _name=$1; shift
  if _err=$(timeout 90 python3 "$HARNESS" --timeout 15 -- "$@" 2>&1); then
    echo "ok - $_name"
  else
    echo "not ok - $_name"
    printf '%s\n' "$_err" | head -n 40 | sed 's/^/# /'
  fi
}

# In the patterns of pipe, \001 stands for a line break.
N=$(printf '\001')
B="(^|$N)"   # the start of a line

# {====================================================== piped mode

pipe "piped: expressions print, statements run, no prompt" 0 \
  "^2${N}3${N}\"hi\"${N}42$N\$" <<'END'
1 + 1
x = 3
x
"hi"
=x * 14
END

pipe "piped: a multi-line function, then a call" 0 "^10$N\$" <<'END'
function double(n)
  local r = n * 2
  return r
end
double(5)
END

pipe "piped: a long string continues over lines" 0 '^"a\\nb"' <<'END'
[[a
b]]
END

pipe "piped: an error prints a traceback, state survives, exit 1" 1 \
  "stdin:1: boom${N}stack traceback:${N}.*stdin:1: in main chunk.*$B5$N\$" <<'END'
x = 5
error("boom")
x
END

pipe "piped: a syntax error says so and goes on" 1 \
  "syntax error: stdin:1: .*near 'then'.*${B}ok$N\$" <<'END'
if then
print("ok")
END

pipe "piped: input ending inside a statement is an error" 1 \
  "the input ends inside a statement" <<'END'
function f()
END

pipe "piped: tables sorted, nested, strings quoted" 0 \
  '^\{ 1, 2, \{ "a" \}, \[10\] = true, b = 1, \["c d"\] = 2, z = \{ k = "v" \} \}' <<'END'
{z = {k = "v"}, b = 1, 1, 2, {"a"}, ["c d"] = 2, [10] = true}
END

pipe "piped: a cycle is marked" 0 'self = <cycle>' <<'END'
t = {name = "loop"}; t.self = t
t
END

pipe "piped: a long list is cut with a count" 0 " 200,$N  \.\.\. \(100 more\)$N\}" <<'END'
local t = {} for i = 1, 300 do t[i] = i end return t
END

pipe "piped: deep nesting stops at a depth" 0 '\{ a = \{ b = \{ c = \{ d = \{\.\.\.\} \} \} \} \}' <<'END'
{a = {b = {c = {d = {e = {f = 1}}}}}}
END

pipe "piped: several values, nil and floats" 0 "^1	nil	2.5	\"s\"$N\$" <<'END'
1, nil, 2.5, "s"
END

pipe "piped: rows print as an aligned table" 0 \
  "^id  name           score${N}--  -------------  -----${N} 1  Lotus Foods      4.5${N} 2  Blue River Co      2${N}\(2 rows\)" <<'END'
{ {id = 1, name = "Lotus Foods", score = 4.5}, {id = 2, name = "Blue River Co", score = 2} }
END

pipe "piped: many rows are cut with a count" 0 '\.\.\. \(60 more rows, 100 in all\)' <<'END'
local r = {} for i = 1, 100 do r[i] = {n = i} end return r
END

pipe "piped: no colour without a terminal" 0 "^\"x\"$N\$" <<'END'
"x"
END

pipe "piped: print and async calls in a statement" 0 "^before${N}after${N}\$" <<'END'
print("before") vouch.sleep(20) print("after")
END

pipe "piped: spawned tasks run while later statements wait" 0 \
  "vouch.task [0-9]+.*${B}first${N}second${N}\$" <<'END'
vouch.spawn(function() vouch.sleep(10) print("first") end)
vouch.sleep(200) print("second")
END

ok "piped: Ctrl-C while waiting for input ends the REPL" python3 -c '
import signal, subprocess, sys, time
p = subprocess.Popen([sys.argv[1], "repl"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
p.stdin.write(b"1 + 1\n"); p.stdin.flush()
assert p.stdout.readline() == b"2\n"
p.send_signal(signal.SIGINT)
sys.exit(0 if p.wait(timeout=20) in (-signal.SIGINT, 130) else 1)' "$VOUCH"

pipe "piped: a bare coroutine.yield() fails its statement, the REPL goes on" 1 \
  "attempt to yield from outside a coroutine.*${B}next$N\$" <<'END'
coroutine.yield(1)
print("next")
END

pipe "piped: top-level locals stay for the next statements" 0 \
  "^\\{ x = 1 \\}${N}3${N}49${N}nil${N}nil${N}\$" <<'END'
local t = {}
t.x = 1
t
local a, b <const> = 1, 2
a + b
local function sq(x) return x * x end
sq(7)
do local inner = 1 end
inner
for i = 1, 2 do local inloop = i end
inloop
END

pipe "piped: .help says how locals are kept" 0 'top-level .local. stays for the next lines' <<'END'
.help
END

COLUMNS=32 pipe "piped: a long array in columns that fit \$COLUMNS" 0 \
  "^\\{${N}    1,   2,   3,   4,   5,   6,${N}    7,   8,   9,  10,  11,  12,${N}.*${N}  115, 116, 117, 118, 119, 120,${N}\\}${N}\$" <<'END'
local a = {} for i = 1, 120 do a[i] = i end _G.a = a
a
END

pipe "piped: .help lists the commands" 0 '\.load FILE.*\.tables.*\.time on\|off.*\.exit' <<'END'
.help
END

echo 'loaded_value = 21; function twice(n) return n * 2 end' > lib.lua
pipe "piped: .load runs a file in the shared environment" 0 "^42$N\$" <<'END'
.load lib.lua
twice(loaded_value)
END

pipe "piped: .load of a file outside the allowed paths is refused" 1 \
  '/etc/hostname: read access denied \(allow it with --allow-read=PATH\)' <<'END'
.load /etc/hostname
END

pipe "piped: .time on prints how long a statement took" 0 "${B}\([0-9]+\.[0-9]{3} s\)" <<'END'
.time on
vouch.sleep(5)
.time off
END

pipe "piped: an unknown command is named" 0 "unknown command '.frobnicate'" <<'END'
.frobnicate
END

pipe "piped: .exit leaves at once" 0 "^1$N\$" <<'END'
1
.exit
2
END

pipe "piped: vouch.exit(n) ends the REPL with n" 7 "^1$N\$" <<'END'
1
vouch.exit(7)
2
END

pipe "piped: the sandbox holds (no io, os.execute, debug)" 0 "^nil	nil	nil$N\$" <<'END'
io, os.execute, debug
END

pipe "piped: --trusted has the full standard library" 0 "^true$N\$" --trusted <<'END'
type(io.write) == "function" and type(os.execute) == "function"
END

pipe "piped: --timeout stops a busy statement and the REPL goes on, exit 3" 3 \
  "time limit exceeded \(--timeout=1s\).*${B}after$N\$" --timeout 1 <<'END'
while true do end
print("after")
END

pipe "piped: --timeout stops a statement that waits, exit 3" 3 \
  "time limit exceeded \(--timeout=1s\).*${B}after$N\$" --timeout 1 <<'END'
vouch.sleep(60000)
print("after")
END

pipe "piped: the memory limit holds and the REPL goes on, exit 3" 3 \
  "memory limit exceeded \(--max-memory=64MiB\).*${B}after$N\$" --max-memory 64M <<'END'
local t = {} for i = 1, 1e8 do t[i] = ("x"):rep(64) .. i end
print("after")
END

pipe "piped: a background task that spins is stopped by its statement's --timeout" 3 \
  "time limit exceeded \(--timeout=1s\)" --timeout 1 <<'END'
vouch.spawn(function() while true do end end)
print("after")
END

pipe "piped: a background task that waits past its statement's --timeout is cancelled" 3 \
  "time limit exceeded \(--timeout=1s\)" --timeout 1 <<'END'
vouch.spawn(function() vouch.sleep(60000) print("never") end)
print("after")
END

pipe "piped: each statement gets the whole --timeout, however little the last one left" 0 \
  "^true${N}true${N}both$N\$" --timeout 2 <<'END'
vouch.sleep(1300)
vouch.sleep(1300)
print("both")
END

pipe "piped: .tables lists the database's tables with row counts" 0 \
  "${B}name               rows${N}-----------------  ----${N}http_cache            0${N}inputs                0${N}loads                 0${N}partners              0${N}.*${B}t                     2$N\(13 rows\)" <<'END'
db = vouch.db.open()
db:exec("CREATE TABLE t(name TEXT, id INTEGER PRIMARY KEY, score REAL)")
db:insert("t", {{name = "Lotus Foods", score = 4.5}, {name = "Blue River", score = 2 / 3}})
.tables
END

pipe "piped: db:rows(...) prints the query as a table, columns in order" 0 \
  "^name         id     score${N}-----------  --  --------${N}Lotus Foods   1       4.5${N}Blue River    2  0.666667${N}\(2 rows\)$N\(no rows\)" <<'END'
db = vouch.db.open()
db:rows("SELECT * FROM t ORDER BY id")
db:rows("SELECT * FROM t WHERE id > 100")
END

pipe "piped: a long query result is cut with a count" 0 '... \(100 rows in all\)' <<'END'
db = vouch.db.open()
db:tx(function() for i = 1, 98 do db:insert("t", {name = "p" .. i}) end end)
db:rows("SELECT id FROM t")
END
pipe "piped: a failed background task is reported, the REPL goes on" 1 \
  "vouch: task [0-9]+.*${B}still here$N\$" <<'END'
vouch.spawn(function() error("bg failed") end)
vouch.sleep(50)
print("still here")
END

# A statement that ends at --max-memory leaves up to the limit in garbage;
# the next statement must not pay for it. Exit 3 is the first statement's.
pipe "piped: a statement's garbage is not charged to the next statement" 3 \
  "memory limit exceeded \\(--max-memory=32MiB\\)${N}next statement ran${N}again$N\$" --max-memory=32M <<'END'
local t = {} for i = 0, 1e9 do t[i] = tostring(i):rep(10) end
x = {} for i = 1, 20000 do x[i] = {i} end print("next statement ran")
x = nil local y = {} for i = 1, 20000 do y[i] = {i} end print("again")
END

# }======================================================

# {====================================================== a terminal

tty "tty: a prompt, an expression, a multi-line statement" "$VOUCH" repl <<'END'
screen ^vouch>$
send 6 * 7\r
expect ^42$
screen ^vouch>$
send function add(a, b)\r
screen ^  \.\.\.>$
send   return a + b\r
screen ^  \.\.\.>$
send end\r
screen ^vouch>$
send add(2, 3)\r
expect ^5$
screen ^vouch>$
send {\r
screen ^  \.\.\.>$
send 1, 2}\r
expect ^\{ 1, 2 \}$
screen ^vouch>$
send \x04
eof
status 0
END

tty "tty: a one-line banner, then the prompt" "$VOUCH" repl <<'END'
expect ^vouch [0-9][^ ]* \(Lua 5\.4[.0-9]*\); \.help for help, Ctrl-D to leave$
screen ^vouch>$
send \x04
eof
status 0
END

tty "tty: top-level locals persist across entries" "$VOUCH" repl <<'END'
screen ^vouch>$
send local t = {}\r
screen ^vouch>$
send t.x = 41\r
screen ^vouch>$
send t.x + 1\r
expect ^42$
screen ^vouch>$
END

tty "tty: arrays fill the terminal's width in columns, records fit it" "$VOUCH" repl <<'END'
screen ^vouch>$
send local a = {} for i = 1, 120 do a[i] = i end\r
screen ^vouch>$
send a\r
expect ^    1,   2,   3,   4,   5,   6,   7,   8,   9,  10,  11,  12,  13,  14,  15,$
expect ^   16,  17,
expect ^   91,  92,  93,  94,  95,  96,  97,  98,  99, 100, 101, 102, 103, 104, 105,$
screen ^vouch>$
resize 24 40
send a\r
expect ^    1,   2,   3,   4,   5,   6,   7,$
expect ^    8,   9,  10,  11,  12,  13,  14,$
screen ^vouch>$
send r = {} for i = 1, 3 do r[i] = {id = i, name = ("partner %d with a long name"):format(i), note = ("x"):rep(50)} end\r
screen ^vouch>$
send r\r
# every line of the grid within the 39 columns the printer may use
expect ^(?=.{1,39}\n)id  name +note\n(?=.{1,39}\n)--  -+  -+\n(?=.{1,39}\n) 1  partner 1.*\.\.\.\n(?=.{1,39}\n) 2 .*\n(?=.{1,39}\n) 3 .*\n\(3 rows\)$
screen ^vouch>$
resize 24 80
send r\r
expect ^ 1  partner 1 with a long name  xxxxxxxxx.{20,}$
screen ^vouch>$
END

tty "tty: plain vouch on a terminal starts the REPL" "$VOUCH" <<'END'
screen ^vouch>$
send .exit\r
eof
status 0
END

tty "tty: an error prints with a traceback and state survives" "$VOUCH" repl <<'END'
screen ^vouch>$
send kept = "still here"\r
screen ^vouch>$
send local t = nil; return t.field\r
expect attempt to index a nil value \(local 't'\)
expect stack traceback:
screen ^vouch>$
send kept\r
expect ^"still here"$
screen ^vouch>$
send \x04
eof
END

tty "tty: Ctrl-C stops a busy loop and returns to the prompt" "$VOUCH" repl <<'END'
screen ^vouch>$
send counter = 0\r
screen ^vouch>$
send while true do counter = counter + 1 end\r
sleep 300
send \x03
expect interrupted$
screen ^vouch>$
send counter > 0\r
expect ^true$
screen ^vouch>$
send \x04
eof
status 0
END

tty "tty: Ctrl-C stops a pcall-wrapped busy loop" "$VOUCH" repl <<'END'
screen ^vouch>$
send while true do pcall(function() while true do end end) end\r
sleep 300
send \x03
expect interrupted$
screen ^vouch>$
send 1 + 1\r
expect ^2$
screen ^vouch>$
send \x04
eof
END

tty "tty: Ctrl-C stops a busy loop inside a coroutine" "$VOUCH" repl <<'END'
screen ^vouch>$
send spin = coroutine.wrap(function() while true do end end)\r
screen ^vouch>$
send spin()\r
sleep 300
send \x03
expect interrupted$
screen ^vouch>$
send "after"\r
expect ^"after"$
screen ^vouch>$
send \x04
eof
END

tty "tty: Ctrl-C at the prompt stops a busy background task" "$VOUCH" repl <<'END'
screen ^vouch>$
send vouch.spawn(function() vouch.sleep(100) while true do end end)\r
expect vouch.task
sleep 500
send \x03
expect task [0-9]+.*interrupted
screen ^vouch>$
send 2 + 2\r
expect ^4$
screen ^vouch>$
send \x04
eof
status 0
END

tty "tty: Ctrl-C stops a statement that waits" "$VOUCH" repl <<'END'
screen ^vouch>$
send vouch.sleep(60000) print("not printed")\r
sleep 300
send \x03
expect interrupted$
screen ^vouch>$
send "back"\r
expect ^"back"$
absent not printed
screen ^vouch>$
send \x04
eof
END

tty "tty: Ctrl-C cancels a waiting statement: its to-be-closed variables close" "$VOUCH" repl <<'END'
screen ^vouch>$
send x = setmetatable({}, {__close = function() print("cl" .. "osed") end})\r
screen ^vouch>$
send do local c <close> = x; vouch.sleep(60000) end\r
sleep 300
send \x03
expect interrupted
expect ^closed$
screen ^vouch>$
send \x04
eof
status 0
END

tty "tty: Ctrl-C on a line clears it; Ctrl-D on an empty line exits" "$VOUCH" repl <<'END'
screen ^vouch>$
send this is not lua
screen ^vouch> this is not lua$
send \x03
expect \^C
screen ^vouch>$
send 7\r
expect ^7$
absent syntax error
screen ^vouch>$
send function unfinished()\r
screen ^  \.\.\.>$
send \x03
screen ^vouch>$
send 8\r
expect ^8$
absent syntax error
screen ^vouch>$
send \x04
eof
status 0
END

tty "tty: a timer prints while a line is half typed, the line survives" "$VOUCH" repl <<'END'
screen ^vouch>$
send vouch.spawn(function() vouch.sleep(700) print("tick from a timer") end)\r
expect vouch.task
screen ^vouch>$
send half = 12
expect ^tick from a timer$
screen ^vouch> half = 12$
send 34\r
screen ^vouch>$
send half\r
expect ^1234$
screen ^vouch>$
send \x04
eof
END

tty "tty: output over a line that wraps clears all its rows" "$VOUCH" repl <<'END'
screen ^vouch>$
send vouch.spawn(function() vouch.sleep(1000) print("ti" .. "ck") end)\r
screen ^vouch>$
send long = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
expect ^tick$
screen ^a+$
send "\r
screen ^vouch>$
send #long, long:find("tick", 1, true)\r
expect ^180\tnil$
screen ^vouch>$
send \x04
eof
END

tty "tty: back from a stop (Ctrl-Z, fg) the prompt and the line come back" "$VOUCH" repl <<'END'
screen ^vouch>$
send resumed = 5
screen ^vouch> resumed = 5$
signal STOP
sleep 200
signal CONT
screen ^vouch> resumed = 5$
send 6\r
screen ^vouch>$
send resumed\r
expect ^56$
screen ^vouch>$
send \x04
eof
END

tty "tty: UTF-8 text is read and shown whole, whatever the locale" env LC_ALL=C "$VOUCH" repl <<'END'
screen ^vouch>$
send s = "héllo wörld ✓"\r
screen ^vouch>$
send s, #s, utf8.len(s)\r
expect ^"héllo wörld ✓"\t17\t13$
screen ^vouch>$
send \x04
eof
END

tty "tty: Tab completes globals, fields and methods" "$VOUCH" repl <<'END'
screen ^vouch>$
send prin\t
screen ^vouch> print$
send ("done")\r
expect ^done$
screen ^vouch>$
send vouch.sle\t
screen ^vouch> vouch\.sleep$
send (1)\r
screen ^vouch>$
send task = vouch.spawn(function() end)\r
screen ^vouch>$
send task:st\t
screen ^vouch> task:status$
send ()\r
expect ^"done"$
screen ^vouch>$
send task:\t\t
expect status.*wait|wait.*status
send \x03
screen ^vouch>$
send db = vouch.db.open()\r
screen ^vouch>$
send db:ro\t
screen ^vouch> db:rows$
send ("SELECT 1 AS one")\r
expect ^one
screen ^vouch>$
send \x04
eof
END

mkdir -p data && echo 'id,name' > data/partners.csv
tty "tty: Tab completes file names inside a string" "$VOUCH" repl <<'END'
screen ^vouch>$
send f = "data/par\t
screen ^vouch> f = "data/partners\.csv$
send "\r
screen ^vouch>$
send f\r
expect ^"data/partners.csv"$
screen ^vouch>$
send .lo\t
screen ^vouch> \.load$
send  data/pa\t
screen ^vouch> \.load data/partners\.csv$
send \x03
expect \^C
screen ^vouch>$
send \x04
eof
END

rm -f "$TMP/history"
tty "tty: history, first session" "$VOUCH" repl <<'END'
screen ^vouch>$
send remembered = 40 + 2\r
screen ^vouch>$
send 1 + 1\r
screen ^vouch>$
send 1 + 1\r
screen ^vouch>$
send \x04
eof
END
ok "tty: the history file is private" test "$(stat -c %a "$TMP/history")" = 600
ok "tty: history is saved, duplicates collapsed" \
  test "$(grep -c '^1\\040+\\0401$' "$TMP/history")" = 1
tty "tty: history, second session recalls the first" "$VOUCH" repl <<'END'
screen ^vouch>$
send \x1b[A\x1b[A
screen ^vouch> remembered = 40 \+ 2$
send \r
screen ^vouch>$
send remembered\r
expect ^42$
screen ^vouch>$
send \x04
eof
END

tty "tty: history goes under XDG_STATE_HOME" env -u VOUCH_HISTORY XDG_STATE_HOME="$TMP/state" "$VOUCH" repl <<'END'
screen ^vouch>$
send xdg = 1\r
screen ^vouch>$
send \x04
eof
END
ok "tty: the XDG history file holds the statement" grep -q '^xdg\\040=\\0401$' "$TMP/state/vouch/history"

tty "tty: history goes under ~/.local/state without XDG_STATE_HOME" env -u VOUCH_HISTORY -u XDG_STATE_HOME HOME="$TMP/home" "$VOUCH" repl <<'END'
screen ^vouch>$
send home = 1\r
screen ^vouch>$
send \x04
eof
END
ok "tty: the home history file holds the statement" grep -q '^home\\040=\\0401$' "$TMP/home/.local/state/vouch/history"

tty "tty: colour on a terminal" env -u NO_COLOR "$VOUCH" repl <<'END'
screen ^vouch>$
send "green"\r
raw \x1b\[32m"green"
screen ^vouch>$
send \x04
eof
END

tty "tty: no colour under NO_COLOR" env NO_COLOR=1 "$VOUCH" repl <<'END'
screen ^vouch>$
send "plain"\r
expect ^"plain"$
screen ^vouch>$
send \x04
eof
END

# }======================================================

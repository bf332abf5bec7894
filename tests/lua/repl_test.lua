-- repl_test.lua: the REPL's printer and completion (vouch.repl) as data:
-- a value and the text it prints, a partial name and what completes it.
local T = require "testlib"
local R = require "vouch.repl"
local test, eq = T.test, T.eq

local cycle = { name = "c" }
cycle.self = cycle
local long = {}
for i = 1, 60 do long[i] = i end

local cases = {
  { 42, "42" },
  { 2.5, "2.5" },
  { 1.0, "1.0" },
  { "a\n\"b\"\t\1", '"a\\n\\"b\\"\\t\\1"' },
  { true, "true" },
  { {}, "{}" },
  { { 3, 1, 2 }, "{ 3, 1, 2 }" },
  { { b = 2, a = 1, [1] = "x", [3.5] = "f", ["not id"] = 0, ["end"] = 1 },
    '{ "x", [3.5] = "f", a = 1, b = 2, ["end"] = 1, ["not id"] = 0 }' },
  { cycle, '{ name = "c", self = <cycle> }' },
  { { a = { b = { c = { d = { e = {} } } } } }, "{ a = { b = { c = { d = {...} } } } }" },
  { { 1, nil, 3 }, "{ 1, [3] = 3 }" },
  { { { id = 2, name = "B" }, { id = 10, name = "Ann", extra = true } },
    "id  extra  name\n--  -----  ----\n 2         B\n10  true   Ann\n(2 rows)" },
}

for i, c in ipairs(cases) do
  test("format " .. i .. ": " .. c[2]:gsub("\n.*", " ..."), function()
    eq(R.format(c[1], false), c[2], "printed")
  end)
end

test("a long list is laid out in columns that fit the width", function()
  local saved = R.width
  R.width = 40
  local s = R.format(long, false)
  R.width = saved
  -- 9 columns of "NN," (3 wide) with one space between: 2 + 9 * 4 - 1 = 37
  eq(s:match("^{\n([^\n]*)\n"), "   1,  2,  3,  4,  5,  6,  7,  8,  9,")
  assert(s:find("\n  55, 56, 57, 58, 59, 60,\n}$"), s)
  for line in s:gmatch("[^\n]+") do assert(#line <= 40, line) end
end)

test("a list longer than R.items is cut with a count", function()
  local t = {}
  for i = 1, R.items + 7 do t[i] = i end
  local s = R.format(t, false)
  assert(s:find("\n  ... %(7 more%)\n}$"), s)
  assert(not s:find(tostring(R.items + 1) .. ","), s)
end)

test("a grid is narrowed to the width, cells cut with ...", function()
  local saved = R.width
  R.width = 30
  local rows = { { id = 1, name = ("n"):rep(40), note = ("x"):rep(40) } }
  local s = R.grid(rows, false)
  R.width = saved
  for line in s:gmatch("[^\n]+") do assert(#line <= 30, line) end
  assert(s:find(" 1  nnnnnnnnn[n]*%.%.%.  xxxxxxxxx[x]*%.%.%.\n"), s)
end)

test("colour codes only when asked", function()
  eq(R.format("s", true), '\27[32m"s"\27[0m', "coloured")
  eq(R.format({ 1 }, true), "{ \27[36m1\27[0m }", "nested")
end)

test("show: values joined by tabs, none gives nil", function()
  eq(R.show(table.pack(1, nil, "x"), false), '1\tnil\t"x"', "three values")
  eq(R.show(table.pack(), false), nil, "no values")
end)

test("a record array keeps the column order it is given", function()
  local rows = setmetatable({ { b = 1, a = 2 } }, { __columns = { "b", "a" } })
  eq(R.format(rows, false), "b  a\n-  -\n1  2\n(1 row)", "columns")
end)

local env = {
  print = print,
  vouch = { sleep = 1, spawn = 2, db = { open = 3 } },
  partners = { alpha = 1, beta = 2, method = function() end },
}
setmetatable(env.partners, { __index = { inherited = function() end, field = 1 } })

local completions = {
  { "pri", { "print" } },
  { "vouch.s", { "vouch.sleep", "vouch.spawn" } },
  { "vouch.db.", { "vouch.db.open" } },
  { "partners.", { "partners.alpha", "partners.beta", "partners.field",
                   "partners.inherited", "partners.method" } },
  { "partners:", { "partners:inherited", "partners:method" } },
  { "nothing.here", {} },
  { "wh", { "while" } },
  { ".t", { ".tables", ".time" } },
}

for _, c in ipairs(completions) do
  test("complete " .. c[1], function()
    eq(table.concat(R.complete(env, c[1]), " "), table.concat(c[2], " "), c[1])
  end)
end

-- Top-level locals, which the REPL keeps for the next statements: source,
-- the names found.
local top = {
  { "local t = {}", "t" },
  { "local a, b <const>, c = 1, 2, 3", "a b c" },
  { "local function f() local inner = 1 end local g = 2", "f g" },
  { "do local x = 1 end local y", "y" },
  { "if x then local z = 1 elseif y then local w = 2 else local v = 3 end local u", "u" },
  { "for i = 1, 3 do local m = i end while false do local n end repeat local o until true", "" },
  { "local s = 'local q' -- local c\nlocal k = [==[local j]==] --[[ local l ]] local e = 1e-5", "s k e" },
  { "local s = \"a\\\"local b\" local t2 = 0x1p4", "s t2" },
  { "x = 1 local x = x", "x" },
}
for _, c in ipairs(top) do
  test("top-level locals of " .. c[1]:gsub("\n", " "), function()
    eq(table.concat(R.top_locals(c[1]), " "), c[2])
  end)
end

test("keep_locals adds one line that copies them into _ENV", function()
  eq(R.keep_locals("local a, b = 1, 2"), "local a, b = 1, 2\n;_ENV.a, _ENV.b = a, b")
  eq(R.keep_locals("x = 1"), nil)
  eq(R.keep_locals("local _ENV = {}"), nil)
end)

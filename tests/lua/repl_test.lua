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

test("a long list is cut and laid out on lines", function()
  local s = R.format(long, false)
  assert(s:find("^{\n  1,\n  2,\n"), s)
  assert(s:find("\n  50,\n  ... %(10 more%),\n}$"), s)
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

-- sandbox_test.lua: escape attempts. Each must fail with a clear error (or
-- find nothing to use); none may reach the machine or the next script.
local T = require "testlib"
local test, checkerror, eq = T.test, T.checkerror, T.eq

test("dangerous globals are absent", function()
  for _, name in ipairs{"io", "debug", "package", "dofile", "loadfile",
                        "loadstring", "module", "require_c"} do
    eq(_G[name], nil, name)
  end
end)

test("os holds only time functions", function()
  for _, name in ipairs{"execute", "exit", "getenv", "remove", "rename",
                        "tmpname", "setlocale"} do
    eq(os[name], nil, "os." .. name)
  end
  assert(type(os.time()) == "number" and type(os.clock()) == "number")
  assert(type(os.date("!%Y-%m-%d", 0)) == "string")
end)

test("string.dump is gone, also through the string metatable", function()
  eq(string.dump, nil, "string.dump")
  eq(("").dump, nil, '("").dump')
  eq(("x").upper("x"), "X", "methods still work")
end)

test("the string metatable cannot be read or changed", function()
  eq(type(getmetatable("")), "string", "getmetatable('')")
  checkerror("attempt to index", function() getmetatable("").__index = {} end)
  string.upper = function() return "evil" end  -- our copy only
  eq(("a"):upper(), "A", "method lookup unaffected by the script's string table")
end)

test("host metatables are out of reach", function()
  local t = vouch.spawn(function() end)
  eq(getmetatable(t), nil, "task metatable")
  t:wait()
end)

test("the JSON marks' shared metatables cannot be read or changed", function()
  eq(getmetatable(vouch.json.array{}), "vouch.json.array", "array mark")
  eq(getmetatable(vouch.json.object{}), "vouch.json.object", "object mark")
  checkerror("attempt to index a string value", function()
    getmetatable(vouch.json.array{}).__gc = function() end
  end)
  checkerror("cannot change a protected metatable", setmetatable, vouch.json.array{}, nil)
  eq(vouch.json.encode(vouch.json.array{}), "[]", "the marks still work")
  eq(vouch.json.encode(vouch.json.object{}), "{}", "the marks still work")
end)

test("pcall and xpcall still catch errors and pass yields", function()
  local ok, err = pcall(error, "plain")
  eq(ok, false) eq(err, "plain")
  local ok2, v = xpcall(function(x) vouch.sleep(1) return x end, print, 9)
  eq(ok2, true) eq(v, 9)
  local ok3, h = xpcall(error, function(m) return "handled: " .. m end, "oops")
  eq(ok3, false) eq(h, "handled: oops")
end)

test("binary chunks are refused", function()
  local f, err = load("\27Lua\84\0\25\147\13\10\26\10")
  eq(f, nil, "binary load")
  assert(err:find("binary", 1, true), err)
  checkerror("binary chunks are not allowed", load, "x", "x", "b")
  local g = load(function() return nil end)
  assert(type(g) == "function")
end)

test("load without env runs in the script's environment, not the host's", function()
  eq(load("return io")(), nil, "io via load")
  eq(load("return package")(), nil, "package via load")
  load("sandbox_test_global = 42")()
  eq(sandbox_test_global, 42, "global set by loaded chunk")
  eq(load("return x", "c", "t", {x = 7})(), 7, "explicit env")
end)

test("finalizers are refused", function()
  checkerror("__gc metamethods are not allowed", setmetatable, {}, {__gc = print})
  checkerror("__gc metamethods are not allowed", setmetatable, {}, {__gc = false})
  local mt = {}
  local obj = setmetatable({}, mt)
  mt.__gc = function() error("must never run") end  -- added late: never marked
  eq(getmetatable(obj), mt, "tables keep their metatable")
end)

test("collectgarbage only counts", function()
  assert(collectgarbage("count") > 0)
  assert(collectgarbage() > 0)
  checkerror('collectgarbage("collect") is not allowed', collectgarbage, "collect")
  checkerror('collectgarbage("stop") is not allowed', collectgarbage, "stop")
end)

test("require finds no C modules or host libraries", function()
  checkerror("module 'io' not found", require, "io")
  checkerror("module 'debug' not found", require, "debug")
  checkerror("module 'vouch.nonexistent' not found", require, "vouch.nonexistent")
end)

test("require cannot climb out of the script directory", function()
  checkerror("not found", require, "..etc.passwd")
  checkerror("not found", require, "/etc/passwd")
end)

test("format and date reject bad conversions instead of crashing", function()
  checkerror("invalid conversion", string.format, "%99999d", 1)
  checkerror("invalid conversion", os.date, "%Ez")
  checkerror("too large", string.rep, "x", math.maxinteger)
end)

test("a limit cannot be reached through coroutines or error handlers", function()
  -- the hook is inherited by every coroutine: checked from the CLI tests;
  -- here only that coroutines work at all in the sandbox
  local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end)
  eq(co(1), 2, "first resume")
  eq(co(5), 10, "second resume")
end)

test("rawset on the environment stays in the environment", function()
  rawset(_G, "print_copy", print)
  eq(_G.print_copy, print, "rawset works on our own table")
  eq(_G, _ENV, "_G is the script's environment")
end)

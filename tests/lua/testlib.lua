-- testlib.lua: a small harness for vouch's Lua tests, in the manner of
-- Lua's own testes: plain functions and asserts, one TAP line per test.
local M = {}

local count = 0

--- Run `fn` as the test `name`; print "ok - name" or "not ok - name: why".
function M.test(name, fn)
  count = count + 1
  local ok, err = xpcall(fn, function(e)
    if type(e) ~= "string" then e = tostring(e) end
    return e
  end)
  if ok then
    print("ok - " .. name)
  else
    print("not ok - " .. name .. ": " .. tostring(err):gsub("\n", "\n# "))
  end
end

--- Report the test `name` as not run, for the reason `why`: "ok - name #
--- SKIP why", which tests/run.sh counts as skipped, never as passed.
function M.skip(name, why)
  count = count + 1
  print("ok - " .. name .. " # SKIP " .. why)
end

--- Assert that `f(...)` raises an error whose message contains `msg`
--- (a plain substring, not a pattern).
function M.checkerror(msg, f, ...)
  local ok, err = pcall(f, ...)
  if ok then error("expected an error containing '" .. msg .. "', got none", 2) end
  err = tostring(err)
  if not err:find(msg, 1, true) then
    error("expected an error containing '" .. msg .. "', got: " .. err, 2)
  end
  return err
end

--- Assert a == b with a message naming both.
function M.eq(a, b, what)
  if a ~= b then
    error(string.format("%s: expected %s, got %s", what or "value",
      tostring(b), tostring(a)), 2)
  end
end

--- Assert that |a - b| <= eps.
function M.near(a, b, eps, what)
  eps = eps or 1e-9
  if type(a) ~= "number" or math.abs(a - b) > eps then
    error(string.format("%s: expected %s (+-%g), got %s", what or "value",
      tostring(b), eps, tostring(a)), 2)
  end
end

return M

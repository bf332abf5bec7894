-- tasks_test.lua: tasks on the libuv loop: spawn, wait, all, race, sleep,
-- timeouts, cancellation, errors, and async calls from user coroutines.
-- (Errors that end the run and blocked tasks are in tests/cli/tasks.sh.)
local T = require "testlib"

T.test("spawn passes arguments and wait returns every result", function()
  local t = vouch.spawn(function(a, b) vouch.sleep(1); return a + b, "two", nil, 4 end, 1, 2)
  local r = table.pack(t:wait())
  T.eq(r.n, 4, "result count")
  T.eq(r[1], 3); T.eq(r[2], "two"); T.eq(r[3], nil); T.eq(r[4], 4)
  T.eq(t:status(), "done")
  T.eq(select("#", t:wait()), 4, "waiting again")
end)

T.test("sleep orders tasks by their deadlines", function()
  local order = {}
  local ts = {}
  for _, ms in ipairs{30, 10, 20, 0} do
    ts[#ts + 1] = vouch.spawn(function() vouch.sleep(ms); order[#order + 1] = ms end)
  end
  for _, t in ipairs(ts) do t:wait() end
  T.eq(table.concat(order, ","), "0,10,20,30", "order")
end)

T.test("sleep returns true, and honours a shorter timeout", function()
  T.eq(vouch.sleep(1), true)
  local ok, msg, code = vouch.sleep(5000, {timeout = 5})
  T.eq(ok, nil); T.eq(code, "ETIMEDOUT")
  assert(msg:find("timed out after 5 ms", 1, true), msg)
  T.eq(vouch.sleep(1, {timeout = 5000}), true, "timeout longer than the sleep")
end)

T.test("a task that sleeps 0 in a loop lets the loop turn: timers fire, files are read", function()
  local done, turns = false, 0
  local spinner = vouch.spawn(function()
    while not done do vouch.sleep(0); turns = turns + 1 end
    return turns
  end)
  local ok, err = pcall(function()
    T.eq(vouch.sleep(5), true, "a timer fires beside it")
    local dir = arg[0]:match("^(.*)/lua/[^/]*$") .. "/data/csv/"
    local n = 0
    for _ in assert(vouch.load.csv(dir .. "quoted.csv")):rows() do n = n + 1 end
    assert(n > 0, "a file is read beside it, on the thread pool")
  end)
  done = true   -- whatever happened, the spinner stops
  assert(ok, err)
  assert(spinner:wait() > 1, "the spinner turned more than once")
  -- A sleep of 0 after a timer woke the task waits for the loop's next
  -- turn: it ends before its timeout (whose timer goes with it, or the run
  -- would wait a minute for it), and a race cancels it where it waits.
  local t = vouch.spawn(function() vouch.sleep(1); return vouch.sleep(0, { timeout = 60000 }) end)
  T.eq(t:wait(), true, "a turn's sleep ends, and before its timeout")
  local turned = false
  local won = vouch.race {
    function() vouch.sleep(1); turned = true; vouch.sleep(0); return "turn" end,
    function() vouch.sleep(1); return "timer" end,
  }
  T.eq(won, "timer", "the timer's task won the race")
  T.eq(turned, true, "the other was waiting for the loop's turn when it was cancelled")
end)

T.test("bad arguments raise", function()
  T.checkerror("must not be negative", vouch.sleep, -1)
  T.checkerror("bad timeout (must not be negative)", vouch.sleep, 1, {timeout = -5})
  T.checkerror("bad timeout (milliseconds expected, got string)", vouch.sleep, 1, {timeout = "x"})
  T.checkerror("item 2 is a number, expected a function or a task", vouch.all, {print, 3})
  T.checkerror("function expected", vouch.spawn, 42)
end)

T.test("all returns the first result of each, in order", function()
  local done = vouch.spawn(function() return "ready" end)
  done:wait()
  local a, b, c, d = vouch.all{
    function() vouch.sleep(20); return "a", "ignored" end,
    function() return "b" end,
    function() vouch.sleep(5) end,
    done,
  }
  T.eq(a, "a"); T.eq(b, "b"); T.eq(c, nil); T.eq(d, "ready")
  T.eq(select("#", vouch.all{}), 0, "empty list")
end)

T.test("all fails fast with the failing task's error and traceback", function()
  local slow_finished = false
  local slow
  local ok, err = pcall(vouch.all, {
    function() vouch.sleep(10); error("boom in a task") end,
    function() slow = true; vouch.sleep(60000); slow_finished = true end,
  })
  T.eq(ok, false)
  assert(err:find("failed: ", 1, true), err)
  assert(err:find("tasks_test.lua:%d+: boom in a task"), err)
  assert(err:find("stack traceback:", 1, true), err)
  assert(slow, "the slow task ran")
  vouch.sleep(5)
  T.eq(slow_finished, false, "the slow task was cancelled")
end)

T.test("all with a timeout cancels what is unfinished", function()
  local t = vouch.spawn(function() vouch.sleep(60000) end)
  local r, msg, code = vouch.all({function() return 1 end, t}, {timeout = 10})
  T.eq(r, nil); T.eq(code, "ETIMEDOUT")
  assert(msg:find("timed out"), msg)
  T.eq(t:status(), "cancelled")
end)

T.test("race: the first to finish wins, the others are cancelled", function()
  local loser
  local v, w = vouch.race{
    function() loser = vouch.sleep(60000); return "slow" end,
    function() vouch.sleep(5); return "fast", "second" end,
  }
  T.eq(v, "fast"); T.eq(w, "second")
  T.eq(loser, nil, "the loser never resumed")
  local t1 = vouch.spawn(function() vouch.sleep(60000) end)
  local t2 = vouch.spawn(function() vouch.sleep(1); return "t2" end)
  T.eq(vouch.race{t1, t2}, "t2")
  T.eq(t1:status(), "cancelled")
  T.eq(t2:status(), "done")
end)

T.test("race raises when the first to end failed", function()
  local err = T.checkerror("first to fail", vouch.race, {
    function() vouch.sleep(60000) end,
    function() vouch.sleep(1); error("first to fail") end,
  })
  assert(err:find("stack traceback:", 1, true), err)
  local r, _, code = vouch.race({function() vouch.sleep(60000) end}, {timeout = 5})
  T.eq(r, nil); T.eq(code, "ETIMEDOUT")
end)

T.test("wait with a timeout leaves the task running", function()
  local t = vouch.spawn(function() vouch.sleep(30); return "late" end)
  local r, _, code = t:wait{timeout = 1}
  T.eq(r, nil); T.eq(code, "ETIMEDOUT")
  T.eq(t:status(), "waiting")
  T.eq(t:wait(), "late")
end)

T.test("wait raises the task's error with its traceback", function()
  local t = vouch.spawn(function() vouch.sleep(1); error("inner failure") end)
  local err = T.checkerror("inner failure", t.wait, t)
  assert(err:find("^task %d+ failed: "), err)
  assert(err:find("stack traceback:", 1, true), err)
  T.eq(t:status(), "failed")
  local obj = {}
  local t2 = vouch.spawn(function() vouch.sleep(1); error(obj) end)
  local ok, e = pcall(t2.wait, t2)
  T.eq(ok, false); T.eq(e, obj, "an error object passes unchanged")
end)

T.test("cancel ends a task where it waits and closes its variables", function()
  local closed, after = false, false
  local t = vouch.spawn(function()
    local guard <close> = setmetatable({}, {__close = function() closed = true end})
    vouch.sleep(60000)
    after = true
  end)
  vouch.sleep(1)
  T.eq(t:status(), "waiting")
  T.eq(t:cancel(), true)
  T.eq(t:status(), "cancelled")
  T.eq(closed, true, "__close ran")
  T.eq(after, false)
  T.checkerror("was cancelled", t.wait, t)
  T.eq(t:cancel(), false, "cancelling twice")
end)

T.test("cancel a task before it starts, and one that waits for a task", function()
  local ran = false
  local t = vouch.spawn(function() ran = true end)
  t:cancel()
  vouch.sleep(1)
  T.eq(ran, false, "never ran")
  local inner = vouch.spawn(function() vouch.sleep(20); return "inner" end)
  local outer = vouch.spawn(function() return inner:wait() end)
  vouch.sleep(1)
  outer:cancel()
  T.eq(inner:wait(), "inner", "the awaited task goes on")
end)

T.test("a task cannot cancel or wait for itself", function()
  local me
  me = vouch.spawn(function()
    vouch.sleep(1)
    local e1 = T.checkerror("cannot cancel itself", me.cancel, me)
    local e2 = T.checkerror("cannot wait for itself", me.wait, me)
    return e1, e2
  end)
  me:wait()
end)

T.test("1,000 concurrent tasks", function()
  local fns, finished = {}, 0
  for i = 1, 1000 do
    fns[i] = function() vouch.sleep(i % 10); finished = finished + 1; return i * 2 end
  end
  local r = table.pack(vouch.all(fns))
  T.eq(r.n, 1000); T.eq(finished, 1000)
  for i = 1, 1000 do T.eq(r[i], i * 2, "result " .. i) end
end)

T.test("async calls inside coroutine.wrap", function()
  local gen = coroutine.wrap(function(n)
    for i = 1, n do
      vouch.sleep(1)
      coroutine.yield(i * 10)
    end
    return "end"
  end)
  T.eq(gen(3), 10); T.eq(gen(), 20); T.eq(gen(), 30); T.eq(gen(), "end")
  T.checkerror("cannot resume dead coroutine", gen)
  local items = {}
  for v in coroutine.wrap(function() for i = 1, 3 do vouch.sleep(0); coroutine.yield(i) end end) do
    items[#items + 1] = v
  end
  T.eq(table.concat(items, ","), "1,2,3", "wrap as an iterator")
end)

T.test("async calls inside coroutine.resume, nested two deep", function()
  local log = {}
  local inner = coroutine.create(function(x)
    local ok = vouch.sleep(2)
    log[#log + 1] = "inner slept " .. tostring(ok)
    local y = coroutine.yield(x + 1)
    local r, _, code = vouch.sleep(1000, {timeout = 1})
    return y, r, code
  end)
  local outer = coroutine.create(function()
    local ok, v = coroutine.resume(inner, 1)
    log[#log + 1] = "outer got " .. tostring(v)
    vouch.sleep(1)
    local got = coroutine.yield("from outer")
    local ok2, y, r, code = coroutine.resume(inner, got)
    return ok and ok2, y, r, code
  end)
  local ok, v = coroutine.resume(outer)
  T.eq(ok, true); T.eq(v, "from outer")
  local ok2, all_ok, y, r, code = coroutine.resume(outer, "Y")
  T.eq(ok2, true); T.eq(all_ok, true); T.eq(y, "Y"); T.eq(r, nil); T.eq(code, "ETIMEDOUT")
  T.eq(table.concat(log, "; "), "inner slept true; outer got 2")
  T.eq(coroutine.status(outer), "dead")
end)

T.test("a coroutine that waits for the host cannot be resumed by others", function()
  local co = coroutine.create(function() vouch.sleep(20); return "woke" end)
  local t = vouch.spawn(function() return coroutine.resume(co) end)
  vouch.sleep(2)
  T.eq(coroutine.status(co), "normal")
  local ok, err = coroutine.resume(co)
  T.eq(ok, false); T.eq(err, "cannot resume a coroutine that waits for the host")
  T.checkerror("cannot close a coroutine that waits for the host", coroutine.close, co)
  local ok2, v = t:wait()
  T.eq(ok2, true); T.eq(v, "woke")
  T.eq(coroutine.status(co), "dead")
  local ok3, e3 = coroutine.resume(coroutine.running())
  T.eq(ok3, false)
  assert(e3:find("task's coroutine", 1, true) or e3:find("non%-suspended"), e3)
end)

T.test("errors after an async call inside a coroutine stay in the coroutine", function()
  local co = coroutine.create(function() vouch.sleep(1); error("in coroutine") end)
  local ok, err = coroutine.resume(co)
  T.eq(ok, false)
  assert(err:find("in coroutine", 1, true), err)
  local w = coroutine.wrap(function() vouch.sleep(1); error("in wrap") end)
  T.checkerror("in wrap", w)
end)

T.test("waiting across a C call is refused with a clear error", function()
  T.checkerror("attempt to wait across a C-call boundary", table.sort, {3, 2, 1},
    function(a, b) vouch.sleep(1); return a < b end)
  T.checkerror("attempt to wait across a C-call boundary", table.sort, {3, 2, 1},
    function(a, b) coroutine.wrap(function() vouch.sleep(1) end)(); return a < b end)
  -- pcall is no C boundary: it yields
  local ok, v = pcall(vouch.sleep, 1)
  T.eq(ok, true); T.eq(v, true)
end)

T.test("stock coroutine behaviour is kept", function()
  local co = coroutine.create(function(a) local b = coroutine.yield(a * 2); return b + 1 end)
  local ok, v = coroutine.resume(co, 21)
  T.eq(ok, true); T.eq(v, 42)
  T.eq(coroutine.status(co), "suspended")
  ok, v = coroutine.resume(co, 1)
  T.eq(ok, true); T.eq(v, 2)
  ok, v = coroutine.resume(co)
  T.eq(ok, false); T.eq(v, "cannot resume dead coroutine")
  -- only the host suspends a task: at its own level nothing yields
  T.eq(coroutine.isyieldable(), false)
  T.eq(coroutine.isyieldable(coroutine.running()), false)
  local ok4, e4 = pcall(coroutine.yield, 1)
  T.eq(ok4, false); T.eq(e4, "attempt to yield from outside a coroutine")
  T.eq(coroutine.wrap(function() return coroutine.isyieldable() end)(), true)
  local c2 = coroutine.create(function() coroutine.yield() end)
  coroutine.resume(c2)
  T.eq(coroutine.close(c2), true)
  T.checkerror("coroutine expected, got number", coroutine.resume, 42)
end)

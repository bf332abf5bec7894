-- http_cases.lua: vouch.http against the local test server
-- (tests/http_server.py). tests/cli/http.sh starts the server and runs
-- this script with the port as its argument and --allow-net=127.0.0.1;
-- it is not a *_test.lua file because it cannot run on its own.
local T = require "testlib"

local port = assert(arg[1], "usage: http_cases.lua PORT (tests/cli/http.sh runs it)")
local base = "http://127.0.0.1:" .. port
local get, request = vouch.http.get, vouch.http.request

T.test("get: status, body, lower-case headers, final url", function()
  local r = assert(get(base .. "/text"))
  T.eq(r.status, 200); T.eq(r.ok, true)
  T.eq(r.body, "hello from the test server\n")
  T.eq(r.headers["content-type"], "text/plain")
  T.eq(r.headers["content-length"], "27")
  T.eq(r.url, base .. "/text")
  T.eq(r.redirects, 0)
end)

T.test("repeated headers are joined, names lower-cased", function()
  local r = assert(get(base .. "/headers"))
  T.eq(r.headers["x-multi"], "one, two")
  T.eq(r.headers["x-mixed-case"], "yes")
  T.eq(r.headers["X-MiXeD-Case"], nil)
end)

T.test("status errors are responses, not failures", function()
  for _, code in ipairs{404, 500, 503} do
    local r = assert(get(base .. "/status/" .. code))
    T.eq(r.status, code); T.eq(r.ok, false); T.eq(r.body, "status " .. code)
  end
end)

T.test("resp:json() decodes with vouch.json.decode", function()
  local r = assert(get(base .. "/json"))
  if vouch.json and vouch.json.decode then
    local doc = r:json()
    T.eq(doc.n, 42); T.eq(doc.ok, true); T.eq(doc.list[3], 3); T.eq(doc.name, "vouch")
  else
    T.checkerror("resp:json() needs vouch.json.decode", r.json, r)
  end
end)

T.test("request: method, headers and body reach the server", function()
  local r = assert(request{method = "PUT", url = base .. "/echo", body = "payload \0 bytes",
                           headers = {["X-Test"] = "1", ["X-Number"] = 7}})
  T.eq(r.status, 200)
  assert(r.body:find('"method": "PUT"', 1, true), r.body)
  assert(r.body:find('"x-test": "1"', 1, true), r.body)
  assert(r.body:find('"x-number": "7"', 1, true), r.body)
  assert(r.body:find('"body": "payload \\u0000 bytes"', 1, true), r.body)
  local h = assert(request{method = "HEAD", url = base .. "/json"})
  T.eq(h.status, 200); T.eq(h.body, "")
  T.eq(h.headers["content-type"], "application/json")
end)

T.test("a redirect chain is followed, up to max_redirects", function()
  local r = assert(get(base .. "/redirect/3"))
  T.eq(r.status, 200); T.eq(r.body, "arrived"); T.eq(r.redirects, 3)
  T.eq(r.url, base .. "/redirect/0")
  local none, msg, code = get(base .. "/redirect/9")
  T.eq(none, nil); T.eq(code, "ETOOMANYREDIRECTS")
  assert(msg:find("too many redirects (max_redirects=5)", 1, true), msg)
  local r2 = assert(get(base .. "/redirect/2", {max_redirects = 2}))
  T.eq(r2.body, "arrived")
  local _, _, code3 = get(base .. "/redirect/3", {max_redirects = 2})
  T.eq(code3, "ETOOMANYREDIRECTS")
  local raw = assert(get(base .. "/redirect/1", {max_redirects = 0}))
  T.eq(raw.status, 302); T.eq(raw.headers.location, "/redirect/0")
end)

T.test("relative redirects, and 303 turns POST into GET", function()
  local r = assert(get(base .. "/relative"))
  T.eq(r.url, base .. "/json"); T.eq(r.status, 200)
  local p = assert(request{method = "POST", url = base .. "/redirect-to?code=303&url=/echo",
                           body = "data"})
  assert(p.body:find('"method": "GET"', 1, true), p.body)
  local k = assert(request{method = "POST", url = base .. "/redirect-to?code=307&url=/echo",
                           body = "kept"})
  assert(k.body:find('"method": "POST"', 1, true), k.body)
  assert(k.body:find('"body": "kept"', 1, true), k.body)
end)

T.test("a redirect to a host not allowed raises, naming --allow-net", function()
  local err = T.checkerror("--allow-net=localhost", get,
    base .. "/redirect-to?url=http://localhost:" .. port .. "/json")
  assert(err:find("network access to localhost denied", 1, true), err)
  T.checkerror("only http and https", get, base .. "/redirect-to?url=file:///etc/passwd")
end)

T.test("hosts not allowed raise before any request", function()
  T.checkerror("network access to example.com denied (allow it with --allow-net=example.com)",
    get, "http://example.com/")
  T.checkerror("only http and https URLs are supported", get, "ftp://127.0.0.1/")
  T.checkerror("not a valid absolute URL", get, "/relative/path")
end)

T.test("bad arguments raise", function()
  T.checkerror("bad method 'get'", request, {method = "get", url = base})
  T.checkerror("bad url (string expected, got nil)", request, {})
  T.checkerror("bad header value", request, {url = base, headers = {X = "a\r\nInjected: 1"}})
  T.checkerror("bad header name", request, {url = base, headers = {["X Y"] = "1"}})
  T.checkerror("bad body (string expected, got table)", request, {url = base, body = {}})
  T.checkerror("bad max_redirects", get, base, {max_redirects = -1})
  T.checkerror("bad timeout", get, base, {timeout = "soon"})
end)

T.test("a stalled server times out with ETIMEDOUT", function()
  local r, msg, code = get(base .. "/stall", {timeout = 200})
  T.eq(r, nil); T.eq(code, "ETIMEDOUT")
  assert(msg:find("timed out after 200 ms", 1, true), msg)
end)

T.test("a slow response within its timeout arrives", function()
  local r = assert(get(base .. "/slow?ms=100&id=s", {timeout = 20000}))
  T.eq(r.body, "slow s")
end)

T.test("connection refused returns ECONNREFUSED", function()
  local r, msg, code = get("http://127.0.0.1:1/")
  T.eq(r, nil); T.eq(code, "ECONNREFUSED")
  assert(msg:find("^http://127.0.0.1:1/: "), msg)
end)

T.test("https goes through TLS (a plain server fails the handshake)", function()
  local r, msg, code = get("https://127.0.0.1:" .. port .. "/json", {timeout = 10000})
  T.eq(r, nil); T.eq(code, "ETLS")
  assert(msg:find("^https://127.0.0.1:"), msg)
end)

T.test("a dropped connection is reported, not raised", function()
  local r, _, code = get(base .. "/close")
  T.eq(r, nil); T.eq(code, "ECONNRESET")
end)

T.test("large bodies arrive whole; max_size stops bigger ones", function()
  local r = assert(get(base .. "/big?n=5000000"))
  T.eq(#r.body, 5000000)
  local c = assert(get(base .. "/big-nolength?n=300000"))
  T.eq(#c.body, 300000, "chunked")
  local none, msg, code = get(base .. "/big?n=2000", {max_size = 1000})
  T.eq(none, nil); T.eq(code, "EFBIG")
  assert(msg:find("larger than max_size (1000 bytes)", 1, true), msg)
  local _, _, code2 = get(base .. "/big-nolength?n=500000", {max_size = 100000})
  T.eq(code2, "EFBIG", "without Content-Length")
end)

T.test("50 requests at once with vouch.all", function()
  local fns = {}
  for i = 1, 50 do
    fns[i] = function()
      local r = assert(get(base .. "/slow?ms=20&id=" .. i))
      return r.body
    end
  end
  local bodies = table.pack(vouch.all(fns))
  T.eq(bodies.n, 50)
  for i = 1, 50 do T.eq(bodies[i], "slow " .. i) end
end)

T.test("the concurrency limit queues extra requests", function()
  local old = vouch.http.limit(4)
  T.eq(old, 16, "the default limit")
  assert(get(base .. "/stats/reset"))
  local fns = {}
  for i = 1, 20 do fns[i] = function() return get(base .. "/slow?ms=50").status end end
  local r = table.pack(vouch.all(fns))
  for i = 1, 20 do T.eq(r[i], 200) end
  local stats = assert(get(base .. "/stats")).body
  local max = tonumber(stats:match('"max_in_flight": (%d+)'))
  assert(max and max <= 4 and max >= 2, stats)
  -- a queued request times out while it waits for a slot
  vouch.http.limit(1)
  -- (the slow request holds the one slot for a second once its task waits
  -- on it, so that a machine slowed by valgrind or other work cannot let it
  -- end before the queued one gives up)
  local busy = vouch.spawn(function() return get(base .. "/slow?ms=1000") end)
  repeat vouch.sleep(5) until busy:status() == "waiting"
  local none, _, code = get(base .. "/json", {timeout = 50})
  T.eq(none, nil); T.eq(code, "ETIMEDOUT")
  T.eq(busy:wait().status, 200)
  T.eq(vouch.http.limit(old), 1)
  T.checkerror("must be between 1 and 1024", vouch.http.limit, 0)
end)

T.test("cancelling a task cancels its request", function()
  local t = vouch.spawn(function() return get(base .. "/stall") end)
  vouch.sleep(50)
  T.eq(t:status(), "waiting")
  T.eq(t:cancel(), true)
  T.eq(t:status(), "cancelled")
  local w = vouch.race{
    function() return get(base .. "/stall") end,
    function() return get(base .. "/slow?ms=10&id=quick").body end,
  }
  T.eq(w, "slow quick")
  T.eq(assert(get(base .. "/text")).status, 200, "the loop goes on")
end)

T.test("requests from inside user coroutines", function()
  local pages = coroutine.wrap(function()
    for _, p in ipairs{"/text", "/json", "/status/404"} do
      coroutine.yield(assert(get(base .. p)).status)
    end
  end)
  T.eq(pages(), 200); T.eq(pages(), 200); T.eq(pages(), 404)
  local co = coroutine.create(function() return get(base .. "/stall", {timeout = 50}) end)
  local ok, r, _, code = coroutine.resume(co)
  T.eq(ok, true); T.eq(r, nil); T.eq(code, "ETIMEDOUT")
end)

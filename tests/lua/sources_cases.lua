-- sources_cases.lua: vouch.http's retries, pacing, pages and cache, and
-- vouch.env, against the partner API of tests/http_server.py (which wants
-- the key in X-Api-Key). tests/cli/sources.sh starts the server and runs
-- this with the port, --allow-net=127.0.0.1 and --allow-env=PARTNER_API_KEY.
local T = require "testlib"

local port = assert(arg[1], "usage: sources_cases.lua PORT (tests/cli/sources.sh runs it)")
local base = "http://127.0.0.1:" .. port
local http = vouch.http
local key = assert(vouch.env("PARTNER_API_KEY"), "PARTNER_API_KEY is not set")
local H = { ["X-Api-Key"] = key }

local function stats()
  return assert(http.get(base .. "/api/stats")):json()
end
local function reset() assert(http.get(base .. "/api/stats/reset")) end

T.test("vouch.env: granted names only, with Lua's words for a bad name", function()
  T.checkerror("environment access to HOME denied (allow it with --allow-env=HOME)",
    vouch.env, "HOME")
  T.checkerror("not a variable name", vouch.env, "A-B")
  T.checkerror("string expected", vouch.env)
end)

T.test("pages: Link rel=next, through 429s (Retry-After in seconds and as a date) "
    .. "and random 503s, every partner once", function()
  reset()
  local ids, n, retried = {}, 0, 0
  for page in http.pages(base .. "/api/partners?page=1&per=10&n=40&chaos=7",
                         { headers = H, retries = 8, backoff = 20, max_wait = 60000 }) do
    T.eq(page.page, n + 1)
    n = n + 1
    if page.attempts > 1 then retried = retried + 1 end
    for _, p in ipairs(page:json().items) do
      T.eq(ids[p.id], nil, "listed twice: " .. p.id)
      ids[p.id] = true
    end
  end
  T.eq(n, 4)
  local count = 0
  for _ in pairs(ids) do count = count + 1 end
  T.eq(count, 40)
  T.eq(retried, 4, "the first answer of each page was a 429")
  local s = stats()
  T.eq(s.unauthorized, 0)
  T.eq(s.bodies, 4)
end)

T.test("pages: a cursor API through next(response)", function()
  local got, n = {}, 0
  for page in http.pages(base .. "/api/cursor?cursor=c1&per=7&n=30", {
      headers = H,
      next = function(r)
        local c = r:json().next
        return c ~= vouch.json.null and ("?cursor=" .. c .. "&per=7&n=30") or nil
      end }) do
    n = n + 1
    for _, p in ipairs(page:json().items) do got[#got + 1] = p.id end
  end
  T.eq(n, 5); T.eq(#got, 30); T.eq(got[1], "p0001"); T.eq(got[30], "p0030")
end)

T.test("pages: --allow-net is checked on every page", function()
  local it = http.pages(base .. "/api/cursor?cursor=c1", {
    headers = H, next = function() return "http://localhost:" .. port .. "/api/cursor?cursor=c2" end })
  assert(it())
  T.checkerror("network access to localhost denied (allow it with --allow-net=localhost)", it)
end)

T.test("pages: a page that is not 2xx raises; a loop raises; bad arguments raise", function()
  T.checkerror("page 1 answered HTTP 401", function()
    for _ in http.pages(base .. "/api/partners?page=1") do end
  end)
  T.checkerror("was already read", function()
    for _ in http.pages(base .. "/api/cursor?cursor=c1", { headers = H,
        next = function() return "?cursor=c1" end }) do end
  end)
  T.checkerror("bad argument #1 to 'pages'", http.pages, nil)
  T.checkerror("next: function expected", http.pages, base, { next = 1 })
end)

T.test("retries stop at the cap with a clear error, attempts reported", function()
  local r, msg, code = http.get(base .. "/api/down", { headers = H, retries = 2, backoff = 5 })
  T.eq(r, nil); T.eq(code, "EAGAIN")
  assert(msg:find("/api/down: HTTP 503 after 3 attempts (retries = 2)", 1, true), msg)
  local none, msg2, code2 = http.get(base .. "/api/busy", { headers = H, retries = 3,
                                                            max_wait = 5000 })
  T.eq(none, nil); T.eq(code2, "EAGAIN")
  assert(msg2:find("HTTP 429 after 1 attempts; waiting 3600000 ms more would pass "
                   .. "max_wait (5000 ms)", 1, true), msg2)
  T.checkerror("HTTP 503 after 2 attempts", function()
    for _ in http.pages(base .. "/api/down", { headers = H, retries = 1, backoff = 5 }) do end
  end)
  local plain = assert(http.get(base .. "/api/down", { headers = H }))
  T.eq(plain.status, 503); T.eq(plain.attempts, 1)
end)

T.test("only idempotent requests are retried unless asked", function()
  local p = assert(http.request{ method = "POST", url = base .. "/api/down", headers = H,
                                 body = "x", retries = 3, backoff = 5 })
  T.eq(p.status, 503); T.eq(p.attempts, 1)
  local _, msg, code = http.request{ method = "POST", url = base .. "/api/down", headers = H,
                                     body = "x", retries = 1, backoff = 5, idempotent = true }
  T.eq(code, "EAGAIN"); assert(msg:find("after 2 attempts", 1, true), msg)
  T.checkerror("bad idempotent", http.request, { url = base, idempotent = 1 })
  T.checkerror("bad retries", http.get, base, { retries = -1 })
  T.checkerror("only GET and HEAD requests are cached", http.request,
               { method = "POST", url = base, cache = true })
end)

T.test("rate: 16 tasks against one host stay within its pace", function()
  T.eq(http.rate("127.0.0.1", "5/s"), nil)
  reset()
  local fns = {}
  for i = 1, 16 do
    fns[i] = function()
      local n = 0
      for page in http.pages(base .. "/api/partners?page=1&per=50&n=100&t=" .. i,
                             { headers = H }) do
        n = n + #page:json().items
      end
      return n
    end
  end
  local r = table.pack(vouch.all(fns))
  for i = 1, 16 do T.eq(r[i], 100) end
  T.eq(http.rate("127.0.0.1", nil), "5/s")
  local s = stats()
  T.eq(s.requests, 32)
  -- 5 a second; one more for where a second's window falls, one for a
  -- timer that fires late on a loaded machine (16 at once without a pace)
  assert(s.max_per_sec <= 7, "at most 7 requests in a second, got " .. s.max_per_sec)
  T.checkerror("a rate like", http.rate, "x", "10 per second")
  T.checkerror("a rate like", http.rate, "x", "0/s")
end)

T.test("rate: a loop held up does not send what waited all at once", function()
  T.eq(http.rate("127.0.0.1", "5/s"), nil)
  reset()
  local fns = {}
  for i = 1, 12 do
    fns[i] = function()
      return http.get(base .. "/api/partners?page=1&per=1&n=1&t=" .. i, { headers = H }).status
    end
  end
  fns[13] = function()
    -- hold the loop for 1.5 s while the paced requests' timers fall due
    local t = os.clock() + 1.5
    while os.clock() < t do end
    return 200
  end
  local r = table.pack(vouch.all(fns))
  for i = 1, 13 do T.eq(r[i], 200) end
  http.rate("127.0.0.1", nil)
  local s = stats()
  assert(s.max_per_sec <= 7, "at most 7 requests in a second after a stall, got " .. s.max_per_sec)
end)

T.test("cache: the second fetch revalidates and reads the body from the record", function()
  reset()
  local u = base .. "/api/partners?page=2&per=5&n=20"
  local a = assert(http.get(u, { headers = H, cache = true }))
  T.eq(a.status, 200); T.eq(a.cached, false)
  local b = assert(http.get(u, { headers = H, cache = true }))
  T.eq(b.status, 200); T.eq(b.cached, true); T.eq(b.body, a.body)
  T.eq(b.headers.etag, a.headers.etag)
  local s = stats()
  T.eq(s.bodies, 1); T.eq(s.not_modified, 1)
  -- another key is another entry: nothing stored is served to it
  local c = assert(http.get(u, { headers = { ["X-Api-Key"] = "other" }, cache = true }))
  T.eq(c.status, 401); T.eq(c.cached, false)
  -- a script reads the cache but cannot forge it
  local db = vouch.db.open()
  local size
  for row in db:rows("SELECT size FROM http_cache WHERE url = ?", u) do size = row.size end
  T.eq(size, #a.body)
  T.checkerror("http_cache", db.exec, db, "UPDATE http_cache SET body = 'forged'")
  T.checkerror("http_cache", db.exec, db,
    "INSERT INTO http_cache(key, url, status, headers, body, size, stored_at, used_at) "
    .. "VALUES ('k', 'u', 200, '', 'x', 1, 'a', 'a')")
end)

T.test("messages carry the key as ***", function()
  local _, msg = http.get(base .. "/api/down?k=" .. key, { headers = H, retries = 1, backoff = 5 })
  assert(msg:find("k=***", 1, true), msg)
  assert(not msg:find(key, 1, true), msg)
end)

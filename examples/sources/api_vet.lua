-- api_vet.lua: vet partners from a paged, rate-limited JSON API that wants
-- a key. Copy it and change BASE, the key's name and the scorecard.
--
--   PARTNER_API_KEY=... vouch run --allow-net=api.example.com \
--       --allow-env=PARTNER_API_KEY examples/sources/api_vet.lua https://api.example.com
--
-- The key comes from the environment by capability (--allow-env), never
-- from the script or its arguments, and is shown as *** wherever vouch
-- reports or stores it. Pages are followed by their Link rel="next"
-- header; 429 and 503 answers are retried (Retry-After honoured), every
-- task's requests share one pace, and cache = true revalidates each page
-- with its ETag, so a daily re-run transfers only the pages that changed.
-- Its schedule (a daily re-assessment, alerts on stderr):
--
--   PARTNER_API_KEY=... vouch --allow-net=api.example.com --allow-env=PARTNER_API_KEY \
--       schedule add partner-api '0 6 * * *' examples/sources/api_vet.lua \
--       https://api.example.com --alert stderr
--
-- The schedule records the names it was granted (PARTNER_API_KEY), never
-- the value: the daemon, started with the same grants, reads the key from
-- its own environment at each run.
local sc = require "vouch.scorecard"

local base = assert(arg[1], "usage: api_vet.lua BASE_URL [cursor]")
local cursor = arg[2] == "cursor"
local key = vouch.env("PARTNER_API_KEY")
if not key then error("PARTNER_API_KEY is not set", 0) end

-- Ten requests a second at most, across every task of this run.
vouch.http.rate(base:match("^https?://([^/:]+)"), "10/s")

local opts = {
  headers = { ["X-Api-Key"] = key, Accept = "application/json" },
  retries = 5, max_wait = 30000, timeout = 30000, cache = true,
}

local partners, seen = {}, {}
local function take(items)
  for _, p in ipairs(items) do
    if seen[p.id] then error("partner " .. p.id .. " was listed twice", 0) end
    seen[p.id] = true
    partners[#partners + 1] = {
      id = p.id, name = p.name, kind = p.kind, followers = p.followers,
      complaints = p.complaints, country = p.country,
    }
  end
end

local pages, attempts = 0, 0
if cursor then
  -- A cursor API: the next page is named in the body.
  opts.next = function(r)
    local c = r:json().next
    return c ~= vouch.json.null and c and ("?cursor=" .. c) or nil
  end
  for page in vouch.http.pages(base .. "/api/cursor?cursor=c1", opts) do
    take(page:json().items)
    pages, attempts = pages + 1, attempts + page.attempts
  end
else
  for page in vouch.http.pages(base .. "/api/partners?page=1", opts) do
    take(page:json().items)
    pages, attempts = pages + 1, attempts + page.attempts
  end
end

-- A small scorecard of its own: reach and a clean record.
local card = sc.scorecard {
  name = "api_partners",
  dimensions = { authority = 0.5, trust = 0.5 },
  bands = { reject = 40, approve = 70 },
  rules = {
    { id = "REACH", dimension = "authority", reads = { "followers" },
      says = "{followers} followers",
      score = function(f) return math.min(100, f / 2500) end },
    { id = "COMPLAINTS", dimension = "trust", reads = { "complaints" },
      says = "{complaints} complaints",
      score = function(c) return math.max(0, 100 - 20 * c) end },
  },
}

local id, summary = card:run{ rows = partners, started_by = "script",
                              inputs = vouch.json.encode({ base .. "/api" }) }
print(string.format("%d partners from %d pages (%d requests): run %d, %d approve, "
  .. "%d review, %d reject", #partners, pages, attempts, id, summary.approve,
  summary.review, summary.reject))

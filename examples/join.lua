-- join.lua: load three sources at once (a CSV export, a JSON document and a
-- JSON-lines feed), join them by partner id and store the result.
--   vouch run examples/join.lua
local dir = arg[0]:match("^(.*)/[^/]*$") or "."
local src = dir .. "/sources/"

-- The three loads run as concurrent tasks on the loop.
local profiles, audience, reviews = vouch.all{
  function() return assert(vouch.load.csv(src .. "profiles.csv")):all() end,
  function() return assert(vouch.load.json(src .. "audience.json")):all() end,
  function() return assert(vouch.load.ndjson(src .. "reviews.ndjson")):all() end,
}

local by_id = {}
for _, a in ipairs(audience) do by_id[a.partner_id] = a end

local stars = {}
for _, r in ipairs(reviews) do
  local s = stars[r.partner_id] or {n = 0, sum = 0}
  s.n, s.sum = s.n + 1, s.sum + r.stars
  stars[r.partner_id] = s
end

local rows = {}
for _, p in ipairs(profiles) do
  local a, s = by_id[p.id], stars[p.id]
  local overlap = a and a.overlap
  if overlap == vouch.json.null then overlap = nil end
  rows[#rows + 1] = {
    partner_id = p.id, name = p.name, kind = p.kind, country = p.country,
    followers = p.followers, overlap = overlap,
    regions = a and vouch.json.encode(vouch.json.array(a.top_regions)) or nil,
    reviews = s and s.n or 0, stars = s and s.sum / s.n or nil,
  }
end

local db = vouch.db.open()
db:exec([[CREATE TABLE IF NOT EXISTS partner_profile(partner_id TEXT PRIMARY KEY,
  name TEXT, kind TEXT, country TEXT, followers INTEGER, overlap REAL,
  regions TEXT, reviews INTEGER, stars REAL)]])
db:tx(function()
  db:exec("DELETE FROM partner_profile")
  db:insert("partner_profile", rows)
end)

for r in db:rows("SELECT * FROM partner_profile ORDER BY partner_id") do
  print(string.format("%s | %s | %s | %s followers | overlap %s | %d reviews | %s",
    r.partner_id, r.name, r.kind, r.followers or "-", r.overlap or "-", r.reviews,
    r.stars and string.format("%.1f stars", r.stars) or "no stars"))
end

-- vet.lua: the vetting workload of WORKLOAD.md, written as an analyst would
-- with vouch.scorecard: the dimensions and red flags as a scorecard, the
-- partners streamed from the CSV, the results stored in one transaction.
--
--   ./vouch run --allow-read=DIR --allow-write=DIR examples/workload/vet.lua CSV DB
local sc = require "vouch.scorecard"

local csv_path, db_path = ...
if not csv_path or not db_path then
  error("usage: vouch run examples/workload/vet.lua PARTNERS.csv OUT.db", 0)
end

local min, max, log = math.min, math.max, math.log
local function clamp(x, a, b) return min(max(x, a), b) end

local card = sc.scorecard {
  name = "workload",
  dimensions = {
    trust = 0.20, goodwill = 0.10, authority = 0.10, community = 0.10,
    empathy = 0.10, shared_values = 0.20, respect = 0.05, collaboration = 0.15,
  },
  bands = { reject = 40, approve = 65 },
  evidence = false,   -- a bulk job: keep only what the output needs

  rules = {
    { id = "TRUST", dimension = "trust",
      reads = { "review_avg", "review_count", "verified", "years_active" },
      score = function(avg, n, verified, years)
        local b = ((avg * n + 3.5 * 20) / (n + 20) - 1) / 4
        return 100 * (0.5 * b + 0.2 * verified + 0.3 * min(years, 10) / 10)
      end },
    { id = "GOODWILL", dimension = "goodwill", reads = { "sentiment" },
      score = function(s) return 50 * (s + 1) end },
    { id = "AUTHORITY", dimension = "authority", reads = { "followers", "engagement_rate" },
      score = function(f, e)
        return 60 * min(1.0, log(1 + f, 10) / 7) + 40 * min(1.0, e / 0.06)
      end },
    { id = "COMMUNITY", dimension = "community", reads = { "community_events", "mutual_connections" },
      score = function(ev, mc) return 50 * min(1.0, ev / 12) + 50 * min(1.0, mc / 50) end },
    { id = "EMPATHY", dimension = "empathy", reads = { "self_mention_ratio" },
      score = function(r) return 100 * (1 - r) end },
    { id = "SHARED_VALUES", dimension = "shared_values", reads = { "values_alignment", "audience_overlap" },
      score = function(v, o) return 100 * (0.7 * v + 0.3 * o) end },
    { id = "RESPECT", dimension = "respect", reads = { "response_hours" },
      score = function(h) return 100 * clamp(1 - (h - 4) / 68, 0, 1) end },
    { id = "COLLABORATION", dimension = "collaboration", reads = { "collabs_past", "collabs_successful" },
      score = function(past, ok)
        if past == 0 then return 50.0 end
        return 100 * (ok + 1) / (past + 2)
      end },

    { id = "CONTROVERSY", flag = "veto", reads = { "controversy_count" },
      when = function(n) return n >= 3 end },
    { id = "INSINCERE_ENDORSEMENT", flag = "penalty", points = 15,
      reads = { "endorsements_total", "endorsements_used" },
      when = function(t, u) return t >= 5 and u / t < 0.3 end },
    { id = "PRICE_INFLATION", flag = "penalty", points = 10, reads = { "price_quote", "market_price" },
      when = function(q, m) return m > 0 and q > 1.5 * m end },
    { id = "SELF_FOCUS", flag = "penalty", points = 5, reads = { "self_mention_ratio" },
      when = function(r) return r > 0.6 end },
    { id = "AUDIENCE_MISMATCH", flag = "penalty", points = 10, reads = { "audience_overlap" },
      when = function(o) return o < 0.1 end },
    { id = "FAKE_ENGAGEMENT", flag = "penalty", points = 20, reads = { "followers", "engagement_rate" },
      when = function(f, e) return f > 100000 and e > 0.15 end },
    { id = "LOW_EVIDENCE", flag = "review", reads = { "review_count" },
      when = function(n) return n < 5 end },
  },
}

local db = assert(vouch.db.open(db_path))
db:exec([[
  DROP TABLE IF EXISTS scores; DROP TABLE IF EXISTS reasons;
  CREATE TABLE scores(partner_id TEXT PRIMARY KEY, name TEXT, total REAL,
    verdict TEXT, trust REAL, goodwill REAL, authority REAL, community REAL,
    empathy REAL, shared_values REAL, respect REAL, collaboration REAL);
  CREATE TABLE reasons(partner_id TEXT, code TEXT);
]])

-- One prepared INSERT each (db:exec caches statements by their SQL), and
-- no table per row: the values go straight from the result to SQLite.
local exec = db.exec
local SCORE = "INSERT INTO scores VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
local REASON = "INSERT INTO reasons VALUES (?, ?)"

db:tx(function()
  for p, r in card:each(vouch.load.csv(csv_path)) do
    local d, id = r.dimensions, p.id
    exec(db, SCORE, id, p.name, r.total, r.verdict, d.trust, d.goodwill, d.authority,
         d.community, d.empathy, d.shared_values, d.respect, d.collaboration)
    local flags = r.flags
    for k = 1, r.nflags do exec(db, REASON, id, flags[k]) end
  end
end)
db:close()

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

-- The formulas are expression rules: a string over the fields the rule
-- reads (and helpers such as min, max, log, clamp), compiled into the
-- scorer itself, which is the fastest form for a bulk job. A function
-- (`score = function(avg, n, ...) ... end`) does the same at the cost of a
-- call per rule and partner.
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
      score = [[100 * (0.5 * (((review_avg * review_count + 3.5 * 20) / (review_count + 20) - 1) / 4)
                       + 0.2 * verified + 0.3 * min(years_active, 10) / 10)]] },
    { id = "GOODWILL", dimension = "goodwill", reads = { "sentiment" },
      score = "50 * (sentiment + 1)" },
    { id = "AUTHORITY", dimension = "authority", reads = { "followers", "engagement_rate" },
      score = "60 * min(1.0, log(1 + followers, 10) / 7) + 40 * min(1.0, engagement_rate / 0.06)" },
    { id = "COMMUNITY", dimension = "community", reads = { "community_events", "mutual_connections" },
      score = "50 * min(1.0, community_events / 12) + 50 * min(1.0, mutual_connections / 50)" },
    { id = "EMPATHY", dimension = "empathy", reads = { "self_mention_ratio" },
      score = "100 * (1 - self_mention_ratio)" },
    { id = "SHARED_VALUES", dimension = "shared_values", reads = { "values_alignment", "audience_overlap" },
      score = "100 * (0.7 * values_alignment + 0.3 * audience_overlap)" },
    { id = "RESPECT", dimension = "respect", reads = { "response_hours" },
      score = "100 * min(max(1 - (response_hours - 4) / 68, 0), 1)" },
    { id = "COLLABORATION", dimension = "collaboration", reads = { "collabs_past", "collabs_successful" },
      score = "collabs_past == 0 and 50.0 or 100 * (collabs_successful + 1) / (collabs_past + 2)" },

    { id = "CONTROVERSY", flag = "veto", reads = { "controversy_count" },
      when = "controversy_count >= 3" },
    { id = "INSINCERE_ENDORSEMENT", flag = "penalty", points = 15,
      reads = { "endorsements_total", "endorsements_used" },
      when = "endorsements_total >= 5 and endorsements_used / endorsements_total < 0.3" },
    { id = "PRICE_INFLATION", flag = "penalty", points = 10, reads = { "price_quote", "market_price" },
      when = "market_price > 0 and price_quote > 1.5 * market_price" },
    { id = "SELF_FOCUS", flag = "penalty", points = 5, reads = { "self_mention_ratio" },
      when = "self_mention_ratio > 0.6" },
    { id = "AUDIENCE_MISMATCH", flag = "penalty", points = 10, reads = { "audience_overlap" },
      when = "audience_overlap < 0.1" },
    { id = "FAKE_ENGAGEMENT", flag = "penalty", points = 20, reads = { "followers", "engagement_rate" },
      when = "followers > 100000 and engagement_rate > 0.15" },
    { id = "LOW_EVIDENCE", flag = "review", reads = { "review_count" },
      when = "review_count < 5" },
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

-- Rows go out through batched inserts (many rows per INSERT statement).
local scores, reasons = sc.inserter(db, "scores", 12), sc.inserter(db, "reasons", 2)
local add_score, add_reason = scores.add, reasons.add

db:tx(function()
  for p, r in card:each(vouch.load.csv(csv_path)) do
    local d, id = r.dimensions, p.id
    add_score(id, p.name, r.total, r.verdict, d.trust, d.goodwill, d.authority,
              d.community, d.empathy, d.shared_values, d.respect, d.collaboration)
    local flags = r.flags
    for k = 1, r.nflags do add_reason(id, flags[k]) end
  end
  scores.flush()
  reasons.flush()
end)
db:close()

-- score.lua: scoring throughput of the scorecard library against the same
-- rules (the vetting workload's, /work/shared/bench/WORKLOAD.md) written by
-- hand in plain Lua. Partners are loaded first; only scoring is timed (CPU
-- seconds). Both must agree on every total and verdict.
--   vouch run --allow-read=DIR score.lua CSV card|hand
local sc = require "vouch.scorecard"
local min, max, log = math.min, math.max, math.log
local path, which = arg[1], arg[2]

local function clamp(x, a, b) return min(max(x, a), b) end
local function log10(x) return log(x, 10) end

local card = sc.scorecard {
  name = "workload",
  dimensions = { trust = 0.20, goodwill = 0.10, authority = 0.10, community = 0.10,
    empathy = 0.10, shared_values = 0.20, respect = 0.05, collaboration = 0.15 },
  bands = { reject = 40, approve = 65 },
  rules = {
    { id = "T_REVIEWS", dimension = "trust", weight = 0.5, reads = { "review_avg", "review_count" },
      score = function(a, n) return 100 * ((a * n + 3.5 * 20) / (n + 20) - 1) / 4 end },
    { id = "T_VERIFIED", dimension = "trust", weight = 0.2, reads = { "verified" },
      score = function(v) return 100 * v end },
    { id = "T_YEARS", dimension = "trust", weight = 0.3, reads = { "years_active" },
      score = function(y) return 100 * min(y, 10) / 10 end },
    { id = "GOODWILL", dimension = "goodwill", reads = { "sentiment" },
      score = function(s) return 50 * (s + 1) end },
    { id = "AUTHORITY", dimension = "authority", reads = { "followers", "engagement_rate" },
      score = function(f, e) return 60 * min(1, log10(1 + f) / 7) + 40 * min(1, e / 0.06) end },
    { id = "COMMUNITY", dimension = "community", reads = { "community_events", "mutual_connections" },
      score = function(c, m) return 50 * min(1, c / 12) + 50 * min(1, m / 50) end },
    { id = "EMPATHY", dimension = "empathy", reads = { "self_mention_ratio" },
      score = function(r) return 100 * (1 - r) end },
    { id = "SHARED", dimension = "shared_values", reads = { "values_alignment", "audience_overlap" },
      score = function(v, o) return 100 * (0.7 * v + 0.3 * o) end },
    { id = "RESPECT", dimension = "respect", reads = { "response_hours" },
      score = function(h) return 100 * clamp(1 - (h - 4) / 68, 0, 1) end },
    { id = "COLLAB", dimension = "collaboration", reads = { "collabs_past", "collabs_successful" },
      score = function(p, s) if p == 0 then return 50 end return 100 * (s + 1) / (p + 2) end },
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

-- The same rules by hand: what a careful analyst would write without the library.
local function hand(p, r)
  local b = ((p.review_avg * p.review_count + 3.5 * 20) / (p.review_count + 20) - 1) / 4
  local trust = 100 * (0.5 * b + 0.2 * p.verified + 0.3 * min(p.years_active, 10) / 10)
  local goodwill = 50 * (p.sentiment + 1)
  local authority = 60 * min(1, log10(1 + p.followers) / 7) + 40 * min(1, p.engagement_rate / 0.06)
  local community = 50 * min(1, p.community_events / 12) + 50 * min(1, p.mutual_connections / 50)
  local empathy = 100 * (1 - p.self_mention_ratio)
  local shared = 100 * (0.7 * p.values_alignment + 0.3 * p.audience_overlap)
  local respect = 100 * clamp(1 - (p.response_hours - 4) / 68, 0, 1)
  local collab = p.collabs_past == 0 and 50 or 100 * (p.collabs_successful + 1) / (p.collabs_past + 2)
  local total = 0.2 * trust + 0.1 * goodwill + 0.1 * authority + 0.1 * community
    + 0.1 * empathy + 0.2 * shared + 0.05 * respect + 0.15 * collab
  local veto = p.controversy_count >= 3
  local et = p.endorsements_total
  if et >= 5 and p.endorsements_used / et < 0.3 then total = total - 15 end
  if p.market_price > 0 and p.price_quote > 1.5 * p.market_price then total = total - 10 end
  if p.self_mention_ratio > 0.6 then total = total - 5 end
  if p.audience_overlap < 0.1 then total = total - 10 end
  if p.followers > 100000 and p.engagement_rate > 0.15 then total = total - 20 end
  local low = p.review_count < 5
  total = clamp(total, 0, 100)
  r.total = total
  r.verdict = (veto or total < 40) and "reject" or (total < 65 or low) and "review" or "approve"
  return r
end

local rows = assert(vouch.load.csv(path)):all()
local sum, counts = 0, { approve = 0, review = 0, reject = 0 }
local t0 = os.clock()
if which == "card" then
  for _, r in card:each(rows) do
    sum = sum + r.total; counts[r.verdict] = counts[r.verdict] + 1
  end
else
  local r = {}
  for i = 1, #rows do
    hand(rows[i], r)
    sum = sum + r.total; counts[r.verdict] = counts[r.verdict] + 1
  end
end
local dt = os.clock() - t0
print(string.format("%d partners, total %.6f, approve %d review %d reject %d",
  #rows, sum, counts.approve, counts.review, counts.reject))
print(string.format("%.4f", dt))

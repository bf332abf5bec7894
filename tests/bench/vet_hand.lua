-- vet_hand.lua: the vetting workload (shared/bench/WORKLOAD.md) with the
-- rules written by hand in plain Lua: load the CSV, score, store scores and
-- reasons in one transaction. The baseline examples/workload/vet.lua (the
-- scorecard library) is measured against.
--   vouch run --allow-read=DIR --allow-write=DIR vet_hand.lua CSV DB
local csv, dbpath = arg[1], arg[2]
local min, max, log = math.min, math.max, math.log
local function clamp(x, a, b) return min(max(x, a), b) end

local db = assert(vouch.db.open(dbpath))
db:exec([[CREATE TABLE scores(partner_id TEXT PRIMARY KEY, name TEXT, total REAL,
  verdict TEXT, trust REAL, goodwill REAL, authority REAL, community REAL,
  empathy REAL, shared_values REAL, respect REAL, collaboration REAL)]])
db:exec("CREATE TABLE reasons(partner_id TEXT, code TEXT)")

local scores, reasons, nr = {}, {}, 0
local function flag(id, code) nr = nr + 1; reasons[nr] = { partner_id = id, code = code } end

local n = 0
for p in assert(vouch.load.csv(csv)):rows() do
  local b = ((p.review_avg * p.review_count + 3.5 * 20) / (p.review_count + 20) - 1) / 4
  local s = {
    partner_id = p.id, name = p.name,
    trust = 100 * (0.5 * b + 0.2 * p.verified + 0.3 * min(p.years_active, 10) / 10),
    goodwill = 50 * (p.sentiment + 1),
    authority = 60 * min(1, log(1 + p.followers, 10) / 7) + 40 * min(1, p.engagement_rate / 0.06),
    community = 50 * min(1, p.community_events / 12) + 50 * min(1, p.mutual_connections / 50),
    empathy = 100 * (1 - p.self_mention_ratio),
    shared_values = 100 * (0.7 * p.values_alignment + 0.3 * p.audience_overlap),
    respect = 100 * clamp(1 - (p.response_hours - 4) / 68, 0, 1),
    collaboration = p.collabs_past == 0 and 50
      or 100 * (p.collabs_successful + 1) / (p.collabs_past + 2),
  }
  local total = 0.2 * s.trust + 0.1 * s.goodwill + 0.1 * s.authority + 0.1 * s.community
    + 0.1 * s.empathy + 0.2 * s.shared_values + 0.05 * s.respect + 0.15 * s.collaboration
  local id, veto, low = p.id, false, false
  if p.controversy_count >= 3 then veto = true; flag(id, "CONTROVERSY") end
  local et = p.endorsements_total
  if et >= 5 and p.endorsements_used / et < 0.3 then total = total - 15; flag(id, "INSINCERE_ENDORSEMENT") end
  if p.market_price > 0 and p.price_quote > 1.5 * p.market_price then total = total - 10; flag(id, "PRICE_INFLATION") end
  if p.self_mention_ratio > 0.6 then total = total - 5; flag(id, "SELF_FOCUS") end
  if p.audience_overlap < 0.1 then total = total - 10; flag(id, "AUDIENCE_MISMATCH") end
  if p.followers > 100000 and p.engagement_rate > 0.15 then total = total - 20; flag(id, "FAKE_ENGAGEMENT") end
  if p.review_count < 5 then low = true; flag(id, "LOW_EVIDENCE") end
  total = clamp(total, 0, 100)
  s.total = total
  s.verdict = (veto or total < 40) and "reject" or (total < 65 or low) and "review" or "approve"
  n = n + 1
  scores[n] = s
end
db:tx(function()
  db:insert("scores", scores)
  if nr > 0 then db:insert("reasons", reasons) end
end)
db:close()
print(n .. " partners scored")

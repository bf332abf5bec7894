-- workload_hand.lua: the vetting workload written by hand, without
-- vouch.scorecard's scoring, to measure what the library costs
-- (tests/bench/scorecard.sh). Output goes through the same sc.inserter.
local sc = require "vouch.scorecard"
local csv_path, db_path = ...
local min, max, log = math.min, math.max, math.log
local db = assert(vouch.db.open(db_path))
db:exec([[
  DROP TABLE IF EXISTS scores; DROP TABLE IF EXISTS reasons;
  CREATE TABLE scores(partner_id TEXT PRIMARY KEY, name TEXT, total REAL,
    verdict TEXT, trust REAL, goodwill REAL, authority REAL, community REAL,
    empathy REAL, shared_values REAL, respect REAL, collaboration REAL);
  CREATE TABLE reasons(partner_id TEXT, code TEXT);
]])
local scores, reasons = sc.inserter(db, "scores", 12), sc.inserter(db, "reasons", 2)
local add_score, add_reason = scores.add, reasons.add
db:tx(function()
  for p in vouch.load.csv(csv_path):rows() do
    local id = p.id
    local rc = p.review_count
    local b = ((p.review_avg * rc + 3.5 * 20) / (rc + 20) - 1) / 4
    local trust = 100 * (0.5 * b + 0.2 * p.verified + 0.3 * min(p.years_active, 10) / 10)
    local goodwill = 50 * (p.sentiment + 1)
    local authority = 60 * min(1.0, log(1 + p.followers, 10) / 7) + 40 * min(1.0, p.engagement_rate / 0.06)
    local community = 50 * min(1.0, p.community_events / 12) + 50 * min(1.0, p.mutual_connections / 50)
    local empathy = 100 * (1 - p.self_mention_ratio)
    local sv = 100 * (0.7 * p.values_alignment + 0.3 * p.audience_overlap)
    local respect = 100 * min(max(1 - (p.response_hours - 4) / 68, 0), 1)
    local cp = p.collabs_past
    local collab = cp == 0 and 50.0 or 100 * (p.collabs_successful + 1) / (cp + 2)
    local pen, veto = 0, false
    if p.controversy_count >= 3 then veto = true; add_reason(id, "CONTROVERSY") end
    local et = p.endorsements_total
    if et >= 5 and p.endorsements_used / et < 0.3 then pen = pen + 15; add_reason(id, "INSINCERE_ENDORSEMENT") end
    local mp = p.market_price
    if mp > 0 and p.price_quote > 1.5 * mp then pen = pen + 10; add_reason(id, "PRICE_INFLATION") end
    if p.self_mention_ratio > 0.6 then pen = pen + 5; add_reason(id, "SELF_FOCUS") end
    if p.audience_overlap < 0.1 then pen = pen + 10; add_reason(id, "AUDIENCE_MISMATCH") end
    if p.followers > 100000 and p.engagement_rate > 0.15 then pen = pen + 20; add_reason(id, "FAKE_ENGAGEMENT") end
    local low = rc < 5
    if low then add_reason(id, "LOW_EVIDENCE") end
    local total = 0.2*trust + 0.1*goodwill + 0.1*authority + 0.1*community + 0.1*empathy + 0.2*sv + 0.05*respect + 0.15*collab
    total = min(max(total - pen, 0), 100)
    local v = (veto or total < 40) and "reject" or (total < 65 or low) and "review" or "approve"
    add_score(id, p.name, total, v, trust, goodwill, authority, community, empathy, sv, respect, collab)
  end
  scores.flush()
  reasons.flush()
end)
db:close()

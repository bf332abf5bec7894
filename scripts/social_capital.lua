-- social_capital.lua: the default scorecard of vouch.
--
-- A partner (brand, influencer, KOL, sponsor, supplier, affiliate) is judged
-- on the eight principles of social capital. Each dimension is scored 0..100
-- from the partner's own record; red flags then catch the ways partnerships
-- are misused or turn bad; portfolio rules look at the chosen partners as a
-- set. Every rule reads named fields only; a rule whose fields are missing
-- is indeterminate (not zero), and too much missing data makes the verdict
-- `review`.
--
-- Fields (see examples/partners.csv): followers, engagement_rate,
-- audience_overlap, values_alignment, values_alignment_prev, review_count,
-- review_avg, sentiment, controversy_count, endorsements_total,
-- endorsements_used, price_quote, market_price, self_mention_ratio,
-- collabs_past, collabs_successful, response_hours, community_events,
-- years_active, verified, mutual_connections, audience, category.
local sc = require "vouch.scorecard"

local min, max, log = math.min, math.max, math.log

-- Shared helpers for the portfolio rules.
local function segments(s)
  local set, n = {}, 0
  for seg in tostring(s):gmatch("[^;]+") do
    seg = seg:match("^%s*(.-)%s*$")
    if seg ~= "" and not set[seg] then set[seg] = true; n = n + 1 end
  end
  return set, n
end

local function jaccard(a, na, b, nb)
  local both = 0
  for k in pairs(a) do if b[k] then both = both + 1 end end
  local union = na + nb - both
  return union > 0 and both / union or 0
end

local function median(xs)
  table.sort(xs)
  local n = #xs
  if n == 0 then return nil end
  if n % 2 == 1 then return xs[(n + 1) // 2] end
  return (xs[n // 2] + xs[n // 2 + 1]) / 2
end

return sc.scorecard {
  name = "social_capital",
  description = "The eight principles of social capital, and the misuses of partnership",

  -- Trust and shared values carry the most weight: a partner we cannot
  -- rely on, or who stands for something else, damages the brand whatever
  -- their reach. Respect (responsiveness) matters least on its own.
  dimensions = {
    trust = 0.20, goodwill = 0.10, authority = 0.10, community = 0.10,
    empathy = 0.10, shared_values = 0.20, respect = 0.05, collaboration = 0.15,
  },
  -- The order they are shown and stored in.
  order = { "trust", "goodwill", "authority", "community", "empathy",
             "shared_values", "respect", "collaboration" },
  -- Below 40 the partnership costs more than it brings; from 65 it can go
  -- ahead without a human look. Between, an analyst decides.
  bands = { reject = 40, approve = 65 },
  -- A verdict that rests on less than three quarters of the evidence is
  -- not a verdict: it goes to review.
  max_missing = 0.25,

  rules = {
    -- {== trust ==}
    -- Reviews are social proof, but a handful of five-star reviews proves
    -- little: the average is pulled towards a neutral 3.5 as if 20 more
    -- reviews of 3.5 had been given, then mapped from 1..5 to 0..100.
    { id = "TRUST_REVIEWS", dimension = "trust", weight = 0.5,
      reads = { "review_avg", "review_count" },
      says = "reviews average {review_avg} over {review_count} reviews",
      score = function(avg, n)
        return 100 * ((avg * n + 3.5 * 20) / (n + 20) - 1) / 4
      end },
    -- A verified identity means a platform checked who they are.
    { id = "TRUST_VERIFIED", dimension = "trust", weight = 0.2,
      reads = { "verified" },
      says = function(ev)
        return (ev.verified == 1 or ev.verified == true) and "identity verified"
          or "identity not verified"
      end,
      score = function(v) return (v == true or v == 1) and 100 or 0 end },
    -- Years in business show staying power; ten years counts as full.
    { id = "TRUST_TENURE", dimension = "trust", weight = 0.3,
      reads = { "years_active" },
      says = "{years_active} years active",
      score = function(y) return 100 * min(y, 10) / 10 end },

    -- {== goodwill ==}
    -- Public sentiment (-1..1) is the goodwill a partner brings along.
    { id = "GOODWILL_SENTIMENT", dimension = "goodwill",
      reads = { "sentiment" },
      says = "public sentiment {sentiment} (-1..1)",
      score = function(s) return 50 * (s + 1) end },

    -- {== authority ==}
    -- Reach on a log scale: ten million followers is the ceiling, and
    -- each tenfold step is worth the same.
    { id = "AUTHORITY_REACH", dimension = "authority", weight = 0.6,
      reads = { "followers" },
      says = "{followers} followers",
      score = function(f) return 100 * min(1, log(1 + f, 10) / 7) end },
    -- Engagement shows the audience listens; 6% is excellent.
    { id = "AUTHORITY_ENGAGEMENT", dimension = "authority", weight = 0.4,
      reads = { "engagement_rate" },
      says = "engagement rate {engagement_rate}",
      score = function(e) return 100 * min(1, e / 0.06) end },

    -- {== community ==}
    -- Joint events (a dozen a year is full marks) and mutual professional
    -- connections (fifty) are how a partner deepens our network.
    { id = "COMMUNITY_EVENTS", dimension = "community", weight = 0.5,
      reads = { "community_events" },
      says = "{community_events} community events",
      score = function(n) return 100 * min(1, n / 12) end },
    { id = "COMMUNITY_CONNECTIONS", dimension = "community", weight = 0.5,
      reads = { "mutual_connections" },
      says = "{mutual_connections} mutual connections",
      score = function(n) return 100 * min(1, n / 50) end },

    -- {== empathy ==}
    -- A partner who talks about the audience rather than themselves
    -- serves the audience.
    { id = "EMPATHY_AUDIENCE_FOCUS", dimension = "empathy",
      reads = { "self_mention_ratio" },
      says = "{self_mention_ratio} of posts are about themselves",
      score = function(r) return 100 * (1 - r) end },

    -- {== shared values and identity ==}
    -- Stated values against ours (0..1), and how much of their audience
    -- is ours: shared identity is both.
    { id = "VALUES_ALIGNMENT", dimension = "shared_values", weight = 0.7,
      reads = { "values_alignment" },
      says = "values alignment {values_alignment}",
      score = function(a) return 100 * a end },
    { id = "VALUES_AUDIENCE_FIT", dimension = "shared_values", weight = 0.3,
      reads = { "audience_overlap" },
      says = "audience overlap {audience_overlap}",
      score = function(o) return 100 * o end },

    -- {== respect ==}
    -- Answering within four hours is full respect; three days is none.
    { id = "RESPECT_RESPONSIVENESS", dimension = "respect",
      reads = { "response_hours" },
      says = "answers in {response_hours} hours",
      score = function(h) return 100 * max(0, min(1, 1 - (h - 4) / 68)) end },

    -- {== collaboration ==}
    -- Past joint campaigns that succeeded, smoothed (one success and one
    -- failure assumed) so a single result does not decide; no history is
    -- a neutral 50.
    { id = "COLLAB_TRACK_RECORD", dimension = "collaboration",
      reads = { "collabs_past", "collabs_successful" },
      says = "{collabs_successful} of {collabs_past} past collaborations succeeded",
      score = function(past, ok)
        if past == 0 then return 50 end
        return 100 * (ok + 1) / (past + 2)
      end },

    -- {== red flags: the misuses of partnership ==}
    -- Controversial or problematic partners: three public controversies
    -- and the partnership is off, whatever else they bring.
    { id = "CONTROVERSY", flag = "veto", dimension = "goodwill",
      reads = { "controversy_count" },
      says = "{controversy_count} public controversies",
      when = function(n) return n >= 3 end },
    -- Bad sponsors: a sponsor with any controversy while the public mood
    -- about them is negative is never approved without a human look.
    { id = "SPONSOR_RISK", flag = "cap", cap = 60, dimension = "goodwill",
      kinds = { "sponsor" },
      reads = { "controversy_count", "sentiment" },
      says = "sponsor with {controversy_count} controversies and sentiment {sentiment}",
      when = function(n, s) return n >= 1 and s < 0 end },
    -- Insincere endorsements: endorsing what one does not use. Judged once
    -- there are five endorsements, when fewer than 30% are of products
    -- they use.
    { id = "INSINCERE_ENDORSEMENT", flag = "penalty", points = 15, dimension = "trust",
      reads = { "endorsements_total", "endorsements_used" },
      says = "uses {endorsements_used} of {endorsements_total} products endorsed",
      when = function(total, used) return total >= 5 and used / total < 0.3 end },
    -- Price inflation between partners: a quote more than half again over
    -- the market price.
    { id = "PRICE_INFLATION", flag = "penalty", points = 10, dimension = "respect",
      reads = { "price_quote", "market_price" },
      says = "quotes {price_quote} against a market price of {market_price}",
      when = function(q, m) return m > 0 and q > 1.5 * m end },
    -- Collaborations that became self-centred: most posts about
    -- themselves, not the audience.
    { id = "SELF_FOCUS", flag = "penalty", points = 5, dimension = "empathy",
      reads = { "self_mention_ratio" },
      says = "{self_mention_ratio} of posts are about themselves",
      when = function(r) return r > 0.6 end },
    -- The wrong KOL for the audience: less than a tenth of their audience
    -- is ours.
    { id = "AUDIENCE_MISMATCH", flag = "penalty", points = 10, dimension = "shared_values",
      reads = { "audience_overlap" },
      says = "{audience_overlap} of the audience overlaps ours",
      when = function(o) return o < 0.1 end },
    -- Bad influencer deals: a large account whose engagement is too good
    -- to be true has bought it.
    { id = "FAKE_ENGAGEMENT", flag = "penalty", points = 20, dimension = "authority",
      reads = { "followers", "engagement_rate" },
      says = "{followers} followers with an engagement rate of {engagement_rate}",
      when = function(f, e) return f > 100000 and e > 0.15 end },
    -- Values that drift apart: alignment fell by a fifth or more since the
    -- last assessment. Partners are re-assessed continuously; a drift asks
    -- for a human look.
    -- A first assessment has no previous one: the field is optional, and
    -- without it the drift is unknown.
    { id = "VALUES_DRIFT", flag = "review", dimension = "shared_values",
      reads = { "values_alignment", "values_alignment_prev" },
      optional = { "values_alignment_prev" },
      says = "values alignment fell from {values_alignment_prev} to {values_alignment}",
      when = function(now, before)
        if before == nil then return sc.unknown end
        return before - now >= 0.2
      end },
    -- Too few reviews to trust the reviews: a human looks first.
    { id = "LOW_EVIDENCE", flag = "review", dimension = "trust",
      reads = { "review_count" },
      says = "{review_count} reviews",
      when = function(n) return n < 5 end },
  },

  -- Portfolio rules see every partner of the run at once.
  portfolio = {
    -- Audience overlap among the chosen partners: two approved creators
    -- who reach the same people buy the same audience twice. The weaker
    -- one goes to review.
    { id = "AUDIENCE_OVERLAP", flag = "review", dimension = "community",
      kinds = { "influencer", "kol", "affiliate" }, reads = { "audience" },
      says = "audience {audience} overlaps {overlap} with {other}",
      check = function(set, raise)
        local chosen = {}
        for _, e in ipairs(set) do
          if e.verdict == "approve" and e.partner.audience then chosen[#chosen + 1] = e end
        end
        table.sort(chosen, function(a, b) return a.total > b.total end)
        for i = 2, #chosen do
          local a, na = segments(chosen[i].partner.audience)
          for j = 1, i - 1 do
            local b, nb = segments(chosen[j].partner.audience)
            local o = jaccard(a, na, b, nb)
            if o >= 0.6 and chosen[j].verdict == "approve" then
              raise(chosen[i], { overlap = math.floor(o * 100 + 0.5) / 100, other = chosen[j].id })
              break
            end
          end
        end
      end },
    -- Sponsors who conflict: two approved sponsors in the same category
    -- compete for the same slot. The weaker one goes to review.
    { id = "SPONSOR_CONFLICT", flag = "review", dimension = "shared_values",
      kinds = { "sponsor" }, reads = { "category" },
      says = "sponsor in {category}, as is {other}",
      check = function(set, raise)
        local best = {}
        local chosen = {}
        for _, e in ipairs(set) do
          if e.verdict == "approve" and e.partner.category then chosen[#chosen + 1] = e end
        end
        table.sort(chosen, function(a, b) return a.total > b.total end)
        for _, e in ipairs(chosen) do
          local c = e.partner.category
          if best[c] then raise(e, { other = best[c].id }) else best[c] = e end
        end
      end },
    -- Price inflation relative to similar partners: a quote more than
    -- twice the median quote of partners of the same kind and category
    -- (at least three of them).
    { id = "PEER_PRICE_INFLATION", flag = "penalty", points = 10, dimension = "respect",
      reads = { "kind", "category", "price_quote" },
      says = "quotes {price_quote}, {ratio} times the median {median} of {peers} similar partners",
      check = function(set, raise)
        local groups = {}
        for _, e in ipairs(set) do
          local p = e.partner
          if p.category and p.price_quote then
            local k = p.kind .. "/" .. p.category
            groups[k] = groups[k] or {}
            table.insert(groups[k], e)
          end
        end
        for _, g in pairs(groups) do
          if #g >= 3 then
            local quotes = {}
            for i, e in ipairs(g) do quotes[i] = e.partner.price_quote end
            local m = median(quotes)
            for _, e in ipairs(g) do
              if m > 0 and e.partner.price_quote > 2 * m then
                raise(e, { median = m, peers = #g,
                           ratio = math.floor(e.partner.price_quote / m * 10 + 0.5) / 10 })
              end
            end
          end
        end
      end },
  },
}

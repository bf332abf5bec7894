-- supplier.lua: vetting suppliers and sponsors.
--
-- A supplier or sponsor is judged on reliability and fair dealing rather
-- than reach: a steady record, fair prices, answers in good time, and no
-- scandal that would reach our customers. Reach (authority) is left out
-- entirely; collaboration and respect weigh more than in social_capital.
local sc = require "vouch.scorecard"

local min, max = math.min, math.max

return sc.scorecard {
  name = "supplier",
  description = "Suppliers and sponsors: reliability, fair prices, reputation",
  dimensions = {
    trust = 0.30, goodwill = 0.15, shared_values = 0.15, respect = 0.15,
    collaboration = 0.25,
  },
  -- The order they are shown and stored in.
  order = { "trust", "goodwill", "shared_values", "respect", "collaboration" },
  bands = { reject = 50, approve = 70 },
  max_missing = 0.3,

  rules = {
    -- Only suppliers and sponsors are judged here.
    { id = "NOT_A_SUPPLIER", flag = "veto", reads = { "kind" },
      says = "kind {kind} is not vetted by this scorecard",
      when = function(k) return k ~= "supplier" and k ~= "sponsor" end },

    -- Trust: reviews smoothed towards neutral (as in social_capital, but
    -- with 10 phantom reviews: business reviews are fewer), and tenure.
    { id = "REVIEWS", dimension = "trust", weight = 0.6,
      reads = { "review_avg", "review_count" },
      says = "reviews average {review_avg} over {review_count}",
      score = function(avg, n) return 100 * ((avg * n + 3.5 * 10) / (n + 10) - 1) / 4 end },
    { id = "TENURE", dimension = "trust", weight = 0.4, reads = { "years_active" },
      says = "{years_active} years in business",
      score = function(y) return 100 * min(y, 15) / 15 end },

    -- Goodwill: what the public thinks of them reaches us.
    { id = "REPUTATION", dimension = "goodwill", reads = { "sentiment" },
      says = "sentiment {sentiment}",
      score = function(s) return 50 * (s + 1) end },

    -- Shared values.
    { id = "VALUES", dimension = "shared_values", reads = { "values_alignment" },
      says = "values alignment {values_alignment}",
      score = function(a) return 100 * a end },

    -- Respect: fair prices are respect for the partner; at or under the
    -- market is full marks, 50% over is none.
    { id = "FAIR_PRICE", dimension = "respect", weight = 0.6,
      reads = { "price_quote", "market_price" },
      says = "quotes {price_quote} against a market price of {market_price}",
      score = function(q, m)
        if m <= 0 then return nil end  -- no market price: cannot judge
        return 100 * max(0, min(1, 1 - (q / m - 1) / 0.5))
      end },
    { id = "RESPONSIVENESS", dimension = "respect", weight = 0.4, reads = { "response_hours" },
      says = "answers in {response_hours} hours",
      score = function(h) return 100 * max(0, min(1, 1 - (h - 8) / 64)) end },

    -- Collaboration: delivery record, smoothed; no record is neutral.
    { id = "DELIVERY_RECORD", dimension = "collaboration",
      reads = { "collabs_past", "collabs_successful" },
      says = "{collabs_successful} of {collabs_past} past orders or campaigns went well",
      score = function(past, ok)
        if past == 0 then return 50 end
        return 100 * (ok + 1) / (past + 2)
      end },

    -- {== red flags ==}
    { id = "CONTROVERSY", flag = "veto", reads = { "controversy_count" },
      says = "{controversy_count} public controversies",
      when = function(n) return n >= 3 end },
    -- A sponsor under a cloud: any controversy with negative sentiment.
    { id = "SPONSOR_RISK", flag = "cap", cap = 55, kinds = { "sponsor" },
      reads = { "controversy_count", "sentiment" },
      says = "sponsor with {controversy_count} controversies and sentiment {sentiment}",
      when = function(n, s) return n >= 1 and s < 0 end },
    -- Price inflation between partners: far over the market price.
    { id = "PRICE_INFLATION", flag = "penalty", points = 15,
      reads = { "price_quote", "market_price" },
      says = "quotes {price_quote}, {ratio} times the market price",
      when = function(q, m)
        if m <= 0 then return sc.unknown end
        return q > 1.5 * m, { ratio = math.floor(q / m * 100 + 0.5) / 100 }
      end },
    { id = "NEW_SUPPLIER", flag = "review", reads = { "years_active" },
      says = "{years_active} years in business",
      when = function(y) return y < 1 end },
  },
}

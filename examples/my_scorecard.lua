-- my_scorecard.lua: a first scorecard of your own, from examples/README.md.
-- A campaign for a Thai food brand: we want creators whose audience is ours,
-- who answer quickly, and who have never been in a scandal.
local sc = require "vouch.scorecard"

return sc.scorecard {
  name = "thai_food_campaign",
  dimensions = { shared_values = 0.5, trust = 0.3, respect = 0.2 },
  bands = { reject = 45, approve = 70 },

  rules = {
    -- Half the audience in common is a perfect fit.
    { id = "AUDIENCE_FIT", dimension = "shared_values", reads = { "audience_overlap" },
      says = "{audience_overlap} of their audience is ours",
      score = function(o) return 200 * o end },
    -- Food is the segment we buy; anything else is a weaker fit.
    { id = "FOOD_AUDIENCE", dimension = "shared_values", reads = { "audience" },
      says = "audience: {audience}",
      score = function(a) return a:find("food") and 100 or 40 end },
    -- Reviews, pulled towards a neutral 3.5 until there are many.
    { id = "REVIEWS", dimension = "trust", reads = { "review_avg", "review_count" },
      says = "reviews average {review_avg} over {review_count}",
      score = function(avg, n) return 100 * ((avg * n + 3.5 * 20) / (n + 20) - 1) / 4 end },
    -- A day to answer is fine; three days is not.
    { id = "ANSWERS", dimension = "respect", reads = { "response_hours" },
      says = "answers in {response_hours} hours",
      score = function(h) return math.max(0, math.min(100, 100 - (h - 24) * 2)) end },

    { id = "SCANDAL", flag = "veto", reads = { "controversy_count" },
      says = "{controversy_count} controversies",
      when = function(n) return n >= 1 end },
    { id = "NOT_A_CREATOR", flag = "veto", reads = { "kind" },
      says = "a {kind}, not a creator",
      when = function(k) return k ~= "influencer" and k ~= "kol" end },
  },
}

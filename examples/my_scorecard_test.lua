-- my_scorecard_test.lua: what my_scorecard.lua must decide.
-- Run: ./vouch test examples
return {
  rules = "my_scorecard.lua",
  base = { id = "C", kind = "influencer", audience_overlap = 0.5, audience = "TH;food;travel",
           review_avg = 4.6, review_count = 150, response_hours = 12, controversy_count = 0 },
  cases = {
    { name = "a food creator with our audience is approved", verdict = "approve", total = { 90, 100 } },
    { name = "any scandal is a veto", partner = { controversy_count = 1 },
      verdict = "reject", reasons = { "SCANDAL" } },
    { name = "suppliers are not for this campaign", partner = { kind = "supplier" },
      verdict = "reject", reasons = { "NOT_A_CREATOR" } },
    { name = "a fitness audience is a weaker fit", partner = { audience = "US;fitness", audience_overlap = 0.2 },
      verdict = "review", reasons = { "AUDIENCE_FIT", "FOOD_AUDIENCE" } },
    { name = "slow answers cost respect", partner = { response_hours = 70 },
      dimensions = { respect = 8 }, reasons = { "ANSWERS" } },
    { name = "without an audience list the fit rests on the overlap alone",
      missing = { "audience" }, dimensions = { shared_values = 100 },
      outcomes = { FOOD_AUDIENCE = "indeterminate" } },
  },
}

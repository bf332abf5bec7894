-- influencer.lua: vetting influencers and KOLs for a campaign.
--
-- What matters for a creator is whether a real audience, the one we want,
-- listens to them and believes them. Audience quality and fake engagement
-- are checked hard; reach counts less than fit. Applies to the kinds
-- influencer, kol and affiliate; other kinds are out of scope and are
-- vetoed as such (vet them with social_capital or supplier).
--
-- Fields beyond social_capital's: audience_quality (share of the audience
-- that is real accounts, 0..1) and follower_growth (growth over the last
-- 30 days, 0.1 = 10%).
local sc = require "vouch.scorecard"

local min, max, log = math.min, math.max, math.log

return sc.scorecard {
  name = "influencer",
  description = "Influencers and KOLs: audience quality, fit and sincerity",
  dimensions = {
    trust = 0.25, authority = 0.15, shared_values = 0.30, empathy = 0.15,
    goodwill = 0.10, respect = 0.05,
  },
  -- The order they are shown and stored in.
  order = { "trust", "goodwill", "authority", "empathy", "shared_values", "respect" },
  bands = { reject = 45, approve = 70 },
  max_missing = 0.2,

  rules = {
    -- Only creators are judged here: any other kind is a mistake in the
    -- input, and must not pass silently.
    { id = "NOT_A_CREATOR", flag = "veto", reads = { "kind" },
      says = "kind {kind} is not vetted by this scorecard",
      when = function(k) return k ~= "influencer" and k ~= "kol" and k ~= "affiliate" end },

    -- Trust: a real audience is the first thing a creator sells. The share
    -- of real accounts maps 0.5..1 to 0..100 (half bots is worthless).
    { id = "AUDIENCE_QUALITY", dimension = "trust", weight = 0.6,
      reads = { "audience_quality" },
      says = "{audience_quality} of the audience are real accounts",
      score = function(q) return 100 * (q - 0.5) / 0.5 end },
    -- Sincerity: share of endorsed products they actually use.
    { id = "ENDORSEMENT_SINCERITY", dimension = "trust", weight = 0.4,
      reads = { "endorsements_total", "endorsements_used" },
      says = "uses {endorsements_used} of {endorsements_total} products endorsed",
      score = function(total, used)
        if total == 0 then return 50 end
        return 100 * used / total
      end },

    -- Authority: engagement matters more than reach for creators.
    { id = "REACH", dimension = "authority", weight = 0.4, reads = { "followers" },
      says = "{followers} followers",
      score = function(f) return 100 * min(1, log(1 + f, 10) / 7) end },
    { id = "ENGAGEMENT", dimension = "authority", weight = 0.6, reads = { "engagement_rate" },
      says = "engagement rate {engagement_rate}",
      score = function(e) return 100 * min(1, e / 0.05) end },
    -- A verified account earns a few points of authority.
    { id = "VERIFIED_BONUS", dimension = "authority", reads = { "verified" },
      says = "verified: {verified}",
      points = function(v) return (v == 1 or v == true) and 5 or 0 end },

    -- Shared values: the audience must be ours, and so must the values.
    { id = "AUDIENCE_FIT", dimension = "shared_values", weight = 0.6,
      reads = { "audience_overlap" },
      says = "audience overlap {audience_overlap}",
      score = function(o) return 100 * min(1, o / 0.5) end },
    { id = "VALUES", dimension = "shared_values", weight = 0.4,
      reads = { "values_alignment" },
      says = "values alignment {values_alignment}",
      score = function(a) return 100 * a end },

    -- Empathy: content for the audience, not about the creator.
    { id = "AUDIENCE_FOCUS", dimension = "empathy", reads = { "self_mention_ratio" },
      says = "{self_mention_ratio} of posts are about themselves",
      score = function(r) return 100 * (1 - r) end },

    -- Goodwill: how their audience feels about them.
    { id = "SENTIMENT", dimension = "goodwill", reads = { "sentiment" },
      says = "sentiment {sentiment}",
      score = function(s) return 50 * (s + 1) end },

    -- Respect: answering briefs on time; a day is fine for creators.
    { id = "RESPONSIVENESS", dimension = "respect", reads = { "response_hours" },
      says = "answers in {response_hours} hours",
      score = function(h) return 100 * max(0, min(1, 1 - (h - 24) / 96)) end },

    -- {== red flags ==}
    -- Bought engagement: large accounts engaging beyond 15%, or a real
    -- audience below 60%.
    { id = "FAKE_ENGAGEMENT", flag = "veto", reads = { "followers", "engagement_rate" },
      says = "{followers} followers engaging at {engagement_rate}",
      when = function(f, e) return f > 100000 and e > 0.15 end },
    { id = "BOT_AUDIENCE", flag = "cap", cap = 40, reads = { "audience_quality" },
      says = "only {audience_quality} of the audience are real accounts",
      when = function(q) return q < 0.6 end },
    -- Followers bought in bulk show as a sudden jump.
    { id = "FOLLOWER_SPIKE", flag = "review", reads = { "follower_growth" },
      says = "followers grew {follower_growth} in 30 days",
      when = function(g) return g > 0.5 end },
    -- The wrong KOL for the audience.
    { id = "AUDIENCE_MISMATCH", flag = "penalty", points = 15, reads = { "audience_overlap" },
      says = "{audience_overlap} of the audience overlaps ours",
      when = function(o) return o < 0.1 end },
    -- Insincere endorsers: many endorsements, few products used.
    { id = "INSINCERE_ENDORSEMENT", flag = "penalty", points = 15,
      reads = { "endorsements_total", "endorsements_used" },
      says = "uses {endorsements_used} of {endorsements_total} products endorsed",
      when = function(total, used) return total >= 5 and used / total < 0.3 end },
    { id = "CONTROVERSY", flag = "veto", reads = { "controversy_count" },
      says = "{controversy_count} public controversies",
      when = function(n) return n >= 3 end },
  },
}

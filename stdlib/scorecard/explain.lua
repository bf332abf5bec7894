-- scorecard/explain.lua: explaining a result (require
-- "vouch.scorecard.explain"): each rule's outcome and evidence, the text
-- it says, how adverse it is (impact) and the principal reasons ranked;
-- card:explain, card:score and card:reason_text.
local explain_m = {}

local type, pairs, ipairs = type, pairs, ipairs
local concat, sort = table.concat, table.sort
local huge = math.huge

local core = require "vouch.scorecard.core"
local Card, unknown, fmtnum, checkarg = core.Card, core.unknown, core.fmtnum, core.checkarg

--[[ {======================================================
  Explaining a result: outcomes, evidence, principal reasons
========================================================]]

--- The evidence of rule `r` for partner `p`: the fields it read, and the
--- fields of the table the rule returned as its second value.
local function evidence(r, p, extra)
  local ev = {}
  for _, f in ipairs(r.reads) do ev[f] = p[f] end
  if type(extra) == "table" and extra ~= unknown then
    for k, v in pairs(extra) do ev[k] = v end
  end
  return ev
end

local function says(r, ev, o)
  local tpl = r.says
  if type(tpl) == "function" then return tpl(ev, o) end
  if tpl == nil then
    local parts = {}
    for _, f in ipairs(r.reads) do parts[#parts + 1] = f .. " " .. fmtnum(ev[f]) end
    tpl = #parts > 0 and concat(parts, ", ") or r.id
    return tpl
  end
  return (tpl:gsub("{([%w_]+)}", function(k)
    local v = ev[k]
    if v == nil and o then v = o[k] end
    return v == nil and "?" or fmtnum(v)
  end))
end

-- How adverse an outcome is, in points of the total (vetoes and forced
-- reviews rank above any number of points). Only positive values count.
local function impact(card, o, r, result)
  local kind = o.outcome
  if kind == "veto" then return 1e9 end
  if kind == "review" then return 1e6 end
  if kind == "penalty" or kind == "cap" then return -(o.points or 0) end
  if kind == "indeterminate" then
    -- An unchecked veto forces review; missing scores matter most when
    -- they are why the verdict is review.
    if r.kind == "veto" then return 2e5 end
    if not r.share then return 0 end
    if result.missing > card.max_missing then return 1e5 * r.share end
    return r.share * 25
  end
  if kind == "score" then return r.share * (50 - o.points) end
  if kind == "points" and o.points < 0 then return -o.points * card.weights[r.dimension] end
  return 0
end

local function by_impact(a, b)
  if a.impact ~= b.impact then return a.impact > b.impact end
  return a.order < b.order
end

local function outcome_of(card, r, value, p, extra, result, lean)
  local o = { code = r.id, dimension = r.dimension, rule = r }
  if value == false then
    o.outcome = "indeterminate"
  elseif r.kind == "score" or r.kind == "points" then
    o.outcome, o.points = r.kind, value
  elseif value == 1 then
    o.outcome = r.kind
    if r.kind == "penalty" then o.points = -r.points
    elseif r.kind == "cap" then
      o.points = (result.uncapped and result.uncapped > r.cap) and (r.cap - result.uncapped) or 0
    elseif r.kind == "review" then o.points = 0 end
  else
    o.outcome = "pass"
  end
  if not lean then
    o.evidence = evidence(r, p, extra)
    o.text = says(r, o.evidence, o)
  end
  return o
end

--- Turn a compact result (from card.scorer) into the full explanation:
--- { id, name, kind, total, verdict, missing, dimensions, weakest,
---   outcomes = { {code, dimension, outcome, points, evidence, text, rank}... },
---   reasons = the principal outcomes, at most four, most adverse first }.
--- The returned tables are fresh; `r` may be reused afterwards. `lean`
--- leaves out the texts (and the evidence when the scorecard keeps none):
--- what storing a run needs.
function Card:explain(p, r, lean)
  local res = { id = p.id, name = p.name, kind = p.kind, total = r.total,
                verdict = r.verdict, missing = r.missing, dimensions = {},
                outcomes = {}, reasons = {}, partner = p }
  local weakest, low = nil, huge
  for _, d in ipairs(self.dimension_list) do
    local v = r.dimensions[d]
    res.dimensions[d] = v
    if v and v < low then weakest, low = d, v end
  end
  res.weakest = weakest
  local V, E = r.values, r.extra
  if not r.full then
    -- The fast scorer records no outcomes: score again with the full one
    -- (rules are pure functions of what they read, so the outcomes agree).
    local again = self.full_scorer(p, self:result())
    V, E = again.values, again.extra
  end
  for i, rule in ipairs(self.rules) do
    local v = V[i]
    if v ~= nil then
      res.outcomes[#res.outcomes + 1] = outcome_of(self, rule, v, p, E[i], r, lean)
    end
  end
  for _, hit in ipairs(r.portfolio or {}) do
    local o = { code = hit.rule.id, dimension = hit.rule.dimension, rule = hit.rule,
                outcome = hit.rule.kind, points = hit.points,
                evidence = evidence(hit.rule, p, hit.evidence) }
    if not lean then o.text = says(hit.rule, o.evidence, o) end
    res.outcomes[#res.outcomes + 1] = o
  end
  local cand = {}
  for k, o in ipairs(res.outcomes) do
    local x = impact(self, o, o.rule, r)
    o.impact, o.order = x, k
    if x > 0 then cand[#cand + 1] = o end
  end
  if #cand > 1 then sort(cand, by_impact) end
  for k = 1, math.min(4, #cand) do
    cand[k].rank = k
    res.reasons[k] = cand[k]
  end
  return res
end

--- Score one partner (a table of fields) and explain the result.
function Card:score(p)
  checkarg(1, p, "table", "score")
  local r = self.full_scorer(p, self:result())
  return self:explain(p, r)
end

--- The text of a stored outcome (a row of `reasons`: code, outcome,
--- points, and its evidence decoded), as card:explain words it; nil for a
--- code this scorecard does not have.
function Card:reason_text(o, evidence)
  local rule = self.index[o.code]
  if not rule then return nil end
  return says(rule, type(evidence) == "table" and evidence or {}, o)
end

--[[ }====================================================== ]]

explain_m.evidence, explain_m.says = evidence, says
explain_m.impact, explain_m.by_impact = impact, by_impact

return explain_m

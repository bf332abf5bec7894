-- scorecard/portfolio.lua: many partners at once (require
-- "vouch.scorecard.portfolio"): card:each streams compact results, the
-- portfolio rules judge the whole set, card:score_all explains it.
local portfolio_m = {}

local type, ipairs, error, load, assert = type, ipairs, error, load, assert
local format, concat = string.format, table.concat

local core = require "vouch.scorecard.core"
local Card, rows_of = core.Card, core.rows_of

--[[ {======================================================
  Many partners: streaming, portfolio rules
========================================================]]

--- Iterate over scored partners: `for p, r in card:each(rows) do ... end`.
--- `rows` is an iterator, an array or a source with :rows(). `r` is one
--- compact result reused for every partner (r.total, r.verdict,
--- r.dimensions, r.flags with r.nflags codes raised); copy what you keep,
--- or call card:explain(p, r) for the full story.
function Card:each(rows)
  local next_row = rows_of(rows, "each")
  local r, scorer = self:result(), self.scorer
  return function()
    local p = next_row()
    if p == nil then return nil end
    return p, scorer(p, r)
  end
end

local function verdict_of(card, r)
  if r.vetoed then return "reject" end
  local t = r.total
  if t == nil or r.missing > card.max_missing then return "review" end
  if t < card.bands.reject then return "reject" end
  if r.forced or t < card.bands.approve then return "review" end
  return "approve"
end

-- Whether portfolio rule `rule` can judge partner `p`: of its kinds, and
-- with every field it reads (a partner missing them is indeterminate for
-- it, and is left out of the set it sees).
local function judges(rule, p)
  if rule.kinds and not rule.kinds[p.kind] then return false end
  for _, f in ipairs(rule.reads) do
    if p[f] == nil and not rule.optional[f] then return false end
  end
  return true
end

--- A function(p) that says whether any portfolio rule of `card` can judge
--- `p` (as judges() does, each rule's kinds and fields written into its
--- code): only those partners are held until the whole set has been seen,
--- and a run asks it of every partner.
function portfolio_m.judge(card)
  local out, kinds = { "local K = ...", "return function(p)" }, {}
  for i, rule in ipairs(card.portfolio) do
    local conds = {}
    if rule.kinds then kinds[i] = rule.kinds; conds[1] = format("K[%d][p.kind]", i) end
    for _, f in ipairs(rule.reads) do
      if not rule.optional[f] then conds[#conds + 1] = format("p[%q] ~= nil", f) end
    end
    out[#out + 1] = format("if %s then return true end", #conds > 0 and concat(conds, " and ") or "true")
  end
  out[#out + 1] = "return false end"
  return assert(load(concat(out, "\n"), "=portfolio of " .. card.name, "t", {}))(kinds)
end

--- Apply the portfolio rules to `set`, an array of { partner = p, result = r }
--- whose results are compact results (each its own). Raised flags are added
--- to r.portfolio and change r.total and r.verdict.
function Card:apply_portfolio(set)
  for _, rule in ipairs(self.portfolio) do
    local view = {}
    for k, entry in ipairs(set) do
      local p, r = entry.partner, entry.result
      if judges(rule, p) then
        view[#view + 1] = { id = p.id, name = p.name, kind = p.kind, partner = p,
                            total = r.total, verdict = r.verdict, index = k }
      end
    end
    local function raise(entry, evidence, points)
      if type(entry) ~= "table" or not entry.index then
        error("raise: argument 1 must be an entry of the set", 2)
      end
      local r = set[entry.index].result
      local hit = { rule = rule, evidence = evidence }
      r.portfolio = r.portfolio or {}
      r.portfolio[#r.portfolio + 1] = hit
      if r.total then
        if rule.kind == "penalty" then
          local before = r.total
          r.total = math.max(0, r.total - (points or rule.points))
          hit.points = r.total - before
        elseif rule.kind == "cap" and r.total > rule.cap then
          hit.points = rule.cap - r.total
          r.total = rule.cap
        end
      end
      if rule.kind == "veto" then r.vetoed = true end
      if rule.kind == "review" then r.forced = true; hit.points = 0 end
      r.verdict = verdict_of(self, r)
      entry.total, entry.verdict = r.total, r.verdict
    end
    rule.check(view, raise)
  end
end

--- Score a whole set in memory (portfolio rules included) and explain every
--- partner. Returns an array of explanations, in input order.
function Card:score_all(rows)
  local set = {}
  for p in rows_of(rows, "score_all") do
    set[#set + 1] = { partner = p, result = self.full_scorer(p, self:result()) }
  end
  if #self.portfolio > 0 then self:apply_portfolio(set) end
  local out = {}
  for k, e in ipairs(set) do out[k] = self:explain(e.partner, e.result) end
  return out
end

--[[ }====================================================== ]]

return portfolio_m

-- scorecard/spec.lua: the scorecard spec and its checks (require
-- "vouch.scorecard.spec"): keys checked with a did-you-mean, rules
-- normalised, and the `scorecard{}` constructor, which compiles the card
-- with vouch.scorecard.compile.
local spec_m = {}

local type, pairs, ipairs, next, tostring, error, load =
  type, pairs, ipairs, next, tostring, error, load
local setmetatable = setmetatable
local concat, sort = table.concat, table.sort
local format, byte = string.format, string.byte

local core = require "vouch.scorecard.core"
local compile_m = require "vouch.scorecard.compile"
local FLAGS, Card, EXPR_HELPERS = core.FLAGS, core.Card, core.helpers
local INTERNAL, KEYWORDS = core.INTERNAL, core.KEYWORDS
local fail, checkarg = core.fail, core.checkarg
local compile, guarded = compile_m.compile, compile_m.guarded

--[[ {======================================================
  Checking and normalising a scorecard
========================================================]]

-- An expression with its string literals and comments blanked out, so
-- that only names and operators are left to check.
local function strip_strings(src)
  local out, i, n = {}, 1, #src
  while i <= n do
    local c = src:sub(i, i)
    local eq = src:match("^%[(=*)%[", i)
    if eq then
      local close = src:find("]" .. eq .. "]", i, true)
      out[#out + 1] = '""'
      i = close and close + #eq + 2 or n + 1
    elseif src:sub(i, i + 1) == "--" then
      local leq = src:match("^%-%-%[(=*)%[", i)
      local stop = leq and src:find("]" .. leq .. "]", i, true) or src:find("\n", i, true)
      i = stop and stop + (leq and #leq + 2 or 1) or n + 1
    elseif c == '"' or c == "'" then
      local j = i + 1
      while j <= n and src:sub(j, j) ~= c do
        if src:sub(j, j) == "\\" then j = j + 1 end
        j = j + 1
      end
      out[#out + 1] = '""'
      i = j + 1
    else
      out[#out + 1] = c
      i = i + 1
    end
  end
  return concat(out)
end


--- The candidate closest to `word` by edit distance, when it is close
--- enough to be a likely slip (a third of the word's length, at least 1);
--- else nil. `candidates` is a list or a set of strings.
local function closest(word, candidates)
  word = tostring(word)
  local best, bestd = nil, math.max(1, #word // 3) + 1
  local function consider(c)
    if type(c) ~= "string" then return end
    -- Levenshtein distance over bytes, two rows at a time.
    local prev, cur = {}, {}
    for j = 0, #c do prev[j] = j end
    for i = 1, #word do
      cur[0] = i
      local wi = byte(word, i)
      for j = 1, #c do
        local cost = wi == byte(c, j) and 0 or 1
        local d = prev[j - 1] + cost
        if prev[j] + 1 < d then d = prev[j] + 1 end
        if cur[j - 1] + 1 < d then d = cur[j - 1] + 1 end
        cur[j] = d
      end
      prev, cur = cur, prev
    end
    local d = prev[#c]
    if d < bestd or (d == bestd and best and c < best) then best, bestd = c, d end
  end
  if candidates[1] ~= nil then
    for _, c in ipairs(candidates) do consider(c) end
  else
    for c in pairs(candidates) do consider(c) end
  end
  return best
end

--- " (did you mean 'x'?)" for `word` among `candidates`, or "".
local function did_you_mean(word, candidates)
  local c = closest(word, candidates)
  return c and format(" (did you mean '%s'?)", c) or ""
end

--- Refuse a key of table `t` that is not in the set `known`: a misspelt
--- key (`verdikt`) would otherwise pass silently and test nothing.
--- Returns nil, "unknown key 'verdikt' (did you mean 'verdict'?)" or true.
local function check_keys(t, known)
  local bad = {}
  for k in pairs(t) do
    if type(k) ~= "number" and not known[k] then bad[#bad + 1] = tostring(k) end
  end
  if #bad == 0 then return true end
  sort(bad)
  return nil, format("unknown key '%s'%s", bad[1], did_you_mean(bad[1], known))
end

-- The keys a scorecard spec and its rules may have.
local SPEC_KEYS, RULE_KEYS = {}, {}
for w in ("name description dimensions order bands max_missing rules portfolio evidence store")
         :gmatch("%S+") do SPEC_KEYS[w] = true end
for w in ("id says why dimension weight reads optional kinds check flag when points cap score")
         :gmatch("%S+") do RULE_KEYS[w] = true end

local function set_of(list, what, where)
  if list == nil then return nil end
  if type(list) == "string" then list = { list } end
  if type(list) ~= "table" then fail(format("%s: '%s' must be a list of strings", where, what), 4) end
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

local function normalise_rule(r, i, card, portfolio)
  local where = format("scorecard '%s': %s %s", card.name, portfolio and "portfolio rule" or "rule",
                       type(r) == "table" and r.id and ("'" .. tostring(r.id) .. "'") or ("#" .. i))
  if type(r) ~= "table" then fail(where .. ": a rule must be a table", 3) end
  if type(r.id) ~= "string" or not r.id:match("^[A-Z][A-Z0-9_]*$") then
    fail(where .. ": 'id' must be an upper-case reason code like 'LOW_EVIDENCE'", 3)
  end
  local known, why = check_keys(r, RULE_KEYS)
  if not known then fail(where .. ": " .. why, 3) end
  local n = { id = r.id, says = r.says, why = r.why, dimension = r.dimension,
              weight = r.weight or 1, source = r }
  if n.dimension ~= nil and not card.weights[n.dimension] then
    fail(format("%s: dimension '%s' is not one of this scorecard's dimensions%s", where,
                tostring(n.dimension), did_you_mean(tostring(n.dimension), card.weights)), 3)
  end
  if type(n.weight) ~= "number" or n.weight <= 0 then
    fail(where .. ": 'weight' must be a positive number", 3)
  end
  local reads = r.reads
  if type(reads) == "string" then reads = { reads } end
  if type(reads) ~= "table" or (#reads == 0 and not portfolio) then
    fail(where .. ": 'reads' must list the partner fields the rule looks at", 3)
  end
  n.reads = {}
  for k, f in ipairs(reads) do
    if type(f) ~= "string" then fail(format("%s: reads[%d] must be a field name", where, k), 3) end
    n.reads[k] = f
  end
  n.optional = set_of(r.optional, "optional", where) or {}
  n.kinds = set_of(r.kinds, "kinds", where)
  if portfolio then
    if type(r.check) ~= "function" then
      fail(where .. ": a portfolio rule needs 'check = function(set, raise)'", 3)
    end
    n.check = r.check
  end
  if r.flag ~= nil then
    if not FLAGS[r.flag] then
      local list = vouch.REASON.flag_list
      fail(format("%s: 'flag' must be '%s' or '%s'", where,
                  concat(list, "', '", 1, #list - 1), list[#list]), 3)
    end
    n.kind = r.flag
    if not portfolio then
      if type(r.when) == "string" then n.expr = r.when
      elseif type(r.when) == "function" then n.fn = r.when
      else fail(where .. ": a flag needs 'when = function(...)' or an expression", 3) end
    end
    if r.flag == "penalty" then
      if type(r.points) ~= "number" or not (r.points >= 0) then
        fail(where .. ": a penalty needs 'points', a number >= 0 taken off the total", 3)
      end
      n.points = r.points
    elseif r.flag == "cap" then
      if type(r.cap) ~= "number" or not (r.cap >= 0) then
        fail(where .. ": a cap needs 'cap', the highest total allowed (a number >= 0)", 3)
      end
      n.cap = r.cap
    end
  elseif portfolio then
    fail(where .. ": a portfolio rule needs 'flag' (veto, penalty, cap or review)", 3)
  elseif type(r.score) == "function" then
    n.kind, n.fn = "score", r.score
  elseif type(r.score) == "string" then
    n.kind, n.expr = "score", r.score
  elseif type(r.points) == "function" then
    n.kind, n.fn = "points", r.points
  elseif type(r.points) == "string" then
    n.kind, n.expr = "points", r.points
  else
    fail(where .. ": give 'score = function' (0..100), 'points = function' or 'flag'", 3)
  end
  if (n.kind == "score" or n.kind == "points") and not n.dimension then
    fail(where .. ": a " .. n.kind .. " rule needs a 'dimension'", 3)
  end
  if n.expr then
    -- An expression is compiled into the scorer itself: its fields are
    -- local variables there, so they must be named like them.
    for _, f in ipairs(n.reads) do
      if not f:match("^[%a_][%w_]*$") or KEYWORDS[f] or EXPR_HELPERS[f] or INTERNAL[f]
         or f:match("^[fR]%d+$") then
        fail(format("%s: an expression rule reads fields named like Lua variables " ..
                    "(not a keyword or a helper); '%s' is not", where, f), 3)
      end
    end
    local ok, err = load(format("local %s\nreturn (%s)", concat(n.reads, ", "), n.expr),
                         "=" .. n.id, "t", {})
    if not ok then fail(format("%s: bad expression: %s", where, err), 3) end
    -- It may name only what it reads and the helpers (it is compiled where
    -- every field the scorecard reads is in scope).
    local reads = {}
    for _, f in ipairs(n.reads) do reads[f] = true end
    local bare = strip_strings(n.expr)
    for pos, name in bare:gmatch("()%f[%w_]([%a_][%w_]*)") do
      local before = bare:sub(1, pos - 1):match("([%.:]*)%s*$")
      local member = before == "." or before == ":"
      if not member and not reads[name] and not EXPR_HELPERS[name] and not KEYWORDS[name] then
        fail(format("%s: the expression uses '%s', which the rule does not read " ..
                    "(add it to 'reads')", where, name), 3)
      end
    end
  end
  return n
end

--[[ }====================================================== ]]



--- Make a scorecard from its spec (see the file header). Raises, naming the
--- rule, when the spec is malformed.
-- spec.name: the scorecard's name (stored with each run)
-- spec.dimensions: { dimension = weight, ... }: any names (identifiers),
--   weights summing to 1; or a list of { name, weight } pairs, in order
-- spec.order: the dimensions in the order they are shown and stored
--   (default: the order of the list, or the names sorted)
-- spec.bands: { reject = 40, approve = 65 }: total < reject is reject,
--   total >= approve is approve, review between
-- spec.max_missing: the share of weight that may be indeterminate before
--   the verdict becomes review (default 0.25)
-- spec.rules, spec.portfolio: lists of rules
-- spec.evidence: accepted and ignored (a run stores no evidence but a
--   portfolio flag's: explain recomputes it by replay)
-- spec.store: accepted and ignored (a run stores the principal reasons
--   and the raised flags; the other outcomes are recomputed by replay)
function spec_m.scorecard(spec)
  checkarg(1, spec, "table", "scorecard")
  if type(spec.name) ~= "string" or spec.name == "" then
    error("scorecard: 'name' must be a non-empty string", 2)
  end
  local card = setmetatable({ name = spec.name, description = spec.description,
    spec = spec, weights = {}, base = {}, dimension_list = {}, rules = {},
    portfolio = {}, index = {},
    max_missing = spec.max_missing or 0.25 }, Card)
  local where = "scorecard '" .. spec.name .. "'"
  local known, why = check_keys(spec, SPEC_KEYS)
  if not known then error(where .. ": " .. why, 2) end
  if type(spec.dimensions) ~= "table" or next(spec.dimensions) == nil then
    error(where .. ": 'dimensions' must map dimension names to weights", 2)
  end
  local total, listed = 0, {}
  local function dimension(name, w)
    if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") then
      error(format("%s: a dimension's name must be an identifier (got %s)", where,
                   type(name) == "string" and ("'" .. name .. "'") or type(name)), 3)
    end
    if card.weights[name] then error(format("%s: dimension '%s' is named twice", where, name), 3) end
    if type(w) == "table" then card.base[name] = w.base; w = w.weight end
    if type(w) ~= "number" or w < 0 then
      error(format("%s: the weight of '%s' must be a number >= 0", where, name), 3)
    end
    card.weights[name] = w
    listed[#listed + 1] = name
  end
  if #spec.dimensions > 0 then
    for k, pair in ipairs(spec.dimensions) do
      if type(pair) ~= "table" then
        error(format("%s: dimensions[%d] must be a { name, weight } pair", where, k), 2)
      end
      dimension(pair[1] or pair.name, pair[2] or pair.weight)
    end
  else
    for name, w in pairs(spec.dimensions) do dimension(name, w) end
    sort(listed)
  end
  if spec.order ~= nil then
    if type(spec.order) ~= "table" or #spec.order ~= #listed then
      error(format("%s: 'order' must list each of the %d dimensions once", where, #listed), 2)
    end
    local seen = {}
    for _, d in ipairs(spec.order) do
      if not card.weights[d] then
        error(format("%s: 'order' names '%s', which is not a dimension%s", where, tostring(d),
                     did_you_mean(tostring(d), listed)), 2)
      end
      if seen[d] then error(format("%s: 'order' names '%s' twice", where, d), 2) end
      seen[d] = true
    end
    listed = spec.order
  end
  for _, d in ipairs(listed) do
    card.dimension_list[#card.dimension_list + 1] = d
    total = total + card.weights[d]
  end
  if math.abs(total - 1) > 1e-9 then
    error(format("%s: dimension weights must sum to 1 (they sum to %.17g)", where, total), 2)
  end
  card.total_weight = total
  local bands = spec.bands or {}
  card.bands = { reject = bands.reject or 40, approve = bands.approve or 65 }
  if type(card.bands.reject) ~= "number" or type(card.bands.approve) ~= "number"
     or card.bands.reject > card.bands.approve then
    error(where .. ": 'bands' needs numbers reject <= approve", 2)
  end
  if type(spec.rules) ~= "table" or #spec.rules == 0 then
    error(where .. ": 'rules' must be a non-empty list", 2)
  end
  for i, r in ipairs(spec.rules) do
    local n = normalise_rule(r, i, card, false)
    if card.index[n.id] then error(format("%s: duplicate rule id '%s'", where, n.id), 2) end
    n.index = i
    card.rules[i] = n
    card.index[n.id] = n
  end
  for i, r in ipairs(spec.portfolio or {}) do
    local n = normalise_rule(r, i, card, true)
    if card.index[n.id] then error(format("%s: duplicate rule id '%s'", where, n.id), 2) end
    n.portfolio = true
    card.portfolio[i] = n
    card.index[n.id] = n
  end
  -- Each rule's share of its dimension, for ranking reasons.
  local dimw = {}
  for _, r in ipairs(card.rules) do
    if r.kind == "score" or r.kind == "points" then
      dimw[r.dimension] = (dimw[r.dimension] or 0) + r.weight
    end
  end
  for _, r in ipairs(card.rules) do
    if r.kind == "score" or r.kind == "points" then
      r.share = card.weights[r.dimension] * r.weight / dimw[r.dimension]
    end
  end
  card.scorer = guarded(card, compile(card, false))
  card.full_scorer = guarded(card, compile(card, true))
  return card
end


--- A fresh result record for `card.scorer(p, r)`; reuse it across partners
--- when streaming (each call overwrites it).
function Card:result()
  return { values = {}, extra = {}, dimensions = {}, flags = {}, nflags = 0 }
end


spec_m.closest, spec_m.did_you_mean, spec_m.check_keys = closest, did_you_mean, check_keys

return spec_m

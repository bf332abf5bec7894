-- scorecard.lua: partner-vetting scorecards (require "vouch.scorecard").
--
-- A scorecard is a plain table: dimensions with weights, verdict bands,
-- rules and red flags. Each rule names the partner fields it reads and gets
-- them as arguments, so a rule cannot look at undeclared data, its evidence
-- is exactly what it read, and a rule whose inputs are missing is
-- indeterminate without being called. Missing data is never zero.
--
--   local sc = require "vouch.scorecard"
--   return sc.scorecard {
--     name = "mine",
--     dimensions = { trust = 0.6, respect = 0.4 },
--     bands = { reject = 40, approve = 65 },
--     rules = {
--       { id = "TRUST_REVIEWS", dimension = "trust", reads = {"review_avg"},
--         score = function(avg) return (avg - 1) * 25 end },
--       { id = "CONTROVERSY", flag = "veto", reads = {"controversy_count"},
--         when = function(n) return n >= 3 end },
--     },
--   }
--
-- The scorecard is compiled once into one Lua function (no per-partner
-- closures, tables or strings), so scoring costs little more than the rule
-- bodies themselves; explanations, evidence and principal reasons are only
-- built when asked for.
local M = {}

local type, pairs, ipairs, next, tostring, tonumber, select, error, pcall, load =
  type, pairs, ipairs, next, tostring, tonumber, select, error, pcall, load
local setmetatable, getmetatable = setmetatable, getmetatable
local concat, sort, insert = table.concat, table.sort, table.insert
local format, byte = string.format, string.byte
local floor, huge = math.floor, math.huge


--- What a flag does when raised: the record's flag outcomes (vouch.REASON,
--- defined once by the host with the stored reason's format).
local FLAGS = vouch.REASON.flags

--- A flag's `when` returns this when it cannot decide from present data.
M.unknown = setmetatable({}, { __tostring = function() return "unknown" end,
                               __name = "vouch.scorecard.unknown" })

local Card = {}
Card.__index = Card
M.Card = Card

-- What an expression rule may use besides the fields it reads.
local function clamp(x, a, b) if x < a then return a elseif x > b then return b end return x end
local EXPR_HELPERS = { min = math.min, max = math.max, abs = math.abs, floor = math.floor,
  ceil = math.ceil, sqrt = math.sqrt, log = math.log, exp = math.exp, huge = math.huge,
  clamp = clamp, unknown = M.unknown, math = math, string = string }
M.helpers = EXPR_HELPERS
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

-- Names the generated scorer uses for itself.
local INTERNAL = {}
for w in ("v e s w wa wd pt hp d u verdict t tw miss pen cap veto rev nf n0 p r i " ..
          "D F V E R K H UNKNOWN"):gmatch("%S+") do INTERNAL[w] = true end
local KEYWORDS = {}
for w in ("and break do else elseif end false for function goto if in local nil not or " ..
          "repeat return then true until while"):gmatch("%a+") do KEYWORDS[w] = true end


--[[ {======================================================
  Checking and normalising a scorecard
========================================================]]

local function fail(msg, level) error(msg, (level or 1) + 1) end

local function checkarg(n, v, want, fname)
  if type(v) ~= want then
    error(format("bad argument #%d to '%s' (%s expected, got %s)", n, fname, want,
                 v == nil and "no value" or type(v)), 3)
  end
end

--- The candidate closest to `word` by edit distance, when it is close
--- enough to be a likely slip (a third of the word's length, at least 1);
--- else nil. `candidates` is a list or a set of strings.
function M.closest(word, candidates)
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
function M.did_you_mean(word, candidates)
  local c = M.closest(word, candidates)
  return c and format(" (did you mean '%s'?)", c) or ""
end

--- Refuse a key of table `t` that is not in the set `known`: a misspelt
--- key (`verdikt`) would otherwise pass silently and test nothing.
--- Returns nil, "unknown key 'verdikt' (did you mean 'verdict'?)" or true.
function M.check_keys(t, known)
  local bad = {}
  for k in pairs(t) do
    if type(k) ~= "number" and not known[k] then bad[#bad + 1] = tostring(k) end
  end
  if #bad == 0 then return true end
  sort(bad)
  return nil, format("unknown key '%s'%s", bad[1], M.did_you_mean(bad[1], known))
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
  local known, why = M.check_keys(r, RULE_KEYS)
  if not known then fail(where .. ": " .. why, 3) end
  local n = { id = r.id, says = r.says, why = r.why, dimension = r.dimension,
              weight = r.weight or 1, source = r }
  if n.dimension ~= nil and not card.weights[n.dimension] then
    fail(format("%s: dimension '%s' is not one of this scorecard's dimensions%s", where,
                tostring(n.dimension), M.did_you_mean(tostring(n.dimension), card.weights)), 3)
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
      if type(r.points) ~= "number" or r.points < 0 then
        fail(where .. ": a penalty needs 'points', a number >= 0 taken off the total", 3)
      end
      n.points = r.points
    elseif r.flag == "cap" then
      if type(r.cap) ~= "number" then fail(where .. ": a cap needs 'cap', the highest total allowed", 3) end
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


--[[ {======================================================
  Compiling: one generated function scores a partner
========================================================]]

-- The generated scorer has the shape
--   function(p, r) <locals for each field read> <each dimension's rules>
--     <each flag> <total and verdict> end
-- and writes into the reusable result `r`: r.dimensions (nil when
-- indeterminate), r.flags (codes raised, in order; r.nflags of them),
-- r.total, r.verdict, r.missing. Two are made: the fast one for bulk
-- scoring, and the full one (`full` true), which also records each rule's
-- outcome in r.values[i] (a number for score and points rules; 1 raised,
-- 0 passed for flags; false indeterminate; nil not applicable) and its
-- second return value in r.extra[i], for explanations. Rules are pure
-- functions of what they read, so both give the same scores.
local function compile(card, full)
  local out, fields, nfields = {}, {}, 0
  local function emit(s, ...) out[#out + 1] = select("#", ...) > 0 and format(s, ...) or s end
  -- A field is a local of the scorer, named after it when it can be (so an
  -- expression rule's text is used as it is), else f1, f2...
  local function lname(f)
    if f:match("^[%a_][%w_]*$") and not KEYWORDS[f] and not EXPR_HELPERS[f]
       and not INTERNAL[f] and not f:match("^[fR]%d+$") then
      return f
    end
    return "f" .. fields[f]
  end
  local function field(f)
    if not fields[f] then nfields = nfields + 1; fields[f] = nfields end
    return lname(f)
  end
  local rules = card.rules
  for _, r in ipairs(rules) do for _, f in ipairs(r.reads) do field(f) end end
  for _, r in ipairs(rules) do if r.kinds then field("kind") end end
  local many_fields = nfields > 150   -- too many for locals: read p[...] directly
  local function ref(f) return many_fields and format("p[%q]", f) or field(f) end
  local direct = #rules <= 180        -- rule functions as upvalues R1, R2...
  -- An expression rule, inline: a function of its fields, called at once,
  -- is what Lua makes of `(function(a, b) return EXPR end)(f1, f2)`; here
  -- the fields are bound as locals of a block instead, with no call.
  local function inline(r)
    local args = {}
    for k, f in ipairs(r.reads) do args[k] = ref(f) end
    if not many_fields then return "(" .. r.expr .. ")" end
    return format("nil; do local %s = %s; v = (%s) end", concat(r.reads, ", "), concat(args, ", "), r.expr)
  end

  local body = {}
  local function b(s, ...) body[#body + 1] = select("#", ...) > 0 and format(s, ...) or s end
  -- A rule's call: inputs checked for nil, then the function called with
  -- them. Missing inputs: a score is nil (indeterminate); a flag is
  -- unknown, since nil from a flag's `when` means it passed.
  local function call(i, r)
    local conds, args = {}, {}
    for k, f in ipairs(r.reads) do
      args[k] = ref(f)
      if not r.optional[f] then conds[#conds + 1] = ref(f) .. " ~= nil" end
    end
    local callexpr = format(direct and "R%d(%s)" or "R[%d](%s)", i, concat(args, ", "))
    if r.expr then callexpr = inline(r) end
    local res = full and "v, e" or "v"
    local none = (r.kind == "score" or r.kind == "points") and "nil" or "UNKNOWN"
    if #conds > 0 then
      b("if %s then %s = %s else %s = %s%s end", concat(conds, " and "), res, callexpr,
        res, none, full and ", nil" or "")
    else
      b("%s = %s", res, callexpr)
    end
    if full then b("E[%d] = e", i) end
  end
  local function set(i, what) if full then b("V[%d] = %s", i, what) end end
  local function applies(i, r)
    if r.kinds then b("if K[%d][%s] then", i, ref("kind")) end
  end
  local function applies_end(i, r)
    if r.kinds then
      b("else")
      set(i, "nil")
      if full then b("E[%d] = nil", i) end
      b("end")
    end
  end

  b("local v, e, s, w, wa, wd, pt, hp, d, u, verdict")
  b("local t, tw, miss, pen, cap, veto, rev, nf")
  local TW, MAXMISS = format("%.17g", card.total_weight), format("%.17g", card.max_missing)
  local REJECT, APPROVE = format("%.17g", card.bands.reject), format("%.17g", card.bands.approve)

  -- The fast scorer first tries the common case: every field present and
  -- every rule determinate. It skips the bookkeeping of missing data, and
  -- falls back to the general path (from the start: rules are pure) as
  -- soon as a rule says it cannot decide.
  local eligible = not full and not many_fields
  for _, r in ipairs(rules) do
    if r.kinds and (r.kind == "score" or r.kind == "points") then eligible = false end
  end
  if eligible then
    local req, seen = {}, {}
    for _, r in ipairs(rules) do
      for _, f in ipairs(r.reads) do
        if not r.optional[f] and not seen[f] then seen[f] = true; req[#req + 1] = ref(f) .. " ~= nil" end
      end
    end
    local function fcall(i, r)
      if r.expr then b("v = %s", inline(r)); return end
      local args = {}
      for k, f in ipairs(r.reads) do args[k] = ref(f) end
      b(direct and "v = R%d(%s)" or "v = R[%d](%s)", i, concat(args, ", "))
    end
    b("if %s then", #req > 0 and concat(req, " and ") or "true")
    b("t, pen, cap, veto, rev, nf = 0, 0, huge, false, false, 0")
    for _, dim in ipairs(card.dimension_list) do
      local dw = card.weights[dim]
      local nscore, npoints, W = 0, 0, 0
      local members = {}
      for i, r in ipairs(rules) do
        if r.dimension == dim and (r.kind == "score" or r.kind == "points") then members[#members + 1] = i end
      end
      if #members == 1 and rules[members[1]].kind == "score" then
        -- One score rule is the dimension. NaN is caught once, on the total.
        fcall(members[1], rules[members[1]])
        b("if v == nil then goto slow elseif v < 0 then v = 0 elseif v > 100 then v = 100 end")
        b("D[%q] = v; t = t + %.17g * v", dim, dw)
        goto next_dim
      end
      b("s, pt = 0, 0")
      for i, r in ipairs(rules) do
        if r.dimension == dim and (r.kind == "score" or r.kind == "points") then
          fcall(i, r)
          b("if v == nil or v ~= v then goto slow end")
          if r.kind == "score" then
            nscore = nscore + 1
            W = W + r.weight
            b("if v < 0 then v = 0 elseif v > 100 then v = 100 end")
            b("s = s + %.17g * v", r.weight)
          else
            npoints = npoints + 1
            b("pt = pt + v")
          end
        end
      end
      if nscore > 0 or npoints > 0 then
        if nscore > 0 then b("d = s / %.17g", W) else b("d = %.17g", card.base[dim] or 0) end
        if npoints > 0 then b("d = d + pt; if d < 0 then d = 0 elseif d > 100 then d = 100 end") end
        b("D[%q] = d; t = t + %.17g * d", dim, dw)
      else
        b("D[%q] = nil; goto slow", dim)
      end
      ::next_dim::
    end
    for i, r in ipairs(rules) do
      if r.kind ~= "score" and r.kind ~= "points" then
        if r.kinds then b("if K[%d][%s] then", i, ref("kind")) end
        if r.expr and not many_fields and not r.expr:find("unknown", 1, true) then
          -- An expression that cannot answer unknown is the condition itself.
          b("if %s then nf = nf + 1; F[nf] = %q", inline(r), r.id)
        else
          fcall(i, r)
          b("if v then if v == UNKNOWN then goto slow end; nf = nf + 1; F[nf] = %q", r.id)
        end
        if r.kind == "veto" then b("  veto = true")
        elseif r.kind == "penalty" then b("  pen = pen + %.17g", r.points)
        elseif r.kind == "cap" then b("  if %.17g < cap then cap = %.17g end", r.cap, r.cap)
        else b("  rev = true") end
        b("end")
        if r.kinds then b("end") end
      end
    end
    b("if t ~= t then goto slow end")
    b("t = t - pen")
    b("if t < 0 then t = 0 elseif t > 100 then t = 100 end")
    b("u = t")
    b("if t > cap then t = cap end")
    b("if veto or t < %s then verdict = 'reject'", REJECT)
    b("elseif rev or t < %s then verdict = 'review'", APPROVE)
    b("else verdict = 'approve' end")
    b("local n0 = r.nflags")
    b("if n0 > nf then for i = nf + 1, n0 do F[i] = nil end end")
    b("r.total, r.verdict, r.missing, r.nflags, r.uncapped, r.vetoed, r.forced = t, verdict, 0, nf, u, veto, rev")
    b("return r")
    b("end")
    b("::slow::")
  end
  b("t, tw, miss, pen, cap, veto, rev, nf = 0, 0, 0, 0, huge, false, false, 0")
  for _, dim in ipairs(card.dimension_list) do
    local dw = card.weights[dim]
    local members, nscore = {}, 0
    for i, r in ipairs(rules) do
      if r.dimension == dim and (r.kind == "score" or r.kind == "points") then
        members[#members + 1] = i
        if r.kind == "score" then nscore = nscore + 1 end
      end
    end
    b("-- dimension %s (weight %s)", dim, tostring(dw))
    local only = members[1]
    if #members == 1 and nscore == 1 and not rules[only].kinds then
      -- One score rule makes the dimension: no mean to take.
      local r = rules[only]
      b("-- rule %d %s", only, r.id)
      call(only, r)
      b("if v ~= nil and v == v then")
      b("  if v < 0 then v = 0 elseif v > 100 then v = 100 end")
      set(only, "v")
      b("  t = t + %.17g * v; tw = tw + %.17g", dw, dw)
      b("else")
      set(only, "false")
      b("  v = nil; miss = miss + %.17g end", dw)
      b("D[%q] = v", dim)
    else
      b("s, w, wa, wd, pt, hp = 0, 0, 0, 0, 0, false")
      for _, i in ipairs(members) do
        local r = rules[i]
        b("-- rule %d %s", i, r.id)
        applies(i, r)
        b("wa = wa + %.17g", r.weight)
        call(i, r)
        if r.kind == "score" then
          b("if v ~= nil and v == v then")
          b("  if v < 0 then v = 0 elseif v > 100 then v = 100 end")
          set(i, "v")
          b("  s = s + %.17g * v; w = w + %.17g; wd = wd + %.17g", r.weight, r.weight, r.weight)
        else
          b("if v ~= nil and v == v then")
          set(i, "v")
          b("  pt = pt + v; hp = true; wd = wd + %.17g", r.weight)
        end
        b("else")
        set(i, "false")
        b("end")
        applies_end(i, r)
      end
      local base = card.base[dim] or 0
      if nscore > 0 then
        -- Points adjust a score: without any score the dimension is
        -- indeterminate, whatever the points.
        b("if w > 0 then d = s / w")
        b("  if hp then d = d + pt; if d < 0 then d = 0 elseif d > 100 then d = 100 end end")
        b("else d = nil end")
      else
        b("if hp then d = %.17g + pt; if d < 0 then d = 0 elseif d > 100 then d = 100 end else d = nil end", base)
      end
      b("if wa > 0 then")
      b("  if wd < wa then miss = miss + %.17g * (wa - wd) / wa end", dw)
      b("  if d then t = t + %.17g * d; tw = tw + %.17g end", dw, dw)
      b("else d = nil end")
      b("D[%q] = d", dim)
    end
  end
  for i, r in ipairs(rules) do
    if r.kind ~= "score" and r.kind ~= "points" then
      b("-- flag %d %s (%s)", i, r.id, r.kind)
      applies(i, r)
      call(i, r)
      b("if v == UNKNOWN then")
      set(i, "false")
      if r.kind == "veto" then b("  rev = true") end
      b("elseif v then nf = nf + 1; F[nf] = %q", r.id)
      set(i, "1")
      if r.kind == "veto" then b("  veto = true")
      elseif r.kind == "penalty" then b("  pen = pen + %.17g", r.points)
      elseif r.kind == "cap" then b("  if %.17g < cap then cap = %.17g end", r.cap, r.cap)
      else b("  rev = true") end
      if full then b("else V[%d] = 0 end", i) else b("end") end
      applies_end(i, r)
    end
  end
  -- Weights sum to one; when some dimensions are indeterminate or do not
  -- apply, the total is the weighted mean of the others.
  b("if tw > 0 then")
  b("  if tw ~= %s then t = t / tw * %s end", TW, TW)
  b("  t = t - pen")
  b("  if t < 0 then t = 0 elseif t > 100 then t = 100 end")
  b("  u = t")
  b("  if t > cap then t = cap end")
  b("else t = nil; u = nil end")
  if card.total_weight ~= 1 then b("miss = miss / %s", TW) end
  b("if veto then verdict = 'reject'")
  b("elseif t == nil or miss > %s then verdict = 'review'", MAXMISS)
  b("elseif t < %s then verdict = 'reject'", REJECT)
  b("elseif rev or t < %s then verdict = 'review'", APPROVE)
  b("else verdict = 'approve' end")
  b("local n0 = r.nflags")
  b("if n0 > nf then for i = nf + 1, n0 do F[i] = nil end end")
  b("r.total, r.verdict, r.missing, r.nflags, r.uncapped, r.vetoed, r.forced = t, verdict, miss, nf, u, veto, rev")
  if full then b("r.full = true") end
  b("return r")

  emit("local R, K, UNKNOWN, H = ...")
  emit("local huge = math.huge")
  local hnames = {}
  for k in pairs(EXPR_HELPERS) do hnames[#hnames + 1] = k end
  sort(hnames)
  for _, k in ipairs(hnames) do emit("local %s = H.%s", k, k) end
  if direct then
    for i = 1, #rules do emit("local R%d = R[%d]", i, i) end
  end
  emit("return function(p, r)")
  emit(full and "local V, E, D, F = r.values, r.extra, r.dimensions, r.flags"
            or "local D, F = r.dimensions, r.flags")
  if not many_fields and nfields > 0 then
    local names, vals = {}, {}
    for f, k in pairs(fields) do names[k] = lname(f); vals[k] = format("p[%q]", f) end
    emit("local %s = %s", concat(names, ", "), concat(vals, ", "))
  end
  for _, l in ipairs(body) do emit(l) end
  emit("end")
  local src = concat(out, "\n")
  local chunk, err = load(src, "=scorecard " .. card.name, "t", { math = math })
  if not chunk then error("scorecard '" .. card.name .. "': internal compile error: " .. err) end
  local fns, kinds = {}, {}
  for i, r in ipairs(rules) do fns[i] = r.fn; kinds[i] = r.kinds or false end
  if full then card.generated = src end
  if not full then card.generated_fast = src end
  return chunk(fns, kinds, M.unknown, EXPR_HELPERS)
end

--[[ }====================================================== ]]


--[[ {======================================================
  When a rule fails on a partner's data
========================================================]]

--- Where the partner being scored came from ("partners.csv:12"), or nil.
--- Whoever feeds rows from files sets it (vouch.scorecard.cli's chain);
--- it is asked only when a rule fails (card.where first, when set).
M.where = nil

-- The line of the scorecard file that declares rule `id`, found in the
-- source text (there is no debug library to ask), or nil.
local function rule_line(card, id)
  local src = card.source
  if type(src) ~= "string" then return nil end
  local pos = src:find("id%s*=%s*[\"']" .. id .. "[\"']")
  if not pos then return nil end
  local line = 1
  for _ in src:sub(1, pos):gmatch("\n") do line = line + 1 end
  return line
end

local function show(v)
  if type(v) == "string" then return (format("%q", v):gsub("\\\n", "\\n")) end
  return tostring(v)
end

-- Run rule `r` alone on partner `p`, as the scorer would: the error it
-- raises or the wrong value it returns, or nil when it is fine.
local function try_rule(r, p)
  local args, n = {}, #r.reads
  for k, f in ipairs(r.reads) do
    args[k] = p[f]
    if args[k] == nil and not r.optional[f] then return nil end
  end
  local fn = r.fn
  if r.expr then
    local env = setmetatable({}, { __index = EXPR_HELPERS })
    fn = load(format("local %s = ...\nreturn (%s)", concat(r.reads, ", "), r.expr),
              "=rule " .. r.id, "t", env)
  end
  local ok, v = pcall(fn, table.unpack(args, 1, n))
  if not ok then
    v = tostring(v)
    -- An expression's position is in code made from it: the rule's own
    -- line says more.
    if r.expr then v = v:gsub("^rule " .. r.id .. ":%d+: ", "") end
    return "failed: " .. v
  end
  if (r.kind == "score" or r.kind == "points") and v ~= nil and type(v) ~= "number" then
    return format("gave %s %s, where a %s must be a number or nil", type(v), show(v), r.kind)
  end
  return nil
end

-- The scorer raised `err` on partner `p`: find the rule that failed and
-- raise an error naming the partner, where it came from, the rule and its
-- line, and what the rule read. Limits, and errors no rule explains, are
-- raised again as they are.
local function rule_failed(card, p, err)
  if type(err) ~= "string" or err:find("limit exceeded", 1, true) or err == "interrupted"
     or err:find("not enough memory", 1, true) or type(p) ~= "table" then
    error(err, 0)
  end
  for _, r in ipairs(card.rules) do
    local what = (not r.kinds or r.kinds[p.kind]) and try_rule(r, p)
    if what then
      local read = {}
      for k, f in ipairs(r.reads) do read[k] = f .. " = " .. show(p[f]) end
      local line = rule_line(card, r.id)
      local where = card.where or M.where
      local origin = where and where(p)
      error(format("%spartner '%s': rule %s (%s) %s; it read %s",
        origin and (origin .. ": ") or "", tostring(p.id), r.id,
        line and format("%s:%d", card.path or card.name, line) or ("scorecard " .. card.name),
        what, concat(read, ", ")), 0)
    end
  end
  error(err, 0)
end

-- A scorer that explains a rule's failure (see rule_failed). The pcall
-- costs one C call per partner; the explaining only happens on error.
--
-- While rules run, what would make them depend on more than the partner
-- (the clock, randomness, the network) raises: a run must replay to what
-- it stored. A rule that kept its own reference to such a function before
-- escapes this; replay then finds that it differs (Card:replay).
local IMPURE = {
  { os, "time", "the clock" }, { os, "clock", "the clock" }, { os, "date", "the clock" },
  { math, "random", "randomness" }, { math, "randomseed", "randomness" },
}
if vouch and vouch.http then
  for _, f in ipairs { "request", "get", "post", "pages" } do
    if vouch.http[f] then IMPURE[#IMPURE + 1] = { vouch.http, f, "the network" } end
  end
end
local saved, refusing = {}, {}
for i, e in ipairs(IMPURE) do
  local name = (e[1] == os and "os." or e[1] == math and "math." or "vouch.http.") .. e[2]
  refusing[i] = function()
    error(format("%s reads %s: a rule must depend only on the fields it reads, so that its "
                 .. "runs can be explained again by replay", name, e[3]), 2)
  end
end
local function seal()
  for i, e in ipairs(IMPURE) do saved[i] = e[1][e[2]]; e[1][e[2]] = refusing[i] end
end
local function unseal()
  for i, e in ipairs(IMPURE) do e[1][e[2]] = saved[i] end
end

local function guarded(card, scorer)
  local function check(p, ok, res)
    if ok then unseal(); return res end
    local ok2, err = pcall(rule_failed, card, p, res)
    unseal()
    error(err, 0)
  end
  return function(p, r)
    seal()
    return check(p, pcall(scorer, p, r))
  end
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
-- spec.store: "all" (default) stores every rule's outcome with a run,
--   "adverse" only raised flags and the principal reasons
function M.scorecard(spec)
  checkarg(1, spec, "table", "scorecard")
  if type(spec.name) ~= "string" or spec.name == "" then
    error("scorecard: 'name' must be a non-empty string", 2)
  end
  local card = setmetatable({ name = spec.name, description = spec.description,
    spec = spec, weights = {}, base = {}, dimension_list = {}, rules = {},
    portfolio = {}, index = {},
    store = spec.store or "all", max_missing = spec.max_missing or 0.25 }, Card)
  local where = "scorecard '" .. spec.name .. "'"
  local known, why = M.check_keys(spec, SPEC_KEYS)
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
                     M.did_you_mean(tostring(d), listed)), 2)
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


--[[ {======================================================
  Explaining a result: outcomes, evidence, principal reasons
========================================================]]

local function fmtnum(v)
  if type(v) == "number" then
    if v == floor(v) and v > -1e15 and v < 1e15 then return format("%d", v) end
    return format("%.6g", v)
  end
  return tostring(v)
end
M.fmtnum = fmtnum

-- The shortest decimal that reads back as the same float.
local mtype = math.type
local function shortest(v)
  if mtype(v) == "integer" then return tostring(v) end
  if v ~= v or v == huge or v == -huge then return "null" end
  local s = format("%.15g", v)
  if tonumber(s) ~= v then s = format("%.17g", v) end
  return s
end

--- The evidence of rule `r` for partner `p`: the fields it read, and the
--- fields of the table the rule returned as its second value.
function M.evidence(r, p, extra)
  local ev = {}
  for _, f in ipairs(r.reads) do ev[f] = p[f] end
  if type(extra) == "table" and extra ~= M.unknown then
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
    o.evidence = M.evidence(r, p, extra)
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
                evidence = M.evidence(hit.rule, p, hit.evidence) }
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

--[[ }====================================================== ]]


--[[ {======================================================
  Many partners: streaming, portfolio rules
========================================================]]

-- Turn what the caller gave into a row iterator: a function, an array of
-- partner tables, or a source with :rows() (vouch.load.csv and friends).
-- A generic-for triple (f, s, c) as a plain function of no arguments.
local function closure(f, s, c)
  if s == nil and c == nil then return f end
  return function()
    local v = f(s, c)
    c = v
    return v
  end
end
M.closure = closure

local function rows_of(src, fname)
  local t = type(src)
  if t == "function" then return src end
  if t == "table" or t == "userdata" then
    local ok, rows = pcall(function() return src.rows end)
    if ok and rows then return closure(src:rows()) end
    if t == "table" then
      local i = 0
      return function() i = i + 1; return src[i] end
    end
  end
  error(format("bad argument #1 to '%s' (rows expected: a function, an array or a source, got %s)",
               fname, t), 3)
end
M.rows_of = rows_of

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

--- Apply the portfolio rules to `set`, an array of { partner = p, result = r }
--- whose results are compact results (each its own). Raised flags are added
--- to r.portfolio and change r.total and r.verdict.
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

-- Whether any portfolio rule can judge `p`: only those partners are held
-- in memory until the whole set has been seen.
function Card:in_portfolio(p)
  for _, rule in ipairs(self.portfolio) do
    if judges(rule, p) then return true end
  end
  return false
end

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


--[[ {======================================================
  Storing runs (the schema in PLAN.md)
========================================================]]

--- A small JSON encoder for evidence and inputs (flat tables and arrays of
--- numbers, strings and booleans; deeper values are encoded recursively).
local ARRAY = { __name = "vouch.scorecard.array" }

local function json(v, out)
  local t = type(v)
  if t == "number" then
    if v ~= v or v == huge or v == -huge then out[#out + 1] = "null"
    elseif v == floor(v) and v > -1e15 and v < 1e15 then out[#out + 1] = format("%d", v)
    else out[#out + 1] = shortest(v) end
  elseif t == "string" then
    out[#out + 1] = '"' .. v:gsub('[%c"\\]', function(c)
      local m = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
      return m[c] or format("\\u%04x", byte(c))
    end) .. '"'
  elseif t == "boolean" then out[#out + 1] = tostring(v)
  elseif t == "table" then
    if next(v) == nil then out[#out + 1] = getmetatable(v) == ARRAY and "[]" or "{}"; return end
    if v[1] ~= nil then
      out[#out + 1] = "["
      for i, x in ipairs(v) do
        if i > 1 then out[#out + 1] = "," end
        json(x, out)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = tostring(k) end
      sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        json(k, out); out[#out + 1] = ":"; json(v[k], out)
      end
      out[#out + 1] = "}"
    end
  else out[#out + 1] = "null" end
end

--- Mark `t` as a list, so that M.json encodes it as [] even when empty
--- (an empty table is otherwise {}). Returns `t`.
function M.array(t)
  return setmetatable(t, ARRAY)
end

--- Encode a value as JSON text (keys sorted, so equal values encode equally).
function M.json(v)
  local out = {}
  json(v, out)
  return concat(out)
end

local function quote_ident(s) return '"' .. tostring(s):gsub('"', '""') .. '"' end

-- The batching behind M.inserter and the run record: rows of `ncols`
-- values are buffered and sent `per` rows at a time as
-- exec(db, sql_for(rows), values...), one call into the host per batch.
local function batcher(exec, db, ncols, per, sql_for)
  local args, sets = {}, {}
  for i = 1, ncols do
    args[i] = "a" .. i
    sets[i] = format("buf[k + %d]", i)
  end
  local src = format([[
local exec, unpack, db, full_sql, sql_for, cap, ncols = ...
local buf, n = {}, 0
local function flush()
  if n == 0 then return end
  if n == cap then exec(db, full_sql, unpack(buf, 1, n))
  else exec(db, sql_for(n // ncols), unpack(buf, 1, n)) end
  n = 0
end
local function add(%s)
  local k = n
  %s = %s
  n = k + %d
  if n == cap then flush() end
end
return add, flush]], concat(args, ", "), concat(sets, ", "), concat(args, ", "), ncols)
  local chunk = assert(load(src, "=inserter", "t", {}))
  local add, flush = chunk(exec, table.unpack, db, sql_for(per), sql_for, per * ncols, ncols)
  return { add = add, flush = flush }
end

--- Batched inserts for bulk jobs: `local ins = sc.inserter(db, "scores", 12)`
--- (or a list of column names), then `ins.add(v1, ..., v12)` per row and
--- `ins.flush()` at the end, inside the caller's transaction. Rows are sent
--- `per` at a time (default: about 500 values) as one multi-row INSERT,
--- which saves a statement step and a call into the host per row.
function M.inserter(db, tbl, columns, per)
  checkarg(2, tbl, "string", "inserter")
  local ncols, collist = columns, ""
  if type(columns) == "table" then
    local q = {}
    for i, c in ipairs(columns) do q[i] = quote_ident(c) end
    ncols, collist = #columns, "(" .. concat(q, ", ") .. ")"
  end
  if math.type(ncols) ~= "integer" or ncols < 1 or ncols > 200 then
    error("bad argument #3 to 'inserter' (a column count 1..200 or a list of names expected)", 2)
  end
  per = per or math.max(1, 512 // ncols)
  local row = "(" .. string.rep("?", ncols, ", ") .. ")"
  local head = "INSERT INTO " .. quote_ident(tbl) .. collist .. " VALUES "
  local function sql_for(rows) return head .. string.rep(row, rows, ", ") end
  return batcher(db.exec, db, ncols, per, sql_for)
end

--- FNV-1a, 64 bits, as 16 hex digits: the hash stored with each run.
function M.hash(s)
  local h = -3750763034362895579   -- 14695981039346656037 as a signed integer
  for i = 1, #s do
    h = (h ~ byte(s, i)) * 1099511628211
  end
  return format("%016x", h)
end

local function now() return os.date("!%Y-%m-%dT%H:%M:%SZ") end
M.now = now

-- Rows of the `partners` table, each the stored attrs with id, name, kind.
local function partner_rows(db, json_decode, where, ...)
  local it = closure(db:rows("SELECT id, name, kind, attrs FROM partners " .. (where or "") ..
                             " ORDER BY id", ...))
  return function()
    local row = it()
    if row == nil then return nil end
    local p = (row.attrs and json_decode) and json_decode(row.attrs) or {}
    if type(p) ~= "table" then p = {} end
    p.id, p.name, p.kind = row.id, row.name, row.kind
    return p
  end
end
M.partner_rows = partner_rows

--- The text of a stored outcome (a row of `reasons`: code, outcome,
--- points, and its evidence decoded), as card:explain words it; nil for a
--- code this scorecard does not have.
function Card:reason_text(o, evidence)
  local rule = self.index[o.code]
  if not rule then return nil end
  return says(rule, type(evidence) == "table" and evidence or {}, o)
end

-- A partner a portfolio rule can judge waits, in a few bytes, until the
-- whole set has been seen: its score row and its principal reasons (the
-- only stored rows a portfolio flag can change: the other outcomes are
-- stored at once, since a new reason only pushes older ones down the
-- ranking), packed by `pack_deferred` and read back by `unpack_deferred`.
local spack, sunpack, NAN = string.pack, string.unpack, 0 / 0
local function num_or_nan(v) if v == nil then return NAN end return v end
local function nan_or_num(v) if v ~= v then return nil end return v end
local function opt_str(v) if v == nil then return "" end return "\1" .. tostring(v) end
local function str_opt(v) if v == "" then return nil end return v:sub(2) end

local function pack_deferred(res, nout, ranked, dims)
  local parts = { spack("<s4s4s4dI4B", tostring(res.id), opt_str(res.name), opt_str(res.kind),
                        num_or_nan(res.total), nout, #ranked) }
  for _, d in ipairs(dims) do parts[#parts + 1] = spack("<d", num_or_nan(res.dimensions[d])) end
  for _, o in ipairs(ranked) do
    parts[#parts + 1] = spack("<s2s2s2ddI4", o.code, opt_str(o.dimension), o.outcome,
                              num_or_nan(o.points), o.impact, o.order)
  end
  return concat(parts)
end

local function unpack_deferred(s, dims)
  local id, name, kind, total, nout, nranked, pos = sunpack("<s4s4s4dI4B", s)
  local res = { id = id, name = str_opt(name), kind = str_opt(kind), total = nan_or_num(total),
                dimensions = {}, reasons = {} }
  for _, d in ipairs(dims) do
    local v
    v, pos = sunpack("<d", s, pos)
    res.dimensions[d] = nan_or_num(v)
  end
  local ranked = {}
  for k = 1, nranked do
    local code, dim, outcome, points, impact, order
    code, dim, outcome, points, impact, order, pos = sunpack("<s2s2s2ddI4", s, pos)
    ranked[k] = { code = code, dimension = str_opt(dim), outcome = outcome,
                  points = nan_or_num(points), impact = impact, order = order }
  end
  return res, nout, ranked
end

-- What of partner `p` the portfolio rules may look at: its id, name and
-- kind and the fields they read.
local function portfolio_view(card)
  local fields = { "id", "name", "kind" }
  local seen = { id = true, name = true, kind = true }
  for _, rule in ipairs(card.portfolio) do
    for _, f in ipairs(rule.reads) do
      if not seen[f] then seen[f] = true; fields[#fields + 1] = f end
    end
  end
  return function(p)
    local slim = {}
    for _, f in ipairs(fields) do slim[f] = p[f] end
    return slim
  end
end

--- Score every partner from `opts.rows` (an iterator, an array, a source
--- with :rows()) or `opts.query` (SQL whose rows are partners; or
--- "partners" for the stored partners), and store the run in `opts.db`
--- (default: the host's database): the run row is committed as 'running'
--- first, then all scores, reasons and the final status in one
--- transaction. On error the run is marked 'failed', no score stays, and
--- the error is raised again. Returns the run id and a summary
--- { partners = n, approve = n, review = n, reject = n, results = {...} }
--- (results: the explanations when opts.keep is true, or what
--- opts.keep(explanation) returned for each when it is a function; texts
--- are made when opts.keep is true or opts.text is).
-- opts.inputs: what was read (stored as JSON), opts.source: the scorecard's
-- source text (hashed), opts.started_by (default 'cli').
-- opts.store = false scores without storing (no run; the id is nil).
-- opts.each(res) is called once per partner with its final result, in the
-- order they are stored: id, name, kind, total, verdict, dimensions,
-- weakest and reasons (the principal outcomes) are always there; the
-- other outcomes only when opts.keep or opts.text asks for explanations.
-- Without opts.keep or opts.text nothing per partner is held but what the
-- portfolio rules read, so memory does not grow with the rows stored.
function Card:run(opts)
  checkarg(1, opts, "table", "run")
  local vouch = vouch
  local storing = opts.store ~= false
  local db = opts.db or ((storing or opts.query) and vouch.db.open()) or nil
  local decode = vouch.json and vouch.json.decode
  local rows
  if opts.query == "partners" then rows = partner_rows(db, decode)
  elseif opts.query then rows = closure(db:rows(opts.query, table.unpack(opts.params or {})))
  else rows = rows_of(opts.rows, "run") end
  local hash = M.hash(opts.source or self.source or self.generated or self.name)
  -- The run record is the host's: written through db:run_begin, run_load,
  -- run_input, run_rows and run_end, which touch only the run begun here.
  local weights, rule_dims = {}, {}
  for k, d in ipairs(self.dimension_list) do weights[k] = self.weights[d] end
  for _, list in ipairs { self.rules, self.portfolio } do
    for _, r in ipairs(list) do
      if r.dimension then rule_dims[r.id] = r.dimension end
    end
  end
  local run_id = storing and db:run_begin { scorecard = self.name, hash = hash, rules = rule_dims,
                                            dimensions = self.dimension_list, weights = weights,
                                            source = opts.source or self.source,
                                            inputs = M.json(opts.inputs or {}),
                                            started_by = opts.started_by } or nil
  local summary = { run = run_id, partners = 0, approve = 0, review = 0, reject = 0 }
  local keep = opts.keep and {} or nil
  local keeper = type(opts.keep) == "function" and opts.keep or nil
  local each = opts.each
  local lean = not (opts.keep == true or opts.text)
  local slim = lean and not opts.keep   -- portfolio partners wait in a few bytes
  local dims = self.dimension_list

  -- Where each partner's input comes from: a load per source (its rows
  -- stored in order), or one for rows given as a list or a function.
  local origin = opts.origin
  if not origin and type(opts.rows) == "userdata" then
    local src = opts.rows
    origin = function() return src, src.rows_read end
  end
  local loads, load_list = {}, {}
  local function input_of(p)
    local src, n
    if origin then src, n = origin() end
    local key = src or loads
    local l = loads[key]
    if not l then
      local info
      if src then
        local cols = src.columns
        info = { source = src.resolved or src.path, format = src.format,
                 columns = cols and #cols > 0 and cols or nil }
      else
        info = { source = opts.query and (opts.query == "partners" and "partners" or "query")
                          or "rows", format = "lua" }
      end
      l = { id = db:run_load(run_id, info), src = src, n = 0 }
      loads[key] = l
      load_list[#load_list + 1] = l
    end
    l.n = l.n + 1
    local row = n or l.n
    db:run_input(l.id, row, p)
    return l.id, row
  end
  local function end_loads()
    for _, l in ipairs(load_list) do
      local src = l.src
      db:run_load_end(l.id, { hash = src and src.hash or ("rows of run " .. run_id),
                              rows = l.n, bad_rows = src and src.bad_rows or 0,
                              size = src and src.size })
    end
  end

  -- Each partner's row goes to the host as values (run_score writes the
  -- record's JSON): its dimensions in the card's order, false where
  -- indeterminate, and its stored reasons, five values each: code,
  -- outcome, points, rank and, for a portfolio flag, its evidence (the
  -- other outcomes are recomputed by replay). Both lists are reused.
  local dims, ndims = self.dimension_list, #self.dimension_list
  local dv, rv = {}, {}
  local run_score = db and db.run_score
  local function put_row(id, name, kind, total, verdict, values, load_id, row, nr)
    for k = 1, ndims do
      local v = values[dims[k]]
      dv[k] = v ~= nil and v or false
    end
    run_score(db, run_id, tostring(id), name, kind, total, verdict, load_id, row, dv, rv, nr)
  end
  local progress = opts.progress
  local function count(res)
    summary.partners = summary.partners + 1
    if progress and summary.partners % 2048 == 0 then progress(summary.partners, "scoring") end
    summary[res.verdict] = summary[res.verdict] + 1
    if each then each(res) end
  end
  -- The stored reasons: the principal ones (ranked) and every raised flag
  -- that had an effect.
  local index = self.index
  local function stored_reasons(res, outcomes)
    local n = 0
    local function add(o)
      local rule = index[o.code]
      rv[n + 1], rv[n + 2], rv[n + 3], rv[n + 4] = o.code, o.outcome, o.points or false, o.rank or false
      rv[n + 5] = rule and rule.portfolio and (o.evidence or {}) or false
      n = n + 5
    end
    for _, o in ipairs(res.reasons) do add(o) end
    for _, o in ipairs(outcomes) do
      if not o.rank and FLAGS[o.outcome] and
         ((o.impact or 0) > 0 or (index[o.code] and index[o.code].portfolio)) then
        add(o)
      end
    end
    return n // 5
  end
  local function score_row(res, outcomes, load_id, row)
    local nr = stored_reasons(res, outcomes)
    put_row(res.id, res.name, res.kind, res.total, res.verdict, res.dimensions, load_id, row, nr)
  end
  -- Storing alone (nothing kept, nobody told): the stored row is made
  -- straight from the compact result, without an outcome table per rule.
  local fast = storing and not keep and not each
  local rules = self.rules
  local top_i, top_x = {}, {}
  local function outcome(rule, v, r)
    if v == false then return "indeterminate", false end
    local kind = rule.kind
    if kind == "score" or kind == "points" then return kind, v end
    if v ~= 1 then return "pass", false end
    if kind == "penalty" then return kind, -rule.points
    elseif kind == "cap" then
      return kind, (r.uncapped and r.uncapped > rule.cap) and (rule.cap - r.uncapped) or 0
    elseif kind == "review" then return kind, 0 end
    return kind, false
  end
  -- What impact() says of each outcome, inline (this runs once per rule
  -- and partner): a rule's kind, share and weight are looked up once.
  local nrules, weights, max_missing = #rules, self.weights, self.max_missing
  local flagged = {}
  local function store_fast(p, r, load_id, row)
    local V, n, nf = r.values, 0, 0
    -- The four most adverse outcomes, by impact, the earlier rule first;
    -- and the raised flags that had an effect.
    for i = 1, nrules do
      local v = V[i]
      if v ~= nil then
        local kind, x = rules[i].kind, 0
        if v == false then
          local rule = rules[i]
          if kind == "veto" then x = 2e5
          elseif rule.share then
            x = r.missing > max_missing and 1e5 * rule.share or rule.share * 25
          end
        elseif kind == "score" then x = rules[i].share * (50 - v)
        elseif kind == "points" then
          if v < 0 then x = -v * weights[rules[i].dimension] end
        elseif v == 1 then
          if kind == "veto" then x = 1e9
          elseif kind == "review" then x = 1e6
          elseif kind == "penalty" then x = rules[i].points
          else  -- cap: what it took off
            local cap, un = rules[i].cap, r.uncapped
            x = (un and un > cap) and (un - cap) or 0
          end
          if x > 0 then nf = nf + 1; flagged[nf] = i end
        end
        if x > 0 then
          local k = n < 4 and n + 1 or (x > top_x[4] and 4 or nil)
          if k then
            if n < 4 then n = n + 1 end
            while k > 1 and x > top_x[k - 1] do
              top_i[k], top_x[k] = top_i[k - 1], top_x[k - 1]
              k = k - 1
            end
            top_i[k], top_x[k] = i, x
          end
        end
      end
    end
    local m = 0
    for k = 1, n do
      local i = top_i[k]
      local kind, pts = outcome(rules[i], V[i], r)
      rv[m + 1], rv[m + 2], rv[m + 3], rv[m + 4], rv[m + 5] = rules[i].id, kind, pts, k, false
      m = m + 5
    end
    for f = 1, nf do
      local i, top = flagged[f], false
      for k = 1, n do if top_i[k] == i then top = true; break end end
      if not top then
        local kind, pts = outcome(rules[i], V[i], r)
        rv[m + 1], rv[m + 2], rv[m + 3], rv[m + 4], rv[m + 5] = rules[i].id, kind, pts, false, false
        m = m + 5
      end
    end
    local n_done = summary.partners + 1
    summary.partners = n_done
    summary[r.verdict] = summary[r.verdict] + 1
    if progress and n_done % 2048 == 0 then progress(n_done, "scoring") end
    if load_id == nil then load_id, row = input_of(p) end
    put_row(p.id, p.name, p.kind, r.total, r.verdict, r.dimensions, load_id, row, m // 5)
  end
  local function store(p, r, load_id, row)
    if fast then return store_fast(p, r, load_id, row) end
    local res = self:explain(p, r, lean)
    if keeper then keep[#keep + 1] = keeper(res)
    elseif keep then keep[#keep + 1] = res end
    count(res)
    if storing then
      if load_id == nil then load_id, row = input_of(p) end
      score_row(res, res.outcomes, load_id, row)
    end
  end

  -- A portfolio partner, slim: it waits (packed) with the fields the
  -- portfolio rules read and its ranked candidates.
  local view = slim and #self.portfolio > 0 and portfolio_view(self)
  local function defer(p, r)
    local res = self:explain(p, r, true)
    local ranked = {}
    for _, o in ipairs(res.outcomes) do
      if o.impact > 0 then ranked[#ranked + 1] = o end
    end
    local load_id, row
    if storing then load_id, row = input_of(p) end
    return { partner = view(p), load = load_id, row = row,
             result = { total = r.total, verdict = r.verdict, missing = r.missing,
                        uncapped = r.uncapped, vetoed = r.vetoed, forced = r.forced },
             rows = pack_deferred(res, #res.outcomes, ranked, dims) }
  end
  -- A partner that waited, with the portfolio's flags ranked among its
  -- principal reasons as explain would rank them.
  local function store_deferred(e)
    local p, r = e.partner, e.result
    local res, nout, cand = unpack_deferred(e.rows, dims)
    e.rows = nil
    res.total, res.verdict = r.total, r.verdict
    local low = huge
    for _, d in ipairs(self.dimension_list) do
      local v = res.dimensions[d]
      if v and v < low then res.weakest, low = d, v end
    end
    local hits = {}   -- the portfolio's flags that rank nowhere
    for k, hit in ipairs(r.portfolio or {}) do
      local rule = hit.rule
      local o = { code = rule.id, dimension = rule.dimension, outcome = rule.kind,
                  points = hit.points, evidence = M.evidence(rule, p, hit.evidence), order = nout + k }
      o.impact = impact(self, o, rule, r)
      if o.impact > 0 then cand[#cand + 1] = o else hits[#hits + 1] = o end
    end
    for _, o in ipairs(cand) do o.rank = nil end
    if #cand > 1 then sort(cand, by_impact) end
    for k = 1, math.min(4, #cand) do
      cand[k].rank = k
      res.reasons[k] = cand[k]
    end
    count(res)
    for _, o in ipairs(hits) do cand[#cand + 1] = o end
    if storing then score_row(res, cand, e.load, e.row) end
  end

  local function body()
    if #self.portfolio > 0 then
      -- Partners no portfolio rule can judge are stored at once; the
      -- others wait until the whole set has been seen.
      local set, r, scorer = {}, self:result(), self.full_scorer
      for p in rows do
        if not self:in_portfolio(p) then store(p, scorer(p, r))
        elseif view then set[#set + 1] = defer(p, scorer(p, r))
        else
          local load_id, row
          if storing then load_id, row = input_of(p) end
          set[#set + 1] = { partner = p, result = scorer(p, self:result()), load = load_id, row = row }
        end
      end
      self:apply_portfolio(set)
      for k, e in ipairs(set) do
        set[k] = false
        if view then store_deferred(e) else store(e.partner, e.result, e.load, e.row) end
      end
    else
      local r, scorer = self:result(), self.full_scorer
      for p in rows do store(p, scorer(p, r)) end
    end
    if progress then progress(summary.partners, storing and "storing" or "ranking") end
    if storing then
      end_loads()
      db:run_end(run_id, "ok", summary.partners)
    end
  end
  local ok, err
  if storing then ok, err = pcall(db.tx, db, body) else ok, err = pcall(body) end
  if not ok then
    if storing then pcall(db.run_end, db, run_id, "failed", nil, tostring(err)) end
    error(err, 0)
  end
  summary.results = keep
  return run_id, summary
end

--[[ }====================================================== ]]


--[[ {======================================================
  Loading scorecards from files
========================================================]]

local made

--- Load a scorecard: `what` is a path to a rules script (which returns a
--- scorecard or a spec table) or the name of an embedded one
--- ("social_capital" is vouch.scripts.social_capital). Returns the
--- scorecard and its source text, or nil, message for a missing file.
function M.load(what)
  checkarg(1, what, "string", "load")
  local target = what
  if not what:find("[/%.]") then target = "vouch.scripts." .. what end
  local chunk, src, code = vouch.script(target)
  if not chunk then return nil, src, code end
  return made(chunk, what, src)
end

-- The scorecard a rules chunk makes, found at `what`, from source `src`.
function made(chunk, what, src)
  local ok, card = pcall(chunk)
  if not ok then error(format("error running rules %s: %s", what, tostring(card)), 0) end
  -- The rules script required its own copy of this module: a scorecard is
  -- recognised by its compiled scorer, not by its metatable.
  if type(card) ~= "table" or type(card.scorer) ~= "function" then
    if type(card) == "table" and card.rules then card = M.scorecard(card)
    else error(format("rules %s: the script must return a scorecard (got %s)", what, type(card)), 0) end
  end
  card.path, card.source = what, src
  -- The script made the card with its own copy of this module: point it
  -- at this copy's M.where, which the host's row feeders set.
  card.where = function(p) return M.where and M.where(p) end
  return card, src
end

--[[ }====================================================== ]]

--[[ {======================================================
  Reading the record back: stored results, and explanations by replay
========================================================]]

-- JSON text of the record, decoded; JSON null is nil.
local function decode(text)
  if text == nil then return nil end
  return vouch.json.decode(text)
end

M.json_decode = decode

local function denull(v)
  if v == nil or (vouch.json and v == vouch.json.null) then return nil end
  return v
end

--- The ranking, as an analyst reads it: approvals first, then reviews,
--- then rejections, each by total (indeterminate last), ties by partner id.
--- As SQL over `scores` (its columns prefixed by `alias .. "."` when given;
--- the id column named `id_col`, default partner_id), and as a comparison
--- of results {verdict, total, id}. The two say the same thing.
function M.rank_sql(alias, id_col, reverse)
  local t = alias and (alias .. ".") or ""
  local a, d = "", " DESC"
  if reverse then a, d = d, a end
  return format("ORDER BY CASE %sverdict WHEN 'approve' THEN 1 WHEN 'review' THEN 2 ELSE 3 END%s, " ..
                "%stotal IS NULL%s, %stotal%s, %s%s%s", t, a, t, a, t, d, t, id_col or "partner_id", a)
end
M.RANK_SQL = M.rank_sql()

local CLASS = { approve = 1, review = 2, reject = 3 }
function M.ranks_before(a, b)
  if a.verdict ~= b.verdict then return CLASS[a.verdict] < CLASS[b.verdict] end
  if (a.total == nil) ~= (b.total == nil) then return b.total == nil end
  if a.total ~= b.total then return a.total > b.total end
  return a.id < b.id
end

--- A stored score row (a row of `scores` with the run's dimension names,
--- a list, whose field `rules` maps rule codes to their dimensions) read
--- back: { id, name, kind, total, verdict, dimensions = {name = value},
--- weakest, reasons = {{code, dimension, outcome, points, rank}...}
--- (principal reasons by rank), flags = {...} (the other raised flags) }.
function M.stored(row, dimensions)
  local rule_dims = dimensions.rules or {}
  local res = { id = row.partner_id, name = row.name, kind = row.kind, total = row.total,
                verdict = row.verdict, dimensions = {}, reasons = {}, flags = {} }
  local values = decode(row.dims) or {}
  local low = huge
  for k, d in ipairs(dimensions) do
    local v = denull(values[k])
    res.dimensions[d] = v
    if v and v < low then res.weakest, low = d, v end
  end
  for _, t in ipairs(decode(row.reasons) or {}) do
    local o = { code = t[1], dimension = rule_dims[t[1]], outcome = t[2], points = denull(t[3]),
                rank = denull(t[4]), evidence = t[5] }
    if o.rank then res.reasons[#res.reasons + 1] = o else res.flags[#res.flags + 1] = o end
  end
  sort(res.reasons, function(a, b) return a.rank < b.rank end)
  return res
end

--- The input row a stored score row points at, as the scorecard read it:
--- `vals` (JSON: an array in the order of `columns`, or an object).
function M.input(vals, columns)
  local v = decode(vals)
  if v == nil then return nil end
  local cols = decode(columns)
  if cols == nil then
    for k, x in pairs(v) do if denull(x) == nil then v[k] = nil end end
    return v
  end
  local p = {}
  for k, c in ipairs(cols) do p[c] = denull(v[k]) end
  return p
end

-- Scorecards of stored runs, compiled once per hash.
local compiled = setmetatable({}, { __mode = "v" })

--- The scorecard run `run_id` ran, compiled from the source stored with
--- it; or nil and why.
function M.of_run(db, run_id)
  local r = db:one("SELECT r.scorecard AS name, r.scorecard_hash AS hash, c.source, " ..
                   "c.dimensions FROM runs r LEFT JOIN scorecards c ON c.hash = r.scorecard_hash " ..
                   "WHERE r.id = ?", run_id)
  if not r then return nil, format("no run %d", run_id) end
  if compiled[r.hash] then return compiled[r.hash] end
  if not r.source then
    return nil, format("run %d's scorecard '%s' was not stored with its source", run_id, r.name)
  end
  local chunk, err = load(r.source, "=" .. r.name, "t")
  if not chunk then return nil, format("scorecard '%s' of run %d: %s", r.name, run_id, err) end
  local ok, card = pcall(made, chunk, r.name, r.source)
  if not ok then return nil, tostring(card) end
  compiled[r.hash] = card
  return card
end

--- The explanation of a stored partner by replay: every rule's outcome
--- and evidence recomputed from its input row `p`, as card:score gives it,
--- with what only the whole run could say taken from the record: the
--- portfolio's flags, the principal reasons' ranks, the total and the
--- verdict. `res.differs` is set when the rules alone no longer give the
--- stored result (a rule that is not a pure function of what it reads).
function Card:replay(p, stored)
  local res = self:score(p)
  local by_code = {}
  for _, o in ipairs(res.outcomes) do o.rank = nil; by_code[o.code] = o end
  local pf = false
  for _, list in ipairs({ stored.reasons, stored.flags }) do
    for _, s in ipairs(list) do
      local rule = self.index[s.code]
      if rule and rule.portfolio and not by_code[s.code] then
        local ev = M.evidence(rule, p, s.evidence)
        local o = { code = s.code, dimension = rule.dimension, outcome = s.outcome,
                    points = s.points, evidence = ev, rule = rule }
        o.text = says(rule, ev, o)
        res.outcomes[#res.outcomes + 1] = o
        by_code[s.code] = o
        pf = true
      end
    end
  end
  res.reasons = {}
  for _, s in ipairs(stored.reasons) do
    local o = by_code[s.code]
    if o then o.rank = s.rank; res.reasons[#res.reasons + 1] = o end
  end
  if not pf and (res.verdict ~= stored.verdict or
                 (res.total or -1) - (stored.total or -1) > 1e-9 or
                 (stored.total or -1) - (res.total or -1) > 1e-9) then
    res.differs = true
  end
  res.total, res.verdict = stored.total, stored.verdict
  res.dimensions, res.weakest = stored.dimensions, stored.weakest
  return res
end

--[[ }====================================================== ]]

return M

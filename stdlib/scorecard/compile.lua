-- scorecard/compile.lua: the scorecard compiled into one generated Lua
-- function per use (require "vouch.scorecard.compile"), and the guard
-- around it: no clock, randomness or network while rules run, and a
-- failing rule named with its own line and what it read.
local compile_m = {}

local type, pairs, ipairs, tostring, select, error, pcall, load =
  type, pairs, ipairs, tostring, select, error, pcall, load
local setmetatable = setmetatable
local concat, sort = table.concat, table.sort
local format = string.format
local huge = math.huge

local core = require "vouch.scorecard.core"
local api, EXPR_HELPERS, lit = core.api, core.helpers, core.literal
local INTERNAL, KEYWORDS = core.INTERNAL, core.KEYWORDS

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
function compile_m.compile(card, full)
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
  local TW, MAXMISS = lit(card.total_weight), lit(card.max_missing)
  local REJECT, APPROVE = lit(card.bands.reject), lit(card.bands.approve)

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
        b("D[%q] = v; t = t + %s * v", dim, lit(dw))
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
            b("s = s + %s * v", lit(r.weight))
          else
            npoints = npoints + 1
            b("pt = pt + v")
          end
        end
      end
      if nscore > 0 or npoints > 0 then
        if nscore > 0 then b("d = s / %s", lit(W)) else b("d = %s", lit(card.base[dim] or 0)) end
        if npoints > 0 then b("d = d + pt; if d < 0 then d = 0 elseif d > 100 then d = 100 end") end
        b("D[%q] = d; t = t + %s * d", dim, lit(dw))
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
        elseif r.kind == "penalty" then b("  pen = pen + %s", lit(r.points))
        elseif r.kind == "cap" then b("  if %s < cap then cap = %s end", lit(r.cap), lit(r.cap))
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
      b("  t = t + %s * v; tw = tw + %s", lit(dw), lit(dw))
      b("else")
      set(only, "false")
      b("  v = nil; miss = miss + %s end", lit(dw))
      b("D[%q] = v", dim)
    else
      b("s, w, wa, wd, pt, hp = 0, 0, 0, 0, 0, false")
      for _, i in ipairs(members) do
        local r = rules[i]
        b("-- rule %d %s", i, r.id)
        applies(i, r)
        b("wa = wa + %s", lit(r.weight))
        call(i, r)
        if r.kind == "score" then
          b("if v ~= nil and v == v then")
          b("  if v < 0 then v = 0 elseif v > 100 then v = 100 end")
          set(i, "v")
          b("  s = s + %s * v; w = w + %s; wd = wd + %s", lit(r.weight), lit(r.weight), lit(r.weight))
        else
          b("if v ~= nil and v == v then")
          set(i, "v")
          b("  pt = pt + v; hp = true; wd = wd + %s", lit(r.weight))
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
        b("if hp then d = %s + pt; if d < 0 then d = 0 elseif d > 100 then d = 100 end else d = nil end", lit(base))
      end
      b("if wa > 0 then")
      b("  if wd < wa then miss = miss + %s * (wa - wd) / wa end", lit(dw))
      b("  if d then t = t + %s * d; tw = tw + %s end", lit(dw), lit(dw))
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
      elseif r.kind == "penalty" then b("  pen = pen + %s", lit(r.points))
      elseif r.kind == "cap" then b("  if %s < cap then cap = %s end", lit(r.cap), lit(r.cap))
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
  return chunk(fns, kinds, core.unknown, EXPR_HELPERS)
end

--[[ }====================================================== ]]


--[[ {======================================================
  When a rule fails on a partner's data
========================================================]]

-- Where the partner being scored came from is asked of card.where, else
-- of vouch.scorecard.where (api.where here), only when a rule fails.

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
      local where = card.where or api.where
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
-- seal() puts a refusing function in each one's place and unseal() puts
-- it back. They run twice per partner scored, so they are written out as
-- straight code, one assignment each, rather than a loop over the list.
local seal, unseal
do
  local src, owners, refusing, set, restore = { "local T, REFUSE = ..." }, {}, {}, {}, {}
  for i, e in ipairs(IMPURE) do
    local name = (e[1] == os and "os." or e[1] == math and "math." or "vouch.http.") .. e[2]
    refusing[i] = function()
      error(format("%s reads %s: a rule must depend only on the fields it reads, so that its "
                   .. "runs can be explained again by replay", name, e[3]), 2)
    end
    src[#src + 1] = format("local t%d, r%d, s%d = T[%d], REFUSE[%d]", i, i, i, i, i)
    set[i] = format("s%d = t%d[%q]; t%d[%q] = r%d", i, i, e[2], i, e[2], i)
    restore[i] = format("t%d[%q] = s%d", i, e[2], i)
    owners[i] = e[1]
  end
  src[#src + 1] = "return function() " .. concat(set, "; ") .. " end, function() " ..
                  concat(restore, "; ") .. " end"
  seal, unseal = assert(load(concat(src, "\n"), "=seal", "t", {}))(owners, refusing)
end

function compile_m.guarded(card, scorer)
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

return compile_m

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
--
-- This file is the public entry, loading scorecards and reading stored
-- runs back; the rest lives in stdlib/scorecard/: core (what the others
-- share), spec (checks and the constructor), compile (the generated
-- scorer and its guard), explain (outcomes, evidence, reasons), portfolio
-- (many partners at once) and run (storing a run).

local type, pairs, ipairs, next, tostring, tonumber, select, error, pcall, load =
  type, pairs, ipairs, next, tostring, tonumber, select, error, pcall, load
local setmetatable, getmetatable = setmetatable, getmetatable
local concat, sort, insert = table.concat, table.sort, table.insert
local format, byte = string.format, string.byte
local floor, huge = math.floor, math.huge

-- The public table is made by vouch.scorecard.core; the modules below add
-- the scorecard class's methods to core.Card.
local core = require "vouch.scorecard.core"
local spec_m = require "vouch.scorecard.spec"
local explain_m = require "vouch.scorecard.explain"
require "vouch.scorecard.portfolio"
local run_m = require "vouch.scorecard.run"
local M = core.api
local Card, checkarg = core.Card, core.checkarg
local evidence, says = explain_m.evidence, explain_m.says

M.Card = Card
--- A flag's `when` returns this when it cannot decide from present data.
M.unknown = core.unknown
M.helpers = core.helpers
M.closest, M.did_you_mean, M.check_keys = spec_m.closest, spec_m.did_you_mean, spec_m.check_keys
M.scorecard = spec_m.scorecard
M.fmtnum, M.evidence = core.fmtnum, evidence
M.closure, M.rows_of = core.closure, core.rows_of
M.hash, M.now = core.hash, core.now

--- JSON text of `v` as the record writes it: vouch.json.encode with keys in
--- byte order (equal values encode equally), NaN and infinities as null and
--- bytes that are not UTF-8 as U+FFFD.
local encode, JSON = vouch.json.encode, core.JSON
function M.json(v) return encode(v, JSON) end

--- Mark the table `t` as a list, so that it encodes as [] even when empty
--- (vouch.json.array). Returns `t`.
M.array = vouch.json.array
M.inserter, M.partner_rows = run_m.inserter, run_m.partner_rows


--- Where the partner being scored came from ("partners.csv:12"), or nil.
--- Whoever feeds rows from files sets it (vouch.scorecard.cli's chain);
--- it is asked only when a rule fails (card.where first, when set).
M.where = nil


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
        local ev = evidence(rule, p, s.evidence)
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

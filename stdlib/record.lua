-- record.lua: reading the record of runs (require "vouch.record").
--
-- A run names its scorecard (runs.scorecard_hash -> scorecards), whose
-- `dimensions` column lists the card's own dimension names in order; each
-- partner's `scores.dims` holds the values in that order (null where
-- indeterminate) and `scores.reasons` its principal reasons and raised
-- flags as tuples whose positions vouch.REASON gives: [code, outcome,
-- points, rank] (the scorecard's `rules` column names each rule's
-- dimension). The readers of the
-- record (report, diff, runs) go through these few functions, so none of
-- them knows which dimensions a scorecard has.
local sc = require "vouch.scorecard"

local M = {}

local concat, sort = table.concat, table.sort
local format = string.format
local ipairs, type, tostring, select, pcall = ipairs, type, tostring, select, pcall

--- The stored reason tuple as the record defines it (host/record.h): the
--- 1-based position of each field, and the outcomes that are red flags.
M.REASON = vouch.REASON

--- Reason outcomes that are red flags rather than scoring.
M.flag_outcomes = M.REASON.flags

--- The same, as an SQL list for `outcome IN ...`.
M.FLAG_SQL = "('" .. concat(M.REASON.flag_list, "','") .. "')"

--- SQL for the field `name` of the reason tuple `j` (from json_each).
function M.reason_sql(name, j)
  return format("json_extract(%s.value, '$[%d]')", j or "j", M.REASON[name] - 1)
end

local function decode(text)
  if type(text) ~= "string" or text == "" then return nil end
  local ok, v = pcall(sc.json_decode, text)
  if ok and type(v) == "table" then return v end
  return nil
end

--- The dimension names of run `run_id`'s scorecard, in the card's order
--- (an array of strings, whose field `rules` maps the card's rule codes to
--- their dimensions). A run whose scorecard is not in `scorecards` gets
--- positional names "#1", "#2", ... as many as its widest `dims`.
function M.dimensions(db, run_id)
  local row = db:one("SELECT c.dimensions AS d, c.rules FROM runs r JOIN scorecards c " ..
    "ON c.hash = r.scorecard_hash WHERE r.id = ?", run_id)
  local list = row and decode(row.d)
  local out = { rules = row and decode(row.rules) or {} }
  if list then
    for i, d in ipairs(list) do out[i] = tostring(d) end
    return out
  end
  local n = db:one("SELECT max(json_array_length(dims)) AS n FROM scores WHERE run_id = ?", run_id)
  for i = 1, (n and n.n or 0) do out[i] = "#" .. i end
  return out
end

--- Names of several lists in order of first appearance, each once: the
--- dimensions to show for runs of different scorecards side by side.
function M.union(...)
  local out, seen = {}, {}
  for k = 1, select("#", ...) do
    for _, d in ipairs(select(k, ...) or {}) do
      if not seen[d] then seen[d] = true; out[#out + 1] = d end
    end
  end
  return out
end

-- Raised flags that are not principal reasons, by code.
local function by_code(a, b) return tostring(a.code) < tostring(b.code) end

--- A row of `scores` read back (the scorecard library's `stored`), its
--- dimensions by the names of its run's scorecard (`names`): { id, name,
--- kind, total, verdict, dimensions = {name = value}, weakest, reasons =
--- the principal reasons by rank, then the other raised flags by code,
--- each {code=, dimension=, outcome=, points=, rank=} }.
function M.scored(row, names)
  local s = sc.stored(row, names)
  sort(s.flags, by_code)
  for _, f in ipairs(s.flags) do s.reasons[#s.reasons + 1] = f end
  s.flags = nil
  return s
end

--- SQL for the value of the dimension at (1-based) position `i` of
--- `scores.dims` (alias `t`), NULL where indeterminate or absent.
function M.dim_sql(i, t)
  return format("json_extract(%sdims, '$[%d]')", t and (t .. ".") or "", i - 1)
end

--- The position of each name in `names`: name -> index.
function M.index(names)
  local out = {}
  for i, d in ipairs(names) do out[d] = i end
  return out
end

--- The loads run `run_id` read, oldest first: {source=, format=, rows=,
--- size=, hash=, loaded_at=}.
function M.loads(db, run_id)
  local out = {}
  for r in db:rows("SELECT l.source, l.format, l.rows, l.size, l.hash, l.loaded_at " ..
      "FROM run_loads x JOIN loads l ON l.id = x.load_id WHERE x.run_id = ? ORDER BY l.id", run_id) do
    out[#out + 1] = r
  end
  return out
end

--- A run's inputs in a few words: "partners.csv (12 rows, 3f2a9c1e)", joined
--- by ", "; `nil` when the run recorded none.
function M.inputs_text(db, run_id)
  local parts = {}
  for _, l in ipairs(M.loads(db, run_id)) do
    local bits = { tostring(l.rows or 0) .. " rows" }
    if l.hash then bits[#bits + 1] = tostring(l.hash):gsub("^[%w]+:", ""):sub(1, 8) end
    parts[#parts + 1] = format("%s (%s)", tostring(l.source), concat(bits, ", "))
  end
  if #parts == 0 then return nil end
  return concat(parts, ", ")
end

--- The stored score of partner `who` in run `run` (the latest run that
--- scored it when `run` is nil), looked up by id (an index look-up), then
--- by name, each exactly, then either regardless of case (a scan): the row
--- of `scores` with the run's scorecard, started_at and status, the card's
--- `dimensions` and `rules` and the partner's stored input (`vals`,
--- `columns`), or nil.
local SCORE_SQL = "SELECT s.*, r.scorecard, r.started_at, r.status, c.dimensions, c.rules, " ..
  "i.vals, l.columns FROM scores s JOIN runs r ON r.id = s.run_id " ..
  "LEFT JOIN scorecards c ON c.hash = r.scorecard_hash " ..
  "LEFT JOIN inputs i ON i.load_id = s.load_id AND i.row = s.row " ..
  "LEFT JOIN loads l ON l.id = s.load_id WHERE s.%s = ?%s ORDER BY s.run_id DESC LIMIT 1"

function M.score_row(db, who, run)
  for _, where in ipairs { { "partner_id", "" }, { "name", "" },
                           { "partner_id", " COLLATE NOCASE" }, { "name", " COLLATE NOCASE" } } do
    local sql = format(SCORE_SQL, where[1], where[2] .. (run and " AND s.run_id = ?" or ""))
    local s
    if run then s = db:one(sql, who, run) else s = db:one(sql, who) end
    if s then return s end
  end
  return nil
end

-- The fields rule `rule` reads that partner `p` lacks: why it was
-- indeterminate.
local function missing(rule, p)
  if not rule or not p then return nil end
  local out = {}
  for _, f in ipairs(rule.reads) do if p[f] == nil then out[#out + 1] = f end end
  return #out > 0 and out or nil
end

--- Every rule's outcome for a row of M.score_row, each {code=, dimension=,
--- outcome=, points=, rank=, evidence=, missing= (the fields an indeterminate
--- rule lacked)}: replayed from the stored input
--- with the stored scorecard, or, for runs made before inputs were stored,
--- as stored. Returns the outcomes, the stored score (sc.stored) and the
--- card's dimension names, plus `true` when the replay no longer gives the
--- stored result; or nil and a message.
function M.outcomes(db, s)
  local names = decode(s.dimensions) or {}
  names.rules = decode(s.rules) or {}
  local stored = sc.stored(s, names)
  local outcomes, differs = {}, nil
  if s.vals then
    local card, why = sc.of_run(db, s.run_id)
    if not card then return nil, why end
    local p = sc.input(s.vals, s.columns)
    local res = card:replay(p, stored)
    differs = res.differs and true or nil
    for k, o in ipairs(res.outcomes) do
      outcomes[k] = { code = o.code, dimension = o.dimension, outcome = o.outcome,
                      points = o.points, rank = o.rank, evidence = o.evidence,
                      missing = o.outcome == "indeterminate" and missing(o.rule, p) or nil }
    end
  else
    for o in db:rows("SELECT code, dimension, outcome, points, rank, evidence FROM reasons " ..
                     "WHERE run_id = ? AND partner_id = ? ORDER BY rowid", s.run_id, s.partner_id) do
      local ok, v = pcall(sc.json_decode, o.evidence)
      if ok and v ~= nil then o.evidence = v end
      outcomes[#outcomes + 1] = o
    end
  end
  return outcomes, stored, names, differs
end

return M

-- scorecard/core.lua: what the scorecard modules share (require
-- "vouch.scorecard.core"): the table vouch.scorecard returns (api), the
-- scorecard class, the unknown value, the helpers expression rules see,
-- argument checks, number formatting, row iterators, how the record's JSON
-- is written and its hash.
local core = {}

local type, tostring, error, pcall = type, tostring, error, pcall
local setmetatable = setmetatable
local format = string.format
local floor = math.floor

--- The table `require "vouch.scorecard"` returns. It is made here, so that
--- the other modules can read what callers set on it (api.where) without
--- requiring the public module.
local api = {}
core.api = api

--- What a flag does when raised: the record's flag outcomes (vouch.REASON,
--- defined once by the host with the stored reason's format).
local FLAGS = vouch.REASON.flags
core.FLAGS = FLAGS

--- A flag's `when` returns this when it cannot decide from present data.
local unknown = setmetatable({}, { __tostring = function() return "unknown" end,
                                 __name = "vouch.scorecard.unknown" })
core.unknown = unknown

local Card = {}
Card.__index = Card
core.Card = Card

-- What an expression rule may use besides the fields it reads.
local function clamp(x, a, b) if x < a then return a elseif x > b then return b end return x end
local EXPR_HELPERS = { min = math.min, max = math.max, abs = math.abs, floor = math.floor,
  ceil = math.ceil, sqrt = math.sqrt, log = math.log, exp = math.exp, huge = math.huge,
  clamp = clamp, unknown = unknown, math = math, string = string }
core.helpers = EXPR_HELPERS

-- Names the generated scorer uses for itself.
local INTERNAL = {}
for w in ("v e s w wa wd pt hp d u verdict t tw miss pen cap veto rev nf n0 p r i " ..
          "D F V E R K H UNKNOWN"):gmatch("%S+") do INTERNAL[w] = true end
local KEYWORDS = {}
for w in ("and break do else elseif end false for function goto if in local nil not or " ..
          "repeat return then true until while"):gmatch("%a+") do KEYWORDS[w] = true end

core.INTERNAL, core.KEYWORDS = INTERNAL, KEYWORDS

local function fail(msg, level) error(msg, (level or 1) + 1) end

local function checkarg(n, v, want, fname)
  if type(v) ~= want then
    error(format("bad argument #%d to '%s' (%s expected, got %s)", n, fname, want,
                 v == nil and "no value" or type(v)), 3)
  end
end
core.fail, core.checkarg = fail, checkarg

local function fmtnum(v)
  if type(v) == "number" then
    if v == floor(v) and v > -1e15 and v < 1e15 then return format("%d", v) end
    return format("%.6g", v)
  end
  return tostring(v)
end
core.fmtnum = fmtnum

--- A number as a Lua literal for generated code, exactly (%.17g reads back
--- as the same double), the infinities and NaN as expressions that make them,
--- a negative one in parentheses.
function core.literal(x)
  if x ~= x then return "(0/0)" elseif x == math.huge then return "(1/0)"
  elseif x == -math.huge then return "(-1/0)" end
  local s = format("%.17g", x)
  return x < 0 and "(" .. s .. ")" or s
end


--[[ {======================================================
  Rows: what the caller gave, as an iterator
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
core.closure = closure

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
core.rows_of = rows_of

--[[ }====================================================== ]]


--[[ {======================================================
  The record's JSON, hash and clock
========================================================]]

--- How the record's JSON is written (vouch.json.encode's options): keys in
--- byte order, so that equal values encode equally (a run's inputs are
--- compared as text), NaN and the infinities as null, as the host stores
--- them, and a byte that is not UTF-8 (a file named in another encoding) as
--- U+FFFD rather than an error.
core.JSON = { sort_keys = true, nonfinite = "null", invalid_utf8 = "replace" }

--- The hash stored with each run, of its scorecard's source: vouch.hash
--- (XXH3-64 as 16 hex digits), which db:run_begin checks the source against.
core.hash = vouch.hash

local function now() return os.date("!%Y-%m-%dT%H:%M:%SZ") end
core.now = now

--[[ }====================================================== ]]

return core

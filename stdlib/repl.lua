--- The REPL's value printer, completion and dot-commands (used by host/repl.c).
--
-- The host loads this module with the host's own globals, not with a
-- script's environment, so that it can read any value's metatable (to list
-- a userdata's methods). It reads tables raw and follows only `__index`
-- tables; the one piece of user code it may call is a value's `__tostring`,
-- and only while printing, inside the statement's task.

local M = {}

local type, pairs, next, select, tostring = type, pairs, next, select, tostring
local rawget, rawlen, pcall = rawget, rawlen, pcall
local sfmt, srep, sbyte, sfind, ssub = string.format, string.rep, string.byte, string.find, string.sub
local concat, sort, pack = table.concat, table.sort, table.pack
local mtype = math.type
local ulen = utf8.len
local getmetatable = (debug and debug.getmetatable) or getmetatable

M.depth = 4        -- tables nested deeper print as {...}
M.items = 200      -- array items shown before "... (N more)"
M.keys = 100       -- other keys shown before "... (N more)"
M.rows = 40        -- rows of a result table shown
M.cell = 40        -- widest cell of a result table
M.width = 79       -- the terminal's width less one (the host sets it)

local COLORS = {
  string = "\27[32m", number = "\27[36m", boolean = "\27[35m", ["nil"] = "\27[35m",
  other = "\27[2m", head = "\27[1m", cycle = "\27[33m",
}
local RESET = "\27[0m"

local KEYWORDS = {}
for w in ("and break do else elseif end false for function goto if in local nil not "
          .. "or repeat return then true until while"):gmatch("%a+") do
  KEYWORDS[w] = true
end

-- {====================================================== the printer

local function width(s)
  return ulen(s) or #s
end

local ESCAPES = { ["\n"] = "\\n", ["\t"] = "\\t", ["\r"] = "\\r", ['"'] = '\\"', ["\\"] = "\\\\" }

local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return ESCAPES[c] or sfmt("\\%d", sbyte(c))
  end) .. '"'
end

local function is_identifier(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil and not KEYWORDS[k]
end

-- Keys in a stable order: numbers, then strings, then the rest by name.
local KIND_ORDER = { number = 1, string = 2, boolean = 3 }
local function key_less(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return (KIND_ORDER[ta] or 4) < (KIND_ORDER[tb] or 4) end
  if ta == "number" or ta == "string" then return a < b end
  return tostring(a) < tostring(b)
end

-- A printer: `paint(kind, text)` colours text when colour is on.
local function painter(color)
  if not color then return function(_, s) return s end end
  return function(kind, s) return (COLORS[kind] or "") .. s .. RESET end
end

-- The string for a scalar (or a table beyond the depth), and its width.
local function scalar(v, paint, nested)
  local t = type(v)
  if t == "string" then
    local s = v
    local cut = nested and #s > 200
    if cut then s = ssub(s, 1, 160) end
    s = quote(s)
    if cut then s = s .. sfmt("...(%d bytes)", #v) end
    return paint("string", s), width(s)
  elseif t == "number" then
    local s = tostring(v)
    return paint("number", s), #s
  elseif t == "boolean" or t == "nil" then
    local s = tostring(v)
    return paint(t, s), #s
  end
  local ok, s = pcall(tostring, v)
  if not ok or type(s) ~= "string" then s = "<" .. t .. ">" end
  return paint("other", s), width(s)
end

local format  -- (v, paint, indent, depth, seen) -> string, width, multiline

-- An array too long for one line, as `ls` lays out names: in as many
-- columns as fit M.width, each as wide as the widest item; numbers to the
-- right of their column, the rest to the left.
local function columns(items, widths, inner, indent)
  local cw, more = 0, nil
  if sfind(items[#items], "^%.%.%. %(") then   -- "... (N more)" goes on its own line
    more = items[#items]
    items, widths = { table.unpack(items, 1, #items - 1) }, { table.unpack(widths, 1, #widths - 1) }
  end
  for i = 1, #widths do
    if widths[i] + 1 > cw then cw = widths[i] + 1 end  -- the item and its comma
  end
  local per = (M.width - #inner + 1) // (cw + 1)
  if per < 1 then per = 1 end
  local lines, line = {}, {}
  for i = 1, #items do
    local s, pad = items[i] .. ",", srep(" ", cw - widths[i] - 1)
    if sfind(items[i], "^[%c%[%d;]*[-%d.]") then
      line[#line + 1] = pad .. s
    else
      line[#line + 1] = s .. pad
    end
    if #line == per or i == #items then
      lines[#lines + 1] = inner .. (concat(line, " "):gsub("%s+$", ""))
      line = {}
    end
  end
  if more then lines[#lines + 1] = inner .. more end
  return "{\n" .. concat(lines, "\n") .. "\n" .. indent .. "}"
end

local function format_table(t, paint, indent, depth, seen)
  if seen[t] then return paint("cycle", "<cycle>"), 7, false end
  if next(t) == nil then return "{}", 2, false end
  if depth > M.depth then return "{...}", 5, false end
  seen[t] = true
  local items, widths, multi = {}, {}, false
  local n = rawlen(t)
  local shown = 0
  for i = 1, n do
    if rawget(t, i) == nil then n = i - 1; break end
  end
  for i = 1, n do
    if shown >= M.items then
      items[#items + 1] = sfmt("... (%d more)", n - shown)
      widths[#widths + 1] = #items[#items]
      break
    end
    local s, w, ml = format(rawget(t, i), paint, indent .. "  ", depth + 1, seen)
    items[#items + 1], widths[#widths + 1] = s, w
    multi = multi or ml
    shown = shown + 1
  end
  local keys = {}
  for k in next, t do
    if not (mtype(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  sort(keys, key_less)
  for i, k in ipairs(keys) do
    if i > M.keys then
      items[#items + 1] = sfmt("... (%d more keys)", #keys - M.keys)
      widths[#widths + 1] = #items[#items]
      break
    end
    local ks, kw
    if is_identifier(k) then
      ks, kw = k, #k
    else
      local s, w = scalar(k, paint, true)
      ks, kw = "[" .. s .. "]", w + 2
    end
    local s, w, ml = format(rawget(t, k), paint, indent .. "  ", depth + 1, seen)
    items[#items + 1], widths[#widths + 1] = ks .. " = " .. s, kw + 3 + w
    multi = multi or ml
  end
  seen[t] = nil
  local total = 4 + #indent
  for i = 1, #widths do total = total + widths[i] + 2 end
  if not multi and total <= M.width then
    return "{ " .. concat(items, ", ") .. " }", total - #indent, false
  end
  local inner = indent .. "  "
  if not multi and #keys == 0 and #items > 1 then
    return columns(items, widths, inner, indent), M.width, true
  end
  return "{\n" .. inner .. concat(items, ",\n" .. inner) .. ",\n" .. indent .. "}", M.width, true
end

function format(v, paint, indent, depth, seen)
  if type(v) == "table" then
    local mt = getmetatable(v)
    if mt and rawget(mt, "__tostring") then return scalar(v, paint, depth > 1) end
    return format_table(v, paint, indent, depth, seen)
  end
  local s, w = scalar(v, paint, depth > 1)
  return s, w, false
end

-- Column order of a result table: the rows' metatable may name it
-- (`__columns`), else `id` first and the rest by name.
local function columns_of(t, n)
  local mt = getmetatable(t)
  local cols = (mt and rawget(mt, "__columns")) or rawget(t, "columns")
  if type(cols) == "table" and #cols > 0 then return cols end
  local set, list = {}, {}
  for i = 1, n do
    for k in next, t[i] do
      if not set[k] then set[k] = true; list[#list + 1] = k end
    end
  end
  sort(list, function(a, b)
    if a == "id" or b == "id" then return a == "id" and b ~= "id" end
    return a < b
  end)
  return list
end

-- Whether `t` is an array of flat records keyed by name (query results).
local function is_rows(t)
  local n = rawlen(t)
  if n == 0 then return false end
  for k in next, t do
    if not (mtype(k) == "integer" and k >= 1 and k <= n) and k ~= "columns" then return false end
  end
  local any = false
  for i = 1, n do
    local row = rawget(t, i)
    if type(row) ~= "table" or rawlen(row) > 0 then return false end
    for k, v in next, row do
      if type(k) ~= "string" or type(v) == "table" then return false end
      any = true
    end
  end
  return any, n
end

-- `s` cut to at most `max` columns, ending in "..." when it was cut; and
-- its width.
local function cut(s, max)
  local w = width(s)
  if w <= max then return s, w end
  if max < 4 then return ssub(s, 1, max), max end
  local at = utf8.offset(s, max - 2)
  return (at and ssub(s, 1, at - 1) or ssub(s, 1, max - 3)) .. "...", max
end

-- Narrow the widest of the column widths `w`, one column at a time and
-- never below 4, until a row (two spaces between columns) fits M.width.
local function fit(w)
  local total = 2 * (#w - 1)
  for j = 1, #w do total = total + w[j] end
  while total > M.width do
    local widest = 1
    for j = 2, #w do
      if w[j] > w[widest] then widest = j end
    end
    if w[widest] <= 4 then break end
    w[widest] = w[widest] - 1
    total = total - 1
  end
end

local function cell(v)
  if v == nil then return "", 0 end
  local s
  if type(v) == "string" then
    s = v:gsub("%c", " ")
  elseif mtype(v) == "float" and v == v and v ~= 1 / 0 and v ~= -1 / 0 then
    s = sfmt("%.6f", v):gsub("0+$", ""):gsub("%.$", ".0")  -- 6 places in a grid
  else
    s = tostring(v)
  end
  return cut(s, M.cell)
end

--- The rows of `t` (an array of records) as an aligned table.
function M.grid(t, color)
  local paint = painter(color)
  local ok, n = is_rows(t)
  if not ok then return nil end
  local cols = columns_of(t, n)
  local shown = n > M.rows and M.rows or n
  local cells, w, numeric = {}, {}, {}
  for j, c in ipairs(cols) do
    w[j] = width(c)
    numeric[j] = true
  end
  for i = 1, shown do
    local row, line = t[i], {}
    for j, c in ipairs(cols) do
      local v = row[c]
      local s, cw = cell(v)
      line[j] = { s, cw, type(v) }
      if cw > w[j] then w[j] = cw end
      if v ~= nil and type(v) ~= "number" then numeric[j] = false end
    end
    cells[i] = line
  end
  fit(w)
  for i = 1, shown do
    for j = 1, #cols do
      local c = cells[i][j]
      if c[2] > w[j] then c[1], c[2] = cut(c[1], w[j]) end
    end
  end
  local out = {}
  local head, rule = {}, {}
  for j, c in ipairs(cols) do
    local hw
    c, hw = cut(tostring(c):gsub("%c", " "), w[j])
    local s = c .. srep(" ", w[j] - hw)
    if numeric[j] then s = srep(" ", w[j] - hw) .. c end
    head[j] = paint("head", s)
    rule[j] = srep("-", w[j])
  end
  out[1] = concat(head, "  "):gsub("%s+$", "")
  out[2] = concat(rule, "  ")
  for i = 1, shown do
    local line = {}
    for j = 1, #cols do
      local s, cw, kind = cells[i][j][1], cells[i][j][2], cells[i][j][3]
      local pad = srep(" ", w[j] - cw)
      if kind == "nil" then
        s = pad .. s
      else
        s = paint(kind == "string" and "string" or kind == "number" and "number" or
                  (kind == "boolean" and "boolean" or "other"), s)
        s = numeric[j] and pad .. s or s .. pad
      end
      line[j] = s
    end
    out[#out + 1] = (concat(line, "  "):gsub("%s+$", ""))
  end
  if shown < n then
    out[#out + 1] = sfmt("... (%d more rows, %d in all)", n - shown, n)
  else
    out[#out + 1] = sfmt("(%d row%s)", n, n == 1 and "" or "s")
  end
  return concat(out, "\n")
end

--- One value as the REPL prints it: tables sorted and nested to a depth,
-- cycles marked, long lists cut, strings quoted; `color` adds ANSI colours.
function M.format(v, color)
  if type(v) == "table" then
    local g = M.grid(v, color)
    if g then return g end
  end
  return (format(v, painter(color), "", 1, {}))
end

M.count = 100000   -- rows of a query counted before "more than"

-- Whether `v` is a query cursor (the state db:rows returns).
local function is_cursor(v)
  local mt = type(v) == "userdata" and getmetatable(v)
  return type(mt) == "table" and rawget(mt, "__name") == "vouch.db.rows"
end

-- Drain a query's iterator into a result table, its columns in order.
local function query_rows(iter, cursor)
  local rows, n = {}, 0
  local cols = debug and debug.getuservalue and debug.getuservalue(cursor, 2)
  for row in iter, cursor do
    n = n + 1
    if n <= M.rows then rows[n] = row end
    if n >= M.count then break end
  end
  local more = n >= M.count and iter(cursor) ~= nil
  if cursor.close then cursor:close() end
  return rows, n, more, type(cols) == "table" and cols or nil
end

--- The text for a statement's results (a table.pack), or nil for none.
-- The results of db:rows(...) print as the table of the query's rows.
function M.show(r, color)
  if r.n == 0 then return nil end
  if r.n >= 2 and type(r[1]) == "function" and is_cursor(r[2]) then
    local rows, n, more, cols = query_rows(r[1], r[2])
    if n == 0 then return "(no rows)" end
    local text = M.grid(setmetatable(rows, { __columns = cols }), color)
    if n > #rows then
      text = text:gsub("[^\n]*$", "") .. sfmt("... (%s%d rows in all)", more and "more than " or "", n)
    end
    return text
  end
  local parts, multi = {}, false
  for i = 1, r.n do
    parts[i] = M.format(r[i], color)
    multi = multi or sfind(parts[i], "\n", 1, true) ~= nil
  end
  return concat(parts, multi and "\n" or "\t")
end

--- Run a statement's chunk and return the text of its results (or nil).
function M.exec(chunk, color, ...)
  return M.show(pack(chunk(...)), color)
end

-- }======================================================

-- {====================================================== top-level locals

-- Keywords that open a block closed by `end` (or `until`): `while` and `for`
-- open theirs with `do`, and `elseif` opens none.
local OPENS = { ["function"] = true, ["do"] = true, ["if"] = true, ["repeat"] = true }
local CLOSES = { ["end"] = true, ["until"] = true }

-- The tokens of Lua source that matter here: names and keywords, and the
-- punctuation `,` `<` `>`; strings, numbers and comments are skipped.
local function tokens(src)
  local i, n = 1, #src
  return function()
    while i <= n do
      local c = ssub(src, i, i)
      if sfind(c, "^%s") then
        i = i + 1
      elseif ssub(src, i, i + 1) == "--" then
        local eq = src:match("^%[(=*)%[", i + 2)
        if eq then
          local _, e = sfind(src, "]" .. eq .. "]", i, true)
          i = (e or n) + 1
        else
          i = (sfind(src, "\n", i, true) or n) + 1
        end
      elseif c == '"' or c == "'" then
        local j = i + 1
        while j <= n do
          local d = ssub(src, j, j)
          if d == "\\" then j = j + 2
          elseif d == c or d == "\n" then break
          else j = j + 1 end
        end
        i = j + 1
      elseif src:match("^%[=*%[", i) then
        local eq = src:match("^%[(=*)%[", i)
        local _, e = sfind(src, "]" .. eq .. "]", i, true)
        i = (e or n) + 1
      elseif sfind(c, "^[%a_]") then
        local name = src:match("^[%w_]+", i)
        i = i + #name
        return name
      elseif sfind(c, "^%d") or (c == "." and sfind(src, "^%.%d", i)) then
        i = i + #src:match("^[%w_.]*", i)
        local e = src:match("^[eEpP]?[-+]?[%w_.]*", i)   -- 1e-5 continues after the sign
        if ssub(src, i - 1, i - 1):match("[eEpP]") and e then i = i + #e end
      else
        i = i + 1
        if c == "," or c == "<" or c == ">" then return c end
      end
    end
    return nil
  end
end

--- The names a chunk declares with `local` at its top level, in order.
function M.top_locals(src)
  local names, seen, depth = {}, {}, 0
  local next_token = tokens(src)
  local tok = next_token()
  local function add(name)
    if name and sfind(name, "^[%a_][%w_]*$") and not KEYWORDS[name] and not seen[name] then
      seen[name] = true
      names[#names + 1] = name
    end
  end
  while tok do
    if OPENS[tok] then
      depth = depth + 1
    elseif CLOSES[tok] then
      depth = depth - 1
    elseif tok == "local" and depth == 0 then
      tok = next_token()
      if tok == "function" then
        depth = depth + 1
        add(next_token())
      else
        while tok do
          add(tok)
          tok = next_token()
          if tok == "<" then next_token(); next_token(); tok = next_token() end  -- <const>
          if tok ~= "," then break end
          tok = next_token()
        end
        goto again   -- tok is the next statement's first token
      end
    end
    tok = next_token()
    ::again::
  end
  return names
end

--- `src` with a line added that keeps its top-level locals in the REPL's
-- environment (`local t = {}` leaves `t` for the next statement), or nil
-- when it declares none.
function M.keep_locals(src)
  local names = M.top_locals(src)
  if #names == 0 then return nil end
  local lhs = {}
  for i, name in ipairs(names) do
    if name == "_ENV" then return nil end
    lhs[i] = "_ENV." .. name
  end
  return src .. "\n;" .. concat(lhs, ", ") .. " = " .. concat(names, ", ")
end

-- }======================================================

-- {====================================================== completion

local function index_table(v)
  local mt = getmetatable(v)
  if type(mt) ~= "table" then return nil end
  local idx = rawget(mt, "__index")
  if type(idx) == "table" then return idx end
  return nil
end

-- Look `key` up the way Lua does, following __index tables only (never
-- calling a function, which could be user code).
local function lookup(v, key)
  for _ = 1, 10 do
    if type(v) == "table" then
      local x = rawget(v, key)
      if x ~= nil then return x end
    end
    v = index_table(v)
    if v == nil then return nil end
  end
  return nil
end

-- Add the string keys of `v` and of its __index chain to `set`.
local function collect(v, set, methods_only)
  for _ = 1, 10 do
    if type(v) == "table" then
      for k, x in next, v do
        if is_identifier(k) and (not methods_only or type(x) == "function") then
          set[k] = true
        end
      end
    end
    v = index_table(v)
    if v == nil then return end
  end
end

--- Completions of `text` (`pri`, `vouch.db.op`, `db:ex`) in environment `env`:
-- a sorted array of whole replacements.
function M.complete(env, text)
  local head, sep, last = text:match("^(.*)([.:])([%w_]*)$")
  local set = {}
  if not head then
    last = text:match("[%w_]*$") or ""
    collect(env, set, false)
    for k in pairs(KEYWORDS) do set[k] = true end
    head, sep = "", ""
  elseif head == "" and sep == "." then
    for _, c in ipairs(M.commands) do set[c:sub(2)] = true end
  else
    if head == "" or not head:match("^[%a_][%w_]*[%w_.]*$") or head:find("..", 1, true) then
      return {}
    end
    local v = env
    for name in head:gmatch("[^.]+") do
      v = lookup(v, name)
      if v == nil then return {} end
    end
    if type(v) == "string" then v = string end
    collect(v, set, sep == ":")
  end
  local out = {}
  for k in pairs(set) do
    if ssub(k, 1, #last) == last then out[#out + 1] = head .. sep .. k end
  end
  sort(out)
  return out
end

-- }======================================================

-- {====================================================== commands

M.commands = { ".exit", ".help", ".load", ".mem", ".tables", ".time" }

M.help = [[
Enter Lua statements or expressions; an expression's values are printed
(`=expr` works too). An incomplete statement continues on the next line.
Async calls (vouch.sleep, loads, HTTP) wait without stopping the loop.
A top-level `local` stays for the next lines: `local t = {}` then `t.x = 1`
works, because each top-level local is copied into the REPL's environment
(as a global) when its statement ends; locals inside blocks and functions
stay local.

  .help           this text
  .load FILE      run a Lua file in the REPL's environment
  .mem            the bytes counted against --max-memory now
  .tables         the tables of the default database, with their row counts
  .time on|off    print how long each statement took
  .exit           leave (Ctrl-D does too)

Keys: Tab completes names, fields, methods (db:) and file names in strings;
Ctrl-C stops the running statement or clears the line; Up/Down walk the
history.]]

--- The `.tables` command: the default database's tables and row counts.
function M.tables(vouch)
  local db = type(vouch) == "table" and vouch.db
  if type(db) ~= "table" or type(db.open) ~= "function" then
    error("storage is unavailable: this build has no vouch.db", 0)
  end
  local conn = db.open()
  local out = {}
  for row in conn:rows("SELECT name FROM sqlite_schema WHERE type = 'table' " ..
                       "AND name NOT LIKE 'sqlite_%' ORDER BY name") do
    local count = conn:one('SELECT count(*) AS n FROM "' .. row.name:gsub('"', '""') .. '"')
    out[#out + 1] = { name = row.name, rows = count and count.n }
  end
  if #out == 0 then return "(no tables)" end
  return setmetatable(out, { __columns = { "name", "rows" } })
end

-- }======================================================

return M

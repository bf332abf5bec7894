-- cli.lua: what the scorecard commands (vet, explain, runs, diff, test)
-- share: option parsing, loading data by extension, plain-text tables.
local M = {}

local format, concat, rep = string.format, table.concat, string.rep

--- Report on stderr as the CLI does: `vouch: message`.
function M.say(fmt, ...)
  vouch.eprint(format("vouch: " .. fmt, ...))
end

--- Open a data file by its extension: a source with :rows(), or nil, message.
function M.source(path)
  local ext = path:lower():match("%.(%w+)$")
  local load = vouch.load
  if ext == "csv" then return load.csv(path)
  elseif ext == "json" then return load.json(path)
  elseif ext == "ndjson" or ext == "jsonl" then return load.ndjson(path)
  elseif ext == "xlsx" then return load.xlsx(path)
  end
  local ok, entries = pcall(vouch.dir, path)
  if ok and entries then
    return nil, format("%s: is a directory (name the data files in it, e.g. %s/*.csv)", path,
                       (path:gsub("/+$", "")))
  end
  return nil, format("%s: unknown data format (use .csv, .json, .ndjson or .xlsx)", path)
end

-- A source's first row, read ahead by M.check_reads (JSON has no header:
-- its columns are the keys of the first row), with the iterator it came
-- from, so that M.chain starts from it. Keyed weakly by source.
local peeked = setmetatable({}, { __mode = "k" })

local function open_rows(src)
  local p = peeked[src]
  if p then
    peeked[src] = nil
    local first = p.row
    return function()
      if first ~= nil then local row = first; first = nil; return row end
      return p.it()
    end
  end
  return require("vouch.scorecard").closure(src:rows())
end

-- Where rows of `src` are said to be: by line, or by element for a JSON
-- document (whose rows need not have a line of their own).
local function by_line(src) return src.format ~= "json" and src.line ~= nil end

-- Where the last row of `src` came from: "path:line", or "path: element N".
local function origin(src)
  if by_line(src) then return format("%s:%d", src.path, src.line) end
  return format("%s: element %d", src.path, src.rows_read)
end

--- One row iterator over several sources, one after the other. Each row
--- must have an id, seen once in the whole chain: a row without one, or
--- an id seen before, raises an error naming the file and line of both.
--- The ids seen are kept on disk, not in memory. While it runs, a
--- failing rule can ask vouch.scorecard.where(p) where the row came from.
--- Returns the iterator, where() (the source of the last row and its
--- number there) and skip(), which reads the next row without making it
--- or checking its id.
function M.chain(sources)
  local sc = require "vouch.scorecard"
  local k, it, src, last = 0, nil, nil, nil
  -- Where each id was first seen: source index * 2^40 + line (or element),
  -- in a private temporary database on disk, so that a run of millions
  -- of partners does not hold their ids in memory (a Lua table would cost
  -- about 80 MiB a million ids). The inserts are queued: the database's
  -- thread makes them while the rows are scored, and an id seen again
  -- marks its row (`again`, the first place it was seen again), which is
  -- looked for now and then and at the end, through an index of only
  -- those rows. The error then names both places, a little later.
  local ids = vouch.db.open("")
  ids:exec("CREATE TABLE seen(id TEXT PRIMARY KEY, pos INTEGER NOT NULL, again INTEGER) " ..
           "WITHOUT ROWID; CREATE INDEX seen_again ON seen(again) WHERE again IS NOT NULL")
  ids:exec("BEGIN")
  local INSERT = "INSERT INTO seen VALUES (?1, ?2, NULL) ON CONFLICT(id) DO UPDATE " ..
                 "SET again = ?2 WHERE again IS NULL"
  local CHECK_EVERY = 8192
  local since = 0
  local function at(pos)
    local s, n = sources[pos >> 40], pos & ((1 << 40) - 1)
    return by_line(s) and format("%s:%d", s.path, n) or format("%s: element %d", s.path, n)
  end
  -- Raise for the first id seen twice so far, if any.
  local function twice()
    local r = ids:one("SELECT id, pos, again FROM seen WHERE again IS NOT NULL ORDER BY again LIMIT 1")
    if r then
      error(format("%s: partner '%s' appears twice (first at %s); each id must be unique " ..
                   "in one run", at(r.again), r.id, at(r.pos)), 0)
    end
  end
  sc.where = function(p) if p == last and src then return origin(src) end end
  -- Each row's id: checked there, and queued to be seen once.
  local function check(id)
    if id == nil or id == "" then
      error(format("%s: a row without an id (each partner needs one in column 'id')",
                   origin(src)), 0)
    end
    ids:queue(INSERT, tostring(id), (k << 40) | (by_line(src) and src.line or src.rows_read))
    since = since + 1
    if since == CHECK_EVERY then since = 0; twice() end
  end
  -- The next source, or false after the last.
  local ids_of   -- of the source: its ids alone, or nil where its first row was read ahead
  local function advance()
    k = k + 1
    src = sources[k]
    if not src then
      last = nil
      if ids then twice(); ids:close(); ids = nil end
      return false
    end
    ids_of = not peeked[src] and src:field("id") or nil
    it = open_rows(src)
    return true
  end
  local function next_row()
    while true do
      if it then
        local row = it()
        if row ~= nil then
          last = row
          check(row.id)
          return row
        end
      end
      if not advance() then return nil end
    end
  end
  -- The next row read, without making it or checking its id: a row of
  -- another process's share of a run in shards, whose id that process
  -- checks (and the server sees once in the run). True, or nil after the last.
  local function skip_row()
    while true do
      if it then
        local more
        if ids_of then more = ids_of() else more = it() ~= nil end
        if more then
          last = nil
          return true
        end
      end
      if not advance() then return nil end
    end
  end
  -- The source of the row returned last, and its number there.
  local function where()
    if src then return src, src.rows_read end
  end
  return next_row, where, skip_row
end

--- Refuse a scorecard that reads a field no input has: every field a rule
--- reads (and does not mark optional) must be a column of some source.
--- A source without a header (JSON, NDJSON) has the keys of its first
--- row; since its rows may each leave fields out, a field missing there
--- is refused only when it looks like a slip for one of them. Returns
--- true, or nil and a message naming the rule, the field and the closest
--- column. Call it before scoring: it reads the first row of such sources
--- ahead (M.chain starts from it).
function M.check_reads(card, sources)
  local sc = require "vouch.scorecard"
  local columns, any, strict = {}, false, true
  for _, src in ipairs(sources) do
    local cols = src.columns
    if not cols or #cols == 0 then
      strict = false
      local it = sc.closure(src:rows())
      local row = it()
      peeked[src] = { it = it, row = row }
      cols = {}
      if type(row) == "table" then for key in pairs(row) do cols[#cols + 1] = key end end
    end
    for _, c in ipairs(cols or {}) do columns[c] = true; any = true end
  end
  if not any then return true end   -- nothing to check against (empty inputs)
  local names = {}
  for _, src in ipairs(sources) do names[#names + 1] = src.path end
  -- A portfolio rule judges only the partners that have its fields (the
  -- bundled scorecard's audience and category rules sit idle on data
  -- without them), so there, as for JSON, a field no input has is refused
  -- only when it looks like a slip for one that it has.
  local rules = {}
  for _, r in ipairs(card.rules) do rules[#rules + 1] = { rule = r, strict = strict } end
  for _, r in ipairs(card.portfolio or {}) do rules[#rules + 1] = { rule = r, strict = false } end
  for _, e in ipairs(rules) do
    local r = e.rule
    for _, f in ipairs(r.reads) do
      if not columns[f] and not r.optional[f] and (e.strict or sc.closest(f, columns)) then
        return nil, format("%s: rule %s reads '%s', which no column of %s has%s " ..
                           "(or list it in the rule's 'optional')", card.path or card.name, r.id, f,
                           concat(names, ", "), sc.did_you_mean(f, columns))
      end
    end
  end
  return true
end

--- A table cell as it is shown: control characters (a newline in a name)
--- escaped as \n, \t or \ddd, so that no value can break a row.
local ESCAPES = { ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
local function cell(s)
  s = tostring(s)
  if not s:find("%c") then return s end
  return (s:gsub("%c", function(c) return ESCAPES[c] or format("\\%03d", c:byte()) end))
end
M.cell = cell

--- Display width of a UTF-8 string as a cell (code points; good enough
--- for tables).
local function width(s)
  s = cell(s)
  local ok, n = pcall(utf8.len, s)
  return (ok and n) or #s
end

local function pad(s, w, right)
  s = cell(s)
  local fill = rep(" ", math.max(0, w - width(s)))
  return right and (fill .. s) or (s .. fill)
end

--- Cut a string to `w` display characters, marking the cut with "…".
function M.cut(s, w)
  s = cell(s)
  if width(s) <= w then return s end
  if w < 1 then return "" end
  local ok, stop = pcall(utf8.offset, s, w)
  if not ok or not stop then return s:sub(1, w - 1) .. "…" end
  return s:sub(1, stop - 1) .. "…"
end

M.width, M.pad = width, pad

-- The terminal the command prints to, as the host found it: its width
-- (0 when the output is piped: no limit) and whether to colour.
local function term()
  local commands = require "vouch.cmd.commands"
  return commands.columns or 0, commands.color or false
end
M.term = term

--- SGR colours for a cell, by its value: verdicts and statuses.
M.COLORS = { approve = "32", review = "33", reject = "31", ok = "32", done = "32",
             failed = "31", running = "33", indeterminate = "33", veto = "31", pass = "2" }

-- Narrow the widest columns of `w` until the line (with `gap` between
-- cells and `indent` before) fits `limit`; no column below 5 characters
-- (or its header's width, when less).
local function fit(w, header, limit, gap, indent)
  local total = indent + gap * (#w - 1)
  for c = 1, #w do total = total + w[c] end
  while total > limit do
    local widest, next_w = nil, 0
    for c = 1, #w do
      if w[c] > math.min(5, width(header[c])) and (not widest or w[c] > w[widest]) then widest = c end
    end
    if not widest then break end
    for c = 1, #w do if c ~= widest and w[c] > next_w then next_w = w[c] end end
    local floor = math.max(math.min(5, width(header[widest])), next_w)
    local take = math.min(total - limit, math.max(1, w[widest] - floor))
    w[widest], total = w[widest] - take, total - take
  end
end
M.fit = fit

--- Format rows (arrays of values) as columns under `header`. `opts`:
--- right (a set of column numbers aligned right), indent (a string put
--- before each line), color (a set of column numbers whose values are
--- coloured by M.COLORS). Cells are escaped (M.cell); on a terminal the
--- table fits its width, the widest columns cut with "…"; the header is
--- bold and values coloured when colour is on. Returns the lines.
function M.table(header, rows, opts)
  opts = opts or {}
  local right, indent, colored = opts.right or {}, opts.indent or "", opts.color or {}
  local limit, color = term()
  local w = {}
  for c, h in ipairs(header) do w[c] = width(h) end
  for _, r in ipairs(rows) do
    for c = 1, #header do w[c] = math.max(w[c], width(tostring(r[c] or ""))) end
  end
  if limit > 0 then fit(w, header, limit - 1, 2, #indent) end
  local lines = {}
  local function line(r, sgr)
    local cells = {}
    for c = 1, #header do
      local v = tostring(r[c] or "")
      local text = M.cut(v, w[c])
      local fill = rep(" ", w[c] - width(text))
      local code = sgr or (colored[c] and M.COLORS[v:match("^%a+")])
      if color and code then text = "\27[" .. code .. "m" .. text .. "\27[0m" end
      cells[c] = right[c] and (fill .. text) or (text .. fill)
    end
    lines[#lines + 1] = indent .. (concat(cells, "  "):gsub("%s+$", ""))
  end
  line(header, "1")
  local rule = {}
  for c = 1, #header do rule[c] = rep("-", w[c]) end
  line(rule, false)
  for _, r in ipairs(rows) do line(r) end
  return lines
end

--- Print M.table's lines.
function M.print_table(header, rows, opts)
  for _, l in ipairs(M.table(header, rows, opts)) do print(l) end
end

--- The --format of a command that prints records: "table" (the default),
--- "json" or "csv"; or nil and the exit status after a usage error.
function M.format(opts, name, sub)
  local f = opts.format or "table"
  if f == "table" or f == "json" or f == "csv" then return f end
  return nil, require("vouch.cmd.commands").usage(name, sub,
    format("unknown format '%s' (table, json or csv)", f))
end

--- Print records (tables keyed by the names in `cols`) as CSV: a header,
--- then a line each.
function M.print_csv(cols, recs)
  print(concat(cols, ","))
  for _, r in ipairs(recs) do
    local f = {}
    for i, c in ipairs(cols) do f[i] = M.csv_field(r[c]) end
    print(concat(f, ","))
  end
end

--- A number for display: one decimal, or "-" for nil (indeterminate).
function M.num(v, fmt)
  if v == nil then return "-" end
  return format(fmt or "%.1f", v)
end

--- A CSV field, quoted when it needs to be (RFC 4180).
function M.csv_field(v)
  if v == nil then return "" end
  v = tostring(v)
  if v:find('[,"\r\n]') then return '"' .. v:gsub('"', '""') .. '"' end
  return v
end

--- Decode a JSON column, or return the raw text when no decoder is there.
function M.decode(text)
  if vouch.json and vouch.json.decode and text then
    local ok, v = pcall(vouch.json.decode, text)
    if ok then return v end
  end
  return text
end

--- "k=v k=v" for an evidence table (sorted keys), or the raw text.
function M.evidence(ev)
  if type(ev) ~= "table" then return tostring(ev or "") end
  local keys = {}
  for k in pairs(ev) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    local v = ev[k]
    if type(v) == "number" then v = require("vouch.scorecard").fmtnum(v) end
    if type(v) == "table" then v = "..." end
    parts[#parts + 1] = k .. "=" .. tostring(v)
  end
  return concat(parts, " ")
end

return M

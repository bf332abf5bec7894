-- cli.lua: what the scorecard commands (vet, explain, runs, diff, test)
-- share: option parsing, loading data by extension, plain-text tables.
local M = {}

local format, concat, rep = string.format, table.concat, string.rep

--- Report on stderr as the CLI does: `vouch: message`.
function M.say(fmt, ...)
  vouch.eprint(format("vouch: " .. fmt, ...))
end

--- Parse `args` against `spec` ({ name = "value" | "flag" }). Returns the
--- options, the positional arguments; or nil and a message.
function M.parse(args, spec)
  local opts, pos, i = {}, {}, 1
  while i <= #args do
    local a = args[i]
    if a == "--" then
      for k = i + 1, #args do pos[#pos + 1] = args[k] end
      break
    end
    local name, value = a:match("^%-%-([%w%-]+)=(.*)$")
    if not name then name = a:match("^%-%-([%w%-]+)$") end
    if name then
      local kind = spec[name]
      if kind == nil then return nil, format("unknown option '--%s'", name) end
      if kind == "flag" then
        if value then return nil, format("option '--%s' takes no value", name) end
        opts[name] = true
      else
        if value == nil then
          i = i + 1
          value = args[i]
          if value == nil then return nil, format("option '--%s' needs a value", name) end
        end
        opts[name] = value
      end
    elseif a:match("^%-.") then
      return nil, format("unknown option '%s'", a)
    else
      pos[#pos + 1] = a
    end
    i = i + 1
  end
  return opts, pos
end

--- Open a data file by its extension: a source with :rows(), or nil, message.
function M.source(path)
  local ext = path:lower():match("%.(%w+)$")
  local load = vouch.load
  if ext == "csv" then return load.csv(path)
  elseif ext == "json" then return load.json(path)
  elseif ext == "ndjson" or ext == "jsonl" then return load.ndjson(path)
  end
  return nil, format("%s: unknown data format (use .csv, .json or .ndjson)", path)
end

--- One row iterator over several sources, one after the other.
function M.chain(sources)
  local k, it = 0, nil
  return function()
    while true do
      if it then
        local row = it()
        if row ~= nil then return row end
      end
      k = k + 1
      if not sources[k] then return nil end
      it = require("vouch.scorecard").closure(sources[k]:rows())
    end
  end
end

--- Display width of a UTF-8 string (code points; good enough for tables).
local function width(s)
  local ok, n = pcall(utf8.len, s)
  return (ok and n) or #s
end

local function pad(s, w, right)
  local fill = rep(" ", math.max(0, w - width(s)))
  return right and (fill .. s) or (s .. fill)
end

--- Cut a string to `w` display characters, marking the cut with "~".
function M.cut(s, w)
  s = tostring(s)
  if width(s) <= w then return s end
  local ok, stop = pcall(utf8.offset, s, w)
  if not ok or not stop then return s:sub(1, w - 1) .. "~" end
  return s:sub(1, stop - 1) .. "~"
end

M.width, M.pad = width, pad

--- Format rows (arrays of strings) as columns under `header`; `right`
--- names the columns aligned right. Returns the lines.
function M.table(header, rows, right)
  right = right or {}
  local w = {}
  for c, h in ipairs(header) do w[c] = width(h) end
  for _, r in ipairs(rows) do
    for c = 1, #header do w[c] = math.max(w[c], width(tostring(r[c] or ""))) end
  end
  local lines = {}
  local function line(r)
    local cells = {}
    for c = 1, #header do
      cells[c] = pad(tostring(r[c] or ""), w[c], right[c])
    end
    lines[#lines + 1] = (concat(cells, "  "):gsub("%s+$", ""))
  end
  line(header)
  local rule = {}
  for c = 1, #header do rule[c] = rep("-", w[c]) end
  line(rule)
  for _, r in ipairs(rows) do line(r) end
  return lines
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

-- cmd/report.lua: `vouch report`, stored runs as HTML, Markdown or JSON.
--
--   vouch report [--run N | --partner ID | --diff A B] [--out FILE]
--                [--format html|md|json|xlsx] [--limit N] [--open]
local report = require "vouch.report"

local file = vouch.file
local format = string.format

local function fail(code, msg)
  vouch.eprint("vouch: report: " .. msg)
  return code
end

local function usage(msg)
  return require("vouch.cmd.commands").usage("report", nil, msg)
end

local function run_id(s, what)
  local n = s and math.tointeger(tonumber(s))
  if not n or n < 1 then return nil, format("%s needs a run number, got '%s'", what, tostring(s)) end
  return n
end

-- Parse the arguments into an options table. A usage error is raised as
-- { usage = message }, for the caller to tell from a bug.
local function parse(args)
  local o, pos = require("vouch.cmd.commands").parse(args, "report")
  if not o then error({ usage = pos }) end
  if #pos > 0 then error({ usage = format("unexpected argument '%s'", pos[1]) }) end
  if o.limit then
    o.limit = math.tointeger(tonumber(o.limit))
    if not o.limit or o.limit < 0 then error({ usage = "--limit needs a count (0 for all)" }) end
  end
  local chosen = (o.run and 1 or 0) + (o.partner and 1 or 0) + (o.diff and 1 or 0)
  if chosen > 1 then error({ usage = "choose one of --run, --partner and --diff" }) end
  local function id(s, what)
    local n, err = run_id(s, what)
    if not n then error({ usage = err }) end
    return n
  end
  if o.run then o.run = id(o.run, "--run") end
  if o.diff then o.diff = { id(o.diff[1], "--diff"), id(o.diff[2], "--diff") } end
  if o.out == "-" then o.out = nil end
  if not o.format then
    local ext = o.out and o.out:match("%.(%w+)$")
    ext = ext and ext:lower()
    o.format = (ext == "md" or ext == "markdown") and "md" or ext == "json" and "json" or
               ext == "xlsx" and "xlsx" or "html"
  end
  if o.format ~= "html" and o.format ~= "md" and o.format ~= "json" and o.format ~= "xlsx" then
    error({ usage = format("unknown format '%s' (html, md, json or xlsx)", o.format) })
  end
  if o.format == "xlsx" and (not o.out or o.partner or o.diff) then
    error({ usage = "--format xlsx writes one run (--run N, or the latest) to --out FILE" })
  end
  if o.open and not o.out then error({ usage = "--open needs --out FILE" }) end
  return o
end

require("vouch.cmd.commands").validate.report = parse

return function(...)
  local args = { ... }
  local ok, o = pcall(parse, args)
  if not ok then
    if type(o) == "table" and o.usage then return usage(o.usage) end
    error(o, 0)
  end
  if o.help then
    print(require("vouch.cmd.commands").page(require("vouch.cmd.commands").find("report")))
    return 0
  end

  local db, err = vouch.db.open()
  if not db then return fail(4, tostring(err)) end
  if o.format == "xlsx" then  -- the whole run, as a workbook
    local id, n, e = o.run, nil, nil
    if not id then id, e = report.latest_run(db) end
    if id then n, e = require("vouch.workbook").run(db, id, o.out) end
    db:close()
    if not n then return fail(1, e) end
    print(format("wrote %s (xlsx of run #%d, %d partners)", o.out, id, n))
    return 0
  end
  local data
  local opts = { limit = o.limit }
  if o.partner then data, err = report.partner(db, o.partner)
  elseif o.diff then data, err = report.diff(db, o.diff[1], o.diff[2], opts)
  else data, err = report.run(db, o.run, opts) end
  db:close()
  if not data then return fail(1, err) end

  local text, charts
  if o.format == "json" then text = report.json(data)
  elseif o.format == "html" then text = report.html(data)
  else
    local dir = o.out and (o.out:gsub("%.[^./]*$", "") .. "_files")
    text, charts = report.markdown(data, { charts_dir = dir and dir:match("[^/]*$") })
    if dir and #charts > 0 then
      local okd, derr = file.mkdir(dir)
      if not okd then return fail(1, derr) end
      for _, c in ipairs(charts) do
        local okw, werr = file.write(dir .. "/" .. c.file, c.svg)
        if not okw then return fail(1, werr) end
      end
    end
  end

  if not o.out then
    file.stdout(text)
    return 0
  end
  local okw, werr = file.write(o.out, text)
  if not okw then return fail(1, werr) end
  local what = data.report == "run" and ("run #" .. tostring(data.run.id))
    or data.report == "partner" and ("partner " .. data.partner.partner_id)
    or format("run #%s against run #%s", tostring(data.a.id), tostring(data.b.id))
  print(format("wrote %s (%s report on %s%s)", o.out, o.format, what,
    charts and #charts > 0 and format(", %d charts in %s", #charts, o.out:gsub("%.[^./]*$", "") .. "_files/") or ""))
  if o.open then
    local opener, oerr = file.show(o.out)
    if opener then print(format("opened %s with %s", o.out, opener))
    else vouch.eprint(format("vouch: report: not opened: %s\nhint: open %s in a browser by hand", oerr, o.out)) end
  end
  return 0
end

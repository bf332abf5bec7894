-- cmd/report.lua: `vouch report`, stored runs as HTML, Markdown or JSON.
--
--   vouch report [--run N | --partner ID | --diff A B] [--out FILE]
--                [--format html|md|json|xlsx] [--limit N] [--open]
local report = require "vouch.report"

local file = vouch.file
local format = string.format

local HELP = [[
Reports on what is stored in the database:
  (default)         the latest finished run
  --run N           run N: partners ranked with verdicts and principal
                    reasons, counts per verdict, the dimensions of the
                    run's scorecard per partner beside the portfolio median
                    (a radar from three dimensions, else bars), red flags
  --partner ID      one partner across runs: total and dimensions over
                    time, reasons that came and went
  --diff A B        run A against run B: partners that changed verdict
  --out FILE        write the report to FILE (default: standard output);
                    Markdown charts go to FILE's stem + "_files/" beside it.
                    FILE and that folder need no --allow-write.
  --format F        html (default), md, json or xlsx (a workbook of the
                    whole run: the ranking and a sheet of reasons; needs
                    --out); by default taken from FILE's extension (.md,
                    .markdown, .json, .xlsx)
  --limit N         list at most N partners (default 500, 0 for all); counts,
                    medians and red flags always cover the whole run
  --open            open the written file with xdg-open or sensible-browser
]]

local function fail(code, msg)
  vouch.eprint("vouch: report: " .. msg)
  return code
end

local function usage(msg)
  return fail(2, msg .. "\nusage: vouch report [--run N | --partner ID | --diff A B] " ..
    "[--out FILE] [--format html|md|json|xlsx] [--open]")
end

local function run_id(s, what)
  local n = s and math.tointeger(tonumber(s))
  if not n or n < 1 then return nil, format("%s needs a run number, got '%s'", what, tostring(s)) end
  return n
end

-- Parse the arguments into an options table. A usage error is raised as
-- { usage = message }, for the caller to tell from a bug.
local function parse(args)
  local o = {}
  local i = 1
  while i <= #args do
    local a = args[i]
    local name, inline = a:match("^(%-%-[%w-]+)=(.*)$")
    if name then a = name end
    local function get()
      if inline then return inline end
      i = i + 1
      if args[i] == nil then error({ usage = a .. " needs a value" }) end
      return args[i]
    end
    if a == "--help" or a == "-h" then o.help = true
    elseif a == "--run" then o.run = get()
    elseif a == "--partner" then o.partner = get()
    elseif a == "--diff" then
      if inline then error({ usage = "--diff takes two run numbers: --diff A B" }) end
      o.diff = { args[i + 1], args[i + 2] }
      if not o.diff[2] then error({ usage = "--diff takes two run numbers: --diff A B" }) end
      i = i + 2
    elseif a == "--out" then o.out = get()
    elseif a == "--format" then o.format = get()
    elseif a == "--limit" then
      o.limit = math.tointeger(tonumber(get()))
      if not o.limit or o.limit < 0 then error({ usage = "--limit needs a count (0 for all)" }) end
    elseif a == "--open" then o.open = true
    else error({ usage = format("unknown argument '%s'", args[i]) }) end
    i = i + 1
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

return function(...)
  local args = { ... }
  local ok, o = pcall(parse, args)
  if not ok then
    if type(o) == "table" and o.usage then return usage(o.usage) end
    error(o, 0)
  end
  if o.help then
    print(HELP)
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
    else print(format("not opened: %s; open %s in a browser", oerr, o.out)) end
  end
  return 0
end

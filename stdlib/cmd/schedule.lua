-- vouch schedule: manage scheduled runs of scripts. `run` and `tick` are
-- done by the scheduler's engine in C (host/sched.c); the rest is here,
-- through vouch.schedules (host/sched_lua.c).
local schedules = vouch.schedules
local cron = vouch.cron
local eprint = vouch.eprint
local cli = require "vouch.scorecard.cli"
local concat, fmt = table.concat, string.format


local function fail(msg, code)
  eprint("vouch: schedule: " .. msg)
  return code or 2
end

local commands_table = require "vouch.cmd.commands"

local function parse_add(args)
  local o, pos = commands_table.parse(args, "schedule", "add")
  if not o then return nil, pos end
  local opts = { args = {}, alerts = o.alert or {}, tz = o.tz, overlap = o.overlap,
                 paused = o.paused, replace = o.replace }
  if o.missed then
    local policy, cap = o.missed:match("^(%a+):(%d+)$")
    opts.missed = policy or o.missed
    opts.missed_cap = cap and math.tointeger(tonumber(cap))
  end
  if o.jitter then
    opts.jitter = math.tointeger(tonumber(o.jitter))
    if not opts.jitter then return nil, "bad --jitter '" .. o.jitter .. "' (seconds)" end
  end
  if o.threshold then
    opts.threshold = tonumber(o.threshold)
    if not opts.threshold then return nil, "bad --threshold '" .. o.threshold .. "'" end
  end
  if o.keep then
    opts.keep = math.tointeger(tonumber(o.keep))
    if not opts.keep or opts.keep < 1 then return nil, "bad --keep '" .. o.keep .. "' (a positive number of runs)" end
  end
  if o["keep-days"] then
    opts.keep_days = tonumber(o["keep-days"])
    if not opts.keep_days or opts.keep_days <= 0 then
      return nil, "bad --keep-days '" .. o["keep-days"] .. "' (a positive number of days)"
    end
  end
  if #pos < 3 then return nil, "needs NAME, 'EXPR' and SCRIPT" end
  opts.name, opts.expr, opts.script = pos[1], pos[2], pos[3]
  for k = 4, #pos do opts.args[#opts.args + 1] = pos[k] end
  return opts
end

local function when(t, tz)
  if not t then return "-" end
  if tz and tz ~= "UTC" then
    local secs = cron.time(t)
    return t .. " (" .. cron.localtime(secs, tz):sub(5, 20) .. ")"
  end
  return t
end

-- Print rows as aligned columns.
-- Rows under `header`: a table (the command line's printer: it fits the
-- terminal and colours the columns in `colored`), or CSV.
local function columns(header, rows, format, colored)
  for _, r in ipairs(rows) do
    for c = 1, #header do r[c] = tostring(r[c] == nil and "-" or r[c]) end
  end
  if format ~= "csv" then return cli.print_table(header, rows, { color = colored }) end
  local names, recs = {}, {}
  for c, h in ipairs(header) do names[c] = h:lower():gsub(" ", "_") end
  for k, r in ipairs(rows) do
    recs[k] = {}
    for c, name in ipairs(names) do recs[k][name] = r[c] end
  end
  cli.print_csv(names, recs)
end

-- cmd:vet's arguments as vet reads them, and each data file it names
-- opened now: a schedule that would fail at every run is refused at once.
local function check_vet(args)
  local o, pos = commands_table.parse(args, "vet")
  if not o then return nil, "cmd:vet: " .. pos, 2 end
  if #pos == 0 then return nil, "cmd:vet needs a data file (vouch vet DATA...)", 2 end
  for _, path in ipairs(pos) do
    local ok, src, err = pcall(require("vouch.scorecard.cli").source, path)
    if not ok or not src then return nil, "cmd:vet: " .. tostring(ok and err or src):gsub("^[^:]*:%d+: ", ""), 1 end
  end
  return true
end

local commands = {}

function commands.add(args)
  local opts, err = parse_add(args)
  if not opts then return commands_table.usage("schedule", "add", err) end
  if opts.script == "cmd:vet" then
    local ok, why, code = check_vet(opts.args)
    if not ok then return fail(why, code) end
  end
  local add = opts.replace and vouch.schedule or schedules.add
  opts.replace = nil
  local ok, row, msg = pcall(add, opts)
  if not ok then return fail(tostring(row):gsub("^[^:]*:%d+: ", ""), 1) end
  if not row then return fail(msg) end
  print(fmt("schedule %s added: %s%s, next run %s", row.name, row.expr,
    row.tz ~= "UTC" and (" (" .. row.tz .. ")") or "", when(row.next_run, row.tz)))
end

-- A time already past is one no daemon acted on (or is about to).
local function next_run(s, daemon, now)
  if s.paused == 1 then return "paused" end
  local t = when(s.next_run, s.tz)
  if s.next_run and s.next_run < now then
    return t .. (daemon and " (due)" or " (missed: no daemon)")
  end
  return t
end

function commands.list(_, opts)
  local list, daemon = schedules.list(), schedules.daemon()
  if opts.format == "json" then
    for _, s in ipairs(list) do s.daemon = daemon or vouch.json.null end
    print(vouch.json.encode(vouch.json.array(list)))
    return
  end
  local rows, now = {}, schedules.now()
  -- On a server, which daemon drives each schedule (several may share it).
  local shared = #schedules.daemons() > 0
  for _, s in ipairs(list) do
    local policies = "missed=" .. s.missed .. (s.missed == "each" and (":" .. s.missed_cap) or "")
      .. " overlap=" .. s.overlap .. (s.jitter > 0 and (" jitter=" .. s.jitter .. "s") or "")
    if s.keep > 0 then policies = policies .. " keep=" .. s.keep end
    if s.keep_days > 0 then policies = policies .. fmt(" keep-days=%g", s.keep_days) end
    rows[#rows + 1] = { s.name, s.expr .. (s.tz ~= "UTC" and (" " .. s.tz) or ""),
      next_run(s, daemon, now), s.last_run or "-", policies, s.script }
    if shared then table.insert(rows[#rows], 4, s.holder or "-") end
  end
  if #rows == 0 and opts.format ~= "csv" then
    print("no schedules (add one with: vouch schedule add NAME 'EXPR' SCRIPT)") return
  end
  local header = { "NAME", "EXPR", "NEXT RUN", "LAST RUN", "POLICIES", "SCRIPT" }
  if shared then table.insert(header, 4, "HELD BY") end
  columns(header, rows, opts.format)
  if not daemon and opts.format ~= "csv" then
    eprint("note: no daemon is running on this database, so nothing runs at these times "
      .. "(start one with: vouch daemon)")
  end
end

local function simple(fn, done)
  return function(args)
    if not args[1] then return fail("which schedule? (vouch schedule list)") end
    local ok, err = fn(args[1])
    if not ok then return fail(err, 1) end
    print(fmt(done, args[1]))
  end
end

commands.rm = simple(schedules.remove, "schedule %s removed")
commands.remove = commands.rm
commands.pause = simple(schedules.pause, "schedule %s paused")
commands.resume = simple(schedules.resume, "schedule %s resumed")

-- The --limit of history and alerts: a positive number, default 20.
local function limit_of(opts)
  if not opts.limit then return 20 end
  local limit = math.tointeger(tonumber(opts.limit))
  if not limit or limit < 1 then return nil, "bad --limit '" .. opts.limit .. "' (a positive number)" end
  return limit
end

-- A run's alert (JSON text) as a list of reports, one per scoring run.
local function reports(r)
  local ok, list = pcall(vouch.json.decode, r.alert or "[]")
  return ok and type(list) == "table" and list or {}
end

-- An alert report in a few words: what moved.
local function moved(a)
  local drift = {}
  for _, d in ipairs(a.drift or {}) do
    if d.band ~= "stable" then drift[#drift + 1] = fmt("%s %.4g (%s)", d.dimension, d.psi, d.band) end
  end
  return fmt("%d verdicts, %d moves, %d new flags%s", #(a.verdict_changes or {}), #(a.moves or {}),
    #(a.new_flags or {}), #drift > 0 and ("; drift: " .. concat(drift, ", ")) or "")
end

function commands.history(args, opts)
  local name, output = args[1], opts.output
  if args[2] then return commands_table.usage("schedule", "history", "unexpected argument '" .. args[2] .. "'") end
  local limit, err = limit_of(opts)
  if not limit then return fail(err) end
  local rows = {}
  local runs = schedules.history(name, limit)
  if opts.format == "json" then
    for _, r in ipairs(runs) do
      if r.alert then r.alert = vouch.json.array(reports(r)) end
    end
    print(vouch.json.encode(vouch.json.array(runs)))
    return
  end
  local shared = false  -- runs made by the daemons of a server say which
  for _, r in ipairs(runs) do shared = shared or r.daemon ~= nil end
  for _, r in ipairs(runs) do
    local n = #reports(r)
    rows[#rows + 1] = { r.id, r.schedule, r.status, r.trigger, r.started_at,
      r.duration and fmt("%.2fs", r.duration) or "-", r.run_id or "-",
      n > 0 and fmt("%d (schedule alerts)", n) or "-", r.error or "" }
    if shared then table.insert(rows[#rows], 6, r.daemon or "-") end
  end
  if #rows == 0 and opts.format ~= "csv" then print("no runs yet") return end
  local header = { "ID", "SCHEDULE", "STATUS", "TRIGGER", "STARTED", "DURATION", "RUN", "ALERT", "ERROR" }
  if shared then table.insert(header, 6, "DAEMON") end
  columns(header, rows, opts.format, { [3] = true })
  if output then
    for _, r in ipairs(runs) do
      if r.output and r.output ~= "" then
        print(fmt("\n--- run %d (%s) output:", r.id, r.schedule))
        print((r.output:gsub("\n$", "")))
      end
    end
  end
end

function commands.alerts(args, opts)
  if args[2] then return commands_table.usage("schedule", "alerts", "unexpected argument '" .. args[2] .. "'") end
  local limit, err = limit_of(opts)
  if not limit then return fail(err) end
  local list, rows = {}, {}
  for _, r in ipairs(schedules.alerts(args[1], limit)) do
    for _, a in ipairs(reports(r)) do
      list[#list + 1] = a
      rows[#rows + 1] = { a.at or r.ended_at, r.schedule, a.run_id, a.previous_run_id, moved(a) }
    end
  end
  if opts.format == "json" then print(vouch.json.encode(vouch.json.array(list))) return end
  if #rows == 0 and opts.format ~= "csv" then print("no alerts yet") return end
  columns({ "AT", "SCHEDULE", "RUN", "BEFORE", "WHAT MOVED" }, rows, opts.format)
end

return function(...)
  local args = { ... }
  if args[1] == "remove" then args[1] = "rm" end
  local sub, status = commands_table.subcommand(args, "schedule")
  if not sub then return status end
  local rest = table.move(args, 2, #args, 1, {})
  if sub.name == "add" then
    local o = commands_table.parse(rest, "schedule", "add")
    if o and o.help then print(commands_table.page(sub)) return 0 end
    return commands.add(rest)
  end
  local opts, pos = commands_table.args(rest, "schedule", sub.name)
  if not opts then return pos end
  if opts.format and opts.format ~= "table" and opts.format ~= "json" and opts.format ~= "csv" then
    return commands_table.usage("schedule", sub.name, "bad --format '" .. opts.format .. "' (table, json or csv)")
  end
  if sub.name == "list" and pos[1] then
    return commands_table.usage("schedule", "list", "unexpected argument '" .. pos[1] .. "'")
  end
  if (sub.name == "rm" or sub.name == "pause" or sub.name == "resume") and pos[2] then
    return commands_table.usage("schedule", sub.name, "unexpected argument '" .. pos[2] .. "'")
  end
  return commands[sub.name](pos, opts)
end

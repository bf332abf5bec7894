-- vouch schedule: manage scheduled runs of scripts. `run` and `tick` are
-- done by the scheduler's engine in C (host/sched.c); the rest is here.
local schedules = vouch.schedules
local cron = vouch.cron
local eprint = vouch.eprint
local concat, fmt = table.concat, string.format

local help = [[
Subcommands:
  add NAME 'EXPR' SCRIPT [ARGS...] [options]   add a schedule
      --tz ZONE              read EXPR in an IANA zone (default UTC)
      --missed skip|once|each[:CAP]
                             runs missed while no daemon ran: drop them
                             (default), run one, or run each (newest CAP, 10)
      --overlap skip|queue|replace
                             when the previous run still runs: skip this one
                             (default), run it afterwards, or kill the old one
      --jitter SECONDS       delay each run by up to SECONDS (spreads load)
      --alert TARGET         stderr, file:PATH or an http(s) URL (repeatable)
      --threshold POINTS     a total moving more than this is reported (10)
      --paused               add it paused
      --replace              replace a schedule of the same name
      SCRIPT is a Lua file (run as `vouch run SCRIPT ARGS`), cmd:vet or
      cmd:report. Put `--` before ARGS that start with a dash.
      Runs get what this command may read, write and reach (--allow-*),
      and its limits, never more than the daemon's own.
  list                       the schedules with their next run
  rm NAME                    remove a schedule (its history stays)
  pause NAME | resume NAME   stop and restart it (resume skips what was missed)
  run NAME                   run it now, wait, print its output
  history [NAME] [--limit N] [--output]
                             past runs: status, start, duration, error
  tick --at TIME             run what is due at TIME and wait (a clock for tests)

EXPR: see `vouch help cron`. The daemon (`vouch daemon`) runs due schedules.]]

local function fail(msg, code)
  eprint("vouch: schedule: " .. msg)
  return code or 2
end

local function parse_add(args)
  local opts = { args = {}, alerts = {} }
  local pos = {}
  local i, rest = 1, false
  local with_value = { ["--tz"] = "tz", ["--missed"] = "missed", ["--overlap"] = "overlap",
    ["--jitter"] = "jitter", ["--alert"] = "alert", ["--threshold"] = "threshold" }
  while i <= #args do
    local a = args[i]
    if rest then
      pos[#pos + 1] = a
    elseif a == "--" then
      rest = true
    elseif a == "--paused" then
      opts.paused = true
    elseif a == "--replace" then
      opts.replace = true
    elseif a:sub(1, 2) == "--" and #pos < 3 and not with_value[a:match("^(%-%-[%a]+)") or ""] then
      return nil, "unknown option '" .. a .. "'"
    elseif with_value[a:match("^(%-%-[%a]+)") or ""] then
      local name, val = a:match("^(%-%-[%a]+)=(.*)$")
      name = name or a
      local key = with_value[name]
      if not val then
        i = i + 1
        val = args[i]
        if val == nil then return nil, "option '" .. name .. "' needs a value" end
      end
      if key == "alert" then
        opts.alerts[#opts.alerts + 1] = val
      elseif key == "missed" then
        local policy, cap = val:match("^(%a+):(%d+)$")
        opts.missed = policy or val
        opts.missed_cap = cap and math.tointeger(tonumber(cap))
      elseif key == "jitter" then
        opts.jitter = math.tointeger(tonumber(val))
        if not opts.jitter then return nil, "bad --jitter '" .. val .. "' (seconds)" end
      elseif key == "threshold" then
        opts.threshold = tonumber(val)
        if not opts.threshold then return nil, "bad --threshold '" .. val .. "'" end
      else
        opts[key] = val
      end
    else
      pos[#pos + 1] = a
    end
    i = i + 1
  end
  if #pos < 3 then return nil, "usage: vouch schedule add NAME 'EXPR' SCRIPT [ARGS...]" end
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
local function columns(header, rows)
  local width = {}
  for c, h in ipairs(header) do width[c] = #h end
  for _, r in ipairs(rows) do
    for c = 1, #header do
      r[c] = tostring(r[c] == nil and "-" or r[c])
      if #r[c] > width[c] and c < #header then width[c] = #r[c] end
    end
  end
  local function line(r)
    local out = {}
    for c = 1, #header do
      out[c] = c < #header and fmt("%-" .. width[c] .. "s", r[c]) or r[c]
    end
    print((concat(out, "  "):gsub("%s+$", "")))
  end
  line(header)
  for _, r in ipairs(rows) do line(r) end
end

local commands = {}

function commands.add(args)
  local opts, err = parse_add(args)
  if not opts then return fail(err) end
  local add = opts.replace and vouch.schedule or schedules.add
  opts.replace = nil
  local ok, row, msg = pcall(add, opts)
  if not ok then return fail(tostring(row):gsub("^[^:]*:%d+: ", ""), 1) end
  if not row then return fail(msg) end
  print(fmt("schedule %s added: %s%s, next run %s", row.name, row.expr,
    row.tz ~= "UTC" and (" (" .. row.tz .. ")") or "", when(row.next_run, row.tz)))
end

function commands.list()
  local rows = {}
  for _, s in ipairs(schedules.list()) do
    local policies = "missed=" .. s.missed .. (s.missed == "each" and (":" .. s.missed_cap) or "")
      .. " overlap=" .. s.overlap .. (s.jitter > 0 and (" jitter=" .. s.jitter .. "s") or "")
    rows[#rows + 1] = { s.name, s.expr .. (s.tz ~= "UTC" and (" " .. s.tz) or ""),
      s.paused == 1 and "paused" or when(s.next_run, s.tz), s.last_run or "-", policies,
      s.script }
  end
  if #rows == 0 then print("no schedules (add one with: vouch schedule add NAME 'EXPR' SCRIPT)") return end
  columns({ "NAME", "EXPR", "NEXT RUN", "LAST RUN", "POLICIES", "SCRIPT" }, rows)
  if not schedules.daemon() then
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

function commands.history(args)
  local name, limit, output
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--limit" then i = i + 1 limit = math.tointeger(tonumber(args[i] or ""))
      if not limit then return fail("bad --limit") end
    elseif a:match("^%-%-limit=") then limit = math.tointeger(tonumber(a:sub(9)))
      if not limit then return fail("bad --limit") end
    elseif a == "--output" then output = true
    elseif a:sub(1, 1) == "-" then return fail("unknown option '" .. a .. "'")
    else name = a end
    i = i + 1
  end
  local rows = {}
  local runs = schedules.history(name, limit or 20)
  for _, r in ipairs(runs) do
    local note = r.error or ""
    if r.alert then note = (note ~= "" and note .. "; " or "") .. "alert sent" end
    rows[#rows + 1] = { r.id, r.schedule, r.status, r.trigger, r.started_at,
      r.duration and fmt("%.2fs", r.duration) or "-", r.run_id or "-", note }
  end
  if #rows == 0 then print("no runs yet") return end
  columns({ "ID", "SCHEDULE", "STATUS", "TRIGGER", "STARTED", "DURATION", "RUN", "ERROR" }, rows)
  if output then
    for _, r in ipairs(runs) do
      if r.output and r.output ~= "" then
        print(fmt("\n--- run %d (%s) output:", r.id, r.schedule))
        print((r.output:gsub("\n$", "")))
      end
    end
  end
end

return function(sub, ...)
  local args = { ... }
  if sub == nil or sub == "--help" or sub == "help" then print(help) return 0 end
  local cmd = commands[sub]
  if not cmd then return fail("unknown subcommand '" .. sub .. "' (see vouch help schedule)") end
  return cmd(args)
end

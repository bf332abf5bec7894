-- vouch cron: check what a schedule expression means.
--   vouch cron next 'EXPR' [--from TIME] [--count N] [--tz ZONE] [--format F]
local cron = vouch.cron
local cli = require "vouch.scorecard.cli"

local function fail(msg)
  vouch.eprint("vouch: cron: " .. msg)
  return 2
end

return function(...)
  local commands = require "vouch.cmd.commands"
  local args = { ... }
  local sub, status = commands.subcommand(args, "cron")
  if not sub then return status end
  local opts, pos = commands.args(table.move(args, 2, #args, 1, {}), "cron", "next")
  if not opts then return pos end
  if #pos > 1 then
    return commands.usage("cron", "next", "unexpected argument '" .. pos[2] .. "' (quote the expression)")
  end
  local fmt, st = cli.format(opts, "cron", "next")
  if not fmt then return st end
  local expr, from, count, tz = pos[1], opts.from, opts.count, opts.tz
  if not expr then return commands.usage("cron", "next", "no expression given") end
  local n = 5
  if count then
    n = math.tointeger(tonumber(count))
    if not n or n < 1 then return fail("bad --count '" .. count .. "'") end
  end
  if from then
    local t, err = cron.time(from, tz)
    if not t then return fail(err) end
    from = t
  end
  local times, err = cron.next(expr, from, n, tz)
  if not times then return fail(err) end
  -- One line a fire time in every format: JSON Lines, CSV, or the table.
  if fmt == "csv" then print("utc,local") end
  for _, t in ipairs(times) do
    local wall = cron.localtime(t, tz)
    if fmt == "json" then print(vouch.json.encode { utc = t, ["local"] = wall, tz = tz or "UTC" })
    elseif fmt == "csv" then print(cli.csv_field(t) .. "," .. cli.csv_field(wall))
    else print(t .. "  " .. wall) end
  end
  if #times < n then vouch.eprint("vouch: cron: no more fire times within eight years") end
  return 0
end

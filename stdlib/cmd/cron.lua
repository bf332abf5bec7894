-- vouch cron: check what a schedule expression means.
--   vouch cron next 'EXPR' [--from TIME] [--count N] [--tz ZONE]
local cron = vouch.cron

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
  for _, t in ipairs(times) do
    print(t .. "  " .. cron.localtime(t, tz))
  end
  if #times < n then vouch.eprint("vouch: cron: no more fire times within eight years") end
  return 0
end

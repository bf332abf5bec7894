-- vouch cron: check what a schedule expression means.
--   vouch cron next 'EXPR' [--from TIME] [--count N] [--tz ZONE]
local cron = vouch.cron

local help = [[
Subcommands:
  next 'EXPR' [--from TIME] [--count N] [--tz ZONE]
      print the next N fire times (default 5) after TIME (default now),
      one per line: the UTC time, then the wall time in ZONE (default UTC)

EXPR is five cron fields (minute hour day-of-month month day-of-week) with
names (jan-dec, sun-sat), ranges, lists and steps; when both day fields are
restricted a day matching either runs (7 is Sunday too); or @hourly @daily
@weekly @monthly @yearly; or an interval: every 30s, every 15m, every 2h.
TIME is YYYY-MM-DDTHH:MM[:SS]Z, or a wall time in ZONE without the Z.
In a zone with daylight saving, a time skipped by the clock runs once right
after the gap, and a time that happens twice runs once (the first time).]]

local function fail(msg)
  vouch.eprint("vouch: cron: " .. msg)
  return 2
end

return function(...)
  local args = {...}
  if args[1] == "--help" or args[1] == "help" then print(help) return 0 end
  if args[1] ~= "next" then
    return fail(args[1] and ("unknown subcommand '" .. args[1] .. "' (try: vouch cron next 'EXPR')")
      or "usage: vouch cron next 'EXPR' [--from TIME] [--count N] [--tz ZONE]")
  end
  local expr, from, count, tz
  local i = 2
  while i <= #args do
    local a = args[i]
    local opt, val = a:match("^(%-%-%a+)=(.*)$")
    if not opt then opt = a end
    local function value()
      if val then return val end
      i = i + 1
      return args[i]
    end
    if opt == "--from" then from = value()
    elseif opt == "--count" then count = value()
    elseif opt == "--tz" then tz = value()
    elseif a:sub(1, 2) == "--" then return fail("unknown option '" .. a .. "'")
    elseif expr == nil then expr = a
    else return fail("unexpected argument '" .. a .. "' (quote the expression)") end
    if opt ~= a or a:sub(1, 2) == "--" then
      if (opt == "--from" and from == nil) or (opt == "--count" and count == nil)
        or (opt == "--tz" and tz == nil) then
        return fail("option '" .. opt .. "' needs a value")
      end
    end
    i = i + 1
  end
  if not expr then return fail("no expression given") end
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

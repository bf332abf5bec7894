-- prune.lua: `vouch prune [--keep N] [--keep-days DAYS] [--dry-run]`: remove
-- the runs the policy and each schedule's own retention do not keep, with
-- their scores and the inputs no run reads any more (vouch.schedules.prune).
local commands = require "vouch.cmd.commands"
local fmt = string.format

local function plural(n, what)
  return fmt("%d %s%s", n, what, n == 1 and "" or "s")
end

return function(...)
  local opts, pos = commands.args({ ... }, "prune")
  if not opts then return pos end
  if pos[1] then return commands.usage("prune", nil, "unexpected argument '" .. pos[1] .. "'") end
  local keep, days = 0, 0
  if opts.keep then
    keep = math.tointeger(tonumber(opts.keep))
    if not keep or keep < 1 then return commands.usage("prune", nil, "bad --keep '" .. opts.keep .. "' (a positive number of runs)") end
  end
  if opts["keep-days"] then
    days = tonumber(opts["keep-days"])
    if not days or days <= 0 then
      return commands.usage("prune", nil, "bad --keep-days '" .. opts["keep-days"] .. "' (a positive number of days)")
    end
  end
  local n, err = vouch.schedules.prune { keep = keep, keep_days = days, dry_run = opts["dry-run"] }
  if not n then vouch.eprint("vouch: prune: " .. err) return 4 end
  print(fmt("%s %s, %s, %s, %s and %s of schedules", opts["dry-run"] and "would remove" or "removed",
    plural(n.runs, "run"), plural(n.scores, "score"), plural(n.loads, "load"),
    plural(n.inputs, "input row"), plural(n.history, "history row")))
  if keep == 0 and days == 0 and n.runs == 0 and n.history == 0 then
    print("(give --keep N or --keep-days DAYS; only schedules with a retention of their own were pruned)")
  end
  return 0
end

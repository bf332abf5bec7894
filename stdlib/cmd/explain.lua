-- explain.lua: `vouch explain PARTNER [--run N]`: every rule's outcome for
-- one partner in a stored run, with its evidence and points, grouped by
-- dimension.
local record = require "vouch.record"
local cli = require "vouch.scorecard.cli"

local format = string.format


return function(...)
  local commands = require "vouch.cmd.commands"
  local opts, pos = commands.args({ ... }, "explain")
  if not opts then return pos end
  if #pos ~= 1 then return commands.usage("explain", nil, "give one partner") end
  local run = opts.run and math.tointeger(tonumber(opts.run))
  if opts.run and not run then cli.say("explain: --run needs a run number, got '%s'", opts.run); return 2 end
  local db = vouch.db.open()
  local who = pos[1]
  local s = record.score_row(db, who, run)
  if not s then
    if run and not db:one("SELECT id FROM runs WHERE id = ?", run) then
      cli.say("explain: no run %d (see 'vouch %sruns')", run, require("vouch.cmd.commands").db_arg())
    else
      cli.say("explain: no score for partner '%s'%s", who, run and format(" in run %d", run) or "")
    end
    return 1
  end
  print(format("%s  %s (%s)", s.partner_id, s.name or "", s.kind or "?"))
  print(format("run %d, scorecard %s, %s", s.run_id, s.scorecard, s.started_at))
  local outcomes, stored, names, differs = record.outcomes(db, s)
  if not outcomes then cli.say("explain: %s", stored); return 1 end
  print(format("total %s  verdict %s  weakest %s", cli.num(stored.total), stored.verdict,
               stored.weakest or "-"))
  if differs then
    cli.say("explain: warning: the scorecard no longer gives the stored result for '%s' " ..
            "(a rule reads something besides the partner's fields); showing the " ..
            "stored total and verdict", s.partner_id)
  end
  local groups, order, principal = {}, {}, {}
  for _, o in ipairs(outcomes) do
    local g = o.dimension or "(no dimension)"
    if not groups[g] then groups[g] = {}; order[#order + 1] = g end
    table.insert(groups[g], o)
    if o.rank then principal[o.rank] = o end
  end
  print("\nprincipal reasons:")
  if #principal == 0 then print("  (none)") end
  for k, o in ipairs(principal) do
    local pts = ""
    if o.points and (o.outcome == "score" or o.outcome == "points") then pts = format(" %.1f", o.points)
    elseif o.points and o.points ~= 0 then pts = format(" %+.1f on the total", o.points) end
    print(format("  %d. %s (%s%s): %s", k, o.code, o.outcome, pts, cli.evidence(o.evidence)))
  end
  -- The scorecard's dimensions in its order, then whatever has no dimension.
  local ranked, own = {}, {}
  for _, d in ipairs(names) do
    own[d] = true
    if groups[d] then ranked[#ranked + 1] = d end
  end
  for _, g in ipairs(order) do if not own[g] then ranked[#ranked + 1] = g end end
  for _, g in ipairs(ranked) do
    print(format("\n%s%s", g, own[g] and (" " .. cli.num(stored.dimensions[g])) or ""))
    local rows = {}
    for _, o in ipairs(groups[g]) do
      rows[#rows + 1] = { "  " .. o.code, o.outcome, o.points and format("%.1f", o.points) or "-",
                          o.rank and ("#" .. o.rank) or "", cli.evidence(o.evidence) }
    end
    local lines = cli.table({ "  rule", "outcome", "points", "rank", "evidence" }, rows, { [3] = true })
    for i = 3, #lines do print(lines[i]) end
  end
  return 0
end

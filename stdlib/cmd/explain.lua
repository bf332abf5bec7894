-- explain.lua: `vouch explain PARTNER [--run N]`: every rule's outcome for
-- one partner in a stored run, with its evidence and points, grouped by
-- dimension.
local sc = require "vouch.scorecard"
local cli = require "vouch.scorecard.cli"

local format = string.format

local help = [[
Show how a partner was scored: the total and verdict, the principal reasons,
then every rule's outcome with its points and evidence, grouped by dimension.
PARTNER is an id or an exact name. Without --run, the latest run that scored
the partner.

  --run N    the run to explain

Exit codes: 0 done, 1 no such partner or run, 2 usage.]]

return function(...)
  local opts, pos = cli.parse({ ... }, { run = "value", help = "flag" })
  if opts and opts.help then print(help); return 0 end
  if not opts or #pos ~= 1 then
    cli.say("explain: %s\nusage: vouch explain PARTNER [--run N]", opts and "give one partner" or pos)
    return 2
  end
  local run = opts.run and math.tointeger(tonumber(opts.run))
  if opts.run and not run then cli.say("explain: --run needs a run number, got '%s'", opts.run); return 2 end
  local db = vouch.db.open()
  local who = pos[1]
  local sql = "SELECT s.*, r.scorecard, r.started_at, r.status FROM scores s JOIN runs r ON r.id = s.run_id " ..
              "WHERE (s.partner_id = ? OR s.name = ?)" .. (run and " AND s.run_id = ?" or "") ..
              " ORDER BY s.run_id DESC LIMIT 1"
  local s
  if run then s = db:one(sql, who, who, run) else s = db:one(sql, who, who) end
  if not s then
    if run and not db:one("SELECT id FROM runs WHERE id = ?", run) then
      cli.say("explain: no run %d (see 'vouch runs')", run)
    else
      cli.say("explain: no score for partner '%s'%s", who, run and format(" in run %d", run) or "")
    end
    return 1
  end
  print(format("%s  %s (%s)", s.partner_id, s.name or "", s.kind or "?"))
  print(format("run %d, scorecard %s, %s", s.run_id, s.scorecard, s.started_at))
  local weakest, low
  for _, d in ipairs(sc.DIMENSIONS) do
    if s[d] and (not low or s[d] < low) then weakest, low = d, s[d] end
  end
  print(format("total %s  verdict %s  weakest %s", cli.num(s.total), s.verdict, weakest or "-"))
  local groups, order, principal = {}, {}, {}
  for o in db:rows("SELECT code, dimension, outcome, points, rank, evidence FROM reasons " ..
                   "WHERE run_id = ? AND partner_id = ? ORDER BY rowid", s.run_id, s.partner_id) do
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
    print(format("  %d. %s (%s%s): %s", k, o.code, o.outcome, pts, cli.evidence(cli.decode(o.evidence))))
  end
  -- Dimensions in the canonical order, then whatever has no dimension.
  local ranked, canonical = {}, {}
  for _, d in ipairs(sc.DIMENSIONS) do
    canonical[d] = true
    if groups[d] then ranked[#ranked + 1] = d end
  end
  for _, g in ipairs(order) do if not canonical[g] then ranked[#ranked + 1] = g end end
  for _, g in ipairs(ranked) do
    print(format("\n%s%s", g, canonical[g] and (" " .. cli.num(s[g])) or ""))
    local rows = {}
    for _, o in ipairs(groups[g]) do
      rows[#rows + 1] = { "  " .. o.code, o.outcome, o.points and format("%.1f", o.points) or "-",
                          o.rank and ("#" .. o.rank) or "", cli.evidence(cli.decode(o.evidence)) }
    end
    local lines = cli.table({ "  rule", "outcome", "points", "rank", "evidence" }, rows, { [3] = true })
    for i = 3, #lines do print(lines[i]) end
  end
  return 0
end

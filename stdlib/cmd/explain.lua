-- explain.lua: `vouch explain PARTNER [--run N]`: every rule's outcome for
-- one partner in a stored run, with its evidence and points, grouped by
-- dimension.
local sc = require "vouch.scorecard"
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
  local sql = "SELECT s.*, r.scorecard, r.started_at, r.status, c.dimensions, c.rules, i.vals, l.columns " ..
              "FROM scores s JOIN runs r ON r.id = s.run_id " ..
              "LEFT JOIN scorecards c ON c.hash = r.scorecard_hash " ..
              "LEFT JOIN inputs i ON i.load_id = s.load_id AND i.row = s.row " ..
              "LEFT JOIN loads l ON l.id = s.load_id " ..
              "WHERE s.%s = ?" .. (run and " AND s.run_id = ?" or "") ..
              " ORDER BY s.run_id DESC LIMIT 1"
  -- By id first (an index look-up), then by name (a scan of the scores).
  local s
  for _, col in ipairs { "partner_id", "name" } do
    if run then s = db:one(format(sql, col), who, run) else s = db:one(format(sql, col), who) end
    if s then break end
  end
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
  local names = sc.json_decode(s.dimensions) or {}
  names.rules = sc.json_decode(s.rules) or {}
  local stored = sc.stored(s, names)
  print(format("total %s  verdict %s  weakest %s", cli.num(stored.total), stored.verdict,
               stored.weakest or "-"))
  -- Every outcome: replayed from the stored input with the stored
  -- scorecard, or, for runs made before inputs were stored, as stored.
  local outcomes
  if s.vals then
    local card, why = sc.of_run(db, s.run_id)
    if not card then cli.say("explain: %s", why); return 1 end
    local res = card:replay(sc.input(s.vals, s.columns), stored)
    if res.differs then
      cli.say("explain: warning: the scorecard no longer gives the stored result for '%s' " ..
              "(a rule reads something besides the partner's fields); showing the " ..
              "stored total and verdict", s.partner_id)
    end
    outcomes = {}
    for k, o in ipairs(res.outcomes) do
      outcomes[k] = { code = o.code, dimension = o.dimension, outcome = o.outcome,
                      points = o.points, rank = o.rank, evidence = o.evidence }
    end
  else
    outcomes = {}
    for o in db:rows("SELECT code, dimension, outcome, points, rank, evidence FROM reasons " ..
                     "WHERE run_id = ? AND partner_id = ? ORDER BY rowid", s.run_id, s.partner_id) do
      o.evidence = cli.decode(o.evidence)
      outcomes[#outcomes + 1] = o
    end
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

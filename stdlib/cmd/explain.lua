-- explain.lua: `vouch explain PARTNER [--run N]`: every rule's outcome for
-- one partner in a stored run, with its evidence and points, grouped by
-- dimension.
local sc = require "vouch.scorecard"
local record = require "vouch.record"
local cli = require "vouch.scorecard.cli"

local format, concat = string.format, table.concat

-- The id or name closest to `who` in run `run` (or the latest run), for a
-- did-you-mean; candidates share its first letter, so that a run of a
-- million partners is not all read.
local function suggest(db, who, run)
  run = run or (db:one("SELECT max(id) AS id FROM runs") or {}).id
  if not run or who == "" then return nil end
  local by_lower = {}
  for r in db:rows("SELECT partner_id, name FROM scores WHERE run_id = ? AND " ..
                   "(lower(substr(partner_id, 1, 1)) = lower(substr(?2, 1, 1)) OR " ..
                   "lower(substr(name, 1, 1)) = lower(substr(?2, 1, 1))) LIMIT 20000", run, who) do
    by_lower[r.partner_id:lower()] = r.partner_id
    if r.name then by_lower[r.name:lower()] = r.name end
  end
  local near = sc.closest(who:lower(), by_lower)
  return near and by_lower[near]
end

-- An outcome as the table and the reasons show it: "indeterminate: f
-- missing" names what was missing.
local function outcome_text(o)
  if o.outcome == "indeterminate" and o.missing then
    return "indeterminate: " .. concat(o.missing, ", ") .. " missing"
  end
  return o.outcome
end


return function(...)
  local commands = require "vouch.cmd.commands"
  local opts, pos = commands.args({ ... }, "explain")
  if not opts then return pos end
  if #pos ~= 1 then return commands.usage("explain", nil, "give one partner") end
  local fmt, status = cli.format(opts, "explain")
  if not fmt then return status end
  local run = opts.run and math.tointeger(tonumber(opts.run))
  if opts.run and not run then cli.say("explain: --run needs a run number, got '%s'", opts.run); return 2 end
  local db = vouch.db.open()
  local who = pos[1]
  local s = record.score_row(db, who, run)
  if not s then
    if run and not db:one("SELECT id FROM runs WHERE id = ?", run) then
      cli.say("explain: no run %d (see 'vouch %sruns')", run, commands.db_arg())
    else
      local near = suggest(db, who, run)
      cli.say("explain: no score for partner '%s'%s%s", who, run and format(" in run %d", run) or "",
              near and format(" (did you mean '%s'?)", near) or "")
    end
    return 1
  end
  local outcomes, stored, names, differs = record.outcomes(db, s)
  if not outcomes then cli.say("explain: %s", stored); return 1 end
  if differs then
    cli.say("explain: warning: the scorecard no longer gives the stored result for '%s' " ..
            "(a rule reads something besides the partner's fields); showing the " ..
            "stored total and verdict", s.partner_id)
  end
  if fmt == "json" then
    for _, o in ipairs(outcomes) do
      if type(o.evidence) == "table" then o.evidence = vouch.json.object(o.evidence) end
    end
    print(vouch.json.encode { partner_id = s.partner_id, name = s.name, kind = s.kind, run = s.run_id,
                              scorecard = s.scorecard, started = s.started_at, total = stored.total,
                              verdict = stored.verdict, weakest = stored.weakest,
                              dimensions = vouch.json.object(stored.dimensions or {}),
                              outcomes = vouch.json.array(outcomes) })
    return 0
  elseif fmt == "csv" then
    local recs = {}
    for k, o in ipairs(outcomes) do
      recs[k] = { rule = o.code, dimension = o.dimension, outcome = o.outcome, points = o.points,
                  rank = o.rank, missing = o.missing and concat(o.missing, " "),
                  evidence = cli.evidence(o.evidence) }
    end
    cli.print_csv({ "rule", "dimension", "outcome", "points", "rank", "missing", "evidence" }, recs)
    return 0
  end
  print(format("%s  %s (%s)", cli.cell(s.partner_id), cli.cell(s.name or ""), cli.cell(s.kind or "?")))
  print(format("run %d, scorecard %s, %s", s.run_id, s.scorecard, s.started_at))
  print(format("total %s  verdict %s  weakest %s", cli.num(stored.total), stored.verdict,
               stored.weakest or "-"))
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
    local ev = cli.cell(cli.evidence(o.evidence))
    print(format("  %d. %s (%s%s)%s", k, o.code, outcome_text(o), pts, ev ~= "" and (": " .. ev) or ""))
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
      rows[#rows + 1] = { o.code, outcome_text(o), o.points and format("%.1f", o.points) or "-",
                          o.rank and ("#" .. o.rank) or "", cli.evidence(o.evidence) }
    end
    local lines = cli.table({ "rule", "outcome", "points", "rank", "evidence" }, rows,
                            { right = { [3] = true }, indent = "  ", color = { [2] = true } })
    for k = 3, #lines do print(lines[k]) end
  end
  return 0
end

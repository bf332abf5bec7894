-- diff.lua: `vouch diff RUN_A RUN_B`: compare two runs (a champion and a
-- challenger rule set, or last month and now): verdict changes, the largest
-- score moves, and per-dimension shifts.
local cli = require "vouch.scorecard.cli"
local record = require "vouch.record"

local format, abs = string.format, math.abs

local help = [[
Compare two stored runs partner by partner: verdicts that changed, partners
only in one run, the largest moves of the total, and the mean shift of each
dimension the two runs' scorecards share, over the partners both scored.

  --top N          how many score moves to show (default 10)
  --fail-on WHAT   exit 5 when a verdict changed (WHAT = verdict) or a
                   partner became reject (WHAT = reject): for CI of rules

Exit codes: 0 done, 1 no such run, 2 usage, 5 the --fail-on check failed.]]

local function load_run(db, id)
  local run = db:one("SELECT * FROM runs WHERE id = ?", id)
  if not run then return nil end
  local scores, ids = {}, {}
  for s in db:rows("SELECT partner_id, name, verdict, total FROM scores WHERE run_id = ? ORDER BY partner_id", id) do
    scores[s.partner_id] = s
    ids[#ids + 1] = s.partner_id
  end
  run.scores, run.ids = scores, ids
  return run
end

return function(...)
  local opts, pos = cli.parse({ ... }, { top = "value", ["fail-on"] = "value", help = "flag" })
  if opts and opts.help then print(help); return 0 end
  if not opts or #pos ~= 2 then
    cli.say("diff: %s\nusage: vouch diff RUN_A RUN_B", opts and "give two runs" or pos)
    return 2
  end
  local a_id, b_id = math.tointeger(tonumber(pos[1])), math.tointeger(tonumber(pos[2]))
  if not a_id or not b_id then cli.say("diff: runs are numbers (see 'vouch runs')"); return 2 end
  local top = math.tointeger(tonumber(opts.top or 10))
  if not top or top < 0 then cli.say("diff: --top needs a number"); return 2 end
  local fail_on = opts["fail-on"]
  if fail_on and fail_on ~= "verdict" and fail_on ~= "reject" then
    cli.say("diff: --fail-on takes verdict or reject"); return 2
  end
  local db = vouch.db.open()
  local A, B = load_run(db, a_id), load_run(db, b_id)
  if not A or not B then cli.say("diff: no run %d (see 'vouch runs')", A and b_id or a_id); return 1 end
  print(format("run %d (%s %s, %s, %d partners) -> run %d (%s %s, %s, %d partners)",
               a_id, A.scorecard, A.scorecard_hash:sub(1, 8), A.started_at, #A.ids,
               b_id, B.scorecard, B.scorecard_hash:sub(1, 8), B.started_at, #B.ids))
  local count = { A = { approve = 0, review = 0, reject = 0 }, B = { approve = 0, review = 0, reject = 0 } }
  for _, s in pairs(A.scores) do count.A[s.verdict] = count.A[s.verdict] + 1 end
  for _, s in pairs(B.scores) do count.B[s.verdict] = count.B[s.verdict] + 1 end
  print(format("verdicts: approve %d -> %d, review %d -> %d, reject %d -> %d",
               count.A.approve, count.B.approve, count.A.review, count.B.review,
               count.A.reject, count.B.reject))

  local changed, moves, only_a, only_b, new_reject = {}, {}, {}, {}, 0
  for _, id in ipairs(A.ids) do
    local a, b = A.scores[id], B.scores[id]
    if not b then only_a[#only_a + 1] = id
    else
      if a.verdict ~= b.verdict then
        changed[#changed + 1] = { id, cli.cut(b.name or "", 28), a.verdict .. " -> " .. b.verdict,
                                  cli.num(a.total) .. " -> " .. cli.num(b.total) }
        if b.verdict == "reject" then new_reject = new_reject + 1 end
      end
      if a.total and b.total and a.total ~= b.total then
        moves[#moves + 1] = { id = id, name = b.name, a = a.total, b = b.total, d = b.total - a.total }
      end
    end
  end
  for _, id in ipairs(B.ids) do if not A.scores[id] then only_b[#only_b + 1] = id end end

  print(format("\nverdict changes: %d", #changed))
  if #changed > 0 then
    for _, l in ipairs(cli.table({ "partner", "name", "verdict", "total" }, changed)) do print("  " .. l) end
  end
  table.sort(moves, function(x, y)
    if abs(x.d) ~= abs(y.d) then return abs(x.d) > abs(y.d) end
    return x.id < y.id
  end)
  print(format("\nlargest score moves (%d moved):", #moves))
  local rows = {}
  for k = 1, math.min(top, #moves) do
    local m = moves[k]
    rows[k] = { m.id, cli.cut(m.name or "", 28), cli.num(m.a), cli.num(m.b), format("%+.1f", m.d) }
  end
  if #rows > 0 then
    for _, l in ipairs(cli.table({ "partner", "name", "before", "after", "change" }, rows,
                                 { [3] = true, [4] = true, [5] = true })) do print("  " .. l) end
  end
  print("\ndimension shifts (mean over partners in both runs):")
  rows = {}
  -- Each dimension by name, wherever it sits in either run's scorecard;
  -- one only a run's scorecard has is named, without a shift.
  local names_a, names_b = record.dimensions(db, a_id), record.dimensions(db, b_id)
  local at_a, at_b = record.index(names_a), record.index(names_b)
  local alone = {}
  for _, d in ipairs(record.union(names_a, names_b)) do
    local i, j = at_a[d], at_b[d]
    if i and j then
      local t = db:one("SELECT avg(va) AS a, avg(vb) AS b, count(*) AS n FROM (SELECT " ..
        record.dim_sql(i, "x") .. " AS va, " .. record.dim_sql(j, "y") .. " AS vb FROM scores x " ..
        "JOIN scores y ON y.run_id = ? AND y.partner_id = x.partner_id WHERE x.run_id = ?) " ..
        "WHERE va IS NOT NULL AND vb IS NOT NULL", b_id, a_id)
      if t.n > 0 then
        rows[#rows + 1] = { d, format("%.1f", t.a), format("%.1f", t.b), format("%+.1f", t.b - t.a) }
      end
    else
      alone[#alone + 1] = format("%s (run %d only)", d, i and a_id or b_id)
    end
  end
  for _, l in ipairs(cli.table({ "dimension", "before", "after", "shift" }, rows,
                               { [2] = true, [3] = true, [4] = true })) do print("  " .. l) end
  if #alone > 0 then print("  not compared: " .. table.concat(alone, ", ")) end
  if #only_a > 0 then print(format("\nonly in run %d: %s", a_id, table.concat(only_a, ", "))) end
  if #only_b > 0 then print(format("\nonly in run %d: %s", b_id, table.concat(only_b, ", "))) end
  if fail_on == "verdict" and #changed > 0 then return 5 end
  if fail_on == "reject" and new_reject > 0 then return 5 end
  return 0
end

-- diff.lua: `vouch diff RUN_A RUN_B`: compare two runs (a champion and a
-- challenger rule set, or last month and now): verdict changes, the largest
-- score moves, and per-dimension shifts.
local cli = require "vouch.scorecard.cli"
local record = require "vouch.record"

local format, concat = string.format, table.concat

-- A run's row and how many partners got each verdict.
local function load_run(db, id)
  local run = db:one("SELECT * FROM runs WHERE id = ?", id)
  if not run then return nil end
  run.count, run.n = { approve = 0, review = 0, reject = 0 }, 0
  for r in db:rows("SELECT verdict, count(*) AS n FROM scores WHERE run_id = ? GROUP BY verdict", id) do
    run.count[r.verdict], run.n = r.n, run.n + r.n
  end
  return run
end

-- Partners of both runs, as `x` (run A) and `y` (run B): the SQL after FROM.
local BOTH = "scores x JOIN scores y ON y.run_id = ?2 AND y.partner_id = x.partner_id WHERE x.run_id = ?1"

-- Ids scored in run `a` and not in run `b`, in order.
local function only_in(db, a, b)
  local out = {}
  for r in db:rows("SELECT partner_id FROM scores x WHERE run_id = ? AND NOT EXISTS " ..
      "(SELECT 1 FROM scores y WHERE y.run_id = ? AND y.partner_id = x.partner_id) ORDER BY partner_id", a, b) do
    out[#out + 1] = r.partner_id
  end
  return out
end

return function(...)
  local commands = require "vouch.cmd.commands"
  local opts, pos = commands.args({ ... }, "diff")
  if not opts then return pos end
  if #pos ~= 2 then return commands.usage("diff", nil, "give two runs") end
  local a_id, b_id = math.tointeger(tonumber(pos[1])), math.tointeger(tonumber(pos[2]))
  if not a_id or not b_id then cli.say("diff: runs are numbers (see 'vouch %sruns')", require("vouch.cmd.commands").db_arg()); return 2 end
  local top = math.tointeger(tonumber(opts.top or 10))
  if not top or top < 0 then cli.say("diff: --top needs a number"); return 2 end
  local fail_on = opts["fail-on"]
  if fail_on and fail_on ~= "verdict" and fail_on ~= "reject" then
    cli.say("diff: --fail-on takes verdict or reject"); return 2
  end
  local db = vouch.db.open()
  local A, B = load_run(db, a_id), load_run(db, b_id)
  if not A or not B then cli.say("diff: no run %d (see 'vouch %sruns')", A and b_id or a_id, require("vouch.cmd.commands").db_arg()); return 1 end
  print(format("run %d (%s %s, %s, %d partners) -> run %d (%s %s, %s, %d partners)",
               a_id, A.scorecard, A.scorecard_hash:sub(1, 8), A.started_at, A.n,
               b_id, B.scorecard, B.scorecard_hash:sub(1, 8), B.started_at, B.n))
  print(format("verdicts: approve %d -> %d, review %d -> %d, reject %d -> %d",
               A.count.approve, B.count.approve, A.count.review, B.count.review,
               A.count.reject, B.count.reject))

  -- The comparison is done by the database, so a run of millions costs
  -- only what is printed: the changes, the top moves and the lone ids.
  local changed, new_reject = {}, 0
  for r in db:rows("SELECT x.partner_id, y.name, x.verdict AS va, y.verdict AS vb, x.total AS ta, " ..
      "y.total AS tb FROM " .. BOTH .. " AND x.verdict <> y.verdict ORDER BY x.partner_id", a_id, b_id) do
    changed[#changed + 1] = { r.partner_id, cli.cut(r.name or "", 28), r.va .. " -> " .. r.vb,
                              cli.num(r.ta) .. " -> " .. cli.num(r.tb) }
    if r.vb == "reject" then new_reject = new_reject + 1 end
  end
  print(format("\nverdict changes: %d", #changed))
  if #changed > 0 then
    for _, l in ipairs(cli.table({ "partner", "name", "verdict", "total" }, changed)) do print("  " .. l) end
  end
  local moved = "x.total IS NOT NULL AND y.total IS NOT NULL AND x.total <> y.total"
  local nmoved = db:one("SELECT count(*) AS n FROM " .. BOTH .. " AND " .. moved, a_id, b_id).n
  print(format("\nlargest score moves (%d moved):", nmoved))
  local rows = {}
  for m in db:rows("SELECT x.partner_id, y.name, x.total AS a, y.total AS b FROM " .. BOTH .. " AND " .. moved ..
      " ORDER BY abs(y.total - x.total) DESC, x.partner_id LIMIT ?3", a_id, b_id, top) do
    rows[#rows + 1] = { m.partner_id, cli.cut(m.name or "", 28), cli.num(m.a), cli.num(m.b), format("%+.1f", m.b - m.a) }
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
  local shared, alone, cols = {}, {}, {}
  for _, d in ipairs(record.union(names_a, names_b)) do
    local i, j = at_a[d], at_b[d]
    if i and j then
      -- One pass over the partners of both runs for every shared dimension:
      -- a pair counts where both values are determinate.
      local k = #shared + 1
      shared[k] = d
      local va, vb = record.dim_sql(i, "x"), record.dim_sql(j, "y")
      local both = format("%s IS NOT NULL AND %s IS NOT NULL", va, vb)
      cols[#cols + 1] = format("avg(CASE WHEN %s THEN %s END) AS a%d, avg(CASE WHEN %s THEN %s END) AS b%d",
        both, va, k, both, vb, k)
    else
      alone[#alone + 1] = format("%s (run %d only)", d, i and a_id or b_id)
    end
  end
  if #shared > 0 then
    local t = db:one("SELECT " .. concat(cols, ", ") .. " FROM " .. BOTH, a_id, b_id)
    for k, d in ipairs(shared) do
      local a, b = t["a" .. k], t["b" .. k]
      if a and b then rows[#rows + 1] = { d, format("%.1f", a), format("%.1f", b), format("%+.1f", b - a) } end
    end
  end
  for _, l in ipairs(cli.table({ "dimension", "before", "after", "shift" }, rows,
                               { [2] = true, [3] = true, [4] = true })) do print("  " .. l) end
  if #alone > 0 then print("  not compared: " .. concat(alone, ", ")) end
  local only_a, only_b = only_in(db, a_id, b_id), only_in(db, b_id, a_id)
  if #only_a > 0 then print(format("\nonly in run %d: %s", a_id, concat(only_a, ", "))) end
  if #only_b > 0 then print(format("\nonly in run %d: %s", b_id, concat(only_b, ", "))) end
  if fail_on == "verdict" and #changed > 0 then return 5 end
  if fail_on == "reject" and new_reject > 0 then return 5 end
  return 0
end

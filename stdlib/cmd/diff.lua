-- diff.lua: `vouch diff RUN_A RUN_B`: compare two runs (a champion and a
-- challenger rule set, or last month and now): verdict changes, the largest
-- score moves, and per-dimension shifts; as a table, JSON or CSV.
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

-- The comparison, done by the database, so that a run of millions costs
-- only what is shown: the changes, the top moves and the lone ids.
local function compare(db, a_id, b_id, top)
  local d = { changed = {}, moves = {}, shifts = {}, not_compared = {}, new_reject = 0 }
  for r in db:rows("SELECT x.partner_id, y.name, x.verdict AS va, y.verdict AS vb, x.total AS ta, " ..
      "y.total AS tb FROM " .. BOTH .. " AND x.verdict <> y.verdict ORDER BY x.partner_id", a_id, b_id) do
    d.changed[#d.changed + 1] = { partner = r.partner_id, name = r.name, before = r.va, after = r.vb,
                                  total_before = r.ta, total_after = r.tb }
    if r.vb == "reject" then d.new_reject = d.new_reject + 1 end
  end
  local moved = "x.total IS NOT NULL AND y.total IS NOT NULL AND x.total <> y.total"
  d.moved = db:one("SELECT count(*) AS n FROM " .. BOTH .. " AND " .. moved, a_id, b_id).n
  for m in db:rows("SELECT x.partner_id, y.name, x.total AS a, y.total AS b FROM " .. BOTH .. " AND " .. moved ..
      " ORDER BY abs(y.total - x.total) DESC, x.partner_id LIMIT ?3", a_id, b_id, top) do
    d.moves[#d.moves + 1] = { partner = m.partner_id, name = m.name, before = m.a, after = m.b,
                              change = m.b - m.a }
  end
  -- Each dimension by name, wherever it sits in either run's scorecard;
  -- one only a run's scorecard has is named, without a shift.
  local names_a, names_b = record.dimensions(db, a_id), record.dimensions(db, b_id)
  local at_a, at_b = record.index(names_a), record.index(names_b)
  local shared, cols = {}, {}
  for _, dim in ipairs(record.union(names_a, names_b)) do
    local i, j = at_a[dim], at_b[dim]
    if i and j then
      -- One pass over the partners of both runs for every shared dimension:
      -- a pair counts where both values are determinate.
      local k = #shared + 1
      shared[k] = dim
      local va, vb = record.dim_sql(i, "x"), record.dim_sql(j, "y")
      local both = format("%s IS NOT NULL AND %s IS NOT NULL", va, vb)
      cols[#cols + 1] = format("avg(CASE WHEN %s THEN %s END) AS a%d, avg(CASE WHEN %s THEN %s END) AS b%d",
        both, va, k, both, vb, k)
    else
      d.not_compared[#d.not_compared + 1] = { dimension = dim, run = i and a_id or b_id }
    end
  end
  if #shared > 0 then
    local t = db:one("SELECT " .. concat(cols, ", ") .. " FROM " .. BOTH, a_id, b_id)
    for k, dim in ipairs(shared) do
      local a, b = t["a" .. k], t["b" .. k]
      if a and b then d.shifts[#d.shifts + 1] = { dimension = dim, before = a, after = b, shift = b - a } end
    end
  end
  d.only_a, d.only_b = only_in(db, a_id, b_id), only_in(db, b_id, a_id)
  return d
end

local function run_json(id, R)
  return { run = id, scorecard = R.scorecard, hash = R.scorecard_hash, started = R.started_at,
           partners = R.n, verdicts = R.count }
end

local function print_json(a_id, A, b_id, B, d)
  local arr = vouch.json.array
  print(vouch.json.encode { a = run_json(a_id, A), b = run_json(b_id, B),
    verdict_changes = arr(d.changed), moved = d.moved, moves = arr(d.moves),
    dimension_shifts = arr(d.shifts), not_compared = arr(d.not_compared),
    only_a = arr(d.only_a), only_b = arr(d.only_b) })
end

-- CSV: a line per change, its kind first (verdict, total, dimension, only_a,
-- only_b).
local function print_csv(d)
  local recs = {}
  local function add(kind, partner, name, before, after, change)
    recs[#recs + 1] = { kind = kind, partner = partner, name = name, before = before, after = after,
                        change = change }
  end
  for _, c in ipairs(d.changed) do add("verdict", c.partner, c.name, c.before, c.after) end
  for _, m in ipairs(d.moves) do add("total", m.partner, m.name, m.before, m.after, m.change) end
  for _, s in ipairs(d.shifts) do add("dimension", nil, s.dimension, s.before, s.after, s.shift) end
  for _, id in ipairs(d.only_a) do add("only_a", id) end
  for _, id in ipairs(d.only_b) do add("only_b", id) end
  cli.print_csv({ "kind", "partner", "name", "before", "after", "change" }, recs)
end

local function print_table(a_id, A, b_id, B, d)
  print(format("run %d (%s %s, %s, %d partners) -> run %d (%s %s, %s, %d partners)",
               a_id, A.scorecard, A.scorecard_hash:sub(1, 8), A.started_at, A.n,
               b_id, B.scorecard, B.scorecard_hash:sub(1, 8), B.started_at, B.n))
  print(format("verdicts: approve %d -> %d, review %d -> %d, reject %d -> %d",
               A.count.approve, B.count.approve, A.count.review, B.count.review,
               A.count.reject, B.count.reject))
  print(format("\nverdict changes: %d", #d.changed))
  local rows = {}
  for i, c in ipairs(d.changed) do
    rows[i] = { c.partner, cli.cut(c.name or "", 28), c.before .. " -> " .. c.after,
                cli.num(c.total_before) .. " -> " .. cli.num(c.total_after) }
  end
  if #rows > 0 then cli.print_table({ "partner", "name", "verdict", "total" }, rows, { indent = "  " }) end
  print(format("\nlargest score moves (%d moved):", d.moved))
  rows = {}
  for i, m in ipairs(d.moves) do
    rows[i] = { m.partner, cli.cut(m.name or "", 28), cli.num(m.before), cli.num(m.after), format("%+.1f", m.change) }
  end
  if #rows > 0 then
    cli.print_table({ "partner", "name", "before", "after", "change" }, rows,
                    { indent = "  ", right = { [3] = true, [4] = true, [5] = true } })
  end
  print("\ndimension shifts (mean over partners in both runs):")
  rows = {}
  for i, s in ipairs(d.shifts) do
    rows[i] = { s.dimension, format("%.1f", s.before), format("%.1f", s.after), format("%+.1f", s.shift) }
  end
  cli.print_table({ "dimension", "before", "after", "shift" }, rows,
                  { indent = "  ", right = { [2] = true, [3] = true, [4] = true } })
  if #d.not_compared > 0 then
    local alone = {}
    for i, n in ipairs(d.not_compared) do alone[i] = format("%s (run %d only)", n.dimension, n.run) end
    print("  not compared: " .. concat(alone, ", "))
  end
  if #d.only_a > 0 then print(format("\nonly in run %d: %s", a_id, concat(d.only_a, ", "))) end
  if #d.only_b > 0 then print(format("\nonly in run %d: %s", b_id, concat(d.only_b, ", "))) end
end

return function(...)
  local commands = require "vouch.cmd.commands"
  local opts, pos = commands.args({ ... }, "diff")
  if not opts then return pos end
  if #pos ~= 2 then return commands.usage("diff", nil, "give two runs") end
  local fmt, status = cli.format(opts, "diff")
  if not fmt then return status end
  local a_id, b_id = math.tointeger(tonumber(pos[1])), math.tointeger(tonumber(pos[2]))
  if not a_id or not b_id then cli.say("diff: runs are numbers (see 'vouch %sruns')", commands.db_arg()); return 2 end
  local top = math.tointeger(tonumber(opts.top or 10))
  if not top or top < 0 then cli.say("diff: --top needs a number"); return 2 end
  local fail_on = opts["fail-on"]
  if fail_on and fail_on ~= "verdict" and fail_on ~= "reject" then
    cli.say("diff: --fail-on takes verdict or reject"); return 2
  end
  local db = vouch.db.open()
  local A, B = load_run(db, a_id), load_run(db, b_id)
  if not A or not B then cli.say("diff: no run %d (see 'vouch %sruns')", A and b_id or a_id, commands.db_arg()); return 1 end
  local d = compare(db, a_id, b_id, top)
  if fmt == "json" then print_json(a_id, A, b_id, B, d)
  elseif fmt == "csv" then print_csv(d)
  else print_table(a_id, A, b_id, B, d) end
  if fail_on == "verdict" and #d.changed > 0 then return 5 end
  if fail_on == "reject" and d.new_reject > 0 then return 5 end
  return 0
end

-- vet.lua: `vouch vet DATA... [--rules SCRIPT] [--format table|json|csv]`.
-- Load the partners, score them with a scorecard, store the run, and print
-- the partners ranked (approvals, reviews, rejections, each by total) with
-- their principal reasons.
local sc = require "vouch.scorecard"
local cli = require "vouch.scorecard.cli"

local format, concat = string.format, table.concat

local help = [[
Score every partner in DATA (CSV, JSON or NDJSON, chosen by extension) with
a scorecard, store the run in the database, and print the partners ranked
(approvals, reviews, then rejections, each by total): partner, kind, total,
verdict, weakest dimension, principal reasons.

  --rules SCRIPT   the scorecard: a Lua file returning one, or the name of a
                   bundled one (social_capital, influencer, supplier);
                   default social_capital
  --format F       table (default), json or csv: json and csv print every
                   dimension and rule outcome, for other tools
  --no-store       score and print without storing a run

Exit codes: 0 done, 1 the rules or data failed, 2 usage.
See also: vouch explain, vouch runs, vouch diff, vouch test.]]

local function clean_outcome(o)
  return { code = o.code, dimension = o.dimension, outcome = o.outcome,
           points = o.points, rank = o.rank, text = o.text, evidence = o.evidence }
end

-- What is kept of each partner until the table is printed: little, so that
-- a run over a million partners fits in memory.
local function compact(fmt)
  return function(r)
    local c = { id = r.id, name = r.name, kind = r.kind, total = r.total, verdict = r.verdict,
                weakest = r.weakest, reasons = {} }
    for k, o in ipairs(r.reasons) do c.reasons[k] = o.code end
    if fmt == "csv" then
      c.dimensions = r.dimensions
      local outcomes = {}
      for k, o in ipairs(r.outcomes) do
        outcomes[k] = o.code .. ":" .. o.outcome .. (o.points and format(":%g", o.points) or "")
      end
      c.outcomes = concat(outcomes, ";")
    elseif fmt == "json" then
      local reasons, outcomes = {}, {}
      for k, o in ipairs(r.reasons) do reasons[k] = clean_outcome(o) end
      for k, o in ipairs(r.outcomes) do outcomes[k] = clean_outcome(o) end
      c.json = sc.json { id = r.id, name = r.name, kind = r.kind, total = r.total,
                         verdict = r.verdict, weakest = r.weakest, missing = r.missing,
                         dimensions = r.dimensions, reasons = sc.array(reasons),
                         outcomes = sc.array(outcomes) }
    end
    return c
  end
end

local function as_json(run_id, card, results)
  print(format('{"run":%s,"scorecard":%s,"partners":[', run_id and tostring(run_id) or "null",
               sc.json(card.name)))
  for i, r in ipairs(results) do
    print(format('{"rank":%d,%s%s', i, r.json:sub(2), i < #results and "," or ""))
  end
  print("]}")
end

local function as_csv(run_id, results)
  local header = { "rank", "run", "partner_id", "name", "kind", "total", "verdict", "weakest" }
  for _, d in ipairs(sc.DIMENSIONS) do header[#header + 1] = d end
  header[#header + 1] = "reasons"
  header[#header + 1] = "outcomes"
  print(concat(header, ","))
  for i, r in ipairs(results) do
    local row = { i, run_id or "", r.id, r.name, r.kind,
                  r.total and format("%.6f", r.total) or "", r.verdict, r.weakest or "" }
    for _, d in ipairs(sc.DIMENSIONS) do
      row[#row + 1] = r.dimensions[d] and format("%.6f", r.dimensions[d]) or ""
    end
    row[#row + 1] = concat(r.reasons, ";")
    row[#row + 1] = r.outcomes
    for k = 1, #row do row[k] = cli.csv_field(row[k]) end
    print(concat(row, ","))
  end
end

-- The ranked table of a stored run, read back from the database in two
-- passes (column widths, then the lines), so that nothing per partner is
-- held in memory however many partners the run scored.
local function table_from_db(db, run_id, card, summary)
  local dims = {}
  for i, d in ipairs(card.dimension_list) do dims[i] = d end
  local sql = [[
    SELECT s.partner_id, s.name, s.kind, s.total, s.verdict, ]] .. concat(sc.DIMENSIONS, ", ") .. [[,
      (SELECT group_concat(code, ', ') FROM
        (SELECT code FROM reasons r WHERE r.run_id = s.run_id AND r.partner_id = s.partner_id
           AND r.rank IS NOT NULL ORDER BY r.rank)) AS reasons
    FROM scores s WHERE s.run_id = ?
    ORDER BY CASE s.verdict WHEN 'approve' THEN 1 WHEN 'review' THEN 2 ELSE 3 END,
      s.total IS NULL, s.total DESC, s.partner_id]]
  local header = { "#", "partner", "name", "kind", "total", "verdict", "weakest", "principal reasons" }
  local right = { [1] = true, [5] = true }
  local function cells(i, row)
    local weakest, low
    for _, d in ipairs(dims) do
      local v = row[d]
      if v and (not low or v < low) then weakest, low = d, v end
    end
    return { tostring(i), tostring(row.partner_id), cli.cut(row.name or "", 28), row.kind or "",
             cli.num(row.total), row.verdict, weakest or "-", row.reasons or "" }
  end
  local w = {}
  for c, h in ipairs(header) do w[c] = cli.width(h) end
  local i = 0
  for row in db:rows(sql, run_id) do
    i = i + 1
    for c, v in ipairs(cells(i, row)) do
      local n = cli.width(v)
      if n > w[c] then w[c] = n end
    end
  end
  local function line(r)
    local out = {}
    for c = 1, #header do out[c] = cli.pad(r[c], w[c], right[c]) end
    print((concat(out, "  "):gsub("%s+$", "")))
  end
  line(header)
  local rule = {}
  for c = 1, #header do rule[c] = string.rep("-", w[c]) end
  line(rule)
  i = 0
  for row in db:rows(sql, run_id) do
    i = i + 1
    line(cells(i, row))
  end
  print(format("\nrun %d: %d partners: %d approve, %d review, %d reject (scorecard %s)",
               run_id, summary.partners, summary.approve, summary.review, summary.reject, card.name))
  print(format("explain one: vouch explain PARTNER --run %d", run_id))
end

local function as_table(run_id, card, results, summary)
  local rows = {}
  for i, r in ipairs(results) do
    rows[i] = { tostring(i), tostring(r.id), cli.cut(r.name or "", 28), r.kind or "", cli.num(r.total),
                r.verdict, r.weakest or "-", concat(r.reasons, ", ") }
  end
  for _, l in ipairs(cli.table({ "#", "partner", "name", "kind", "total", "verdict", "weakest",
                                 "principal reasons" }, rows, { [1] = true, [5] = true })) do
    print(l)
  end
  print(format("\n%s%d partners: %d approve, %d review, %d reject (scorecard %s)",
               run_id and format("run %d: ", run_id) or "", summary.partners,
               summary.approve, summary.review, summary.reject, card.name))
  if run_id then print(format("explain one: vouch explain PARTNER --run %d", run_id)) end
end

return function(...)
  local opts, data = cli.parse({ ... }, { rules = "value", format = "value", help = "flag",
                                          ["no-store"] = "flag" })
  if opts and opts.help then print(help); return 0 end
  if not opts then cli.say("vet: %s\nusage: vouch vet DATA... [--rules SCRIPT] [--format table|json|csv]", data); return 2 end
  local fmt = opts.format or "table"
  if fmt ~= "table" and fmt ~= "json" and fmt ~= "csv" then
    cli.say("vet: unknown format '%s' (use table, json or csv)", fmt)
    return 2
  end
  if #data == 0 then
    cli.say("vet: no data given\nusage: vouch vet DATA... [--rules SCRIPT] [--format table|json|csv]")
    return 2
  end
  local loaded, card, err = pcall(sc.load, opts.rules or "social_capital")
  if not loaded then cli.say("vet: %s", tostring(card)); return 1 end
  if not card then cli.say("vet: cannot load rules: %s", err); return 1 end
  local sources, inputs = {}, {}
  for i, path in ipairs(data) do
    local src, e = cli.source(path)
    if not src then cli.say("vet: %s", e); return e:find("unknown data format") and 2 or 1 end
    sources[i] = src
    inputs[i] = path
  end
  -- A field no input has is a slip in the scorecard: say so before
  -- anything is scored or stored.
  local fits, why = cli.check_reads(card, sources)
  if not fits then cli.say("vet: %s", why); return 1 end
  local run_id, summary
  local keep = compact(fmt)
  if opts["no-store"] then
    local ok, all = pcall(card.score_all, card, cli.chain(sources))
    if not ok then cli.say("vet: %s", tostring(all)); return 1 end
    summary = { partners = #all, approve = 0, review = 0, reject = 0, results = {} }
    for i, r in ipairs(all) do
      summary[r.verdict] = summary[r.verdict] + 1
      summary.results[i] = keep(r)
    end
  else
    local db = vouch.db.open()
    local ok
    ok, run_id, summary = pcall(card.run, card, { db = db, rows = cli.chain(sources), inputs = inputs,
                                 source = card.source, keep = fmt ~= "table" and keep or nil,
                                 text = fmt == "json" })
    if not ok then cli.say("vet: %s", tostring(run_id)); return 1 end
    if fmt == "table" then
      table_from_db(db, run_id, card, summary)
      return 0
    end
  end
  local results = summary.results
  -- Ranked as an analyst reads them: approvals first, then reviews, then
  -- rejections, each by total.
  local class = { approve = 1, review = 2, reject = 3 }
  for i, r in ipairs(results) do r.order = i end
  table.sort(results, function(a, b)
    if a.verdict ~= b.verdict then return class[a.verdict] < class[b.verdict] end
    local ta, tb = a.total or -1, b.total or -1
    if ta ~= tb then return ta > tb end
    return a.order < b.order
  end)
  if fmt == "json" then as_json(run_id, card, results)
  elseif fmt == "csv" then as_csv(run_id, results)
  else as_table(run_id, card, results, summary) end
  return 0
end

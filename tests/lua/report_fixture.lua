-- report_fixture.lua: stored runs for the report tests, as rows of the
-- schema's runs, scorecards and scores tables. Deterministic (a small LCG),
-- with partners named in Thai and Arabic, and hostile names
-- that try to become markup. The scorecard's dimensions are the eight of
-- the bundled one unless `opts.dimensions` names others.
local M = {}

M.dimensions = { "trust", "goodwill", "authority", "community", "empathy",
                 "shared_values", "respect", "collaboration" }

M.hostile = {
  { id = "evil-script", name = '<script>document.title="pwned"</script>' },
  { id = "evil-img", name = '"><img src=x onerror="document.title=\'pwned\'">' },
  { id = "evil-svg", name = "</title></svg><svg onload=alert(1)>|*md*|" },
  { id = "evil-quote", name = "O'Brien & \"Sons\" <b>Ltd</b>" },
}

M.partners = {
  { id = "lumen-coffee", name = "Lumen Coffee Roasters", kind = "brand" },
  { id = "kai-tanaka", name = "Kai Tanaka", kind = "influencer" },
  { id = "siam-foods", name = "บริษัท สยามฟู้ดส์ จำกัด", kind = "supplier" },
  { id = "northwind", name = "Northwind Sponsorships", kind = "sponsor" },
  { id = "dr-amira", name = "د. أميرة حداد", kind = "kol" },
  { id = "trailhead", name = "Trailhead Outdoor Co-op", kind = "network" },
  { id = "pixel-pals", name = "Pixel Pals Affiliates", kind = "affiliate" },
  { id = "bangkok-bites", name = "ร้านอาหาร กรุงเทพ ไบท์ส", kind = "brand" },
  { id = "greenleaf", name = "GreenLeaf Packaging", kind = "supplier" },
  { id = "vera-fit", name = "Vera Fit (fitness creator)", kind = "influencer" },
  { id = "bolt-energy", name = "Bolt Energy Drinks", kind = "sponsor" },
  { id = "maple-media", name = "Maple Media Group", kind = "brand" },
}
for _, h in ipairs(M.hostile) do
  M.partners[#M.partners + 1] = { id = h.id, name = h.name, kind = "brand" }
end

-- Red flags and principal reasons, as a scorecard would store them.
local flags = {
  { code = "controversy_veto", dimension = "trust", outcome = "veto" },
  { code = "fake_engagement", dimension = "authority", outcome = "penalty", points = -15 },
  { code = "audience_mismatch", dimension = "community", outcome = "penalty", points = -10 },
  { code = "price_inflation", dimension = "collaboration", outcome = "cap", points = -6 },
  { code = "values_drift", dimension = "shared_values", outcome = "review" },
  { code = "insincere_endorsement", dimension = "trust", outcome = "penalty", points = -8 },
}
local weak = {
  trust = "few_verified_reviews", goodwill = "no_joint_campaigns",
  authority = "low_professional_endorsements", community = "thin_audience_engagement",
  empathy = "slow_complaint_response", shared_values = "values_statement_missing",
  respect = "late_payments", collaboration = "self_centred_content",
}

local flag_outcome = { veto = true, penalty = true, cap = true, review = true }

local seed = 12345
local function rand()
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed / 2147483648
end

--- The rows: { runs = {...}, scores = {...}, reasons = {...} }, three runs.
--- `opts.dimensions`: the scorecard's dimension names (default M.dimensions).
function M.rows(opts)
  seed = 12345
  local dims = opts and opts.dimensions or M.dimensions
  local has = {}
  for _, d in ipairs(dims) do has[d] = true end
  local function dim_of(d) return has[d] and d or dims[1] end
  local runs, scores, reasons = {}, {}, {}
  for run = 1, 3 do
    runs[#runs + 1] = { id = run, scorecard = run < 3 and "social_capital" or "social_capital_v2",
      scorecard_hash = "sha256:" .. string.rep(string.format("%x", run), 16),
      inputs = '["examples/partners.csv"]', started_at = string.format("2026-%02d-01T09:00:00Z", 8 + run),
      ended_at = string.format("2026-%02d-01T09:00:04Z", 8 + run), status = "ok", started_by = "cli",
      partners = #M.partners }
    for p, partner in ipairs(M.partners) do
      local row = { run_id = run, partner_id = partner.id, name = partner.name, kind = partner.kind }
      local sum, n, low, lowdim = 0, 0, 101, nil
      for k, d in ipairs(dims) do
        local v = math.min(100, math.floor(35 + 60 * rand() + (p % 3) * 4 - run * (p % 2) * 3))
        if p == 5 and k == math.min(5, #dims) then v = nil end   -- indeterminate
        row[d] = v
        if v then sum, n = sum + v, n + 1; if v < low then low, lowdim = v, d end end
      end
      local total = sum / n
      local fired = {}
      if (p + run) % 4 == 0 then fired[#fired + 1] = flags[2] end
      if p % 5 == 1 and run >= 2 then fired[#fired + 1] = flags[3] end
      if partner.id == "northwind" and run == 3 then fired[#fired + 1] = flags[1] end
      if partner.id == "greenleaf" then fired[#fired + 1] = flags[4] end
      if p % 6 == 2 then fired[#fired + 1] = flags[5] end
      if p % 7 == 3 and run ~= 2 then fired[#fired + 1] = flags[6] end
      local verdict = total >= 62 and "approve" or total >= 50 and "review" or "reject"
      for _, f in ipairs(fired) do
        if f.outcome == "veto" then verdict = "reject"
        elseif f.outcome == "cap" or f.outcome == "penalty" then total = total + f.points
        elseif f.outcome == "review" and verdict == "approve" then verdict = "review" end
        reasons[#reasons + 1] = { run_id = run, partner_id = partner.id, code = f.code,
          dimension = dim_of(f.dimension), outcome = f.outcome, points = f.points,
          evidence = '{"source":"fixture"}' }
      end
      if verdict ~= "reject" and total < 50 then verdict = "reject" end
      row.total = math.floor(total * 10 + 0.5) / 10
      row.verdict = verdict
      scores[#scores + 1] = row
      reasons[#reasons + 1] = { run_id = run, partner_id = partner.id, code = weak[lowdim] or ("low_" .. lowdim),
        dimension = lowdim, outcome = "score", points = low, rank = 1, evidence = "{}" }
      reasons[#reasons + 1] = { run_id = run, partner_id = partner.id, code = "reviews_positive",
        dimension = dim_of("goodwill"), outcome = "pass", points = 5, evidence = "{}" }
      if fired[1] then
        reasons[#reasons].rank = nil
        reasons[#reasons + 1] = { run_id = run, partner_id = partner.id, code = fired[1].code .. "_detail",
          dimension = dim_of(fired[1].dimension), outcome = "points", points = -4, rank = 2, evidence = "{}" }
      end
    end
  end
  return { runs = runs, scores = scores, reasons = reasons }
end

--- Store the rows in `db` (a vouch.db handle) in one transaction, one
--- statement per row with every column named (NULLs included), as the
--- record holds them: each run's scorecard once in `scorecards`, and per
--- partner its dimension values in the card's order and its principal
--- reasons and red flags, as JSON arrays in `scores`.
function M.insert(db, opts)
  local r = M.rows(opts)
  local dims = opts and opts.dimensions or M.dimensions
  local json = vouch.json
  local function null(v) if v == nil then return json.null end return v end
  local rules = {}   -- each rule's dimension, once per scorecard
  for _, x in ipairs(r.reasons) do
    if x.dimension then rules[x.code] = x.dimension end
  end
  local cards, seen = {}, {}
  for _, run in ipairs(r.runs) do
    if not seen[run.scorecard_hash] then
      seen[run.scorecard_hash] = true
      cards[#cards + 1] = { hash = run.scorecard_hash, name = run.scorecard,
        dimensions = json.encode(json.array(dims)), weights = "[]", rules = json.encode(rules) }
    end
  end
  local kept = {}
  for _, x in ipairs(r.reasons) do
    if x.rank or flag_outcome[x.outcome] then
      local k = x.run_id .. "\0" .. x.partner_id
      kept[k] = kept[k] or {}
      table.insert(kept[k], x)
    end
  end
  for _, row in ipairs(r.scores) do
    local v = {}
    for i, d in ipairs(dims) do v[i] = null(row[d]) end
    row.dims = json.encode(json.array(v))
    local list = kept[row.run_id .. "\0" .. row.partner_id] or {}
    table.sort(list, function(a, b)
      if (a.rank == nil) ~= (b.rank == nil) then return a.rank ~= nil end
      return (a.rank or 0) < (b.rank or 0)
    end)
    local out = {}
    for i, x in ipairs(list) do
      out[i] = json.array({ x.code, x.outcome, null(x.points), null(x.rank) })
    end
    row.reasons = json.encode(json.array(out))
  end
  local function put(tbl, cols, rows)
    local marks = string.rep("?", #cols, ", ")
    local sql = string.format("INSERT INTO %s(%s) VALUES (%s)", tbl, table.concat(cols, ", "), marks)
    for _, row in ipairs(rows) do
      local vals = {}
      for i, c in ipairs(cols) do vals[i] = row[c] end
      db:exec(sql, table.unpack(vals, 1, #cols))
    end
  end
  db:tx(function()
    put("runs", { "id", "scorecard", "scorecard_hash", "inputs", "started_at", "ended_at",
      "status", "started_by", "partners" }, r.runs)
    put("scorecards", { "hash", "name", "dimensions", "weights", "rules" }, cards)
    put("scores", { "run_id", "partner_id", "name", "kind", "total", "verdict", "dims", "reasons" },
      r.scores)
  end)
  return r
end

--- What a run report must show, worked out from the rows alone (an oracle
--- for the report's queries, and data for tests that need no database):
--- the same shape as report.run returns.
function M.expected_run(run_id, opts)
  local r = M.rows(opts)
  local dims = opts and opts.dimensions or M.dimensions
  local flag = { veto = true, penalty = true, cap = true, review = true }
  local list, by_id = {}, {}
  for _, s in ipairs(r.scores) do
    if s.run_id == run_id then
      local e = { partner_id = s.partner_id, name = s.name, kind = s.kind, total = s.total,
                  verdict = s.verdict, dims = {}, reasons = {} }
      for _, d in ipairs(dims) do e.dims[d] = s[d] end
      list[#list + 1] = e
      by_id[s.partner_id] = e
    end
  end
  local class = { approve = 1, review = 2, reject = 3 }
  table.sort(list, function(a, b)
    if a.verdict ~= b.verdict then return class[a.verdict] < class[b.verdict] end
    if a.total ~= b.total then return a.total > b.total end
    return a.partner_id < b.partner_id
  end)
  for i, e in ipairs(list) do e.rank = i end
  local counts = { approve = 0, review = 0, reject = 0 }
  for _, e in ipairs(list) do counts[e.verdict] = counts[e.verdict] + 1 end
  local fired, flags = {}, {}
  for _, x in ipairs(r.reasons) do
    if x.run_id == run_id and (x.rank or flag[x.outcome]) then
      table.insert(by_id[x.partner_id].reasons, { code = x.code, dimension = x.dimension,
        outcome = x.outcome, points = x.points, rank = x.rank })
    end
    if x.run_id == run_id and flag[x.outcome] then
      local k = x.code .. "\0" .. x.outcome
      if not fired[k] then
        fired[k] = { code = x.code, outcome = x.outcome, partners = 0 }
        flags[#flags + 1] = fired[k]
      end
      fired[k].partners = fired[k].partners + 1
    end
  end
  for _, e in ipairs(list) do
    table.sort(e.reasons, function(a, b)
      if (a.rank == nil) ~= (b.rank == nil) then return a.rank ~= nil end
      if a.rank ~= b.rank then return a.rank < b.rank end
      return a.code < b.code
    end)
  end
  table.sort(flags, function(a, b)
    if a.partners ~= b.partners then return a.partners > b.partners end
    return a.code < b.code
  end)
  local function median(v)
    table.sort(v)
    if #v == 0 then return nil end
    if #v % 2 == 1 then return v[(#v + 1) // 2] end
    return (v[#v // 2] + v[#v // 2 + 1]) / 2
  end
  local med = {}
  for _, d in ipairs(dims) do
    local v = {}
    for _, e in ipairs(list) do v[#v + 1] = e.dims[d] end
    med[d] = median(v)
  end
  local t = {}
  for _, e in ipairs(list) do t[#t + 1] = e.total end
  return { report = "run", run = r.runs[run_id], partners = list, scored = #list, counts = counts, median = med,
           median_total = median(t), flags = flags, dimensions = dims }
end

--- A partner's history worked out from the rows: each run's entry of
--- expected_run with the run's id, time and scorecard.
function M.expected_history(partner_id, opts)
  local r = M.rows(opts)
  local out = {}
  for _, run in ipairs(r.runs) do
    for _, e in ipairs(M.expected_run(run.id, opts).partners) do
      if e.partner_id == partner_id then
        e.run_id, e.started_at, e.scorecard, e.status = run.id, run.started_at, run.scorecard, run.status
        out[#out + 1] = e
      end
    end
  end
  return out
end

return M

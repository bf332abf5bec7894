-- scorecard/run.lua: a run scored and stored (require
-- "vouch.scorecard.run"): batched inserts, the stored partners as rows,
-- partners waiting for the portfolio packed small, and card:run, which
-- writes the record through db:run_begin, run_load, run_input, run_score
-- and run_end.
local run_m = {}

local type, ipairs, tostring, error, pcall, load = type, ipairs, tostring, error, pcall, load
local concat, sort = table.concat, table.sort
local format = string.format
local huge = math.huge

local core = require "vouch.scorecard.core"
local explain_m = require "vouch.scorecard.explain"
local portfolio_m = require "vouch.scorecard.portfolio"
local Card, FLAGS, checkarg = core.Card, core.FLAGS, core.checkarg
local closure, rows_of = core.closure, core.rows_of
local evidence, impact, by_impact = explain_m.evidence, explain_m.impact, explain_m.by_impact
local encode = vouch.json.encode

--[[ {======================================================
  Storing runs (the schema in PLAN.md)
========================================================]]

local function quote_ident(s) return '"' .. tostring(s):gsub('"', '""') .. '"' end

-- The batching behind inserter and the run record: rows of `ncols`
-- values are buffered and sent `per` rows at a time as
-- exec(db, sql_for(rows), values...), one call into the host per batch.
local function batcher(exec, db, ncols, per, sql_for)
  local args, sets = {}, {}
  for i = 1, ncols do
    args[i] = "a" .. i
    sets[i] = format("buf[k + %d]", i)
  end
  local src = format([[
local exec, unpack, db, full_sql, sql_for, cap, ncols = ...
local buf, n = {}, 0
local function flush()
  if n == 0 then return end
  if n == cap then exec(db, full_sql, unpack(buf, 1, n))
  else exec(db, sql_for(n // ncols), unpack(buf, 1, n)) end
  n = 0
end
local function add(%s)
  local k = n
  %s = %s
  n = k + %d
  if n == cap then flush() end
end
return add, flush]], concat(args, ", "), concat(sets, ", "), concat(args, ", "), ncols)
  local chunk = assert(load(src, "=inserter", "t", {}))
  local add, flush = chunk(exec, table.unpack, db, sql_for(per), sql_for, per * ncols, ncols)
  return { add = add, flush = flush }
end

--- Batched inserts for bulk jobs: `local ins = sc.inserter(db, "scores", 12)`
--- (or a list of column names), then `ins.add(v1, ..., v12)` per row and
--- `ins.flush()` at the end, inside the caller's transaction. Rows are sent
--- `per` at a time (default: about 500 values) as one multi-row INSERT,
--- which saves a statement step and a call into the host per row.
function run_m.inserter(db, tbl, columns, per)
  checkarg(2, tbl, "string", "inserter")
  local ncols, collist = columns, ""
  if type(columns) == "table" then
    local q = {}
    for i, c in ipairs(columns) do q[i] = quote_ident(c) end
    ncols, collist = #columns, "(" .. concat(q, ", ") .. ")"
  end
  if math.type(ncols) ~= "integer" or ncols < 1 or ncols > 200 then
    error("bad argument #3 to 'inserter' (a column count 1..200 or a list of names expected)", 2)
  end
  per = per or math.max(1, 512 // ncols)
  local row = "(" .. string.rep("?", ncols, ", ") .. ")"
  local head = "INSERT INTO " .. quote_ident(tbl) .. collist .. " VALUES "
  local function sql_for(rows) return head .. string.rep(row, rows, ", ") end
  return batcher(db.exec, db, ncols, per, sql_for)
end


-- Rows of the `partners` table, each the stored attrs with id, name, kind.
local function partner_rows(db, json_decode, where, ...)
  local it = closure(db:rows("SELECT id, name, kind, attrs FROM partners " .. (where or "") ..
                             " ORDER BY id", ...))
  return function()
    local row = it()
    if row == nil then return nil end
    local p = (row.attrs and json_decode) and json_decode(row.attrs) or {}
    if type(p) ~= "table" then p = {} end
    p.id, p.name, p.kind = row.id, row.name, row.kind
    return p
  end
end
run_m.partner_rows = partner_rows

-- A partner a portfolio rule can judge waits, in a few bytes, until the
-- whole set has been seen: its score row and its principal reasons (the
-- only stored rows a portfolio flag can change: the other outcomes are
-- stored at once, since a new reason only pushes older ones down the
-- ranking), packed by `pack_deferred` and read back by `unpack_deferred`.
local spack, sunpack, NAN = string.pack, string.unpack, 0 / 0
local function num_or_nan(v) if v == nil then return NAN end return v end
local function nan_or_num(v) if v ~= v then return nil end return v end
local function opt_str(v) if v == nil then return "" end return "\1" .. tostring(v) end
local function str_opt(v) if v == "" then return nil end return v:sub(2) end

local function pack_deferred(res, nout, ranked, dims)
  local parts = { spack("<s4s4s4dI4B", tostring(res.id), opt_str(res.name), opt_str(res.kind),
                        num_or_nan(res.total), nout, #ranked) }
  for _, d in ipairs(dims) do parts[#parts + 1] = spack("<d", num_or_nan(res.dimensions[d])) end
  for _, o in ipairs(ranked) do
    parts[#parts + 1] = spack("<s2s2s2ddI4", o.code, opt_str(o.dimension), o.outcome,
                              num_or_nan(o.points), o.impact, o.order)
  end
  return concat(parts)
end

local function unpack_deferred(s, dims)
  local id, name, kind, total, nout, nranked, pos = sunpack("<s4s4s4dI4B", s)
  local res = { id = id, name = str_opt(name), kind = str_opt(kind), total = nan_or_num(total),
                dimensions = {}, reasons = {} }
  for _, d in ipairs(dims) do
    local v
    v, pos = sunpack("<d", s, pos)
    res.dimensions[d] = nan_or_num(v)
  end
  local ranked = {}
  for k = 1, nranked do
    local code, dim, outcome, points, impact, order
    code, dim, outcome, points, impact, order, pos = sunpack("<s2s2s2ddI4", s, pos)
    ranked[k] = { code = code, dimension = str_opt(dim), outcome = outcome,
                  points = nan_or_num(points), impact = impact, order = order }
  end
  return res, nout, ranked
end

-- What of partner `p` the portfolio rules may look at: its id, name and
-- kind and the fields they read.
local function portfolio_view(card)
  local fields = { "id", "name", "kind" }
  local seen = { id = true, name = true, kind = true }
  for _, rule in ipairs(card.portfolio) do
    for _, f in ipairs(rule.reads) do
      if not seen[f] then seen[f] = true; fields[#fields + 1] = f end
    end
  end
  return function(p)
    local slim = {}
    for _, f in ipairs(fields) do slim[f] = p[f] end
    return slim
  end
end

-- The four most adverse outcomes of a scored partner and its raised flags
-- that had an effect, as impact() in explain.lua ranks them, made for one
-- card: a function (values, result, flagged) that returns the indices of
-- the four rules (0 where fewer), the earlier rule first among equals, and
-- the number of flagged rules it wrote into `flagged`. Each rule's kind,
-- share and weight are written into the code as constants: this runs for
-- every partner stored, and a loop over the rules looking them up was a
-- third of the time of scoring.
local lit = core.literal
function run_m.ranker(card)
  local out = { "local V, r, F = ...",
                "local lost, un = r.missing > " .. lit(card.max_missing) .. ", r.uncapped",
                "local i1, i2, i3, i4, x1, x2, x3, x4, nf, v, x = 0, 0, 0, 0, 0, 0, 0, 0, 0" }
  local function emit(fmt, ...) out[#out + 1] = format(fmt, ...) end
  for i, rule in ipairs(card.rules) do
    local kind = rule.kind
    emit("v = V[%d]", i)
    -- indeterminate: an unchecked veto forces review; a missing score
    -- matters most when it is why the verdict is review
    local unknown = kind == "veto" and "2e5"
                    or rule.share and format("lost and %s or %s", lit(1e5 * rule.share), lit(rule.share * 25))
                    or "0"
    if kind == "score" then
      emit("if v then x = %s * (50 - v)", lit(rule.share))
    elseif kind == "points" then
      emit("if v then x = v < 0 and -v * %s or 0", lit(card.weights[rule.dimension]))
    else
      local raised = kind == "veto" and "1e9" or kind == "review" and "1e6"
                     or kind == "penalty" and lit(rule.points)
                     or kind == "cap" and format("(un and un > %s) and (un - %s) or 0", lit(rule.cap), lit(rule.cap))
                     or "0"
      emit("if v == 1 then x = %s; if x > 0 then nf = nf + 1; F[nf] = %d end", raised, i)
    end
    emit("elseif v == false then x = %s else x = 0 end", unknown)
    emit("if x > x4 then")
    emit("  if x > x3 then")
    emit("    i4, x4 = i3, x3")
    emit("    if x > x2 then")
    emit("      i3, x3 = i2, x2")
    emit("      if x > x1 then i2, x2, i1, x1 = i1, x1, %d, x else i2, x2 = %d, x end", i, i)
    emit("    else i3, x3 = %d, x end", i)
    emit("  else i4, x4 = %d, x end", i)
    emit("end")
  end
  out[#out + 1] = "return i1, i2, i3, i4, nf"
  return assert(load(concat(out, "\n"), "=ranking of " .. card.name, "t", {}))
end
local ranker = run_m.ranker

-- A function (values, list) that lists a partner's dimensions in the
-- card's order, false where indeterminate, one assignment each.
local function dims_filler(dims)
  local out = { "local D, L = ..." }
  for k, d in ipairs(dims) do out[#out + 1] = format("L[%d] = D[%q] or false", k, d) end
  return assert(load("return function(...) " .. concat(out, "\n") .. " end",
                     "=dimensions", "t", {}))()
end

--- Score every partner from `opts.rows` (an iterator, an array, a source
--- with :rows()) or `opts.query` (SQL whose rows are partners; or
--- "partners" for the stored partners), and store the run in `opts.db`
--- (default: the host's database): the run row is committed as 'running'
--- first, then all scores, reasons and the final status in one
--- transaction. On error the run is marked 'failed', no score stays, and
--- the error is raised again. Returns the run id and a summary
--- { partners = n, approve = n, review = n, reject = n, results = {...},
--- cells = {...} } (results: the explanations when opts.keep is true, or
--- what opts.keep(explanation) returned for each when it is a function;
--- texts are made when opts.keep is true or opts.text is; cells: the
--- widest cells stored, as db:run_end gives them, when stored).
-- opts.inputs: what was read (stored as JSON), opts.source: the scorecard's
-- source text (hashed), opts.started_by (default 'cli').
-- opts.store = false scores without storing (no run; the id is nil).
-- opts.shard (on a record on a server): a shard of the run to store, as
-- db:run_begin takes it; opts.skip(), when given, reads the next row
-- without making it (true, or nil after the last), for the other shards'.
-- opts.row(id, name, kind, total, verdict, dims, reasons, n) is called
-- with each partner's row as db:run_score takes it (dims in the card's
-- order, false where indeterminate; reasons five values a reason, the
-- principal ones first, by rank), stored or not; both lists are reused.
-- opts.each(res) is called once per partner with its final result, in the
-- order they are stored: id, name, kind, total, verdict, dimensions,
-- weakest and reasons (the principal outcomes) are always there; the
-- other outcomes only when opts.keep or opts.text asks for explanations.
-- Without opts.keep or opts.text nothing per partner is held but what the
-- portfolio rules read, so memory does not grow with the rows stored.
function Card:run(opts)
  checkarg(1, opts, "table", "run")
  local vouch = vouch
  local storing = opts.store ~= false
  local db = opts.db or ((storing or opts.query) and vouch.db.open()) or nil
  local decode = vouch.json and vouch.json.decode
  local rows
  if opts.query == "partners" then rows = partner_rows(db, decode)
  elseif opts.query then rows = closure(db:rows(opts.query, table.unpack(opts.params or {})))
  else rows = rows_of(opts.rows, "run") end
  local hash = core.hash(opts.source or self.source or self.generated or self.name)
  -- The run record is the host's: written through db:run_begin, run_load,
  -- run_input, run_rows and run_end, which touch only the run begun here.
  local weights, rule_dims = {}, {}
  for k, d in ipairs(self.dimension_list) do weights[k] = self.weights[d] end
  for _, list in ipairs { self.rules, self.portfolio } do
    for _, r in ipairs(list) do
      if r.dimension then rule_dims[r.id] = r.dimension end
    end
  end
  local shard = storing and opts.shard or nil
  local run_id, shard_k = nil, nil
  if storing then
    local other
    run_id, shard_k, other = db:run_begin { scorecard = self.name, hash = hash, rules = rule_dims,
                                            dimensions = self.dimension_list, weights = weights,
                                            source = opts.source or self.source,
                                            inputs = encode(opts.inputs or {}, core.JSON),
                                            started_by = opts.started_by, shard = shard,
                                            lease = opts.lease }
    -- a shard of a run on a server: none left to take (why, and the run)
    if not run_id then return nil, { state = shard_k, run = other } end
  end
  local summary = { run = run_id, partners = 0, approve = 0, review = 0, reject = 0,
                    shard = shard_k }
  -- Of a run in shards, this process stores the partners of its shard:
  -- the (shard_k)th of every shard.of rows, counted over all the inputs.
  local seen, of, mine = 0, shard and shard.of or 1, (shard_k or 1) - 1
  local keep = opts.keep and {} or nil
  local keeper = type(opts.keep) == "function" and opts.keep or nil
  local each = opts.each
  local lean = not (opts.keep == true or opts.text)
  local slim = lean and not opts.keep   -- portfolio partners wait in a few bytes
  local dims = self.dimension_list

  -- Where each partner's input comes from: a load per source (its rows
  -- stored in order), or one for rows given as a list or a function.
  local origin = opts.origin
  if not origin and type(opts.rows) == "userdata" then
    local src = opts.rows
    origin = function() return src, src.rows_read end
  end
  local loads, load_list = {}, {}
  local function input_of(p)
    local src, n
    if origin then src, n = origin() end
    if shard and not n then n = seen end  -- a row's number is the same in every shard
    local key = src or loads
    local l = loads[key]
    if not l then
      local info
      if src then
        local cols = src.columns
        info = { source = src.resolved or src.path, format = src.format,
                 columns = cols and #cols > 0 and cols or nil }
      else
        info = { source = opts.query and (opts.query == "partners" and "partners" or "query")
                          or "rows", format = "lua" }
      end
      l = { id = db:run_load(run_id, info), src = src, n = 0 }
      loads[key] = l
      load_list[#load_list + 1] = l
    end
    l.n = l.n + 1
    local row = n or l.n
    db:run_input(l.id, row, p)
    return l.id, row
  end
  local function end_loads()
    for _, l in ipairs(load_list) do
      local src = l.src
      -- a shard stored some of the rows of a load the run's shards share
      local rows = shard and (src and src.rows_read or seen) or l.n
      db:run_load_end(l.id, { hash = src and src.hash or ("rows of run " .. run_id),
                              rows = rows, bad_rows = src and src.bad_rows or 0,
                              size = src and src.size })
    end
  end

  -- Each partner's row goes to the host as values (run_score writes the
  -- record's JSON): its dimensions in the card's order, false where
  -- indeterminate, and its stored reasons, five values each: code,
  -- outcome, points, rank and, for a portfolio flag, its evidence (the
  -- other outcomes are recomputed by replay). Both lists are reused.
  local dv, rv = {}, {}
  local run_score = storing and db.run_score
  local on_row = opts.row
  local dims_into = dims_filler(self.dimension_list)
  local function put_row(id, name, kind, total, verdict, values, load_id, row, nr)
    dims_into(values, dv)
    id = tostring(id)
    if run_score then run_score(db, run_id, id, name, kind, total, verdict, load_id, row, dv, rv, nr) end
    if on_row then on_row(id, name, kind, total, verdict, dv, rv, nr) end
  end
  local progress = opts.progress
  local function count(res)
    summary.partners = summary.partners + 1
    if progress and summary.partners % 2048 == 0 then progress(summary.partners, "scoring") end
    summary[res.verdict] = summary[res.verdict] + 1
    if each then each(res) end
  end
  -- The stored reasons: the principal ones (ranked) and every raised flag
  -- that had an effect.
  local index = self.index
  local function stored_reasons(res, outcomes)
    local n = 0
    local function add(o)
      local rule = index[o.code]
      rv[n + 1], rv[n + 2], rv[n + 3], rv[n + 4] = o.code, o.outcome, o.points or false, o.rank or false
      rv[n + 5] = rule and rule.portfolio and (o.evidence or {}) or false
      n = n + 5
    end
    for _, o in ipairs(res.reasons) do add(o) end
    for _, o in ipairs(outcomes) do
      if not o.rank and FLAGS[o.outcome] and
         ((o.impact or 0) > 0 or (index[o.code] and index[o.code].portfolio)) then
        add(o)
      end
    end
    return n // 5
  end
  local function score_row(res, outcomes, load_id, row)
    local nr = stored_reasons(res, outcomes)
    put_row(res.id, res.name, res.kind, res.total, res.verdict, res.dimensions, load_id, row, nr)
  end
  -- Storing alone (nothing kept, nobody told): the stored row is made
  -- straight from the compact result, without an outcome table per rule.
  local fast = (storing or on_row) and not keep and not each
  local rules = self.rules
  local top_i = {}
  local function outcome(rule, v, r)
    if v == false then return "indeterminate", false end
    local kind = rule.kind
    if kind == "score" or kind == "points" then return kind, v end
    if v ~= 1 then return "pass", false end
    if kind == "penalty" then return kind, -rule.points
    elseif kind == "cap" then
      return kind, (r.uncapped and r.uncapped > rule.cap) and (rule.cap - r.uncapped) or 0
    elseif kind == "review" then return kind, 0 end
    return kind, false
  end
  local most_adverse = ranker(self)
  local flagged = {}
  local function store_fast(p, r, load_id, row)
    local V = r.values
    local i1, i2, i3, i4, nf = most_adverse(V, r, flagged)
    top_i[1], top_i[2], top_i[3], top_i[4] = i1, i2, i3, i4
    local n = i4 > 0 and 4 or i3 > 0 and 3 or i2 > 0 and 2 or i1 > 0 and 1 or 0
    local m = 0
    for k = 1, n do
      local rule, pts = rules[top_i[k]], V[top_i[k]]
      local kind = rule.kind
      if pts == false then kind = "indeterminate"
      elseif kind ~= "score" and kind ~= "points" then kind, pts = outcome(rule, pts, r) end
      rv[m + 1], rv[m + 2], rv[m + 3], rv[m + 4], rv[m + 5] = rule.id, kind, pts, k, false
      m = m + 5
    end
    for f = 1, nf do
      local i, top = flagged[f], false
      for k = 1, n do if top_i[k] == i then top = true; break end end
      if not top then
        local kind, pts = outcome(rules[i], V[i], r)
        rv[m + 1], rv[m + 2], rv[m + 3], rv[m + 4], rv[m + 5] = rules[i].id, kind, pts, false, false
        m = m + 5
      end
    end
    local n_done = summary.partners + 1
    summary.partners = n_done
    summary[r.verdict] = summary[r.verdict] + 1
    if progress and n_done % 2048 == 0 then progress(n_done, "scoring") end
    if storing and load_id == nil then load_id, row = input_of(p) end
    put_row(p.id, p.name, p.kind, r.total, r.verdict, r.dimensions, load_id, row, m // 5)
  end
  local function store(p, r, load_id, row)
    if fast then return store_fast(p, r, load_id, row) end
    local res = self:explain(p, r, lean)
    if keeper then keep[#keep + 1] = keeper(res)
    elseif keep then keep[#keep + 1] = res end
    count(res)
    if storing and load_id == nil then load_id, row = input_of(p) end
    if storing or on_row then score_row(res, res.outcomes, load_id, row) end
  end

  -- A portfolio partner, slim: it waits (packed) with the fields the
  -- portfolio rules read and its ranked candidates.
  local view = slim and #self.portfolio > 0 and portfolio_view(self)
  local function defer(p, r, stored)
    local res = self:explain(p, r, true)
    local ranked = {}
    for _, o in ipairs(res.outcomes) do
      if o.impact > 0 then ranked[#ranked + 1] = o end
    end
    local load_id, row
    if storing and stored then load_id, row = input_of(p) end
    return { partner = view(p), load = load_id, row = row,
             result = { total = r.total, verdict = r.verdict, missing = r.missing,
                        uncapped = r.uncapped, vetoed = r.vetoed, forced = r.forced },
             rows = pack_deferred(res, #res.outcomes, ranked, dims) }
  end
  -- A partner that waited, with the portfolio's flags ranked among its
  -- principal reasons as explain would rank them.
  local function store_deferred(e)
    local p, r = e.partner, e.result
    local res, nout, cand = unpack_deferred(e.rows, dims)
    e.rows = nil
    res.total, res.verdict = r.total, r.verdict
    local low = huge
    for _, d in ipairs(self.dimension_list) do
      local v = res.dimensions[d]
      if v and v < low then res.weakest, low = d, v end
    end
    local hits = {}   -- the portfolio's flags that rank nowhere
    for k, hit in ipairs(r.portfolio or {}) do
      local rule = hit.rule
      local o = { code = rule.id, dimension = rule.dimension, outcome = rule.kind,
                  points = hit.points, evidence = evidence(rule, p, hit.evidence), order = nout + k }
      o.impact = impact(self, o, rule, r)
      if o.impact > 0 then cand[#cand + 1] = o else hits[#hits + 1] = o end
    end
    for _, o in ipairs(cand) do o.rank = nil end
    if #cand > 1 then sort(cand, by_impact) end
    for k = 1, math.min(4, #cand) do
      cand[k].rank = k
      res.reasons[k] = cand[k]
    end
    count(res)
    for _, o in ipairs(hits) do cand[#cand + 1] = o end
    if storing or on_row then score_row(res, cand, e.load, e.row) end
  end

  local function body()
    if #self.portfolio > 0 then
      -- Partners no portfolio rule can judge are stored at once; the
      -- others wait until the whole set has been seen.
      -- Of a run in shards, every shard judges the whole set, and
      -- stores its own partners.
      local set, r, scorer = {}, self:result(), self.full_scorer
      local judged = portfolio_m.judge(self)
      for p in rows do
        seen = seen + 1
        local ours = (seen - 1) % of == mine
        if storing and seen % 128 == 0 then db:run_renew(run_id) end
        if not judged(p) then
          if ours then store(p, scorer(p, r)) end
        elseif view then
          local e = defer(p, scorer(p, r), ours)
          e.ours = ours
          set[#set + 1] = e
        else
          local load_id, row
          if storing and ours then load_id, row = input_of(p) end
          set[#set + 1] = { partner = p, result = scorer(p, self:result()), load = load_id,
                            row = row, ours = ours }
        end
      end
      self:apply_portfolio(set)
      for k, e in ipairs(set) do
        set[k] = false
        if not e.ours then -- another shard's
        elseif view then store_deferred(e) else store(e.partner, e.result, e.load, e.row) end
      end
    elseif shard then
      -- the other shards' rows are read, but neither made nor their ids checked
      local r, scorer, skip = self:result(), self.full_scorer, opts.skip
      while true do
        local ours, p = seen % of == mine, nil   -- the next row's
        if ours or not skip then
          p = rows()
          if p == nil then break end
        elseif not skip() then break end
        seen = seen + 1
        if ours then store(p, scorer(p, r)) end
        if seen % 128 == 0 then db:run_renew(run_id) end
      end
    else
      local r, scorer = self:result(), self.full_scorer
      for p in rows do
        store(p, scorer(p, r))
        seen = seen + 1
        if storing and seen % 128 == 0 then db:run_renew(run_id) end
      end
    end
    if progress then progress(summary.partners, storing and "storing" or "ranking") end
    if storing then
      end_loads()
      summary.cells = db:run_end(run_id, "ok", summary.partners)
    end
  end
  local ok, err
  if storing then ok, err = pcall(db.tx, db, body) else ok, err = pcall(body) end
  if not ok then
    if storing then pcall(db.run_end, db, run_id, "failed", nil, tostring(err)) end
    error(err, 0)
  end
  summary.results = keep
  return run_id, summary
end

--[[ }====================================================== ]]

return run_m

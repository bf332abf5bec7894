-- serve.lua: `vouch serve [--port N] [--bind ADDR]`, the workbench: the
-- record in a browser, live.
--
-- host/serve.c does the HTTP side (the token, the same-origin rule, limits,
-- server-sent events); this module answers each request that passes: pages
-- drawn by the renderer of `vouch report` (stdlib/report.lua), and the JSON
-- API behind them (/api/...). A task polls the record every second and
-- pushes what changed (a run's progress, new runs, new alerts) as an event.
local report = require "vouch.report"
local record = require "vouch.record"

local json = vouch.json
local parts = report.parts
local esc = require("vouch.svg").escape
local format, concat = string.format, table.concat
local tointeger = math.tointeger

local POLL_MS = 1000        -- how often the record is looked at for changes
local PAGE = 50             -- partners on a page of a run
local BIG = 10000           -- a finished run of more partners is summed up beside the loop
local MAX_PAGE = 1000       -- at most this many in one API answer

-- The workbench's additions to the reports' style.
local CSS = [[
nav{background:#0b2136;padding:8px 32px;display:flex;gap:18px;flex-wrap:wrap}
nav a{color:#c7d2e0;text-decoration:none;font-weight:600}nav a:hover{color:#fff}
#live{margin-left:auto;color:#8fb3d9;font-size:13px}
form.inline{display:inline}form.filters{display:flex;gap:8px;flex-wrap:wrap;align-items:end;margin:8px 0}
label{font-size:12px;color:var(--muted);display:flex;flex-direction:column;gap:2px}
input,select,button{font:inherit;padding:4px 8px}
.pager{display:flex;gap:12px;align-items:center;margin:10px 0}
th a{color:inherit}
]]


--{======================================================
-- Requests and answers
--=======================================================

local function unescape(s)
  s = s:gsub("+", " ")
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function urlencode(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return format("%%%02X", c:byte()) end))
end

-- name=value pairs of a query or a form body (the last of each name wins;
-- an empty field, as a form sends it, is no field).
local function params(s)
  local out = {}
  for k, v in (s or ""):gmatch("([^&=]+)=?([^&]*)") do
    if v ~= "" then out[unescape(k)] = unescape(v) end
  end
  return out
end

local function with_query(path, q)
  local keys, out = {}, {}
  for k in pairs(q) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    if q[k] ~= nil then out[#out + 1] = urlencode(k) .. "=" .. urlencode(q[k]) end
  end
  return #out > 0 and (path .. "?" .. concat(out, "&")) or path
end

-- A JSON answer. Report data goes through report.json (its marked arrays
-- stay arrays when empty); other tables are encoded as they are.
local function answer_json(status, v, is_report)
  return status, { ["content-type"] = "application/json; charset=utf-8" },
    is_report and report.json(v) or (json.encode(v) .. "\n")
end

local function answer_html(html)
  return 200, { ["content-type"] = "text/html; charset=utf-8" }, html
end

-- A client error, as JSON for the API and as text for pages.
local function bad(status, msg, api)
  if api then return answer_json(status, { error = msg }) end
  return status, { ["content-type"] = "text/plain; charset=utf-8" }, msg .. "\n"
end

local function positive(s)
  local n = s and tointeger(tonumber(s))
  return n and n >= 1 and n or nil
end

local NAV = '<nav><a href="/">Runs</a><a href="/schedules">Schedules</a><a href="/vet">Vet a file</a>' ..
  '<form class="inline" method="get" action="/partner"><input name="id" placeholder="partner id or name" ' ..
  'aria-label="partner"></form><span id="live" aria-live="polite"></span></nav>'

local function page(kicker, title, sub, body)
  return answer_html(report.page(kicker, title, sub, body, { nav = NAV, script = "/app.js", css = CSS }))
end

--}======================================================


--{======================================================
-- The record, as the API gives it
--=======================================================

local RUN_COLS = "r.id, r.scorecard, r.scorecard_hash, r.started_at, r.ended_at, r.status, " ..
  "r.started_by, r.partners, r.error"

-- Counts per verdict of a run, from the primary key's range (cheap).
local function counts(db, id)
  local c = { approve = 0, review = 0, reject = 0 }
  for r in db:rows("SELECT verdict, count(*) AS n FROM scores WHERE run_id = ? GROUP BY verdict", id) do
    c[r.verdict] = r.n
  end
  return c
end

local function runs_list(db, limit)
  local out = {}
  for r in db:rows("SELECT " .. RUN_COLS .. " FROM runs r ORDER BY r.id DESC LIMIT ?", limit) do
    r.counts = counts(db, r.id)
    r.inputs = record.inputs_text(db, r.id)
    out[#out + 1] = r
  end
  return json.array(out)
end

-- The summary of a finished run does not change: computed once and kept,
-- as report.run's data and its JSON. Medians and flags over a million
-- partners take half a minute: a large run's summary is made by a child,
-- `vouch report --format json`, while the loop serves on, and collected by
-- the poll (collect_summaries).
local summaries, pending = {}, {}

--- The summary {data=, json=} of run `id`; false while a child makes it;
--- nil and a message when there is no such run.
local function summary(srv, db, id)
  local s = summaries[id]
  if s then return s end
  local run = db:one("SELECT status, partners FROM runs WHERE id = ?", id)
  if run and run.status ~= "running" and (run.partners or 0) > BIG then
    if not pending[id] then
      local ok, err = srv:spawn("report", tostring(id), tostring(PAGE))
      if not ok then return nil, err end
      pending[id] = true
    end
    return false
  end
  local data, err = report.run(db, id, { limit = PAGE })
  if not data then return nil, err end
  s = { data = data, json = report.json(data) }
  if data.run.status ~= "running" then summaries[id] = s end
  return s
end

-- The summaries the children made: kept, and the pages waiting for one told
-- (event "summary"). One that failed is made again when next asked for.
local function collect_summaries(srv)
  for _, m in ipairs(srv:summaries()) do
    pending[m.run] = nil
    local ok, data = pcall(json.decode, m.json or "")
    if m.status == 0 and ok and type(data) == "table" then
      summaries[m.run] = { data = data, json = m.json }
    else
      vouch.eprint(format("vouch: serve: the summary of run %d failed (status %d)", m.run, m.status))
    end
    srv:push("summary", json.encode { run = m.run })
  end
end

-- The order of a partner list, from the API's sort and dir, as terms
-- {expression, "ASC" or "DESC"} ending with partner_id, so that it is total
-- (only our own SQL goes in: a dimension is its position, never its name).
local function order_of(q, names)
  local dir = q.dir == "asc" and "ASC" or q.dir == "desc" and "DESC" or nil
  local key = q.sort or "rank"
  local col
  if key == "rank" then
    return { { "CASE verdict WHEN 'approve' THEN 0 WHEN 'review' THEN 1 ELSE 2 END", dir or "ASC" },
      { "total IS NULL", "ASC" }, { "total", dir == "DESC" and "ASC" or "DESC" }, { "partner_id", "ASC" } }
  elseif key == "total" or key == "name" or key == "partner_id" then
    col, dir = key, dir or (key == "total" and "DESC" or "ASC")
  else
    local i = record.index(names)[key]
    if not i then return nil, format("cannot sort by '%s' (rank, total, name, partner_id or a dimension)", key) end
    col, dir = record.dim_sql(i), dir or "DESC"
  end
  return { { col .. " IS NULL", "ASC" }, { col, dir }, { "partner_id", "ASC" } }
end

-- The rows after partner `after` in the order `terms`, as SQL and its
-- values (keyset paging: a page deep in a million costs what the first
-- does): t1 > v1 OR (t1 IS v1 AND (t2 > v2 OR ...)), with < for DESC.
local function after_of(db, id, terms, after)
  local cols = {}
  for k, t in ipairs(terms) do cols[k] = t[1] .. " AS k" .. k end
  local row = db:one("SELECT " .. concat(cols, ", ") .. " FROM scores WHERE run_id = ? AND partner_id = ?", id, after)
  if not row then return nil, format("run %d has no partner '%s' to page after", id, after) end
  local sql, args = "0", {}
  for k = #terms, 1, -1 do
    local t, v = terms[k], row["k" .. k]
    sql = format("(%s %s ? OR (%s IS ? AND %s))", t[1], t[2] == "ASC" and ">" or "<", t[1], sql)
    table.insert(args, 1, v); table.insert(args, 2, v)
  end
  return sql, args
end

-- The orders of large finished runs, kept as temporary tables of this
-- connection (on disk, SQLite's temporary files): a list's partner ids in
-- order, its position the table's rowid. The first page of a new order or
-- filter of a million partners sorts them once (about 2 s); then any page
-- of it, by offset or after a partner, reads 50 rows by position. The
-- ORDERS most recently used are kept.
local ORDERS = 4
local orders, order_seq = {}, 0

--- The order of run `id`'s partners matching `cond` in `order` (SQL made
--- here; `args` its values): {name=, n=} of its temporary table, sorted now
--- unless `build` is false; nil when the run is not a large finished one.
local function order_table(db, id, cond, args, order, build)
  local run = db:one("SELECT status, partners, ended_at FROM runs WHERE id = ?", id)
  if not run or run.status ~= "ok" or (run.partners or 0) <= BIG then return nil end
  local key = { id, run.ended_at or "", cond, order }
  for k = 1, #args do key[#key + 1] = type(args[k]) .. ":" .. tostring(args[k]) end
  key = concat(key, "\0")
  for _, o in ipairs(orders) do
    if o.key == key then
      order_seq = order_seq + 1
      o.used = order_seq
      return o
    end
  end
  if not build then return nil end
  if #orders >= ORDERS then  -- the least recently used goes
    table.sort(orders, function(a, b) return a.used > b.used end)
    local old = table.remove(orders)
    db:exec("DROP TABLE IF EXISTS temp." .. old.name)
  end
  order_seq = order_seq + 1
  local o = { key = key, name = "serve_order_" .. order_seq, used = order_seq }
  db:exec("CREATE TEMP TABLE " .. o.name .. "(pid TEXT NOT NULL)")
  db:exec("INSERT INTO temp." .. o.name .. "(pid) SELECT partner_id FROM scores WHERE " .. cond ..
          " ORDER BY " .. order, table.unpack(args))
  o.n = db:one("SELECT count(*) AS n FROM temp." .. o.name).n
  orders[#orders + 1] = o
  return o
end

--- The position of partner `pid` in order `o`, or nil (its index is made
--- on the first look-up: paging by offset needs none).
local function order_pos(db, o, pid)
  if not o.indexed then
    db:exec("CREATE INDEX temp." .. o.name .. "_pid ON " .. o.name .. "(pid)")
    o.indexed = true
  end
  local at = db:one("SELECT rowid AS pos FROM temp." .. o.name .. " WHERE pid = ?", pid)
  return at and at.pos
end

--- A page of run `id`'s partners: `q` has sort, dir, verdict, flag, dim with
--- below/above, q (a name or id fragment), limit and offset. Returns
--- {total=, offset=, limit=, partners=} or nil and a message. The first
--- page by rank of a summed-up run is its summary's (no scan of the run).
local function partners_of(db, id, q)
  local names = record.dimensions(db, id)
  local where, args = { "run_id = ?" }, { id }
  if q.verdict then
    if q.verdict ~= "approve" and q.verdict ~= "review" and q.verdict ~= "reject" then
      return nil, "verdict must be approve, review or reject"
    end
    where[#where + 1] = "verdict = ?"; args[#args + 1] = q.verdict
  end
  if q.flag then
    where[#where + 1] = "EXISTS (SELECT 1 FROM json_each(reasons) j WHERE json_extract(j.value, '$[0]') = ?)"
    args[#args + 1] = q.flag
  end
  if q.dim then
    local i = record.index(names)[q.dim]
    if not i then return nil, format("run %d's scorecard has no dimension '%s'", id, q.dim) end
    for op, key in pairs { ["<"] = "below", [">="] = "above" } do
      if q[key] then
        local v = tonumber(q[key])
        if not v then return nil, format("%s must be a number", key) end
        where[#where + 1] = record.dim_sql(i) .. " " .. op .. " ?"; args[#args + 1] = v
      end
    end
  end
  if q.q then
    where[#where + 1] = "(instr(partner_id, ?) > 0 OR instr(name, ?) > 0)"
    args[#args + 1] = q.q; args[#args + 1] = q.q
  end
  local terms, err = order_of(q, names)
  if not terms then return nil, err end
  local limit = q.limit and tointeger(tonumber(q.limit)) or PAGE
  local offset = q.offset and tointeger(tonumber(q.offset)) or 0
  if not limit or limit < 1 or limit > MAX_PAGE then return nil, format("limit must be 1 to %d", MAX_PAGE) end
  if not offset or offset < 0 then return nil, "offset must be 0 or more" end
  local sum, list = summaries[id] and #where == 1 and not q.after and summaries[id].data, {}
  local first = sum and sum.partners
  if first and (q.sort or "rank") == "rank" and q.dir ~= "desc" and
      (offset + limit <= #first or #first == sum.scored) then
    for i = offset + 1, math.min(offset + limit, #first) do
      local e = first[i]
      list[#list + 1] = { partner_id = e.partner_id, name = e.name, kind = e.kind, total = e.total,
        verdict = e.verdict, dims = e.dims, reasons = json.array({ table.unpack(e.reasons) }), rank = i }
    end
    return { run = id, total = sum.scored, offset = offset, limit = limit, dimensions = json.array(names),
             partners = json.array(list) }
  end
  local cond, total = concat(where, " AND "), nil
  local order = {}
  for k, t in ipairs(terms) do order[k] = t[1] .. " " .. t[2] end
  -- The first page by rank is a small heap (and soon the summary's): only
  -- the pages after it and other orders sort the run.
  local shallow = #where == 1 and not q.after and (q.sort or "rank") == "rank" and q.dir ~= "desc" and
                  offset + limit <= PAGE
  local cached = order_table(db, id, cond, args, concat(order, ", "), not shallow)
  local from = offset
  if cached and q.after then  -- the page after that partner, by its position
    from = order_pos(db, cached, q.after)
    if not from then cached = nil end
  end
  if cached then
    -- CROSS JOIN: the order outside (with an index on pid, the planner
    -- would otherwise scan the run and look each partner up in it)
    for row in db:rows("SELECT s.* FROM temp." .. cached.name .. " o CROSS JOIN scores s ON s.run_id = ? " ..
        "AND s.partner_id = o.pid WHERE o.rowid > ? ORDER BY o.rowid LIMIT ?", id, from, limit) do
      local sc = record.scored(row, names)
      list[#list + 1] = { partner_id = row.partner_id, name = row.name, kind = row.kind, total = row.total,
        verdict = row.verdict, dims = sc.dimensions, reasons = json.array(sc.reasons), rank = offset + #list + 1 }
    end
    return { run = id, total = cached.n, offset = offset, limit = limit, dimensions = json.array(names),
             partners = json.array(list) }
  end
  if #where == 1 then  -- a finished run's count is in its row
    local run = db:one("SELECT partners FROM runs WHERE id = ? AND status = 'ok'", id)
    total = run and run.partners
  end
  total = total or db:one("SELECT count(*) AS n FROM scores WHERE " .. cond, table.unpack(args)).n
  local skip = offset
  if q.after then  -- the page after that partner; offset only numbers its ranks
    local sql, vals = after_of(db, id, terms, q.after)
    if not sql then return nil, vals end
    cond, skip = cond .. " AND " .. sql, 0
    table.move(vals, 1, #vals, #args + 1, args)
  end
  args[#args + 1] = limit; args[#args + 1] = skip
  for row in db:rows("SELECT * FROM scores WHERE " .. cond .. " ORDER BY " .. concat(order, ", ") ..
      " LIMIT ? OFFSET ?", table.unpack(args)) do
    local s = record.scored(row, names)
    list[#list + 1] = { partner_id = row.partner_id, name = row.name, kind = row.kind, total = row.total,
      verdict = row.verdict, dims = s.dimensions, reasons = json.array(s.reasons), rank = offset + #list + 1 }
  end
  return { run = id, total = total, offset = offset, limit = limit, dimensions = json.array(names),
           partners = json.array(list) }
end

-- A partner across runs (report.partner) and, for one run (the latest by
-- default), every rule's outcome with its evidence, by replay.
local function partner_of(db, who, run)
  local row = record.score_row(db, who, run)
  if not row then
    return nil, format("partner '%s' is in no stored run%s", who, run and format(" (run %d)", run) or "")
  end
  local data, err = report.partner(db, row.partner_id)
  if not data then return nil, err end
  local outcomes, why = record.outcomes(db, row)
  data.explained = { run_id = row.run_id, outcomes = json.array(outcomes or {}), error = not outcomes and why or nil }
  return data
end

local function schedules_of()
  local out = {}
  for _, s in ipairs(vouch.schedules.list()) do
    s.grants = nil
    s.history = json.array(vouch.schedules.history(s.name, 10))
    out[#out + 1] = s
  end
  return json.array(out)
end

-- What the pages watch: the newest run, runs in progress and how many
-- partners they have scored, the newest schedule run and alert.
local function state(db)
  local st = { running = {} }
  st.last_run = db:one("SELECT max(id) AS n FROM runs").n or 0
  for r in db:rows("SELECT id, scorecard FROM runs WHERE status = 'running' ORDER BY id") do
    r.scored = db:one("SELECT count(*) AS n FROM scores WHERE run_id = ?", r.id).n
    st.running[#st.running + 1] = r
  end
  st.running = json.array(st.running)
  local ok, a = pcall(db.one, db, "SELECT max(id) AS n, max(CASE WHEN alert IS NOT NULL THEN id END) AS a " ..
    "FROM schedule_runs")
  st.last_schedule_run = ok and a.n or 0
  st.last_alert = ok and a.a or 0
  return st
end

--}======================================================


--{======================================================
-- Pages
--=======================================================

local function runs_page(db, file)
  local rows = runs_list(db, 200)
  local out = { '<h2>Runs</h2><div class="tablewrap"><table id="runs"><thead><tr><th class="num">Run</th>' ..
    '<th>Scorecard</th><th>Started</th><th>Status</th><th>Inputs</th><th class="num">Partners</th>' ..
    '<th class="num">Approve</th><th class="num">Review</th><th class="num">Reject</th></tr></thead><tbody>' }
  for _, r in ipairs(rows) do
    out[#out + 1] = format('<tr data-run="%d"><td class="num"><a href="/run/%d">#%d</a></td><td>%s</td><td>%s</td>' ..
      '<td class="status">%s</td><td>%s</td><td class="num">%s</td><td class="num">%d</td><td class="num">%d</td>' ..
      '<td class="num">%d</td></tr>', r.id, r.id, r.id, esc(r.scorecard), esc(parts.when(r.started_at)),
      esc(r.status), esc(r.inputs or ""), esc(tostring(r.partners or "")), r.counts.approve, r.counts.review,
      r.counts.reject)
  end
  if #rows == 0 then out[#out + 1] = '<tr><td colspan="9" class="note">No run yet: vet a file.</td></tr>' end
  out[#out + 1] = "</tbody></table></div>"
  if #rows >= 2 then
    local opts = {}
    for _, r in ipairs(rows) do opts[#opts + 1] = format('<option value="%d">#%d %s</option>', r.id, r.id, esc(r.scorecard)) end
    out[#out + 1] = format('<h2>Compare two runs</h2><form class="filters" method="get" action="/diff">' ..
      '<label>from<select name="a">%s</select></label><label>to<select name="b">%s</select></label>' ..
      '<button>Compare</button></form>', concat(opts):gsub('value="' .. rows[2].id .. '"', '%0 selected', 1),
      concat(opts))
  end
  return page("vouch workbench", "Runs", "the record in " .. file, out)
end

-- A column head that sorts the run's partners by `key`.
local function sort_link(path, q, key, label, num)
  local dir = (q.sort or "rank") == key and q.dir ~= "asc" and "asc" or "desc"
  local nq = {}
  for k, v in pairs(q) do nq[k] = v end
  nq.sort, nq.dir, nq.offset, nq.after = key, dir, nil, nil
  return format('<th%s><a href="%s">%s</a></th>', num and ' class="num"' or "", esc(with_query(path, nq)), esc(label))
end

local function run_page(srv, db, id, q)
  local s, err = summary(srv, db, id)
  if s == nil then return bad(404, err) end
  local list
  list, err = partners_of(db, id, q)
  if not list then return bad(400, err) end
  local keep, data, kicker, title, sub = {}
  if s then
    local body
    data = s.data
    body, kicker, title, sub = report.sections(data)
    -- the report's own ranked table and cards give way to the workbench's
    for _, part in ipairs(body) do
      if part:find("^<h2>Ranked partners") then break end
      keep[#keep + 1] = part
    end
  else
    -- its summary is being made: the partners meanwhile, and app.js reloads
    -- the page when the summary is there
    data = { dimensions = list.dimensions, flags = {} }
    kicker, title, sub = "vouch workbench", format("Run #%d", id), format("%d partners", list.total)
    keep[1] = format('<p class="note" id="pending" data-run="%d">The summary of this run (counts, medians ' ..
      'and red flags over all its partners) is being made; it shows here when it is ready.</p>', id)
  end
  local path = "/run/" .. id
  local dims = {}
  for _, d in ipairs(data.dimensions) do
    dims[#dims + 1] = format('<option%s>%s</option>', q.dim == d and " selected" or "", esc(d))
  end
  local flags = {}
  for _, f in ipairs(data.flags) do
    flags[#flags + 1] = format('<option%s>%s</option>', q.flag == f.code and " selected" or "", esc(f.code))
  end
  local function sel(v) return q.verdict == v and " selected" or "" end
  keep[#keep + 1] = format('<h2>Partners</h2><form class="filters" method="get" action="%s">' ..
    '<label>verdict<select name="verdict"><option value="">any</option><option%s>approve</option>' ..
    '<option%s>review</option><option%s>reject</option></select></label>' ..
    '<label>red flag<select name="flag"><option value="">any</option>%s</select></label>' ..
    '<label>dimension<select name="dim"><option value="">-</option>%s</select></label>' ..
    '<label>below<input name="below" size="4" value="%s"></label><label>at or above<input name="above" size="4" value="%s"></label>' ..
    '<label>name or id<input name="q" value="%s"></label><input type="hidden" name="sort" value="%s">' ..
    '<input type="hidden" name="dir" value="%s"><button>Filter</button></form>',
    path, sel("approve"), sel("review"), sel("reject"), concat(flags), concat(dims), esc(q.below or ""),
    esc(q.above or ""), esc(q.q or ""), esc(q.sort or ""), esc(q.dir or ""))
  local head = { '<div class="tablewrap"><table class="ranked" id="partners"><thead><tr><th class="num">#</th>',
    sort_link(path, q, "name", "Partner"), sort_link(path, q, "total", "Total", true),
    sort_link(path, q, "rank", "Verdict") }
  for _, d in ipairs(data.dimensions) do head[#head + 1] = sort_link(path, q, d, require("vouch.svg").label(d), true) end
  head[#head + 1] = "<th>Principal reasons and red flags</th></tr></thead><tbody>"
  keep[#keep + 1] = concat(head)
  for _, e in ipairs(list.partners) do
    local cells = { format('<tr><td class="num rank">%d</td><td class="partner"><a href="/partner/%s?run=%d">%s</a></td>' ..
      '<td class="num total">%s%s</td><td class="verdict">%s</td>', e.rank, esc(urlencode(e.partner_id)), id,
      parts.who(e), esc(require("vouch.svg").num(e.total)), parts.meter(e.total), parts.badge(e.verdict)) }
    for _, d in ipairs(data.dimensions) do
      cells[#cells + 1] = format('<td class="num">%s</td>', esc(require("vouch.svg").num(e.dims[d])))
    end
    cells[#cells + 1] = format('<td class="why">%s</td></tr>', parts.reasons(e.reasons))
    keep[#keep + 1] = concat(cells)
  end
  if #list.partners == 0 then keep[#keep + 1] = '<tr><td colspan="5" class="note">No partner matches.</td></tr>' end
  keep[#keep + 1] = "</tbody></table></div>"
  local pager = { format('<div class="pager"><span>%d–%d of %d</span>', math.min(list.total, list.offset + 1),
    list.offset + #list.partners, list.total) }
  -- next goes on from the last partner shown (keyset), previous by offset
  local function to(offset, label, after)
    local nq = {}
    for k, v in pairs(q) do nq[k] = v end
    nq.offset, nq.after = offset > 0 and tostring(offset) or nil, after
    pager[#pager + 1] = format('<a href="%s">%s</a>', esc(with_query(path, nq)), label)
  end
  if list.offset > 0 then to(math.max(0, list.offset - list.limit), "← previous") end
  if list.offset + #list.partners < list.total then
    to(list.offset + list.limit, "next →", list.partners[#list.partners].partner_id)
  end
  keep[#keep + 1] = concat(pager) .. "</div>"
  return page(kicker, title, sub, keep)
end

local function partner_page(db, who, run)
  local data, err = partner_of(db, who, run)
  if not data then return bad(404, err) end
  local body, kicker, title, sub = report.sections(data)
  local x = data.explained
  body[#body + 1] = format("<h2>Every rule in run #%d, by replay</h2>", x.run_id)
  if x.error then
    body[#body + 1] = format('<p class="note">%s</p>', esc(x.error))
  else
    local rows = { '<div class="tablewrap"><table id="rules"><thead><tr><th>Rule</th><th>Dimension</th>' ..
      '<th>Outcome</th><th class="num">Points</th><th class="num">Rank</th><th>Evidence</th></tr></thead><tbody>' }
    for _, o in ipairs(x.outcomes) do
      local ev = o.evidence
      if type(ev) == "table" then ev = json.encode(ev) end
      rows[#rows + 1] = format('<tr><td><code>%s</code></td><td>%s</td><td>%s</td><td class="num">%s</td>' ..
        '<td class="num">%s</td><td><code>%s</code></td></tr>', esc(tostring(o.code)), esc(o.dimension or ""),
        esc(tostring(o.outcome)), esc(require("vouch.svg").num(o.points)), o.rank and ("#" .. o.rank) or "",
        esc(ev == nil and "" or tostring(ev)))
    end
    rows[#rows + 1] = "</tbody></table></div>"
    body[#body + 1] = concat(rows)
  end
  return page(kicker, title, sub, body)
end

-- The diffs of finished runs do not change: the DIFFS most recently asked
-- for are kept (two runs of a million take seconds to compare).
local DIFFS = 8
local diffs, diff_seq = {}, 0

local function diff_of(db, a, b, limit)
  local key = { a, b, limit }
  for _, id in ipairs { a, b } do
    local r = db:one("SELECT status, ended_at FROM runs WHERE id = ?", id)
    if not r or r.status ~= "ok" then key = nil break end
    key[#key + 1] = r.ended_at or ""
  end
  key = key and concat(key, "\0")
  diff_seq = diff_seq + 1
  for _, d in ipairs(diffs) do
    if d.key == key then
      d.used = diff_seq
      return d.data
    end
  end
  local data, err = report.diff(db, a, b, { limit = limit })
  if not data or not key then return data, err end
  if #diffs >= DIFFS then
    table.sort(diffs, function(x, y) return x.used > y.used end)
    diffs[#diffs] = nil
  end
  diffs[#diffs + 1] = { key = key, data = data, used = diff_seq }
  return data
end

local function diff_page(db, a, b)
  local data, err = diff_of(db, a, b, PAGE)
  if not data then return bad(404, err) end
  local body, kicker, title, sub = report.sections(data)
  return page(kicker, title, sub, body)
end

local function schedules_page()
  local list = schedules_of()
  local out = { "<h2>Schedules</h2>" }
  if #list == 0 then out[#out + 1] = '<p class="note">No schedule: add one with vouch schedule add.</p>' end
  for _, s in ipairs(list) do
    local name = esc(s.name)
    local act = function(what, label)
      return format('<form class="inline" method="post" action="/api/schedules/%s/%s"><input type="hidden" ' ..
        'name="back" value="/schedules"><button>%s</button></form>', esc(urlencode(s.name)), what, label)
    end
    out[#out + 1] = format('<h3 class="schedule">%s</h3><p>%s · <code>%s</code> · %s · next %s %s %s</p>',
      name, esc(s.script), esc(s.expr), s.paused == 1 and "<b>paused</b>" or "active",
      esc(s.paused == 1 and "-" or parts.when(s.next_run)), act("run", "Run now"),
      s.paused == 1 and act("resume", "Resume") or act("pause", "Pause"))
    local rows = { '<div class="tablewrap"><table><thead><tr><th>Started</th><th>Trigger</th><th>Status</th>' ..
      '<th class="num">Run</th><th>Alert</th></tr></thead><tbody>' }
    for _, h in ipairs(s.history) do
      rows[#rows + 1] = format('<tr><td>%s</td><td>%s</td><td>%s</td><td class="num">%s</td><td>%s</td></tr>',
        esc(parts.when(h.started_at)), esc(h.trigger), esc(h.status),
        h.run_id and format('<a href="/run/%d">#%d</a>', h.run_id, h.run_id) or "",
        esc(h.alert or ""))
    end
    if #s.history == 0 then rows[#rows + 1] = '<tr><td colspan="5" class="note">Not run yet.</td></tr>' end
    rows[#rows + 1] = "</tbody></table></div>"
    out[#out + 1] = concat(rows)
  end
  return page("vouch workbench", "Schedules", "their history, alerts and next times", out)
end

local function vet_page()
  return page("vouch workbench", "Vet a file", "score partners and store the run", {
    format('<form class="filters" method="post" action="/api/vet"><input type="hidden" name="back" value="/">' ..
      '<label>data file<input name="file" size="40" required></label>' ..
      '<label>scorecard<input name="rules" value="social_capital" size="20"></label><button>Vet</button></form>' ..
      '<p class="note">The file must be one the server may read (its --allow-read; by default the working ' ..
      'directory). The run shows on the runs page as it goes.</p>') })
end

--}======================================================


--{======================================================
-- Routes
--=======================================================

local APP_JS = [[
// The workbench's only script: live updates from /api/events. Text from
// the record is put in with textContent, never as HTML.
(function () {
  var live = document.getElementById('live');
  var seen = null;
  function say(t) { if (live) live.textContent = t; }
  function cell(tr, text, cls) {
    var td = document.createElement('td'); td.textContent = text;
    if (cls) td.className = cls; tr.appendChild(td); return td;
  }
  function redrawRuns() {
    var body = document.querySelector('#runs tbody');
    if (!body) return;
    fetch('/api/runs').then(function (r) { return r.json(); }).then(function (runs) {
      body.textContent = '';
      runs.forEach(function (r) {
        var tr = document.createElement('tr'); tr.dataset.run = r.id;
        var a = document.createElement('a'); a.href = '/run/' + r.id; a.textContent = '#' + r.id;
        cell(tr, '', 'num').appendChild(a);
        cell(tr, r.scorecard); cell(tr, r.started_at || ''); cell(tr, r.status, 'status');
        cell(tr, r.inputs || ''); cell(tr, r.partners == null ? '' : String(r.partners), 'num');
        cell(tr, String(r.counts.approve), 'num'); cell(tr, String(r.counts.review), 'num');
        cell(tr, String(r.counts.reject), 'num');
        body.appendChild(tr);
      });
    });
  }
  var es = new EventSource('/api/events');
  es.addEventListener('state', function (e) {
    var st = JSON.parse(e.data);
    // a run that stores its partners in one transaction shows none until it ends
    var words = st.running.map(function (r) {
      return 'run #' + r.id + ': ' + (r.scored ? r.scored + ' scored' : 'running');
    });
    say(words.length ? words.join(' · ') : 'live');
    if (seen && (seen.last_run !== st.last_run || st.running.length || seen.running.length)) redrawRuns();
    if (seen && seen.last_alert !== st.last_alert) say('new alert: see Schedules');
    seen = st;
  });
  es.addEventListener('summary', function (e) {
    var p = document.getElementById('pending');
    if (p && p.dataset.run === String(JSON.parse(e.data).run)) location.reload();
  });
  es.addEventListener('action', function (e) {
    var a = JSON.parse(e.data);
    say(a.what + (a.status === 0 ? ': done' : ': failed: ' + a.message));
    redrawRuns();
  });
})();
]]

-- The answer to one request (called by host/serve.c): status, headers, body.
-- A run the copy of a server's runs has not seen yet: it is brought up to
-- date before the answer (on a file there is nothing to do).
local function look_again(db, id)
  if id and not db:one("SELECT 1 AS x FROM runs WHERE id = ?", id) then pcall(db.refresh, db) end
end

local function route(srv, db, req, file)
  local path, q = req.path, params(req.query)
  local api = path:find("^/api/") ~= nil
  if req.method == "POST" then
    local form = params(req.body)
    local function done(ok, err)
      if not ok then return bad(400, err, form.back == nil) end
      if form.back and form.back:find("^/[^/]") or form.back == "/" then
        return 303, { location = form.back }, ""
      end
      return answer_json(202, { started = ok })
    end
    if path == "/api/vet" then
      if not form.file then return bad(400, "file is missing", true) end
      return done(srv:spawn("vet", form.file, form.rules or "social_capital"))
    end
    local name, what = path:match("^/api/schedules/([^/]+)/(%a+)$")
    if name then
      name = unescape(name)
      if not vouch.schedules.get(name) then return bad(404, format("no schedule named '%s'", name), true) end
      if what == "run" then return done(srv:spawn("schedule", name)) end
      if what == "pause" then return done(vouch.schedules.pause(name)) end
      if what == "resume" then return done(vouch.schedules.resume(name)) end
    end
    return bad(404, "no such action: " .. path, true)
  end
  if path == "/" then return runs_page(db, file) end
  if path == "/app.js" then return 200, { ["content-type"] = "text/javascript; charset=utf-8" }, APP_JS end
  if path == "/schedules" then return schedules_page() end
  if path == "/vet" then return vet_page() end
  if path == "/api/runs" then return answer_json(200, runs_list(db, positive(q.limit) or 200)) end
  if path == "/api/state" then return answer_json(200, state(db)) end
  if path == "/api/schedules" then return answer_json(200, schedules_of()) end
  if path == "/diff" or path == "/api/diff" then
    local a, b = positive(q.a), positive(q.b)
    if not a or not b then return bad(400, "give two runs: ?a=N&b=M", api) end
    if api then
      local data, err = diff_of(db, a, b, positive(q.limit) or PAGE)
      if not data then return bad(404, err, true) end
      return answer_json(200, data, true)
    end
    return diff_page(db, a, b)
  end
  if path == "/partner" then
    if not q.id then return bad(400, "give a partner: ?id=ID") end
    return 303, { location = "/partner/" .. urlencode(q.id) }, ""
  end
  local who = path:match("^/partner/(.+)$") or path:match("^/api/partners/(.+)$")
  if who then
    who = unescape(who)
    if q.run and not positive(q.run) then return bad(400, "run must be a run number", api) end
    if not api then return partner_page(db, who, positive(q.run)) end
    local data, err = partner_of(db, who, positive(q.run))
    if not data then return bad(404, err, true) end
    return answer_json(200, data, true)
  end
  local id, rest = path:match("^/api/runs/(%d+)(.*)$")
  if id then
    id = positive(id)
    look_again(db, id)
    if rest == "" then
      local s, err = summary(srv, db, id)
      if s == nil then return bad(404, err, true) end
      if not s then return answer_json(202, { run = id, pending = true }) end
      return 200, { ["content-type"] = "application/json; charset=utf-8" }, s.json
    elseif rest == "/partners" then
      if not db:one("SELECT 1 AS x FROM runs WHERE id = ?", id) then return bad(404, format("no run %d", id), true) end
      local list, err = partners_of(db, id, q)
      if not list then return bad(400, err, true) end
      return answer_json(200, list)
    end
  end
  id = path:match("^/run/(%d+)$")
  if id then
    look_again(db, positive(id))
    return run_page(srv, db, positive(id), q)
  end
  return bad(404, "nothing here: " .. path, api)
end

--}======================================================


return function(...)
  local commands = require "vouch.cmd.commands"
  local opts, pos = commands.args({ ... }, "serve")
  if not opts then return pos end
  if #pos > 0 then return commands.usage("serve", nil, "unexpected argument '" .. pos[1] .. "'") end
  local port = tointeger(tonumber(opts.port or 8421))
  if not port or port < 0 or port > 65535 then return commands.usage("serve", nil, "--port needs a number 0-65535") end
  local db = vouch.db.open()
  -- on a server, the copy of its runs is brought up to date as the pages poll
  local server = db:refresh()
  local file = server or db:one("PRAGMA database_list").file
  local srv, err, code
  srv, err, code = vouch.serve.listen { host = opts.bind or "127.0.0.1", port = port,
    handler = function(req) return route(srv, db, req, file) end }
  if not srv then
    vouch.eprint("vouch: serve: " .. tostring(err))
    return code == "EACCES" and 2 or 1
  end
  local host = opts.bind or "127.0.0.1"
  if host:find(":") then host = "[" .. host .. "]" end
  vouch.file.stdout(format("vouch serve: the workbench of %s (Ctrl-C stops it)\nopen http://%s:%d/?token=%s\n",
    file, host, srv:port(), srv:token()))
  -- the record is polled, and what changed is pushed to the pages. A server
  -- that cannot be reached is tried once a poll, then less and less often
  -- (up to every 32 s), so that the pages keep being served from the copy
  -- while it is away; it is said once when it goes and once when it is back.
  local last, beat, away, skip = nil, 0, 0, 0
  while not srv:closed() do
    collect_summaries(srv)
    if server and skip > 0 then
      skip = skip - 1
    elseif server then
      local ok, why = pcall(db.refresh, db, 0)
      if ok and away > 0 then
        vouch.eprint("vouch: serve: the record's server is back")
        away = 0
      elseif not ok then
        if away == 0 then
          why = tostring(why):gsub("^'refresh': ", ""):gsub("%s*\n%s*", " ")
          vouch.eprint(format("vouch: serve: %s; the pages show the copy of its runs until it " ..
                              "is back", why))
        end
        away = math.min(away * 2 + 1, 31)
        skip = away * 1000 // POLL_MS
      end
    end
    local ok, st = pcall(state, db)
    if ok then
      local text = json.encode(st)
      if text ~= last then srv:push("state", text, true); last = text end
    end
    beat = beat + 1
    if beat % 15 == 0 then srv:ping() end
    vouch.sleep(POLL_MS)
  end
  db:close()
  print("vouch serve: stopped")
  return 0
end

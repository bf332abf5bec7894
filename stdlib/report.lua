-- report.lua: stored runs as pages people read.
--
-- Three steps, kept apart so each can be tested alone: gather the data of a
-- run, a partner or a diff from the database (M.run, M.partner, M.diff:
-- plain tables, which are also what `--format json` prints), then render
-- it as one self-contained HTML page (M.html), as Markdown with its charts
-- as separate SVG files (M.markdown), or as JSON (M.json).
--
-- Everything taken from the data is escaped on the way out: a partner named
-- `<script>` is shown as that text and never runs.
local svg = require "vouch.svg"
local record = require "vouch.record"

local M = {}

local concat, insert = table.concat, table.insert
local format, gsub, rep = string.format, string.gsub, string.rep
local ipairs, pairs, type, tostring = ipairs, pairs, type, tostring
local esc, num, label = svg.escape, svg.num, svg.label

--- Reason outcomes that are red flags rather than scoring.
M.flag_outcomes = record.flag_outcomes

--- At most this many partners get a chart of their own in a run report
--- (the ranked table lists as many as the report's limit).
M.max_cards = 200

-- Arrays are marked so that an empty one is still `[]` in JSON.
local ARRAY = {}
local function array(t) return setmetatable(t or {}, ARRAY) end

local function argcheck(cond, n, fname, msg)
  if not cond then error(format("bad argument #%d to '%s' (%s)", n, fname, msg), 3) end
end


--{======================================================
-- Data: what a report shows, read from the tables of the schema
--=======================================================

local FLAG_SQL = record.FLAG_SQL
-- Ranked as `vouch vet` ranks them (the scorecard library's ranking).
local RANK_SQL = require("vouch.scorecard").RANK_SQL

--- At most this many partners are listed in a report by default (a run may
--- hold millions); counts, medians and red flags always cover them all.
M.default_limit = 500

-- One partner's row of `scores` as a report entry: its dimensions by the
-- names of its run's scorecard (`names`), and the reasons worth a reader's
-- time, the principal ones and then the red flags (all that a run stores).
local function entry(row, names)
  local s = record.scored(row, names)
  return { partner_id = row.partner_id, name = row.name, kind = row.kind,
           total = row.total, verdict = row.verdict, dims = s.dimensions, reasons = array(s.reasons) }
end

local function scored_entry(db, run_id, partner_id, names)
  local row = db:one("SELECT * FROM scores WHERE run_id = ? AND partner_id = ?", run_id, partner_id)
  return entry(row, names)
end

local function run_row(db, id)
  local r = db:one("SELECT id, scorecard, scorecard_hash, inputs, started_at, ended_at, status, " ..
    "started_by, partners, error FROM runs WHERE id = ?", id)
  if not r then return nil, format("no run %s in the database", tostring(id)) end
  return r
end

--- The id of the latest finished run, or nil and a message.
function M.latest_run(db)
  local r = db:one("SELECT id FROM runs WHERE status = 'ok' ORDER BY id DESC LIMIT 1")
  if r then return r.id end
  return nil, "no finished run in the database (score partners with 'vouch vet' first)"
end

-- The first `limit` scores of a run by rank (all for a negative limit),
-- each with its reasons.
local function run_entries(db, run_id, limit, names)
  local list = array()
  for row in db:rows("SELECT * FROM scores WHERE run_id = ? " .. RANK_SQL .. " LIMIT ?", run_id, limit) do
    local e = entry(row, names)
    list[#list + 1] = e
    e.rank = #list
  end
  return list
end

local function verdict_counts(db, run_id)
  local counts, n = { approve = 0, review = 0, reject = 0 }, 0
  for r in db:rows("SELECT verdict, count(*) AS n FROM scores WHERE run_id = ? GROUP BY verdict", run_id) do
    counts[r.verdict] = r.n
    n = n + r.n
  end
  return counts, n
end

-- The median of a column of a run's scores, NULLs left out; the column is
-- an expression of ours ("total" or record.dim_sql), never text from outside.
-- `n` is how many of them are not NULL (counted for every column at once).
local function median(db, run_id, col, n)
  if n == 0 then return nil end
  local sum, k = 0, 0
  for r in db:rows(format("SELECT %s AS v FROM scores WHERE run_id = ? AND %s IS NOT NULL " ..
      "ORDER BY v LIMIT ? OFFSET ?", col, col), run_id, 2 - n % 2, (n - 1) // 2) do
    sum, k = sum + r.v, k + 1
  end
  return sum / k
end

local function limit_of(opts)
  local limit = opts and opts.limit or M.default_limit
  return limit > 0 and limit or -1
end

--- The data of a run report: the run, its first partners by rank with
--- their principal reasons and red flags (`opts.limit`, default
--- M.default_limit; 0 for all), counts per verdict, the portfolio's median
--- per dimension and how many partners each red flag caught, over all of
--- the run. `id` nil means the latest finished run. Returns the table, or
--- nil and a message when there is no such run.
function M.run(db, id, opts)
  argcheck(type(db) == "table" or type(db) == "userdata", 1, "run", "database expected")
  if id == nil then
    local err
    id, err = M.latest_run(db)
    if not id then return nil, err end
  end
  local run, err = run_row(db, id)
  if not run then return nil, err end
  local counts, scored = verdict_counts(db, id)
  local names = record.dimensions(db, id)
  local med = {}
  local cols = { "count(total) AS n0" }
  for i in ipairs(names) do cols[#cols + 1] = format("count(%s) AS n%d", record.dim_sql(i), i) end
  local n = db:one("SELECT " .. concat(cols, ", ") .. " FROM scores WHERE run_id = ?", id)
  for i, d in ipairs(names) do med[d] = median(db, id, record.dim_sql(i), n["n" .. i]) end
  local flags = array()
  for r in db:rows("SELECT code, outcome, count(DISTINCT partner_id) AS n FROM " ..
      "(SELECT s.partner_id, " .. record.reason_sql("code") .. " AS code, " ..
      record.reason_sql("outcome") .. " AS outcome FROM scores s, json_each(s.reasons) j " ..
      "WHERE s.run_id = ?) WHERE outcome IN " .. FLAG_SQL .. " GROUP BY code, outcome " ..
      "ORDER BY n DESC, code", id) do
    flags[#flags + 1] = { code = r.code, outcome = r.outcome, partners = r.n }
  end
  return { report = "run", run = run, partners = run_entries(db, id, limit_of(opts), names),
           scored = scored, counts = counts, median = med, median_total = median(db, id, "total", n.n0),
           flags = flags, dimensions = array { table.unpack(names) } }
end

--- The data of a partner's report: its score in every run that scored it,
--- oldest first, and the reasons that came and went between runs.
function M.partner(db, partner_id)
  argcheck(type(db) == "table" or type(db) == "userdata", 1, "partner", "database expected")
  argcheck(type(partner_id) == "string", 2, "partner", "string expected")
  local history, lists = array(), {}
  local by_card = {}
  for row in db:rows("SELECT s.*, r.started_at, r.scorecard, r.status, r.scorecard_hash AS card FROM scores s " ..
      "JOIN runs r ON r.id = s.run_id WHERE s.partner_id = ? ORDER BY s.run_id", partner_id) do
    local names = by_card[row.card]
    if not names then
      names = record.dimensions(db, row.run_id)
      by_card[row.card] = names
      lists[#lists + 1] = names
    end
    local e = entry(row, names)
    e.run_id, e.started_at, e.scorecard, e.status = row.run_id, row.started_at, row.scorecard, row.status
    history[#history + 1] = e
  end
  if #history == 0 then
    return nil, format("partner '%s' is in no stored run", partner_id)
  end
  local last = history[#history]
  local changes = array()
  for i = 2, #history do
    local before, now = {}, {}
    for _, r in ipairs(history[i - 1].reasons) do before[r.code] = r end
    for _, r in ipairs(history[i].reasons) do now[r.code] = r end
    local came, went = array(), array()
    for _, r in ipairs(history[i].reasons) do if not before[r.code] then came[#came + 1] = r end end
    for _, r in ipairs(history[i - 1].reasons) do if not now[r.code] then went[#went + 1] = r end end
    changes[#changes + 1] = { from = history[i - 1].run_id, to = history[i].run_id,
      verdict_from = history[i - 1].verdict, verdict_to = history[i].verdict,
      came = came, went = went }
  end
  return { report = "partner", partner = { partner_id = partner_id, name = last.name, kind = last.kind },
           history = history, changes = changes, dimensions = array(record.union(table.unpack(lists))) }
end

-- Partners scored in run `a` and not in run `b`: the first `limit` and the count.
local function only_in(db, a, b, limit)
  local cond = "FROM scores s WHERE run_id = ? AND NOT EXISTS " ..
    "(SELECT 1 FROM scores t WHERE t.run_id = ? AND t.partner_id = s.partner_id)"
  local list = array()
  for r in db:rows("SELECT partner_id, name, verdict, total " .. cond .. " " .. RANK_SQL .. " LIMIT ?",
      a, b, limit) do
    list[#list + 1] = { partner_id = r.partner_id, name = r.name, verdict = r.verdict, total = r.total }
  end
  return list, db:one("SELECT count(*) AS n " .. cond, a, b).n
end

--- The data of a diff report between runs `a` and `b`: the partners whose
--- verdict changed, side by side (most serious first: towards reject, then
--- by how far the total moved; at most `opts.limit`), counts per verdict in
--- each run, and the partners scored in one run only.
function M.diff(db, a, b, opts)
  argcheck(type(db) == "table" or type(db) == "userdata", 1, "diff", "database expected")
  local ra, err = run_row(db, a)
  if not ra then return nil, err end
  local rb; rb, err = run_row(db, b)
  if not rb then return nil, err end
  local limit = limit_of(opts)
  local names_a, names_b = record.dimensions(db, a), record.dimensions(db, b)
  local both = "FROM scores x JOIN scores y ON y.run_id = ? AND y.partner_id = x.partner_id " ..
    "WHERE x.run_id = ? AND "
  local severity = "(CASE %s.verdict WHEN 'reject' THEN 2 WHEN 'review' THEN 1 ELSE 0 END)"
  local changed = array()
  for r in db:rows("SELECT x.partner_id " .. both .. "x.verdict <> y.verdict ORDER BY " ..
      format(severity, "y") .. " - " .. format(severity, "x") .. " DESC, " ..
      "abs(coalesce(y.total - x.total, 0)) DESC, x.partner_id LIMIT ?", b, a, limit) do
    local ea, eb = scored_entry(db, a, r.partner_id, names_a), scored_entry(db, b, r.partner_id, names_b)
    changed[#changed + 1] = { partner_id = r.partner_id, name = eb.name or ea.name, kind = eb.kind or ea.kind,
      a = ea, b = eb,
      delta = (type(ea.total) == "number" and type(eb.total) == "number") and eb.total - ea.total or nil }
  end
  local only_a, n_only_a = only_in(db, a, b, limit)
  local only_b, n_only_b = only_in(db, b, a, limit)
  return { report = "diff", a = ra, b = rb, counts_a = verdict_counts(db, a), counts_b = verdict_counts(db, b),
           changed = changed, changed_count = db:one("SELECT count(*) AS n " .. both .. "x.verdict <> y.verdict", b, a).n,
           unchanged = db:one("SELECT count(*) AS n " .. both .. "x.verdict = y.verdict", b, a).n,
           only_a = only_a, only_b = only_b, only_a_count = n_only_a, only_b_count = n_only_b,
           dimensions = array(record.union(names_a, names_b)) }
end

--}======================================================


--{======================================================
-- JSON: the data behind the report
--=======================================================

-- A copy of `v` that vouch.json takes: strings cleaned as the other formats
-- clean them, NaN and infinities as null, the marked arrays kept arrays.
local function jsonable(v, json)
  local t = type(v)
  if t == "string" then return svg.clean(v) end
  if t == "number" and (v ~= v or v == math.huge or v == -math.huge) then return json.null end
  if t ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = jsonable(x, json) end
  if getmetatable(v) == ARRAY then return json.array(out) end
  return out
end

--- The report's data as JSON text, keys sorted so output is stable.
function M.json(data)
  argcheck(type(data) == "table", 1, "json", "table expected")
  local json = vouch.json
  return json.encode(jsonable(data, json), { indent = 2, sort_keys = true }) .. "\n"
end

--}======================================================


--{======================================================
-- Shared pieces of the HTML and Markdown reports
--=======================================================

local verdict_mark = { approve = "✓", review = "?", reject = "✗" }
local verdict_order = { "approve", "review", "reject" }


local function display_name(e)
  local n = e.name
  if n == nil or n == "" then n = e.partner_id end
  return tostring(n)
end

-- What a reason did, in words: "scored 38", "-15 penalty", "veto".
local function effect(r)
  local p, o = r.points, r.outcome
  local has = type(p) == "number"
  if o == "score" then return has and ("scored " .. num(p)) or "scored"
  elseif o == "points" or o == "pass" then return has and ((p > 0 and "+" or "") .. num(p) .. " points") or o
  elseif o == "penalty" then return has and (num(p) .. " penalty") or "penalty"
  elseif o == "cap" then
    if has and p ~= 0 then return "cap, " .. num(p) .. " on the total" end
    return "cap (not binding)"
  elseif o == "veto" then return "veto"
  elseif o == "review" then return "forces review"
  elseif o == "indeterminate" then return "indeterminate: data missing" end
  return tostring(o)
end

-- A reason after its code, in words: "(community): -10 penalty".
local function reason_detail(r)
  local dim = (r.dimension and r.dimension ~= "") and ("(" .. label(r.dimension) .. ")") or ""
  return dim .. ": " .. effect(r)
end

-- A reason as one line of words: "audience_mismatch (community): -10 penalty".
local function reason_text(r)
  return tostring(r.code) .. " " .. reason_detail(r)
end
M.reason_text = reason_text

local function pct(n, total)
  if total == 0 then return "0%" end
  return num(100 * n / total, 0) .. "%"
end

local function run_title(run)
  return format("Run #%s", tostring(run.id))
end

-- A stored UTC time as people read it: "2026-11-01 09:00 UTC".
local function when(t)
  if type(t) ~= "string" then return "" end
  local d, hm = t:match("^(%d%d%d%d%-%d%d%-%d%d)T(%d%d:%d%d)")
  return d and (d .. " " .. hm .. " UTC") or t
end

local function run_subtitle(run)
  local bits = { "scorecard " .. tostring(run.scorecard) }
  if run.started_at then bits[#bits + 1] = when(run.started_at) end
  if run.status and run.status ~= "ok" then bits[#bits + 1] = "status " .. tostring(run.status) end
  if run.partners then bits[#bits + 1] = tostring(run.partners) .. " partners" end
  return concat(bits, " · ")
end

-- The charts of a report, each {name=file stem, title=, svg=}, in page order,
-- keyed as well by a role the renderers look up.
local function charts_for(data)
  local charts = {}
  local function add(role, name, title, chart)
    local c = { name = name, title = title, svg = chart }
    charts[#charts + 1] = c
    charts[role] = c
  end
  local dims = data.dimensions
  local on = #dims == 1 and ("its dimension, " .. label(dims[1])) or (#dims .. " dimensions")
  if data.report == "run" then
    add("median", "median", "Portfolio median", svg.profile{
      title = format("Portfolio median on the %s of scorecard %s", on, tostring(data.run.scorecard)),
      axes = dims, series = { { name = "Portfolio median", values = data.median } } })
    local items = {}
    for _, f in ipairs(data.flags) do
      items[#items + 1] = { label = f.code, value = f.partners, kind = f.outcome }
    end
    add("flags", "flags", "Red flags", svg.bars{
      title = "Red flags fired in " .. run_title(data.run),
      desc = #items == 0 and "No red flag fired in this run." or nil,
      items = items, unit = "partners flagged", empty = "no red flag fired" })
    for i, e in ipairs(data.partners) do
      if i > M.max_cards then break end
      add("radar" .. i, "profile-" .. i, display_name(e), svg.profile{
        title = "Dimensions of " .. display_name(e) .. " beside the portfolio median",
        axes = dims, series = { { name = display_name(e), values = e.dims },
                   { name = "Portfolio median", values = data.median } } })
    end
  elseif data.report == "partner" then
    local xs, total, marks = {}, {}, {}
    for i, h in ipairs(data.history) do
      xs[i] = "#" .. tostring(h.run_id)
      total[i] = h.total
      marks[i] = num(h.total) .. " " .. (verdict_mark[h.verdict] or "") .. " " .. tostring(h.verdict)
    end
    add("total", "total", "Total over runs", svg.lines{
      title = "Total score of " .. display_name(data.partner) .. " over runs",
      x = xs, width = 900, height = 260, series = { { name = "total", values = total, labels = marks } } })
    local series = {}
    for k, d in ipairs(dims) do
      local v = {}
      for i, h in ipairs(data.history) do v[i] = h.dims[d] end
      series[#series + 1] = { name = label(d), values = v,
        style = svg.palette[(k - 1) % #svg.palette + 1] }
    end
    for k = 1, #series, 4 do
      local part = { series[k], series[k + 1], series[k + 2], series[k + 3] }
      local names = {}
      for _, s in ipairs(part) do names[#names + 1] = s.name end
      add("dims" .. k, "dimensions-" .. ((k - 1) // 4 + 1), "Dimensions over runs",
        svg.lines{ title = "Dimensions of " .. display_name(data.partner) .. " over runs: " .. concat(names, ", "),
                   x = xs, series = part, right = 150 })
    end
  elseif data.report == "diff" then
    for i, c in ipairs(data.changed) do
      add("radar" .. i, "profile-" .. i, display_name(c), svg.profile{
        title = format("Dimensions of %s in run #%s and run #%s", display_name(c),
          tostring(data.a.id), tostring(data.b.id)),
        axes = dims, series = { { name = "run #" .. tostring(data.b.id), values = c.b.dims },
                   { name = "run #" .. tostring(data.a.id), values = c.a.dims } } })
    end
  end
  return charts
end

--}======================================================


--{======================================================
-- HTML
--=======================================================

-- The page's only styling. System fonts (no font is fetched), a grid that
-- folds to one column on a phone, and print rules that keep cards whole.
local CSS = [[
:root{--ink:#111827;--muted:#4b5563;--line:#e5e7eb;--bg:#f6f7f9;--card:#fff;
--approve:#1d7a46;--review:#a15c00;--reject:#b42318;--accent:#1f5fa8}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans Thai","Tlwg Typo","DejaVu Sans",sans-serif}
header{background:#0f2942;color:#fff;padding:28px 32px 24px}
header h1{margin:0 0 4px;font-size:26px;font-weight:700;letter-spacing:-.01em}
header p{margin:0;color:#c7d2e0}
header .kicker{text-transform:uppercase;letter-spacing:.08em;font-size:12px;color:#8fb3d9;margin-bottom:6px}
main{max-width:1180px;margin:0 auto;padding:24px 24px 48px}
h2{font-size:19px;margin:32px 0 12px}
h3{font-size:16px;margin:0 0 2px;overflow-wrap:anywhere}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px}
.tile{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px;border-top:5px solid var(--accent)}
.tile .n{font-size:32px;font-weight:700;line-height:1.1}
.tile .l{color:var(--muted);font-size:13px}
.tile.approve{border-top-color:var(--approve)}.tile.review{border-top-color:var(--review);border-top-style:dashed}
.tile.reject{border-top-color:var(--reject);border-top-style:double;border-top-width:6px}
.split{display:flex;height:14px;border-radius:7px;overflow:hidden;margin:14px 0 0;border:1px solid var(--line)}
.split span{display:block}
.split .approve{background:var(--approve)}
.split .review{background:repeating-linear-gradient(45deg,var(--review) 0 4px,#d08a2a 4px 8px)}
.split .reject{background:repeating-linear-gradient(90deg,var(--reject) 0 3px,#7f1d1d 3px 5px)}
.grid2{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1.5fr);gap:16px}
figure{margin:0;background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px}
figcaption{font-weight:600;margin-bottom:6px}
svg.chart{max-width:100%;height:auto;display:block;margin:0 auto}
svg.chart text{font-family:inherit}
.card ul.reasons{font-size:13px}
.tablewrap{overflow-x:auto;background:var(--card);border:1px solid var(--line);border-radius:10px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:8px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#f0f2f5;font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr:last-child td{border-bottom:0}
.who{font-weight:600;overflow-wrap:anywhere}
.sub{color:var(--muted);font-size:12px;overflow-wrap:anywhere}
.v{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:700;white-space:nowrap;border:1px solid}
.v-approve{color:var(--approve);background:#e8f5ee;border-color:#a7d7bb}
.v-review{color:var(--review);background:#fff4e0;border-color:#f0c987;border-style:dashed}
.v-reject{color:var(--reject);background:#fdecea;border-color:#f3aea6;border-style:double;border-width:3px}
.meter{display:inline-block;width:70px;height:8px;background:#e5e7eb;border-radius:4px;vertical-align:middle;margin-left:6px;overflow:hidden}
.meter i{display:block;height:100%;background:var(--accent)}
ul.reasons{margin:0;padding-left:18px}
ul.reasons li{margin:1px 0}
code{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12.5px;background:#f0f2f5;border-radius:4px;padding:0 4px;overflow-wrap:anywhere}
.flag{color:var(--reject);font-weight:600}
ul.reasons li.flag{list-style:none;margin-left:-14px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:14px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px;break-inside:avoid}
.card .head{display:flex;justify-content:space-between;gap:8px;align-items:flex-start;margin-bottom:6px}
.card .total{font-size:22px;font-weight:700;text-align:right;white-space:nowrap}
.card .total small{display:block;font-size:11px;font-weight:400;color:var(--muted)}
.side{display:grid;grid-template-columns:1fr 1fr;gap:8px}
.came{color:var(--reject)}.went{color:var(--approve)}
.note{color:var(--muted);font-size:13px}
footer{color:var(--muted);font-size:12px;text-align:center;padding:16px}
@media (max-width:700px){header{padding:20px 16px}main{padding:16px 12px 32px}.grid2{grid-template-columns:1fr}
.side{grid-template-columns:1fr}th,td{padding:6px}
table.ranked thead{display:none}
table.ranked tr{display:grid;grid-template-columns:2em minmax(0,1fr) auto;gap:4px 8px;padding:10px 8px;border-bottom:1px solid var(--line)}
table.ranked td{border:0;padding:0}table.ranked td.rank{text-align:left;font-weight:700}
table.ranked td.verdict,table.ranked td.why{grid-column:2/4}}
@media print{body{background:#fff;font-size:11pt}header{background:#fff;color:#000;border-bottom:2px solid #000;padding:0 0 8px}
header p,header .kicker{color:#333}main{max-width:none;padding:0}.tile,figure,.card,.tablewrap{border-color:#999}
.cards{display:block}.cards .card{display:inline-block;width:48.5%;margin:0 1% 10px 0;vertical-align:top}
.card svg.chart{max-width:60%}figure,.card,tr,.tile{break-inside:avoid}h2{break-after:avoid}
.tablewrap{overflow:visible}a{color:inherit;text-decoration:none}}
]]

local function verdict_badge(v)
  return format('<span class="v v-%s">%s %s</span>', esc(v), esc(verdict_mark[v] or ""), esc(v))
end

local function reasons_html(list, limit)
  if #list == 0 then return '<div class="note">nothing adverse</div>' end
  local out = { '<ul class="reasons">' }
  for i, r in ipairs(list) do
    if limit and i > limit then
      out[#out + 1] = format('<li class="note">and %d more</li>', #list - limit)
      break
    end
    -- Red flags are marked by a word and a sign as well as by colour.
    local flag = M.flag_outcomes[r.outcome]
    out[#out + 1] = format('<li%s>%s<code>%s</code> %s</li>', flag and ' class="flag"' or "",
      flag and '<span class="sign" title="red flag">⚑ </span>' or "", esc(r.code), esc(reason_detail(r)))
  end
  out[#out + 1] = "</ul>"
  return concat(out)
end

local function meter(total)
  if type(total) ~= "number" then return "" end
  local w = math.max(0, math.min(100, total))
  return format('<span class="meter" aria-hidden="true"><i style="width:%s%%"></i></span>', num(w))
end

local function who_html(e)
  local sub = { e.partner_id }
  if e.kind and e.kind ~= "" then sub[#sub + 1] = e.kind end
  return format('<div class="who">%s</div><div class="sub">%s</div>', esc(display_name(e)), esc(concat(sub, " · ")))
end

local function tiles_html(counts, total)
  local out = { '<div class="tiles">',
    format('<div class="tile"><div class="n">%d</div><div class="l">partners scored</div></div>', total) }
  for _, v in ipairs(verdict_order) do
    out[#out + 1] = format('<div class="tile %s"><div class="n">%s %d</div><div class="l">%s · %s</div></div>',
      v, verdict_mark[v], counts[v] or 0, v, pct(counts[v] or 0, total))
  end
  out[#out + 1] = "</div>"
  if total > 0 then
    local bar = { '<div class="split" role="img" aria-label="' }
    local words = {}
    for _, v in ipairs(verdict_order) do words[#words + 1] = format("%s %d", v, counts[v] or 0) end
    bar[#bar + 1] = esc("Verdicts: " .. concat(words, ", ")) .. '">'
    for _, v in ipairs(verdict_order) do
      if (counts[v] or 0) > 0 then
        bar[#bar + 1] = format('<span class="%s" style="width:%s%%"></span>', v, num(100 * counts[v] / total, 2))
      end
    end
    bar[#bar + 1] = "</div>"
    out[#out + 1] = concat(bar)
  end
  return concat(out, "\n")
end

local function figure(chart, caption)
  return format('<figure><figcaption>%s</figcaption>%s</figure>', esc(caption or chart.title), chart.svg)
end

local function html_run(data, charts, out)
  local list = data.partners
  insert(out, "<h2>Verdicts</h2>")
  insert(out, tiles_html(data.counts, data.scored))
  insert(out, '<h2>The portfolio</h2><div class="grid2">')
  insert(out, figure(charts.median, "Portfolio median" ..
    (data.median_total and (" · total " .. num(data.median_total)) or "")))
  insert(out, figure(charts.flags, "Red flags: partners flagged per flag"))
  insert(out, "</div>")
  insert(out, '<h2>Ranked partners</h2><div class="tablewrap"><table class="ranked">')
  insert(out, '<thead><tr><th class="num">#</th><th>Partner</th><th class="num">Total</th><th>Verdict</th>' ..
    '<th>Principal reasons and red flags</th></tr></thead><tbody>')
  for _, e in ipairs(list) do
    insert(out, format('<tr><td class="num rank">%d</td><td class="partner">%s</td><td class="num total">%s%s</td>' ..
      '<td class="verdict">%s</td><td class="why">%s</td></tr>',
      e.rank, who_html(e), esc(num(e.total)), meter(e.total), verdict_badge(e.verdict), reasons_html(e.reasons)))
  end
  if #list == 0 then insert(out, '<tr><td colspan="5" class="note">This run scored no partner.</td></tr>') end
  insert(out, "</tbody></table></div>")
  if data.scored > #list then
    insert(out, format('<p class="note">The first %d of %d partners by rank; the counts, medians and red flags ' ..
      'cover them all (vouch report --limit 0 lists every one).</p>', #list, data.scored))
  end
  if #list > 0 then
    insert(out, "<h2>Each partner beside the portfolio median</h2>")
    if #list > M.max_cards then
      insert(out, format('<p class="note">The first %d partners by rank, of the %d in the table above.</p>',
        M.max_cards, #list))
    end
    insert(out, '<div class="cards">')
    for i, e in ipairs(list) do
      if i > M.max_cards then break end
      insert(out, format('<article class="card"><div class="head"><div><h3>%d. %s</h3><div class="sub">%s</div>%s</div>' ..
        '<div class="total">%s<small>total</small></div></div>%s%s</article>',
        e.rank, esc(display_name(e)), esc(e.partner_id .. (e.kind and (" · " .. e.kind) or "")),
        verdict_badge(e.verdict), esc(num(e.total)), charts["radar" .. i].svg, reasons_html(e.reasons, 4)))
    end
    insert(out, "</div>")
  end
end

local function html_partner(data, charts, out)
  local h = data.history
  local last = h[#h]
  insert(out, "<h2>Now</h2>")
  insert(out, format('<div class="tiles"><div class="tile"><div class="n">%s</div><div class="l">total in run #%s</div></div>' ..
    '<div class="tile %s"><div class="n">%s</div><div class="l">verdict</div></div>' ..
    '<div class="tile"><div class="n">%d</div><div class="l">runs scored it</div></div></div>',
    esc(num(last.total)), esc(last.run_id), esc(last.verdict), verdict_badge(last.verdict), #h))
  insert(out, "<h2>Over time</h2>")
  insert(out, figure(charts.total))
  insert(out, '<div class="grid2" style="grid-template-columns:1fr 1fr;margin-top:16px">')
  for k = 1, #data.dimensions, 4 do insert(out, figure(charts["dims" .. k])) end
  insert(out, "</div>")
  insert(out, '<h2>Runs</h2><div class="tablewrap"><table><thead><tr><th>Run</th><th>Scorecard</th>' ..
    '<th class="num">Total</th><th>Verdict</th><th>Principal reasons and red flags</th></tr></thead><tbody>')
  for _, e in ipairs(h) do
    insert(out, format('<tr><td>#%s<div class="sub">%s</div></td><td>%s</td><td class="num">%s</td><td>%s</td><td>%s</td></tr>',
      esc(e.run_id), esc(when(e.started_at)), esc(e.scorecard or ""), esc(num(e.total)),
      verdict_badge(e.verdict), reasons_html(e.reasons)))
  end
  insert(out, "</tbody></table></div>")
  insert(out, "<h2>Reasons that came and went</h2>")
  if #data.changes == 0 then
    insert(out, '<p class="note">One run only: nothing to compare yet.</p>')
  else
    insert(out, '<div class="tablewrap"><table><thead><tr><th>Between</th><th>Verdict</th><th>Came</th><th>Went</th></tr></thead><tbody>')
    for _, c in ipairs(data.changes) do
      local function lst(l, cls, sign)
        if #l == 0 then return '<span class="note">none</span>' end
        local items = {}
        for _, r in ipairs(l) do
          items[#items + 1] = format('<li class="%s">%s <code>%s</code> %s</li>', cls, sign, esc(r.code),
            esc(reason_detail(r)))
        end
        return '<ul class="reasons">' .. concat(items) .. "</ul>"
      end
      insert(out, format('<tr><td>#%s → #%s</td><td>%s%s</td><td>%s</td><td>%s</td></tr>',
        esc(c.from), esc(c.to), verdict_badge(c.verdict_from),
        c.verdict_to ~= c.verdict_from and (" → " .. verdict_badge(c.verdict_to)) or "",
        lst(c.came, "came", "+"), lst(c.went, "went", "−")))
    end
    insert(out, "</tbody></table></div>")
  end
end

local function html_diff(data, charts, out)
  local a, b = tostring(data.a.id), tostring(data.b.id)
  insert(out, format("<h2>Verdicts in run #%s and run #%s</h2>", esc(a), esc(b)))
  insert(out, '<div class="tablewrap"><table><thead><tr><th>Verdict</th>' ..
    format('<th class="num">Run #%s</th><th class="num">Run #%s</th><th class="num">Change</th></tr></thead><tbody>', esc(a), esc(b)))
  for _, v in ipairs(verdict_order) do
    local x, y = data.counts_a[v] or 0, data.counts_b[v] or 0
    insert(out, format('<tr><td>%s</td><td class="num">%d</td><td class="num">%d</td><td class="num">%s%d</td></tr>',
      verdict_badge(v), x, y, y - x > 0 and "+" or "", y - x))
  end
  insert(out, "</tbody></table></div>")
  insert(out, format('<p class="note">%d partners changed verdict, %d kept it; %d only in run #%s, %d only in run #%s.</p>',
    data.changed_count, data.unchanged, data.only_a_count, esc(a), data.only_b_count, esc(b)))
  if data.changed_count > #data.changed then
    insert(out, format('<p class="note">The %d most serious changes are shown below.</p>', #data.changed))
  end
  insert(out, "<h2>Partners that changed verdict</h2>")
  if #data.changed == 0 then
    insert(out, '<p class="note">No partner changed verdict.</p>')
  else
    insert(out, format('<div class="tablewrap"><table><thead><tr><th>Partner</th><th>Run #%s</th><th>Run #%s</th>' ..
      '<th class="num">Total moved</th></tr></thead><tbody>', esc(a), esc(b)))
    for _, c in ipairs(data.changed) do
      insert(out, format('<tr><td>%s</td><td>%s <b>%s</b>%s</td><td>%s <b>%s</b>%s</td><td class="num">%s</td></tr>',
        who_html(c), verdict_badge(c.a.verdict), esc(num(c.a.total)), reasons_html(c.a.reasons),
        verdict_badge(c.b.verdict), esc(num(c.b.total)), reasons_html(c.b.reasons),
        c.delta and esc((c.delta > 0 and "+" or "") .. num(c.delta)) or "n/a"))
    end
    insert(out, "</tbody></table></div>")
    insert(out, '<h2>Side by side</h2><div class="cards">')
    for i, c in ipairs(data.changed) do
      insert(out, format('<article class="card"><div class="head"><div><h3>%s</h3><div class="sub">%s</div></div></div>' ..
        '<div class="side"><div>#%s %s</div><div>#%s %s</div></div>%s</article>',
        esc(display_name(c)), esc(c.partner_id), esc(a), verdict_badge(c.a.verdict), esc(b),
        verdict_badge(c.b.verdict), charts["radar" .. i].svg))
    end
    insert(out, "</div>")
  end
end

local function heading(data)
  if data.report == "run" then
    return "Partner vetting report", run_title(data.run), run_subtitle(data.run)
  elseif data.report == "partner" then
    local p = data.partner
    return "Partner history", display_name(p),
      p.partner_id .. (p.kind and (" · " .. p.kind) or "") .. " · " .. #data.history .. " runs"
  else
    return "Run comparison", format("Run #%s → run #%s", tostring(data.a.id), tostring(data.b.id)),
      tostring(data.a.scorecard) .. " → " .. tostring(data.b.scorecard)
  end
end

-- The page's Content-Security-Policy: nothing is fetched, nothing runs.
local CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

--- An HTML page in the reports' style around `body` (an array of HTML
--- strings, already escaped): `kicker`, `title` and `sub` are text for
--- its header. `opts.generated_at` is printed in the footer (default: now,
--- UTC); `opts.nav` is HTML put between the header and the content;
--- `opts.script` names a script of the page's own origin, which the
--- policy then allows (the workbench's; a report has none).
function M.page(kicker, title, sub, body, opts)
  opts = opts or {}
  local csp = CSP .. (opts.script and "; script-src 'self'; connect-src 'self'; form-action 'self'" or "")
  local out = {
    "<!DOCTYPE html>",
    '<html lang="en"><head><meta charset="utf-8">',
    format('<meta http-equiv="Content-Security-Policy" content="%s">', csp),
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    format("<title>%s · %s</title>", esc(kicker), esc(title)),
    "<style>" .. CSS .. (opts.css or "") .. "</style>",
  }
  if opts.script then insert(out, format('<script src="%s" defer></script>', esc(opts.script))) end
  insert(out, "</head><body>")
  insert(out, format('<header><div class="kicker">%s</div><h1>%s</h1><p>%s</p></header>', esc(kicker), esc(title), esc(sub)))
  if opts.nav then insert(out, opts.nav) end
  insert(out, "<main>")
  for _, part in ipairs(body) do insert(out, part) end
  insert(out, "</main>")
  insert(out, format("<footer>vouch %s · generated %s</footer>", esc(vouch and vouch.version or ""),
    esc(opts.generated_at or os.date("!%Y-%m-%dT%H:%M:%SZ"))))
  insert(out, "</body></html>")
  return concat(out, "\n") .. "\n"
end

--- The sections of the page of a run, a partner or a diff (`data` as M.run,
--- M.partner and M.diff make it): an array of HTML strings, and its
--- header's kicker, title and subtitle.
function M.sections(data)
  argcheck(type(data) == "table" and data.report, 1, "sections", "report data expected")
  local charts, out = charts_for(data), {}
  if data.report == "run" then html_run(data, charts, out)
  elseif data.report == "partner" then html_partner(data, charts, out)
  else html_diff(data, charts, out) end
  return out, heading(data)
end

--- The report as one self-contained HTML page: inline CSS and SVG, no
--- script, and a Content-Security-Policy that forbids fetching anything,
--- so the page shows the same offline, on a phone and on paper.
--- `opts.generated_at` is printed in the footer (default: now, UTC).
function M.html(data, opts)
  argcheck(type(data) == "table" and data.report, 1, "html", "report data expected")
  local body, kicker, title, sub = M.sections(data)
  return M.page(kicker, title, sub, body, opts)
end

--- The pieces pages are made of, for other pages in the same style (the
--- workbench of `vouch serve`): each returns HTML with the data escaped.
M.parts = { badge = verdict_badge, reasons = reasons_html, who = who_html, tiles = tiles_html,
            figure = figure, meter = meter, when = when, name = display_name, pct = pct }

--}======================================================


--{======================================================
-- Markdown
--=======================================================

--- Make text safe in a Markdown table cell or paragraph (never at the start
--- of a line, where '#' and '-' would matter): markup characters are
--- backslash-escaped, HTML's three become entities (Markdown passes raw
--- HTML through), and line breaks become spaces so a cell stays one line.
function M.md_escape(s)
  s = esc(s):gsub("&quot;", '"'):gsub("&#39;", "'")
  s = gsub(s, "[\r\n\t]+", " ")
  return (gsub(s, "([\\`*_{}%[%]|~])", "\\%1"))
end
local mde = M.md_escape

local function md_reasons(list)
  if #list == 0 then return "nothing adverse" end
  local out = {}
  for _, r in ipairs(list) do
    out[#out + 1] = (M.flag_outcomes[r.outcome] and "⚑ " or "") ..
      "`" .. gsub(esc(r.code), "[`|]", "") .. "` " .. mde(reason_detail(r))
  end
  return concat(out, "; ")
end

local function md_verdict(v) return (verdict_mark[v] or "") .. " " .. mde(v) end

--- The report as Markdown. Returns the text and the charts it links to, an
--- array of {file=, svg=} (standalone SVG documents); `opts.charts_dir`
--- is the folder the links point into, relative to the Markdown file. With
--- `opts.charts_dir` false the charts are left out.
function M.markdown(data, opts)
  argcheck(type(data) == "table" and data.report, 1, "markdown", "report data expected")
  opts = opts or {}
  local dir = opts.charts_dir
  local charts = charts_for(data)
  local files = array()
  local kicker, title, sub = heading(data)
  local out = { "# " .. mde(kicker) .. ": " .. mde(title), "", "_" .. mde(sub) .. "_", "" }
  local function img(chart)
    if not dir then return end
    local file = chart.name .. ".svg"
    files[#files + 1] = { file = file, svg = svg.document(chart.svg) }
    -- Only our own file names go into the link; the alt text is escaped.
    insert(out, format("![%s](%s/%s)", mde(chart.title), dir, file))
    insert(out, "")
  end
  if data.report == "run" then
    local n = data.scored
    insert(out, "## Verdicts")
    insert(out, "")
    insert(out, "| verdict | partners | share |")
    insert(out, "|---|---:|---:|")
    for _, v in ipairs(verdict_order) do
      insert(out, format("| %s | %d | %s |", md_verdict(v), data.counts[v] or 0, pct(data.counts[v] or 0, n)))
    end
    insert(out, format("| all | %d | 100%% |", n))
    insert(out, "")
    insert(out, "## The portfolio")
    insert(out, "")
    img(charts.median)
    insert(out, "| dimension | median |")
    insert(out, "|---|---:|")
    for _, d in ipairs(data.dimensions) do insert(out, format("| %s | %s |", mde(label(d)), num(data.median[d]))) end
    insert(out, "")
    insert(out, "### Red flags")
    insert(out, "")
    img(charts.flags)
    if #data.flags == 0 then insert(out, "No red flag fired.") else
      insert(out, "| flag | kind | partners |")
      insert(out, "|---|---|---:|")
      for _, f in ipairs(data.flags) do
        insert(out, format("| `%s` | %s | %d |", gsub(esc(f.code), "[`|]", ""), mde(f.outcome), f.partners))
      end
    end
    insert(out, "")
    insert(out, "## Ranked partners")
    insert(out, "")
    insert(out, "| # | partner | id | kind | total | verdict | principal reasons and red flags |")
    insert(out, "|---:|---|---|---|---:|---|---|")
    for _, e in ipairs(data.partners) do
      insert(out, format("| %d | %s | %s | %s | %s | %s | %s |", e.rank, mde(display_name(e)), mde(e.partner_id),
        mde(e.kind or ""), num(e.total), md_verdict(e.verdict), md_reasons(e.reasons)))
    end
    insert(out, "")
    if n > #data.partners then
      insert(out, format("The first %d of %d partners by rank; the counts, medians and red flags cover them all.",
        #data.partners, n))
      insert(out, "")
    end
    if dir and #data.partners > 0 then
      insert(out, "## Each partner beside the portfolio median")
      insert(out, "")
      for i, e in ipairs(data.partners) do
        if i > M.max_cards then break end
        insert(out, format("### %d. %s (%s, %s)", i, mde(display_name(e)), md_verdict(e.verdict), num(e.total)))
        insert(out, "")
        img(charts["radar" .. i])
      end
    end
  elseif data.report == "partner" then
    insert(out, "## Over time")
    insert(out, "")
    img(charts.total)
    for k = 1, #data.dimensions, 4 do img(charts["dims" .. k]) end
    local head = { "run", "started", "total", "verdict" }
    for _, d in ipairs(data.dimensions) do head[#head + 1] = mde(label(d)) end
    insert(out, "| " .. concat(head, " | ") .. " |")
    insert(out, "|" .. rep("---|", 2) .. rep("---:|", 1) .. "---|" .. rep("---:|", #data.dimensions))
    for _, h in ipairs(data.history) do
      local row = { "#" .. tostring(h.run_id), mde(when(h.started_at)), num(h.total), md_verdict(h.verdict) }
      for _, d in ipairs(data.dimensions) do row[#row + 1] = num(h.dims[d]) end
      insert(out, "| " .. concat(row, " | ") .. " |")
    end
    insert(out, "")
    insert(out, "## Reasons that came and went")
    insert(out, "")
    if #data.changes == 0 then insert(out, "One run only: nothing to compare yet.") else
      insert(out, "| between | verdict | came | went |")
      insert(out, "|---|---|---|---|")
      for _, c in ipairs(data.changes) do
        insert(out, format("| #%s → #%s | %s%s | %s | %s |", tostring(c.from), tostring(c.to), md_verdict(c.verdict_from),
          c.verdict_to ~= c.verdict_from and (" → " .. md_verdict(c.verdict_to)) or "",
          #c.came > 0 and md_reasons(c.came) or "none", #c.went > 0 and md_reasons(c.went) or "none"))
      end
    end
    insert(out, "")
  else
    local a, b = tostring(data.a.id), tostring(data.b.id)
    insert(out, "## Verdicts")
    insert(out, "")
    insert(out, format("| verdict | run #%s | run #%s |", a, b))
    insert(out, "|---|---:|---:|")
    for _, v in ipairs(verdict_order) do
      insert(out, format("| %s | %d | %d |", md_verdict(v), data.counts_a[v] or 0, data.counts_b[v] or 0))
    end
    insert(out, "")
    insert(out, format("%d partners changed verdict, %d kept it; %d only in run #%s, %d only in run #%s.",
      data.changed_count, data.unchanged, data.only_a_count, a, data.only_b_count, b))
    insert(out, "")
    insert(out, "## Partners that changed verdict")
    insert(out, "")
    if #data.changed == 0 then insert(out, "No partner changed verdict.") else
      insert(out, format("| partner | run #%s | run #%s | total moved |", a, b))
      insert(out, "|---|---|---|---:|")
      for _, c in ipairs(data.changed) do
        insert(out, format("| %s (%s) | %s %s: %s | %s %s: %s | %s |", mde(display_name(c)), mde(c.partner_id),
          md_verdict(c.a.verdict), num(c.a.total), md_reasons(c.a.reasons),
          md_verdict(c.b.verdict), num(c.b.total), md_reasons(c.b.reasons),
          c.delta and ((c.delta > 0 and "+" or "") .. num(c.delta)) or "n/a"))
      end
      insert(out, "")
      for i, c in ipairs(data.changed) do
        if dir then
          insert(out, format("### %s", mde(display_name(c))))
          insert(out, "")
          img(charts["radar" .. i])
        end
      end
    end
    insert(out, "")
  end
  if not dir then
    insert(out, "_Charts are written as SVG files beside the report when it is saved with --out FILE._")
    insert(out, "")
  end
  return concat(out, "\n"), files
end

--}======================================================

return M

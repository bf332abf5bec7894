-- vet.lua: `vouch vet DATA... [--rules SCRIPT] [--format table|json|csv|xlsx]`.
-- Load the partners, score them with a scorecard, store the run, and print
-- the partners ranked (approvals, reviews, rejections, each by total) with
-- their principal reasons.
--
-- One pass: each partner is loaded, scored and stored in batches as it is
-- read, and the ranking is read back from the database afterwards, so the
-- memory a run takes does not grow with the partners it scores. Without a
-- database (--no-store) the table keeps only the top and the bottom of the
-- ranking as it goes.
local sc = require "vouch.scorecard"
local cli = require "vouch.scorecard.cli"

local format, concat = string.format, table.concat

local TOP = 20   -- partners shown from each end of the ranking by default

-- Lines for stdout, written 256 at a time: print flushes every line (a
-- write call each), and a piped run prints a line a partner.
local pending, npending = {}, 0
local function flush_lines()
  if npending > 0 then
    vouch.file.stdout(concat(pending, "\n", 1, npending) .. "\n")
    npending = 0
  end
end
local function put_line(s)
  npending = npending + 1
  pending[npending] = s
  if npending == 256 then flush_lines() end
end
local progress_line



local HEADER = { "#", "partner", "name", "kind", "total", "verdict", "weakest", "principal reasons" }
local RIGHT = { [1] = true, [5] = true }

-- The ranking is the scorecard library's.
local ORDER_SQL = " " .. sc.rank_sql("s")
local before = sc.ranks_before



--[[ {======================================================
  The table: columns sized over what is printed, in two passes
========================================================]]

-- `lines(f)` calls f(cells) for each line of the table in order, f(nil)
-- for the gap between the top and the bottom of the ranking; it is called
-- twice (widths, then printing), so no line is held. `body(w)`, when
-- given, prints the lines itself where nothing is styled (a piped run:
-- every partner), with the widths `w`, laid out as `lines` would be.
local function print_table(lines, measure, body)
  local w = {}
  for c, h in ipairs(HEADER) do w[c] = cli.width(h) end
  local ulen = utf8.len
  ;(measure or lines)(function(cells)
    if not cells then return end
    for c, v in ipairs(cells) do
      local n = (not v:find("%c") and ulen(v)) or cli.width(v)
      if n > w[c] then w[c] = n end
    end
  end)
  -- Each cell escaped and padded once, in a few calls: a piped run prints
  -- every partner, so this is done a million times. A line of printable
  -- ASCII (the common case) is one concat of its cells and cached pads.
  -- On a terminal the table fits its width (the widest columns cut) and
  -- verdicts are coloured, as every table of the command line is.
  local limit, color = cli.term()
  if limit > 0 then cli.fit(w, HEADER, limit - 1, 2, 0) end
  local styled = limit > 0 or color
  local ncols, rep, cell, find = #HEADER, string.rep, cli.cell, string.find
  local pads = setmetatable({}, { __index = function(t, n)
    local pad = rep(" ", n); t[n] = pad; return pad end })
  local out, parts = {}, {}
  local function text_of(r, sgr)
    local text
    if #r == ncols and not styled then
      for c = 1, ncols do
        local v, k = r[c], 3 * c
        local n = w[c] - #v
        if c == ncols then parts[k - 2], parts[k] = "", ""
        elseif RIGHT[c] then parts[k - 2], parts[k] = pads[n], "  "
        else parts[k - 2], parts[k] = "", pads[n + 2] end
        parts[k - 1] = v
      end
      if r[ncols] == "" and not RIGHT[ncols - 1] then parts[3 * ncols - 3] = "" end
      text = concat(parts)
      if find(text, "[^ -~]") then text = nil end
    end
    if not text then
      for c = 1, ncols do
        local v = r[c] or ""
        if v:find("%c") then v = cell(v) end
        local n = ulen(v) or #v
        if limit > 0 and n > w[c] and #r == ncols then v = cli.cut(v, w[c]); n = cli.width(v) end
        local code = color and (sgr or (c == 6 and cli.COLORS[v]))
        local shown = code and ("\27[" .. code .. "m" .. v .. "\27[0m") or v
        if c == ncols then out[c] = shown
        elseif RIGHT[c] then out[c] = rep(" ", w[c] - n) .. shown
        else out[c] = shown .. rep(" ", w[c] - n) end
      end
      text = concat(out, "  ", 1, ncols)
    end
    if text:byte(-1) == 32 then text = text:match("^(.-)%s+$") end
    return text
  end
  local function line(r, sgr) put_line(text_of(r, sgr)) end
  line(HEADER, "1")
  local rule = {}
  for c = 1, #HEADER do rule[c] = string.rep("-", w[c]) end
  line(rule)
  if body and not styled then
    flush_lines()
    body(w)
  else
    lines(function(cells) line(cells or { "..." }) end)
  end
  flush_lines()
end

-- Every line of a table whose cells SQL gives in order (`sql`, with its
-- parameters), laid out by the host with the widths `w` (db:print).
-- SQLite sorts rows too many for memory in pieces the size of its page
-- cache, which it then merges: one worker thread sorts and writes a piece
-- while the next is read, and with pieces half the cache's size the two
-- take the memory one piece took.
local function print_sorted(db, w, sql, ...)
  local widths, right = {}, {}
  for c = 2, #HEADER do widths[c - 1], right[c - 1] = w[c], RIGHT[c] end
  local cache = db:one("PRAGMA cache_size").cache_size
  local threads = db:one("PRAGMA threads").threads
  db:exec("PRAGMA threads = 1")
  db:exec(format("PRAGMA cache_size = %d", cache // 2))
  db:print(sql, { number = w[1], widths = widths, right = right }, ...)
  db:exec(format("PRAGMA threads = %d", threads))
  db:exec(format("PRAGMA cache_size = %d", cache))
end

-- A name of at most 28 bytes and no control character is shown as it is.
local function short_name(name)
  name = name or ""
  if #name > 28 or name:find("%c") then return cli.cut(name, 28) end
  return name
end

local function cells(i, c)
  return { tostring(i), c.id, short_name(c.name), c.kind or "",
           c.total and format("%.1f", c.total) or "-", c.verdict, c.weakest or "-",
           c.reasons or "" }
end

local function print_summary(run_id, card, summary, shown)
  print(format("\n%s%d partners: %d approve, %d review, %d reject (scorecard %s)",
               run_id and format("run %d: ", run_id) or "", summary.partners,
               summary.approve, summary.review, summary.reject, card.name))
  if shown < summary.partners then
    print(format("shown: the first and the last %d of the ranking (--all shows every partner)",
                 shown // 2))
  end
  if run_id then print(format("explain one: vouch %sexplain PARTNER --run %d",
                                       require("vouch.cmd.commands").db_arg(), run_id)) end
end

-- The ranked table of a stored run, read back from the database: every
-- partner, or the first and the last `top` of the ranking. A row's
-- principal reasons are the first of its stored reasons (those with a
-- rank); its weakest dimension is the first of the lowest of its `dims`.
local CODES_SQL = "coalesce(reason_codes(s.reasons), '')"

local function quote(s) return "'" .. s:gsub("'", "''") .. "'" end

local function table_from_db(db, run_id, card, summary, top)
  local n = summary.partners
  local parts = { { 0, n } }
  if top and n > 2 * top then parts = { { 0, top }, false, { n - top, top } } end
  local cols = "s.partner_id, s.name, s.kind, s.total, s.verdict, " .. CODES_SQL ..
               " AS codes, json_argmin(s.dims) AS weakest"
  -- The ends of the ranking: only the keys are sorted, and the few rows
  -- shown are read by key. Every row: the rows shown are sorted as they
  -- are read (in order, from a sort on disk where they do not fit in
  -- memory), not looked up one by one all over the file.
  local sql = "SELECT " .. cols .. " FROM scores s WHERE s.run_id = ?1" .. ORDER_SQL ..
              " LIMIT ?2 OFFSET ?3"
  if parts[3] then
    sql = "SELECT " .. cols .. " FROM (SELECT s.partner_id FROM scores s WHERE s.run_id = ?1" ..
          ORDER_SQL .. " LIMIT ?2 OFFSET ?3) k CROSS JOIN scores s ON s.run_id = ?1 AND " ..
          "s.partner_id = k.partner_id"
  end
  local names = card.dimension_list
  local function cells_of(i, row)
    local total = row.total
    return { tostring(i), tostring(row.partner_id), short_name(row.name), row.kind or "",
             total and format("%.1f", total) or "-", row.verdict,
             row.weakest and names[row.weakest + 1] or "-", row.codes }
  end
  local function each(f)
    for _, part in ipairs(parts) do
      if not part then f(nil)
      else
        local i = part[1]
        for row in db:rows(sql, run_id, part[2], part[1]) do
          i = i + 1
          f(cells_of(i, row))
        end
      end
    end
  end
  -- The ends of a long ranking, as few as a screen shows: each end is the
  -- first `top` of an order (the bottom's reversed), which SQLite keeps in
  -- a small heap rather than sorting the run; read once, printed twice.
  if parts[3] and top <= 5000 then
    local shown = {}
    local keys = "(SELECT s.partner_id FROM scores s WHERE s.run_id = ?1 %s LIMIT ?2) k"
    local function read(order)
      local list = {}
      for row in db:rows("SELECT " .. cols .. " FROM " .. format(keys, order) ..
                         " CROSS JOIN scores s ON s.run_id = ?1 AND s.partner_id = k.partner_id",
                         run_id, top) do
        list[#list + 1] = row
      end
      return list
    end
    for i, row in ipairs(read(ORDER_SQL)) do shown[#shown + 1] = cells_of(i, row) end
    shown[#shown + 1] = false
    local bottom = read(" " .. sc.rank_sql("s", nil, true))
    for k = #bottom, 1, -1 do shown[#shown + 1] = cells_of(n - k + 1, bottom[k]) end
    each = function(f)
      for _, c in ipairs(shown) do f(c or nil) end
    end
  end
  -- The widths of every partner's cells: as the run stored them (the
  -- host kept the widest, db:run_end), else measured by SQL in one pass
  -- (cell_width and cell_cut are cli.width and cli.cut); neither the order
  -- nor the reasons matter for them (the reasons are last).
  local function measure(f)
    if parts[3] then return each(f) end
    local dimw = 0
    for _, d in ipairs(card.dimension_list) do dimw = math.max(dimw, cli.width(d)) end
    local m = summary.cells or
              db:one("SELECT max(cell_width(partner_id)) AS id, " ..
                     "max(cell_width(cell_cut(name, 28))) AS name, max(cell_width(kind)) AS kind " ..
                     "FROM scores s WHERE s.run_id = ?", run_id)
    local rep = string.rep
    f({ tostring(n), rep("x", m.id or 0), rep("x", m.name or 0), rep("x", m.kind or 0),
        "100.0", "approve", rep("-", dimw), "" })
  end
  -- Every partner, piped: SQL sorts each row's cells, the host lays them
  -- out and writes them (db:print), the number first.
  local function body(w)
    local weakest = { "CASE json_argmin(s.dims)" }
    for k, d in ipairs(names) do weakest[#weakest + 1] = format("WHEN %d THEN %s", k - 1, quote(d)) end
    weakest[#weakest + 1] = "ELSE '-' END"
    print_sorted(db, w, "SELECT s.partner_id, cell_cut(s.name, 28), s.kind, " ..
                 "coalesce(fixed(s.total, 1), '-'), s.verdict, " .. concat(weakest, " ") .. ", " ..
                 CODES_SQL .. " FROM scores s WHERE s.run_id = ?1" .. ORDER_SQL, run_id)
  end
  print_table(each, measure, not parts[3] and body or nil)
  print_summary(run_id, card, summary, parts[3] and 2 * top or n)
end

--[[ }====================================================== ]]


--[[ {======================================================
  JSON and CSV: one partner at a time
========================================================]]

local function csv_header(dims)
  local header = { "rank", "run", "partner_id", "name", "kind", "total", "verdict", "weakest" }
  for _, d in ipairs(dims) do header[#header + 1] = d end
  header[#header + 1] = "reasons"
  header[#header + 1] = "outcomes"
  print(concat(header, ","))
end

-- One CSV line: `p` has id, name, kind, total, verdict, weakest, dimensions;
-- `outcomes` are its outcomes (code, outcome, points, rank) in rule order.
local function csv_line(dims, i, run_id, p, outcomes)
  local row = { i, run_id or "", p.id, p.name, p.kind,
                p.total and format("%.6f", p.total) or "", p.verdict, p.weakest or "" }
  for _, d in ipairs(dims) do
    row[#row + 1] = p.dimensions[d] and format("%.6f", p.dimensions[d]) or ""
  end
  local reasons, all = {}, {}
  for k, o in ipairs(outcomes) do
    if o.rank then reasons[o.rank] = o.code end
    all[k] = o.code .. ":" .. o.outcome .. (o.points and format(":%g", o.points) or "")
  end
  row[#row + 1] = concat(reasons, ";")
  row[#row + 1] = concat(all, ";")
  for k = 1, #row do row[k] = cli.csv_field(row[k]) end
  return concat(row, ",")
end

local function clean_outcome(o)
  return { code = o.code, dimension = o.dimension, outcome = o.outcome,
           points = o.points, rank = o.rank, text = o.text, evidence = o.evidence }
end

-- One partner of the JSON array, its rank first.
local function json_item(i, p, outcomes)
  local reasons, all = {}, {}
  for k, o in ipairs(outcomes) do
    local c = clean_outcome(o)
    all[k] = c
    if o.rank then reasons[o.rank] = c end
  end
  local text = sc.json { id = p.id, name = p.name, kind = p.kind, total = p.total,
                         verdict = p.verdict, weakest = p.weakest, missing = p.missing,
                         dimensions = p.dimensions, reasons = sc.array(reasons),
                         outcomes = sc.array(all) }
  return format('{"rank":%d,%s', i, text:sub(2))
end

-- Print every partner of a stored run as JSON or CSV, read back from the
-- database in ranked order, one partner at a time.
local function rows_from_db(db, run_id, card, fmt)
  local dims = require("vouch.record").dimensions(db, run_id)
  local scores = "SELECT s.*, i.vals, l.columns FROM scores s LEFT JOIN inputs i ON " ..
                 "i.load_id = s.load_id AND i.row = s.row LEFT JOIN loads l ON l.id = s.load_id " ..
                 "WHERE s.run_id = ?" .. ORDER_SQL
  local i = 0
  if fmt == "json" then
    print(format('{"run":%d,"scorecard":%s,"partners":[', run_id, sc.json(card.name)))
  else
    csv_header(dims)
  end
  for row in db:rows(scores, run_id) do
    i = i + 1
    -- Every outcome, replayed from the partner's stored input row.
    local stored = sc.stored(row, dims)
    local p = sc.input(row.vals, row.columns)
    local res = p and card:replay(p, stored) or stored
    local outcomes = res.outcomes or stored.reasons
    res.id = stored.id
    if fmt == "json" then put_line((i > 1 and "," or "") .. json_item(i, res, outcomes))
    else put_line(csv_line(dims, i, run_id, res, outcomes)) end
  end
  flush_lines()
  if fmt == "json" then print("]}") end
end

--[[ }====================================================== ]]


--[[ {======================================================
  Without a database: the ends of the ranking as they go
========================================================]]

-- Keeps the first `n` and the last `n` of the ranking of what it is given,
-- each list in ranked order: at most 2n entries, however many are seen.
local function ends(n)
  local first, last = {}, {}
  local function add(x)
    if #first < n or before(x, first[#first]) then
      local k = #first + 1
      while k > 1 and before(x, first[k - 1]) do first[k] = first[k - 1]; k = k - 1 end
      first[k] = x
      if #first > n then first[#first] = nil end
    end
    if #last < n or before(last[1], x) then
      local k = #last + 1
      while k > 1 and before(x, last[k - 1]) do last[k] = last[k - 1]; k = k - 1 end
      last[k] = x
      if #last > n then table.remove(last, 1) end
    end
  end
  return add, first, last
end

-- What the table keeps of a partner.
local function compact(res)
  local codes = {}
  for k, o in ipairs(res.reasons) do codes[k] = o.code end
  return { id = tostring(res.id), name = res.name, kind = res.kind, total = res.total,
           verdict = res.verdict, weakest = res.weakest, reasons = concat(codes, ", ") }
end

-- compact() of a partner's row as card:run gives it to opts.row, as
-- values: its weakest dimension is the first of the lowest, its principal
-- reasons the ranked ones at the head of the list.
local function row_values(dims)
  local codes, huge = {}, math.huge
  return function(id, name, kind, total, verdict, dv, rv, n)
    local weakest, low = nil, huge
    for k = 1, #dims do
      local v = dv[k]
      if v and v < low then weakest, low = dims[k], v end
    end
    local m = 0
    while m < n and rv[5 * m + 4] do m = m + 1; codes[m] = rv[5 * m - 4] end
    return id, name, kind, total, verdict, weakest, concat(codes, ", ", 1, m)
  end
end

local function no_store(card, rows, fmt, top, progress)
  local values = row_values(card.dimension_list)
  if fmt == "table" and top then
    local add, first, last = ends(top)
    local function keep(id, name, kind, total, verdict, weakest, reasons)
      add { id = id, name = name, kind = kind, total = total, verdict = verdict,
            weakest = weakest, reasons = reasons }
    end
    local _, summary = card:run { store = false, rows = rows, progress = progress,
                                  row = function(...) keep(values(...)) end }
    local n = summary.partners
    print_table(function(f)
      for i, c in ipairs(first) do f(cells(i, c)) end
      if n > 2 * top then f(nil) end
      -- The last entries not already among the first.
      local from = math.max(1, #last - (n - #first) + 1)
      for k = from, #last do f(cells(n - #last + k, last[k])) end
    end)
    print_summary(nil, card, summary, n > 2 * top and 2 * top or n)
    return
  end
  -- Every partner is printed in ranked order: each waits, as its line of
  -- text and the little it is ranked by, in a private temporary database
  -- on disk, which sorts them in bounded memory however many there are.
  local tmp <close> = vouch.db.open("")
  tmp:exec("CREATE TABLE held(id TEXT, name TEXT, kind TEXT, total REAL, verdict TEXT, " ..
           "weakest TEXT, reasons TEXT, line TEXT)")
  local hold = sc.inserter(tmp, "held", 8)
  local _, summary
  tmp:tx(function()
    if fmt == "table" then   -- the row alone: no partner is explained in full
      _, summary = card:run { store = false, rows = rows, progress = progress,
                              row = function(...) hold.add(values(...)) end }
    else
      _, summary = card:run { store = false, rows = rows, text = true, progress = progress,
        each = function(res)
          local c, line = compact(res), nil
          if fmt == "json" then
            line = json_item(0, res, res.outcomes):sub(#'{"rank":0,' + 1)
          else
            line = csv_line(card.dimension_list, 0, "", res, res.outcomes):match("^0,,(.*)$")
          end
          hold.add(c.id, c.name, c.kind, c.total, c.verdict, c.weakest, c.reasons, line)
        end }
    end
    hold.flush()
  end)
  local ranked = "SELECT * FROM held s " .. sc.rank_sql("s", "id")
  if fmt == "json" then
    print('{"run":null,"scorecard":' .. sc.json(card.name) .. ',"partners":[')
    local i = 0
    for c in tmp:rows(ranked) do
      i = i + 1
      put_line(format('%s{"rank":%d,%s', i > 1 and "," or "", i, c.line))
    end
    flush_lines()
    print("]}")
  elseif fmt == "csv" then
    csv_header(card.dimension_list)
    local i = 0
    for c in tmp:rows(ranked) do i = i + 1; put_line(format("%d,,%s", i, c.line)) end
    flush_lines()
  else
    local function each(f)
      local i = 0
      for c in tmp:rows(ranked) do i = i + 1; f(cells(i, c)) end
    end
    -- Measured and, piped, laid out by SQL and the host, as a stored
    -- run's table is (table_from_db).
    local function measure(f)
      local m = tmp:one("SELECT max(cell_width(id)) AS id, max(cell_width(cell_cut(name, 28))) " ..
                        "AS name, max(cell_width(kind)) AS kind, " ..
                        "max(cell_width(coalesce(weakest, '-'))) AS weakest FROM held")
      local rep = string.rep
      f({ tostring(summary.partners), rep("x", m.id or 0), rep("x", m.name or 0), rep("x", m.kind or 0),
          "100.0", "approve", rep("x", m.weakest or 0), "" })
    end
    local function body(w)
      print_sorted(tmp, w, "SELECT s.id, cell_cut(s.name, 28), s.kind, " ..
                   "coalesce(fixed(s.total, 1), '-'), s.verdict, coalesce(s.weakest, '-'), s.reasons " ..
                   "FROM held s " .. sc.rank_sql("s", "id"))
    end
    print_table(each, measure, body)
    print_summary(nil, card, summary, summary.partners)
  end
end

--[[ }====================================================== ]]


--[[ {======================================================
  The progress line (on a terminal only)
========================================================]]

-- A function card:run calls now and then with the partners done and the
-- phase; it rewrites one line on stderr: phase, partners, and where the
-- input's size is known, the share read and the time left.
function progress_line(sources)
  if not vouch.file.tty("stderr") then return nil end
  local total = 0
  for _, src in ipairs(sources) do
    local size = src.size
    if not size then total = nil; break end
    total = total + size
  end
  local started, last = os.time(), -1
  return function(n, phase)
    local now = os.time()
    if now == last and phase == "scoring" then return end
    last = now
    local line = format("vet: %s %d partners", phase, n)
    if total and total > 0 and phase == "scoring" then
      local read = 0
      for _, src in ipairs(sources) do read = read + (src.read or src.size or 0) end
      local f = math.min(1, read / total)
      line = line .. format(", %d%%", math.floor(f * 100))
      local spent = now - started
      if f > 0.02 and spent >= 1 then
        local left = math.floor(spent * (1 - f) / f + 0.5)
        line = line .. format(", %d:%02d left", left // 60, left % 60)
      end
    end
    vouch.status(line)
  end
end

--[[ }====================================================== ]]


--[[ {======================================================
  A run in shards (--shard K/N): several processes, each given the same
  data and scorecard, score one run on a record on a server
========================================================]]

-- The run the processes share is found by a key they all make alike: the
-- scorecard, the number of shards, each input's name (its folder differs
-- from machine to machine) and the hash of its bytes, and the batch's name
-- when one is given. Two inputs of one name and size but not the same rows
-- make two runs, not one of both.
local function shard_key(card, data, n, batch)
  local parts = { card.source and vouch.hash(card.source) or card.name, tostring(n) }
  for _, path in ipairs(data) do
    local read, bytes = pcall(vouch.file.hash, path)
    parts[#parts + 1] = path:match("[^/]*$") .. " " .. tostring(read and bytes or "?")
  end
  if batch then parts[#parts + 1] = "batch " .. batch end
  return vouch.hash(table.concat(parts, "\n"))
end

local function sharded(card, data, opts, commands)
  local k, n = (opts.shard or ""):match("^(%d+)/(%d+)$")
  k, n = tonumber(k), tonumber(n)
  if not k or n < 1 or k < 1 or k > n or n > 100000 then
    return commands.usage("vet", nil, format("--shard takes K/N, a shard K of N (1 <= K <= N), " ..
                                             "not '%s'", tostring(opts.shard)))
  end
  if opts["no-store"] or opts.format and opts.format ~= "table" then
    return commands.usage("vet", nil, "--shard stores its part of a run: it goes with neither " ..
                                      "--no-store nor --format (read the run with vouch report)")
  end
  local lease = tonumber(opts.lease or "20")
  if not lease or lease < 0.5 or lease > 86400 then
    return commands.usage("vet", nil, format("--lease takes seconds, from 0.5 (not '%s')",
                                             tostring(opts.lease)))
  end
  local db = vouch.db.open()
  local key = shard_key(card, data, n, opts.batch)
  local ask = { key = key, of = n, want = k, lease = math.floor(lease * 1000), batch = opts.batch }
  local mine, stored = {}, 0
  while true do
    -- the inputs are opened once a shard is taken: a process that waits
    -- for the others opens nothing
    local it, where, skipper
    local function open()
      local sources = {}
      for i, path in ipairs(data) do sources[i] = assert(cli.source(path)) end
      it, where, skipper = cli.chain(sources)
    end
    local function rows()
      if not it then open() end
      return it()
    end
    local function skip()
      if not it then open() end
      return skipper()
    end
    local function origin() if where then return where() end end
    local ok, run_id, summary = pcall(card.run, card, { db = db, rows = rows, origin = origin,
                                                        skip = skip, inputs = data,
                                                        source = card.source, shard = ask })
    if not ok then cli.say("vet: %s", tostring(run_id)); return 1 end
    if run_id then
      mine[#mine + 1] = summary.shard
      stored = stored + summary.partners
      print(format("run %d: shard %d/%d: %d partners stored", run_id, summary.shard, n,
                   summary.partners))
      if summary.cells.server ~= "running" then
        print(format("run %d: every shard is stored (%s)", run_id, summary.cells.server))
        return 0
      end
    elseif summary.state == "complete" then
      print(format("run %d: every shard is stored%s", summary.run,
                   #mine == 0 and " (nothing left to score here)" or ""))
      return 0
    elseif summary.state == "failed" then
      cli.say("vet: run %d failed in another process (see vouch runs)", summary.run)
      return 1
    else
      -- every shard left is held: wait for them (and say so as soon as the
      -- run ends), or for a holder's lease to run out, whose shard this
      -- process then takes over
      vouch.sleep(math.min(ask.lease // 3, 200))
    end
    -- later passes keep to the run joined, not another of the same key
    ask.run = ask.run or run_id or summary.run
  end
end

--[[ }====================================================== ]]


return function(...)
  local commands = require "vouch.cmd.commands"
  local opts, data = commands.args({ ... }, "vet")
  if not opts then return data end
  local fmt = opts.format or "table"
  if fmt ~= "table" and fmt ~= "json" and fmt ~= "csv" and fmt ~= "xlsx" then
    cli.say("vet: unknown format '%s' (use table, json, csv or xlsx)", fmt)
    return 2
  end
  if (fmt == "xlsx") ~= (opts.out ~= nil) or (fmt == "xlsx" and opts["no-store"]) then
    cli.say("vet: --format xlsx writes the stored run to --out FILE (and --out is only for it)")
    return 2
  end
  -- A person at a terminal sees the two ends of the ranking; a pipe gets
  -- every partner, unless --top says otherwise.
  local top = vouch.file.tty("stdout") and TOP or nil
  if opts.top then
    top = opts.top:match("^%d+$") and tonumber(opts.top)
    if not top or top < 1 then
      cli.say("vet: --top takes a whole number of partners, at least 1 (got '%s')", opts.top)
      return 2
    end
    if opts.all then return commands.usage("vet", nil, "--top and --all cannot go together") end
  end
  if opts.all then top = nil end
  if #data == 0 then
    return commands.usage("vet", nil, "no data given")
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
  if opts.shard then return sharded(card, data, opts, commands) end
  if opts.batch then return commands.usage("vet", nil, "--batch goes with --shard") end
  local lease = opts.lease and tonumber(opts.lease)
  if opts.lease and (opts["no-store"] or not lease or lease < 0.5 or lease > 86400) then
    return commands.usage("vet", nil, opts["no-store"] and "--lease goes with a run stored" or
                          format("--lease takes seconds, from 0.5 (not '%s')", tostring(opts.lease)))
  end
  if opts["no-store"] then
    local ok, e = pcall(no_store, card, cli.chain(sources), fmt, top, progress_line(sources))
    if vouch.file.tty("stderr") then vouch.status() end
    if not ok then cli.say("vet: %s", tostring(e)); return 1 end
    return 0
  end
  local db = vouch.db.open()
  if lease and not db:refresh() then
    cli.say("vet: --lease is for a record on a server (--db postgresql://...): a run in a " ..
            "file is known dead by its process")
    return 2
  end
  local rows, origin = cli.chain(sources)
  local progress = progress_line(sources)
  local ok, run_id, summary = pcall(card.run, card, { db = db, rows = rows, origin = origin,
                                                      inputs = inputs, source = card.source,
                                                      progress = progress,
                                                      lease = lease and math.floor(lease * 1000) })
  if progress then vouch.status() end
  if not ok then cli.say("vet: %s", tostring(run_id)); return 1 end
  if fmt == "xlsx" then
    local n, e = require("vouch.workbook").run(db, run_id, opts.out)
    if not n then cli.say("vet: %s", e); return 1 end
    print(format("run %d: %d partners written to %s", run_id, n, opts.out))
  elseif fmt == "table" then table_from_db(db, run_id, card, summary, top)
  else rows_from_db(db, run_id, card, fmt) end
  return 0
end

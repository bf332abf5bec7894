-- csv_test.lua: vouch.load.csv on RFC 4180's own cases and on malformed
-- files, each error asserted exactly; skip_bad; the bulk path into SQLite.
local T = require "testlib"

local DATA = arg[0]:match("^(.*)/lua/[^/]*$") .. "/data/csv/"

local function csv(name, opts) return assert(vouch.load.csv(DATA .. name, opts)) end

-- The message of the error raised by f(...), exactly.
local function err(f, ...)
  local ok, e = pcall(f, ...)
  if ok then error("expected an error, got none", 2) end
  return e
end

local function all(name, opts) return csv(name, opts):all() end

T.test("RFC 4180 example with CRLF", function()
  local src = csv("rfc.csv")
  T.eq(table.concat(src.columns, ","), "field_name,field_name2,field_name3")
  local rows = src:all()
  T.eq(#rows, 2, "rows")
  T.eq(rows[1].field_name, "aaa") T.eq(rows[2].field_name3, "xxx")
  T.eq(src.rows_read, 2, "rows_read") T.eq(src.bad_rows, 0, "bad_rows")
end)

T.test("last record without a line break", function()
  local rows = all("rfc_nofinal.csv")
  T.eq(#rows, 2) T.eq(rows[2].c, "xxx")
end)

T.test("quoted fields hold commas, quotes, LF and CRLF", function()
  local rows = all("quoted.csv")
  T.eq(#rows, 6, "rows")
  T.eq(rows[1].text, "has, comma")
  T.eq(rows[2].text, 'has "quotes"')
  T.eq(rows[3].text, "two\nlines")
  T.eq(rows[4].text, "crlf\r\ninside")
  T.eq(rows[5].text, "", "quoted empty is an empty string")
  T.eq(rows[6].text, nil, "unquoted empty is nil")
  T.eq(rows[6].n, 7)
end)

T.test("UTF-8 byte order mark is skipped", function()
  local src = csv("bom.csv")
  T.eq(src.columns[1], "id")
  local r = src:all()[1]
  T.eq(r.id, 1) T.eq(r.name, "Thài")
end)

T.test("empty file: no columns, no rows", function()
  local src = csv("empty.csv")
  T.eq(#src.columns, 0) T.eq(#src:all(), 0)
end)

T.test("header only: columns, no rows", function()
  local src = csv("header_only.csv")
  T.eq(table.concat(src.columns, ","), "id,name,kind")
  T.eq(#src:all(), 0)
end)

T.test("inferred types keep identifiers as strings", function()
  local r = all("types.csv")[1]
  T.eq(math.type(r.id), "integer") T.eq(r.id, 7)
  T.eq(r.zip, "007") T.eq(r.plus, "+1")
  T.eq(math.type(r.f), "float") T.eq(r.f, 1.5)
  T.eq(math.type(r.e), "float") T.eq(r.e, 2000.0)
  T.eq(r.t, true) T.eq(r.fa, false)
  T.eq(r.neg, -3)
  T.eq(r.big, math.maxinteger)
  T.eq(r.huge, "9223372036854775808", "beyond 64 bits stays a string")
  T.eq(r.space, " 5") T.eq(r.q, 12) T.eq(r.dash, "-")
end)

T.test("blank lines are skipped", function()
  local rows = all("blank_lines.csv")
  T.eq(#rows, 2) T.eq(rows[2].a, 3)
end)

T.test("other delimiters", function()
  local r = all("semicolon.csv", {delimiter = ";"})[1]
  T.eq(r.a, 1) T.eq(r.b, "x;y")
end)

T.test("header = false gives arrays; columns names them", function()
  local rows = all("noheader.csv", {header = false})
  T.eq(rows[1][1], 1) T.eq(rows[1][2], "x") T.eq(rows[2][2], nil)
  local named = all("noheader.csv", {header = false, columns = {"n", "s"}})
  T.eq(named[2].n, 2) T.eq(named[1].s, "x")
  local renamed = all("rfc.csv", {columns = {"x", "y", "z"}})
  T.eq(#renamed, 2) T.eq(renamed[1].x, "aaa")
end)

T.test("schema types", function()
  local rows = all("schema.csv", {schema = {score = "number", ok = "boolean", code = "integer",
                                            id = "string"}})
  T.eq(rows[1].id, "1") T.eq(math.type(rows[1].score), "float") T.eq(rows[1].ok, true)
  T.eq(rows[1].code, 7) T.eq(rows[2].ok, false) T.eq(rows[2].code, 10)
  T.eq(err(all, "schema_bad.csv", {schema = {score = "integer"}}),
    DATA .. "schema_bad.csv:3:3: column 'score': expected an integer, got 'abc'")
  T.eq(err(csv, "schema.csv", {schema = {nope = "integer"}}),
    DATA .. "schema.csv: opts.schema names a column that is not in the file: 'nope'")
end)

-- Malformed input: file:line:column and the exact text.
local bad = {
  {"few.csv", "3:4: wrong number of fields (expected 3, got 2)"},
  {"many.csv", "3:5: wrong number of fields (expected 2, got 3)"},
  {"many_quoted.csv", "3:4: wrong number of fields (expected 2, got 3)"},
  {"unterminated.csv", "3:3: unterminated quoted field"},
  {"stray_quote.csv", "2:5: unexpected quote in unquoted field"},
  {"after_quote.csv", "2:7: unexpected character after closing quote"},
  {"nul.csv", "2:4: NUL byte"},
  {"bad_utf8.csv", "3:7: invalid UTF-8"},
  {"truncated_utf8.csv", "2:6: invalid UTF-8"},
  {"overlong.csv", "2:3: invalid UTF-8"},
  {"surrogate.csv", "2:3: invalid UTF-8"},
  {"bad_header.csv", "1:5: invalid UTF-8"},
}
for _, c in ipairs(bad) do
  T.test("malformed: " .. c[1], function()
    T.eq(err(all, c[1]), DATA .. c[1] .. ":" .. c[2])
  end)
end

T.test("skip_bad skips and counts bad rows", function()
  local src = csv("mixed_bad.csv", {skip_bad = true})
  local ids = {}
  for r in src:rows() do ids[#ids + 1] = r.id end
  T.eq(table.concat(ids, ","), "1,3,5,7")
  T.eq(src.bad_rows, 3, "bad_rows") T.eq(src.rows_read, 4, "rows_read")
  local u = csv("unterminated.csv", {skip_bad = true})
  T.eq(#u:all(), 1) T.eq(u.bad_rows, 1)
  -- a bad header is never skipped: there would be no columns
  T.eq(err(all, "bad_header.csv", {skip_bad = true}), DATA .. "bad_header.csv:1:5: invalid UTF-8")
end)

T.test("missing file: nil, message, code", function()
  local src, msg, code = vouch.load.csv("missing.csv")
  T.eq(src, nil) T.eq(msg, "missing.csv: No such file or directory") T.eq(code, "ENOENT")
  local d, dmsg, dcode = vouch.load.csv(".")
  T.eq(d, nil) T.eq(dmsg, ".: Is a directory") T.eq(dcode, "EISDIR")
end)

T.test("read capability is checked", function()
  T.eq(err(vouch.load.csv, "/etc/passwd"),
    "/etc/passwd: read access denied (allow it with --allow-read=PATH)")
end)

T.test("misuse raises in Lua's words", function()
  T.checkerror("bad argument #1 to 'load.csv' (string expected, got no value)", vouch.load.csv)
  T.eq(err(vouch.load.csv, DATA .. "rfc.csv", {delimeter = ";"}),
    "bad argument #2 to 'load.csv' (unknown option 'delimeter')")
  T.checkerror("opts.delimiter must be one ASCII character",
    vouch.load.csv, DATA .. "rfc.csv", {delimiter = ",,"})
  T.checkerror("opts.schema: type of 'id' must be", vouch.load.csv, DATA .. "rfc.csv",
    {schema = {id = "int"}})
end)

T.test("a closed source refuses to read", function()
  local src = csv("rfc.csv")
  src:close()
  T.eq(err(src.all, src), "attempt to use a closed source")
end)

T.test("field(): one field of each row, as the row holds it, without the row", function()
  local src = csv("quoted.csv")
  local texts, f = {}, src:field("text")
  while true do
    local more, v = f()
    if not more then break end
    texts[#texts + 1] = v == nil and "<nil>" or v
  end
  T.eq(table.concat(texts, "|"), 'has, comma|has "quotes"|two\nlines|crlf\r\ninside||<nil>')
  T.eq(src.rows_read, 6, "rows_read counts them") T.eq(f(), nil, "nothing after the end")
  -- interleaved with rows(): each row is read once, by one or the other
  local s2 = csv("schema.csv", {schema = {score = "number", ok = "boolean", code = "integer",
                                          id = "string"}})
  local rows, ids = s2:rows(), s2:field("id")
  local more, id = ids()
  T.eq(more, true) T.eq(id, "1", "typed as the schema says")
  T.eq(rows().id, "2", "the next row") T.eq(s2.rows_read, 2)
  local oks = csv("schema.csv", {schema = {ok = "boolean"}}):field("ok")
  T.eq(select(2, oks()), true, "a boolean stays one")
  local none = csv("rfc.csv"):field("nope")
  more, id = none()
  T.eq(more, true) T.eq(id, nil, "a field no column has: nil, as in the row")
  more, id = csv("noheader.csv", {header = false}):field("c1")()
  T.eq(more, true) T.eq(id, nil, "a row of arrays has no named field")
  -- bad rows are skipped and counted, or raised, as by rows()
  local bad = csv("mixed_bad.csv", {skip_bad = true})
  local got, g = {}, bad:field("id")
  for _ = 1, 4 do got[#got + 1] = select(2, g()) end
  T.eq(table.concat(got, ","), "1,3,5,7") T.eq(bad.bad_rows, 3) T.eq(bad.rows_read, 4)
  T.eq(err(function() local h = csv("few.csv"):field("a") while h() do end end),
       DATA .. "few.csv:3:4: wrong number of fields (expected 3, got 2)")
  -- a loader without fields of its own makes the row and reads it
  local j = assert(vouch.load.ndjson(DATA .. "../json/rows.ndjson"))
  local want = j:rows()().id
  local j2 = assert(vouch.load.ndjson(DATA .. "../json/rows.ndjson"))
  more, id = j2:field("id")()
  T.eq(more, true) T.eq(id, want) T.eq(j2.rows_read, 1)
end)

T.test("rows() and all() continue the same stream", function()
  local src = csv("quoted.csv")
  local it = src:rows()
  T.eq(it(src).id, 1)
  local rest = src:all()
  T.eq(#rest, 5) T.eq(rest[1].id, 2)
end)

T.test("sources load concurrently with vouch.all", function()
  local a, b = vouch.all{
    function() return csv("quoted.csv"):all() end,
    function() return csv("rfc.csv"):all() end,
  }
  T.eq(#a, 6) T.eq(#b, 2)
end)

-- The bulk path, into the host's database (./vouch.db in the test's directory).
T.test("into() stores the rows and records the load", function()
  local db = vouch.db.open()
  local n = csv("quoted.csv"):into(db, "quoted")
  T.eq(n, 6, "stored")
  local r = db:one("SELECT * FROM quoted WHERE id = 4")
  T.eq(r.text, "crlf\r\ninside") T.eq(r.n, 5)
  T.eq(db:one("SELECT text FROM quoted WHERE id = 6").text, nil)
  local l = db:one("SELECT * FROM loads ORDER BY id DESC LIMIT 1")
  T.eq(l.format, "csv") T.eq(l.rows, 6) T.eq(l.bad_rows, 0)
  T.eq(l.source:sub(-#"quoted.csv"), "quoted.csv")
  T.eq(#l.hash, 32, "XXH3 128-bit hex") T.eq(l.hash:match("^%x+$"), l.hash)
  csv("quoted.csv"):into(db, "quoted2")
  local l2 = db:one("SELECT hash FROM loads ORDER BY id DESC LIMIT 1")
  T.eq(l2.hash, l.hash, "same content, same hash")
  csv("rfc.csv"):into(db, "rfc")
  T.eq(db:one("SELECT hash FROM loads ORDER BY id DESC LIMIT 1").hash ~= l.hash, true)
end)

T.test("into() stores nothing when a row is bad", function()
  local db = vouch.db.open()
  local before = db:one("SELECT count(*) AS n FROM loads").n
  T.eq(err(function() return csv("mixed_bad.csv"):into(db, "mixed") end),
    DATA .. "mixed_bad.csv:3:5: wrong number of fields (expected 2, got 3)")
  T.eq(db:one("SELECT count(*) AS n FROM sqlite_master WHERE name = 'mixed'").n, 0,
    "no table left")
  T.eq(db:one("SELECT count(*) AS n FROM loads").n, before, "no load recorded")
  local n = csv("mixed_bad.csv", {skip_bad = true}):into(db, "mixed")
  T.eq(n, 4)
  T.eq(db:one("SELECT count(*) AS n FROM mixed").n, 4)
  local l = db:one("SELECT rows, bad_rows FROM loads ORDER BY id DESC LIMIT 1")
  T.eq(l.rows, 4) T.eq(l.bad_rows, 3)
end)

T.test("into() a table that exists appends", function()
  local db = vouch.db.open()
  csv("rfc.csv"):into(db, "twice")
  csv("rfc.csv"):into(db, "twice")
  T.eq(db:one("SELECT count(*) AS n FROM twice").n, 4)
end)

T.test("into(): arrays get columns c1..cN; schema types are stored", function()
  local db = vouch.db.open()
  T.eq(csv("noheader.csv", {header = false}):into(db, "arrays"), 2)
  local r = db:one("SELECT c1, c2 FROM arrays WHERE c1 = 2")
  T.eq(r.c1, 2) T.eq(r.c2, nil)
  csv("schema.csv", {schema = {ok = "boolean", code = "integer", id = "string"}}):into(db, "typed")
  local t = db:one("SELECT typeof(id) AS ti, ok, code FROM typed WHERE code = 10")
  T.eq(t.ti, "text") T.eq(t.ok, 0) T.eq(t.code, 10)
  T.eq(csv("empty.csv"):into(db, "nothing"), 0)
  T.eq(db:one("SELECT count(*) AS n FROM sqlite_master WHERE name = 'nothing'").n, 0)
  T.eq(csv("header_only.csv"):into(db, "header_only"), 0)
  T.eq(db:one("SELECT count(*) AS n FROM header_only").n, 0, "the table is made")
end)

T.test("into() after rows() stores the rest", function()
  local db = vouch.db.open()
  local src = csv("quoted.csv")
  local it = src:rows()
  it(src) it(src)
  T.eq(src:into(db, "rest"), 4)
  T.eq(db:one("SELECT min(id) AS m FROM rest").m, 3)
end)

-- Several tasks loading into one database take turns at it (its savepoints
-- are one stack): each load is whole and recorded, a bad one leaves nothing,
-- and a load waits for another task's open db:tx.
local function numbered(name, n, from, tail)
  local t = { "id,name,score" }
  for i = 1, n do t[#t + 1] = string.format("%d,partner %d,%d", from + i, from + i, i % 100) end
  assert(vouch.file.write(name, table.concat(t, "\n") .. "\n" .. (tail or "")))
end

T.test("into() from several tasks at once into one database", function()
  local db = vouch.db.open()
  local loads = db:one("SELECT count(*) AS n FROM loads").n
  local fs = {}
  for i = 1, 6 do
    numbered("many" .. i .. ".csv", 30000, i * 100000)
    fs[i] = function()
      return assert(vouch.load.csv("many" .. i .. ".csv")):into(db, i % 2 == 0 and "even" or "odd" .. i)
    end
  end
  numbered("many_bad.csv", 20000, 900000, "1,2\n")  -- its last row is short
  fs[7] = function()
    return pcall(function() return assert(vouch.load.csv("many_bad.csv")):into(db, "even") end)
  end
  local r = { vouch.all(fs) }
  for i = 1, 6 do T.eq(r[i], 30000, "load " .. i) end
  T.eq(r[7], false, "the bad file raised")
  T.eq(db:one("SELECT count(*) AS n FROM even").n, 90000, "three loads into one table")
  T.eq(db:one("SELECT count(DISTINCT id) AS n FROM even").n, 90000)
  for i = 1, 5, 2 do T.eq(db:one("SELECT count(*) AS n FROM odd" .. i).n, 30000) end
  T.eq(db:one("SELECT count(*) AS n FROM loads").n, loads + 6, "one load recorded each")
  T.eq(db:one("SELECT count(*) AS n FROM even WHERE id > 900000").n, 0, "nothing of the bad file")
end)

T.test("a load given its turn and cancelled before it took it passes it on", function()
  local db = vouch.db.open()
  numbered("turn_b.csv", 100, 0)
  numbered("turn_c.csv", 100, 0)
  local tb, tc
  local function load(name) return assert(vouch.load.csv(name .. ".csv")):into(db, name) end
  db:tx(function()  -- b, then c, wait for this transaction to end
    tb = vouch.spawn(load, "turn_b")
    vouch.sleep(30)
    tc = vouch.spawn(load, "turn_c")
    vouch.sleep(30)
  end)
  tb:cancel()  -- its turn has just been given: it has not taken it yet
  T.eq(tc:wait(), 100, "the next load had its turn")
  T.eq(tb:status(), "cancelled")
  T.eq(db:one("SELECT count(*) AS n FROM sqlite_master WHERE name = 'turn_b'").n, 0)
end)

T.test("db:tx raises while another task's load writes", function()
  local db = vouch.db.open()
  numbered("during.csv", 30000, 0)  -- two reads: the load waits between them
  local seen
  local loader = vouch.spawn(function()
    return assert(vouch.load.csv("during.csv")):into(db, "during")
  end)
  while loader:status() ~= "done" and not seen do
    vouch.sleep(1)
    local ok, err = pcall(db.tx, db, function() end)
    if not ok then seen = err end
  end
  T.eq(loader:wait(), 30000)
  T.eq(tostring(seen):match("a load of another task is writing to this database") ~= nil, true, tostring(seen))
end)

T.test("into() waits for another task's db:tx", function()
  local db = vouch.db.open()
  numbered("after_tx.csv", 5000, 0)
  local order = {}
  vouch.all{
    function()
      db:tx(function()
        db:exec("CREATE TABLE held(n)")
        vouch.sleep(50)  -- the other task starts its load meanwhile
        db:exec("INSERT INTO held VALUES (1)")
        order[#order + 1] = "tx"
      end)
    end,
    function()
      local n = assert(vouch.load.csv("after_tx.csv")):into(db, "after_tx")
      order[#order + 1] = "into " .. n
    end,
  }
  T.eq(table.concat(order, ", "), "tx, into 5000")
  T.eq(db:one("SELECT count(*) AS n FROM held").n, 1)
  T.eq(db:one("SELECT count(*) AS n FROM after_tx").n, 5000)
end)

-- Header checks: opts.header as a list (exactly these columns, in any order)
-- and opts.require_columns (at least these).
T.test("header checks: the header a script expects", function()
  assert(vouch.file.write("hdr.csv", "id,name,score\nP1,A,3\n"))
  assert(vouch.file.write("hdr_empty.csv", ""))
  assert(vouch.file.write("hdr_blank.csv", "\n\n"))
  local function load(path, opts) return assert(vouch.load.csv(path, opts)):all() end
  T.eq(#load("hdr.csv", {header = {"score", "id", "name"}}), 1, "same columns, any order")
  T.eq(load("hdr.csv", {require_columns = {"id", "score"}})[1].score, 3)
  local function bad(path, opts)
    local ok, e = pcall(load, path, opts)
    T.eq(ok, false, "an error")
    return e
  end
  T.eq(bad("hdr.csv", {header = {"id", "country"}}),
    "hdr.csv:1:1: the header is not the one expected: missing column(s) 'country'; " ..
    "unexpected column(s) 'name', 'score'")
  T.eq(bad("hdr.csv", {header = {"id", "name"}}),
    "hdr.csv:1:1: the header is not the one expected: unexpected column(s) 'score'")
  T.eq(bad("hdr.csv", {require_columns = {"id", "country", "tier"}}),
    "hdr.csv:1:1: the header is not the one expected: missing column(s) 'country', 'tier'")
  T.eq(bad("hdr_empty.csv", {require_columns = {"id"}}),
    "hdr_empty.csv: the file is empty, where a header was expected")
  T.eq(bad("hdr_blank.csv", {header = {"id"}}),
    "hdr_blank.csv: the file is empty, where a header was expected")
  local db = vouch.db.open()
  T.eq(select(2, pcall(function()
    return assert(vouch.load.csv("hdr.csv", {header = {"id"}})):into(db, "h")
  end)), "hdr.csv:1:1: the header is not the one expected: unexpected column(s) 'name', 'score'")
  T.eq(db:one("SELECT count(*) AS n FROM sqlite_master WHERE name = 'h'").n, 0)
  T.checkerror("opts.header as a list and opts.require_columns together", vouch.load.csv,
    "hdr.csv", {header = {"id"}, require_columns = {"id"}})
  T.checkerror("not with opts.columns", vouch.load.csv, "hdr.csv",
    {require_columns = {"id"}, columns = {"a", "b", "c"}})
  T.checkerror("opts.require_columns is empty", vouch.load.csv, "hdr.csv", {require_columns = {}})
end)

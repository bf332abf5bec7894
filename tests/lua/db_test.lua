-- db_test.lua: vouch.db, type by type, error by error, edge by edge.
-- Runs sandboxed (untrusted) with the working directory writable. The
-- host's record is the one VOUCH_DB names: a file, or a server's when
-- pg_db_lua.sh runs this file as `db_test.lua server`. A script's own
-- databases are SQLite files either way; on a server the host's record is
-- read through the user's copy of it, and the last test writes what the
-- server should hold for pg_db_lua.sh to compare with what it holds.
local T = require "testlib"
local test, eq, checkerror = T.test, T.eq, T.checkerror
local server = arg ~= nil and arg[1] == "server"

local n = 0
local function fresh()
  n = n + 1
  local name = "db_test_" .. n .. ".db"
  local db = assert(vouch.db.open(name))
  return db, name
end

local function count(db, sql, ...)
  return db:one("SELECT count(*) AS n FROM " .. sql, ...).n
end

-- {====================================================== types

test("integers stay integers, floats stay floats", function()
  local db = fresh()
  db:exec("CREATE TABLE t(v)")
  local values = { 0, 1, -1, math.maxinteger, math.mininteger, 2^53 + 1 | 0,
                   0.5, -0.25, 3.0, 1e308, -1e-300, 2^63, 1/0, -1/0 }
  for i, v in ipairs(values) do db:exec("INSERT INTO t(rowid, v) VALUES (?, ?)", i, v) end
  for i, v in ipairs(values) do
    local r = db:one("SELECT v, typeof(v) AS ty FROM t WHERE rowid = ?", i)
    eq(r.v, v, "value " .. i)
    eq(math.type(r.v), math.type(v), "type of value " .. i)
    eq(r.ty, math.type(v) == "integer" and "integer" or "real", "SQL type of value " .. i)
  end
end)

test("nil is NULL, and a NULL column is absent from the row", function()
  local db = fresh()
  db:exec("CREATE TABLE t(a, b)")
  db:exec("INSERT INTO t VALUES (?, ?)", nil, 1)
  local r = db:one("SELECT a, b, a IS NULL AS isn FROM t")
  eq(r.a, nil, "a")
  eq(r.b, 1, "b")
  eq(r.isn, 1, "a IS NULL")
  local keys = 0
  for _ in pairs(r) do keys = keys + 1 end
  eq(keys, 2, "keys in the row")
end)

test("strings with NUL bytes round-trip as text", function()
  local db = fresh()
  db:exec("CREATE TABLE t(s)")
  local s = "a\0b\0\0c\0"
  db:exec("INSERT INTO t VALUES (?)", s)
  db:insert("t", { s = "\0" })
  db:insert("t", { { s = "x\0y" }, { s = "" } })
  local r = db:one("SELECT s, typeof(s) AS ty, length(CAST(s AS BLOB)) AS n FROM t WHERE rowid = 1")
  eq(r.s, s, "string")
  eq(#r.s, 7, "length read back")
  eq(r.n, 7, "bytes stored")
  eq(r.ty, "text", "stored as text")
  eq(db:one("SELECT s FROM t WHERE rowid = 2").s, "\0", "insert of a NUL")
  eq(db:one("SELECT s FROM t WHERE rowid = 3").s, "x\0y", "bulk insert with a NUL")
  eq(db:one("SELECT s FROM t WHERE rowid = 4").s, "", "empty string")
  eq(db:one("SELECT typeof(s) AS ty FROM t WHERE rowid = 4").ty, "text", "empty string is text")
  eq(count(db, "t WHERE s = ?", s), 1, "lookup by a string with NULs")
end)

test("blobs are explicit", function()
  local db = fresh()
  db:exec("CREATE TABLE t(b)")
  local bytes = "\255\0\1binary\0"
  local blob = vouch.db.blob(bytes)
  eq(tostring(blob), bytes, "tostring of a blob")
  eq(#blob, #bytes, "length of a blob")
  db:exec("INSERT INTO t VALUES (?)", blob)
  db:insert("t", { b = blob })
  db:insert("t", { { b = vouch.db.blob("") } })
  db:exec("INSERT INTO t VALUES (:b)", { b = blob })
  for r in db:rows("SELECT b, typeof(b) AS ty FROM t WHERE rowid <> 3") do
    eq(r.b, bytes, "blob read back")
    eq(r.ty, "blob", "stored as a blob")
  end
  local r = db:one("SELECT b, typeof(b) AS ty FROM t WHERE rowid = 3")
  eq(r.b, "", "empty blob")
  eq(r.ty, "blob", "empty blob's type")
  checkerror("string expected", vouch.db.blob, {})
end)

test("booleans are stored as 1 and 0", function()
  local db = fresh()
  db:exec("CREATE TABLE t(a, b)")
  db:exec("INSERT INTO t VALUES (?, ?)", true, false)
  db:insert("t", { a = true, b = false })
  for r in db:rows("SELECT a, b, typeof(a) AS ty FROM t") do
    eq(r.a, 1, "true")
    eq(r.b, 0, "false")
    eq(r.ty, "integer", "type")
  end
end)

test("a huge blob (50 MB) round-trips", function()
  local db = fresh()
  db:exec("CREATE TABLE t(b)")
  local big = string.rep("0123456789abcdef\0", 50 * 1024 * 1024 // 17)
  db:insert("t", { b = vouch.db.blob(big) })
  local r = db:one("SELECT b, length(b) AS n FROM t")
  eq(r.n, #big, "length stored")
  eq(#r.b, #big, "length read back")
  assert(r.b == big, "the bytes differ")
end)

test("values that have no SQL form are refused", function()
  local db = fresh()
  db:exec("CREATE TABLE t(a)")
  checkerror("bad parameter #2 to 'exec' (table has no SQL value", db.exec, db,
             "SELECT ?, ?", 1, {})
  checkerror("bad parameter #1 to 'exec' (function has no SQL value", db.exec, db,
             "INSERT INTO t VALUES (?)", print)
  checkerror("bad parameter ':a' to 'one' (table has no SQL value)", db.one, db,
             "SELECT :a", { a = {} })
  checkerror("row 2, column 'a': table has no SQL value", db.insert, db, "t",
             { { a = 1 }, { a = {} } })
  eq(count(db, "t"), 0, "nothing inserted")
end)

-- }======================================================

-- {====================================================== parameters

test("positional parameters: the count must match", function()
  local db = fresh()
  eq(db:one("SELECT ? + ? AS s", 1, 2).s, 3, "sum")
  eq(db:one("SELECT ?2 || ?1 AS s", "a", "b").s, "ba", "numbered")
  checkerror("'one' got 1 parameter value for SQL with 2 parameters", db.one, db,
             "SELECT ?, ?", 1)
  checkerror("'exec' got 2 parameter values for SQL with 0 parameters", db.exec, db,
             "SELECT 1", 1, 2)
  eq(db:one("SELECT ? IS NULL AS n", nil).n, 1, "explicit nil counts")
end)

test("named parameters from a table", function()
  local db = fresh()
  local r = db:one("SELECT :a AS a, @b AS b, $c AS c, :missing AS m", { a = 1, b = "two", c = 3.5 })
  eq(r.a, 1, ":a")
  eq(r.b, "two", "@b")
  eq(r.c, 3.5, "$c")
  eq(r.m, nil, "a missing name binds NULL")
  r = db:one("SELECT ? AS x, ? AS y, :k AS k", { 10, 20, k = "K" })
  eq(r.x, 10, "? takes the array items")
  eq(r.y, 20, "in order")
  eq(r.k, "K", "mixed with names")
  db:exec("CREATE TABLE t(a, b)")
  db:exec("INSERT INTO t VALUES (:a, :b)", { a = "x", b = vouch.db.blob("y") })
  eq(db:one("SELECT typeof(b) AS t FROM t").t, "blob", "a blob by name")
  local n = 0
  for row in db:rows("SELECT * FROM t WHERE a = :a", { a = "x" }) do n = n + 1; eq(row.a, "x") end
  eq(n, 1, "rows with named parameters")
end)

-- }======================================================

-- {====================================================== results

test("empty results", function()
  local db = fresh()
  db:exec("CREATE TABLE t(a)")
  eq(db:one("SELECT * FROM t"), nil, "one of nothing")
  local n = 0
  for _ in db:rows("SELECT * FROM t") do n = n + 1 end
  eq(n, 0, "rows of nothing")
  eq(db:exec("DELETE FROM t"), 0, "exec changes nothing")
  eq(db:exec(""), 0, "empty SQL")
  eq(db:exec("-- only a comment"), 0, "a comment")
  eq(db:one("  "), nil, "one of empty SQL")
  n = 0
  for _ in db:rows("") do n = n + 1 end
  eq(n, 0, "rows of empty SQL")
end)

test("exec runs a script of statements and returns changes", function()
  local db = fresh()
  db:exec([[
    CREATE TABLE a(x);  -- first
    CREATE TABLE b(y);
    /* a comment */ INSERT INTO a VALUES (1), (2);
    INSERT INTO b VALUES (3);
  ]])
  eq(count(db, "a"), 2, "a")
  eq(count(db, "b"), 1, "b")
  eq(db:exec("UPDATE a SET x = x + 1"), 2, "changes")
  eq(db:changes(), 2, "db:changes")
  checkerror("'exec' with parameters takes one SQL statement", db.exec, db,
             "INSERT INTO a VALUES (?); INSERT INTO b VALUES (?)", 1)
  checkerror("'one' takes one SQL statement", db.one, db, "SELECT 1; SELECT 2")
  checkerror("'rows' takes one SQL statement", db.rows, db, "SELECT 1; SELECT 2")
  checkerror("no such table: c (SQLITE_ERROR)", db.exec, db, "INSERT INTO a VALUES (9); INSERT INTO c VALUES (1)")
  eq(count(db, "a WHERE x = 9"), 1, "statements before the failing one ran")
end)

test("rows gives every row, in order, keyed by column name", function()
  local db = fresh()
  db:exec("CREATE TABLE t(i INTEGER, s TEXT)")
  local rows = {}
  for i = 1, 100 do rows[i] = { i = i, s = "s" .. i } end
  eq(db:insert("t", rows), 100, "inserted")
  local i = 0
  for r in db:rows("SELECT i, s, i * 2 AS twice FROM t ORDER BY i") do
    i = i + 1
    eq(r.i, i, "i")
    eq(r.s, "s" .. i, "s")
    eq(r.twice, 2 * i, "an expression column")
  end
  eq(i, 100, "row count")
end)

test("rows closes its statement on break, return and error", function()
  local db = fresh()
  db:exec("CREATE TABLE t(a); INSERT INTO t VALUES (1), (2), (3)")
  -- A statement still reading t makes DROP TABLE fail with "table is locked".
  for _ in db:rows("SELECT * FROM t") do break end
  local function first() for r in db:rows("SELECT * FROM t") do return r.a end end
  eq(first(), 1, "return from the loop")
  pcall(function() for _ in db:rows("SELECT * FROM t") do error("boom") end end)
  db:exec("CREATE TABLE u(a); INSERT INTO u VALUES (1)")
  db:exec("DROP TABLE t")  -- raises if a statement were left open
  -- The check can fail: an iterator driven by hand and left half-way holds u.
  local it, state = db:rows("SELECT * FROM u")
  it(state)
  checkerror("locked", db.exec, db, "DROP TABLE u")
  state:close()
  db:exec("DROP TABLE u")
end)

test("the same query nested in itself", function()
  local db = fresh()
  db:exec("CREATE TABLE t(a); INSERT INTO t VALUES (1), (2), (3)")
  local pairs_seen = 0
  for a in db:rows("SELECT a FROM t") do
    for b in db:rows("SELECT a FROM t") do
      if a.a <= b.a then pairs_seen = pairs_seen + 1 end
    end
  end
  eq(pairs_seen, 6, "pairs")
end)

test("the statement cache is bounded and reused", function()
  local db = fresh()
  for i = 1, 300 do eq(db:one("SELECT " .. i .. " AS v").v, i, "statement " .. i) end
  for i = 1, 300 do eq(db:one("SELECT " .. i .. " AS v").v, i, "again " .. i) end
  local sql = "SELECT ? AS v"
  for i = 1, 1000 do eq(db:one(sql, i).v, i, "reused") end
end)

-- }======================================================

-- {====================================================== errors

test("errors carry SQLite's message, code name and offset", function()
  local db = fresh()
  local err = checkerror('near "FRM": syntax error (SQLITE_ERROR) at offset 9 in "SELECT * FRM t"',
                         db.exec, db, "SELECT * FRM t")
  db:exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)")
  checkerror("no such column: nope (SQLITE_ERROR) at offset 7", db.one, db, "SELECT nope FROM t")
  db:exec("INSERT INTO t(v) VALUES ('a')")
  checkerror("UNIQUE constraint failed: t.v (SQLITE_CONSTRAINT_UNIQUE)", db.exec, db,
             "INSERT INTO t(v) VALUES ('a')")
  checkerror("NOT NULL constraint failed: t.v (SQLITE_CONSTRAINT_NOTNULL)", db.insert, db,
             "t", { id = 5 })
  checkerror("insert into t, row 2: UNIQUE constraint failed: t.v (SQLITE_CONSTRAINT_UNIQUE)",
             db.insert, db, "t", { { v = "b" }, { v = "a" } })
  eq(count(db, "t"), 1, "the failed bulk insert left nothing")
  -- called straight from pcall there is no Lua line to name: the message
  -- is SQLite's, with nothing before it
  eq(err, 'near "FRM": syntax error (SQLITE_ERROR) at offset 9 in "SELECT * FRM t"')
end)

test("errors point at the caller's line", function()
  local db = fresh()
  local ok, err = pcall(function() db:exec("SELEC 1") end)
  assert(not ok)
  assert(err:find("db_test.lua:%d+: near \"SELEC\""), err)
end)

test("a statement can be used again after it failed", function()
  local db = fresh()
  db:exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v UNIQUE)")
  local sql = "INSERT INTO t(v) VALUES (?)"
  db:exec(sql, 1)
  checkerror("SQLITE_CONSTRAINT_UNIQUE", db.exec, db, sql, 1)
  db:exec(sql, 2)
  checkerror("incomplete input (SQLITE_ERROR)", db.exec, db, "INSERT INTO")
  db:exec(sql, 3)
  checkerror("SQLITE_CONSTRAINT_UNIQUE", db.insert, db, "t", { { v = 4 }, { v = 1 } })
  db:insert("t", { { v = 4 }, { v = 5 } })
  checkerror("insert into t: datatype mismatch (SQLITE_MISMATCH)",
             function() db:insert("t", { id = "x" }) end)
  eq(db:one("SELECT group_concat(v) AS vs FROM (SELECT v FROM t ORDER BY v)").vs,
     "1,2,3,4,5", "rows")
  local q = "SELECT v FROM t WHERE v = ?"
  checkerror("got 0 parameter values", db.one, db, q)
  eq(db:one(q, 3).v, 3, "after a binding error")
end)

test("a closed database raises", function()
  local db = fresh()
  db:exec("CREATE TABLE t(a)")
  local it, state, _, closer = db:rows("SELECT * FROM t")
  db:close()
  db:close()
  checkerror("attempt to use a closed database", db.exec, db, "SELECT 1")
  checkerror("attempt to use a closed database", db.insert, db, "t", { a = 1 })
  eq(it(state), nil, "a cursor of a closed database ends")
  closer:close()
  closer:close()
  assert(tostring(db):find("closed"), tostring(db))
  do
    local db2 <close> = fresh()
    db2:exec("CREATE TABLE x(a)")
    db = db2
  end
  checkerror("closed database", db.exec, db, "SELECT 1")
end)

test("misuse raises in Lua's words", function()
  local db = fresh()
  checkerror("bad argument #1 to 'exec' (string expected, got no value)",
             function() db:exec() end)
  checkerror("vouch.db expected, got table", db.exec, {}, "SELECT 1")
  checkerror("bad argument #2 to 'insert' (table expected, got number)",
             function() db:insert("t", 5) end)
  checkerror("mode must be \"r\" or \"w\"", vouch.db.open, "x.db", "rw")
end)

-- }======================================================

-- {====================================================== insert

test("insert: one row returns its rowid, many return their count", function()
  local db = fresh()
  db:exec("CREATE TABLE t(id INTEGER PRIMARY KEY, a, b DEFAULT 'dflt')")
  eq(db:insert("t", { a = 1 }), 1, "rowid")
  eq(db:insert("t", { a = 2, b = "x" }), 2, "rowid")
  eq(db:last_id(), 2, "last_id")
  eq(db:insert("t", { { a = 3 }, { b = "y" }, { a = 5, b = "z" }, {} }), 4, "count")
  eq(db:one("SELECT b FROM t WHERE a = 3").b, "dflt", "a left-out column gets its default")
  eq(db:one("SELECT a FROM t WHERE b = 'y'").a, nil, "a left-out column without default")
  eq(db:one("SELECT b FROM t WHERE id = 6").b, "dflt", "an empty row is all defaults")
  eq(count(db, "t"), 6, "rows")
end)

test("insert of zero rows", function()
  local db = fresh()
  db:exec("CREATE TABLE t(a)")
  eq(db:insert("t", {}), 0, "nothing")
  eq(db:insert("no_such_table", {}), 0, "nothing, whatever the table")
  eq(count(db, "t"), 0, "rows")
end)

test("insert: many column sets and long column names", function()
  local db = fresh()
  local long = string.rep("c", 60)
  db:exec("CREATE TABLE t(a, b, c, \"" .. long .. "\", \"we\"\"ird\")")
  local rows = {}
  for i = 1, 500 do
    local r = { a = i }
    if i % 2 == 0 then r.b = i end
    if i % 3 == 0 then r.c = i end
    if i % 5 == 0 then r[long] = i end
    if i % 7 == 0 then r['we"ird'] = i end
    rows[i] = r
  end
  eq(db:insert("t", rows), 500, "count")
  eq(count(db, "t WHERE b IS NOT NULL"), 250, "b")
  eq(count(db, "t WHERE c IS NOT NULL"), 166, "c")
  eq(count(db, "t WHERE " .. long .. " IS NOT NULL"), 100, "long")
  eq(count(db, "t WHERE \"we\"\"ird\" IS NOT NULL"), 71, "quoted")
  eq(db:one("SELECT sum(a) AS s FROM t").s, 500 * 501 // 2, "sum")
end)

test("insert: a table with more than 64 columns", function()
  local db = fresh()
  local cols = {}
  for i = 1, 130 do cols[i] = "c" .. i end
  db:exec("CREATE TABLE wide(" .. table.concat(cols, ", ") .. ")")
  local rows = {}
  for r = 1, 20 do
    local row = {}
    for i = 1, 130 do if (i + r) % 3 ~= 0 then row["c" .. i] = i * r end end
    rows[r] = row
  end
  eq(db:insert("wide", rows), 20, "count")
  for r = 1, 20 do
    local got = db:one("SELECT * FROM wide WHERE rowid = ?", r)
    for i = 1, 130 do eq(got["c" .. i], (i + r) % 3 ~= 0 and i * r or nil, "c" .. i) end
  end
end)

test("insert: bad rows are refused and leave nothing", function()
  local db = fresh()
  db:exec("CREATE TABLE t(a)")
  checkerror("table t has no column named nope (SQLITE_ERROR)", db.insert, db, "t",
             { { a = 1 }, { nope = 2 } })
  checkerror("row 2: keys must be column names (got a number key)", db.insert, db, "t",
             { { a = 1 }, { a = 1, [5] = 2 } })
  checkerror("row 2 is a string, not a table", db.insert, db, "t", { { a = 1 }, "x" })
  checkerror("no such table: nope (SQLITE_ERROR)", db.insert, db, "nope", { a = 1 })
  eq(count(db, "t"), 0, "nothing inserted")
  eq(db:insert("t", { { a = 1 }, { a = 2 } }), 2, "the table still works")
end)

test("insert: a million-row path keeps types and order", function()
  local db = fresh()
  db:exec("CREATE TABLE s(run_id INTEGER, partner_id TEXT, total REAL, verdict TEXT)")
  local rows = {}
  for i = 1, 20000 do
    rows[i] = { run_id = 1, partner_id = string.format("P%07d", i), total = i / 4,
                verdict = i % 3 == 0 and "reject" or "approve" }
  end
  eq(db:insert("s", rows), 20000, "count")
  local r = db:one("SELECT count(*) AS n, sum(total) AS t, min(partner_id) AS p, " ..
                   "typeof(run_id) AS ty FROM s")
  eq(r.n, 20000, "rows")
  eq(r.t, 20000 * 20001 / 8, "sum")
  eq(r.p, "P0000001", "ids")
  eq(r.ty, "integer", "integers stay integers")
end)

-- }======================================================

-- {====================================================== transactions

test("tx commits and returns what fn returns", function()
  local db = fresh()
  db:exec("CREATE TABLE t(a)")
  local a, b = db:tx(function(x)
    db:exec("INSERT INTO t VALUES (?)", x)
    return "r1", "r2"
  end, 42)
  eq(a, "r1", "first result")
  eq(b, "r2", "second result")
  eq(count(db, "t WHERE a = 42"), 1, "committed")
end)

test("an error inside tx rolls everything back and is raised again", function()
  local db = fresh()
  db:exec("CREATE TABLE t(a)")
  local err = checkerror("boom", db.tx, db, function()
    db:exec("INSERT INTO t VALUES (1)")
    db:insert("t", { { a = 2 }, { a = 3 } })
    error("boom")
  end)
  eq(count(db, "t"), 0, "rolled back")
  local obj = {}
  local ok, e = pcall(db.tx, db, function() error(obj) end)
  assert(not ok and e == obj, "a non-string error object passes unchanged")
  checkerror("SQLITE_CONSTRAINT", db.tx, db, function()
    db:exec("CREATE TABLE u(a UNIQUE)")
    db:exec("INSERT INTO u VALUES (1)")
    db:exec("INSERT INTO u VALUES (1)")
  end)
  checkerror("no such table: u", db.exec, db, "SELECT * FROM u")
  db:tx(function() db:exec("INSERT INTO t VALUES (4)") end)
  eq(count(db, "t"), 1, "the database works after a failed tx")
  assert(err:find("boom"))
end)

test("nested tx are savepoints", function()
  local db = fresh()
  db:exec("CREATE TABLE t(a)")
  db:tx(function()
    db:exec("INSERT INTO t VALUES (1)")
    local ok = pcall(db.tx, db, function()
      db:exec("INSERT INTO t VALUES (2)")
      db:tx(function() db:exec("INSERT INTO t VALUES (3)") end)
      error("inner")
    end)
    assert(not ok)
    eq(count(db, "t"), 1, "the inner levels were undone")
    db:tx(function() db:exec("INSERT INTO t VALUES (5)") end)
  end)
  eq(db:one("SELECT group_concat(a) AS s FROM t").s, "1,5", "outer and second inner committed")
  pcall(db.tx, db, function()
    db:tx(function() db:exec("INSERT INTO t VALUES (6)") end)
    error("outer")
  end)
  eq(count(db, "t"), 2, "an inner commit is undone by the outer rollback")
  db:tx(function()
    eq(db:insert("t", { { a = 7 }, { a = 8 } }), 2, "bulk insert inside tx")
    checkerror("no column", db.insert, db, "t", { { a = 9 }, { b = 1 } })
  end)
  eq(db:one("SELECT group_concat(a) AS s FROM t").s, "1,5,7,8",
     "a failed bulk insert inside tx undoes only itself")
end)

test("tx around explicit BEGIN, and COMMIT inside tx", function()
  local db = fresh()
  db:exec("CREATE TABLE t(a)")
  db:exec("BEGIN")
  db:tx(function() db:exec("INSERT INTO t VALUES (1)") end)
  db:exec("ROLLBACK")
  eq(count(db, "t"), 0, "tx inside a manual transaction is a savepoint")
  checkerror("SQLITE_ERROR", db.tx, db, function() db:exec("COMMIT") end)
  db:tx(function() db:exec("INSERT INTO t VALUES (1)") end)
  eq(count(db, "t"), 1, "usable after")
end)

test("tx may wait for other tasks inside; another task cannot nest in it", function()
  local db = fresh()
  db:exec("CREATE TABLE t(a)")
  local other_err
  local t = vouch.spawn(function()
    vouch.sleep(1)
    local ok, err = pcall(db.tx, db, function() db:exec("INSERT INTO t VALUES (99)") end)
    other_err = not ok and err
  end)
  db:tx(function()
    db:exec("INSERT INTO t VALUES (1)")
    vouch.sleep(20)
    db:exec("INSERT INTO t VALUES (2)")
  end)
  t:wait()
  assert(other_err and other_err:find("a transaction of another task is open"), tostring(other_err))
  eq(db:one("SELECT group_concat(a) AS s FROM t").s, "1,2", "committed after the wait")
end)

test("closing the database inside tx", function()
  local db = fresh()
  db:exec("CREATE TABLE t(a)")
  checkerror("the database was closed inside db:tx", db.tx, db, function()
    db:exec("INSERT INTO t VALUES (1)")
    db:close()
  end)
end)

-- }======================================================

-- {====================================================== opening

test("the host database: opened once, with the schema", function()
  local a, b = vouch.db.open(), vouch.db.open()
  assert(a == b, "the same connection")
  checkerror("seconds from 0 to 60", a.refresh, a, 61)
  if server then
    local name = a:refresh()
    assert(name and name:find("^postgres"), "the record is on a server: " .. tostring(name))
    eq(a:refresh(0), name, "refresh(0): a server that answers answers")
  else
    eq(a:one("PRAGMA user_version").user_version, vouch.db.schema_version, "schema version")
    for _, t in ipairs { "partners", "loads", "runs", "scores", "reasons" } do
      assert(a:one("SELECT 1 AS x FROM sqlite_schema WHERE type = 'table' AND name = ?", t), t)
    end
    eq(a:one("PRAGMA foreign_keys").foreign_keys, 1, "foreign keys on")
    eq(a:one("PRAGMA journal_mode").journal_mode, "wal", "WAL")
    assert(vouch.db.open("vouch.db") == a, "the default file by name is the same connection")
  end
  a:close()
  local c = vouch.db.open()
  assert(c ~= a, "reopened after close")
  eq(count(c, "runs"), 0, "runs")
end)

if server then
  T.skip("the host database: its schema version, tables, PRAGMAs and file name",
         "on a server they are those of the local copy, a SQLite file, not of the record")
end

test("the host's record is written through run_begin, run_load, run_input, run_score and run_end", function()
  local db = vouch.db.open()
  local h = require("vouch.scorecard").hash("return 1")
  checkerror("is not the hash of the source given", db.run_begin, db,
             { scorecard = "s", hash = "h", source = "return 1" })
  local run = db:run_begin { scorecard = "s", hash = h, inputs = "[\"a.csv\"]",
                             dimensions = { "reach", "reputation" }, weights = { 0.5, 0.5 },
                             source = "return 1", rules = { CONTROVERSY = "reputation" } }
  checkerror("was stored before with another name, dimensions", db.run_begin, db,
             { scorecard = "s", hash = h, source = "return 1", dimensions = { "trust" },
               weights = { 1 } })
  local r = db:one("SELECT status, started_by, inputs, pid FROM runs WHERE id = ?", run)
  eq(r.status, "running", "committed as running")
  eq(r.started_by, "cli", "started by")
  eq(r.pid, vouch.db.pid(), "this process")
  local c = db:one("SELECT name, dimensions, weights, source, rules FROM scorecards WHERE hash = ?", h)
  eq(c.rules, '{"CONTROVERSY":"reputation"}', "the dimension of each rule")
  eq(c.dimensions, '["reach","reputation"]', "the scorecard's dimensions, in order")
  eq(c.weights, "[0.5,0.5]", "its weights")
  eq(c.source, "return 1", "its source")
  local load = db:run_load(run, { source = "a.csv", format = "csv", columns = { "id", "n" } })
  db:run_input(load, 1, { id = "p1", n = 3 })
  db:run_input(load, 2, { id = "p2" })
  eq(db:one("SELECT vals FROM inputs WHERE load_id = ? AND row = 2", load).vals, '["p2",null]',
     "an input row in the order of the columns, a missing field null")
  db:run_score(run, "p1", "P one", "brand", 70.5, "approve", load, 1, { 70, 71.123456789 }, {})
  db:run_score(run, "p2", nil, nil, nil, "reject", load, 2, { false, false },
               { "CONTROVERSY", "veto", false, 1, false, "X", "penalty", -2.5, false, { n = 3 } })
  local s = db:one("SELECT dims, reasons FROM scores WHERE run_id = ? AND partner_id = 'p1'", run)
  eq(s.dims, "[70,71.12346]", "dimensions in order, to 7 significant digits")
  eq(s.reasons, "[]", "no reasons")
  s = db:one("SELECT dims, reasons FROM scores WHERE run_id = ? AND partner_id = 'p2'", run)
  eq(s.dims, "[null,null]", "indeterminate dimensions are null")
  eq(s.reasons, '[["CONTROVERSY","veto",null,1],["X","penalty",-2.5,null,{"n":3}]]',
     "reasons as [code, outcome, points, rank(, evidence)]")
  checkerror("(invalid option 'bogus')", db.run_score, db, run, "p3", nil, nil, nil, "bogus",
             nil, nil, {}, {})
  checkerror("3 dimensions given, the run's scorecard has 2", db.run_score, db, run, "p3", nil,
             nil, nil, "reject", nil, nil, { 1, 2, 3 }, {})
  checkerror("unknown outcome 'vetoed'", db.run_score, db, run, "p3", nil, nil, nil, "reject",
             nil, nil, {}, { "C", "vetoed", false, 1, false })
  checkerror("code must be a string", db.run_score, db, run, "p3", nil, nil, nil, "reject",
             nil, nil, {}, { 7, "veto", false, 1, false })
  checkerror("code must be an identifier", db.run_score, db, run, "p3", nil, nil, nil, "reject",
             nil, nil, {}, { 'X"] OR 1', "veto", false, 1, false })
  checkerror("rule codes (identifiers)", db.run_begin, db,
             { scorecard = "s2", hash = "h2", rules = { ['a"b'] = "trust" } })
  checkerror("run 999 was not begun by this process", db.run_score, db, 999, "p9", nil, nil,
             nil, "reject", nil, nil, {}, {})
  checkerror("load 999 was not begun by this process", db.run_input, db, 999, 1, {})
  checkerror("run 999 was not begun by this process", db.run_load, db, 999, { source = "x" })
  eq(count(db, "scores"), 2, "scores")
  eq(db:run_load_end(load, { hash = "abc", rows = 2 }), load, "a new input keeps its load")
  checkerror("load " .. load .. " was not begun", db.run_input, db, load, 3, {})
  local ended = db:run_end(run, "ok", 2)
  r = db:one("SELECT status, partners FROM runs WHERE id = ?", run)
  eq(r.status, "ok", "ended")
  eq(r.partners, 2, "partners")
  -- On a server the run was sent as it ended, and its load took the id
  -- the server gave it.
  local first = load
  if server then
    eq(ended.server, "ok", "its status on the server")
    first = db:one("SELECT load_id FROM run_loads WHERE run_id = ?", run).load_id
    eq(db:one("SELECT load_id FROM scores WHERE run_id = ? AND partner_id = 'p1'", run).load_id,
       first, "its scores point at the server's load")
  end
  checkerror("has ended", db.run_score, db, run, "p4", nil, nil, nil, "reject", nil, nil, {}, {})
  checkerror("has ended", db.run_end, db, run, "failed")
  -- The same input read again is stored once: the second run points at it.
  local run2 = db:run_begin { scorecard = "s", hash = "h" }
  local load2 = db:run_load(run2, { source = "a.csv", format = "csv", columns = { "id", "n" } })
  db:run_input(load2, 1, { id = "p1", n = 3 })
  db:run_input(load2, 2, { id = "p2" })
  db:run_score(run2, "p1", nil, nil, 1, "reject", load2, 1, {}, {})
  eq(db:run_load_end(load2, { hash = "abc", rows = 2 }), first, "the same content: the first load")
  ended = db:run_end(run2, "ok", 1)
  if server then eq(ended.server, "ok", "the second run's status on the server") end
  eq(db:one("SELECT load_id FROM scores WHERE run_id = ?", run2).load_id, first, "scores point at it")
  eq(db:one("SELECT count(*) AS n FROM inputs").n, 2, "its rows stored once")
  eq(db:one("SELECT count(*) AS n FROM loads").n, 1, "one load")
  eq(db:one("SELECT group_concat(load_id) AS l FROM run_loads WHERE run_id = ?", run2).l,
     tostring(first), "the run reads it")
  checkerror("INSERT into 'runs' is not allowed in the sandbox", db.insert, db, "runs",
             { scorecard = "s", scorecard_hash = "h", started_at = "x" })
  checkerror("DELETE from 'scores' is not allowed in the sandbox", db.exec, db, "DELETE FROM scores")
  checkerror("UPDATE of 'inputs' is not allowed in the sandbox", db.exec, db,
             "UPDATE inputs SET vals = '[]'")
  checkerror("INSERT into 'scorecards' is not allowed in the sandbox", db.exec, db,
             "INSERT INTO scorecards(hash, name) VALUES ('x', 'y')")
end)

test("run_end gives the widest cells stored, as SQL's cell_width and cell_cut measure them", function()
  local db = vouch.db.open()
  -- Each case alone in a run: plain, long, wide, escaped, combining and
  -- invalid UTF-8 cells, and cuts that land inside them.
  local cases = {
    { "P1", "Plain Name", "brand" },
    { "P2", "Exactly Twenty-Eight Bytes!!", "kol" },
    { "P3", "Exactly Twenty-Nine Bytes!!!!", "kol" },
    { "東京", "東京パートナーズ株式会社グループ東京パートナーズ株式会社グループ", "ブランド" },
    { "X\tY", "Bell\1And\127Del and a tail long enough to be cut", "kind\2" },
    { "P6", "Cafe\204\129 Me\204\129lange Combining Marks Here And More", nil },
    { "\255\254", "Bad \255 UTF-8 \192\128 in a name that is long enough", "\200" },
    { "P8", "\255\255\255\255\255\255\255\255\255\255\255\255\255\255\255\255" ..
            "\255\255\255\255\255\255\255\255\255\255\255\255\255\255", "x" },
    { "P9", "Two\nLines\r\n and a tab\t and more to cut past 28", "" },
    { "PA", nil, nil },
  }
  local h = require("vouch.scorecard").hash("return 3")
  for k, c in ipairs(cases) do
    local run = db:run_begin { scorecard = "w", hash = h, source = "return 3" }
    db:run_score(run, c[1], c[2], c[3], 50, "review", nil, nil, {}, {})
    local cells = db:run_end(run, "ok", 1)
    if server then eq(cells.server, "ok", "case " .. k .. ": its status on the server") end
    local m = db:one("SELECT max(cell_width(partner_id)) AS id, " ..
                     "max(cell_width(cell_cut(name, 28))) AS name, max(cell_width(kind)) AS kind " ..
                     "FROM scores WHERE run_id = ?", run)
    eq(cells.id, m.id, "case " .. k .. ": the id's width")
    eq(cells.name, m.name or 0, "case " .. k .. ": the cut name's width")
    eq(cells.kind, m.kind or 0, "case " .. k .. ": the kind's width")
  end
  -- Over many rows, the widest of each column.
  local run = db:run_begin { scorecard = "w", hash = h, source = "return 3" }
  for k, c in ipairs(cases) do
    db:run_score(run, c[1] .. k, c[2], c[3], 50, "review", nil, nil, {}, {})
  end
  local cells = db:run_end(run, "ok", #cases)
  if server then eq(cells.server, "ok", "its status on the server") end
  local m = db:one("SELECT max(cell_width(partner_id)) AS id, " ..
                   "max(cell_width(cell_cut(name, 28))) AS name, max(cell_width(kind)) AS kind " ..
                   "FROM scores WHERE run_id = ?", run)
  eq(cells.id, m.id, "the widest id")
  eq(cells.name, m.name, "the widest cut name")
  eq(cells.kind, m.kind, "the widest kind")
end)

test("a run's rows keep their order with the database's other calls, and a row that fails is raised", function()
  local db = vouch.db.open()
  local h = require("vouch.scorecard").hash("return 2")
  local reasons = {}
  for k = 1, 40 do
    local n = #reasons
    reasons[n + 1], reasons[n + 2], reasons[n + 3], reasons[n + 4], reasons[n + 5] =
      "RULE_" .. k, "penalty", -k, false, false
  end
  -- Stored in many batches: every call on the database sees every row before it.
  local function spec()
    return { scorecard = "order", hash = h, source = "return 2", dimensions = { "reach" },
             weights = { 1 } }
  end
  local run = db:run_begin(spec())
  local load = db:run_load(run, { source = "b.csv", format = "csv", columns = { "id" } })
  for i = 1, 3000 do
    db:run_input(load, i, { id = "p" .. i })
    db:run_score(run, "p" .. i, "name " .. i, nil, i / 100, "review", load, i, { i / 30 }, reasons)
    if i % 997 == 0 then
      eq(db:one("SELECT count(*) AS n FROM scores WHERE run_id = ?", run).n, i, "rows before " .. i)
      local n = 0
      for _ in db:rows("SELECT 1 FROM inputs WHERE load_id = ?", load) do n = n + 1 end
      eq(n, i, "input rows before " .. i)
    end
  end
  db:run_load_end(load, { hash = "order", rows = 3000 })
  local ended = db:run_end(run, "ok", 3000)
  if server then eq(ended.server, "ok", "its status on the server") end
  eq(db:one("SELECT count(*) AS n, sum(length(reasons)) AS len FROM scores WHERE run_id = ?",
            run).n, 3000, "every row")
  eq(db:one("SELECT reasons FROM scores WHERE run_id = ? AND partner_id = 'p3000'", run).reasons:sub(1, 32),
     '[["RULE_1","penalty",-1,null],["', "the last row whole")
  -- A row SQLite refuses (an id twice) is raised by a later call on the
  -- database, and inside db:tx nothing of the run is kept.
  local run2 = db:run_begin(spec())
  local ok, err = pcall(db.tx, db, function()
    for i = 1, 3000 do
      db:run_score(run2, i == 2000 and "p5" or "p" .. i, nil, nil, 1, "review", nil, nil, { 1 }, reasons)
    end
  end)
  assert(not ok, "the transaction fails")
  assert(tostring(err):find("UNIQUE constraint failed: scores.run_id, scores.partner_id " ..
                            "(SQLITE_CONSTRAINT_PRIMARYKEY)", 1, true), err)
  eq(db:one("SELECT count(*) AS n FROM scores WHERE run_id = ?", run2).n, 0, "nothing kept")
  -- Outside a transaction the rows before it stay, and the failure is
  -- raised once: the database is usable after it.
  db:run_score(run2, "q1", nil, nil, 1, "review", nil, nil, { 1 }, {})
  db:run_score(run2, "q1", nil, nil, 1, "review", nil, nil, { 1 }, {})
  ok, err = pcall(db.one, db, "SELECT 1 AS one")
  assert(not ok and tostring(err):find("UNIQUE constraint failed", 1, true), err)
  eq(db:one("SELECT count(*) AS n FROM scores WHERE run_id = ?", run2).n, 1, "the first row kept")
  ended = db:run_end(run2, "failed", nil, "twice")
  if server then  -- a failed run is sent without its rows, and the copy follows
    eq(ended.server, "failed", "the failed run's status on the server")
    db:refresh()
    eq(db:one("SELECT count(*) AS n FROM scores WHERE run_id = ?", run2).n, 0,
       "the failed run's rows, once the copy is brought up to date")
  end
  -- Closed with rows still to write: they are written, or rolled back with
  -- the transaction they were in; nothing hangs.
  local run3 = db:run_begin(spec())
  for i = 1, 500 do db:run_score(run3, "c" .. i, nil, nil, 1, "review", nil, nil, { 1 }, reasons) end
  db:close()
  db = vouch.db.open()
  eq(db:one("SELECT count(*) AS n FROM scores WHERE run_id = ?", run3).n, 500, "written at close")
end)

if server then
  test("a run that fails is sent as failed, without its rows, loads or inputs", function()
    local db = vouch.db.open()
    local h = require("vouch.scorecard").hash("return 4")
    local run = db:run_begin { scorecard = "fails", hash = h, source = "return 4",
                               dimensions = { "reach" }, weights = { 1 } }
    local load = db:run_load(run, { source = "c.csv", format = "csv", columns = { "id" } })
    local ok, err = pcall(function()
      for i = 1, 100 do
        db:run_input(load, i, { id = "f" .. i })
        db:run_score(run, "f" .. i, nil, nil, i, "approve", load, i, { i }, { "R", "score", i, 1, false })
        if i == 60 then error("scoring stopped at f60") end
      end
    end)
    assert(not ok, "the error inside the run")
    eq(count(db, "scores WHERE run_id = ?", run), 60, "staged here until it ends")
    local ended = db:run_end(run, "failed", nil, err)
    eq(ended.server, "failed", "its status on the server")
    db:refresh()
    local r = db:one("SELECT status, error FROM runs WHERE id = ?", run)
    eq(r.status, "failed", "failed in the copy")
    assert(r.error:find("scoring stopped at f60", 1, true), r.error)
    eq(count(db, "scores WHERE run_id = ?", run), 0, "no scores")
    eq(count(db, "run_loads WHERE run_id = ?", run), 0, "no loads")
    eq(count(db, "inputs WHERE vals = '[\"f1\"]'"), 0, "no inputs")
    checkerror("has ended", db.run_score, db, run, "f61", nil, nil, nil, "reject", nil, nil, {}, {})
  end)
end

test("db:queue runs statements on the database's thread, in order with every other call", function()
  local db = vouch.db.open("")
  db:exec("CREATE TABLE q(k TEXT PRIMARY KEY, n INTEGER, f REAL, b BLOB, t)")
  db:exec("BEGIN")
  for i = 1, 20000 do
    db:queue("INSERT INTO q VALUES (?, ?, ?, ?, ?)", "k" .. i, i, i / 4,
             i == 7 and vouch.db.blob("\0\1") or nil, i % 2 == 0)
    if i % 6007 == 0 then eq(db:one("SELECT count(*) AS n FROM q").n, i, "rows before " .. i) end
  end
  db:exec("COMMIT")
  local r = db:one("SELECT count(*) AS n, sum(n) AS s, sum(f) AS f FROM q")
  eq(r.n, 20000, "every row")
  eq(r.s, 20000 * 20001 // 2, "integers")
  eq(r.f, 20000 * 20001 / 8, "floats")
  eq(db:one("SELECT b FROM q WHERE k = 'k7'").b, "\0\1", "a blob")
  eq(db:one("SELECT t FROM q WHERE k = 'k8'").t, 1, "a boolean as 1")
  checkerror("'queue' got 1 parameter value for SQL with 5 parameters", db.queue, db,
             "INSERT INTO q VALUES (?, ?, ?, ?, ?)", "x")
  checkerror("'queue' takes one SQL statement", db.queue, db, "SELECT 1; SELECT 2")
  checkerror("bad parameter 1 to 'queue' (table has no SQL value)", db.queue, db,
             "INSERT INTO q(k) VALUES (?)", {})
  -- A statement that fails is raised by the next call, once; the ones
  -- queued after it are not made.
  db:queue("INSERT INTO q(k) VALUES (?)", "k1")
  db:queue("INSERT INTO q(k) VALUES (?)", "new")
  local ok, err = pcall(db.one, db, "SELECT 1 AS one")
  assert(not ok and tostring(err):find("UNIQUE constraint failed: q.k (SQLITE_CONSTRAINT_PRIMARYKEY)", 1,
                                       true), err)
  eq(db:one("SELECT count(*) AS n FROM q WHERE k = 'new'").n, 0, "the statement after it not made")
  -- Inside a transaction the failure is told to every call until it is
  -- rolled back: another task that hears of it first cannot let the
  -- transaction commit without the rows around it.
  local told, committed, queued
  vouch.all { function()
    committed = pcall(db.tx, db, function()
      db:queue("INSERT INTO q(k) VALUES (?)", "before")
      db:queue("INSERT INTO q(k) VALUES (?)", "k2")
      db:queue("INSERT INTO q(k) VALUES (?)", "after")
      queued = true
      while not told do vouch.sleep(1) end
    end)
  end, function()
    while not queued do vouch.sleep(1) end
    told = select(2, pcall(db.one, db, "SELECT 1 AS one"))
  end }
  assert(tostring(told):find("UNIQUE constraint failed: q.k", 1, true), told)
  eq(committed, false, "the transaction does not commit")
  eq(db:one("SELECT count(*) AS n FROM q WHERE k IN ('before', 'after')").n, 0, "nothing of it kept")
  eq(db:one("SELECT count(*) AS n FROM q").n, 20000, "the database usable after the rollback")
  db:close()
  -- The sandbox's rules hold for queued statements: refused when prepared.
  local host = vouch.db.open()
  checkerror("is not allowed in the sandbox", host.queue, host, "DELETE FROM scores WHERE run_id = ?", 1)
end)

test("a missing file opened read-only is an expected failure", function()
  local db, msg, code = vouch.db.open("missing.db", "r")
  eq(db, nil, "no database")
  assert(msg:find("^missing.db: unable to open database file"), msg)
  eq(code, "SQLITE_CANTOPEN", "code")
end)

test("a path outside the capabilities is refused", function()
  checkerror("/etc/vouch-test.db: write access denied (allow it with --allow-write=PATH)",
             vouch.db.open, "/etc/vouch-test.db")
  checkerror("/etc/hosts: read access denied (allow it with --allow-read=PATH)",
             vouch.db.open, "/etc/hosts", "r")
  checkerror("write access denied", vouch.db.open, "../../../../../../tmp/x.db")
end)

test(":memory: databases are private", function()
  local a, b = vouch.db.open(":memory:"), vouch.db.open(":memory:")
  a:exec("CREATE TABLE t(x)")
  checkerror("no such table", b.exec, b, "SELECT * FROM t")
  assert(a ~= vouch.db.open(), "not the host database")
end)

-- }======================================================

-- {====================================================== the sandbox

test("the authorizer refuses ATTACH and DETACH", function()
  local db = fresh()
  checkerror("ATTACH and VACUUM INTO are not allowed in the sandbox", db.exec, db,
             "ATTACH DATABASE 'attached.db' AS other")
  checkerror("(SQLITE_AUTH)", db.exec, db, "ATTACH ':memory:' AS m")
  checkerror("DETACH is not allowed in the sandbox", db.exec, db, "DETACH DATABASE main")
  local f = vouch.db.open("attached.db", "r")
  eq(f, nil, "no file was created")
end)

test("the authorizer refuses VACUUM and VACUUM INTO", function()
  local db = fresh()
  db:exec("CREATE TABLE t(a); INSERT INTO t VALUES (1)")
  checkerror("ATTACH and VACUUM INTO are not allowed in the sandbox", db.exec, db,
             "VACUUM INTO 'copy.db'")
  checkerror("ATTACH and VACUUM INTO are not allowed in the sandbox", db.exec, db,
             "VACUUM main INTO '/tmp/vouch-escape.db'")
  checkerror("VACUUM is not allowed in the sandbox", db.exec, db, "VACUUM")
  eq(vouch.db.open("copy.db", "r"), nil, "no copy was written")
  eq(count(db, "t"), 1, "the database is intact")
end)

test("the authorizer refuses load_extension and fts3_tokenizer", function()
  local db = fresh()
  checkerror("load_extension() is not allowed in the sandbox", db.one, db,
             "SELECT load_extension('/lib/x86_64-linux-gnu/libc.so.6')")
  checkerror("fts3_tokenizer() is not allowed in the sandbox", db.one, db,
             "SELECT fts3_tokenizer('simple')")
end)

test("the authorizer allows only safe PRAGMAs", function()
  local db = fresh()
  db:exec("CREATE TABLE t(a INTEGER, b TEXT)")
  local cols = {}
  for r in db:rows("PRAGMA table_info(t)") do cols[#cols + 1] = r.name end
  eq(table.concat(cols, ","), "a,b", "table_info")
  eq(db:one("PRAGMA integrity_check").integrity_check, "ok", "integrity_check")
  eq(db:one("PRAGMA user_version").user_version, 0, "reading user_version")
  eq(db:one("SELECT count(*) AS n FROM pragma_table_info('t')").n, 2, "pragma functions")
  db:exec("PRAGMA cache_size = 100")
  db:exec("PRAGMA defer_foreign_keys = ON")
  for _, p in ipairs { "PRAGMA user_version = 7", "PRAGMA journal_mode = DELETE",
                       "PRAGMA writable_schema = ON", "PRAGMA temp_store_directory = '/tmp'",
                       "PRAGMA locking_mode = EXCLUSIVE", "PRAGMA synchronous = OFF",
                       "PRAGMA foreign_keys = OFF", "PRAGMA mmap_size = 100000" } do
    checkerror("is not allowed in the sandbox", db.exec, db, p)
  end
  eq(db:one("PRAGMA user_version").user_version, 0, "unchanged")
  eq(db:one("PRAGMA foreign_keys").foreign_keys, 1, "still on")
end)

test("the host database has the authorizer too", function()
  local db = vouch.db.open()
  checkerror("ATTACH and VACUUM INTO are not allowed", db.exec, db, "ATTACH 'x.db' AS x")
  checkerror("is not allowed in the sandbox", db.exec, db, "PRAGMA user_version = 99")
  eq(db:one("PRAGMA user_version").user_version, vouch.db.schema_version, "unchanged")
end)

test("json_argmin: the position of a partner's weakest dimension", function()
  local db = vouch.db.open(":memory:")
  local function argmin(text) return db:one("SELECT json_argmin(?) AS i", text).i end
  eq(argmin("[3,1.5,null,1.5,2]"), 1, "the first of the least, nulls skipped")
  eq(argmin("[-2e3, 7]"), 0, "exponents and spaces")
  eq(argmin("[null,null]"), nil, "no number")
  eq(argmin("[]"), nil, "empty")
  eq(argmin('["a",1]'), nil, "not an array of numbers")
  eq(argmin("[1,2"), nil, "unterminated")
  eq(argmin(nil), nil, "NULL")
end)

test("reason_codes: the codes of the ranked reasons, in order", function()
  local db = fresh()
  local function codes(text) return db:one("SELECT reason_codes(?) AS c", text).c end
  eq(codes('[["A","score",1,1],["B","penalty",-5,2,{"x":[1,"]"]}],["C","veto",null,null],' ..
           '["D","cap",0,3]]'), "A, B, D", "ranked ones, evidence stepped over")
  eq(codes("[]"), "", "none")
  eq(codes('[["A","veto",null,null]]'), "", "a flag without a rank")
  eq(codes(' [ [ "A" , "x" , 2 , 3 ] ] '), "A", "spaces")
  for _, bad in ipairs { "junk", "[[", '[["A",1,2,3,{"a":"b\\"}]', "[1]", '[["A",1,2,3]' } do
    eq(codes(bad), nil, "not an array of arrays: " .. bad)
  end
  eq(codes(nil), nil, "NULL")
end)

test("json_argmin: every decimal read as strtod reads it", function()
  local db = vouch.db.open(":memory:")
  -- Pairs that differ in their last digit, or only past the digits a
  -- double holds: the least is the one Lua's tonumber (strtod) finds.
  local texts = { "0.1", "0.10000000000000001", "0.1000000000000000055511151231257827",
                  "123456789012345", "123456789012345.6", "1234567890123456", "9007199254740993",
                  "-0", "0", "-0.0000001", "2.675", "2.67499999999999982236431605997495353221893310546875",
                  "1.", ".5", "0.5", "1e-1", "5E-1", "-1.5", "-1.50000000000000001", "00012.5", "12.50" }
  local seed = 7
  local function rnd(k) seed = (seed * 1103515245 + 12345) % 2147483648; return seed % k end
  for _ = 1, 400 do
    local a = {}
    for k = 1, 2 + rnd(4) do
      a[k] = rnd(3) == 0 and texts[1 + rnd(#texts)] or
             string.format("%s%d.%0" .. (1 + rnd(15)) .. "d", rnd(2) == 0 and "-" or "", rnd(100),
                           rnd(2147483647))
    end
    local want, low
    for k, t in ipairs(a) do
      local x = tonumber(t)
      if x and (not low or x < low) then want, low = k - 1, x end
    end
    local text = "[" .. table.concat(a, ",") .. "]"
    eq(db:one("SELECT json_argmin(?) AS i", text).i, want, text)
    -- The same decimal with zeros past the 15 digits read here (so strtod
    -- reads it) is the same number, whichever comes first.
    local d = string.format("%s%d.%0" .. (1 + rnd(13)) .. "d", rnd(2) == 0 and "-" or "", rnd(100),
                            rnd(2147483647))
    local z = d .. "0000000000000000"
    eq(db:one("SELECT json_argmin(?) AS i", "[" .. d .. "," .. z .. "]").i, 0, d .. " then " .. z)
    eq(db:one("SELECT json_argmin(?) AS i", "[" .. z .. "," .. d .. "]").i, 0, z .. " then " .. d)
  end
end)

test("cell_width and cell_cut: the command line's cli.width and cli.cut in SQL", function()
  local cli = require "vouch.scorecard.cli"
  local db = vouch.db.open(":memory:")
  local values = { "", "plain", "สยาม Co.", "ความไว้วางใจ Studio", "e\u{301}galite\u{301}",
                   "😀 emoji 😀", "tab\there", "line\nbreak", "\1\2\127 and \0 bytes", "cr\r",
                   "A Very Long Partner Name That Goes On And On", string.rep("é", 27),
                   string.rep("é", 28), string.rep("é", 29), string.rep("a", 27) .. "\n",
                   "東京パートナーズ株式会社グループ東京パートナーズ株式会社グループ",
                   -- not UTF-8: as wide as its bytes, cut as utf8.offset counts
                   "\xff\xfe not UTF-8, and longer than the cut", "\x80 starts with a continuation byte",
                   "ends cut short \xe2\x82", "\xed\xa0\x80 a surrogate, long enough to cut",
                   "\xf4\x90\x80\x80 above U+10FFFF", "\xc0\xaf overlong", string.rep("\x80", 40),
                   "a" .. string.rep("\x80", 40), "ab" .. string.rep("\xc3\xa9\x80", 12) }
  for _, v in ipairs(values) do
    eq(db:one("SELECT cell_width(?) AS w", v).w, cli.width(v), "width of " .. string.format("%q", v))
    for _, n in ipairs { 0, 1, 2, 5, 27, 28 } do
      eq(db:one("SELECT cell_cut(?, ?) AS c", v, n).c, cli.cut(v, n),
         "cut to " .. n .. " of " .. string.format("%q", v))
    end
  end
  eq(db:one("SELECT cell_width(NULL) AS w").w, nil, "NULL")
  eq(db:one("SELECT cell_cut(NULL, 3) AS c").c, nil, "NULL cut")
end)

test("printable and fixed: what the listing of a run is made of", function()
  local db = fresh()
  local function one(sql, ...) return db:one("SELECT " .. sql .. " AS v", ...).v end
  eq(one("printable(?)", "Plain ~ text"), 1, "printable ASCII")
  eq(one("printable(?)", "tab\there"), 0, "a control character")
  eq(one("printable(?)", "Zürich"), 0, "not ASCII")
  eq(one("printable(NULL)"), 1, "NULL")
  for _, x in ipairs { 78.25, 78.75, -0.25, 0.05, 2.675, 1e15, 0, -0.0 } do
    eq(one("fixed(?, 1)", x), string.format("%.1f", x), "fixed " .. x)
  end
  eq(one("fixed(NULL, 1)"), nil, "NULL")
  checkerror("0 to 17", db.one, db, "SELECT fixed(1, 18)")
end)

-- }======================================================

-- {====================================================== the record on a server

-- What the server should hold, for pg_db_lua.sh to compare with what it
-- holds: every run as the copy has it once brought up to date, and, of
-- the runs that ended ok, their scorecards, loads, inputs and scores as
-- written here; a run that failed, or still runs, has no rows there. A
-- file per table (server.runs ...), a record per row, each ended by a NUL,
-- its fields apart by \31, NULL as \N: the form of psql -A -t -0. Floats
-- to 15 digits, as PostgreSQL's total::numeric writes them.
if server then
  -- The server's text of bytes that are not UTF-8: each such byte the
  -- character of the same number (Latin-1), a NUL dropped.
  local function as_server(s)
    local out, i = {}, 1
    while i <= #s do
      local c = s:byte(i)
      local n = c >= 0xf0 and 4 or c >= 0xe0 and 3 or c >= 0xc0 and 2 or 1
      local ch = s:sub(i, i + n - 1)
      if c == 0 then ch = ""
      elseif #ch < n or utf8.len(ch) ~= 1 then ch, n = utf8.char(c), 1 end
      out[#out + 1] = ch
      i = i + n
    end
    return table.concat(out)
  end

  local function record(row, cols)
    local f = {}
    for k, col in ipairs(cols) do
      local v = row[col]
      if v == nil then f[k] = "\\N"
      elseif math.type(v) == "float" then f[k] = string.format("%.15g", v)
      else f[k] = as_server(tostring(v)) end
    end
    return table.concat(f, "\31") .. "\0"
  end

  test("the record on the server: what it should hold, written for pg_db_lua.sh", function()
    local db = vouch.db.open()
    db:refresh()
    local ok = "SELECT id FROM runs WHERE status = 'ok'"
    local tables = {
      runs = { "SELECT * FROM runs ORDER BY id", "id", "scorecard", "scorecard_hash", "inputs",
               "started_at", "ended_at", "status", "started_by", "pid", "partners", "error" },
      scorecards = { "SELECT * FROM scorecards WHERE hash IN (SELECT scorecard_hash FROM runs " ..
                     "WHERE status = 'ok') ORDER BY hash", "hash", "name", "dimensions", "weights",
                     "source", "rules" },
      loads = { "SELECT * FROM loads WHERE id IN (SELECT load_id FROM run_loads WHERE run_id IN (" ..
                ok .. ")) ORDER BY id", "id", "source", "format", "hash", "rows", "bad_rows", "target",
                "loaded_at", "size", "columns" },
      run_loads = { "SELECT * FROM run_loads WHERE run_id IN (" .. ok .. ") ORDER BY run_id, load_id",
                    "run_id", "load_id" },
      inputs = { "SELECT * FROM inputs WHERE load_id IN (SELECT load_id FROM run_loads WHERE " ..
                 "run_id IN (" .. ok .. ")) ORDER BY load_id, row", "load_id", "row", "vals" },
      scores = { "SELECT * FROM scores WHERE run_id IN (" .. ok .. ") ORDER BY run_id", "run_id",
                 "partner_id", "name", "kind", "total", "verdict", "dims", "reasons", "load_id", "row" },
    }
    local runs = 0
    for name, t in pairs(tables) do
      local cols, recs = table.move(t, 2, #t, 1, {}), {}
      for row in db:rows(t[1]) do
        if name == "scores" then row.partner_id = as_server(row.partner_id) end
        recs[#recs + 1] = { row.run_id, row.partner_id, record(row, cols) }
      end
      if name == "scores" then  -- in the order of the server's bytes (COLLATE "C")
        table.sort(recs, function(a, b)
          if a[1] ~= b[1] then return a[1] < b[1] end
          return a[2] < b[2]
        end)
      end
      if name == "runs" then runs = #recs end
      for k, r in ipairs(recs) do recs[k] = r[3] end
      assert(vouch.file.write("server." .. name, table.concat(recs)))
    end
    assert(runs > 0, "no run on the server")
  end)
end

-- }======================================================

-- ndjson_test.lua: vouch.load.ndjson, one JSON value per line, streamed.
local T = require "testlib"

local DATA = arg[0]:match("^(.*)/lua/[^/]*$") .. "/data/json/"

local function err(f, ...)
  local ok, e = pcall(f, ...)
  if ok then error("expected an error, got none", 2) end
  return e
end

local function nd(name, opts) return assert(vouch.load.ndjson(DATA .. name, opts)) end

T.test("one value per line; CRLF; blank lines skipped", function()
  local rows = nd("rows.ndjson"):all()
  T.eq(#rows, 3)
  T.eq(rows[1].id, "P1")
  T.eq(rows[2].n, 9007199254740993, "exact integer")
  T.eq(rows[3].n, -0.5) T.eq(rows[3].s, "a\0b")
end)

T.test("last line without a line break", function()
  local rows = nd("nofinal.ndjson"):all()
  T.eq(#rows, 2) T.eq(rows[2].id, "P2")
end)

local bad = {
  {"bad.ndjson", "3:8: invalid token near 'P'"},
  {"truncated.ndjson", "2:22: ']' expected near end of file"},
  {"nul.ndjson", "2:8: control character 0x0 near '\"P'"},
  {"bad_utf8.ndjson", "2:7: unable to decode byte 0xff near '\"'"},
}
for _, c in ipairs(bad) do
  T.test("malformed: " .. c[1], function()
    local src = nd(c[1])
    T.eq(err(src.all, src), DATA .. c[1] .. ":" .. c[2])
  end)
end

T.test("rows before the bad line are read first", function()
  local src = nd("bad.ndjson")
  local it = src:rows()
  T.eq(it(src).id, "P1") T.eq(it(src).id, "P2")
  T.eq(err(it, src), DATA .. "bad.ndjson:3:8: invalid token near 'P'")
end)

T.test("skip_bad skips and counts bad lines", function()
  local src = nd("bad.ndjson", {skip_bad = true})
  local ids = {}
  for r in src:rows() do ids[#ids + 1] = r.id end
  T.eq(table.concat(ids, ","), "P1,P2,P4") T.eq(src.bad_rows, 1)
end)

T.test("into() stores the lines; nothing when one is bad", function()
  local db = vouch.db.open()
  T.eq(nd("rows.ndjson"):into(db, "nd"), 3)
  T.eq(db:one("SELECT n FROM nd WHERE id = 'P2'").n, 9007199254740993)
  T.eq(db:one("SELECT s FROM nd WHERE id = 'P3'").s, "a\0b")
  local l = db:one("SELECT * FROM loads ORDER BY id DESC LIMIT 1")
  T.eq(l.format, "ndjson") T.eq(l.rows, 3)
  T.eq(err(function() return nd("bad.ndjson"):into(db, "ndbad") end),
    DATA .. "bad.ndjson:3:8: invalid token near 'P'")
  T.eq(db:one("SELECT count(*) AS n FROM sqlite_master WHERE name = 'ndbad'").n, 0)
  T.eq(err(function() return nd("keys.ndjson"):into(db, "ndkeys") end),
    DATA .. "keys.ndjson:2:1: the row has the key 'm', not a column " ..
    "(the columns are the keys of the first row)")
  T.eq(db:one("SELECT count(*) AS n FROM sqlite_master WHERE name = 'ndkeys'").n, 0)
end)

T.test("missing file and misuse", function()
  local src, msg, code = vouch.load.ndjson("none.ndjson")
  T.eq(src, nil) T.eq(msg, "none.ndjson: No such file or directory") T.eq(code, "ENOENT")
  T.checkerror("unknown option 'header'", vouch.load.ndjson, DATA .. "rows.ndjson",
    {header = true})
end)

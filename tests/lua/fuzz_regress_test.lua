-- fuzz_regress_test.lua: every input a fuzzer (tests/fuzz) found to crash
-- or misbehave, replayed through the Lua API so the normal suite keeps it
-- fixed. Each test names the fuzz target and what went wrong.
local T = require "testlib"

-- fuzz_cron: "every 5s" from math.maxinteger overflowed int64 in the
-- interval arithmetic (UBSan: signed integer overflow) and returned a time
-- before the start.
T.test("cron: interval from the largest integer fires never", function()
  local t = vouch.cron.next("every 5s", math.maxinteger)
  T.eq(#t, 0, "fire times")
end)

T.test("cron: expression from far past or future fires never", function()
  T.eq(#vouch.cron.next("0 0 * * *", -math.maxinteger), 0, "fire times")
  T.eq(#vouch.cron.next("0 0 * * *", math.maxinteger), 0, "fire times")
  T.eq(#vouch.cron.next("0 0 * * *", 253402300799 - 86400), 0, "fire times near year 9999")
end)

T.test("cron: times beyond year 9999 print as empty text", function()
  T.eq(vouch.cron.utc(math.maxinteger), "", "utc")
  T.eq(vouch.cron.utc(-math.maxinteger), "", "utc")
  T.eq(vouch.cron.utc(253402300799), "9999-12-31T23:59:59Z", "utc")
end)

T.test("cron: ordinary times still work at the edges", function()
  T.eq(vouch.cron.next("*/5 * * * *", 0)[1], "1970-01-01T00:05:00Z", "from the epoch")
  T.eq(vouch.cron.next("every 1h", -1)[1], "1970-01-01T00:00:00Z", "before the epoch")
end)

-- fuzz_csv: a header naming a column twice gave rows() the last value only
-- (silently) while into() failed in SQLite. Now both refuse it, naming
-- file:line:column.
local dir = arg[0]:match("^(.*)/tests/lua/[^/]*$") .. "/tests/fuzz/regress/"

T.test("csv: a duplicate column name is bad input at its place", function()
  local path = dir .. "csv-dup-header.csv"
  T.checkerror(path .. ":1:9: duplicate column name 'id'", function()
    for _ in assert(vouch.load.csv(path)):rows() do end
  end)
  local db = vouch.db.open(":memory:")
  T.checkerror(path .. ":1:9: duplicate column name 'id'", function()
    assert(vouch.load.csv(path)):into(db, "t")
  end)
end)

T.test("csv: a duplicate quoted, escaped column name is found too", function()
  local path = dir .. "csv-dup-header-quoted.csv"
  T.checkerror("duplicate column name 'n\"'", function()
    for _ in assert(vouch.load.csv(path)):rows() do end
  end)
end)

-- Names differing in case are two keys in Lua but one column in SQLite:
-- rows() gives both, into() refuses them with a message naming the file.
T.test("csv: names differing in case load as rows, refused by into()", function()
  local path = dir .. "csv-case-header.csv"
  local rows = assert(vouch.load.csv(path)):all()
  T.eq(rows[1].a, 1, "a"); T.eq(rows[1].A, 2, "A")
  local db = vouch.db.open(":memory:")
  T.checkerror(path, function() assert(vouch.load.csv(path)):into(db, "t") end)
  T.eq(db:one("SELECT count(*) AS n FROM sqlite_schema WHERE name = 't'").n, 0, "no table left")
end)

-- fuzz_json: a loader's error quoting the input's own text "stack overflow"
-- was taken for Lua's stack overflow by pcall, which ended the script as
-- if a limit had struck. Only Lua's own words, by their shape, count.
T.test("json: an error quoting 'stack overflow' from the data is an ordinary error", function()
  local path = dir .. "json-stack-overflow-text.ndjson"
  local ok, err = pcall(function()
    for _ in assert(vouch.load.ndjson(path)):rows() do end
  end)
  T.eq(ok, false, "the bad line fails")
  assert(tostring(err):find("stack overflow", 1, true), err)
  assert(tostring(err):find(path, 1, true), err)
  local ok2, err2 = pcall(error, "near 'stack overflow (x)'")
  T.eq(ok2, false, "caught")
  T.eq(err2, "near 'stack overflow (x)'", "the message as raised")
end)

-- paths_test.lua: the host's database seen from a script whose working
-- directory, where the database lives, is writable (run.sh runs it with
-- --allow-write on it). The database and its -wal, -shm and -journal are
-- reachable only through vouch.db; any other name beside them is an
-- ordinary file of the grant. tests/cli/trust_paths.sh covers symlinks.
local T = require "testlib"
local file = vouch.file

local host = vouch.db.open()
host:exec("CREATE TABLE IF NOT EXISTS paths_probe(x)")
host:exec("INSERT INTO paths_probe VALUES (42)")
local db = tostring(host):match("^vouch%.db %((.*)%)$")
-- vouch.script takes "vouch.x" for an embedded script: name the file as one.
local dbfile = db:find("/", 1, true) and db or "./" .. db
local ONLY = "the host's database is reachable only through vouch.db"

T.test("the database and its -wal, -shm and -journal cannot be written as files", function()
  for _, suffix in ipairs({ "", "-wal", "-shm", "-journal" }) do
    local err = T.checkerror(ONLY, file.write, db .. suffix, "garbage")
    T.eq(err:find(db .. suffix .. ": ", 1, true) ~= nil, true, "message names the path")
    T.checkerror(ONLY, file.mkdir, db .. suffix)
  end
end)

T.test("the database and its -wal cannot be read by a loader, vouch.script or file.hash", function()
  T.checkerror(ONLY, vouch.load.csv, db)
  T.checkerror(ONLY, file.hash, db)
  T.checkerror(ONLY, file.hash, db .. "-wal")
  T.checkerror(ONLY, vouch.load.json, db .. "-wal")
  T.checkerror(ONLY, vouch.script, dbfile)
  T.checkerror(ONLY, vouch.script, dbfile .. "-journal")
end)

T.test("the database's -wal opened as a database is refused", function()
  T.checkerror(ONLY, vouch.db.open, db .. "-wal")
  T.checkerror(ONLY, vouch.db.open, db .. "-shm", "r")
end)

T.test("a name that begins with the database's is an ordinary file", function()
  T.eq(file.write(db .. "-x", "return 'x'"), true, "write")
  T.eq(vouch.script(dbfile .. "-x")(), "x", "read back")
  T.eq(file.mkdir(db .. "-dir"), true, "mkdir")
  T.eq(file.write(db .. "-dir/f", "f"), true, "a file inside")
end)

T.test("the database is intact and still reached through vouch.db", function()
  T.eq(host:one("SELECT x FROM paths_probe").x, 42, "the row written before")
  T.eq(vouch.db.open(db):one("SELECT count(*) AS n FROM paths_probe").n, 1, "by its path")
end)

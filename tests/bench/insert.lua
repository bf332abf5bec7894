-- insert.lua: db:insert of N rows as one array (the bulk path), the same
-- rows as insert_floor.c. Prints the CPU seconds of the insert itself.
--   vouch run --allow-write=DIR insert.lua DB N
local path, n = arg[1], tonumber(arg[2])
local kinds = { "brand", "influencer", "kol", "supplier" }
local rows = {}
for i = 1, n do
  rows[i] = { id = string.format("P%07d", i), name = "Partner number " .. i,
              kind = kinds[i % 4 + 1], followers = i * 37 % 1000003,
              engagement = (i % 1000) / 10000.0, score = (i % 100) + 0.5,
              verified = i % 2, country = "TH" }
end
local db = assert(vouch.db.open(path))
db:exec([[CREATE TABLE t(id TEXT, name TEXT, kind TEXT, followers INTEGER,
  engagement REAL, score REAL, verified INTEGER, country TEXT)]])
local t0 = os.clock()
db:insert("t", rows)
print(string.format("%.4f", os.clock() - t0))
assert(db:one("SELECT count(*) AS n FROM t").n == n)
db:close()

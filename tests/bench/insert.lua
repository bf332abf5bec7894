-- insert.lua: the Lua side of the storage bench. Builds the rows insert_floor.c
-- inserts (the scores shape of the workload), CHUNK at a time, and inserts
-- each array with db:insert, all in one transaction. Prints the rows, the CPU
-- seconds spent in db:insert and the commit, and the seconds including the
-- building of the rows.
local n, chunk = tonumber(arg[1]), tonumber(arg[2]) or 100000
local db = vouch.db.open()
local kinds = { "brand", "creator", "kol", "sponsor", "supplier" }
local verdicts = { "approve", "review", "reject" }
local fmt = string.format
local clock = os.clock
local insert_time, start = 0, clock()
db:exec("BEGIN IMMEDIATE")
local done = 0
while done < n do
  local rows, m = {}, math.min(chunk, n - done)
  for j = 1, m do
    local r = done + j
    rows[j] = { run_id = 1, partner_id = fmt("P%07d", r), name = "Partner " .. r,
                kind = kinds[r % 5 + 1], total = (r % 10000) / 100.0,
                verdict = verdicts[r % 3 + 1],
                trust = (r * 1 % 1000) / 10.0, goodwill = (r * 2 % 1000) / 10.0,
                authority = (r * 3 % 1000) / 10.0, community = (r * 4 % 1000) / 10.0,
                empathy = (r * 5 % 1000) / 10.0, shared_values = (r * 6 % 1000) / 10.0,
                respect = (r * 7 % 1000) / 10.0, collaboration = (r * 8 % 1000) / 10.0 }
  end
  local t = clock()
  db:insert("scores", rows)
  insert_time = insert_time + (clock() - t)
  done = done + m
end
local t = clock()
db:exec("COMMIT")
insert_time = insert_time + (clock() - t)
print(n, fmt("%.3f", insert_time), fmt("%.3f", clock() - start))

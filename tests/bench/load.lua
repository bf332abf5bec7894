-- load.lua: read every row of a file with a vouch.load source.
--   vouch run --allow-read=DIR [--allow-write=DIR] load.lua csv|ndjson FILE [DB]
-- With DB, src:into(db, "raw") stores them (the loaders' bulk path); with
-- --field NAME, only that field of each row is read (src:field), as a
-- process of a run in shards passes over the others' rows.
local fmt, path, dbpath = arg[1], arg[2], arg[3]
local src = assert(vouch.load[fmt](path))
local n = 0
if dbpath == "--field" then
  for _ in src:field(arg[4]) do n = n + 1 end
elseif dbpath then
  local db = assert(vouch.db.open(dbpath))
  n = assert(src:into(db, "raw"))
  db:close()
else
  for _ in src:rows() do n = n + 1 end
end
print(n)

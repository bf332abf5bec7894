-- json_decode.lua: vouch.json.decode of one large array, timed inside.
--   vouch run --allow-read=DIR --allow-write=DIR json_decode.lua NDJSON OUT.json
-- Builds the array text from the NDJSON rows, writes it to OUT.json (for the
-- peers to decode the same bytes), and prints the CPU seconds of the decode.
local J = vouch.json
local src = assert(vouch.load.ndjson(arg[1]))
local parts = {}
for r in src:rows() do parts[#parts + 1] = J.encode(r) end
local text = "[" .. table.concat(parts, ",\n") .. "]"
parts = nil
vouch.file.write(arg[2], text)
collectgarbage()
local t = os.clock()
local v = J.decode(text)
local dt = os.clock() - t
assert(#v > 0)
print(dt)

-- json_cjson.lua: the lua-cjson peer for json.sh (plain lua5.4).
--   lua5.4 json_cjson.lua lines|whole FILE
local cjson = require "cjson"
local mode, path = arg[1], arg[2]
local n = 0
if mode == "lines" then
  for l in io.lines(path) do cjson.decode(l) n = n + 1 end
  print(n)
else  -- the CPU seconds of the decode alone
  local f = assert(io.open(path, "rb"))
  local text = f:read("a")
  f:close()
  local t = os.clock()
  cjson.decode(text)
  print(os.clock() - t)
end

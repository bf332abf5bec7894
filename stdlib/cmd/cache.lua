-- cache.lua: `vouch cache [prune [--older-than DAYS | --all]]`: the HTTP
-- responses kept by vouch.http's `cache = true`, and pruning them.
local cli = require "vouch.scorecard.cli"

local help = [[
Show the HTTP responses vouch.http keeps for revalidation (requests made
with cache = true): URL, status, size, when stored and last used, how often
served from the record. `prune` removes them: those unused for DAYS days
(--older-than DAYS), or all of them (--all).

  vouch cache [--limit N]
  vouch cache prune --older-than DAYS | --all

Exit codes: 0 done, 2 usage.]]

local function usage(why)
  cli.say("cache: %s\nusage: vouch cache [--limit N] | vouch cache prune "
    .. "--older-than DAYS | --all", why)
  return 2
end

return function(...)
  local opts, pos = cli.parse({ ... }, { limit = "value", ["older-than"] = "value",
                                         all = "flag", help = "flag" })
  if opts and opts.help then print(help); return 0 end
  if not opts then return usage(pos) end
  if pos[1] == "prune" then
    if #pos > 1 then return usage("unexpected '" .. pos[2] .. "'") end
    local days = opts["older-than"] and tonumber(opts["older-than"])
    if opts.all == (days ~= nil) or (days and days < 0) then
      return usage("prune needs --older-than DAYS (a number) or --all")
    end
    local n = vouch.http.cache_prune(days and { older_than = math.floor(days * 86400) } or nil)
    print(string.format("removed %d stored responses", n))
    return 0
  end
  if #pos > 0 then return usage("unknown subcommand '" .. pos[1] .. "'") end
  local limit = math.tointeger(tonumber(opts.limit or 50))
  if not limit or limit < 1 then return usage("--limit needs a positive number") end
  local db = vouch.db.open()
  local total
  for r in db:rows("SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM http_cache") do
    total = r
  end
  print(string.format("%d stored responses, %d bytes", total.n, total.bytes))
  local rows = {}
  for r in db:rows([[SELECT url, status, size, stored_at, used_at, hits FROM http_cache
                     ORDER BY used_at DESC, url LIMIT ?]], limit) do
    rows[#rows + 1] = { cli.cut(r.url, 70), tostring(r.status), tostring(r.size), r.stored_at,
                        r.used_at, tostring(r.hits) }
  end
  if #rows > 0 then
    for _, l in ipairs(cli.table({ "url", "status", "bytes", "stored", "used", "hits" }, rows,
                                 { [2] = true, [3] = true, [6] = true })) do
      print(l)
    end
  end
  return 0
end

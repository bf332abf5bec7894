-- cache.lua: `vouch cache [prune [--older-than DAYS | --all]]`: the HTTP
-- responses kept by vouch.http's `cache = true`, and pruning them.
local cli = require "vouch.scorecard.cli"

local commands = require "vouch.cmd.commands"

local function usage(why, sub)
  return commands.usage("cache", sub, why)
end

return function(...)
  local args = { ... }
  if args[1] == "prune" then
    local opts, pos = commands.args(table.move(args, 2, #args, 1, {}), "cache", "prune")
    if not opts then return pos end
    if #pos > 0 then return usage("unexpected '" .. pos[1] .. "'", "prune") end
    local days = opts["older-than"] and tonumber(opts["older-than"])
    if opts.all == (days ~= nil) or (days and days < 0) then
      return usage("prune needs --older-than DAYS (a number) or --all", "prune")
    end
    local n = vouch.http.cache_prune(days and { older_than = math.floor(days * 86400) } or nil)
    print(string.format("removed %d stored responses", n))
    return 0
  end
  local opts, pos = commands.args(args, "cache")
  if not opts then return pos end
  if #pos > 0 then return usage("unknown subcommand '" .. pos[1] .. "'") end
  local limit = math.tointeger(tonumber(opts.limit or 50))
  if not limit or limit < 1 then return usage("--limit needs a positive number") end
  local fmt, status = cli.format(opts, "cache")
  if not fmt then return status end
  local db = vouch.db.open()
  local total = db:one("SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM http_cache")
  local recs = {}
  for r in db:rows([[SELECT url, status, size, stored_at, used_at, hits FROM http_cache
                     ORDER BY used_at DESC, url LIMIT ?]], limit) do
    recs[#recs + 1] = r
  end
  if fmt == "json" then
    print(vouch.json.encode { count = total.n, bytes = total.bytes,
                              responses = vouch.json.array(recs) })
    return 0
  elseif fmt == "csv" then
    cli.print_csv({ "url", "status", "size", "stored_at", "used_at", "hits" }, recs)
    return 0
  end
  print(string.format("%d stored responses, %d bytes", total.n, total.bytes))
  local rows = {}
  for k, r in ipairs(recs) do
    rows[k] = { cli.cut(r.url, 70), tostring(r.status), tostring(r.size), r.stored_at,
                r.used_at, tostring(r.hits) }
  end
  if #rows > 0 then
    cli.print_table({ "url", "status", "bytes", "stored", "used", "hits" }, rows,
                    { right = { [2] = true, [3] = true, [6] = true } })
  end
  return 0
end

-- runs.lua: `vouch runs [--limit N]`: the stored runs, newest first.
local cli = require "vouch.scorecard.cli"
local record = require "vouch.record"

-- A run that recorded no loads (made before inputs were part of the
-- record) names its inputs in runs.inputs, a JSON array of names.
local function named(inputs)
  local ok, list = pcall(vouch.json.decode, inputs or "[]")
  if not ok or type(list) ~= "table" then return "" end
  local out = {}
  for _, v in ipairs(list) do out[#out + 1] = tostring(v) end
  return table.concat(out, ", ")
end

return function(...)
  local commands = require "vouch.cmd.commands"
  local opts, pos = commands.args({ ... }, "runs")
  if not opts then return pos end
  if #pos > 0 then return commands.usage("runs", nil, "unexpected argument '" .. pos[1] .. "'") end
  local limit = math.tointeger(tonumber(opts.limit or 20))
  if not limit or limit < 1 then cli.say("runs: --limit needs a positive number"); return 2 end
  local db = vouch.db.open()
  local rows = {}
  for r in db:rows([[
      SELECT r.id, r.scorecard, r.scorecard_hash, r.started_at, r.status, r.started_by,
             r.partners, r.error, r.inputs,
             (SELECT count(*) FROM scores s WHERE s.run_id = r.id AND s.verdict = 'approve') AS approve,
             (SELECT count(*) FROM scores s WHERE s.run_id = r.id AND s.verdict = 'review') AS review,
             (SELECT count(*) FROM scores s WHERE s.run_id = r.id AND s.verdict = 'reject') AS reject
      FROM runs r ORDER BY r.id DESC LIMIT ?]], limit) do
    rows[#rows + 1] = { tostring(r.id), r.scorecard, (r.scorecard_hash or ""):sub(1, 8), r.started_at,
                        r.status, r.started_by, tostring(r.partners or "-"),
                        tostring(r.approve), tostring(r.review), tostring(r.reject),
                        cli.cut(record.inputs_text(db, r.id) or named(r.inputs), 60),
                        r.error and cli.cut(r.error:gsub("\n.*", ""):gsub("^[^:]*:%d+: ", ""), 50) or "" }
  end
  if #rows == 0 then print("no runs yet (score some partners with 'vouch vet DATA')"); return 0 end
  for _, l in ipairs(cli.table({ "run", "scorecard", "hash", "started", "status", "by", "partners",
                                 "approve", "review", "reject", "inputs", "error" }, rows,
                               { [1] = true, [7] = true, [8] = true, [9] = true, [10] = true })) do
    print(l)
  end
  return 0
end

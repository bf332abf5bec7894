-- runs.lua: `vouch runs [--limit N] [--format F]`: the stored runs, newest
-- first.
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

local COLS = { "run", "scorecard", "hash", "started", "status", "by", "partners",
               "approve", "review", "reject", "inputs", "error" }

return function(...)
  local commands = require "vouch.cmd.commands"
  local opts, pos = commands.args({ ... }, "runs")
  if not opts then return pos end
  if #pos > 0 then return commands.usage("runs", nil, "unexpected argument '" .. pos[1] .. "'") end
  local fmt, status = cli.format(opts, "runs")
  if not fmt then return status end
  local limit = math.tointeger(tonumber(opts.limit or 20))
  if not limit or limit < 1 then cli.say("runs: --limit needs a positive number"); return 2 end
  local db = vouch.db.open()
  local recs = {}
  for r in db:rows([[
      SELECT r.id, r.scorecard, r.scorecard_hash, r.started_at, r.status, r.started_by,
             r.partners, r.error, r.inputs,
             (SELECT count(*) FROM scores s WHERE s.run_id = r.id AND s.verdict = 'approve') AS approve,
             (SELECT count(*) FROM scores s WHERE s.run_id = r.id AND s.verdict = 'review') AS review,
             (SELECT count(*) FROM scores s WHERE s.run_id = r.id AND s.verdict = 'reject') AS reject
      FROM runs r ORDER BY r.id DESC LIMIT ?]], limit) do
    recs[#recs + 1] = { run = r.id, scorecard = r.scorecard, hash = r.scorecard_hash,
                        started = r.started_at, status = r.status, by = r.started_by,
                        partners = r.partners, approve = r.approve, review = r.review,
                        reject = r.reject, inputs = record.inputs_text(db, r.id) or named(r.inputs),
                        error = r.error }
  end
  if fmt == "json" then
    print(vouch.json.encode(vouch.json.array(recs)))
    return 0
  elseif fmt == "csv" then
    cli.print_csv(COLS, recs)
    return 0
  end
  if #recs == 0 then print("no runs yet (score some partners with 'vouch vet DATA')"); return 0 end
  local rows = {}
  for i, r in ipairs(recs) do
    rows[i] = { r.run, r.scorecard, (r.hash or ""):sub(1, 8), r.started, r.status, r.by,
                r.partners or "-", r.approve, r.review, r.reject, cli.cut(r.inputs, 60),
                r.error and cli.cut(r.error:gsub("\n.*", ""):gsub("^[^:]*:%d+: ", ""), 50) or "" }
  end
  cli.print_table(COLS, rows, { right = { [1] = true, [7] = true, [8] = true, [9] = true, [10] = true },
                                color = { [5] = true } })
  return 0
end

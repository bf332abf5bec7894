-- workbook.lua: a stored run as an Excel workbook, for `vet --format xlsx`
-- and `report --format xlsx`.
--
-- Two sheets: "Ranking", one row per partner in ranked order (rank,
-- partner, name, kind, total, verdict, weakest dimension, each dimension of
-- the run's scorecard, principal reasons), and "Reasons", one row per
-- reason recorded (principal reasons by rank, then flags raised). The rows
-- are read from the database and written one at a time (vouch.xlsx keeps
-- one row per sheet in memory), so a run of any size takes the same memory.
local sc = require "vouch.scorecard"

local M = {}

local format, concat, ipairs, type = string.format, table.concat, ipairs, type

local RANKING = { "rank", "partner", "name", "kind", "total", "verdict", "weakest" }
local REASONS = { "rank", "partner", "reason rank", "code", "dimension", "outcome", "points" }

--- Write run `run_id` of `db` to the workbook `path` (replaced whole, or not
--- at all). Returns the partners written, or nil and a message.
function M.run(db, run_id, path)
  if type(path) ~= "string" then
    error(format("bad argument #3 to 'run' (string expected, got %s)", type(path)), 2)
  end
  local run = db:one("SELECT r.id, c.dimensions, c.rules FROM runs r LEFT JOIN scorecards c " ..
                     "ON c.hash = r.scorecard_hash WHERE r.id = ?", run_id)
  if not run then return nil, format("no run %s in the database", tostring(run_id)) end
  local dims = run.dimensions and vouch.json.decode(run.dimensions) or {}
  dims.rules = run.rules and vouch.json.decode(run.rules) or {}
  local made, wb = pcall(vouch.xlsx.new, path)
  if not made then return nil, tostring(wb) end
  local ranking, reasons = wb:sheet("Ranking"), wb:sheet("Reasons")
  local head, widths = {}, { 6, 14, 28, 12, 10, 9, 14 }
  for k, h in ipairs(RANKING) do head[k] = h end
  for _, d in ipairs(dims) do head[#head + 1] = d; widths[#widths + 1] = 12 end
  head[#head + 1] = "principal reasons"
  widths[#widths + 1] = 40
  ranking:widths(widths)
  ranking:header(head)
  reasons:widths({ 6, 14, 11, 24, 14, 10, 8 })
  reasons:header(REASONS)
  local n, width = 0, #head
  for row in db:rows("SELECT * FROM scores WHERE run_id = ? " .. sc.RANK_SQL, run_id) do
    n = n + 1
    local p = sc.stored(row, dims)
    local cells = { n, p.id, p.name, p.kind, p.total, p.verdict, p.weakest }
    for k, d in ipairs(dims) do cells[#RANKING + k] = p.dimensions[d] end
    local codes = {}
    for k, o in ipairs(p.reasons) do
      codes[k] = o.code
      reasons:row({ n, p.id, o.rank, o.code, o.dimension, o.outcome, o.points }, #REASONS)
    end
    for _, o in ipairs(p.flags) do
      reasons:row({ n, p.id, nil, o.code, o.dimension, o.outcome, o.points }, #REASONS)
    end
    cells[width] = concat(codes, ", ")
    ranking:row(cells, width)
  end
  local ok, err = wb:close()
  if not ok then return nil, err end
  return n
end

return M

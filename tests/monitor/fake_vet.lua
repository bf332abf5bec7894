-- A stand-in for a scorecard run, written straight into runs/scores/reasons
-- as the schema says: 40 partners; from the second run on, partner P03's
-- verdict flips, P07 gets a veto, and the trust dimension drifts upward.
local db = vouch.db.open()
local n = db:one("SELECT count(*) AS n FROM runs WHERE scorecard = 'fake'").n
local phase = n == 0 and 0 or 1
local now = os.date("!%Y-%m-%dT%H:%M:%SZ")
db:exec("INSERT INTO runs(scorecard, scorecard_hash, started_at, status, started_by, pid)" ..
        " VALUES ('fake', 'h', ?, 'running', 'script', ?)", now, vouch.db.pid())
local run = db:one("SELECT max(id) AS id FROM runs").id
db:tx(function()
  local scores, reasons = {}, {}
  for i = 1, 40 do
    local id = string.format("P%02d", i)
    local total = 30 + i * 1.5
    local trust = (i % 10) * 10
    if phase == 1 then trust = 60 + (i % 10) * 4 end
    if phase == 1 and id == "P03" then total = 95 end
    local verdict = total >= 80 and "approve" or total >= 50 and "review" or "reject"
    scores[#scores + 1] = { run_id = run, partner_id = id, name = "Partner " .. i, kind = "brand",
      total = total, verdict = verdict, trust = trust, goodwill = 50 + i % 7,
      authority = 40 + i % 5 }
    if phase == 0 and id == "P07" then  -- the rule ran and passed: not a flag
      reasons[#reasons + 1] = { run_id = run, partner_id = id, code = "controversy",
        dimension = "trust", outcome = "pass" }
    end
    if phase == 1 and id == "P07" then
      reasons[#reasons + 1] = { run_id = run, partner_id = id, code = "controversy",
        dimension = "trust", outcome = "veto", points = -100, rank = 1 }
    end
  end
  db:insert("scores", scores)
  if #reasons > 0 then db:insert("reasons", reasons) end
  db:exec("UPDATE runs SET status = 'ok', ended_at = ?, partners = 40 WHERE id = ?", now, run)
end)
print("fake run", run, "phase", phase)

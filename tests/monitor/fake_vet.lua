-- A stand-in for a scorecard run, written through the host's record calls
-- (db:run_begin, run_score, run_end): 40 partners scored on three dimensions
-- of its own; from the second run on, partner P03's verdict flips, P07
-- gets a veto, and the trust dimension drifts upward.
local db = vouch.db.open()
local n = db:one("SELECT count(*) AS n FROM runs WHERE scorecard = 'fake'").n
local phase = n == 0 and 0 or 1
local run = db:run_begin { scorecard = "fake", hash = "h", started_by = "script",
                           dimensions = { "trust", "goodwill", "authority" },
                           weights = { 0.5, 0.25, 0.25 }, rules = { controversy = "trust" } }
db:tx(function()
  for i = 1, 40 do
    local id = string.format("P%02d", i)
    local total = 30 + i * 1.5
    local trust = (i % 10) * 10
    if phase == 1 then trust = 60 + (i % 10) * 4 end
    if phase == 1 and id == "P03" then total = 95 end
    local verdict = total >= 80 and "approve" or total >= 50 and "review" or "reject"
    local reasons = {}
    if phase == 0 and id == "P07" then  -- a principal reason that passed: not a flag
      reasons = { "controversy", "pass", false, 1, false }
    end
    if phase == 1 and id == "P07" then
      reasons = { "controversy", "veto", -100, 1, false }
    end
    db:run_score(run, id, "Partner " .. i, "brand", total, verdict, nil, nil,
                 { trust, 50 + i % 7, 40 + i % 5 }, reasons)
  end
  db:run_end(run, "ok", 40)
end)
print("fake run", run, "phase", phase)

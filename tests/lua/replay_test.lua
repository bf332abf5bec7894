-- replay_test.lua: explanations by replay. A run stores each partner's
-- input, total, verdict, dimensions and principal reasons; every other
-- outcome is recomputed from the input with the stored scorecard. For the
-- bundled scorecards and the examples, what replay shows must be exactly
-- what the run itself explained.
local T = require "testlib"
local sc = require "vouch.scorecard"

local ROOT = arg[0]:match("^(.*)/tests/lua/[^/]*$") or "."
local EX = ROOT .. "/examples/"

local function evidence_text(ev)
  return vouch.json.encode(ev or {}, { sort_keys = true })
end

-- The outcomes of an explanation, keyed by code, in comparable form.
local function outcomes(res)
  local t = {}
  for _, o in ipairs(res.outcomes) do
    t[o.code] = string.format("%s|%s|%s|%s|%s|%s", o.outcome, tostring(o.dimension),
                              o.points and string.format("%.12g", o.points) or "-",
                              tostring(o.rank), evidence_text(o.evidence), tostring(o.text))
  end
  return t
end

local function same(run_res, replayed, who)
  T.eq(replayed.verdict, run_res.verdict, who .. ": verdict")
  T.near(replayed.total or -1, run_res.total or -1, 1e-9, who .. ": total")
  T.eq(replayed.differs, nil, who .. ": the rules alone give the stored result")
  local a, b = outcomes(run_res), outcomes(replayed)
  for code, v in pairs(a) do T.eq(b[code], v, who .. ": outcome " .. code) end
  for code in pairs(b) do T.eq(a[code] ~= nil, true, who .. ": no extra outcome " .. code) end
  for k, o in ipairs(run_res.reasons) do
    T.eq(replayed.reasons[k] and replayed.reasons[k].code, o.code, who .. ": reason #" .. k)
  end
  T.eq(#replayed.reasons, #run_res.reasons, who .. ": as many principal reasons")
end

local db = vouch.db.open()

-- Run `card` over `source` keeping every explanation, then replay each
-- stored partner and compare.
local function check(card, source, label)
  local id, summary = card:run { rows = source, keep = true, source = card.source }
  local kept = {}
  for _, res in ipairs(summary.results) do kept[tostring(res.id)] = res end
  local replay_card = assert(sc.of_run(db, id))
  local n = 0
  for row in db:rows("SELECT s.*, i.vals, l.columns FROM scores s JOIN inputs i ON " ..
                     "i.load_id = s.load_id AND i.row = s.row JOIN loads l ON l.id = s.load_id " ..
                     "WHERE s.run_id = ?", id) do
    local stored = sc.stored(row, replay_card.dimension_list)
    local res = replay_card:replay(sc.input(row.vals, row.columns), stored)
    same(kept[row.partner_id], res, label .. " " .. row.partner_id)
    n = n + 1
  end
  T.eq(n, summary.partners, label .. ": every partner replayed")
end

for _, name in ipairs { "social_capital", "influencer", "supplier" } do
  T.test("replay equals the run: " .. name .. " on the example CSV", function()
    check(assert(sc.load(name)), vouch.load.csv(EX .. "partners.csv"), name)
  end)
end

-- A run that keeps nothing stores its rows straight from the compact
-- results: they must be the rows a run that explains everything stores.
for _, name in ipairs { "social_capital", "influencer", "supplier" } do
  T.test("the lean store writes what the explained store writes: " .. name, function()
    local card = assert(sc.load(name))
    local a = card:run { rows = vouch.load.csv(EX .. "partners.csv"), keep = true }
    local b = card:run { rows = vouch.load.csv(EX .. "partners.csv") }
    local n = 0
    for x in db:rows("SELECT a.partner_id, a.total AS ta, b.total AS tb, a.verdict AS va, " ..
                     "b.verdict AS vb, a.dims AS da, b.dims AS db, a.reasons AS ra, " ..
                     "b.reasons AS rb FROM scores a JOIN scores b ON b.run_id = ? AND " ..
                     "b.partner_id = a.partner_id WHERE a.run_id = ?", b, a) do
      T.eq(x.tb, x.ta, x.partner_id .. ": total")
      T.eq(x.vb, x.va, x.partner_id .. ": verdict")
      T.eq(x.db, x.da, x.partner_id .. ": dimensions")
      T.eq(x.rb, x.ra, x.partner_id .. ": reasons")
      n = n + 1
    end
    T.eq(n, 22, "every partner")
  end)
end

T.test("replay equals the run: social_capital on the example JSON", function()
  check(assert(sc.load("social_capital")), vouch.load.json(EX .. "partners.json"), "json")
end)

T.test("replay equals the run: the example scorecard of one's own", function()
  check(assert(sc.load(EX .. "my_scorecard.lua")), vouch.load.csv(EX .. "partners.csv"), "mine")
end)

T.test("replay equals the run: a portfolio flag keeps the evidence the set gave it", function()
  local source = [[
local sc = require "vouch.scorecard"
return sc.scorecard { name = "twins", dimensions = { reach = 1 },
  rules = { { id = "REACH", dimension = "reach", reads = { "f" }, score = function(f) return f end } },
  portfolio = { { id = "TWINS", flag = "review", reads = { "group" },
    check = function(set, raise)
      local first = {}
      for _, e in ipairs(set) do
        local g = e.partner.group
        if first[g] then raise(e, { twin_of = first[g], share = 1.0 }) else first[g] = e.partner.id end
      end
    end } } }
]]
  local card = assert(load(source, "=twins"))()
  card.source = source
  check(card, { { id = "A", f = 90, group = 1 }, { id = "B", f = 80, group = 1 },
                { id = "C", f = 70, group = 2 } }, "twins")
end)

T.test("a stored scorecard replays though the file is gone", function()
  local id = db:one("SELECT max(id) AS id FROM runs WHERE scorecard = 'my_scorecard' OR " ..
                    "scorecard LIKE '%'").id
  local card = assert(sc.of_run(db, id))
  T.eq(type(card.scorer), "function", "compiled from the stored source")
  local none = db:run_begin { scorecard = "nosource", hash = "nosource-hash" }
  db:run_end(none, "ok", 0)
  local c, why = sc.of_run(db, none)
  T.eq(c, nil, "no source, no replay")
  T.checkerror("was not stored with its source", error, why)
end)


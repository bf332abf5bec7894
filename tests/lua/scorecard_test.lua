-- scorecard_test.lua: the vouch.scorecard library: checking specs, scoring
-- (dimensions, flags, missing data), reasons, streaming, runs stored in the
-- database, portfolio rules, loading scorecards.
local T = require "testlib"
local sc = require "vouch.scorecard"

-- The repository, from this file's path (tests run in a temporary directory).
local ROOT = arg[0]:match("^(.*)/tests/lua/[^/]*$") or "."

-- A small scorecard that exercises every kind of rule.
local function card(extra)
  local spec = {
    name = "tiny",
    dimensions = { trust = 0.5, respect = 0.3, community = 0.2 },
    bands = { reject = 40, approve = 65 },
    max_missing = 0.25,
    rules = {
      { id = "REVIEWS", dimension = "trust", weight = 3, reads = { "stars" },
        says = "{stars} stars", score = function(s) return s * 20 end },
      { id = "TENURE", dimension = "trust", weight = 1, reads = { "years" },
        score = function(y) return y * 10 end },
      { id = "SPEED", dimension = "respect", reads = { "hours" },
        score = function(h) if h < 0 then return nil end return 100 - h end },
      { id = "BONUS", dimension = "respect", reads = { "vip" }, points = function(v) return v and 10 or 0 end },
      { id = "EVENTS", dimension = "community", reads = { "events" }, score = function(e) return e * 10 end },
      { id = "SCANDAL", flag = "veto", reads = { "scandals" }, when = function(n) return n >= 3 end },
      { id = "GREEDY", flag = "penalty", points = 15, reads = { "quote", "market" },
        when = function(q, m)
          if m == 0 then return sc.unknown end
          return q > 1.5 * m, { ratio = q / m }
        end },
      { id = "SPONSOR_CAP", flag = "cap", cap = 50, kinds = { "sponsor" }, reads = { "scandals" },
        when = function(n) return n >= 1 end },
      { id = "NEW", flag = "review", reads = { "years" }, when = function(y) return y < 1 end },
    },
  }
  for k, v in pairs(extra or {}) do spec[k] = v end
  return sc.scorecard(spec)
end

local good = { id = "G", name = "Good", kind = "brand", stars = 4.5, years = 8, hours = 10,
               vip = false, events = 9, scandals = 0, quote = 100, market = 100 }
local function with(changes, drop)
  local p = {}
  for k, v in pairs(good) do p[k] = v end
  for k, v in pairs(changes or {}) do p[k] = v end
  for _, k in ipairs(drop or {}) do p[k] = nil end
  return p
end

T.test("a scorecard names its own dimensions, in its own order", function()
  local rules = {
    { id = "FOLLOWERS", dimension = "reach", reads = { "followers" },
      score = function(f) return math.min(100, f / 1000) end },
    { id = "REVIEWS", dimension = "reputation", reads = { "stars" },
      score = function(s) return s * 20 end },
  }
  local c = sc.scorecard { name = "own", dimensions = { reputation = 0.6, reach = 0.4 }, rules = rules }
  T.eq(table.concat(c.dimension_list, ","), "reach,reputation", "a map: sorted by name")
  c = sc.scorecard { name = "own", dimensions = { reputation = 0.6, reach = 0.4 },
                     order = { "reputation", "reach" }, rules = rules }
  T.eq(table.concat(c.dimension_list, ","), "reputation,reach", "order says")
  c = sc.scorecard { name = "own", dimensions = { { "reach", 0.4 }, { "reputation", 0.6 } },
                     rules = rules }
  T.eq(table.concat(c.dimension_list, ","), "reach,reputation", "a list: its order")
  local res = c:score { id = "p", followers = 50000, stars = 4 }
  T.near(res.dimensions.reach, 50, 1e-9, "reach")
  T.near(res.dimensions.reputation, 80, 1e-9, "reputation")
  T.near(res.total, 0.4 * 50 + 0.6 * 80, 1e-9, "total")
  T.eq(res.weakest, "reach", "weakest")
end)

T.test("a rule that reads the clock, randomness or the network is refused", function()
  local function card_with(fn)
    return sc.scorecard { name = "impure", dimensions = { reach = 1 }, rules = {
      { id = "IMPURE", dimension = "reach", reads = { "f" }, score = fn } } }
  end
  local p = { id = "p", f = 1 }
  local function refused(msg, fn)
    local c = card_with(fn)
    T.checkerror(msg, c.score, c, p)
  end
  refused("rule IMPURE", function(f) return os.time() % 100 end)
  refused("os.time reads the clock", function(f) return os.time() % 100 end)
  refused("os.date reads the clock", function(f) return #os.date() end)
  refused("math.random reads randomness", function(f) return math.random(1, 100) end)
  refused("vouch.http.get reads the network", function(f) return vouch.http.get("http://x") and 1 end)
  T.eq(type(os.time()), "number", "the clock is back once the rules are done")
  T.eq(math.random(1, 1), 1, "and randomness")
end)

T.test("a cap or penalty of any number scores, infinite ones included", function()
  local c = sc.scorecard {
    name = "unbounded", dimensions = { reach = 1 },
    rules = {
      { id = "R", dimension = "reach", reads = { "x" }, score = "x" },
      { id = "NO_CAP", flag = "cap", cap = 1 / 0, reads = { "x" }, when = "x > 5" },
      { id = "ZERO", flag = "cap", cap = 0, reads = { "x" }, when = "x > 90" },
      { id = "ALL", flag = "penalty", points = 1 / 0, reads = { "x" }, when = "x > 50" },
    },
  }
  local function total(x) return c:score { id = "p", x = x }.total end
  T.eq(total(10), 10, "an infinite cap takes nothing off")
  T.eq(total(60), 0, "an infinite penalty takes everything")
  T.eq(total(95), 0, "a cap of zero")
  for _, bad in ipairs { { cap = -5 }, { cap = -1 / 0 }, { cap = 0 / 0 }, { points = 0 / 0 } } do
    local rule = { id = "BAD", flag = bad.cap and "cap" or "penalty", cap = bad.cap, points = bad.points,
                   reads = { "x" }, when = "x > 1" }
    T.checkerror(bad.cap and "a cap needs 'cap', the highest total allowed (a number >= 0)"
                 or "a penalty needs 'points', a number >= 0",
                 sc.scorecard, { name = "bad", dimensions = { reach = 1 },
                                 rules = { { id = "R", dimension = "reach", reads = { "x" }, score = "x" },
                                           rule } })
  end
  local db = vouch.db.open()
  local id, s = c:run { db = db, rows = { { id = "a", x = 10 }, { id = "b", x = 60 } } }
  T.eq(s.partners, 2, "stored")
  local reasons = db:one("SELECT reasons FROM scores WHERE run_id = ? AND partner_id = 'b'", id).reasons
  assert(reasons:find('"ALL","penalty"', 1, true), "the infinite penalty is a principal reason: " .. reasons)
end)

T.test("a spec is checked, naming the rule at fault", function()
  T.checkerror("bad argument #1 to 'scorecard' (table expected, got no value)", sc.scorecard)
  T.checkerror("'name' must be a non-empty string", sc.scorecard, { dimensions = { trust = 1 } })
  T.checkerror("a dimension's name must be an identifier (got 'two words')", sc.scorecard,
    { name = "x", dimensions = { ["two words"] = 1 }, rules = {} })
  T.checkerror("'order' names 'reech', which is not a dimension (did you mean 'reach'?)",
    sc.scorecard, { name = "x", dimensions = { reach = 0.5, reputation = 0.5 },
                    order = { "reputation", "reech" }, rules = {} })
  T.checkerror("dimension 'reech' is not one of this scorecard's dimensions (did you mean 'reach'?)",
    sc.scorecard, { name = "x", dimensions = { reach = 1 }, rules = {
      { id = "A", dimension = "reech", reads = { "x" }, score = function(x) return x end } } })
  T.checkerror("dimension weights must sum to 1", sc.scorecard,
    { name = "x", dimensions = { trust = 0.5, respect = 0.4 }, rules = {} })
  T.checkerror("'rules' must be a non-empty list", sc.scorecard, { name = "x", dimensions = { trust = 1 } })
  local function one(rule)
    return sc.scorecard { name = "x", dimensions = { trust = 1 }, rules = { rule } }
  end
  T.checkerror("rule #1: 'id' must be an upper-case reason code", one, { dimension = "trust" })
  T.checkerror("rule 'A': 'reads' must list the partner fields", one,
    { id = "A", dimension = "trust", score = function() end })
  T.checkerror("rule 'A': 'flag' must be 'veto', 'penalty', 'cap' or 'review'", one,
    { id = "A", reads = { "x" }, flag = "ban", when = function() end })
  T.checkerror("rule 'A': a penalty needs 'points'", one,
    { id = "A", reads = { "x" }, flag = "penalty", when = function() end })
  T.checkerror("rule 'A': a score rule needs a 'dimension'", one,
    { id = "A", reads = { "x" }, score = function() end })
  T.checkerror("rule 'A': dimension 'respect' is not one of this scorecard's dimensions", one,
    { id = "A", reads = { "x" }, dimension = "respect", score = function() end })
  T.checkerror("duplicate rule id 'A'", sc.scorecard, { name = "x", dimensions = { trust = 1 }, rules = {
    { id = "A", dimension = "trust", reads = { "x" }, score = function() end },
    { id = "A", dimension = "trust", reads = { "x" }, score = function() end } } })
end)

T.test("dimensions are weighted means of their scores, plus points, clamped", function()
  local r = card():score(good)
  T.near(r.dimensions.trust, (3 * 90 + 1 * 80) / 4, 1e-9, "trust")
  T.near(r.dimensions.respect, 90, 1e-9, "respect")
  T.near(r.dimensions.community, 90, 1e-9, "community")
  T.near(r.total, 0.5 * 87.5 + 0.3 * 90 + 0.2 * 90, 1e-9, "total")
  T.eq(r.verdict, "approve", "verdict")
  T.eq(#r.reasons, 0, "no adverse reasons")
  local v = card():score(with { vip = true, hours = 5 })
  T.eq(v.dimensions.respect, 100, "95 + 10 points is clamped to 100")
  local low = card():score(with { events = 30 })
  T.eq(low.dimensions.community, 100, "a score over 100 is clamped")
end)

T.test("flags: veto, penalty, cap, review", function()
  local c = card()
  local r = c:score(with { scandals = 3 })
  T.eq(r.verdict, "reject", "veto rejects")
  T.eq(r.reasons[1].code, "SCANDAL", "the veto is the first reason")
  T.eq(r.reasons[1].outcome, "veto", "its outcome")
  r = c:score(with { quote = 200 })
  T.near(r.total, 88.75 - 15, 1e-9, "penalty off the total")
  T.eq(r.reasons[1].code, "GREEDY", "penalty reason")
  T.eq(r.reasons[1].points, -15, "its effect")
  T.near(r.reasons[1].evidence.ratio, 2, 1e-9, "a rule's extra evidence is kept")
  T.eq(r.reasons[1].evidence.quote, 200, "and what it read")
  r = c:score(with { kind = "sponsor", scandals = 1 })
  T.eq(r.total, 50, "cap")
  T.eq(r.verdict, "review", "capped below approval")
  T.near(r.reasons[1].points, 50 - 88.75, 1e-9, "a cap's effect is what it took off")
  r = c:score(with { scandals = 1 })
  T.eq(r.total, 88.75, "the cap does not apply to other kinds")
  for _, o in ipairs(r.outcomes) do
    if o.code == "SPONSOR_CAP" then error("a rule that does not apply has no outcome") end
  end
  r = c:score(with { years = 0.5 })
  T.eq(r.verdict, "review", "a review flag forces review")
  T.eq(r.reasons[1].code, "NEW", "and says why")
  r = c:score(with { years = 0.5, stars = 0.5, hours = 99, events = 0 })
  T.eq(r.verdict, "reject", "a low total still rejects under a review flag")
end)

T.test("missing data is indeterminate, not zero", function()
  local c = card()
  local r = c:score(with(nil, { "years" }))
  T.near(r.dimensions.trust, 90, 1e-9, "trust from the reviews alone")
  local out = {}
  for _, o in ipairs(r.outcomes) do out[o.code] = o end
  T.eq(out.TENURE.outcome, "indeterminate", "TENURE")
  T.eq(out.NEW.outcome, "indeterminate", "a flag with missing inputs")
  T.near(r.missing, 0.5 * 1 / 4, 1e-9, "a quarter of trust's weight is missing")
  T.eq(r.verdict, "approve", "a little missing data still allows a verdict")
  r = c:score(with(nil, { "stars", "events" }))
  T.near(r.missing, 0.5 * 3 / 4 + 0.2, 1e-9, "missing share")
  T.eq(r.verdict, "review", "too much missing data: review")
  T.eq(r.reasons[1].outcome, "indeterminate", "the missing data is the reason")
  T.eq(r.reasons[1].code, "REVIEWS", "the weightiest missing rule first")
  r = c:score(with(nil, { "hours", "vip" }))
  T.eq(r.dimensions.respect, nil, "a dimension with no data is indeterminate")
  T.near(r.total, (0.5 * 87.5 + 0.2 * 90) / 0.7, 1e-9, "the total is the mean of the rest")
  r = c:score(with { hours = -1 })
  T.eq(r.dimensions.respect, nil, "a score rule returning nil is indeterminate, and points alone make no score")
  r = c:score(with { market = 0 })
  for _, o in ipairs(r.outcomes) do
    if o.code == "GREEDY" then T.eq(o.outcome, "indeterminate", "sc.unknown from a flag") end
  end
  r = c:score(with(nil, { "scandals" }))
  T.eq(r.verdict, "review", "an unchecked veto cannot approve")
  T.eq(r.reasons[1].code, "SCANDAL", "and is the reason")
  r = c:score({ id = "E" })
  T.eq(r.total, nil, "no data at all: no total")
  T.eq(r.verdict, "review", "and review")
end)

T.test("optional fields may be missing; a rule reads only what it declares", function()
  local seen
  local c = sc.scorecard { name = "opt", dimensions = { trust = 1 }, rules = {
    { id = "A", dimension = "trust", reads = { "x", "y" }, optional = { "y" },
      score = function(x, y, z) seen = { x, y, z }; return x + (y or 0) end } } }
  local r = c:score { x = 10, z = 99 }
  T.eq(r.total, 10, "y is optional")
  T.eq(seen[3], nil, "z was not declared, so the rule does not get it")
end)

T.test("principal reasons: at most four, most adverse first, specific", function()
  local c = card()
  local r = c:score(with { scandals = 5, quote = 300, stars = 1, years = 0.2, events = 1, hours = 95 })
  T.eq(#r.reasons, 4, "four reasons")
  T.eq(r.reasons[1].code, "SCANDAL", "veto first")
  T.eq(r.reasons[2].code, "NEW", "then the forced review")
  T.eq(r.reasons[3].code, "GREEDY", "then the penalty")
  T.eq(r.reasons[4].code, "REVIEWS", "then the weightiest low score")
  T.eq(r.reasons[4].text, "1 stars", "the text says what was seen")
  for k, o in ipairs(r.reasons) do T.eq(o.rank, k, "rank") end
end)

T.test("the fast scorer agrees with the full one on every partner", function()
  local c = card()
  local fields = { "stars", "years", "hours", "vip", "events", "scandals", "quote", "market" }
  local seed = 7
  local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n end
  local fast_r = c:result()
  for i = 1, 500 do
    local p = { id = "P" .. i, kind = rnd(3) == 0 and "sponsor" or "brand",
                stars = rnd(50) / 10, years = rnd(12) - 1, hours = rnd(130) - 5, vip = rnd(2) == 0,
                events = rnd(15), scandals = rnd(5), quote = rnd(300), market = rnd(4) * 50 }
    if rnd(4) == 0 then p[fields[rnd(#fields) + 1]] = nil end
    if i == 1 then p.hours = 0 / 0 end  -- NaN: indeterminate on both paths
    local full = c.full_scorer(p, c:result())
    local fast = c.scorer(p, fast_r)
    T.eq(fast.total, full.total, "total of " .. i)
    T.eq(fast.verdict, full.verdict, "verdict of " .. i)
    T.eq(fast.missing, full.missing, "missing of " .. i)
    T.eq(fast.nflags, full.nflags, "flags of " .. i)
    for k = 1, full.nflags do T.eq(fast.flags[k], full.flags[k], "flag of " .. i) end
    T.eq(fast.flags[fast.nflags + 1], nil, "flags end")
    for d in pairs(c.weights) do T.eq(fast.dimensions[d], full.dimensions[d], d .. " of " .. i) end
  end
end)

T.test("each streams partners with one reused result", function()
  local c = card()
  local seen, last = 0, nil
  for p, r in c:each({ good, with { scandals = 4 }, with { years = 0 } }) do
    seen = seen + 1
    if last then T.eq(r, last, "the same result table") end
    last = r
    if seen == 2 then T.eq(r.flags[1], "SCANDAL", "flags"); T.eq(r.nflags, 1, "nflags") end
    if seen == 3 then T.eq(r.flags[1], "NEW", "flags are rewritten"); T.eq(r.flags[2], nil, "and cleared") end
    local full = c:explain(p, r)
    T.eq(full.verdict, r.verdict, "explain agrees")
  end
  T.eq(seen, 3, "every partner")
  T.checkerror("bad argument #1 to 'each' (rows expected", c.each, c, 42)
end)

T.test("each reads a loader's source", function()
  local c = sc.load("social_capital")
  local n, verdicts = 0, {}
  for p, r in c:each(vouch.load.csv(ROOT .. "/examples/partners.csv")) do
    n = n + 1
    verdicts[p.id] = r.verdict
  end
  T.eq(n, 22, "every row of examples/partners.csv")
  T.eq(verdicts.B004, "review", "the self-centred collaborator")
  T.eq(verdicts.I001, "review", "the insincere endorser")
end)

T.test("portfolio rules see the whole set", function()
  local seen_by_twins
  local c = card { portfolio = {
    { id = "TWINS", flag = "review", reads = { "group" },
      says = "same group as {other}",
      check = function(set, raise)
        seen_by_twins = #set
        local first = {}
        for _, e in ipairs(set) do
          local g = e.partner.group
          if g and first[g] then raise(e, { other = first[g].id }) elseif g then first[g] = e end
        end
      end },
    { id = "PRICEY", flag = "penalty", points = 30, reads = { "quote" }, kinds = { "brand" },
      check = function(set, raise)
        for _, e in ipairs(set) do if e.partner.quote > 120 then raise(e) end end
      end } } }
  local res = c:score_all { with { id = "A", group = 1 }, with { id = "B", group = 1 },
                            with { id = "C", group = 2, quote = 130 }, with { id = "D" } }
  T.eq(seen_by_twins, 3, "a partner without the field a portfolio rule reads is not in its set")
  T.eq(res[4].verdict, "approve", "and is not judged by it")
  T.eq(res[1].verdict, "approve", "the first of a group")
  T.eq(res[2].verdict, "review", "the second of a group")
  T.eq(res[2].reasons[1].code, "TWINS", "says why")
  T.eq(res[2].reasons[1].text, "same group as A", "with the evidence raised")
  T.near(res[3].total, 88.75 - 30, 1e-9, "a portfolio penalty")
  T.eq(res[3].reasons[1].code, "PRICEY", "as a reason")
  T.eq(res[3].reasons[1].points, -30, "with its effect")
end)

T.test("a run is stored: the run row, scores, reasons, ranks, evidence", function()
  local db = vouch.db.open()
  local c = card()
  local id, summary = c:run { rows = { good, with { id = "X", scandals = 4 }, with { id = "Y", years = 0 } },
                              inputs = { "test" }, source = "tiny source" }
  T.eq(summary.partners, 3, "partners")
  T.eq(summary.approve, 1, "approve")
  T.eq(summary.reject, 1, "reject")
  local run = db:one("SELECT * FROM runs WHERE id = ?", id)
  T.eq(run.status, "ok", "status")
  T.eq(run.scorecard, "tiny", "scorecard")
  T.eq(run.scorecard_hash, sc.hash("tiny source"), "hash of the source")
  T.eq(run.inputs, '["test"]', "inputs")
  T.eq(run.partners, 3, "partners")
  T.eq(run.pid, vouch.db.pid(), "the process, so a dead run can be found")
  T.eq(run.started_by, "cli", "started by")
  T.eq(db:one("SELECT count(*) AS n FROM scores WHERE run_id = ?", id).n, 3, "scores")
  local card_row = db:one("SELECT * FROM scorecards WHERE hash = ?", run.scorecard_hash)
  T.eq(card_row.name, "tiny", "the scorecard, stored once")
  T.eq(card_row.dimensions, '["community","respect","trust"]', "its dimensions in order")
  T.eq(card_row.source, "tiny source", "its source")
  local x = db:one("SELECT * FROM scores WHERE run_id = ? AND partner_id = 'X'", id)
  T.eq(x.verdict, "reject", "verdict stored")
  local stored = sc.stored(x, { "community", "respect", "trust" })
  T.near(stored.dimensions.trust, 87.5, 1e-9, "dimension stored")
  T.eq(stored.dimensions.respect, 90, "respect")
  T.eq(stored.reasons[1].code, "SCANDAL", "the principal reason")
  T.eq(stored.reasons[1].outcome, "veto", "outcome")
  T.eq(stored.reasons[1].rank, 1, "rank")
  local input = db:one("SELECT i.vals, l.columns, l.source FROM inputs i JOIN loads l ON " ..
                       "l.id = i.load_id WHERE i.load_id = ? AND i.row = ?", x.load_id, x.row)
  T.eq(input.source, "rows", "rows given as a list: one load")
  T.eq(sc.input(input.vals, input.columns).scandals, 4, "the input row is stored")
  T.eq(db:one("SELECT count(*) AS n FROM run_loads WHERE run_id = ?", id).n, 1, "the run's loads")
  T.eq(db:one("SELECT reasons FROM scores WHERE run_id = ? AND partner_id = 'G'", id).reasons,
       "[]", "nothing adverse: no reasons")
  T.eq(db:one("SELECT reasons FROM scores WHERE run_id = ? AND partner_id = 'Y'", id).reasons,
       '[["NEW","review",0,1],["TENURE","score",0,2]]',
       "principal reasons and flags, compact: [code, outcome, points, rank]")
  T.eq(card_row.rules, '{"BONUS":"respect","EVENTS":"community","REVIEWS":"trust","SPEED":"respect","TENURE":"trust"}', "the dimension of each rule, once")
end)

T.test("a failed run is marked failed and keeps no score", function()
  local db = vouch.db.open()
  local c = sc.scorecard { name = "boom", dimensions = { trust = 1 }, rules = {
    { id = "A", dimension = "trust", reads = { "x" },
      score = function(x) if x == 3 then error("bad partner") end return x end } } }
  local rows = {}
  for i = 1, 1200 do rows[i] = { id = "P" .. i, x = i } end  -- past one batch
  local ok, err = pcall(c.run, c, { rows = rows })
  T.eq(ok, false, "the run raised")
  T.checkerror("bad partner", error, err)
  local run = db:one("SELECT * FROM runs WHERE scorecard = 'boom' ORDER BY id DESC LIMIT 1")
  T.eq(run.status, "failed", "status")
  T.checkerror("bad partner", error, run.error)
  T.eq(db:one("SELECT count(*) AS n FROM scores WHERE run_id = ?", run.id).n, 0, "no scores")
  T.eq(db:one("SELECT count(*) AS n FROM run_loads WHERE run_id = ?", run.id).n, 0, "no loads")
  T.eq(db:one("SELECT count(*) AS n FROM inputs i JOIN loads l ON l.id = i.load_id WHERE " ..
              "l.source = 'rows' AND NOT EXISTS (SELECT 1 FROM run_loads r WHERE r.load_id = l.id)").n,
       0, "no inputs")
end)

T.test("a run can read the stored partners", function()
  local db = vouch.db.open()
  db:put_partner { id = "Q1", name = "Queued", kind = "brand",
                   attrs = vouch.json.encode { stars = 4, years = 3, hours = 20, vip = true, events = 5,
                                               scandals = 0, quote = 10, market = 10 } }
  local id, summary = card():run { query = "partners", keep = true }
  T.eq(summary.partners, 1, "one stored partner")
  T.eq(summary.results[1].id, "Q1", "its id")
  T.near(summary.results[1].dimensions.trust, (3 * 80 + 30) / 4, 1e-9, "scored from its attrs")
  T.eq(db:one("SELECT status FROM runs WHERE id = ?", id).status, "ok", "stored")
end)

T.test("json and hash", function()
  T.eq(sc.json { b = 1, a = "x\"y\n", c = { 1, 2.5, true }, d = {} }, '{"a":"x\\"y\\n","b":1,"c":[1,2.5,true],"d":{}}', "json")
  T.eq(sc.json { d = sc.array {}, e = 0 / 0, f = { -1 / 0 }, g = 78.0, h = "\1\127" },
    '{"d":[],"e":null,"f":[null],"g":78.0,"h":"\\u0001\127"}', "json: lists, NaN, floats, controls")
  T.eq(sc.json { "caf\xe9.csv" }, '["caf\u{FFFD}.csv"]', "json: a byte that is not UTF-8")
  T.eq(sc.json { b = 1, a = 2 }, vouch.json.encode({ a = 2, b = 1 }, { sort_keys = true }),
    "json is vouch.json's")
  T.eq(sc.hash(""), "2d06800538d394c2", "XXH3-64 of nothing")
  T.eq(sc.hash("abc"), "78af5f94892f3950", "XXH3-64 of abc")
  T.eq(sc.hash, vouch.hash, "the host's hash")
end)

T.test("scorecards load from files and from the bundle", function()
  local c = assert(sc.load("social_capital"))
  T.eq(c.name, "social_capital", "bundled by name")
  T.eq(#c.rules, 22, "its rules")
  local i = assert(sc.load(ROOT .. "/scripts/influencer.lua"))
  T.eq(i.name, "influencer", "by path")
  T.eq(sc.hash(i.source), sc.hash(i.source), "keeps its source")
  local none, err = sc.load(ROOT .. "/scripts/nope.lua")
  T.eq(none, nil, "a missing file")
  T.checkerror("scripts/nope.lua: No such file or directory", error, err)
  T.checkerror("access denied", sc.load, "/etc/passwd.lua")
  local _, why = sc.load("nonesuch")
  T.checkerror("no scorecard 'nonesuch' is bundled", error, why)
end)

T.test("vouch.script gives each file a fresh environment", function()
  local f = io and io.open and nil
  T.eq(f, nil, "no io here")
  local chunk = assert(vouch.script(ROOT .. "/tests/lua/scorecard_fixture.lua"))
  local v = chunk()
  T.eq(v.leak, "set", "the file ran")
  T.eq(rawget(_G, "LEAKED"), nil, "its globals stay in its environment")
  local bad, msg = vouch.script(ROOT .. "/tests/lua/testlib.lua.missing")
  T.eq(bad, nil, "missing")
  T.checkerror("No such file", error, msg)
  T.checkerror("read access denied", vouch.script, "/etc/hostname")
  local names = assert(vouch.dir(ROOT .. "/scripts"))
  local found = false
  for _, n in ipairs(names) do if n == "social_capital.lua" then found = true end end
  T.eq(found, true, "vouch.dir lists scripts/")
  T.checkerror("read access denied", vouch.dir, "/etc")
end)

T.test("expression rules are compiled inline and checked", function()
  local c = sc.scorecard { name = "expr", dimensions = { trust = 0.5, respect = 0.5 },
    rules = {
      { id = "A", dimension = "trust", reads = { "stars" }, score = "clamp(stars * 20, 0, 100)" },
      { id = "B", dimension = "respect", reads = { "hours" }, score = "100 - min(hours, 100)" },
      { id = "BONUS", dimension = "respect", reads = { "vip" }, points = "vip and 10 or 0" },
      { id = "SLOW", flag = "penalty", points = 5, reads = { "hours" }, when = "hours > 48" },
      { id = "ODD", flag = "review", reads = { "stars", "hours" },
        when = "stars == 0 and unknown or stars > 4.9 and hours > 1000" },
    } }
  local r = c:score { stars = 4, hours = 10, vip = true }
  T.eq(r.dimensions.trust, 80, "score expression")
  T.eq(r.dimensions.respect, 100, "points expression, clamped")
  r = c:score { stars = 4, hours = 60, vip = false }
  T.eq(r.total, 0.5 * 80 + 0.5 * 40 - 5, "flag expression")
  r = c:score { stars = 0, hours = 1, vip = false }
  local odd
  for _, o in ipairs(r.outcomes) do if o.code == "ODD" then odd = o.outcome end end
  T.eq(odd, "indeterminate", "an expression may answer unknown")
  r = c:score { stars = 4, vip = false }
  T.eq(r.dimensions.respect, nil, "a missing field makes an expression indeterminate")
  for p, fast in c:each { { stars = 4, hours = 60, vip = true }, { stars = 0, hours = 1, vip = true } } do
    local full = c:score(p)
    T.eq(fast.total, full.total, "fast and full agree")
    T.eq(fast.verdict, full.verdict, "fast and full agree on the verdict")
  end
  local function one(rule)
    return sc.scorecard { name = "x", dimensions = { trust = 1 }, rules = { rule } }
  end
  T.checkerror("rule 'A': the expression uses 'hours', which the rule does not read", one,
    { id = "A", dimension = "trust", reads = { "stars" }, score = "stars * hours" })
  T.checkerror("rule 'A': bad expression", one,
    { id = "A", dimension = "trust", reads = { "stars" }, score = "stars *" })
  T.checkerror("'end' is not", one,
    { id = "A", dimension = "trust", reads = { "end" }, score = "1" })
  T.checkerror("'min' is not", one,
    { id = "A", dimension = "trust", reads = { "min" }, score = "1" })
  local ok = one { id = "A", dimension = "trust", reads = { "name" },
                   score = "name:upper() == 'X' and 100 or ('a.b'):len() + #name" }
  T.eq(ok:score({ name = "x" }).total, 100, "methods, strings and fields of values are allowed")
  local f = sc.scorecard { name = "mixed", dimensions = { trust = 1 }, rules = {
    { id = "F", dimension = "trust", reads = { "min", "end" }, score = function(a, b) return a + b end },
    { id = "G", dimension = "trust", reads = { "x" }, score = "min(x, 100)" } } }
  T.eq(f:score({ min = 10, ["end"] = 20, x = 300 }).total, (30 + 100) / 2,
       "fields named like helpers or keywords are fine for function rules")
end)

T.test("inserter batches rows, NULLs and a short tail included", function()
  local db = vouch.db.open("inserter.db")
  db:exec("CREATE TABLE t(a INTEGER, b TEXT, c REAL)")
  local ins = sc.inserter(db, "t", 3, 4)
  db:tx(function()
    for i = 1, 10 do ins.add(i, i % 3 ~= 0 and ("r" .. i) or nil, i / 2) end
    ins.flush()
    ins.flush()  -- nothing left: a no-op
  end)
  T.eq(db:one("SELECT count(*) AS n FROM t").n, 10, "all rows, the last two in a short batch")
  T.eq(db:one("SELECT count(*) AS n FROM t WHERE b IS NULL").n, 3, "nil is NULL")
  T.eq(db:one("SELECT b, c FROM t WHERE a = 7").b, "r7", "values in their columns")
  local named = sc.inserter(db, "t", { "c", "a" })
  named.add(9.5, 99)
  named.flush()
  T.eq(db:one("SELECT c FROM t WHERE a = 99").c, 9.5, "named columns")
  T.checkerror("bad argument #3 to 'inserter'", sc.inserter, db, "t", 0)
  local bad = sc.inserter(db, "nope", 1)
  bad.add(1)
  T.checkerror("no such table", bad.flush)
  db:close()
end)

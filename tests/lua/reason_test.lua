-- reason_test.lua: the record defines the stored reason tuple once
-- (host/record.h, vouch.REASON in Lua); what a scorecard run stores must
-- read back by those positions, and the flags are the record's.
local T = require "testlib"
local sc = require "vouch.scorecard"

local ROOT = arg[0]:match("^(.*)/tests/lua/[^/]*$") or "."
local R = vouch.REASON

T.test("vouch.REASON: distinct positions, flags as a set and a list", function()
  local seen = {}
  for _, f in ipairs { "code", "outcome", "points", "rank", "evidence" } do
    T.eq(math.type(R[f]), "integer", f)
    T.eq(seen[R[f]], nil, f .. ": a position of its own")
    seen[R[f]] = true
  end
  T.eq(table.concat(R.flag_list, ","), "veto,penalty,cap,review")
  for _, o in ipairs(R.flag_list) do T.eq(R.flags[o], true, o) end
end)

T.test("a stored run's reasons read back by vouch.REASON", function()
  local db = vouch.db.open()
  local card = assert(sc.load("social_capital"))
  local id = card:run { rows = vouch.load.csv(ROOT .. "/examples/partners.csv") }
  local flags, ranked = 0, 0
  for row in db:rows("SELECT reasons FROM scores WHERE run_id = ?", id) do
    for _, t in ipairs(vouch.json.decode(row.reasons)) do
      T.eq(type(t[R.code]), "string", "code")
      T.eq(type(t[R.outcome]), "string", "outcome")
      if R.flags[t[R.outcome]] then flags = flags + 1 end
      if t[R.rank] ~= nil and t[R.rank] ~= vouch.json.null then
        T.eq(math.type(t[R.rank]), "integer", "rank")
        ranked = ranked + 1
      end
    end
  end
  assert(flags > 0, "the example raises flags")
  assert(ranked > 0, "the example has principal reasons")
end)

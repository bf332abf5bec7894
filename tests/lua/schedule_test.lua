-- schedule_test.lua: vouch.cron and vouch.schedules from Lua: results,
-- expected failures (nil, message) and misuse (raises). The record is the
-- one VOUCH_DB names: a file, or a server's when pg_schedule_lua.sh runs
-- this file as `schedule_test.lua server`.
local T = require "testlib"
local cron, schedules = vouch.cron, vouch.schedules

T.test("cron.next gives UTC times in order", function()
  local t = cron.next("0 9 * * mon-fri", "2026-01-02T10:00:00Z", 3, "Europe/Berlin")
  T.eq(#t, 3)
  T.eq(t[1], "2026-01-05T08:00:00Z", "first")
  T.eq(t[3], "2026-01-07T08:00:00Z", "third")
end)

T.test("cron.next takes Unix seconds", function()
  T.eq(cron.next("@hourly", 0)[1], "1970-01-01T01:00:00Z")
end)

T.test("cron: expected failures return nil, message", function()
  local t, err = cron.next("* * * * * *")
  T.eq(t, nil)
  assert(err:find("expected 5 fields", 1, true), err)
  t, err = cron.next("@daily", nil, 1, "Atlantis/Capital")
  T.eq(t, nil)
  assert(err:find("unknown time zone", 1, true), err)
  T.eq(cron.time("not a time"), nil)
end)

T.test("cron: misuse raises", function()
  T.checkerror("next' (string expected, got no value)", cron.next)
  T.checkerror("next' (must be between 1 and 100000)", cron.next, "@daily", nil, 0)
  T.checkerror("next' (bad time", cron.next, "@daily", "soon")
end)

T.test("cron.localtime and cron.time agree across a gap", function()
  local t = assert(cron.time("2026-03-29 02:30", "Europe/Berlin"))
  T.eq(cron.utc(t), "2026-03-29T01:00:00Z")
  T.eq(cron.localtime(t, "Europe/Berlin"), "Sun 2026-03-29 03:00:00 CEST")
end)

T.test("schedules: misuse raises", function()
  T.checkerror("a schedule needs a name", vouch.schedule, {expr = "@daily", script = "x"})
  T.checkerror("bad alert target 'smoke-signal'", vouch.schedule,
    {name = "a", expr = "@daily", script = "cmd:vet", alerts = {"smoke-signal"}})
  T.checkerror("option 'jitter' must be an integer", vouch.schedule,
    {name = "a", expr = "@daily", script = "cmd:vet", jitter = "soon"})
end)

T.test("schedules: commands other than vet and report are refused", function()
  local ok, err = vouch.schedule("a", "@daily", "cmd:daemon")
  T.eq(ok, nil)
  assert(err:find("only cmd:vet and cmd:report", 1, true), err)
end)

T.test("schedules: get, list, context outside a schedule", function()
  T.eq(schedules.get("no such schedule"), nil)
  T.eq(type(schedules.list()), "table")
  T.eq(schedules.context(), nil)
end)

T.test("schedules: no daemon while none runs, on a file or a server", function()
  T.eq(schedules.daemon(), nil)
  T.eq(#schedules.daemons(), 0, "daemons")
end)

do
  T.test("schedules: a command may not read what the script may not", function()
    T.checkerror("/etc/hostname: read access denied", vouch.schedule,
      "leak", "@daily", "cmd:vet", {args = {"/etc/hostname"}})
    T.checkerror("/etc/hostname: read access denied", vouch.schedule,
      "leak", "@daily", "cmd:vet", {args = {"x.csv", "--rules=/etc/hostname"}})
  end)

  T.test("schedules: a command's arguments are never host options", function()
    for _, a in ipairs { "--trusted", "--db=other.db", "--allow-read=/", "--max-memory", "-e" } do
      T.checkerror("argument '" .. a .. "' is a host option", vouch.schedule,
        "opts", "@daily", "cmd:vet", {args = {"x.csv", a}})
    end
    T.eq(schedules.get("opts"), nil)
  end)
end

T.test("schedules: an alert URL with a user name is refused", function()
  T.checkerror("a user name or password in an alert URL is refused", vouch.schedule,
    "hook", "@daily", "cmd:vet", {alerts = {"http://allowed.example:x@127.0.0.1:9/"}})
  T.checkerror("http://: not a URL", vouch.schedule,
    "hook", "@daily", "cmd:vet", {alerts = {"http://"}})
end)

T.test("schedules: the row keeps the grants of the script that added it", function()
  local row = vouch.schedule("grants", "@daily", "cmd:vet")
  assert(row.grants:find('"trusted":false', 1, true), row.grants)
  assert(row.grants:find('"net":[]', 1, true), row.grants)
  assert(schedules.remove("grants"))
end)

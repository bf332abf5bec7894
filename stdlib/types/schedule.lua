---@meta
-- schedule.lua: types of vouch.cron, vouch.schedule and vouch.schedules for
-- lua-language-server (see README "Schedules and monitoring").

---@class vouch
---@field cron vouch.cronlib
---@field schedules vouch.scheduleslib

---@class vouch.cron_fields
---@field minute? integer[]
---@field hour? integer[]
---@field dom? integer[]
---@field month? integer[]
---@field dow? integer[] 0 = Sunday
---@field dom_or_dow? boolean both day fields restricted: a day matching either runs
---@field interval? integer seconds, for "every N"

---@class vouch.cronlib
local cron = {}

---What a cron expression, nickname or interval means.
---@param expr string "*/15 9-17 * * mon-fri", "@daily", "every 30s"
---@return vouch.cron_fields|nil fields
---@return string? err the field and the reason, when invalid
function cron.parse(expr) end

---The next `count` fire times strictly after `from`, as UTC text.
---@param expr string
---@param from? integer|string Unix seconds or "YYYY-MM-DDTHH:MM:SSZ" (default now)
---@param count? integer default 1
---@param tz? string IANA zone the expression is read in (default UTC)
---@return string[]|nil times
---@return string? err
function cron.next(expr, from, count, tz) end

---A time as the wall clock in `tz` shows it: "Sun 2026-03-08 03:00:00 EDT".
---@param t integer|string
---@param tz? string
---@return string
function cron.localtime(t, tz) end

---Parse a time; without a zone suffix it is a wall time in `tz`.
---@param text string
---@param tz? string
---@return integer|nil seconds
---@return string? err
function cron.time(text, tz) end

---@param seconds integer
---@return string "YYYY-MM-DDTHH:MM:SSZ"
function cron.utc(seconds) end

---@class vouch.schedule_opts
---@field name? string
---@field expr? string
---@field script? string a Lua file, or "cmd:vet" / "cmd:report"
---@field args? string[] a script's own; for a command, no host option
---(`--trusted`, `--db`, `--allow-*`, `--max-memory`, `--timeout`, `-e`), no
---file this script may not read, `--out` only where it may write
---@field tz? string
---@field missed? "skip"|"once"|"each"
---@field missed_cap? integer
---@field overlap? "skip"|"queue"|"replace"
---@field jitter? integer seconds
---@field alerts? string[] "stderr", "file:PATH" (where this script may
---write), "http(s)://HOST..." (a host it may reach; no user name)
---@field threshold? number total move worth an alert (default 10)
---@field paused? boolean

---Create or update a schedule (an update keeps its history); returns its row.
---Its runs get this script's grants (read, write, net, limits; the row's
---`grants`), never more than those of the daemon that runs them. A
---schedule this script could not run itself raises "schedule 'NAME'
---refused: ...".
---@param name string|vouch.schedule_opts
---@param expr? string
---@param script? string
---@param opts? vouch.schedule_opts
---@return table|nil row
---@return string? err
function vouch.schedule(name, expr, script, opts) end

---@class vouch.schedule_context
---@field name string
---@field run integer schedule_runs.id
---@field trigger "time"|"missed"|"manual"|"event"
---@field scheduled_for string
---@field partner? string for event triggers
---@field reason? string

---@class vouch.scheduleslib
local schedules = {}
---Like vouch.schedule, but refuses a name that exists.
---@return table|nil row
---@return string? err
function schedules.add(name, expr, script, opts) end
---Every schedule; on a PostgreSQL record each row's `holder` names the
---daemon that drives it ("HOST pid N"), when a live one does.
---@return table[] rows
function schedules.list() end
---The pid of a daemon running on the record (on a server: of a live one), or nil.
---@return integer|nil pid
function schedules.daemon() end
---The daemons that joined a record on a server and have not left, oldest
---first: {id, host, pid, started_at, seen_at, lease (s), alive, schedules}.
---Empty for a SQLite file.
---@return table[] daemons
function schedules.daemons() end
---@return table|nil row
function schedules.get(name) end
---@return true|nil ok
---@return string? err
function schedules.remove(name) end
---@return true|nil ok
---@return string? err
function schedules.pause(name) end
---Resume; runs missed while paused are not caught up.
---@return true|nil ok
---@return string? err
function schedules.resume(name) end
---Past runs, newest first.
---@param name? string
---@param limit? integer default 20
---@return table[] rows
function schedules.history(name, limit) end
---Ask the daemon to run a schedule early for a partner (an event in the data).
---@param name string
---@param partner_id? string
---@param reason? string
---@return true|nil ok
---@return string? err
function schedules.trigger(name, partner_id, reason) end
---The schedule this script runs for, or nil.
---@return vouch.schedule_context|nil
function schedules.context() end
---Population stability index of `actual` against `expected`, and its band.
---@param expected number[]
---@param actual number[]
---@return number psi
---@return "stable"|"moderate"|"significant" band
function schedules.psi(expected, actual) end

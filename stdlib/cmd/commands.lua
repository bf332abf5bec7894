-- commands.lua: the one table of vouch's commands, subcommands, options,
-- usage lines, help text and examples. `vouch --help`, `vouch help CMD`
-- and `CMD --help` print pages made from it; every Lua command parses its
-- arguments with M.parse against it; the commands done in C (run, repl,
-- daemon, schedule run|tick) ask it to check their arguments and to word
-- their usage errors (host/main.c). An unknown option is exit 2 everywhere,
-- with the closest known one suggested.
local M = {}

local format, concat = string.format, table.concat

--- The exit codes, the same for every command.
M.EXIT = {
  { 0, "success" },
  { 1, "a script, scorecard, data or output file failed (missing, a directory, unreadable, unwritable, invalid, raised an error)" },
  { 2, "usage error: an unknown command or option, a bad or missing argument" },
  { 3, "a limit was exceeded (memory, time, stack)" },
  { 4, "the database could not be opened, created or upgraded; or a command that only reads it, or prunes it, found none (those never create one)" },
  { 5, "a check failed (vouch test, vouch diff --fail-on)" },
  { 6, "another daemon is running on the database (vouch daemon)" },
}

--- The global options: taken by the host (host/main.c) before or after the
--- command, described once, on `vouch help options`.
M.GLOBAL = {
  { "db", "FILE", "the database (default: $VOUCH_DB or ./vouch.db); commands that only read it never create it" },
  { "max-memory", "SIZE", "memory limit for scripts, e.g. 256M (default 1G)" },
  { "timeout", "SECONDS", "wall-time limit for a run, 0 for none (default 600); in the REPL for each statement and the tasks it spawns, which are cancelled when it runs out" },
  { "allow-read", "PATHS", "readable files and directories, comma-separated (default: the script's directory and the working directory)" },
  { "allow-write", "PATHS", "writable files and directories (default: none but the database)" },
  { "allow-net", "HOSTS", "hosts scripts may reach over HTTP (default: none; * for any)" },
  { "allow-env", "NAMES", "environment variables vouch.env may read (default: none); their values are shown as *** in errors, logs and runs" },
  { "trusted", nil, "run with the full standard library and no capability checks" },
  { "color", "WHEN", "colour tables: auto (default: on a terminal, unless NO_COLOR is set), always or never; give it as --color=WHEN" },
  { "verbose", nil, "show where in vouch an error arose, with a traceback (as VOUCH_DEBUG=1 does)" },
  { "e", "CODE", "run CODE instead of a script (vouch -e CODE)" },
  { "help", nil, "show help: vouch --help, vouch help CMD, vouch CMD --help" },
  { "version", nil, "print the versions of vouch and its libraries" },
}

-- Options: { name, ARG or nil for a flag, help, [list = true] }.
local LIMIT_RUNS = { "limit", "N", "show at most N runs (default 20)" }

--- The commands, in the order `vouch --help` lists them.
M.list = {
  { name = "run", usage = "run [GLOBAL OPTIONS] SCRIPT [ARGS...]",
    summary = "run a Lua script as a task (arguments in `arg`)",
    text = [[
Run SCRIPT (a Lua file; - or nothing on a pipe for standard input) as a
task in the sandbox: what it may read, write and reach is what the global
options allow. Options go before SCRIPT; what follows it is the script's,
in `arg`. `vouch SCRIPT.lua` is the same as `vouch run SCRIPT.lua`.]],
    options = {}, global = true,
    example = "vouch run --allow-net=api.example.com fetch.lua 2024-06" },
  { name = "repl", usage = "repl [GLOBAL OPTIONS]",
    summary = "the interactive Lua prompt (plain `vouch` on a terminal)",
    text = [[
The interactive prompt: each entry runs as a task with the sandbox and the
limits the global options give. Type .help at the prompt for its commands.]],
    options = {}, global = true,
    example = "vouch repl --allow-read=data/" },
  { name = "vet", usage = "vet DATA... [--rules SCRIPT] [--format F] [--out FILE] [--top N | --all] [--no-store] [--shard K/N]",
    summary = "score partners with a scorecard, store the run, print them ranked",
    text = [[
Score every partner in DATA (CSV, JSON, NDJSON or XLSX, chosen by extension) with
a scorecard, store the run in the database, and print the partners ranked
(approvals, reviews, then rejections, each by total): partner, kind, total,
verdict, weakest dimension, principal reasons.
See also: vouch explain, vouch runs, vouch diff, vouch test.]],
    options = {
      { "rules", "SCRIPT", "the scorecard: a Lua file returning one, or the name of a bundled one (social_capital, influencer, supplier); default social_capital" },
      { "format", "F", "table (default), json or csv: json and csv print every partner, every dimension and rule outcome, for other tools; xlsx writes a workbook (the ranking, and a sheet of reasons) to --out FILE" },
      { "out", "FILE", "where --format xlsx writes" },
      { "top", "N", "the table shows the first and the last N of the ranking (default 20 on a terminal), then the summary" },
      { "all", nil, "the table shows every partner" },
      { "no-store", nil, "score and print without storing a run" },
      { "shard", "K/N", "on a record on a server: score shard K of N of one run, beside N-1 other processes given the same DATA and scorecard (on this machine or others); each then takes over the shards of a process that died, and the run ends when every shard has" },
      { "batch", "NAME", "with --shard: a name for the run the processes share; a batch that ended is not scored again" },
      { "lease", "SECONDS", "on a record on a server: how long a run stays held by a process that stopped before it is marked aborted (default 60), or with --shard, a shard before another process takes it over (default 20)" },
    },
    example = "vouch vet examples/partners.csv --rules supplier --top 5" },
  { name = "explain", usage = "explain PARTNER [--run N] [--format F]",
    summary = "every rule's outcome for one partner, with evidence",
    text = [[
Show how a partner was scored: the total and verdict, the principal reasons,
then every rule's outcome with its points and evidence, grouped by dimension.
PARTNER is an id or a name, in any case. Without --run, the latest run that scored
the partner. Reads the database; never creates one.]],
    options = { { "run", "N", "the run to explain" },
                { "format", "F", "table (default), json (one object) or csv (a line per rule)" } },
    example = "vouch explain P-0042 --run 3" },
  { name = "runs", usage = "runs [--limit N] [--format F]",
    summary = "list the stored scoring runs",
    text = [[
List the stored scoring runs, newest first: id, scorecard and the hash of
its source, when it started, its status, how many partners got each
verdict, and what it scored: each input's source, rows and the first
characters of its content hash. Reads the database; never creates one.]],
    options = { LIMIT_RUNS, { "format", "F", "table (default), json (an array of runs) or csv" } },
    example = "vouch --db scores.db runs --limit 5" },
  { name = "diff", usage = "diff RUN_A RUN_B [--top N] [--fail-on verdict|reject] [--format F]",
    summary = "compare two runs: verdict changes, score moves, dimension shifts",
    text = [[
Compare two stored runs partner by partner: verdicts that changed, partners
only in one run, the largest moves of the total, and the mean shift of each
dimension the two runs' scorecards share, over the partners both scored.
Reads the database; never creates one.]],
    options = {
      { "top", "N", "how many score moves to show (default 10)" },
      { "fail-on", "WHAT", "exit 5 when a verdict changed (WHAT = verdict) or a partner became reject (WHAT = reject): for CI of rules" },
      { "format", "F", "table (default), json (one object) or csv (a line per change: kind, partner, name, before, after, change)" },
    },
    example = "vouch diff 3 4 --fail-on reject" },
  { name = "test", usage = "test [PATH...] [--min-coverage PCT]",
    summary = "run scorecard tests (*_test.lua) and report rule coverage",
    text = [[
Run scorecard tests: every *_test.lua file under PATH (default: scripts/ when
it exists, else the working directory), or the files named. Prints "ok" or
"not ok" per case, the rule outcomes behind each failure, and per scorecard
the rules that no case fired (a flag raised, a score or points given).
A PATH that does not exist is exit 1, as a missing data file is for vet.]],
    options = { { "min-coverage", "PCT", "fail (exit 5) when fewer than PCT% of a scorecard's rules fired" } },
    example = "vouch test examples/my_scorecard_test.lua --min-coverage 80" },
  { name = "report", usage = "report [--run N | --partner ID | --diff A B] [--out FILE] [--format html|md|json|xlsx] [--limit N] [--open]",
    summary = "write a run, a partner's history or a diff as an HTML, Markdown or JSON report",
    text = [[
Reports on what is stored in the database (the latest finished run by
default). Reads the database; never creates one.]],
    options = {
      { "run", "N", "run N: partners ranked with verdicts and principal reasons, counts per verdict, the dimensions of the run's scorecard per partner beside the portfolio median (a radar from three dimensions, else bars), red flags" },
      { "partner", "ID", "one partner across runs: total and dimensions over time, reasons that came and went" },
      { "diff", "A B", "run A against run B: partners that changed verdict", n = 2 },
      { "out", "FILE", "write the report to FILE (default: standard output); Markdown charts go to FILE's stem + \"_files/\" beside it. FILE and that folder need no --allow-write; FILE's folder must exist" },
      { "format", "F", "html (default), md, json or xlsx (a workbook of the whole run: the ranking and a sheet of reasons; needs --out); by default taken from FILE's extension (.md, .markdown, .json, .xlsx)" },
      { "limit", "N", "list at most N partners (default 500, 0 for all); counts, medians and red flags always cover the whole run" },
      { "open", nil, "open the written file with xdg-open or sensible-browser" },
    },
    example = "vouch report --run 3 --out run3.html --open" },
  { name = "serve", usage = "serve [--port N] [--bind ADDR]",
    summary = "the workbench: runs, partners, diffs and schedules in a browser, live",
    text = [[
Serve the record over HTTP for a browser: the runs with their inputs and
verdict counts, a run's partners (sortable, filtered by verdict, red flag or
dimension, paged), a partner across runs with every rule's outcome and
evidence, the diff of two runs, and the schedules with their history,
alerts and next times; runs in progress and new runs and alerts show
without a reload. Each page has a JSON API behind it (/api/...; see the
README). The pages can vet a file under --allow-read with a chosen
scorecard, run a schedule now, and pause or resume one.
Prints a link with a random token: every request must carry it (a cookie
after the first visit). Only this machine can connect unless --bind says
otherwise. --timeout limits each request (at most 30 s). Ctrl-C stops it.
Reads the database; never creates one.]],
    options = {
      { "port", "N", "the port (default 8421; 0 for any free one)" },
      { "bind", "ADDR", "the address to listen on (default 127.0.0.1); another lets other machines connect, with the token" },
    },
    example = "vouch serve --allow-read=data/ --port 8421" },
  { name = "cron", usage = "cron next 'EXPR' [--from TIME] [--count N] [--tz ZONE] [--format F]",
    summary = "print when a schedule expression fires",
    text = [[
EXPR is five cron fields (minute hour day-of-month month day-of-week) with
names (jan-dec, sun-sat), ranges, lists and steps; when both day fields are
restricted a day matching either runs (7 is Sunday too); or @hourly @daily
@weekly @monthly @yearly; or an interval: every 30s, every 15m, every 2h.
TIME is YYYY-MM-DDTHH:MM[:SS]Z, or a wall time in ZONE without the Z.
On daylight saving (DST) changes, as cronie: in the gap, a fixed-time job runs once right
after it and a wildcard job does not; in the repeated hour, a fixed-time
job runs once and a wildcard job in both passes.]],
    sub = {
      { name = "next", usage = "cron next 'EXPR' [--from TIME] [--count N] [--tz ZONE] [--format F]",
        summary = "the next fire times of EXPR",
        text = [[
Print the next N fire times (default 5) after TIME (default now), one per
line: the UTC time, then the wall time in ZONE (default UTC). See
'vouch help cron' for EXPR and TIME.]],
        options = {
          { "from", "TIME", "start after TIME (default now)" },
          { "count", "N", "how many fire times (default 5)" },
          { "tz", "ZONE", "read EXPR and TIME in this IANA zone (default UTC)" },
          { "format", "F", "table (default), json (JSON Lines: an object a fire time) or csv" },
        },
        example = "vouch cron next '30 2 * * *' --tz America/New_York --count 3" },
    },
    example = "vouch cron next '*/15 9-17 * * mon-fri'" },
  { name = "schedule", usage = "schedule add|list|rm|pause|resume|run|history|alerts|tick ...",
    summary = "manage scheduled runs of scripts",
    text = [[
Schedules run scripts (or vouch vet / vouch report) at times given by a
cron expression (see 'vouch help cron'); the daemon ('vouch daemon') runs
them when due. 'vouch help schedule SUB' shows one subcommand.]],
    sub = {
      { name = "add", usage = "schedule add NAME 'EXPR' SCRIPT [ARGS...] [options]",
        summary = "add a schedule",
        text = [[
SCRIPT is a Lua file (run as `vouch run SCRIPT ARGS`), cmd:vet or
cmd:report. Put `--` before ARGS that start with a dash.
Runs get what this command may read, write and reach (--allow-*),
and its limits, never more than the daemon's own.]],
        positional = 3,
        options = {
          { "tz", "ZONE", "read EXPR in an IANA zone (default UTC)" },
          { "missed", "skip|once|each[:CAP]", "runs missed while no daemon ran: drop them (default), run one, or run each (newest CAP, 10)" },
          { "overlap", "skip|queue|replace", "when the previous run still runs: skip this one (default), run it afterwards, or kill the old one" },
          { "jitter", "SECONDS", "delay each run by up to SECONDS (spreads load)" },
          { "alert", "TARGET", "stderr, file:PATH or an http(s) URL (repeatable)", list = true },
          { "threshold", "POINTS", "a total moving more than this is reported (10)" },
          { "paused", nil, "add it paused" },
          { "replace", nil, "replace a schedule of the same name" },
          { "keep", "N", "keep its last N runs (and their history); older ones are pruned after each run" },
          { "keep-days", "DAYS", "keep its runs of the last DAYS days (with --keep: those either keeps)" },
        },
        example = "vouch schedule add nightly '0 2 * * *' cmd:vet partners.csv --tz Europe/Berlin --alert stderr" },
      { name = "list", usage = "schedule list [--format F]",
        summary = "the schedules with their next run",
        text = "List the schedules: expression, next and last run, policies, script. A next run in the past is one no daemon ran: the list says so.",
        options = { { "format", "F", "table (default), json or csv" } }, example = "vouch schedule list --format json" },
      { name = "rm", usage = "schedule rm NAME",
        summary = "remove a schedule (its history stays)",
        text = "Remove the schedule NAME; the record of its past runs stays.",
        options = {}, example = "vouch schedule rm nightly" },
      { name = "pause", usage = "schedule pause NAME",
        summary = "stop running a schedule until it is resumed",
        text = "Pause the schedule NAME: the daemon does not run it until 'schedule resume'.",
        options = {}, example = "vouch schedule pause nightly" },
      { name = "resume", usage = "schedule resume NAME",
        summary = "restart a paused schedule (what was missed is skipped)",
        text = "Resume the schedule NAME; the runs missed while it was paused are skipped.",
        options = {}, example = "vouch schedule resume nightly" },
      { name = "run", usage = "schedule run NAME",
        summary = "run a schedule now, wait, print its output",
        text = "Run the schedule NAME now, as the daemon would, wait for it and print its output.",
        options = {}, example = "vouch schedule run nightly" },
      { name = "history", usage = "schedule history [NAME] [--limit N] [--output] [--format F]",
        summary = "past runs: status, start, duration, alerts, error",
        text = "The past runs of every schedule, or of NAME, newest first, with the alerts each raised. Reads the database; never creates one.",
        options = {
          { "limit", "N", "show at most N runs (default 20)" },
          { "output", nil, "print each run's output after the table" },
          { "format", "F", "table (default), json or csv" },
        },
        example = "vouch schedule history nightly --limit 5 --output" },
      { name = "alerts", usage = "schedule alerts [NAME] [--limit N] [--format F]",
        summary = "the alerts schedules raised: what moved since the run before",
        text = "The alerts of every schedule, or of NAME, newest first: when, the run and the one it was compared with, and what moved (verdicts, totals past the threshold, new flags, drift). --format json prints them as they were sent. Reads the database; never creates one.",
        options = {
          { "limit", "N", "look at the last N runs that raised one (default 20)" },
          { "format", "F", "table (default), json or csv" },
        },
        example = "vouch schedule alerts nightly --format json" },
      { name = "tick", usage = "schedule tick --at TIME",
        summary = "run what is due at TIME and wait (a clock for tests)",
        text = "Run every schedule due at TIME (YYYY-MM-DDTHH:MM:SSZ), as the daemon would, and wait for them.",
        options = { { "at", "TIME", "the time to act at, YYYY-MM-DDTHH:MM:SSZ" } },
        example = "vouch schedule tick --at 2025-01-01T02:00:00Z" },
    },
    example = "vouch schedule add nightly '0 2 * * *' report.lua" },
  { name = "daemon", usage = "daemon [--poll MS] [--grace SECONDS] [--max-running N] [--clock FILE] [--log FILE] [--proxy URL] [--lease SECONDS] [--status]",
    summary = "run due schedules until stopped (SIGTERM/SIGINT)",
    text = [[
Run due schedules until SIGTERM, SIGINT or SIGHUP, one log line per event.
Each of the three stops it the same way: no new run starts, running runs
get the grace period to end and are recorded, then the daemon exits.
Each run is `vouch run SCRIPT ARGS` (or `vouch vet|report ARGS`) with the
grants recorded when its schedule was added, never more than the daemon's
own: --allow-read (default: the daemon's working directory), --allow-write,
--allow-net and --trusted; --max-memory and --timeout are the smaller of the
two. A schedule whose row fails that check (a command other than vet or
report, a host option among a command's arguments, a path or host outside
its grants, a missing directory) is not run: the run is recorded as failed
with an error starting "refused:", and the daemon goes on.
On a SQLite file a second daemon refuses to start (exit 6); a crashed
daemon's lock is taken over. On a PostgreSQL record (--db postgresql://...)
any number of daemons, on any number of machines, share the schedules: each
schedule is driven by one of them, and when that one stops or its lease
expires another takes the schedule over; its missed policy says what becomes
of the runs due meanwhile.]],
    options = {
      { "poll", "MS", "how often schedules are checked (default 1000)" },
      { "grace", "SECONDS", "on stop, how long running runs may finish (default 30)" },
      { "max-running", "N", "runs at the same time (default 4)" },
      { "clock", "FILE", "read the time from FILE (a controllable clock, for tests)" },
      { "log", "FILE", "append the log to FILE instead of stderr" },
      { "proxy", "URL", "send webhooks through this proxy (default: none; the environment's http_proxy and https_proxy are ignored)" },
      { "lease", "SECONDS", "on a PostgreSQL record, how long this daemon's hold on its schedules lasts unless renewed (default 20)" },
      { "status", nil, "list the daemons of the record and what each holds, then exit" },
    },
    example = "vouch --db scores.db daemon --log daemon.log" },
  { name = "prune", usage = "prune [--keep N] [--keep-days DAYS] [--dry-run]",
    summary = "remove old runs: their scores, and inputs no run uses any more",
    text = [[
Remove the scoring runs that neither --keep nor --keep-days keeps, with
their scores, and the loads and inputs no remaining run reads, in one
transaction. A schedule with a retention of its own (schedule add --keep,
--keep-days) keeps its runs and history by that instead; the daemon
applies it after each of its runs. A run still running is never removed.]],
    options = {
      { "keep", "N", "keep the last N runs" },
      { "keep-days", "DAYS", "keep the runs of the last DAYS days" },
      { "dry-run", nil, "say what would be removed, and remove nothing" },
    },
    example = "vouch prune --keep 30 --dry-run" },
  { name = "cache", usage = "cache [--limit N] [--format F] | cache prune --older-than DAYS | --all",
    summary = "show or prune the HTTP responses kept for revalidation (cache = true)",
    text = [[
Show the HTTP responses vouch.http keeps for revalidation (requests made
with cache = true): URL, status, size, when stored and last used, how often
served from the record.]],
    options = { { "limit", "N", "show at most N responses (default 50)" },
                { "format", "F", "table (default), json (one object: count, bytes, responses) or csv" } },
    sub = {
      { name = "prune", usage = "cache prune --older-than DAYS | --all",
        summary = "remove stored responses",
        text = "Remove the stored responses unused for DAYS days (--older-than DAYS), or all of them (--all).",
        options = {
          { "older-than", "DAYS", "remove those unused for DAYS days" },
          { "all", nil, "remove every stored response" },
        },
        example = "vouch cache prune --older-than 30" },
    },
    example = "vouch cache --limit 10" },
  { name = "completion", usage = "completion bash|zsh|fish",
    summary = "print a shell completion script",
    text = [[
Print a completion script for bash, zsh or fish, made from the same table
as the help: commands, subcommands and options complete on TAB.
Load it in the shell's start-up file, or install it where the shell looks:
  bash: eval "$(vouch completion bash)"  (in ~/.bashrc)
  zsh:  eval "$(vouch completion zsh)"   (in ~/.zshrc)
  fish: vouch completion fish > ~/.config/fish/completions/vouch.fish]],
    options = {}, example = "vouch completion bash > /etc/bash_completion.d/vouch" },
  { name = "help", usage = "help [COMMAND [SUBCOMMAND] | options]",
    summary = "show help for a command, or the global options",
    text = "Show the help of COMMAND (the same page as COMMAND --help), or with 'options' the global options.",
    options = { { "names", nil, "list every command and subcommand, one a line (for scripts)" },
                { "man", nil, "print the manual page, vouch(1), in roff (make builds vouch.1 with it)" } },
    example = "vouch help schedule add" },
  { name = "version", usage = "version",
    summary = "print the versions of vouch and its libraries",
    text = "Print the versions of vouch, Lua, SQLite and libuv.",
    options = {}, example = "vouch version" },
}

--- Checks of a command's values beyond the table (name -> function(args)
--- raising { usage = why }), run before a read-only command is told its
--- database is missing, so that a usage error comes first.
M.validate = {}

local by_name = {}
for _, c in ipairs(M.list) do
  by_name[c.name] = c
  for _, s in ipairs(c.sub or {}) do s.parent = c end
end

--- The entry for "cmd" or "cmd", "sub"; nil if there is none.
function M.find(name, sub)
  local c = by_name[name]
  if not c or not sub then return c end
  for _, s in ipairs(c.sub or {}) do if s.name == sub then return s end end
  return nil
end

local function path(c)
  return c.parent and (c.parent.name .. " " .. c.name) or c.name
end

-- Levenshtein distance, for did-you-mean.
local function distance(a, b)
  local before, prev, cur = {}, {}, {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    cur[0] = i
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
      if i > 1 and j > 1 and a:byte(i) == b:byte(j - 1) and a:byte(i - 1) == b:byte(j) then
        cur[j] = math.min(cur[j], before[j - 2] + 1)   -- a transposition
      end
    end
    before, prev, cur = prev, cur, before
  end
  return prev[#b]
end

--- The closest of `names` to `word`, when it is close enough to be a slip.
function M.closest(word, names)
  local best, bd
  for _, n in ipairs(names) do
    local d = distance(word, n)
    if (n:sub(1, #word) == word and #word >= 2) then d = math.min(d, 1) end
    if not bd or d < bd then best, bd = n, d end
  end
  if best and bd <= math.max(1, #word // 3) then return best end
end

-- Wrap `text` to `width` columns, the first line after `first` characters.
local function wrap(text, width, indent, first)
  local lines, line, col = {}, {}, first
  for word in text:gmatch("%S+") do
    if #line > 0 and col + 1 + #word > width then
      lines[#lines + 1] = concat(line, " ")
      line, col = {}, indent
    end
    col = col + (#line > 0 and 1 or 0) + #word
    line[#line + 1] = word
  end
  lines[#lines + 1] = concat(line, " ")
  return concat(lines, "\n" .. string.rep(" ", indent))
end

local function option_lines(out, options)
  for _, o in ipairs(options) do
    local head = "  " .. (#o[1] == 1 and "-" or "--") .. o[1] .. (o[2] and (" " .. o[2]) or "")
    if #head < 24 then
      out[#out + 1] = head .. string.rep(" ", 24 - #head) .. wrap(o[3], 78, 24, 24)
    else
      out[#out + 1] = head
      out[#out + 1] = string.rep(" ", 24) .. wrap(o[3], 78, 24, 24)
    end
  end
end

local function exit_lines(out)
  out[#out + 1] = "Exit codes:"
  for _, e in ipairs(M.EXIT) do out[#out + 1] = format("  %d  %s", e[1], wrap(e[2], 78, 5, 5)) end
end

--- The page `vouch --help` (and `vouch help`) prints.
function M.overview()
  local out = {
    "usage: vouch [GLOBAL OPTIONS] COMMAND [ARGS...]",
    "       vouch [GLOBAL OPTIONS] SCRIPT [ARGS...]",
    "       vouch [GLOBAL OPTIONS] -e CODE",
    "",
    "Commands:",
  }
  for _, c in ipairs(M.list) do out[#out + 1] = format("  %-10s %s", c.name, c.summary) end
  out[#out + 1] = ""
  out[#out + 1] = "Global options (--db, --max-memory, --timeout, --allow-*, --trusted, ...): 'vouch help options'."
  out[#out + 1] = "One command: 'vouch help COMMAND' or 'vouch COMMAND --help'."
  out[#out + 1] = ""
  exit_lines(out)
  return concat(out, "\n")
end

--- The page of `vouch help options`.
function M.options_page()
  local out = {
    "Global options: taken before the command, or anywhere among a command's",
    "arguments (for run, before SCRIPT).",
    "",
  }
  option_lines(out, M.GLOBAL)
  out[#out + 1] = ""
  exit_lines(out)
  return concat(out, "\n")
end

--- The help page of a command or subcommand entry.
function M.page(c)
  local out = { "usage: vouch " .. c.usage, "", c.summary .. ".", "" }
  if c.text then out[#out + 1] = c.text; out[#out + 1] = "" end
  if c.sub then
    out[#out + 1] = "Subcommands:"
    for _, s in ipairs(c.sub) do out[#out + 1] = format("  %-10s %s", s.name, s.summary) end
    out[#out + 1] = ""
  end
  if c.options and #c.options > 0 then
    out[#out + 1] = "Options:"
    option_lines(out, c.options)
    out[#out + 1] = ""
  end
  out[#out + 1] = "Example:"
  out[#out + 1] = "  " .. c.example
  out[#out + 1] = ""
  out[#out + 1] = "Global options: 'vouch help options'. Exit codes: 'vouch --help'."
  return concat(out, "\n")
end

local function global_names()
  local names = {}
  for _, o in ipairs(M.GLOBAL) do names[#names + 1] = "--" .. o[1] end
  return names
end

--- A usage error: `vouch: CMD: WHY`, the usage line and where help is;
--- returns 2, the exit code for it.
function M.usage_error(c, why)
  local p = c and path(c)
  vouch.eprint(format("vouch: %s%s\nusage: vouch %s\nsee 'vouch help%s'", p and (p .. ": ") or "",
                      why, c and c.usage or "[GLOBAL OPTIONS] COMMAND [ARGS...]",
                      p and (" " .. p) or ""))
  return 2
end

local function unknown_option(c, opt)
  local names = global_names()
  for _, o in ipairs(c and c.options or {}) do names[#names + 1] = "--" .. o[1] end
  local bare = opt:match("^([^=]*)")
  local near = M.closest(bare, names)
  return format("unknown option '%s'%s", bare, near and format(" (did you mean '%s'?)", near) or "")
end

--- Parse `args` for the command `name` (and subcommand `sub`) against
--- the table: --opt VALUE, --opt=VALUE, flags, `--` ending the options.
--- Returns the options (keyed by name; a list option collects a list),
--- the positional arguments, and the entry; or nil and a usage message.
--- `--help` or `-h` sets opts.help. With `positional = N` in the entry,
--- after N positional arguments an unknown option is an argument.
function M.parse(args, name, sub)
  local c = assert(M.find(name, sub), name)
  local spec = {}
  for _, o in ipairs(c.options or {}) do spec[o[1]] = o end
  local opts, pos, i = {}, {}, 1
  while i <= #args do
    local a = args[i]
    if a == "--" then
      for k = i + 1, #args do pos[#pos + 1] = args[k] end
      break
    end
    local oname, value = a:match("^%-%-([%w%-]+)=(.*)$")
    if not oname then oname = a:match("^%-%-([%w%-]+)$") end
    if a == "-h" then oname = "help" end
    local o = oname and spec[oname]
    if oname == "help" and not o then
      opts.help = true
    elseif o then
      if not o[2] then
        if value then return nil, format("option '--%s' takes no value", oname) end
        opts[oname] = true
      else
        if o.n then   -- several values: --diff A B
          if value then return nil, format("option '--%s' takes %d values: --%s %s", oname, o.n, oname, o[2]) end
          value = { table.unpack(args, i + 1, i + o.n) }
          if #value < o.n then
            return nil, format("option '--%s' takes %d values: --%s %s", oname, o.n, oname, o[2])
          end
          i = i + o.n
        elseif value == nil then
          i = i + 1
          value = args[i]
          if value == nil then return nil, format("option '--%s' needs a value (%s)", oname, o[2]) end
        end
        if o.list then
          opts[oname] = opts[oname] or {}
          table.insert(opts[oname], value)
        else
          opts[oname] = value
        end
      end
    elseif a:match("^%-.") and not (c.positional and #pos >= c.positional) then
      return nil, unknown_option(c, a)
    else
      pos[#pos + 1] = a
    end
    i = i + 1
  end
  return opts, pos, c
end

--- Parse, or print the help page (opts.help) or the usage error. Returns
--- opts, pos; or nil and the exit status to return (0 after help, 2).
function M.args(args, name, sub)
  local opts, pos = M.parse(args, name, sub)
  local c = M.find(name, sub)
  if opts and opts.help then print(M.page(c)); return nil, 0 end
  if not opts then return nil, M.usage_error(c, pos) end
  return opts, pos
end

--- The --db the user gave, as a hint's command line repeats it: "--db
--- FILE " (quoted for a shell when it needs to be), or "".
function M.db_arg()
  local db = M.db
  if not db then return "" end
  if not db:match("^[%w%./_%-]+$") then db = "'" .. db:gsub("'", "'\\''") .. "'" end
  return "--db " .. db .. " "
end

--- For a command with subcommands (cron, schedule): the subcommand named
--- by args[1]; or nil and the exit status after printing the command's
--- help (--help, help, or nothing) or a usage error (an unknown one).
function M.subcommand(args, name)
  local c = M.find(name)
  local first = args[1]
  if first == nil or first == "--help" or first == "-h" or first == "help" then
    print(M.page(c))
    return nil, 0
  end
  local s = M.find(name, first)
  if s then return s end
  local names = {}
  for _, e in ipairs(c.sub) do names[#names + 1] = e.name end
  if first:match("^%-") then return nil, M.usage_error(c, unknown_option(c, first)) end
  local near = M.closest(first, names)
  return nil, M.usage_error(c, format("unknown subcommand '%s'%s (one of: %s)", first,
    near and format(", did you mean '%s'?", near) or "", concat(names, ", ")))
end

--- A positional argument a command does not take, or a missing one.
function M.usage(name, sub, why)
  return M.usage_error(M.find(name, sub), why)
end

-- As a command (host/main.c): help [CMD [SUB]] | check CMD SUB ARGS... |
-- unknown CMD OPTION | names | man. The module is a table that can be called.
local function main(action, ...)
  local a = { ... }
  if action == "help" or action == "command" then
    if a[1] == nil then print(M.overview()); return 0 end
    if a[1] == "options" then print(M.options_page()); return 0 end
    local c = M.find(a[1])
    if not c then
      local names = {}
      for _, e in ipairs(M.list) do names[#names + 1] = e.name end
      local near = M.closest(a[1], names)
      return M.usage_error(nil, format("%s '%s'%s", action == "help" and "no command" or "unknown command", a[1],
        near and format(" (did you mean '%s'?)", near) or ""))
    end
    if a[2] and c.sub then
      local s = M.find(a[1], a[2])
      if not s then
        local names = {}
        for _, e in ipairs(c.sub) do names[#names + 1] = e.name end
        local near = M.closest(a[2], names)
        return M.usage_error(c, format("no subcommand '%s'%s", a[2],
          near and format(" (did you mean '%s'?)", near) or ""))
      end
      c = s
    end
    print(M.page(c))
    return 0
  elseif action == "unknown" then
    -- a C command met an option it does not know: a[1] the command path
    -- ("" for before the command), a[2] the option
    local c = a[1] ~= "" and M.find(a[1]:match("^(%S+)"), a[1]:match(" (%S+)$")) or nil
    return M.usage_error(c, unknown_option(c, a[2]))
  elseif action == "check" then
    -- the arguments of a C command (daemon, schedule run|tick), checked
    -- against the table before the C parser takes them
    local name, sub = a[1], a[2] ~= "" and a[2] or nil
    local args = table.move(a, 3, #a, 1, {})
    local opts, err = M.args(args, name, sub)
    if not opts then return err == 0 and 100 or err end
    -- a command's own checks of its values (report's), registered in
    -- M.validate when its module loads
    pcall(require, "vouch.cmd." .. name)
    local validate = M.validate[name]
    if validate then
      local ok, e = pcall(validate, args)
      if not ok and type(e) == "table" and e.usage then return M.usage_error(M.find(name), e.usage) end
    end
    return 0
  elseif action == "man" then
    print(require("vouch.cmd.completion").man())
    return 0
  elseif action == "names" then
    for _, c in ipairs(M.list) do
      print(c.name)
      for _, s in ipairs(c.sub or {}) do print(c.name .. " " .. s.name) end
    end
    return 0
  end
  return 2
end

return setmetatable(M, { __call = function(_, ...) return main(...) end })

---@meta
-- vouch.lua: type definitions of the `vouch` table for lua-language-server.
-- Not embedded; point your editor at stdlib/types (see README "Scorecards":
-- "workspace.library": ["stdlib/types"] in .luarc.json).

---The host's libraries: databases, loaders, JSON, HTTP, tasks.
---@class vouch
---@field version string the vouch version, e.g. "0.1.0"
---@field db vouch.dblib
---@field load vouch.loadlib
---@field json vouch.jsonlib
---@field http vouch.httplib
---@field file vouch.filelib
---@field REASON vouch.reason the record's format of a stored reason
vouch = {}

---A stored reason is a JSON array; these are its fields' 1-based positions.
---@class vouch.reason
---@field code integer
---@field outcome integer
---@field points integer
---@field rank integer
---@field evidence integer
---@field flags table<string, true> the outcomes that are red flags: veto, penalty, cap, review
---@field flag_list string[] the same, in order

-- {====== tasks (every script runs as a task on the event loop) ======}

---Let other tasks run for at least `ms` milliseconds. Returns true, or nil,
---message, "ETIMEDOUT" when opts.timeout (ms) is shorter.
---@param ms number
---@param opts? { timeout?: number }
---@return true? ok
---@return string? message
---@return string? code
function vouch.sleep(ms, opts) end

---Start `fn(...)` as a new task; it runs when the current one waits.
---@param fn fun(...): ...
---@param ... any
---@return vouch.task
function vouch.spawn(fn, ...) end

---Run the functions (or tasks) of `list` as tasks and return the first result of
---each, in order. The first to fail cancels the others and raises its error; after
---opts.timeout ms the unfinished ones are cancelled: nil, message, "ETIMEDOUT".
---@param list (fun(): any)[]|vouch.task[]
---@param opts? { timeout?: number }
---@return any ...
function vouch.all(list, opts) end

---Like vouch.all, but the first task to end wins: the others are cancelled, and its
---results are returned (or its error raised).
---@param list (fun(): any)[]|vouch.task[]
---@param opts? { timeout?: number }
---@return any ...
function vouch.race(list, opts) end

---End the script with exit status `code` once the current task returns.
---@param code integer
function vouch.exit(code) end

---@class vouch.task
local task = {}
---Wait for the task to finish; returns what its function returned, or raises its
---error; after opts.timeout ms, nil, message, "ETIMEDOUT" (the task goes on).
---@param opts? { timeout?: number }
---@return any ...
function task:wait(opts) end
---Stop the task (its pending operation is cancelled).
function task:cancel() end
---The task's state.
---@return string
function task:status() end
---The task's number.
---@return integer
function task:id() end

-- {====== files ======}

---Load a Lua text file (or an embedded script such as "vouch.scripts.social_capital")
---without running it; the chunk gets a fresh sandbox environment. Subject to --allow-read.
---@param path string
---@return function? chunk
---@return string source_or_message
---@return string? code "ENOENT" and the like, on failure
function vouch.script(path) end

---The entries of a directory, sorted, without "." and "..". Subject to --allow-read.
---@param path string
---@return string[]? names
---@return string? message
---@return string? code
function vouch.dir(path) end

---Print to stderr (tab-separated, newline-terminated).
---@param ... any
function vouch.eprint(...) end

---XXH3-64 of the bytes of `s`, as 16 lowercase hex digits.
---@param s string
---@return string
function vouch.hash(s) end

-- {====== vouch.db: SQLite ======}

---@class vouch.dblib
local dblib = {}

---Open a database. No path: the host's database (--db, $VOUCH_DB, ./vouch.db),
---migrated to the schema of runs, scores and reasons. A path is opened read-write
---under --allow-write, read-only under --allow-read; ":memory:" is private.
---@param path? string
---@param mode? "r"|"w"
---@return vouch.db? db
---@return string? message
---@return string? code
function dblib.open(path, mode) end

---Mark a string to be stored as a BLOB.
---@param s string
---@return userdata
function dblib.blob(s) end

---An open database. Parameters are `?` (positional) or `:name` (from one table).
---@class vouch.db
local db = {}

---Run SQL that returns no rows worth keeping; several statements when there are no parameters.
---@param sql string
---@param ... any parameters
---@return integer changed rows changed
function db:exec(sql, ...) end

---Run one statement later, on the database's own thread, in order with every
---other call; a failure is raised by the next call on the database.
---@param sql string
---@param ... any positional parameters
function db:queue(sql, ...) end

---The first row as a table keyed by column name (NULL columns absent), or nil.
---@param sql string
---@param ... any
---@return table<string, any>?
function db:one(sql, ...) end

---Iterate over rows: `for row in db:rows(sql, ...) do ... end`.
---@param sql string
---@param ... any
---@return fun(): table<string, any>?
function db:rows(sql, ...) end

---Write each row's first column and a newline to stdout; returns the rows.
---opts: `number` (width of a row number to start each line with), `first`
---(the first row's number), `fallback` (text for a row whose first column
---is NULL, from the row), `widths` (one per column: every column written
---as a table cell, escaped and padded to its width in characters),
---`right` (the set of columns padded on the left).
---@param sql string
---@param opts? {number?: integer, first?: integer, fallback?: fun(row: table<string, any>): string, widths?: integer[], right?: table<integer, boolean>}
---@param ... any
---@return integer
function db:print(sql, opts, ...) end

---Insert one row (returns its rowid) or an array of rows, all or none (returns how many).
---@param table string
---@param rows table<string, any>|table<string, any>[]
---@return integer
function db:insert(table, rows) end

---Call fn(...) in a transaction: commit when it returns, roll back and re-raise when it
---raises. Nested calls are savepoints. fn may wait for I/O.
---@generic R
---@param fn fun(...): R
---@param ... any
---@return R
function db:tx(fn, ...) end

---Begin a run of the host's record (committed as 'running'); returns its id.
---On a record on a server, `shard` takes a shard of the run of that key that
---several processes score (made when none is running): returns its id and the
---shard taken (1-based), or nil, why ("complete", "failed" or "held": every
---shard left is held) and the run's id.
---On a server, a run is held under a lease of `lease` ms (default 60000),
---renewed while this process lives; one left running past it is aborted.
---@param run {scorecard: string, hash: string, dimensions?: string[], weights?: number[], rules?: table<string, string>, source?: string, inputs?: string, started_by?: string, lease?: integer, shard?: {key: string, of: integer, want?: integer, lease?: integer, batch?: string, run?: integer}}
---@return integer?, (integer|string)?, integer?
function db:run_begin(run) end

---Keep the lease on run `id`, or on its shard, held here (renewed when a
---third of it has passed: cheap to call often); raises when another process
---took the shard.
---@param id integer
function db:run_renew(id) end

---On the record on a server: bring the copy of its runs up to date and
---return the server's name (without its password). Nothing on a file. A
---connection the server dropped is made again for up to `wait` seconds
---(default 10, as it restarts; 0: tried once; at most 60).
---@param wait? number
---@return string?
function db:refresh(wait) end

---Store one partner's result in a run begun here: its dimensions' values in the
---scorecard's order (false: indeterminate) and its reasons, five values each
---(code, outcome, points, rank, evidence; false for none), the first n of them.
---The row is written by the database's own thread: a row SQLite refuses is
---raised by the next call on the database.
---@param run integer
---@param id string|number
---@param name string?
---@param kind string?
---@param total number?
---@param verdict "approve"|"review"|"reject"
---@param load integer?
---@param row integer?
---@param dims (number|false)[]
---@param reasons any[]
---@param n integer?
function db:run_score(run, id, name, kind, total, verdict, load, row, dims, reasons, n) end

---End a run begun here as "ok" or "failed". Returns the widths of the
---widest cells it stored, as a table of the run shows them (a name cut to
---28 characters), to size the table's columns without reading it twice.
---@param id integer
---@param status "ok"|"failed"
---@param partners? integer
---@param error? string
---On a record on a server the run is sent there (in one transaction) and
---`server` is its status there ("running" while other shards are not stored).
---@return {id: integer, name: integer, kind: integer, server: string?}
function db:run_end(id, status, partners, error) end

---Add or update a partner of the host's `partners` table.
---@param partner {id: string, name?: string, kind?: string, attrs?: string}
function db:put_partner(partner) end

---Rows changed by the last statement.
---@return integer
function db:changes() end

---The rowid of the last inserted row.
---@return integer
function db:last_id() end

---Close the database (also done when it is collected or goes out of a `<close>` scope).
function db:close() end

-- {====== vouch.load: files as sources of rows ======}

---@class vouch.loadlib
local loadlib = {}

---@class vouch.load.csvopts
---@field header? boolean the first record names the columns (default true)
---@field columns? string[] column names (the header row, if any, is skipped)
---@field delimiter? string one character (default ",")
---@field schema? table<string|integer, "integer"|"number"|"string"|"boolean"> column types; others are inferred
---@field skip_bad? boolean skip malformed records (counted in src.bad_rows) instead of raising

---A source of the rows of a CSV file (RFC 4180). Numbers and booleans are converted;
---an empty field is nil.
---@param path string
---@param opts? vouch.load.csvopts
---@return vouch.source
function loadlib.csv(path, opts) end

---A source of a JSON document: an array yields its elements, an object itself.
---@param path string
---@return vouch.source
function loadlib.json(path) end

---A source of newline-delimited JSON (one value per line), streamed.
---@param path string
---@return vouch.source
function loadlib.ndjson(path) end

---@class vouch.source
---@field path string
---@field format "csv"|"json"|"ndjson"
---@field columns string[]? the column names, once known
---@field rows_read integer
---@field bad_rows integer
local source = {}

---Iterate over the rows not read yet: `for row in src:rows() do ... end`.
---@return fun(): table<string, any>?
function source:rows() end

---Read the next rows as rows() does, but give for each only `true` and its
---value of field `name` (what `row[name]` would be), without making the row;
---nothing after the last. Rows read by either iterator are read once.
---@param name string
---@return fun(): boolean?, any
function source:field(name) end

---The rows not read yet, as one array.
---@return table<string, any>[]
function source:all() end

---Store the rows not read yet in `table` (created when missing) in one transaction,
---without making Lua tables, and record the load. Returns the rows stored.
---@param db vouch.db
---@param table string
---@return integer
function source:into(db, table) end

---Close the file now.
function source:close() end

-- {====== vouch.json ======}

---@class vouch.jsonlib
---@field null userdata JSON null (a missing key is nil)
local jsonlib = {}

---Decode JSON text: the value, or nil and "name:line:col: message".
---@param s string
---@param name? string
---@return any value
---@return string? message
function jsonlib.decode(s, name) end

---Encode a value as JSON text; raises on values JSON cannot hold (NaN and the
---infinities too, unless opts.nonfinite is "null": then they are null; invalid
---UTF-8 too, unless opts.invalid_utf8 is "replace": then each such byte is U+FFFD).
---@param v any
---@param opts? { indent?: integer|boolean, sort_keys?: boolean, nonfinite?: "error"|"null", invalid_utf8?: "error"|"replace" }
---@return string
function jsonlib.encode(v, opts) end

---Mark a table to encode as an array (even when empty).
---@param t table
---@return table
function jsonlib.array(t) end

---Mark a table to encode as an object (even when empty).
---@param t table
---@return table
function jsonlib.object(t) end

-- {====== vouch.http (hosts allowed by --allow-net) ======}

---@class vouch.httplib
local httplib = {}

---@class vouch.http.response
---@field status integer
---@field headers table<string, string>
---@field body string

---@class vouch.http.request
---@field url string
---@field method? string default "GET"
---@field headers? table<string, string>
---@field body? string
---@field timeout? number milliseconds
---@field max_redirects? integer
---@field max_size? integer bytes

---GET a URL: request{method = "GET", url = url, ...opts}; waits without blocking
---other tasks.
---@param url string
---@param opts? { headers?: table<string, string>, timeout?: number, max_redirects?: integer, max_size?: integer }
---@return vouch.http.response? response
---@return string? message
---@return string? code
function httplib.get(url, opts) end

---Make any HTTP request.
---@param req vouch.http.request
---@return vouch.http.response? response
---@return string? message
---@return string? code
function httplib.request(req) end

---The most transfers that run at once (host-wide); sets it to `n` if given and
---returns the old value.
---@param n? integer
---@return integer
function httplib.limit(n) end

-- {====== vouch.file (paths under --allow-write; hash: --allow-read) ======}

---@class vouch.filelib
local filelib = {}

---Write `text` to `path` through a temporary file renamed into place.
---@param path string
---@param text string
---@return true? ok
---@return string? message
---@return string? code
function filelib.write(path, text) end

---Make a directory (true also when it exists).
---@param path string
---@return true? ok
---@return string? message
---@return string? code
function filelib.mkdir(path) end

---Open a file the user named with --out in the desktop's browser; returns the opener's name.
---@param path string
---@return string? opener
---@return string? message
---@return string? code
function filelib.show(path) end

---XXH3-64 of the bytes of a file the script may read (--allow-read), as
---16 hex digits (vouch.hash of its text), read 64 KiB at a time.
---@param path string
---@return string? hex
---@return string? message
---@return string? code
function filelib.hash(path) end

---Write exactly `text` to standard output (no newline).
---@param text string
function filelib.stdout(text) end

---The script's arguments, as in lua.c: arg[0] the script, arg[1..] the rest.
---@type string[]
arg = {}

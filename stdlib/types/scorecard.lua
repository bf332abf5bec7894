---@meta vouch.scorecard
-- scorecard.lua: types of `require "vouch.scorecard"` for lua-language-server.

---A dimension: any name (an identifier) the scorecard gives one.
---@alias vouch.dimension string
---@alias vouch.verdict "approve"|"review"|"reject"
---@alias vouch.outcome "score"|"points"|"veto"|"penalty"|"cap"|"review"|"indeterminate"|"pass"

---A rule: gives a score (0..100) or points to its dimension, or is a red flag.
---It reads the partner fields named in `reads` and gets them as arguments; when a
---field is missing (and not optional) the rule is indeterminate and not called.
---@class vouch.rule
---@field id string upper-case reason code, e.g. "LOW_EVIDENCE"
---@field dimension? vouch.dimension required for score and points rules
---@field reads string[] the fields the rule looks at, in argument order
---@field optional? string[] fields of `reads` that may be nil
---@field kinds? string[] partner kinds the rule applies to (default: all)
---@field weight? number weight within its dimension (default 1)
---@field says? string|fun(evidence: table, outcome: table): string text of a reason; "{field}" is replaced by the evidence
---@field why? string the rationale, shown by tools
---@field score? string|fun(...): number? 0..100 (clamped); nil is indeterminate; a string is an expression over `reads`, compiled inline
---@field points? number|string|fun(...): number? a function or expression: points added to the dimension; a number: a penalty's points
---@field flag? "veto"|"penalty"|"cap"|"review" what a raised flag does
---@field when? string|fun(...): any, table? a flag (function or expression): truthy raises it, falsy passes, sc.unknown is indeterminate; the second value is extra evidence
---@field cap? number the highest total a raised cap allows (>= 0)

---A portfolio rule sees every partner of a run at once.
---@class vouch.portfolio_rule: vouch.rule
---@field check fun(set: vouch.portfolio_entry[], raise: fun(entry: vouch.portfolio_entry, evidence?: table, points?: number))

---@class vouch.portfolio_entry
---@field id any
---@field name string?
---@field kind string?
---@field partner table the partner's fields
---@field total number?
---@field verdict vouch.verdict

---@class vouch.scorecard_spec
---@field name string
---@field description? string
---@field dimensions table<vouch.dimension, number>|{[1]: vouch.dimension, [2]: number}[] weights summing to 1
---@field order? vouch.dimension[] the order they are shown and stored in
---@field bands? { reject: number, approve: number } total < reject: reject; >= approve: approve (default 40, 65)
---@field max_missing? number share of weight that may be indeterminate before review (default 0.25)
---@field rules vouch.rule[]
---@field portfolio? vouch.portfolio_rule[]
---@field evidence? boolean false: store no evidence with runs (bulk jobs)
---@field store? "all"|"adverse" which outcomes a run stores (default all)

---One rule's outcome for one partner.
---@class vouch.rule_outcome
---@field code string
---@field dimension vouch.dimension?
---@field outcome vouch.outcome
---@field points number? the score or points; for flags the effect on the total
---@field evidence table<string, any> the values the rule looked at
---@field text string what the rule saw, in words
---@field rank integer? 1..4 for the principal reasons

---The full explanation of one partner's score.
---@class vouch.explanation
---@field id any
---@field name string?
---@field kind string?
---@field total number? nil when nothing could be scored
---@field verdict vouch.verdict
---@field missing number share of weight that was indeterminate
---@field dimensions table<vouch.dimension, number?>
---@field weakest vouch.dimension?
---@field outcomes vouch.rule_outcome[] every rule that applied, in declaration order
---@field reasons vouch.rule_outcome[] the principal reasons, at most four, most adverse first

---The compact result the scorers write (reused when streaming).
---@class vouch.result
---@field total number?
---@field verdict vouch.verdict
---@field missing number
---@field dimensions table<vouch.dimension, number?>
---@field flags string[] codes of the raised flags, in order
---@field nflags integer

---@class vouch.run_opts
---@field rows? table[]|fun(): table?|vouch.source partners to score
---@field query? string SQL whose rows are partners, or "partners" for the stored ones
---@field params? any[] parameters of `query`
---@field db? vouch.db default: the host's database
---@field inputs? any stored as JSON with the run
---@field source? string the scorecard's source text, hashed with the run
---@field started_by? string default "cli"
---@field keep? boolean return every explanation in summary.results
---@field store? boolean false: score without storing (no run)
---@field row? fun(id: string, name: string?, kind: string?, total: number?, verdict: string, dims: (number|false)[], reasons: any[], n: integer) each partner's row as db:run_score takes it, stored or not (the lists are reused)

---@class vouch.run_summary
---@field run integer
---@field partners integer
---@field approve integer
---@field review integer
---@field reject integer
---@field results vouch.explanation[]?
---@field cells {id: integer, name: integer, kind: integer}? the widest cells stored (db:run_end)

---@class vouch.scorecard
---@field name string
---@field rules table[] the normalised rules
---@field portfolio table[]
---@field source string? the source text, when loaded with sc.load
---@field scorer fun(p: table, r: vouch.result): vouch.result the fast compiled scorer
---@field full_scorer fun(p: table, r: vouch.result): vouch.result also records every outcome
local Card = {}

---Score one partner and explain the result.
---@param p table<string, any>
---@return vouch.explanation
function Card:score(p) end

---Stream: `for p, r in card:each(rows) do ... end`; `r` is reused, copy what you keep.
---@param rows table[]|fun(): table?|vouch.source
---@return fun(): table?, vouch.result
function Card:each(rows) end

---The full explanation of a compact result.
---@param p table
---@param r vouch.result
---@return vouch.explanation
function Card:explain(p, r) end

---Score a set in memory, portfolio rules included.
---@param rows table[]|fun(): table?|vouch.source
---@return vouch.explanation[]
function Card:score_all(rows) end

---Score and store a run (one transaction); raises after marking the run failed.
---@param opts vouch.run_opts
---@return integer run_id
---@return vouch.run_summary
function Card:run(opts) end

---A fresh compact result.
---@return vouch.result
function Card:result() end

---@class vouch.scorecardlib
---@field unknown table returned by a flag's `when` that cannot decide
local M = {}

---Make a scorecard from its spec; raises, naming the rule, when it is malformed.
---@param spec vouch.scorecard_spec
---@return vouch.scorecard
function M.scorecard(spec) end

---Load a scorecard from a rules file or by a bundled name ("social_capital").
---@param what string
---@return vouch.scorecard? card
---@return string source_or_message
function M.load(what) end

---@class vouch.inserter
---@field add fun(...) one row: as many values as columns (nil is NULL)
---@field flush fun() send the rows still buffered

---Batched multi-row INSERTs for bulk jobs (inside the caller's transaction).
---@param db vouch.db
---@param table string
---@param columns integer|string[] how many columns (all, in table order), or their names
---@param per? integer rows per statement (default about 512 values)
---@return vouch.inserter
function M.inserter(db, table, columns, per) end

---JSON text as the record writes it: vouch.json.encode with the keys in byte
---order (equal values encode equally), NaN and infinities as null and bytes
---that are not UTF-8 as U+FFFD.
---@param v any
---@return string
function M.json(v) end

---Mark a table as a list, so that M.json encodes it as [] even when empty
---(vouch.json.array).
---@param t table
---@return table
function M.array(t) end

---The hash a run stores of its scorecard's source: vouch.hash (XXH3-64 as 16
---lowercase hex digits).
---@param s string
---@return string
function M.hash(s) end

return M

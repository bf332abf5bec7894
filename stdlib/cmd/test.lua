-- test.lua: `vouch test [PATH...] [--min-coverage PCT]`: run analysts'
-- scorecard tests (*_test.lua files that return expected verdicts, reasons
-- and score ranges for given partners), print each failure with the rule
-- outcomes that caused it, and report rules no test ever fired.
--
-- A test file returns:
--   { rules = "social_capital.lua",   -- path relative to the test file,
--                                     -- or a bundled scorecard's name
--     base = { ... },                 -- fields every case starts from
--     cases = {
--       { name = "...", partner = { ... },      -- merged over base
--         missing = { "review_avg" },           -- fields removed from base
--         verdict = "reject", reasons = { "CONTROVERSY" },   -- principal,
--         not_reasons = { ... },                -- in this order, first ones
--         total = { 0, 40 }, dimensions = { trust = { 60, 100 } },
--         outcomes = { LOW_EVIDENCE = "review" } },
--       { name = "...", partners = { {...}, {...} },   -- a portfolio
--         expect = { P1 = { verdict = ..., reasons = ..., ... } } },
--     } }
local sc = require "vouch.scorecard"
local cli = require "vouch.scorecard.cli"

local format, concat = string.format, table.concat


local function find_tests(path, out)
  if path:match("%.lua$") then out[#out + 1] = path; return true end
  local entries, err = vouch.dir(path)
  if not entries then return nil, err end
  for _, name in ipairs(entries) do
    local full = (path == "." and "" or path:gsub("/$", "") .. "/") .. name
    if name:match("_test%.lua$") then
      out[#out + 1] = full
    elseif not name:match("^%.") and not name:match("%.%w+$") and name ~= "build"
           and name ~= "build-san" and name ~= "node_modules" then
      local sub = vouch.dir(full)
      if sub then find_tests(full, out) end
    end
  end
  return true
end

local function dirname(path)
  return path:match("^(.*)/[^/]*$") or "."
end

-- The scorecard a test names, loaded once per path.
local cards = {}
local function card_for(test_path, rules)
  local target = rules
  if rules:find("[/%.]") and not rules:match("^/") then
    target = dirname(test_path) .. "/" .. rules
  end
  if cards[target] then return cards[target] end
  local card, err = sc.load(target)
  if not card then return nil, err end
  cards[target] = card
  card.fired = card.fired or {}
  return card
end

local function in_range(v, want)
  if type(want) == "number" then return v ~= nil and math.abs(v - want) < 1e-6 end
  if v == nil then return want == "indeterminate" or want == false end
  return v >= (want[1] or -math.huge) and v <= (want[2] or math.huge)
end

local function show_range(want)
  if type(want) == "number" then return format("%g", want) end
  if type(want) ~= "table" then return tostring(want) end
  return format("%s..%s", want[1] or "", want[2] or "")
end

-- Check one scored partner against its expectations; a list of problems.
local function check(res, want)
  local bad = {}
  if want.verdict and res.verdict ~= want.verdict then
    bad[#bad + 1] = format("verdict %s, expected %s", res.verdict, want.verdict)
  end
  if want.total ~= nil and not in_range(res.total, want.total) then
    bad[#bad + 1] = format("total %s, expected %s", cli.num(res.total, "%.2f"), show_range(want.total))
  end
  for d, range in pairs(want.dimensions or {}) do
    if not in_range(res.dimensions[d], range) then
      bad[#bad + 1] = format("%s %s, expected %s", d, cli.num(res.dimensions[d], "%.2f"), show_range(range))
    end
  end
  local got = {}
  for k, o in ipairs(res.reasons) do got[k] = o.code end
  if want.reasons then
    for k, code in ipairs(want.reasons) do
      if got[k] ~= code then
        bad[#bad + 1] = format("principal reasons %s, expected %s first",
                               #got > 0 and concat(got, ", ") or "(none)", concat(want.reasons, ", "))
        break
      end
    end
  end
  for _, code in ipairs(want.not_reasons or {}) do
    for _, g in ipairs(got) do
      if g == code then bad[#bad + 1] = format("%s is a principal reason, expected not", code) end
    end
  end
  local outcome = {}
  for _, o in ipairs(res.outcomes) do outcome[o.code] = o.outcome end
  for code, want_o in pairs(want.outcomes or {}) do
    local o = outcome[code] or "not applicable"
    if o ~= want_o then bad[#bad + 1] = format("%s %s, expected %s", code, o, want_o) end
  end
  return bad
end

local function fired(card, res)
  for _, o in ipairs(res.outcomes) do
    local x = o.outcome
    if x ~= "pass" and x ~= "indeterminate" then card.fired[o.code] = true end
  end
end

local function merged(base, partner, missing)
  local p = {}
  for k, v in pairs(base or {}) do p[k] = v end
  for k, v in pairs(partner or {}) do p[k] = v end
  for _, k in ipairs(missing or {}) do p[k] = nil end
  return p
end

local function explain_failure(res)
  local lines = {}
  lines[#lines + 1] = format("#   %s: total %s, verdict %s, missing %.0f%%", res.id or "partner",
                             cli.num(res.total, "%.2f"), res.verdict, (res.missing or 0) * 100)
  for _, o in ipairs(res.outcomes) do
    if o.outcome ~= "pass" or o.rank then
      lines[#lines + 1] = format("#     %-24s %-13s %8s  %s", o.code, o.outcome,
                                 o.points and format("%.2f", o.points) or "-", o.text or "")
    end
  end
  return concat(lines, "\n")
end

-- The keys a test file, a case and a portfolio case's expectation may
-- have: any other is a slip (`verdikt`) that would check nothing.
local FILE_KEYS, CASE_KEYS, EXPECT_KEYS = {}, {}, {}
for w in ("rules base cases"):gmatch("%S+") do FILE_KEYS[w] = true end
for w in ("verdict reasons not_reasons total dimensions outcomes"):gmatch("%S+") do
  EXPECT_KEYS[w] = true
  CASE_KEYS[w] = true
end
for w in ("name partner partners missing expect"):gmatch("%S+") do CASE_KEYS[w] = true end

-- The first unknown key of a test file, as a message naming the case, or nil.
local function misspelt(spec)
  local ok, why = sc.check_keys(spec, FILE_KEYS)
  if not ok then return why end
  for k, case in ipairs(spec.cases) do
    local name = type(case) == "table" and case.name and format("case '%s'", case.name)
                 or format("case %d", k)
    if type(case) ~= "table" then return name .. ": a case must be a table" end
    ok, why = sc.check_keys(case, CASE_KEYS)
    if not ok then return name .. ": " .. why end
    for id, want in pairs(case.expect or {}) do
      ok, why = type(want) == "table" and sc.check_keys(want, EXPECT_KEYS)
      if not ok then return format("%s: expect.%s: %s", name, tostring(id), why or "must be a table") end
    end
  end
  return nil
end

return function(...)
  local opts, paths = require("vouch.cmd.commands").args({ ... }, "test")
  if not opts then return paths end
  local min_cov = opts["min-coverage"] and tonumber(opts["min-coverage"])
  if opts["min-coverage"] and (not min_cov or min_cov < 0 or min_cov > 100) then
    cli.say("test: --min-coverage needs a percentage, got '%s'", opts["min-coverage"]); return 2
  end
  if #paths == 0 then paths = { vouch.dir("scripts") and "scripts" or "." } end
  local files = {}
  for _, path in ipairs(paths) do
    local ok, err = find_tests(path, files)
    if not ok then cli.say("test: %s", err); return 1 end
  end
  if #files == 0 then cli.say("test: no *_test.lua files in %s", concat(paths, ", ")); return 2 end

  local pass, failed, load_failed, used = 0, 0, false, {}
  for _, file in ipairs(files) do
    local chunk, err = vouch.script(file)
    local ok, spec = false, err
    if chunk then ok, spec = pcall(chunk) end
    if ok and (type(spec) ~= "table" or type(spec.cases) ~= "table") then
      ok, spec = false, "a scorecard test returns { rules = ..., cases = { ... } }"
    end
    if ok then
      local bad = misspelt(spec)
      if bad then ok, spec = false, bad end
    end
    local card
    if ok then
      card, err = card_for(file, spec.rules or "social_capital")
      if not card then ok, spec = false, "cannot load rules: " .. tostring(err) end
    end
    if not ok then
      print(format("not ok - %s: %s", file, tostring(spec)))
      failed, load_failed = failed + 1, true
    else
      used[card] = true
      for k, case in ipairs(spec.cases) do
        local name = format("%s: %s", file, case.name or ("case " .. k))
        local problems, shown = {}, {}
        local okc, e = pcall(function()
          if case.partners then
            local set = {}
            for i, p in ipairs(case.partners) do set[i] = merged(spec.base, p) end
            local results = card:score_all(set)
            local by_id = {}
            for _, r in ipairs(results) do by_id[r.id] = r; fired(card, r) end
            for id, want in pairs(case.expect or {}) do
              local r = by_id[id]
              if not r then problems[#problems + 1] = format("no partner %s in the set", id)
              else
                for _, pr in ipairs(check(r, want)) do
                  problems[#problems + 1] = id .. ": " .. pr
                  shown[r] = true
                end
              end
            end
          else
            local r = card:score(merged(spec.base, case.partner, case.missing))
            r.id = r.id or "partner"
            fired(card, r)
            problems = check(r, case)
            if #problems > 0 then shown[r] = true end
          end
        end)
        if not okc then problems = { "error: " .. tostring(e) } end
        if #problems == 0 then
          pass = pass + 1
          print("ok - " .. name)
        else
          failed = failed + 1
          print(format("not ok - %s: %s", name, concat(problems, "; ")))
          for r in pairs(shown) do print(explain_failure(r)) end
        end
      end
    end
  end

  local low = false
  local list = {}
  for card in pairs(used) do list[#list + 1] = card end
  table.sort(list, function(a, b) return a.name < b.name end)
  for _, card in ipairs(list) do
    local all, never = 0, {}
    local rules = {}
    for _, r in ipairs(card.rules) do rules[#rules + 1] = r end
    for _, r in ipairs(card.portfolio) do rules[#rules + 1] = r end
    for _, r in ipairs(rules) do
      all = all + 1
      if not card.fired[r.id] then never[#never + 1] = r.id end
    end
    local pct = 100 * (all - #never) / all
    print(format("# coverage %s: %d of %d rules fired (%.1f%%)%s", card.name, all - #never, all, pct,
                 #never > 0 and ("; never fired: " .. concat(never, ", ")) or ""))
    if min_cov and pct < min_cov then
      print(format("not ok - coverage of %s is %.1f%%, below --min-coverage %g", card.name, pct, min_cov))
      low = true
    end
  end
  print(format("%d passed, %d failed", pass, failed))
  if load_failed and failed == 1 and pass == 0 then return 1 end
  if failed > 0 or low then return 5 end
  return 0
end

-- report_test.lua: the SVG charts and the HTML, Markdown and JSON reports
-- rendered from data, above all their escaping of hostile text.
local T = require "testlib"
local fx = require "report_fixture"
local svg = require "vouch.svg"
local report = require "vouch.report"

local function count(s, pat) return select(2, s:gsub(pat, "")) end

-- Every tag in `s` (markup only, text between tags skipped).
local function tags(s)
  local out = {}
  for t in s:gmatch("<(/?[%w:!%-?]+)") do out[#out + 1] = t:lower() end
  return out
end

T.test("escape: the five characters, controls and bad UTF-8", function()
  T.eq(svg.escape([[<a href="x">O'Brien & co</a>]]),
    "&lt;a href=&quot;x&quot;&gt;O&#39;Brien &amp; co&lt;/a&gt;", "markup")
  T.eq(svg.escape("บริษัท สยามฟู้ดส์ จำกัด"), "บริษัท สยามฟู้ดส์ จำกัด", "Thai unchanged")
  T.eq(svg.escape("a\0b\27c\tok\n"), "abc\tok\n", "controls dropped")
  T.eq(svg.escape("x\xff\xc3y\xc3\xa9"), "x\xEF\xBF\xBD\xEF\xBF\xBDyé", "bad bytes replaced")
  T.eq(svg.escape(nil), "", "nil")
  T.eq(svg.escape(12.5), "12.5", "number")
end)

T.test("shorten counts characters, not bytes", function()
  T.eq(svg.shorten("สยามฟู้ดส์", 4), "สยาม…", "Thai")
  T.eq(svg.shorten("short", 10), "short", "short enough")
end)

T.test("radar: title, desc, eight labelled axes, missing value as n/a", function()
  svg.reset_ids()
  local dims = { trust = 80, goodwill = 70, authority = 60, community = 50, empathy = nil,
                 shared_values = 40, respect = 30, collaboration = 20 }
  local s = svg.radar{ title = "Radar of <Acme>", axes = fx.dimensions, series = { { name = "Acme & Co", values = dims },
    { name = "median", values = { trust = 50 } } } }
  T.eq(s:match("^<svg[^>]*>"):find('role="img"') ~= nil, true, "role")
  T.eq(s:match('<title id="c1%-t">(.-)</title>'), "Radar of &lt;Acme&gt;", "title escaped")
  T.eq(s:find('<desc id="c1-d">Scores out of 100 on 8 dimensions. Acme &amp; Co: trust 80,', 1, true) ~= nil,
    true, "desc in words")
  T.eq(count(s, '<text class="axis"'), 8, "axis labels")
  T.eq(s:find(">empathy<tspan[^>]*>n/a</tspan>") ~= nil, true, "n/a for a missing value")
  T.eq(s:find(">shared values<", 1, true) ~= nil, true, "dimension in words")
  T.eq(count(s, "<polygon"), 4 + 2, "four rings and two series")
  T.eq(s:find('stroke-dasharray="6 4"', 1, true) ~= nil, true, "second series dashed, not colour alone")
  T.eq(s:find("http", 1, true), nil, "no URL inline")
end)

T.test("profile: a radar from three dimensions up, bars for one or two", function()
  svg.reset_ids()
  local two = svg.profile{ title = "Reach of <Acme>", axes = { "reach", "reputation" },
    series = { { name = "Acme", values = { reach = 72 } }, { name = "median", values = { reach = 50, reputation = 40 } } } }
  T.eq(two:find('<svg class="chart dimbars"', 1, true) ~= nil, true, "two dimensions: bars")
  T.eq(two:find("<polygon", 1, true), nil, "no radar polygon")
  T.eq(two:find('<desc id="c1-d">Scores out of 100 on 2 dimensions. Acme: reach 72, reputation n/a. ' ..
    'median: reach 50, reputation 40.</desc>', 1, true) ~= nil, true, "desc in words")
  T.eq(count(two, 'class="axis"'), 2, "a label per dimension")
  T.eq(count(two, '<g class="series s'), 4, "a bar per dimension and series")
  T.eq(count(two, 'rx="2"'), 3, "no bar where the value is missing")
  T.eq(two:find(">n/a<", 1, true) ~= nil, true, "missing value written n/a")
  T.eq(two:find('stroke-dasharray="6 4"', 1, true) ~= nil, true, "second series dashed, not colour alone")
  local one = svg.profile{ title = "x", axes = { "reach" }, series = { { name = "A", values = { reach = 10 } } } }
  T.eq(one:find("on 1 dimension. ", 1, true) ~= nil and one:find('class="chart dimbars"', 1, true) ~= nil, true, "one")
  local three = svg.profile{ title = "x", axes = { "a", "b", "c" }, series = { { name = "A", values = { a = 1 } } } }
  T.eq(three:find('<svg class="chart radar"', 1, true) ~= nil, true, "three dimensions: radar")
  local none = svg.profile{ title = "x", axes = {}, series = {} }
  T.eq(none:find(">no dimensions<", 1, true) ~= nil, true, "no dimension says so")
end)

T.test("bars: labels, values and kinds in text; empty chart says so", function()
  local s = svg.bars{ title = "Flags", items = { { label = "<x>", value = 3, kind = "veto" },
    { label = "b", value = 1, kind = "penalty" } }, unit = "partners" }
  T.eq(count(s, '<g class="bar">'), 2, "bars")
  T.eq(s:find(">&lt;x&gt;<", 1, true) ~= nil, true, "label escaped")
  T.eq(s:find(">veto<", 1, true) ~= nil, true, "kind written")
  T.eq(s:find("url%(#c%d+%-hatch%)") ~= nil, true, "veto hatched")
  local e = svg.bars{ title = "Flags", items = {}, empty = "no red flag fired" }
  T.eq(e:find(">no red flag fired<", 1, true) ~= nil, true, "empty")
end)

T.test("lines: a gap where a value is missing, end labels", function()
  local s = svg.lines{ title = "Total", x = { "#1", "#2", "#3" },
    series = { { name = "total", values = { 50, nil, 70 } } } }
  local d = s:match('<path d="([^"]+)"')
  T.eq(count(d, "M"), 2, "two segments")
  T.eq(s:find(">total 70<", 1, true) ~= nil, true, "end label")
end)

T.test("document: a standalone SVG file names its namespace", function()
  local s = svg.document(svg.bars{ title = "x", items = {} })
  T.eq(s:find('^<%?xml version="1.0" encoding="UTF%-8"%?>\n<svg xmlns="http://www.w3.org/2000/svg" ') ~= nil,
    true, "xml header")
end)

T.test("html: hostile names stay text, no script, no URL, CSP set", function()
  local data = fx.expected_run(3)
  local html = report.html(data, { generated_at = "2026-11-26T21:00:00Z" })
  for _, t in ipairs(tags(html)) do
    if t == "script" or t == "img" or t == "iframe" or t == "object" or t == "b" then
      error("tag <" .. t .. "> in the page")
    end
  end
  -- Escaped text holds no '<' or '>', so every <...> is markup we wrote.
  for tag in html:gmatch("<[^>]*>") do
    if tag:find("%son%a+%s*=") then error("event handler in " .. tag) end
  end
  T.eq(html:find("&lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt;", 1, true) ~= nil, true, "script shown")
  T.eq(html:find("O&#39;Brien &amp; &quot;Sons&quot; &lt;b&gt;Ltd&lt;/b&gt;", 1, true) ~= nil, true, "quotes shown")
  T.eq(html:find("บริษัท สยามฟู้ดส์ จำกัด", 1, true) ~= nil, true, "Thai as is")
  T.eq(html:find("https?://"), nil, "no URL")
  T.eq(html:find([[content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"]], 1, true) ~= nil,
    true, "CSP")
  T.eq(html:find("@media print", 1, true) ~= nil, true, "print styles")
  T.eq(count(html, '<svg class="chart radar"'), #data.partners + 1, "a radar per partner and the median")
  T.eq(count(html, '<svg class="chart bars"'), 1, "red flag bars")
  T.eq(count(html, "<tr><td class=\"num rank\">"), #data.partners, "a table row per partner")
end)

T.test("html: sections of a run in rank order with counts", function()
  local data = fx.expected_run(2)
  local html = report.html(data, { generated_at = "x" })
  local pos = 0
  for _, e in ipairs(data.partners) do
    local p = html:find('<div class="who">' .. svg.escape(e.name) .. "</div>", pos + 1, true)
    T.eq(p ~= nil, true, "partner " .. e.partner_id .. " in order")
    pos = p
  end
  for v, n in pairs(data.counts) do
    T.eq(html:find(string.format("%d</div><div class=\"l\">%s", n, v), 1, true) ~= nil, true, "count of " .. v)
  end
end)

T.test("markdown: tables escaped, charts as files linked from the text", function()
  local md, files = report.markdown(fx.expected_run(3), { charts_dir = "r_files" })
  T.eq(md:find("<script", 1, true), nil, "no raw tag")
  T.eq(md:find("&lt;/title&gt;&lt;/svg&gt;&lt;svg onload=alert(1)&gt;\\|\\*md\\*\\|", 1, true) ~= nil,
    true, "pipes and stars escaped")
  for line in md:gmatch("[^\n]+") do
    if line:sub(1, 2) == "| " and line:find("evil%-svg") then
      T.eq(count(line:gsub("\\|", ""), "|"), 8, "seven cells in the hostile row")
    end
  end
  T.eq(#files, 2 + 16, "median, flags and a radar per partner")
  for _, f in ipairs(files) do
    T.eq(md:find("(r_files/" .. f.file .. ")", 1, true) ~= nil, true, "link to " .. f.file)
    T.eq(f.svg:find('xmlns="http://www.w3.org/2000/svg"', 1, true) ~= nil, true, "standalone")
    T.eq(f.file:match("^[%w%-]+%.svg$") ~= nil, true, "safe file name " .. f.file)
  end
  local bare = report.markdown(fx.expected_run(3), {})
  T.eq(bare:find("!%["), nil, "no chart links without a folder")
end)

T.test("json: the data, sorted keys, bad bytes cleaned", function()
  local data = fx.expected_run(3)
  data.partners[1].name = "bad \xff byte"
  local j = report.json(data)
  local back = vouch.json.decode(j)
  T.eq(back.report, "run", "report kind")
  T.eq(#back.partners, 16, "partners")
  T.eq(back.partners[1].name, "bad \u{FFFD} byte", "cleaned")
  T.eq(j:find('<script>document.title=\\"pwned\\"</script>', 1, true) ~= nil, true, "string escaped")
  local keys = {}
  for k in j:gmatch('\n  "([%w_]+)":') do keys[#keys + 1] = k end
  local sorted = { table.unpack(keys) }
  table.sort(sorted)
  T.eq(table.concat(keys, ","), table.concat(sorted, ","), "top-level keys sorted")
end)

T.test("misuse raises in Lua's words", function()
  T.checkerror("bad argument #1 to 'html'", report.html, nil)
  T.checkerror("bad argument #1 to 'json'", report.json, "x")
  T.checkerror("bad argument #2 to 'partner'", report.partner, {}, 5)
end)

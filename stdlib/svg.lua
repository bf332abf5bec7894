-- svg.lua: charts as SVG text, drawn by vouch itself for its reports.
--
-- Every chart carries a <title> and a <desc> that say in words what it
-- shows, labels its values in text, and tells series apart by line pattern
-- and marker shape as well as by colour. Text that comes from data goes
-- through M.escape, so a partner's name can never become markup.
--
--   local svg = require "vouch.svg"
--   svg.radar{title = "ACME", axes = {...}, series = {{name=, values=}}}
--   svg.dimbars{title = "ACME", axes = {...}, series = {...}}  -- 1-2 axes
--   svg.profile{...}  -- a radar from three dimensions up, else dimbars
--   svg.bars{title = "Red flags", items = {{label=, value=, note=}}}
--   svg.lines{title = "Total over runs", x = {...}, series = {...}}
--   svg.document(chart)  -- a standalone .svg file
local M = {}

local concat, insert = table.concat, table.insert
local format, gsub = string.format, string.gsub
local cos, sin, pi, max, min = math.cos, math.sin, math.pi, math.max, math.min
local type, tostring, ipairs = type, tostring, ipairs

-- Colours come in pairs with a pattern, so no chart relies on colour alone.
M.palette = {
  { color = "#1f5fa8", dash = "",        marker = "circle" },
  { color = "#b5461b", dash = "6 4",     marker = "square" },
  { color = "#2e7d4f", dash = "2 3",     marker = "triangle" },
  { color = "#7a3b9a", dash = "10 3 2 3", marker = "diamond" },
}


--{======================================================
-- Escaping
--=======================================================

local entities = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
                   ['"'] = "&quot;", ["'"] = "&#39;" }

--- Any value as clean text: bytes that are not UTF-8 become U+FFFD and the
--- control characters XML forbids are dropped (tab and newlines stay).
function M.clean(s)
  if s == nil then return "" end
  s = tostring(s)
  if not utf8.len(s) then
    -- Keep the valid sequences and replace every stray byte.
    local out, i, n = {}, 1, #s
    while i <= n do
      local b = s:byte(i)
      local w = b < 0x80 and 1 or b >= 0xF0 and 4 or b >= 0xE0 and 3 or 2
      local piece = s:sub(i, i + w - 1)
      if b < 0xF8 and #piece == w and utf8.len(piece) == 1 then
        out[#out + 1] = piece; i = i + w
      else
        out[#out + 1] = "\xEF\xBF\xBD"; i = i + 1
      end
    end
    s = concat(out)
  end
  return (gsub(s, "[%z\1-\8\11\12\14-\31\127]", ""))
end

--- Make any value safe as XML/HTML text or as a double-quoted attribute:
--- M.clean, then the five special characters become entities.
function M.escape(s)
  return (gsub(M.clean(s), "[&<>\"']", entities))
end
local esc = M.escape

--- A number as chart text: at most one decimal, no trailing ".0".
function M.num(v, digits)
  if type(v) ~= "number" or v ~= v then return "n/a" end
  local s = format("%." .. (digits or 1) .. "f", v)
  s = gsub(s, "%.0+$", "")
  if s == "-0" then s = "0" end
  return s
end
local num = M.num

-- Coordinates with two decimals keep the files small and diff-friendly.
local function c(v) return (gsub(format("%.2f", v), "%.?0+$", "")) end

--- At most `n` characters of `s` (UTF-8 aware), with "…" when cut; for
--- labels in a fixed space (the chart's <title> keeps the whole text).
function M.shorten(s, n)
  s = M.clean(s)
  local len = utf8.len(s)
  if len <= n then return s end
  return s:sub(1, utf8.offset(s, n + 1) - 1) .. "…"
end

--- A dimension code as words: "shared_values" -> "shared values".
function M.label(dim) return (gsub(tostring(dim), "_", " ")) end

--}======================================================


-- Ids must be unique within the page that inlines many charts.
local next_id = 0
local function new_id(prefix)
  next_id = next_id + 1
  return format("%s%d", prefix, next_id)
end

--- Reset the id counter (tests use it for stable output).
function M.reset_ids() next_id = 0 end

-- The opening of a chart: role, size, <title> and <desc> wired up for
-- screen readers. `xmlns` only matters for standalone files, so inline
-- charts leave it out and a page holds no URL at all.
local function open(w, h, title, desc, class)
  local id = new_id("c")
  return {
    format('<svg class="chart %s" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-labelledby="%s-t %s-d" font-family="system-ui, \'Noto Sans\', \'DejaVu Sans\', sans-serif">',
      class, w, h, w, h, id, id),
    format('<title id="%s-t">%s</title>', id, esc(title)),
    format('<desc id="%s-d">%s</desc>', id, esc(desc)),
  }, id
end

local function text(x, y, s, attrs)
  return format('<text x="%s" y="%s"%s>%s</text>', c(x), c(y), attrs or "", esc(s))
end

-- The stroke pattern of a series style, as an attribute.
local function dash(style)
  return style.dash ~= "" and format(' stroke-dasharray="%s"', style.dash) or ""
end

-- A marker shape at (x, y): circle, square, triangle or diamond.
local function marker(shape, x, y, r, fill, stroke)
  local paint = format(' fill="%s" stroke="%s" stroke-width="1.5"', fill, stroke)
  if shape == "square" then
    return format('<rect x="%s" y="%s" width="%s" height="%s"%s/>', c(x - r), c(y - r), c(2 * r), c(2 * r), paint)
  elseif shape == "triangle" then
    return format('<path d="M%s %sL%s %sL%s %sZ"%s/>', c(x), c(y - r * 1.2), c(x + r * 1.1), c(y + r * 0.8),
      c(x - r * 1.1), c(y + r * 0.8), paint)
  elseif shape == "diamond" then
    return format('<path d="M%s %sL%s %sL%s %sL%s %sZ"%s/>', c(x), c(y - r * 1.3), c(x + r * 1.3), c(y),
      c(x), c(y + r * 1.3), c(x - r * 1.3), c(y), paint)
  end
  return format('<circle cx="%s" cy="%s" r="%s"%s/>', c(x), c(y), c(r), paint)
end


--{======================================================
-- Radar: the dimensions of one partner, the median beside it
--=======================================================

--- A radar chart. `o.axes`: dimension codes, in the scorecard's order;
--- `o.series`: up to four `{name=, values={dim=number|nil}}`, the first
--- drawn filled, the others as outlines; `o.max` the scale (100).
--- A missing value is drawn at the centre and labelled "n/a".
function M.radar(o)
  local axes = o.axes or {}
  local series = o.series or {}
  local top = o.max or 100
  local size = o.size or 300
  local width = size + 40
  local legend_h = 20 * #series + 6
  local cx, cy, r = width / 2, size / 2, size / 2 - 62
  local n = #axes
  local descs = {}
  for _, s in ipairs(series) do
    local parts = {}
    for _, a in ipairs(axes) do parts[#parts + 1] = M.label(a) .. " " .. num(s.values[a], 0) end
    descs[#descs + 1] = s.name .. ": " .. concat(parts, ", ")
  end
  local out = open(width, size + legend_h, o.title or "Dimensions",
    o.desc or ("Scores out of " .. num(top) .. " on " .. n .. " dimensions. " .. concat(descs, ". ") .. "."),
    "radar")
  local function point(i, v)
    local a = -pi / 2 + 2 * pi * (i - 1) / n
    local f = max(0, min(1, (v or 0) / top))
    return cx + r * f * cos(a), cy + r * f * sin(a), a
  end
  -- The grid: rings at quarters of the scale, one spoke per dimension.
  insert(out, '<g class="grid" fill="none" stroke="#c9ced6" stroke-width="1">')
  for q = 1, 4 do
    local pts = {}
    for i = 1, n do local x, y = point(i, top * q / 4); pts[#pts + 1] = c(x) .. "," .. c(y) end
    insert(out, format('<polygon points="%s"%s/>', concat(pts, " "), q < 4 and ' stroke-dasharray="2 3"' or ""))
  end
  for i = 1, n do
    local x, y = point(i, top)
    insert(out, format('<line x1="%s" y1="%s" x2="%s" y2="%s"/>', c(cx), c(cy), c(x), c(y)))
  end
  insert(out, '</g>')
  insert(out, text(cx + 3, cy - r / 2 - 2, num(top / 2), ' class="tick" font-size="9" fill="#6b7280"'))
  -- Series, the first filled.
  for k = #series, 1, -1 do
    local s, style = series[k], M.palette[(k - 1) % #M.palette + 1]
    local pts = {}
    for i, a in ipairs(axes) do local x, y = point(i, s.values[a]); pts[#pts + 1] = c(x) .. "," .. c(y) end
    insert(out, format('<g class="series s%d"><polygon points="%s" fill="%s" fill-opacity="%s" stroke="%s" stroke-width="%s"%s/>',
      k, concat(pts, " "), k == 1 and style.color or "none", k == 1 and "0.22" or "0",
      style.color, k == 1 and "2" or "1.8", dash(style)))
    for i, a in ipairs(axes) do
      local x, y = point(i, s.values[a])
      insert(out, marker(style.marker, x, y, k == 1 and 3 or 2.5, k == 1 and style.color or "#fff", style.color))
    end
    insert(out, '</g>')
  end
  -- Axis labels: the dimension and the first series' value, in words.
  for i, a in ipairs(axes) do
    local _, _, ang = point(i, top)
    local lx, ly = cx + (r + 14) * cos(ang), cy + (r + 14) * sin(ang)
    local anchor = math.abs(cos(ang)) < 0.3 and "middle" or (cos(ang) > 0 and "start" or "end")
    local v = series[1] and series[1].values[a]
    if sin(ang) > 0.3 then ly = ly + 6 elseif sin(ang) < -0.3 then ly = ly - 12 end
    insert(out, format('<text class="axis" x="%s" y="%s" text-anchor="%s" font-size="11" fill="#374151">%s<tspan x="%s" dy="12" font-weight="700">%s</tspan></text>',
      c(lx), c(ly), anchor, esc(M.label(a)), c(lx), esc(v == nil and "n/a" or num(v, 0))))
  end
  -- The legend: pattern and marker beside each name.
  for k, s in ipairs(series) do
    local style = M.palette[(k - 1) % #M.palette + 1]
    local y = size + 20 * (k - 1) + 8
    insert(out, format('<line x1="12" y1="%s" x2="40" y2="%s" stroke="%s" stroke-width="2"%s/>', c(y), c(y),
      style.color, dash(style)))
    insert(out, marker(style.marker, 26, y, 3, k == 1 and style.color or "#fff", style.color))
    insert(out, text(48, y + 4, M.shorten(s.name, 40), ' font-size="12" fill="#111827"'))
  end
  insert(out, '</svg>')
  return concat(out, "\n")
end

--}======================================================


--{======================================================
-- Dimension bars: a scorecard of one or two dimensions
--=======================================================

--- Grouped horizontal bars, one group per dimension and one bar per series:
--- what a radar shows, for a scorecard with too few dimensions to span an
--- area. Takes the radar's options (`o.axes`, `o.series`, `o.max`). The
--- first series is drawn filled, the others as outlines in their pattern;
--- each bar's value is written at its end ("n/a" when missing).
function M.dimbars(o)
  local axes = o.axes or {}
  local series = o.series or {}
  local top = o.max or 100
  local w = o.width or 340
  local label_h, bar_h, gap = 16, 16, 12
  local left, right = 12, 44
  local group_h = label_h + bar_h * max(1, #series) + gap
  local legend_h = 20 * #series + 6
  local h = max(1, #axes) * group_h + 22 + legend_h
  local descs = {}
  for _, s in ipairs(series) do
    local parts = {}
    for _, a in ipairs(axes) do parts[#parts + 1] = M.label(a) .. " " .. num(s.values[a], 0) end
    descs[#descs + 1] = s.name .. ": " .. concat(parts, ", ")
  end
  local out = open(w, h, o.title or "Dimensions",
    o.desc or ("Scores out of " .. num(top) .. " on " .. #axes .. " dimension" .. (#axes == 1 and "" or "s") ..
      ". " .. concat(descs, ". ") .. "."), "dimbars")
  local pw = w - left - right
  if #axes == 0 then
    insert(out, text(w / 2, 30, o.empty or "no dimensions", ' text-anchor="middle" font-size="13" fill="#6b7280"'))
  end
  -- The scale: quarter lines behind the bars, labelled at the foot.
  local foot = #axes * group_h + 4
  insert(out, '<g class="grid" stroke="#e5e7eb" stroke-width="1">')
  for q = 0, 4 do
    local x = left + pw * q / 4
    insert(out, format('<line x1="%s" y1="4" x2="%s" y2="%s"%s/>', c(x), c(x), c(foot),
      q > 0 and ' stroke-dasharray="2 3"' or ""))
  end
  insert(out, '</g>')
  for q = 0, 4, 2 do
    insert(out, text(left + pw * q / 4, foot + 12, num(top * q / 4),
      ' text-anchor="middle" font-size="9" fill="#6b7280"'))
  end
  for i, a in ipairs(axes) do
    local y = 4 + (i - 1) * group_h
    insert(out, text(left, y + 12, M.shorten(M.label(a), 40), ' class="axis" font-size="11" font-weight="700" fill="#374151"'))
    for k, s in ipairs(series) do
      local style = M.palette[(k - 1) % #M.palette + 1]
      local v = s.values[a]
      local by = y + label_h + (k - 1) * bar_h
      local bw = type(v) == "number" and max(2, pw * max(0, min(1, v / top))) or 0
      insert(out, format('<g class="series s%d"><title>%s</title>', k,
        esc(s.name .. ", " .. M.label(a) .. ": " .. (v == nil and "n/a" or num(v)))))
      if bw > 0 then
        insert(out, format('<rect x="%d" y="%s" width="%s" height="%d" rx="2" fill="%s" fill-opacity="%s" stroke="%s" stroke-width="1.5"%s/>',
          left, c(by + 2), c(bw), bar_h - 4, k == 1 and style.color or "#fff", k == 1 and "0.85" or "1",
          style.color, k == 1 and "" or dash(style)))
      end
      insert(out, marker(style.marker, left + bw, by + bar_h / 2, 3, k == 1 and style.color or "#fff", style.color))
      insert(out, text(left + bw + 7, by + bar_h / 2 + 4, v == nil and "n/a" or num(v, 0),
        format(' font-size="11" font-weight="700" fill="%s"', style.color)))
      insert(out, '</g>')
    end
  end
  for k, s in ipairs(series) do
    local style = M.palette[(k - 1) % #M.palette + 1]
    local y = foot + 26 + 20 * (k - 1)
    insert(out, format('<line x1="12" y1="%s" x2="40" y2="%s" stroke="%s" stroke-width="2"%s/>', c(y), c(y),
      style.color, dash(style)))
    insert(out, marker(style.marker, 26, y, 3, k == 1 and style.color or "#fff", style.color))
    insert(out, text(48, y + 4, M.shorten(s.name, 40), ' font-size="12" fill="#111827"'))
  end
  insert(out, '</svg>')
  return concat(out, "\n")
end

--- A scorecard's dimensions as a chart fit for their number: a radar from
--- three dimensions up (two or fewer span no area), bars below that.
function M.profile(o)
  if #(o.axes or {}) >= 3 then return M.radar(o) end
  return M.dimbars(o)
end

--}======================================================


--{======================================================
-- Bars: how often each red flag fired
--=======================================================

-- Hatching for bars whose `kind` is "veto": the bar's kind shows without colour.
local bar_kinds = {
  veto    = { color = "#b42318", pattern = "hatch" },
  penalty = { color = "#c2410c" },
  cap     = { color = "#a16207" },
  review  = { color = "#6d28d9", pattern = "dots" },
}

--- A horizontal bar chart. `o.items`: `{label=, value=, kind=, note=}`,
--- drawn in the order given; each bar's value and kind are written beside
--- it. `o.unit` names what is counted ("partners").
function M.bars(o)
  local items = o.items or {}
  local w = o.width or 560
  local row = 30
  local label_w = o.label_width or 190
  local h = max(1, #items) * row + 34
  local top = 0
  for _, it in ipairs(items) do top = max(top, it.value or 0) end
  if top == 0 then top = 1 end
  local parts = {}
  for _, it in ipairs(items) do
    parts[#parts + 1] = format("%s%s %s", it.label, it.kind and (" (" .. it.kind .. ")") or "", num(it.value))
  end
  local out, id = open(w, h, o.title or "Bar chart",
    o.desc or (#items == 0 and "Nothing to show." or (concat(parts, "; ") .. ".")), "bars")
  insert(out, format('<defs><pattern id="%s-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#b42318"/><line x1="0" y1="0" x2="0" y2="6" stroke="#fff" stroke-width="2.2"/></pattern>', id))
  insert(out, format('<pattern id="%s-dots" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#6d28d9"/><circle cx="3" cy="3" r="1.3" fill="#fff"/></pattern></defs>', id))
  local bar_w = w - label_w - 70
  if #items == 0 then
    insert(out, text(w / 2, h / 2, o.empty or "none", ' text-anchor="middle" font-size="13" fill="#6b7280"'))
  end
  for i, it in ipairs(items) do
    local y = 8 + (i - 1) * row
    local kind = bar_kinds[it.kind] or { color = "#1f5fa8" }
    local fill = kind.pattern and format("url(#%s-%s)", id, kind.pattern) or kind.color
    local bw = max(2, bar_w * (it.value or 0) / top)
    insert(out, format('<g class="bar"><title>%s</title>', esc(parts[i])))
    insert(out, text(label_w - 8, y + 14, M.shorten(it.label, 28), ' text-anchor="end" font-size="12" fill="#111827"'))
    if it.kind then
      insert(out, text(label_w - 8, y + 25, it.kind, ' text-anchor="end" font-size="9" fill="#6b7280"'))
    end
    insert(out, format('<rect x="%d" y="%s" width="%s" height="%d" rx="2" fill="%s" stroke="%s"/>',
      label_w, c(y + 3), c(bw), row - 10, fill, kind.color))
    insert(out, text(label_w + bw + 6, y + 17, num(it.value) .. (it.note and (" " .. it.note) or ""),
      ' font-size="12" font-weight="700" fill="#111827"'))
    insert(out, '</g>')
  end
  insert(out, format('<line x1="%d" y1="4" x2="%d" y2="%d" stroke="#9ca3af"/>', label_w, label_w, h - 26))
  insert(out, text(label_w, h - 8, o.unit or "", ' font-size="10" fill="#6b7280"'))
  insert(out, '</svg>')
  return concat(out, "\n")
end

--}======================================================


--{======================================================
-- Lines: values over runs
--=======================================================

--- A line chart over runs. `o.x`: the labels of the x positions (run
--- names); `o.series`: `{name=, values={[i]=number|nil}}` (a gap where a
--- value is missing; `labels`: text above each point, if any); `o.max` the
--- scale (100). Each line ends in its name.
function M.lines(o)
  local xs = o.x or {}
  local series = o.series or {}
  local w, h = o.width or 560, o.height or 240
  local left, right, topm, bottom = 40, o.right or 120, 14, 40
  local top = o.max or 100
  local pw, ph = w - left - right, h - topm - bottom
  local function X(i) return left + (#xs <= 1 and pw / 2 or pw * (i - 1) / (#xs - 1)) end
  local function Y(v) return topm + ph * (1 - max(0, min(1, v / top))) end
  local descs = {}
  for _, s in ipairs(series) do
    local parts = {}
    for i = 1, #xs do parts[#parts + 1] = xs[i] .. " " .. num(s.values[i]) end
    descs[#descs + 1] = s.name .. ": " .. concat(parts, ", ")
  end
  local out = open(w, h, o.title or "Over time", o.desc or (concat(descs, ". ") .. "."), "lines")
  insert(out, '<g class="grid" stroke="#e5e7eb" stroke-width="1">')
  for q = 0, 4 do
    local y = Y(top * q / 4)
    insert(out, format('<line x1="%d" y1="%s" x2="%s" y2="%s"/>', left, c(y), c(left + pw), c(y)))
  end
  insert(out, '</g>')
  for q = 0, 4 do
    insert(out, text(left - 6, Y(top * q / 4) + 4, num(top * q / 4), ' text-anchor="end" font-size="10" fill="#6b7280"'))
  end
  for i, lab in ipairs(xs) do
    insert(out, text(X(i), h - bottom + 16, lab, ' text-anchor="middle" font-size="10" fill="#374151"'))
  end
  local ends = {}
  for k, s in ipairs(series) do
    local style = s.style or M.palette[(k - 1) % #M.palette + 1]
    local d, pen = {}, "M"
    for i = 1, #xs do
      local v = s.values[i]
      if type(v) == "number" then d[#d + 1] = pen .. c(X(i)) .. " " .. c(Y(v)); pen = "L" else pen = "M" end
    end
    insert(out, format('<g class="series s%d"><path d="%s" fill="none" stroke="%s" stroke-width="2"%s/>', k,
      concat(d), style.color, dash(style)))
    local last
    for i = 1, #xs do
      local v = s.values[i]
      if type(v) == "number" then
        insert(out, marker(style.marker, X(i), Y(v), 3, "#fff", style.color))
        if s.labels then
          -- The first and last labels lean inwards so the edges do not cut them.
          local anchor = #xs > 1 and (i == 1 and "start" or i == #xs and "end") or "middle"
          insert(out, text(X(i) + (anchor == "start" and -4 or anchor == "end" and 4 or 0), Y(v) - 9,
            s.labels[i] or num(v), format(' text-anchor="%s" font-size="11" font-weight="700" fill="%s"',
              anchor, style.color)))
        end
        last = i
      end
    end
    insert(out, '</g>')
    if last then ends[#ends + 1] = { y = Y(s.values[last]), x = X(last), name = s.name, v = s.values[last], color = style.color } end
  end
  -- End labels, pushed apart so they never overlap.
  table.sort(ends, function(a, b) return a.y < b.y end)
  for i = 2, #ends do
    if ends[i].y - ends[i - 1].y < 12 then ends[i].y = ends[i - 1].y + 12 end
  end
  for _, e in ipairs(ends) do
    insert(out, text(left + pw + 8, e.y + 4, e.name .. " " .. num(e.v), format(' font-size="11" fill="%s"', e.color)))
  end
  insert(out, '</svg>')
  return concat(out, "\n")
end

--}======================================================


--- A chart as a standalone SVG file: the XML declaration and namespace a
--- file needs and an inline chart does not, and a white ground so it reads
--- in a viewer with a dark theme.
function M.document(chart)
  chart = gsub(chart, "^<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
  chart = gsub(chart, "</desc>", '%0\n<rect width="100%%" height="100%%" fill="#fff"/>', 1)
  return '<?xml version="1.0" encoding="UTF-8"?>\n' .. chart .. "\n"
end

return M

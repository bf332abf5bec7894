-- xlsx_rows.lua: the bench's reading of a workbook, or its making.
--   rows FILE.xlsx       count the rows of the first sheet
--   make FILE.csv OUT    write the CSV's rows as a workbook (typed cells)
local what, a, b = ...
if what == "rows" then
  local n = 0
  for _ in vouch.load.xlsx(a):rows() do n = n + 1 end
  print(n)
else
  local src = vouch.load.csv(a)
  local wb = vouch.xlsx.new(b)
  local sh = wb:sheet("Partners")
  local cols = src.columns
  sh:header(cols)
  local cells = {}
  for r in src:rows() do
    for k, c in ipairs(cols) do cells[k] = r[c] end
    sh:row(cells, #cols)
  end
  assert(wb:close())
end

-- hello.lua: the smallest vouch script. Run: ./vouch run examples/hello.lua
local partners = {
  {name = "Lotus Foods", reviews = {5, 4, 5, 4}},
  {name = "Blue River Media", reviews = {2, 3, 1}},
}
for _, p in ipairs(partners) do
  local sum = 0
  for _, r in ipairs(p.reviews) do sum = sum + r end
  print(string.format("%-20s %.2f", p.name, sum / #p.reviews))
end
